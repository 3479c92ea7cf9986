"""Fisher metrics of the catalog against published values and quadrature.

Reference values: ../shared/reference/fisher_catalog.json (mpmath quadrature of
E[score_i score_j] at 25 digits, independent of any closed form), copied to
tests/data/fisher_catalog.json, and the closed forms of Lehmann and Casella,
"Theory of Point Estimation" (1998), and Johnson, Kotz and Balakrishnan,
"Continuous Univariate Distributions" (1994), listed in the same folder's README.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symgeo import DerivationError, Family, fisher_metric, load_family

REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "fisher_catalog.json").read_text()
)["cases"]

CATALOG_NAMES = {
    "normal": "normal",
    "lognormal": "lognormal",
    "exponential": "exponential",
    "gamma": "gamma",
    "weibull": "weibull",
    "beta": "beta",
    "logistic": "logistic",
    "cauchy": "cauchy",
    "student-t": "student_t",
    "gumbel": "gumbel",
    "rayleigh": "rayleigh",
    "pareto": "pareto",
    "inverse": "inverse_gaussian",
    "von": "von_mises",
    "poisson": "poisson",
    "bernoulli": "bernoulli",
    "binomial": "binomial",
    "geometric": "geometric",
    "negative": "negative_binomial",
    "laplace": "laplace",
    "categorical": "categorical",
}


def _builtin_name(label):
    return CATALOG_NAMES[label.split()[0]]


@pytest.mark.parametrize(
    "case", REFERENCE, ids=[f"{c['family']}@{c['at']}" for c in REFERENCE]
)
def test_matches_published_reference(fisher, case):
    metric = fisher(_builtin_name(case["family"]))
    value = metric.evaluate(case["at"])
    expected = np.array(case["fisher"])
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    assert np.all(np.abs(value - expected) <= 1e-8 * scale)


def test_every_catalog_family_is_closed_form_and_verified(fisher):
    for name in sorted({_builtin_name(c["family"]) for c in REFERENCE}):
        metric = fisher(name)
        assert metric.closed_form, name
        assert metric.verification.worst_relative_error < 1e-10, name
        assert len(metric.verification.points) >= 3, name


k, b = sp.symbols("k b", positive=True)
p = sp.Symbol("p", positive=True)


def test_gamma_closed_form_is_compact(fisher):
    # Arwini and Dodson (2008), ch. 3, in (shape k, rate b).
    expected = sp.Matrix([[sp.polygamma(1, k), -1 / b], [-1 / b, k / b**2]])
    assert fisher("gamma").matrix == expected


def test_bernoulli_and_binomial(fisher):
    # Lehmann and Casella (1998), section 2.5: n / (p (1 - p)).
    assert sp.simplify(fisher("bernoulli").matrix[0, 0] - 1 / (p * (1 - p))) == 0
    assert sp.simplify(fisher("binomial").matrix[0, 0] - 10 / (p * (1 - p))) == 0


def test_laplace_uses_score_products_not_the_hessian(fisher):
    # The Hessian of log p in mu vanishes almost everywhere, yet I_mu = 1/b^2
    # (design.md 2; Kotz, Kozubowski and Podgorski 2001).
    metric = fisher("laplace")
    b_ = metric.coordinates[1]
    assert metric.matrix == sp.diag(1 / b_**2, 1 / b_**2)


def test_gaussian2d_matches_skovgaard_form(fisher):
    metric = fisher("gaussian2d")
    s11, s12, s22 = metric.coordinates[2:]
    det = s11 * s22 - s12**2
    assert sp.simplify(metric.matrix[0, 0] - s22 / det) == 0
    assert metric.verification.worst_relative_error < 1e-10


def test_normal_curvature_is_minus_one_half(fisher):
    # Amari and Nagaoka (2000): the normal family is a hyperbolic plane, K = -1/2.
    assert fisher("normal").scalar_curvature == -1


def test_user_family_lomax_derives_and_verifies():
    lomax = Family.continuous(
        density="alpha / lam * (1 + x / lam)**(-(alpha + 1))",
        variable="x",
        support=("0", "oo"),
        parameters={"alpha": "positive", "lam": "positive"},
        name="lomax",
    )
    metric = fisher_metric(lomax)
    assert metric.verification.worst_relative_error < 1e-10
    alpha, lam = lomax.symbols
    # Lomax (Pareto II) Fisher information, e.g. Johnson, Kotz and Balakrishnan
    # (1994), ch. 20: I_aa = 1/a^2, I_al = -1/(lam (a+1)), I_ll = a/(lam^2 (a+2)).
    expected = sp.Matrix(
        [
            [1 / alpha**2, -1 / (lam * (alpha + 1))],
            [-1 / (lam * (alpha + 1)), alpha / (lam**2 * (alpha + 2))],
        ]
    )
    assert metric.closed_form
    assert sp.simplify(metric.matrix - expected) == sp.zeros(2, 2)


def test_support_depending_on_a_parameter_is_refused():
    uniform = Family.continuous(
        density="1 / (b - a)",
        variable="x",
        support=("a", "b"),
        parameters={"a": "real", "b": "real"},
        constraints=["a < b"],
        name="uniform",
    )
    with pytest.raises(DerivationError, match="support of family 'uniform' depends"):
        fisher_metric(uniform)


def test_mismatching_closed_form_is_an_error(monkeypatch):
    from symgeo import fisher as fisher_module

    def wrong(family):
        return sp.Matrix([[2 / family.symbols[0] ** 2]])

    monkeypatch.setattr(fisher_module, "exponential_family_fisher", wrong)
    with pytest.raises(DerivationError, match=r"entry \(0, 0\).*relative error"):
        fisher_metric(load_family("exponential"))

"""compare(fisher, wasserstein): where the two geometries agree."""

import json
import time

import numpy as np
import pytest
import sympy as sp

from symgeo import (
    Family,
    Metric,
    compare,
    fisher_metric,
    load_family,
    wasserstein_metric,
)
from symgeo.cli import main
from symgeo.compare import alignment
from symgeo.report import comparison_context, comparison_latex, comparison_text


@pytest.fixture(scope="module")
def normal(fisher):
    family = load_family("normal")
    return compare(fisher("normal"), wasserstein_metric(family))


def _location(density):
    family = Family.continuous(
        density=density, variable="x", support=("-oo", "oo"), parameters={"mu": "real"}
    )
    return compare(fisher_metric(family), wasserstein_metric(family))


# -- the normal family in (mu, sigma) --------------------------------------------------


def test_normal_is_neither_conformal_nor_projectively_equivalent(normal):
    assert normal.conformal is False
    assert normal.constant_multiple is False
    assert normal.projectively_equivalent is False
    assert normal.same_geodesics is False
    assert normal.same_parametrised_geodesics is False
    assert normal.method == "symbolic"


def test_normal_scale_lines_are_geodesics_of_both(normal):
    sigma_line = normal.subfamilies[1]
    sigma = load_family("normal").symbols[1]

    assert (sigma_line.coordinate, sigma_line.fixed) == ("sigma", ("mu",))
    assert sigma_line.fisher_geodesic is True
    assert sigma_line.wasserstein_geodesic is True
    assert sigma_line.ratio == sigma**2 / 2
    assert sigma_line.proportional is False
    assert normal.agree_on == ["sigma"]


def test_normal_translation_lines_are_w2_but_not_fisher_geodesics(normal):
    mu_line = normal.subfamilies[0]
    sigma = load_family("normal").symbols[1]

    assert (mu_line.coordinate, mu_line.fixed) == ("mu", ("sigma",))
    assert mu_line.fisher_geodesic is False
    assert mu_line.wasserstein_geodesic is True
    # g^W_mumu / g^F_mumu = 1 / (1 / sigma^2): constant along a mu line.
    assert mu_line.ratio == sigma**2
    assert mu_line.proportional is True
    assert any("bow toward larger sigma" in note for note in normal.notes)


def test_normal_alignment_matches_the_closed_form(fisher):
    # g_F = diag(1/s^2, 2/s^2), g_W = I: eigenvalues 1/s^2, 2/s^2, spread 2.
    points = [{"mu": -1.0, "sigma": 0.5}, {"mu": 3.0, "sigma": 2.0}, (0.0, 7.0)]
    figure = alignment(
        fisher("normal"), wasserstein_metric(load_family("normal")), points
    )

    sigmas = [0.5, 2.0, 7.0]
    for s, values, spread in zip(
        sigmas, figure.eigenvalues, figure.spreads, strict=True
    ):
        assert values == pytest.approx([1 / s**2, 2 / s**2], rel=1e-12)
        assert spread == pytest.approx(2.0, rel=1e-12)


def test_normal_alignment_is_reported_at_sample_points(normal):
    assert normal.alignment.least_spread == pytest.approx(2.0, rel=1e-12)
    assert normal.alignment.greatest_spread == pytest.approx(2.0, rel=1e-12)
    alignment_ = normal.alignment
    for at, values in zip(alignment_.points, alignment_.eigenvalues, strict=True):
        assert values == pytest.approx([1 / at["sigma"] ** 2, 2 / at["sigma"] ** 2])


# -- one-parameter families ------------------------------------------------------------


def test_pure_location_family_is_a_constant_multiple():
    # N(mu, 2): g^F = 1/4, g^W = 1.
    result = _location("exp(-(x - mu)**2 / 8) / (2 * sqrt(2 * pi))")

    assert result.conformal is True
    assert result.factor == 4
    assert result.constant_multiple is True
    assert result.same_geodesics is True
    assert result.same_parametrised_geodesics is True
    assert result.method == "symbolic"


def test_laplace_with_fixed_scale_is_a_constant_multiple():
    # Laplace(mu, b = 2): g^F = 1/b^2 = 1/4 (from E[score^2]), g^W = 1.
    result = _location("exp(-abs(x - mu) / 2) / 4")

    assert (result.conformal, result.factor, result.constant_multiple) == (
        True,
        4,
        True,
    )
    assert result.same_geodesics is True
    assert result.same_parametrised_geodesics is True


def test_exponential_is_conformal_with_a_varying_factor(fisher):
    family = load_family("exponential")
    lam = family.symbols[0]
    result = compare(fisher("exponential"), wasserstein_metric(family))

    # g^W = 2/lam^4, g^F = 1/lam^2.
    assert result.conformal is True
    assert result.factor == 2 / lam**2
    assert result.constant_multiple is False
    assert result.same_geodesics is True
    assert result.same_parametrised_geodesics is False
    assert any("one dimension" in note for note in result.notes)


# -- a projectively equivalent pair and a numerical fallback ---------------------------


def test_gnomonic_sphere_and_plane_have_the_same_geodesic_paths():
    # Central projection of the unit sphere: great circles map to straight lines
    # (Beltrami), so this metric is projectively equivalent to the Euclidean one.
    family = load_family("normal")
    u, v = family.symbols
    r2 = 1 + u**2 + v**2
    sphere = (r2 * sp.eye(2) - sp.Matrix([u, v]) * sp.Matrix([[u, v]])) / r2**2
    result = compare(
        Metric(family, "fisher", sphere), Metric(family, "wasserstein", sp.eye(2))
    )

    assert result.projectively_equivalent is True
    assert result.same_parametrised_geodesics is False
    assert result.conformal is False
    assert result.method == "symbolic"
    assert result.agree_on == ["mu", "sigma"]


def test_entries_without_closed_form_give_numerical_verdicts(fisher):
    family = load_family("normal")
    x = sp.Symbol("x", real=True)
    mu, sigma = family.symbols
    one = sp.Integral(
        sp.exp(-(x**2) / (2 * sigma**2)) / (sp.sqrt(2 * sp.pi) * sigma),
        (x, -sp.oo, sp.oo),
    )
    w2 = Metric(family, "wasserstein", sp.Matrix([[one, 0], [0, 1]]))
    result = compare(fisher("normal"), w2)

    assert result.method == "numerical"
    assert any("no closed form" in note for note in result.notes)
    assert (result.conformal, result.same_geodesics) == (False, False)
    mu_line, sigma_line = result.subfamilies
    assert (mu_line.wasserstein_geodesic, mu_line.fisher_geodesic) == (True, False)
    assert mu_line.proportional is True and mu_line.ratio is None
    assert (sigma_line.wasserstein_geodesic, sigma_line.fisher_geodesic) == (True, True)


def test_gaussian2d_compares_quickly(fisher):
    family = load_family("gaussian2d")
    g_f, g_w = fisher("gaussian2d"), wasserstein_metric(family)
    start = time.monotonic()
    result = compare(g_f, g_w)
    seconds = time.monotonic() - start

    assert seconds < 20
    assert (result.conformal, result.same_geodesics) == (False, False)
    by_name = {line.coordinate: line for line in result.subfamilies}
    assert by_name["mu1"].wasserstein_geodesic is True
    assert by_name["mu1"].fisher_geodesic is False
    assert by_name["mu1"].proportional is True
    # Sigma + t E11 is rank-one, hence an affine-invariant geodesic path.
    assert by_name["s11"].fisher_geodesic is True
    assert np.isfinite(result.alignment.greatest_spread)


# -- displays and the command line -----------------------------------------------------


def test_comparison_renders_in_reports_and_terminal(normal):
    context = comparison_context(normal, normal.family)
    labels = dict(context["items"])

    assert labels["conformal (g^W = f g^F)"] == "\\text{no}"
    assert labels["mu lines (sigma fixed): induced metrics, ratio W2 / Fisher"] == (
        "\\sigma^{2}"
    )
    assert context["notes"][0].startswith("Fisher geodesics joining")
    assert "same geodesics (projectively equivalent): no" in comparison_text(normal)
    assert comparison_latex(normal, normal.family).startswith("$\\displaystyle")
    assert str(normal).startswith("comparison of the Fisher and Wasserstein")


def test_cli_compare_normal_json(capsys):
    assert main(["compare", "normal", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)

    assert record["family"] == "normal"
    assert (record["conformal"], record["same_geodesics"]) == (False, False)
    assert record["projectively_equivalent"] is False
    assert record["agree_on"] == ["sigma"]
    mu_line = record["subfamilies"][0]
    assert mu_line["geodesic"] == {"fisher": False, "wasserstein": True}
    assert mu_line["induced_ratio"] == "sigma**2" and mu_line["proportional"] is True
    assert record["alignment"]["spread"] == {"min": 2.0, "max": 2.0}


def test_cli_compare_text(capsys):
    assert main(["compare", "exponential"]) == 0
    out = capsys.readouterr().out
    assert "conformal factor f: 2/lam**2" in out


def test_cli_compare_without_w2_metric_is_one_sentence(capsys):
    assert main(["compare", "bernoulli"]) == 1
    err = capsys.readouterr().err.strip()

    assert err.startswith("symgeo: error: the family 'bernoulli' has no pullback W2")
    assert err.count("\n") == 0 and "Traceback" not in err

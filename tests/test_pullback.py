"""W2 kernels from the quantile embedding (symgeo.codegen.pullback).

The route is checked where an independent answer exists: against the symbolic
kernels of families whose W2 metric has a closed form (the route is forced on
them), against hand-derived entries of the gamma metric at extreme shapes, and
against the curvature of the beta metric from finite differences of its own
metric (Brioschi's formula), which shares nothing with the Gauss equation.
"""

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symgeo import load_family
from symgeo.codegen import CodegenError, compiled_kernels
from symgeo.codegen.load import module_from_source
from symgeo.codegen.pullback import log_density_terms, needs_pullback
from symgeo.codegen.render import pullback_sources
from symgeo.family import Family
from symgeo.wasserstein import wasserstein_metric

ROOT = Path(__file__).resolve().parents[1]


@cache
def embedding_kernel(name):
    """The quantile-embedding numpy kernel of ``name``, even for a closed form."""
    return module_from_source(
        pullback_sources(load_family(name))["numpy"], f"embedding_{name}"
    )


def symbolic_kernel(name):
    """The generated numpy kernel of a closed-form W2 metric (generated/)."""
    path = ROOT / "generated" / name / "wasserstein_numpy.py"
    return module_from_source(path.read_text(encoding="utf-8"), f"symbolic_{name}")


def natural_errors(approx, exact, g):
    """Worst errors of metric, Christoffel symbols and R, each relative to the
    natural scale at the point (as in symgeo.codegen.crosscheck)."""
    g_diag = np.abs(np.diagonal(g, axis1=-2, axis2=-1))
    inv_diag = np.abs(np.diagonal(np.linalg.inv(g), axis1=-2, axis2=-1))
    scales = {
        "metric": np.sqrt(g_diag[:, :, None] * g_diag[:, None, :]),
        "christoffel": np.sqrt(
            inv_diag[:, :, None, None]
            * g_diag[:, None, :, None]
            * g_diag[:, None, None, :]
        ),
        "scalar_curvature": np.sqrt(np.prod(inv_diag, axis=-1)),
    }
    return {
        name: float(np.max(np.abs(approx[name] - exact[name]) / scales[name]))
        for name in scales
    }


@pytest.mark.parametrize("name", ["lognormal", "weibull", "gumbel", "exponential"])
def test_embedding_route_matches_symbolic_kernels_of_closed_forms(name):
    family = load_family(name)
    points = family.sample_points(40, seed=3)
    columns = [np.array([float(p[s]) for p in points]) for s in family.symbols]
    symbolic = symbolic_kernel(name)
    assert not hasattr(symbolic, "METHOD")
    embedded = embedding_kernel(name)
    functions = ("metric", "christoffel", "scalar_curvature")
    exact = {f: getattr(symbolic, f)(*columns) for f in functions}
    approx = {f: getattr(embedded, f)(*columns) for f in functions}
    errors = natural_errors(approx, exact, exact["metric"])
    assert max(errors.values()) < 1e-11, errors


@pytest.mark.parametrize(
    ("k", "b"), [(0.001, 1.0), (0.05, 1e3), (2.0, 1.0), (80.0, 1e-3), (1000.0, 1.0)]
)
def test_gamma_entries_with_closed_forms_at_extreme_shapes(k, b):
    """Rate b scales X = Z/b (Z ~ Gamma(k, 1)): ∂_bQ = −Q/b, so g_bb = E[X²]/b²
    = k(k+1)/b⁴ and g_kb = −E[∂_kQ_1 Q_1]/b³ with the unit-rate quantile Q_1;
    E[∂_k Q_1 Q_1] = ½ d/dk E[Z²] = k + ½, so g_kb = −(k + ½)/b³."""
    g = embedding_kernel("gamma").metric(k, b)
    assert g[1, 1] == pytest.approx(k * (k + 1) / b**4, rel=1e-10)
    assert g[0, 1] == pytest.approx(-(k + 0.5) / b**3, rel=1e-10)
    assert g[0, 0] > 0 and np.linalg.det(g) > 0


def test_beta_curvature_agrees_with_brioschi_on_the_metric():
    """Gaussian curvature from g and its first and second derivatives (central
    differences of the metric kernel, h = 1e-3, truncation error ~1e-6)."""
    kernel = embedding_kernel("beta")
    a, b, h = 2.0, 3.0, 1e-3

    def entries(da, db):
        g = kernel.metric(a + da * h, b + db * h)
        return np.array([g[0, 0], g[0, 1], g[1, 1]])

    E, F, G = entries(0, 0)
    Eu, Fu, Gu = (entries(1, 0) - entries(-1, 0)) / (2 * h)
    Ev, Fv, Gv = (entries(0, 1) - entries(0, -1)) / (2 * h)
    Evv, _, _ = (entries(0, 1) - 2 * entries(0, 0) + entries(0, -1)) / h**2
    _, _, Guu = (entries(1, 0) - 2 * entries(0, 0) + entries(-1, 0)) / h**2
    _, Fuv, _ = (entries(1, 1) - entries(1, -1) - entries(-1, 1) + entries(-1, -1)) / (
        4 * h * h
    )
    first = np.array(
        [
            [-Evv / 2 + Fuv - Guu / 2, Eu / 2, Fu - Ev / 2],
            [Fv - Gu / 2, E, F],
            [Gv / 2, F, G],
        ]
    )
    second = np.array([[0, Ev / 2, Gu / 2], [Ev / 2, E, F], [Gu / 2, F, G]])
    gauss = (np.linalg.det(first) - np.linalg.det(second)) / (E * G - F * F) ** 2
    R = kernel.scalar_curvature(a, b)
    assert R < 0
    assert R == pytest.approx(2 * gauss, rel=1e-5)


def test_nested_metrics_take_the_embedding_route_and_broadcast():
    g_w = wasserstein_metric(load_family("beta"))
    assert needs_pullback(g_w)
    kernel = compiled_kernels(g_w)["numpy"]
    assert kernel.METHOD == "quantile embedding"
    a = np.array([[0.5], [2.0]])
    values = kernel.christoffel(a, [1.0, 3.0, 7.0])
    assert values.shape == (2, 3, 2, 2, 2)
    assert np.allclose(values[1, 1], kernel.christoffel(2.0, 3.0), rtol=1e-14)
    out = np.empty((2, 2))
    assert kernel.metric(2.0, 3.0, out=out) is out
    with pytest.raises(ValueError, match="parameter 'a' = -1.0 is outside"):
        kernel.metric(-1.0, 3.0)


def test_beta_log_density_keeps_the_distance_to_the_upper_end():
    """1 − x is a variable of its own, so a beta density with its mass within
    1e-300 of x = 1 is not evaluated at a rounded x."""
    terms = log_density_terms(load_family("beta"))
    upper = sp.Symbol("_dhi", positive=True)
    assert terms[0].has(upper) and terms[1].has(upper)


def test_parameter_dependent_support_is_refused():
    family = Family.continuous(
        "1/a", "x", ["0", "a"], {"a": "(0, oo)"}, name="uniform_test"
    )
    with pytest.raises(CodegenError, match="fixed continuous support"):
        log_density_terms(family)

"""Riemannian quantities of metrics whose curvature is known in closed form."""

import pytest
import sympy as sp

from symgeo.budget import time_budget
from symgeo.errors import DerivationError
from symgeo.geometry import (
    check_metric,
    christoffel,
    gaussian_curvature,
    geodesic_equations,
    geodesic_rhs,
    inverse_metric,
    ricci,
    riemann,
    scalar_curvature,
)
from symgeo.simplification import tidy

x, mu = sp.symbols("x mu", real=True)
y, sigma, r, theta, phi, chi = sp.symbols("y sigma r theta phi chi", positive=True)
k, b = sp.symbols("k b", positive=True)

HALF_PLANE = sp.diag(1, 1) / y**2


def riemann_contraction(curvature, n):
    """R^k_ikj, the Ricci tensor by way of the Riemann tensor."""
    return sp.Matrix(n, n, lambda i, j: sum(curvature[a, i, a, j] for a in range(n)))


def test_half_plane_christoffel_symbols_and_curvature():
    # Poincaré half-plane, the standard model of constant curvature −1.
    gamma = christoffel(HALF_PLANE, [x, y])

    assert gamma[0, 0, 1] == gamma[0, 1, 0] == -1 / y
    assert gamma[1, 0, 0] == 1 / y
    assert gamma[1, 1, 1] == -1 / y
    assert gamma[0, 0, 0] == gamma[0, 1, 1] == gamma[1, 0, 1] == 0
    assert gaussian_curvature(HALF_PLANE, [x, y]) == -1


def test_normal_family_fisher_metric_has_curvature_minus_one_half():
    # Amari & Nagaoka, Methods of Information Geometry (2000), sec. 2.3;
    # Costa, Santos & Strapasson, Discrete Appl. Math. 197 (2015) 59-69.
    g = sp.diag(1, 2) / sigma**2

    assert gaussian_curvature(g, [mu, sigma]) == sp.Rational(-1, 2)


def test_gaussian_curvature_needs_two_coordinates():
    with pytest.raises(ValueError, match="2 x 2"):
        gaussian_curvature(sp.eye(3), [x, y, r])


def test_round_sphere_of_radius_r():
    g = sp.diag(r**2, r**2 * sp.sin(theta) ** 2)
    g_inv = inverse_metric(g)
    ricci_tensor = ricci(christoffel(g, [theta, phi], g_inv), [theta, phi])

    assert gaussian_curvature(g, [theta, phi]) == 1 / r**2
    assert scalar_curvature(g_inv, ricci_tensor) == 2 / r**2


def test_flat_metric_in_polar_coordinates():
    g = sp.diag(1, r**2)
    gamma = christoffel(g, [r, theta])

    assert gamma[0, 1, 1] == -r
    assert gamma[1, 0, 1] == gamma[1, 1, 0] == 1 / r
    assert riemann(gamma, [r, theta]) == sp.Array.zeros(2, 2, 2, 2)
    assert ricci(gamma, [r, theta]) == sp.zeros(2, 2)


def test_three_sphere_is_einstein_with_ricci_twice_the_metric():
    # Unit S^3 in hyperspherical coordinates: Ric = (n − 1) g and R = n (n − 1).
    coords = [chi, theta, phi]
    g = sp.diag(1, sp.sin(chi) ** 2, sp.sin(chi) ** 2 * sp.sin(theta) ** 2)
    g_inv = inverse_metric(g)
    gamma = christoffel(g, coords, g_inv)
    ricci_tensor = ricci(gamma, coords)

    # tidy has no trigonometric step: sin² + cos² = 1 is left to trigsimp here.
    assert (ricci_tensor - 2 * g).applyfunc(sp.trigsimp) == sp.zeros(3, 3)
    assert sp.trigsimp(scalar_curvature(g_inv, ricci_tensor)) == 6

    contraction = riemann_contraction(riemann(gamma, coords), 3)
    assert (contraction - ricci_tensor).applyfunc(tidy) == sp.zeros(3, 3)


def test_gamma_family_fisher_metric_curvature():
    # Arwini & Dodson, Information Geometry: Near Randomness and Near
    # Independence (2008), ch. 3: K = (ψ1(k) + k ψ2(k)) / (4 (k ψ1(k) − 1)²).
    g = sp.Matrix([[sp.polygamma(1, k), -1 / b], [-1 / b, k / b**2]])
    gamma = christoffel(g, [k, b])

    contraction = riemann_contraction(riemann(gamma, [k, b]), 2)
    assert (contraction - ricci(gamma, [k, b])).applyfunc(tidy) == sp.zeros(2, 2)

    curvature = gaussian_curvature(g, [k, b])
    trigamma, tetragamma = sp.polygamma(1, k), sp.polygamma(2, k)
    known = (trigamma + k * tetragamma) / (4 * (k * trigamma - 1) ** 2)
    assert tidy(curvature - known) == 0
    for shape in (sp.Rational(1, 3), 2, sp.Rational(17, 2)):
        difference = (curvature - known).subs({k: shape, b: sp.Rational(13, 10)})
        assert abs(difference.evalf(30)) < 1e-25


def test_half_plane_geodesic_equations():
    t = sp.Symbol("t")
    xt, yt = sp.Function("x")(t), sp.Function("y")(t)

    equations = geodesic_equations(christoffel(HALF_PLANE, [x, y]), [x, y])

    assert [equation.lhs for equation in equations] == [xt.diff(t, 2), yt.diff(t, 2)]
    assert tidy(equations[0].rhs - 2 * xt.diff(t) * yt.diff(t) / yt) == 0
    assert tidy(equations[1].rhs - (yt.diff(t) ** 2 - xt.diff(t) ** 2) / yt) == 0


def test_normal_family_geodesic_first_order_system():
    gamma = christoffel(sp.diag(1, 2) / sigma**2, [mu, sigma])

    state, rhs = geodesic_rhs(gamma, [mu, sigma])

    dmu, dsigma = state[2:]
    assert [str(symbol) for symbol in state] == ["mu", "sigma", "dmu", "dsigma"]
    assert rhs[:2] == [dmu, dsigma]
    assert tidy(rhs[2] - 2 * dmu * dsigma / sigma) == 0
    assert tidy(rhs[3] - (dsigma**2 - dmu**2 / 2) / sigma) == 0


def test_check_metric_passes_a_metric_with_an_unevaluated_integral():
    z = sp.Symbol("z", real=True)
    second_moment = sp.Integral(z**2 * sp.exp(-(z**2) / 2), (z, -sp.oo, sp.oo))
    g = sp.Matrix([[1 / sigma**2, 0], [0, second_moment / sigma**2]])

    check_metric(g, [mu, sigma], [{mu: 0, sigma: 1}, {"mu": -3, "sigma": 0.25}])


def test_check_metric_rejects_an_asymmetric_matrix():
    with pytest.raises(DerivationError, match=r"not symmetric: entry \(0, 1\)"):
        check_metric(sp.Matrix([[1, k], [0, 1]]), [k, b], [{k: 1, b: 1}])


def test_check_metric_rejects_a_symbol_that_is_not_a_coordinate():
    with pytest.raises(
        DerivationError, match=r"depends on x, not among the coordinates \(k, b\)"
    ):
        check_metric(sp.diag(1, x**2 + 1), [k, b], [{k: 1, b: 1}])


def test_check_metric_rejects_an_indefinite_matrix():
    g = sp.Matrix([[1, 2], [2, sp.log(k)]])

    with pytest.raises(DerivationError, match="at k=2, b=1: its smallest eigenvalue"):
        check_metric(g, [k, b], [{k: 100, b: 1}, {k: 2, b: 1}])


def test_two_dimensional_gaussian_metric_is_inverted_within_seconds():
    # g_ab = ∂_a m^T S^-1 ∂_b m + ½ tr(S^-1 ∂_a S S^-1 ∂_b S), S = [[s11, s12],
    # [s12, s22]], coordinates (m1, m2, s11, s12, s22).
    m1, m2, s12 = sp.symbols("m1 m2 s12", real=True)
    s11, s22 = sp.symbols("s11 s22", positive=True)
    mean = sp.Matrix([m1, m2])
    covariance = sp.Matrix([[s11, s12], [s12, s22]])
    coords = [m1, m2, s11, s12, s22]
    precision = covariance.inv()

    def entry(a, c):
        dm_a, dm_c = mean.diff(coords[a]), mean.diff(coords[c])
        ds_a, ds_c = covariance.diff(coords[a]), covariance.diff(coords[c])
        mean_part = (dm_a.T * precision * dm_c)[0, 0]
        covariance_part = (precision * ds_a * precision * ds_c).trace() / 2
        return tidy(mean_part + covariance_part)

    g = sp.Matrix(5, 5, entry)

    with time_budget(10, "inverting the 5 x 5 Gaussian metric"):
        g_inv = inverse_metric(g)
    assert (g_inv * g).applyfunc(tidy) == sp.eye(5)
    assert g_inv[:2, :2] == covariance

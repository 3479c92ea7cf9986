"""Pullback Wasserstein-2 metrics against closed forms with a stated source and
against quadrature that symgeo does not use to derive them.

Conventions of design.md 2: W2 without a factor 1/2, so in one dimension
g_ij = ∫_0^1 ∂_iQ ∂_jQ du (Q the quantile function).
"""

import mpmath
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import sympy as sp
from scipy import special

from symgeo import Family, MetricUndefined, load_family, wasserstein_metric


@pytest.fixture(scope="module")
def w2():
    cache = {}

    def derive(name):
        if name not in cache:
            cache[name] = wasserstein_metric(load_family(name))
        return cache[name]

    return derive


def quantile_metric(dq, lower=0.0, upper=1.0):
    """∫ dQ_i dQ_j du by scipy quadrature of the given partial derivatives."""
    n = len(dq)
    g = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            g[i, j] = scipy.integrate.quad(
                lambda u, i=i, j=j: dq[i](u) * dq[j](u),
                lower,
                upper,
                epsabs=0,
                epsrel=1e-13,
                limit=400,
            )[0]
    return g


def test_location_scale_families_have_the_moment_matrix(w2):
    """design.md 2: g = [[1, E z], [E z, E z²]] for x = μ + σ z. Normal: E z = 0,
    E z² = 1; Gumbel: E z = γ, E z² = γ² + π²/6; logistic: π²/3; Laplace: 2."""
    mu, sigma = sp.symbols("mu sigma", real=True)
    assert w2("normal").matrix == sp.eye(2)
    gumbel = w2("gumbel").matrix
    assert sp.simplify(gumbel[0, 1] - sp.EulerGamma) == 0
    assert sp.simplify(gumbel[1, 1] - sp.EulerGamma**2 - sp.pi**2 / 6) == 0
    assert w2("logistic").matrix == sp.diag(1, sp.pi**2 / 3)
    assert w2("laplace").matrix == sp.diag(1, 2)


def test_exponential_rate_gives_two_over_lambda_to_the_fourth(w2):
    """Q = −log(1 − u)/λ, so g = ∫ log²(1 − u) du / λ⁴ = 2/λ⁴ (issue 3)."""
    lam = load_family("exponential").symbols[0]
    assert w2("exponential").matrix == sp.Matrix([[2 / lam**4]])
    assert not w2("exponential").matrix.has(sp.I)


def test_weibull_polygamma_closed_form_matches_quantile_quadrature(w2):
    """Q = λ s^{1/k}, s = −log(1 − u): the closed form against scipy quadrature
    of ∂Q ∂Q at three points, to 1e-10 relative."""
    metric = w2("weibull")
    assert metric.matrix.has(sp.polygamma) and not metric.matrix.has(sp.I)
    for k, lam in [(1.7, 0.6), (0.8, 2.0), (3.5, 1.1)]:

        def dq_k(u, k=k, lam=lam):
            s = -np.log1p(-u)
            return -lam * s ** (1 / k) * np.log(s) / k**2

        def dq_lam(u, k=k):
            return (-np.log1p(-u)) ** (1 / k)

        expected = quantile_metric([dq_k, dq_lam])
        got = metric.evaluate({"k": k, "lam": lam})
        np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_lognormal_closed_form_from_gaussian_moments(w2):
    """Q = exp(μ + σ z): E e^{2σZ} = e^{2σ²}, E Z e^{2σZ} = 2σ e^{2σ²},
    E Z² e^{2σZ} = (1 + 4σ²) e^{2σ²} (moment generating function of N(0, 1))."""
    family = load_family("lognormal")
    mu, sigma = family.symbols
    scale = sp.exp(2 * mu + 2 * sigma**2)
    expected = scale * sp.Matrix([[1, 2 * sigma], [2 * sigma, 1 + 4 * sigma**2]])
    assert sp.simplify(w2("lognormal").matrix - expected) == sp.zeros(2, 2)


def test_pareto_is_finite_only_above_shape_two(w2):
    """Q = (1 − u)^{−1/α}: ∫ (∂_αQ)² du = 2/(α (α − 2)³) for α > 2 (beta
    integral ∫ v^β log² v dv = 2/(β + 1)³), infinite for α <= 2."""
    metric = w2("pareto")
    assert float(metric.evaluate({"alpha": 3.0})[0, 0]) == pytest.approx(2 / 3)
    assert np.isinf(metric.evaluate({"alpha": 1.5})[0, 0])
    assert any("finite only" in note for note in metric.notes)


def test_gamma_shape_entry_is_an_integral_that_evaluates_by_quadrature(w2):
    """No closed form for ∫ (∂_kQ)² du (issue 3); the entry stays an integral and
    its value matches scipy's gammaincinv differentiated by central differences.
    The rate entries are closed: E X² = k(k + 1)/b² gives k(k + 1)/b⁴."""
    metric = w2("gamma")
    k, b = metric.family.symbols
    assert metric.matrix[1, 1] == k * (k + 1) / b**4
    assert metric.matrix[0, 0].has(sp.Integral)
    assert metric.provenance[(0, 0)] == "unevaluated"
    kv, bv, h = 2.5, 1.3, 1e-5

    def dq_k(u):
        up = special.gammaincinv(kv + h, u)
        down = special.gammaincinv(kv - h, u)
        return (up - down) / (2 * h * bv)

    expected = scipy.integrate.quad(lambda u: dq_k(u) ** 2, 0, 1, limit=400)[0]
    got = metric.evaluate({"k": kv, "b": bv})[0, 0]
    assert got == pytest.approx(expected, rel=1e-6)  # central differences: h² ~ 1e-10


def test_bures_wasserstein_matches_lyapunov_and_nearby_gaussians(w2):
    """g(v, v) = |dm|² + tr(S Σ S), S Σ + Σ S = dΣ (design.md 2), checked against
    scipy's Lyapunov solver and against W2² between N(m, Σ) and a nearby
    Gaussian (Bures formula, Bhatia, Jain and Lim 2019), divided by ε²."""
    metric = w2("gaussian2d")
    point = {"mu1": 0.3, "mu2": -1.0, "s11": 2.0, "s12": 0.5, "s22": 1.0}
    g = metric.evaluate(point)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    v = np.array([0.2, -0.4, 0.7, -0.3, 0.5])
    d_cov = np.array([[v[2], v[3]], [v[3], v[4]]])
    s = scipy.linalg.solve_continuous_lyapunov(cov, d_cov)
    lyapunov = v[:2] @ v[:2] + np.trace(s @ cov @ s)
    assert v @ g @ v == pytest.approx(lyapunov, rel=1e-12)

    eps = 1e-4
    other = cov + eps * d_cov
    root = scipy.linalg.sqrtm(cov)
    cross = scipy.linalg.sqrtm(root @ other @ root).real
    w2_squared = eps**2 * v[:2] @ v[:2] + np.trace(cov + other - 2 * cross)
    assert w2_squared / eps**2 == pytest.approx(lyapunov, rel=1e-3)


@pytest.mark.parametrize("name", ["bernoulli", "poisson", "binomial"])
def test_discrete_families_have_no_pullback_metric(name):
    """W2(Ber p, Ber q) = sqrt(|p − q|) (design.md 2): first order in |Δθ| for
    W2², so no Riemannian metric; the error says so."""
    with pytest.raises(MetricUndefined, match="lives on the integers") as caught:
        wasserstein_metric(load_family(name))
    if name == "bernoulli":
        distance = sp.sympify(str(caught.value.distance))
        value = distance.subs({"p_0": 0.2, "p_1": 0.6})
        assert float(value) == pytest.approx(np.sqrt(0.4), rel=1e-15)


def test_cauchy_has_an_infinite_second_moment():
    """E X² = ∞ for every Cauchy law, so its scale entry diverges (design.md 2)."""
    with pytest.raises(MetricUndefined, match="E\\[X²\\] = ∞"):
        wasserstein_metric(load_family("cauchy"))


def test_user_family_in_other_coordinates_is_pulled_back():
    """The exponential family in its mean m = 1/λ is a scale family: g = 2 (the
    rate form 2/λ⁴ pulled back by dλ/dm = −1/m²; issue 7, study 4)."""
    family = Family.continuous(
        name="exponential_mean",
        density="exp(-x / m) / m",
        variable="x",
        support=["0", "oo"],
        parameters={"m": "positive"},
    )
    assert wasserstein_metric(family).matrix == sp.Matrix([[2]])


def test_lomax_metric_is_finite_where_the_second_moment_is():
    """Lomax (README example): Q = λ((1 − u)^(−1/α) − 1), so g_λλ = E Z² =
    2/((α − 1)(α − 2)) for α > 2, and at α = 3, λ = 1 the metric is
    [[2/3, −3/4], [−3/4, 1]] (mpmath quadrature of ∫ ∂_iQ ∂_jQ du here). The
    conjunction of the moment conditions once reduced to False (SymPy 1.14's
    reduce_inequalities) and the metric was refused as infinite everywhere."""
    lomax = Family.continuous(
        "alpha / lam * (1 + x / lam)**(-(alpha + 1))",
        variable="x",
        support=("0", "oo"),
        parameters={"alpha": "positive", "lam": "positive"},
        name="lomax",
    )
    metric = wasserstein_metric(lomax)
    assert str(metric.finite_part[1]) == "alpha > 2"

    def dq(t, which):
        """∂Q at u = 1 − e^(−t): ∂_αQ = −λ t e^(t/α)/α², ∂_λQ = e^(t/α) − 1."""
        a = mpmath.mpf(3)
        return -t * mpmath.exp(t / a) / a**2 if which else mpmath.expm1(t / a)

    with mpmath.workdps(30):
        expected = [
            [
                mpmath.quad(
                    lambda t, i=i, j=j: dq(t, i) * dq(t, j) * mpmath.exp(-t),
                    [0, 1, 10, mpmath.inf],
                )
                for j in (1, 0)
            ]
            for i in (1, 0)
        ]
    value = metric.evaluate({"alpha": 3.0, "lam": 1.0})
    np.testing.assert_allclose(value, np.array(expected, dtype=float), rtol=1e-12)
    assert metric.scalar_curvature == 0


def test_truncated_exponential_cdf_keeps_its_constant_of_integration(
    truncated_exponential,
):
    """F(x) = (1 − e^{−λx}) / (1 − e^{−λ}) on [0, 1] (integrate the density);
    SymPy's antiderivative is a Piecewise in e^λ ≠ 1 whose limit at 0 takes
    the wrong branch, which once left F(0) = −e^λ/(e^λ − 1)."""
    from symgeo.quantile import cdf

    family = truncated_exponential
    found = cdf(family)
    assert found is not None and not found.has(sp.Piecewise)
    lam, x = family.symbols[0], family.variable
    expected = (1 - sp.exp(-lam * x)) / (1 - sp.exp(-lam))
    for value in (0.3, 2.0, 7.5):
        for at in (0.0, 0.4, 1.0):
            point = {lam: value, x: at}
            assert float(found.subs(point)) == pytest.approx(
                float(expected.subs(point)), rel=1e-14, abs=1e-15
            )
    metric = wasserstein_metric(family)
    assert metric.closed_form and not metric.matrix[0, 0].has(sp.Piecewise)

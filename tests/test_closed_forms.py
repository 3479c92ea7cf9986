"""Closed-form distances at parameters far apart: no overflow to infinity.

Expected values from mpmath at 40 digits of the textbook formulas: the normal
Fisher-Rao distance √2 arccosh(1 + ((Δμ)²/2 + (Δσ)²)/(2σ0σ1)) (Costa, Santos and
Strapasson 2015), the exponential one |log(λ1/λ0)|, and the normal W2 distance
√((Δμ)² + (Δσ)²) (the quantile L² distance of two normals).
"""

import mpmath
import numpy as np
import pytest

from symgeo import load_family, wasserstein_metric
from symgeo.geodesics import distance

CASES = [
    (0.0, 1e-200, 1.0, 1e200),
    (5.0, 1e150, -5.0, 3e150),
    (0.0, 1.0, 1e-8, 1.0),
    (0.0, 1.0, 1e308, 1e-308),
]


def hyperbolic(mu0, s0, mu1, s1):
    with mpmath.workdps(40):
        mu0, s0, mu1, s1 = map(mpmath.mpf, (mu0, s0, mu1, s1))
        x = ((mu1 - mu0) ** 2 / 2 + (s1 - s0) ** 2) / (2 * s0 * s1)
        return float(mpmath.sqrt(2) * mpmath.acosh(1 + x))


@pytest.mark.parametrize("mu0, s0, mu1, s1", CASES)
def test_normal_fisher_distance_far_apart(fisher, mu0, s0, mu1, s1):
    d = distance(fisher("normal"), [mu0, s0], [mu1, s1])
    assert abs(d / hyperbolic(mu0, s0, mu1, s1) - 1) < 1e-12


def test_exponential_fisher_distance_across_600_decades(fisher):
    d = distance(fisher("exponential"), [1e-300], [1e300])
    with mpmath.workdps(40):
        expected = float(600 * mpmath.log(10))
    assert abs(d / expected - 1) < 1e-14


def test_normal_wasserstein_distance_of_huge_scales():
    metric = wasserstein_metric(load_family("normal"))
    d = distance(metric, [0.0, 1e-200], [1.0, 1e200])
    assert np.isfinite(d) and abs(d / 1e200 - 1) < 1e-15


def pareto_w2(a, b):
    """W2² = E X_a² − 2 E X_a X_b + E X_b² with Q(u) = (1 − u)^(−1/α):
    1/(1 − 2/a) − 2/(1 − 1/a − 1/b) + 1/(1 − 2/b), finite for a, b > 2."""
    with mpmath.workdps(30):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        return float(
            mpmath.sqrt(1 / (1 - 2 / a) - 2 / (1 - 1 / a - 1 / b) + 1 / (1 - 2 / b))
        )


def test_pareto_w2_is_accurate_where_the_tail_allows_and_refused_near_alpha_2():
    from symgeo.geodesics import GeodesicError, wasserstein_distances

    pareto = load_family("pareto")
    result = wasserstein_distances(pareto, [3.0], [7.0])
    assert abs(result.extrinsic - pareto_w2(3, 7)) <= result.extrinsic_error
    assert result.extrinsic_error < 1e-3 * result.extrinsic
    for a, b in ((2.1, 2.2), (2.0, 3.0), (1.5, 3.0)):
        with pytest.raises(GeodesicError, match="tail too heavy"):
            wasserstein_distances(pareto, [a], [b])


def bures_reference(m0, s0, m1, s1):
    """W2 between gaussians, |m0 − m1|² + tr(Σ0 + Σ1 − 2(Σ0^½ Σ1 Σ0^½)^½)
    (Dowson and Landau 1982), with square roots from 50-digit eigendecompositions."""

    def root(a):
        w, v = mpmath.eigsy((a + a.T) / 2)
        return v * mpmath.diag([mpmath.sqrt(x) for x in w]) * v.T

    with mpmath.workdps(50):
        a, b = mpmath.matrix(s0.tolist()), mpmath.matrix(s1.tolist())
        r = root(a)
        cross = root(r * b * r)
        trace = sum((a + b - 2 * cross)[i, i] for i in range(len(m0)))
        shift = sum((mpmath.mpf(x) - y) ** 2 for x, y in zip(m0, m1, strict=True))
        return float(mpmath.sqrt(max(mpmath.re(shift + trace), 0)))


def test_bures_distance_error_estimate_covers_the_error():
    from symgeo.closed_forms import closed_form_distance

    family = load_family("gaussian2d")
    metric = wasserstein_metric(family)
    rng = np.random.default_rng(7)
    rows_a, rows_b, refs = [], [], []
    for condition, gap in [(1.0, 1.0), (1e3, 1e-3), (1e6, 1e-6), (10.0, 0.0)]:
        q, _ = np.linalg.qr(rng.normal(size=(2, 2)))
        s0 = q @ np.diag([1.0, condition]) @ q.T
        s1 = s0 + gap * np.array([[1.0, 0.2], [0.2, 0.5]])
        m0 = rng.normal(size=2)
        m1 = m0 + gap * rng.normal(size=2)
        rows_a.append([*m0, s0[0, 0], s0[0, 1], s0[1, 1]])
        rows_b.append([*m1, s1[0, 0], s1[0, 1], s1[1, 1]])
        refs.append(bures_reference(m0, s0, m1, s1))
    found = closed_form_distance(metric, np.array(rows_a), np.array(rows_b))
    d, error, refs = found.distance, found.estimated_error, np.array(refs)
    assert np.all(np.abs(d - refs) <= error)
    # The trace formula lost every digit of the third (κ = 1e6, Σ1 − Σ0 ~ 1e-6).
    assert error[0] < 1e-13 * refs[0] and np.all(error[:-1] < 1e-2 * refs[:-1])
    assert d[-1] == error[-1] == 0.0


def test_bures_distance_of_nearly_equal_covariances():
    """Σ1 − Σ0 = 1e-8 (E12 + E21) at Σ0 = I: W2 = 1e-8/√2 to first order, which
    a difference of traces (2 − 2 tr(...)^½ at 1e-16) cannot resolve."""
    from symgeo.closed_forms import closed_form_distance

    metric = wasserstein_metric(load_family("gaussian2d"))
    for s12 in (1e-8, 1e-10):
        found = closed_form_distance(metric, [0, 0, 1, 0, 1], [0, 0, 1, s12, 1])
        reference = bures_reference(
            np.zeros(2), np.eye(2), np.zeros(2), np.array([[1, s12], [s12, 1]])
        )
        assert float(found.distance) == pytest.approx(reference, rel=1e-7)
        assert abs(float(found.distance) - reference) <= found.estimated_error


@pytest.mark.parametrize(
    "name, a, b",
    [
        ("bernoulli", [0.7], [0.7000000000001]),
        ("bernoulli", [1e-9], [2e-9]),
        ("categorical", [0.3, 0.3], [0.3000000001, 0.3]),
    ],
)
def test_sphere_distance_of_nearby_members_keeps_its_digits(name, a, b):
    """Fisher-Rao on the simplex: 2 arccos Σ √(p_i q_i) (the sphere of radius
    2, Amari and Nagaoka 2000, section 2.2), at 50 digits."""
    from symgeo import fisher_metric
    from symgeo.closed_forms import closed_form_distance

    metric = fisher_metric(load_family(name))
    with mpmath.workdps(50):
        p = [mpmath.mpf(x) for x in a]
        q = [mpmath.mpf(x) for x in b]
        p.append(1 - sum(p))
        q.append(1 - sum(q))
        cosine = sum(mpmath.sqrt(x * y) for x, y in zip(p, q, strict=True))
        reference = float(2 * mpmath.acos(cosine))
    found = closed_form_distance(metric, a, b)
    assert float(found.distance) == pytest.approx(reference, rel=1e-14)


def test_a_distance_without_digits_is_an_error_not_nan(truncated_exponential):
    """Truncated exponential on [0, 1]: √g = √(1/λ² − e^λ/(e^λ − 1)²) overflows
    in double precision long before λ = 800, where the true metric is ~1/λ²."""
    from symgeo import fisher_metric
    from symgeo.geodesics import GeodesicError, distance_solution

    family = truncated_exponential
    metric = fisher_metric(family)
    with pytest.raises(GeodesicError, match="no finite distance"):
        distance_solution(metric, [1.0], [800.0])
    found = distance_solution(metric, [1.0], [800.0], on_failure="nan")
    assert not found.converged.any() and np.isnan(found.distance).all()
    near = distance_solution(metric, [1.0], [2.0])

    def root_g(lam):
        return mpmath.sqrt(1 / lam**2 - mpmath.exp(lam) / (mpmath.exp(lam) - 1) ** 2)

    with mpmath.workdps(30):
        exact = float(mpmath.quad(root_g, [1, 2]))
    assert abs(float(near.distance) - exact) <= float(near.estimated_error)


def test_extrinsic_w2_error_covers_a_cancelling_quantile(truncated_exponential):
    """Q(u) = −log(1 − u(1 − e^{−λ}))/λ cancels at λ = 1e-4; the reference
    takes it as −log1p(u expm1(−λ))/λ at 60 digits."""
    from symgeo.closed_forms import w2_quantile_distance

    a, b = 1e-4, 3e-4

    def quantile(lam, u):
        return -mpmath.log1p(u * mpmath.expm1(-lam)) / lam

    with mpmath.workdps(60):
        lam_a, lam_b = mpmath.mpf(a), mpmath.mpf(b)
        squared = mpmath.quad(
            lambda u: (quantile(lam_a, u) - quantile(lam_b, u)) ** 2, [0, 1]
        )
        reference = float(mpmath.sqrt(squared))
    value, error = w2_quantile_distance(truncated_exponential, [a], [b])
    assert abs(value - reference) <= error
    assert error < 1e-6 * reference

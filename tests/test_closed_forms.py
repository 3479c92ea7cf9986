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

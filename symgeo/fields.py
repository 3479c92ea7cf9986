"""Metrics as numeric fields: g(θ), g(θ)⁻¹ and curvature on batches of points.

:func:`metric_field` turns a :class:`~symgeo.metric.Metric` into a
:class:`MetricField`, whose functions take points of shape (..., n) and return
arrays of shape (..., n, n) (or (...) for the scalar curvature). Two sources:

- the generated numpy kernel (:meth:`Metric.kernel`), for every metric whose
  entries the code generator can write (closed forms and single integrals,
  lowered to Gauss-Legendre sums by :mod:`symgeo.codegen.quadrature`);
- quantile quadrature, for the pullback W2 metric of a one-dimensional family
  whose entries are nested integrals (the cdf form ∫ ∂_iF ∂_jF / p dx of the
  gamma and beta shapes, which has no kernel):

      g^W_ij(θ) = ∫₀¹ ∂_iQ(u; θ) ∂_jQ(u; θ) du,

  with Q from :func:`symgeo.geodesics.vector_quantile`, ∂_iQ by central
  differences of relative step 1e-5 and the tanh-sinh rule of
  :func:`quantile_rule`, whose nodes crowd both ends of (0, 1) where the
  quantile of a light-tailed family grows like a logarithm: about 1e-9
  relative on the exponential family (2/λ⁴). The rule is not adaptive: a
  quantile with a strong power singularity at an end (a gamma shape below
  0.1) loses accuracy, which :func:`quantile_metric` does not detect.

:func:`quantile_w2` is W₂ between members of a continuous family by the same
rule (W₂ between members of a discrete family is
:func:`symgeo.closure.discrete_w2_distance`).

:func:`relative_eigenvalues` gives the eigenvalues of g_W⁻¹ g_F at many points
at once (the alignment of :func:`symgeo.compare.alignment`, batched), and
:func:`segment_length` the length ∫₀¹ |θ'(t)|_g dt of a coordinate segment,
which for a one-parameter family is the geodesic distance.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np

from .errors import SpecError

QUANTILE_STEP_T = 1 / 12
QUANTILE_REACH = 3.0
"""Step and half-width in t of the tanh-sinh quantile rule (73 nodes)."""

DIFFERENCE_STEP = 1e-5
"""Relative step of the central differences of the quantile."""


@dataclass(frozen=True)
class MetricField:
    """A metric as functions of points θ of shape (..., n).

    ``kind`` is the metric's ("fisher", "wasserstein"); ``metric(θ)`` and
    ``inverse(θ)`` have shape (..., n, n); ``scalar_curvature(θ)`` has shape
    (...) and is None where the field comes from quantile quadrature;
    ``source`` says where the values come from.
    """

    kind: str
    dimension: int
    metric: object
    inverse: object
    scalar_curvature: object
    source: str


def metric_field(metric):
    """The :class:`MetricField` of ``metric`` (module docstring: the two sources).

    >>> from symgeo import fisher_metric, load_family
    >>> field = metric_field(fisher_metric(load_family("normal")))
    >>> field.metric(np.array([[0.0, 2.0]])).tolist(), field.source
    ([[[0.25, 0.0], [0.0, 0.5]]], 'generated numpy kernel')
    """
    from .codegen import CodegenError

    try:
        kernel = metric.kernel("numpy")
    except CodegenError:
        if metric.kind != "wasserstein" or metric.family.kind != "continuous":
            raise
        return quantile_field(metric.family)

    def unpacked(function):
        def at(theta):
            theta = np.asarray(theta, dtype=float)
            return function(*np.moveaxis(theta, -1, 0))

        return at

    return MetricField(
        metric.kind,
        metric.dimension,
        unpacked(kernel.metric),
        unpacked(kernel.inverse_metric),
        unpacked(kernel.scalar_curvature),
        "generated numpy kernel",
    )


def quantile_field(family):
    """The pullback W2 metric of a continuous family by quantile quadrature.

    A :class:`MetricField` (no scalar curvature) from :func:`quantile_metric`.

    >>> from symgeo import load_family
    >>> field = quantile_field(load_family("rayleigh"))
    >>> round(float(field.metric(np.array([1.5]))[0, 0]), 9)  # E z² = 2
    2.0
    """

    def metric(theta):
        return quantile_metric(family, theta)

    def inverse(theta):
        return np.linalg.inv(quantile_metric(family, theta))

    return MetricField(
        "wasserstein",
        family.dimension,
        metric,
        inverse,
        None,
        "quantile quadrature",
    )


@cache
def quantile_rule(step=QUANTILE_STEP_T, reach=QUANTILE_REACH):
    """``(u, w)``: the tanh-sinh rule on (0, 1), u = (1 + tanh(π/2 sinh t))/2.

    Nodes at t = −reach, ..., reach in steps ``step`` (Takahasi and Mori 1974);
    the rule stops where 1 − u nears the spacing of doubles below 1 (2e-14 at
    reach 3), which costs about 1e-12 of ∫₀¹ log²(1 − u) du = 2.

    >>> u, w = quantile_rule()
    >>> round(float(w @ u**2), 13), round(float(w @ np.log1p(-u) ** 2), 10)
    (0.3333333333333, 2.0)
    """
    t = np.arange(-reach, reach + step / 2, step)
    a = np.pi / 2 * np.sinh(t)
    u = 1 / (1 + np.exp(-2 * a))
    return u, step * np.pi / 4 * np.cosh(t) / np.cosh(a) ** 2


def quantile_metric(family, theta):
    """g^W_ij(θ) = ∫₀¹ ∂_iQ ∂_jQ du by quantile quadrature, shape (..., n, n).

    For a one-dimensional continuous family (module docstring for the rule and
    its accuracy).

    >>> from symgeo import load_family
    >>> g = quantile_metric(load_family("exponential"), np.array([[2.0]]))
    >>> round(float(g[0, 0, 0]), 9)  # 2 / lam**4
    0.125
    """
    if family.kind != "continuous":
        raise SpecError(
            f"quantile_metric needs a continuous family on the real line, and "
            f"'{family.name}' is {family.kind}"
        )
    theta = np.asarray(theta, dtype=float)
    shape, n = theta.shape[:-1], theta.shape[-1]
    flat = theta.reshape(-1, n)
    u, w = quantile_rule()
    q = _quantile_function(family)
    steps = DIFFERENCE_STEP * np.maximum(np.abs(flat), 1.0)
    shifted = []
    for i in range(n):
        for sign in (1.0, -1.0):
            moved = flat.copy()
            moved[:, i] += sign * steps[:, i]
            shifted.append(moved)
    values = q(np.concatenate(shifted), u).reshape(n, 2, len(flat), len(u))
    derivative = (values[:, 0] - values[:, 1]) / (2 * steps.T[:, :, None])
    g = np.einsum("ipu,jpu,u->pij", derivative, derivative, w)
    return g.reshape(*shape, n, n)


@cache
def _quantile_function(family):
    from .geodesics import vector_quantile

    return vector_quantile(family)


def relative_eigenvalues(fisher, wasserstein, theta):
    """Eigenvalues of g_W⁻¹ g_F at points θ of shape (..., n), ascending, (..., n).

    They solve g_F v = λ g_W v; all are equal exactly where the two metrics
    are proportional, and λ_max / λ_min is the spread of
    :func:`symgeo.compare.alignment`. ``fisher`` and ``wasserstein`` are
    :class:`MetricField` objects or :class:`~symgeo.metric.Metric` objects.

    >>> from symgeo import fisher_metric, load_family, wasserstein_metric
    >>> family = load_family("normal")
    >>> relative_eigenvalues(fisher_metric(family), wasserstein_metric(family),
    ...                      np.array([0.0, 2.0])).tolist()
    [0.25, 0.5]
    """
    fisher, wasserstein = (_as_field(m) for m in (fisher, wasserstein))
    g_f = fisher.metric(theta)
    root = np.linalg.cholesky(wasserstein.metric(theta))
    inverse_root = np.linalg.inv(root)
    symmetric = inverse_root @ g_f @ np.swapaxes(inverse_root, -1, -2)
    return np.linalg.eigvalsh(symmetric)


def segment_length(field, a, b, nodes=32):
    """∫₀¹ √(Δᵀ g(a + tΔ) Δ) dt, Δ = b − a: the length of a coordinate segment.

    ``a`` and ``b`` broadcast to (..., n); Gauss-Legendre with ``nodes`` nodes.
    In one dimension the segment is the geodesic, so this is the distance.

    >>> from symgeo import fisher_metric, load_family
    >>> g = fisher_metric(load_family("exponential"))  # d = |log(b / a)|
    >>> round(float(segment_length(g, [1.0], [np.e])), 12)
    1.0
    """
    field = _as_field(field)
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    t, w = np.polynomial.legendre.leggauss(nodes)
    t, w = (t + 1) / 2, w / 2
    delta = b - a
    points = a[..., None, :] + t[:, None] * delta[..., None, :]
    g = field.metric(points)
    speed = np.sqrt(np.einsum("...i,...tij,...j->...t", delta, g, delta))
    return speed @ w


def _as_field(metric):
    return metric if isinstance(metric, MetricField) else metric_field(metric)


def quantile_w2(family, a, b):
    """W₂ = (∫₀¹ (Q_a − Q_b)² du)^½ by the quantile rule, for a, b of shape (..., n).

    The extrinsic distance of :func:`symgeo.geodesics.wasserstein_distances`,
    vectorised, at the accuracy of :func:`quantile_rule` (about 1e-12).

    >>> from symgeo import load_family
    >>> round(float(quantile_w2(load_family("exponential"), [1.0], [2.0])), 10)
    0.7071067812
    """
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    shape, n = a.shape[:-1], a.shape[-1]
    u, w = quantile_rule()
    q = _quantile_function(family)
    difference = q(a.reshape(-1, n), u) - q(b.reshape(-1, n), u)
    return np.sqrt(difference**2 @ w).reshape(shape)

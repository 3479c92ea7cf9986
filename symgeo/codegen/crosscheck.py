"""Cross-check of the numpy kernels against their mpmath twins.

Both modules come from the same plan; the numpy one evaluates in double
precision (special functions from scipy.special, integrals by fixed-order
quadrature), the twin at 30 digits (integrals by adaptive mpmath quadrature).
The error of each component is measured relative to a natural scale at the
point, computed from the twin's values, so that exact zeros and small
off-diagonal entries do not blow up and the measure does not change when a
coordinate is rescaled:

- g_ij against √|g_ii g_jj|, g^ij against √|g^ii g^jj|;
- Γ^k_ij against √|g^kk g_ii g_jj| (the size of Γ^k_ij when every coordinate
  is measured in units of its own metric length);
- the acceleration a^k of geodesic_rhs against √|g^kk| · g_ij v^i v^j, and the
  velocities copied into y' exactly;
- R against |R| + Σ (Γ^k_ij)² g_kk g^ii g^jj, the curvature scale that the
  connection sets (absolutely where both vanish): a flat metric in curved
  coordinates is checked against the size of its Christoffel symbols;
- and never against less than the component's own magnitude, so that a
  component correct to twelve digits passes even where the natural scale is
  tiny (Γ of a metric with a conformal factor e^{2μ} is of order one while
  √|g^kk g_ii g_jj| shrinks like e^{μ}); where the metric itself lies outside
  the double range, the other kernels are measured against their own
  magnitude alone (absolutely where it is zero).

Points are of two kinds: *typical* points well inside the domain
(:meth:`Family.sample_points`), where the kernels must agree to
:data:`TOLERANCE`, and *boundary* points, where one or two coordinates take
extreme values (shapes near 0 and large, scales near 0, probabilities near 0 and
1, and beside interior zeros of a denominator of the formula,
:func:`near_singular_points`); there the worst error and the point where it
occurs are reported, since the mathematics itself may be ill-conditioned there,
and only a kernel that keeps fewer than two correct digits (an error above
:data:`BOUNDARY_LIMIT`, or nan or inf where the exact value is a double:
overflow or cancellation in the closed form) fails the check. A boundary point
where a component itself lies outside the range of doubles (the lognormal W2
metric grows like e^{2μ}) cannot be computed in double precision at all: it is
counted, per kernel, as *outside the double range* instead of entering the worst
error as an infinity.
"""

import logging
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from ..budget import BudgetExceeded, time_budget
from .plan import geometry_source
from .pullback import needs_pullback

log = logging.getLogger(__name__)

TOLERANCE = 1e-12
BOUNDARY_LIMIT = 1e-2
KERNELS = (
    "metric",
    "inverse_metric",
    "christoffel",
    "geodesic_rhs",
    "scalar_curvature",
)
PULLBACK_POINTS = 3
BATCH = 256
"""The numpy kernels are checked on the points alone and repeated to a batch of
at least this many, since large batches may take other code paths (the series
of ψ₁ and ψ₂ in ``_hurwitz_zeta``)."""


@dataclass
class KernelVerification:
    """Worst relative errors of each kernel at typical and boundary points."""

    typical_points: list = field(default_factory=list)
    boundary_points: list = field(default_factory=list)
    typical: dict = field(default_factory=dict)
    boundary: dict = field(default_factory=dict)
    worst_boundary_point: dict = field(default_factory=dict)
    outside_double_range: dict = field(default_factory=dict)
    tolerance: float = TOLERANCE
    boundary_limit: float = BOUNDARY_LIMIT
    method: str = (
        "numpy kernels against their mpmath twins at 30 digits; error of each "
        "component relative to its natural scale at the point"
    )

    @property
    def passed(self):
        return not self.failures

    @property
    def failures(self):
        """One sentence per failed kernel: typical error above the tolerance, or
        boundary error above the limit (with the point)."""
        found = [
            f"{name} has relative error {error:.1e} at typical points (tolerance "
            f"{self.tolerance:g})"
            for name, error in sorted(self.typical.items())
            if not error <= self.tolerance
        ]
        for name, error in sorted(self.boundary.items()):
            if not error <= self.boundary_limit:
                where = ", ".join(
                    f"{k}={v:.6g}" for k, v in self.worst_boundary_point[name].items()
                )
                found.append(
                    f"{name} has relative error {error:.1e} at the boundary point "
                    f"{where} (limit {self.boundary_limit:g}: the double-precision "
                    "formula overflows or cancels there)"
                )
        return found

    @property
    def worst_typical(self):
        return max(self.typical.values(), default=0.0)

    def as_dict(self):
        """A JSON-ready record; errors rounded to two significant digits."""
        return {
            "method": self.method,
            "tolerance": self.tolerance,
            "boundary_limit": self.boundary_limit,
            "passed": self.passed,
            "points": {
                "typical": len(self.typical_points),
                "boundary": len(self.boundary_points),
            },
            "worst_relative_error": {
                name: {
                    "typical": round_error(self.typical[name]),
                    "boundary": round_error(self.boundary.get(name, 0.0)),
                }
                for name in sorted(self.typical)
            },
            "worst_boundary_point": {
                name: {k: float(f"{v:.6g}") for k, v in point.items()}
                for name, point in sorted(self.worst_boundary_point.items())
            },
            "boundary_points_outside_double_range": dict(
                sorted(self.outside_double_range.items())
            ),
        }


def round_error(value):
    """``value`` to two significant digits (a stable number for manifests).

    >>> round_error(3.14159e-16)
    3.1e-16
    """
    return float(f"{value:.1e}")


def verification_points(family, count=12, seed=2024, region=sp.true):
    """``(typical, boundary)``: lists of ``{name: float}`` parameter points.

    ``region`` (a SymPy condition in the family's symbols) restricts both kinds
    to where the metric is finite.

    >>> from symgeo import load_family
    >>> typical, boundary = verification_points(load_family("gamma"), 4)
    >>> len(typical), len(boundary)
    (4, 4)
    """
    typical = [
        {p.name: point[p.symbol] for p in family.parameters}
        for point in family.sample_points(20 * count, seed=seed)
        if region.subs(point) is sp.true
    ][:count]
    rng = np.random.default_rng(seed)
    extremes = [p.domain.extreme_values() for p in family.parameters]
    boundary = []
    for attempt in range(200 * count):
        base = dict(typical[attempt % len(typical)])
        chosen = rng.choice(
            family.dimension, size=min(2, family.dimension), replace=False
        )
        for index in chosen[: 1 + attempt % 2]:
            values = extremes[index]
            base[family.parameters[index].name] = float(
                values[rng.integers(len(values))]
            )
        if _satisfies(family, base, region) and base not in boundary:
            boundary.append(base)
        if len(boundary) == count:
            break
    return typical, boundary


SINGULAR_OFFSETS = (1e-6, 1e-3)
MAX_SINGULAR_ROOTS = 3


def near_singular_points(metric, typical, region=sp.true, seconds=5.0):
    """Points beside the interior zeros of the entries' denominators.

    A closed form such as (log((1 + a)/(1 − a)) − 2a)/(2a³) is 0/0 at a = 0,
    inside the domain, where the metric itself is smooth; in double precision
    it cancels to nothing nearby. For each factor of a denominator that
    depends on one parameter, its zeros strictly inside that parameter's domain
    (``solveset``, under a time budget; at most :data:`MAX_SINGULAR_ROOTS`) give
    boundary points at relative offsets :data:`SINGULAR_OFFSETS` on both sides,
    the other parameters at the first typical point.

    >>> from symgeo import Family, fisher_metric
    >>> family = Family.continuous("(1 + a*x)/2", "x", ("-1", "1"), {"a": "(-1, 1)"})
    >>> [p["a"] for p in near_singular_points(fisher_metric(family), [{"a": 0.5}])]
    [-1e-06, 1e-06, -0.001, 0.001]
    """
    family = metric.family
    parameters = {p.symbol: p for p in family.parameters}
    roots = {}
    factors = set()
    for entry in metric.matrix:
        if entry.has(sp.Integral, sp.Sum):
            continue
        denominator = sp.denom(sp.together(entry))
        factors.update(sp.Mul.make_args(sp.factor_terms(denominator)))
    for factor in sorted(factors, key=sp.default_sort_key):
        base = factor.as_base_exp()[0]
        if len(base.free_symbols) != 1 or not base.free_symbols <= set(parameters):
            continue
        (symbol,) = base.free_symbols
        domain = parameters[symbol].domain
        interval = sp.Interval(domain.lower, domain.upper, True, True)
        try:
            with time_budget(seconds, f"the zeros of {base}"):
                zeros = sp.solveset(base, symbol, interval)
        except (BudgetExceeded, NotImplementedError, ValueError, TypeError):
            continue
        if isinstance(zeros, sp.FiniteSet):
            for zero in sorted(zeros, key=sp.default_sort_key):
                roots.setdefault(symbol, set()).add(float(zero))
    points = []
    for symbol, values in roots.items():
        for root in sorted(values)[:MAX_SINGULAR_ROOTS]:
            for offset in SINGULAR_OFFSETS:
                for side in (-1, 1):
                    point = dict(typical[0])
                    point[parameters[symbol].name] = root + side * offset * max(
                        1.0, abs(root)
                    )
                    if _satisfies(family, point, region) and point not in points:
                        points.append(point)
    return points


def _satisfies(family, point, region):
    values = {p.symbol: point[p.name] for p in family.parameters}
    inside = all(p.domain.contains(point[p.name]) for p in family.parameters)
    return inside and family.meets_constraints(values, region)


def verify_kernels(metric, points=None, *, count=12, seed=2024, dps=30):
    """Compare the numpy kernels of ``metric`` with their mpmath twins.

    ``points`` is ``(typical, boundary)`` as from :func:`verification_points`
    (the default, with ``count`` points of each kind) or a list of typical
    points only. Returns a :class:`KernelVerification`. Kernels of a W2 metric
    with nested-integral entries (:mod:`.pullback`) are checked at no more than
    :data:`PULLBACK_POINTS` points of each kind: their twin takes seconds per
    point.

    >>> from symgeo import fisher_metric, load_family
    >>> check = verify_kernels(fisher_metric(load_family("normal")), count=3)
    >>> check.passed, check.worst_typical < 1e-14
    (True, True)
    """
    if needs_pullback(metric):
        region = sp.true
        if count > PULLBACK_POINTS:
            log.info(
                "%s of %s: %d points of each kind, not %d (its mpmath twin takes "
                "seconds per point)",
                metric.kind,
                metric.family.name,
                PULLBACK_POINTS,
                count,
            )
            count = PULLBACK_POINTS
    else:
        _, region = geometry_source(metric)
        if points is None:
            typical, boundary = verification_points(metric.family, count, seed, region)
            near = near_singular_points(metric, typical, region)
            points = (typical, boundary + [p for p in near if p not in boundary])
    record = compare_kernels(
        metric.kernel("numpy"),
        metric.kernel("mpmath"),
        metric.family,
        points,
        count=count,
        seed=seed,
        dps=dps,
        region=region,
    )
    log.info(
        "kernels of the %s of %s: worst relative error %.1e at typical points",
        metric.kind,
        metric.family.name,
        record.worst_typical,
    )
    return record


def compare_kernels(
    numpy_module,
    mpmath_module,
    family,
    points=None,
    *,
    count=12,
    seed=2024,
    dps=30,
    region=sp.true,
):
    """:func:`verify_kernels` for two kernel modules of ``family`` (generated
    files or in memory); ``region`` restricts the default points."""
    if points is None:
        typical, boundary = verification_points(family, count, seed, region)
    elif isinstance(points, tuple):
        typical, boundary = points
    else:
        typical, boundary = list(points), []
    record = KernelVerification(typical_points=typical, boundary_points=boundary)
    rng = np.random.default_rng(seed)
    for label, group in (("typical", typical), ("boundary", boundary)):
        if not group:
            continue
        errors = _errors(family, numpy_module, mpmath_module, group, rng, dps)
        for name, per_point in errors.items():
            representable = ~np.isnan(per_point)
            if label == "boundary" and not representable.all():
                record.outside_double_range[name] = int((~representable).sum())
            if not representable.any():
                continue
            worst = int(np.nanargmax(per_point))
            getattr(record, label)[name] = float(per_point[worst])
            if label == "boundary":
                record.worst_boundary_point[name] = group[worst]
    return record


def _errors(family, numpy_module, mpmath_module, points, rng, dps):
    names = family.names
    columns = [np.array([p[n] for p in points]) for n in names]
    n = len(names)
    velocities = rng.normal(size=(len(points), n))
    states = np.concatenate([np.stack(columns, axis=-1), velocities], axis=-1)

    with mpmath.workdps(dps), np.errstate(all="ignore"):
        exact = {
            name: getattr(mpmath_module, name)(*columns, dps=dps)
            for name in ("metric", "inverse_metric", "christoffel", "scalar_curvature")
        }
        exact["geodesic_rhs"] = mpmath_module.geodesic_rhs(0.0, states, dps=dps)
        g = _as_float(exact["metric"])
        g_inv = _as_float(exact["inverse_metric"])
    count = len(points)
    copies = -(-BATCH // count)
    errors = []
    with np.errstate(all="ignore"):
        for repeat in (1, copies):
            approx = {
                name: getattr(numpy_module, name)(
                    *(np.tile(c, repeat) for c in columns)
                )
                for name in (
                    "metric",
                    "inverse_metric",
                    "christoffel",
                    "scalar_curvature",
                )
            }
            approx["geodesic_rhs"] = numpy_module.geodesic_rhs(
                0.0, np.tile(states, (repeat, 1))
            )
            approx = {name: value[:count] for name, value in approx.items()}
            errors.append(
                _relative_errors(approx, exact, g, g_inv, velocities, count, dps)
            )
    return {name: np.fmax(errors[0][name], errors[1][name]) for name in errors[0]}


def _relative_errors(approx, exact, g, g_inv, velocities, count, dps):
    """Per point, the worst error of each kernel on the scales of the module
    docstring; NaN where the exact value lies outside the double range."""
    metric_outside = _outside_double(exact["metric"], count) | _outside_double(
        exact["inverse_metric"], count
    )
    g_diag = np.abs(np.diagonal(g, axis1=-2, axis2=-1))
    inv_diag = np.abs(np.diagonal(g_inv, axis1=-2, axis2=-1))
    speed = np.einsum("pi,pij,pj->p", velocities, g, velocities)
    scales = {
        "metric": np.sqrt(g_diag[:, :, None] * g_diag[:, None, :]),
        "inverse_metric": np.sqrt(inv_diag[:, :, None] * inv_diag[:, None, :]),
        "christoffel": np.sqrt(
            inv_diag[:, :, None, None]
            * g_diag[:, None, :, None]
            * g_diag[:, None, None, :]
        ),
        "geodesic_rhs": np.concatenate(
            [np.abs(velocities), np.sqrt(inv_diag) * np.abs(speed)[:, None]], axis=-1
        ),
    }
    scales["scalar_curvature"] = np.einsum(
        "pkij,pk,pi,pj->p",
        _as_float(exact["christoffel"]) ** 2,
        g_diag,
        inv_diag,
        inv_diag,
    )
    errors = {}
    for name in KERNELS:
        difference = _difference(approx[name], exact[name], dps)
        magnitude = np.abs(_as_float(exact[name]))
        natural = np.where(
            metric_outside.reshape((count,) + (1,) * (magnitude.ndim - 1)),
            0.0,
            scales[name],
        )
        if name == "scalar_curvature":
            scale = magnitude + natural
        else:
            scale = np.maximum(natural, magnitude)
        relative = np.where(
            scale > 0, difference / np.where(scale > 0, scale, 1.0), difference
        )
        relative = np.where(np.isnan(difference), np.inf, relative)
        worst = relative.reshape(count, -1).max(axis=1)
        outside = _outside_double(exact[name], count)
        if name in ("metric", "inverse_metric"):
            outside |= metric_outside
        errors[name] = np.where(outside, np.nan, worst)
    return errors


def _outside_double(values, count):
    """Per point, whether a component's magnitude overflows a double or falls
    below its smallest normal number (a non-zero value that rounds to 0)."""
    big, tiny = np.finfo(float).max, np.finfo(float).tiny
    flat = np.asarray(values, dtype=object).reshape(count, -1)
    return np.array(
        [any(abs(v) > big or (v != 0 and abs(v) < tiny) for v in row) for row in flat]
    )


def _as_float(values):
    return np.vectorize(float, otypes=[float])(values)


def _difference(approx, exact, dps):
    with mpmath.workdps(dps):
        flat_exact = np.asarray(exact, dtype=object).ravel()
        flat_approx = np.asarray(approx, dtype=float).ravel()
        out = np.empty(flat_exact.shape)
        for index, (a, e) in enumerate(zip(flat_approx, flat_exact, strict=True)):
            out[index] = float(abs(mpmath.mpf(a) - e)) if np.isfinite(a) else np.nan
    return out.reshape(np.shape(exact))

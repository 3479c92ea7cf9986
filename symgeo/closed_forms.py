"""Closed-form geodesic distances, recognised from the metric matrix itself.

A formula applies when the metric *is* the metric of the formula, whatever the
family is called: each rule builds its template matrix in the metric's own
coordinates and checks g − template = 0 symbolically (``cancel``), so a user's
spec of the normal family under another name gets the hyperbolic distance and a
family named "normal" with another density does not. The rules, first match
wins (Fisher metric convention of design.md: no factor 1/4 or 4):

- **flat**: g constant, d = √(Δθᵀ g Δθ) (Mahalanobis; a Gaussian with fixed
  covariance, the W₂ metric of a location-scale normal);
- **hyperbolic**: g = c diag(1/σ², 2/σ²) on μ ∈ ℝ, σ > 0 (normal Fisher-Rao),
  d = √(2c) arccosh(1 + ((Δμ)²/2 + (Δσ)²) / (2 σ₀ σ₁));
- **sphere**: g_ij = c (δ_ij / p_i + 1 / p_0) with p_0 = 1 − Σ p_i on the
  simplex (categorical, Bernoulli, binomial), d = 2√c arccos Σ √(p_i q_i),
  evaluated as 4√c arcsin(|√p − √q| / 2), which keeps its accuracy for close
  points (Amari and Nagaoka 2000, section 2.2);
- **power law**: one coordinate θ > 0 with g = c θ^p, d = √c |θ₁^s − θ₀^s| / |s|
  with s = p/2 + 1, and √c |log(θ₁/θ₀)| when p = −2 (exponential, Poisson);
- **Gaussian covariance**: fixed mean, g_ij = ½ tr(Σ⁻¹ ∂_iΣ Σ⁻¹ ∂_jΣ) on full,
  diagonal or isotropic covariances, d = √(Σ log² l_i / 2) with l_i the
  eigenvalues of Σ₀⁻¹ Σ₁ (Skovgaard 1984);
- **Bures-Wasserstein**: g_ij = ∂_im·∂_jm + tr(S_i Σ S_j) with
  S_i Σ + Σ S_i = ∂_iΣ, d² = |m₀ − m₁|² + tr(Σ₀ + Σ₁ − 2(Σ₀^½ Σ₁ Σ₀^½)^½)
  (Dowson and Landau 1982; Takatsu 2011);
- **one-dimensional**: one coordinate, d = |∫ √g dθ| by adaptive quadrature;
- **W₂ quantile distance**: the pullback W₂ metric of a one-dimensional family
  that :func:`~symgeo.closure.w2_closure` proves closed, where the geodesic
  distance equals W₂ = (∫₀¹ (Q₀(u) − Q₁(u))² du)^½, by tanh-sinh quadrature.

Where no rule matches, :mod:`symgeo.geodesics` shoots.
"""

import logging
import warnings
import weakref
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp
from scipy import integrate, linalg

log = logging.getLogger(__name__)

EPS = np.finfo(float).eps


@dataclass(frozen=True)
class ClosedForm:
    """A distance formula matched to a metric.

    ``function(a, b)`` takes pairs of shape (P, n) and returns the distances and
    their estimated errors, each of shape (P,).
    """

    name: str
    formula: str
    function: object
    symbolic: bool = True


_MATCHES = weakref.WeakKeyDictionary()


def match_closed_form(metric):
    """The :class:`ClosedForm` whose template equals ``metric``, or None.

    >>> from symgeo import fisher_metric, load_family
    >>> match_closed_form(fisher_metric(load_family("normal"))).name
    'hyperbolic'
    >>> match_closed_form(fisher_metric(load_family("gamma"))) is None
    True
    """
    if metric not in _MATCHES:
        _MATCHES[metric] = _first_match(metric)
    return _MATCHES[metric]


def _first_match(metric):
    for rule in _RULES:
        try:
            found = rule(metric)
        except (TypeError, ValueError, NotImplementedError, ZeroDivisionError) as exc:
            log.debug("closed-form rule %s failed: %s", rule.__name__, exc)
            found = None
        if found is not None:
            log.info("closed form of the %s: %s", metric.title, found.name)
            return found
    log.debug("no closed form matches the %s", metric.title)
    return None


def closed_form_distance(metric, a, b, *, symbolic_only=False):
    """d(a, b) from the matching closed form, a GeodesicSolution; None if none.

    ``a`` and ``b`` broadcast to shape (..., n). ``symbolic_only`` skips the W₂
    quantile rule (which rests on the closure verdict, not on the matrix).

    >>> from symgeo import fisher_metric, load_family
    >>> g = fisher_metric(load_family("poisson"))
    >>> float(closed_form_distance(g, [1.0], [4.0]).distance)  # 2 |√4 − √1|
    2.0
    """
    from .geodesics import GeodesicSolution, _points

    form = match_closed_form(metric)
    if form is None or (symbolic_only and not form.symbolic):
        return None
    a = _points(metric, a, "start point")
    b = _points(metric, b, "end point")
    a, b = np.broadcast_arrays(a, b)
    shape, n = a.shape[:-1], a.shape[-1]
    value, error = form.function(a.reshape(-1, n), b.reshape(-1, n))
    return GeodesicSolution(
        start=a,
        end=b,
        distance=np.asarray(value, dtype=float).reshape(shape),
        estimated_error=np.asarray(error, dtype=float).reshape(shape),
        method=f"closed form ({form.name}: {form.formula})",
        converged=np.ones(shape, bool),
    )


# -- symbolic helpers ---------------------------------------------------------------


def _zero(expr):
    """True when ``expr`` cancels to 0 (rational normal form, no simplify)."""
    return sp.cancel(sp.together(sp.expand_power_base(expr, force=False))) == 0


def _positive_constant(expr, coords):
    """``expr`` when it is a positive number free of the coordinates, else None."""
    value = sp.cancel(sp.together(expr))
    if value.free_symbols & set(coords) or value.has(sp.Integral):
        return None
    return value if value.is_positive else None


def _has_closed_entries(metric):
    return not any(e.has(sp.Integral) for e in metric.matrix)


def _domain(metric, index):
    domain = metric.family.parameters[index].domain
    return float(domain.lower), float(domain.upper)


def _rounding(values):
    return 8 * EPS * np.abs(values)


# -- rules ----------------------------------------------------------------------------


def _flat(metric):
    coords = set(metric.coordinates)
    if not _has_closed_entries(metric) or metric.matrix.free_symbols & coords:
        return None
    if metric.family.constraints:
        return None
    g = np.array(metric.matrix.evalf(), dtype=float)

    def function(a, b):
        delta = b - a
        # scaled by the largest step so that 1e200-sized steps do not overflow
        size = np.abs(delta).max(axis=1, keepdims=True)
        unit = delta / np.where(size > 0, size, 1.0)
        d = size[:, 0] * np.sqrt(np.einsum("pi,ij,pj->p", unit, g, unit))
        return d, _rounding(d)

    return ClosedForm("flat", "d = sqrt(dθ^T g dθ), g constant", function)


def _hyperbolic(metric):
    if metric.dimension != 2 or not _has_closed_entries(metric):
        return None
    g, coords = metric.matrix, metric.coordinates
    for i, j in ((0, 1), (1, 0)):
        sigma = coords[j]
        if not np.isinf(_domain(metric, i)).all() or _domain(metric, j) != (0, np.inf):
            continue
        c = _positive_constant(g[i, i] * sigma**2, coords)
        if c is None or not _zero(g[i, j]) or not _zero(g[j, j] - 2 * c / sigma**2):
            continue
        scale = float(sp.sqrt(2 * c))

        def function(a, b, i=i, j=j, scale=scale):
            # x = r² with r = √((Δμ)²/2 + (Δσ)²) / √(2σ0σ1); arccosh(1 + x) =
            # log1p(x + √(x (x + 2))), exact for small x too, and 2 log r + log 2
            # (to 1e-18) once r > 1e8, with log r from logarithms where r
            # itself would overflow
            h = np.hypot((b[:, i] - a[:, i]) / np.sqrt(2), b[:, j] - a[:, j])
            with np.errstate(over="ignore", divide="ignore"):
                r = h / (np.sqrt(2) * np.sqrt(a[:, j]) * np.sqrt(b[:, j]))
                log_r = np.log(h) - (np.log(2) + np.log(a[:, j]) + np.log(b[:, j])) / 2
            near = r < 1e8
            x = np.where(near, r, 1.0) ** 2
            d = scale * np.where(
                near,
                np.log1p(x + np.sqrt(x * (x + 2))),
                2 * np.where(near, 0.0, log_r) + np.log(2),
            )
            return d, 16 * EPS * d

        return ClosedForm(
            "hyperbolic",
            "d = sqrt(2c) arccosh(1 + ((Δμ)²/2 + (Δσ)²)/(2σ0σ1))",
            function,
        )
    return None


def _sphere(metric):
    if not _has_closed_entries(metric):
        return None
    coords, g, n = metric.coordinates, metric.matrix, metric.dimension
    if any(_domain(metric, i) != (0.0, 1.0) for i in range(n)):
        return None
    last = 1 - sum(coords)
    template = sp.Matrix(n, n, lambda i, j: (1 / coords[i] if i == j else 0) + 1 / last)
    c = _positive_constant(g[0, 0] / template[0, 0], coords)
    if c is None or not all(_zero(e) for e in g - c * template):
        return None
    scale = float(sp.sqrt(c))

    def function(a, b):
        """d = 4 √c arcsin(|√p − √q| / 2), the chord |√p − √q| taken term by
        term as (p_i − q_i) / (√p_i + √q_i), with p_0 − q_0 = Σ (q_i − p_i):
        nearby members keep their digits (a difference of square roots, or
        arccos near 1, would lose them)."""
        p = np.concatenate([a, 1 - a.sum(axis=1, keepdims=True)], axis=1)
        q = np.concatenate([b, 1 - b.sum(axis=1, keepdims=True)], axis=1)
        gaps = np.concatenate([a - b, (b - a).sum(axis=1, keepdims=True)], axis=1)
        with np.errstate(invalid="ignore"):
            roots = gaps / (np.sqrt(p) + np.sqrt(q))
        chord = np.linalg.norm(np.nan_to_num(roots), axis=1)
        d = 4 * scale * np.arcsin(np.minimum(chord / 2, 1.0))
        return d, _rounding(d)

    return ClosedForm(
        "sphere", "d = 2 sqrt(c) arccos(Σ sqrt(p_i q_i)), p_0 = 1 − Σ p_i", function
    )


def _power_law(metric):
    if metric.dimension != 1 or not _has_closed_entries(metric):
        return None
    if _domain(metric, 0) != (0.0, np.inf):
        return None
    x, g = metric.coordinates[0], metric.matrix[0, 0]
    power = sp.cancel(sp.together(x * sp.diff(sp.log(g), x)))
    if power.free_symbols or not power.is_number:
        return None
    c = _positive_constant(g / x**power, [x])
    if c is None:
        return None
    root, s = float(sp.sqrt(c)), float(power / 2 + 1)

    if s == 0:

        def function(a, b):
            d = root * np.abs(np.log(b[:, 0]) - np.log(a[:, 0]))
            return d, _rounding(d)

        return ClosedForm("power law", "d = sqrt(c) |log(θ1/θ0)|, g = c/θ²", function)

    def function(a, b):
        d = root * np.abs(b[:, 0] ** s - a[:, 0] ** s) / abs(s)
        return d, _rounding(d) + root * 8 * EPS * np.abs(b[:, 0] ** s) / abs(s)

    formula = f"d = sqrt(c) |θ1^s − θ0^s|/|s|, g = c θ^{sp.sstr(power)}, s = {s:g}"
    return ClosedForm("power law", formula, function)


def _covariance_structure(family):
    """'full', 'diagonal' or 'isotropic' when the covariance set is one of them."""
    cov = family.extra.get("covariance") if family.kind == "gaussian" else None
    if cov is None:
        return None
    coords = set(family.symbols)
    d = cov.shape[0]
    upper = [cov[i, j] for i in range(d) for j in range(i, d)]
    off = [cov[i, j] for i in range(d) for j in range(i + 1, d)]
    diagonal = [cov[i, i] for i in range(d)]
    if all(e in coords for e in upper) and len(set(upper)) == len(upper):
        return "full"
    if all(e == 0 for e in off):
        if all(e in coords for e in diagonal) and len(set(diagonal)) == d:
            return "diagonal"
    factors = {sp.cancel(e / cov[0, 0]) for e in upper if e != 0}
    if cov[0, 0] in coords and all(not (f.free_symbols & coords) for f in factors):
        return "isotropic"
    return None


def _gaussian_parts(metric):
    family = metric.family
    structure = _covariance_structure(family)
    if structure is None or not _has_closed_entries(metric):
        return None
    mean, cov = family.extra["mean"], family.extra["covariance"]
    coords = family.symbols
    as_matrix = sp.lambdify(coords, cov, modules="numpy")
    as_mean = sp.lambdify(coords, mean, modules="numpy")

    def matrices(points):
        covs = np.array([np.asarray(as_matrix(*p), dtype=float) for p in points])
        means = np.array([np.asarray(as_mean(*p), dtype=float).ravel() for p in points])
        return means, covs

    return mean, cov, coords, matrices


def _gaussian_covariance(metric):
    parts = _gaussian_parts(metric)
    if parts is None:
        return None
    mean, cov, coords, matrices = parts
    if mean.free_symbols & set(coords):
        return None
    inverse = cov.inv()
    n = len(coords)
    template = sp.Matrix(
        n,
        n,
        lambda i, j: (
            (inverse * cov.diff(coords[i]) * inverse * cov.diff(coords[j])).trace() / 2
        ),
    )
    if not all(_zero(e) for e in metric.matrix - template):
        return None

    def function(a, b):
        _, s0 = matrices(a)
        _, s1 = matrices(b)
        d = np.array(
            [
                np.sqrt(np.sum(np.log(linalg.eigh(y, x, eigvals_only=True)) ** 2) / 2)
                for x, y in zip(s0, s1, strict=True)
            ]
        )
        return d, 64 * EPS * np.maximum(d, 1.0)

    return ClosedForm(
        "Gaussian covariance",
        "d = sqrt(Σ log² l_i / 2), l_i eigenvalues of Σ0⁻¹ Σ1",
        function,
    )


def _lyapunov(cov, rhs):
    """S with S Σ + Σ S = rhs, solved exactly (vec form)."""
    d = cov.shape[0]
    unknowns = sp.symbols(f"_s0:{d * d}")
    s = sp.Matrix(d, d, unknowns)
    equations = list(s * cov + cov * s - rhs)
    solution = sp.solve(equations, unknowns, dict=True)[0]
    return s.subs(solution)


def _bures(metric):
    if metric.kind != "wasserstein":
        return None
    parts = _gaussian_parts(metric)
    if parts is None:
        return None
    mean, cov, coords, matrices = parts
    n = len(coords)
    solved = [_lyapunov(cov, cov.diff(t)) for t in coords]
    template = sp.Matrix(
        n,
        n,
        lambda i, j: (
            (mean.diff(coords[i]).T * mean.diff(coords[j]))[0, 0]
            + (solved[i] * cov * solved[j]).trace()
        ),
    )
    if not all(_zero(e) for e in metric.matrix - template):
        return None

    def function(a, b):
        """Distances and errors. The trace term is min_U |A − B U|_F² over
        orthogonal U, A = Σ0^½, B = Σ1^½, reached at the polar factor of BᵀA
        (tr (A Σ1 A)^½ is the nuclear norm of BᵀA): a difference of nearby
        matrices instead of one of nearby traces, so nearby gaussians keep
        their digits. The error bound 16 ε (√κ (|A|_F + |B|_F) + |m0 − m1|),
        κ the larger condition number, was at least 16 times the error
        measured against 50-digit eigendecompositions (κ up to 1e6)."""
        m0, s0 = matrices(a)
        m1, s1 = matrices(b)
        out, error = np.empty(len(a)), np.empty(len(a))
        for p in range(len(a)):
            root0, root1 = linalg.sqrtm(s0[p]).real, linalg.sqrtm(s1[p]).real
            rotation, _ = linalg.polar(root1.T @ root0)
            shift = np.sum((m0[p] - m1[p]) ** 2)
            out[p] = np.sqrt(shift + np.sum((root0 - root1 @ rotation) ** 2))
            condition = max(np.linalg.cond(s0[p]), np.linalg.cond(s1[p]))
            size = np.linalg.norm(root0) + np.linalg.norm(root1)
            error[p] = 16 * EPS * (np.sqrt(condition) * size + np.sqrt(shift))
            if np.array_equal(m0[p], m1[p]) and np.array_equal(s0[p], s1[p]):
                out[p] = error[p] = 0.0
        return out, error

    return ClosedForm(
        "Bures-Wasserstein",
        "W2² = |m0 − m1|² + tr(Σ0 + Σ1 − 2(Σ0^½ Σ1 Σ0^½)^½)",
        function,
    )


CHECK_NODES = np.array([0.1037, 0.3061, 0.4973, 0.7019, 0.8951])
"""Where a one-dimensional √g is checked against 30 digits, as fractions of
the interval (off round numbers, where a formula may be 0/0)."""


def _miss(double, exact_function, node):
    """|double − exact| / |exact| at ``node``; infinite where the double is not
    finite or the exact value cannot be computed."""
    try:
        exact = exact_function(mpmath.mpf(node))
    except (ZeroDivisionError, ValueError):
        return mpmath.inf
    if not np.isfinite(double) or exact == 0:
        return mpmath.inf if double != exact else mpmath.mpf(0)
    return abs(double - exact) / abs(exact)


def _one_dimensional(metric):
    if metric.dimension != 1 or not _has_closed_entries(metric):
        return None
    from .geodesics import _NUMPY_MODULES

    x = metric.coordinates[0]
    root = sp.sqrt(metric.matrix[0, 0])
    speed = sp.lambdify(x, root, modules=_NUMPY_MODULES)
    exact_speed = sp.lambdify(x, root, "mpmath")

    def function(a, b):
        """scipy's adaptive quadrature of the double-precision √g; its error
        estimate plus the largest relative error of √g at five points of the
        interval against 30 digits (a formula that cancels, such as one with a
        removable 0/0, is only as good as that)."""
        out, error = np.empty(len(a)), np.empty(len(a))
        for p, (x0, x1) in enumerate(zip(a[:, 0], b[:, 0], strict=True)):
            lo, hi = min(x0, x1), max(x0, x1)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", integrate.IntegrationWarning)
                value, err = integrate.quad(
                    speed, lo, hi, epsabs=0.0, epsrel=1e-13, limit=200
                )
                nodes = lo + (hi - lo) * CHECK_NODES
                doubles = np.array([speed(node) for node in nodes], dtype=float)
            with mpmath.workdps(30):
                misses = [
                    _miss(d, exact_speed, node)
                    for d, node in zip(doubles, nodes, strict=True)
                ]
            out[p] = value
            error[p] = err + float(max(misses)) * value + _rounding(value)
        return out, error

    return ClosedForm(
        "one-dimensional", "d = |∫ sqrt(g) dθ| (adaptive quadrature)", function
    )


def _w2_quantile(metric):
    family = metric.family
    if metric.kind != "wasserstein" or family.kind != "continuous":
        return None
    from .closure import w2_closure

    if w2_closure(family).closed is not True:
        return None

    def function(a, b):
        pairs = [w2_quantile_distance(family, x, y) for x, y in zip(a, b, strict=True)]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    return ClosedForm(
        "W2 quantile distance",
        "W2 = (∫₀¹ (Q0(u) − Q1(u))² du)^½, closed family",
        function,
        symbolic=False,
    )


_RULES = (
    _flat,
    _hyperbolic,
    _sphere,
    _power_law,
    _gaussian_covariance,
    _bures,
    _one_dimensional,
    _w2_quantile,
)


# -- W2 of one-dimensional families ------------------------------------------------


def w2_quantile_distance(family, a, b, *, digits=20):
    """W₂ of two members of a one-dimensional family: (∫₀¹ (Q_a − Q_b)² du)^½.

    This is the extrinsic W₂ distance, the L²(0, 1) distance of the quantile
    functions (design.md section 2), by tanh-sinh quadrature (mpmath) split at
    u = 1/2, at ``digits`` working digits. Returns (distance, estimated error).

    >>> from symgeo import load_family
    >>> fam = load_family("exponential")
    >>> d, err = w2_quantile_distance(fam, [1.0], [2.0])
    >>> round(d, 12)  # sqrt(2) |1/1 − 1/2|
    0.707106781187
    """
    value, error = _quantile_distance(family, a, b, digits)
    check, _ = _quantile_distance(family, a, b, digits + EXTRA_DIGITS)
    return check, error + abs(check - value) + _rounding(check)


EXTRA_DIGITS = 15
""":func:`w2_quantile_distance` integrates at ``digits`` and at this many more;
their difference, added to the estimated error, covers the digits a quantile
formula loses to cancellation (λ e^{−λx}/(1 − e^{−λ}) on [0, 1] at λ = 1e-4
lost 8 of 20)."""


def _quantile_distance(family, a, b, digits):
    from .quantile import numeric_quantile

    names = family.names
    q0 = numeric_quantile(
        family, family.point(dict(zip(names, map(float, a), strict=True)))
    )
    q1 = numeric_quantile(
        family, family.point(dict(zip(names, map(float, b), strict=True)))
    )
    with mpmath.workdps(digits):

        def squared_difference(u):
            return (q0(u) - q1(u)) ** 2

        squared, error = mpmath.quad(squared_difference, [0, 0.5, 1], error=True)
        # The quadrature cannot see mass within 10^-digits of u = 0 or 1; what
        # lies between 10^-(digits-6) and there bounds it for a power tail
        # (about equal to it when E[X²] is barely finite, as for Pareto α = 2.1).
        cut = mpmath.mpf(10) ** (6 - digits)
        inner = mpmath.quad(squared_difference, [cut, 0.5, 1 - cut])
        tail = abs(squared - inner)
    value = float(mpmath.sqrt(max(squared, 0)))
    if not mpmath.isfinite(squared) or tail > TAIL_TOLERANCE * squared:
        from .geodesics import GeodesicError

        raise GeodesicError(
            f"W2 between the members {_members(family, a, b)} of '{family.name}' "
            "cannot be computed reliably: the squared quantile difference has "
            f"{float(tail):.2g} of its integral {float(squared):.3g} within "
            f"{float(cut):.0e} of u = 0 or 1, a tail too heavy for the quadrature "
            "(E[X²] infinite or nearly so at one of them)"
        )
    error = float(error + tail)
    return value, error / (2 * value) if value > 0 else float(mpmath.sqrt(error))


TAIL_TOLERANCE = 5e-2
"""W₂² whose extreme tails (within 10^-(digits-6) of u = 0 or 1) carry more
than this fraction of the integral is refused as not computable; below it, that
part counts in the estimated error (an overestimate for steep tails: Pareto
α = 3 to 7 is estimated at 5e-5 and is within 2e-8)."""


def _members(family, a, b):
    return " and ".join(
        "("
        + ", ".join(f"{n}={float(v):g}" for n, v in zip(family.names, p, strict=True))
        + ")"
        for p in (a, b)
    )

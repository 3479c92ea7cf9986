"""The cdf F(x; θ) and the quantile Q(u; θ) of a continuous family.

Both are found in closed form when possible and otherwise left to numerics:

- :func:`cdf`: the spec's ``cdf`` hint, checked against quadrature of the
  density before use; else F(x) = ∫_lo^x p(t) dt by SymPy under a time budget,
  split at a kink |a t + b| of the density (Laplace), and for a location-scale
  family computed once for the standard member;
- :func:`quantile`: the spec's ``quantile`` hint (in the variable u of
  :data:`U`), checked by F(Q(u)) = u; else the branch of F(x) = u that lies in
  the support and increases with u;
- :func:`survival`: S = 1 − F rewritten so that it keeps its relative accuracy
  in the upper tail (erf → erfc, lowergamma → uppergamma);
- :func:`numeric_cdf` and :func:`numeric_quantile`: mpmath functions at one
  parameter point, closed form if there is one, else quadrature of the density
  and root-finding on it.

A family is *location-scale* in (m(θ), s(θ)) when s p(m + s z; θ) does not
depend on the parameters that enter m and s: X = m + s Z with Z drawn from the
*standard member*, the family at the parameter values where m = 0 and s = 1.
:func:`location_scale` looks for such a form among the cheap candidates
m ∈ {0, θ_a} and s ∈ {1, θ_b, 1/θ_b, √θ_b, exp θ_b}, checked numerically;
parameters entering neither are *shape* parameters, on which the standard
member still depends (Weibull: scale λ, shape k).
"""

import dataclasses
import logging
from functools import cache

import mpmath
import sympy as sp

from .budget import BudgetExceeded, time_budget
from .errors import SpecError
from .simplification import generic_branch, tidy

log = logging.getLogger(__name__)

U = sp.Symbol("u", positive=True)
"""The variable u ∈ (0, 1) of every quantile function."""

HINT_TOLERANCE = 1e-10
_DIGITS = 30
_SAME_DENSITY = mpmath.mpf(10) ** -20
_CHECK_U = ("0.1", "0.5", "0.85")
_NOT_CLOSED = (sp.Integral, sp.Limit, sp.meijerg, sp.hyper, sp.Derivative)


# -- location-scale form ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LocationScale:
    """X = location + scale · Z with Z drawn from ``standard``.

    ``affine`` lists the parameters that enter only through location and scale,
    ``standard_values`` their values where location = 0 and scale = 1, and
    ``standard`` is the family there (same variable; the shape parameters).
    """

    location: sp.Expr
    scale: sp.Expr
    affine: tuple
    standard_values: tuple
    standard: object

    @property
    def translations(self):
        """The affine parameters that move the location only."""
        return tuple(t for t in self.affine if not self.scale.has(t))


def location_scale(family):
    """The location-scale form of a continuous ``family``, or None.

    >>> from symgeo import load_family
    >>> form = location_scale(load_family("weibull"))
    >>> form.location, form.scale, form.affine
    (0, lam, (lam,))
    >>> form.standard.density
    k*x**(k - 1)*exp(-x**k)
    """
    if family.kind != "continuous":
        return None
    return _location_scale(family)


@cache
def _location_scale(family):
    theta = family.symbols
    density = sp.lambdify([family.variable, *theta], family.density, "mpmath")
    candidates = [
        (location, scale)
        for location in [None, *_location_candidates(family)]
        for scale in [None, *_scale_candidates(family)]
        if (location, scale) != (None, None)
        and not (location and scale and location[0] == scale[0])
    ]
    candidates.sort(key=lambda pair: -sum(c is not None for c in pair))
    points = family.sample_points(3, seed=31)
    for location, scale in candidates:
        form = _candidate_form(family, location, scale)
        if form is not None and _acts_affinely(family, form, density, points):
            log.info(
                "%s is location-scale: x = %s + %s z",
                family.name,
                form.location,
                form.scale,
            )
            return form
    return None


def _location_candidates(family):
    """(parameter, m(θ), value of the parameter where m = 0)."""
    return [(p.symbol, p.symbol, 0) for p in family.parameters if p.domain.contains(0)]


def _scale_candidates(family):
    """(parameter, s(θ), value of the parameter where s = 1)."""
    out = []
    for p in family.parameters:
        t = p.symbol
        if t.is_positive and p.domain.contains(1):
            out += [(t, t, 1), (t, 1 / t, 1), (t, sp.sqrt(t), 1)]
        if p.domain.contains(0):
            out.append((t, sp.exp(t), 0))
    return out


def _candidate_form(family, location, scale):
    values = {}
    m, s = sp.Integer(0), sp.Integer(1)
    if location:
        values[location[0]] = sp.Integer(location[2])
        m = location[1]
    if scale:
        values[scale[0]] = sp.Integer(scale[2])
        s = scale[1]
    support = tuple(b.subs(values) for b in family.support)
    for bound, standard in zip(family.support, support, strict=True):
        if not bound.is_infinite and tidy((bound - m) / s - standard) != 0:
            return None
    standard = dataclasses.replace(
        family,
        name=f"{family.name} (standard member)",
        density=family.density.subs(values),
        support=support,
        parameters=tuple(p for p in family.parameters if p.symbol not in values),
        constraints=(),
        cdf=None if family.cdf is None else family.cdf.subs(values),
        quantile=None if family.quantile is None else family.quantile.subs(values),
    )
    affine = tuple(t for t in family.symbols if t in values)
    return LocationScale(m, s, affine, tuple(values.items()), standard)


def _acts_affinely(family, form, density, points):
    """s p(m + s z; θ) = p(z; standard values) at a few points, numerically."""
    theta = family.symbols
    location = sp.lambdify(theta, form.location, "mpmath")
    scale = sp.lambdify(theta, form.scale, "mpmath")
    with mpmath.workdps(_DIGITS):
        for point in points:
            point = {t: mpmath.mpf(v) for t, v in point.items()}
            m = location(*(point[t] for t in theta))
            s = scale(*(point[t] for t in theta))
            standard_point = {**point, **{t: int(v) for t, v in form.standard_values}}
            for z in _interior(form.standard.support, standard_point):
                try:
                    moved = s * density(m + s * z, *(point[t] for t in theta))
                    fixed = density(z, *(standard_point[t] for t in theta))
                    moved, fixed = complex(moved), complex(fixed)
                except (ZeroDivisionError, ValueError, TypeError):
                    return False
                if abs(moved - fixed) > _SAME_DENSITY * max(abs(fixed), 1e-300):
                    return False
    return True


def _interior(support, point):
    """Three points well inside the support at ``point``."""
    lo, hi = (b.subs(point) for b in support)
    if lo.is_infinite and hi.is_infinite:
        return [mpmath.mpf(v) for v in ("-1.3", "0.4", "2.1")]
    if hi.is_infinite:
        return [mpmath.mpf(float(lo)) + mpmath.mpf(v) for v in ("0.37", "1.3", "2.9")]
    if lo.is_infinite:
        return [mpmath.mpf(float(hi)) - mpmath.mpf(v) for v in ("0.37", "1.3", "2.9")]
    a, b = mpmath.mpf(float(lo)), mpmath.mpf(float(hi))
    return [a + (b - a) * mpmath.mpf(f) for f in ("0.23", "0.51", "0.87")]


# -- cdf -----------------------------------------------------------------------


def cdf(family, budget=20.0):
    """F(x; θ) = ∫_lo^x p(t; θ) dt in closed form, or None if none was found.

    A ``cdf`` hint of the spec is used after a numerical check; a wrong hint is
    a :class:`~symgeo.errors.SpecError`. Discrete and gaussian families give
    None.

    >>> from symgeo import load_family
    >>> cdf(load_family("laplace"))
    Piecewise((exp((-mu + x)/b)/2, (-mu + x)/b < 0), (1 - exp(-(-mu + x)/b)/2, True))
    """
    if family.kind != "continuous":
        return None
    return _cdf(family, budget)


@cache
def _cdf(family, budget):
    if family.cdf is not None:
        _check_cdf(family, family.cdf, "the cdf hint")
        return family.cdf
    form = _location_scale(family) if family.parameters else None
    if form is not None:
        standard = _cdf(form.standard, budget)
        if standard is None:
            return None
        x = family.variable
        return standard.subs(x, (x - form.location) / form.scale)
    found = _integrate_density(family, budget)
    if found is None:
        log.info("cdf of %s: no closed form found", family.name)
        return None
    found = tidy(found)
    try:
        _check_cdf(family, found, "the integrated cdf")
    except SpecError as exc:
        log.warning("cdf of %s discarded: %s", family.name, exc)
        return None
    return found


def _integrate_density(family, budget):
    """∫_lo^x p dt, split at the kink of |a t + b| if the density has one."""
    x = family.variable
    t = sp.Dummy("t", real=True)
    p = family.density.subs(x, t)
    lo = family.support[0]
    kinks = {
        node.args[0]
        for node in sp.preorder_traversal(p)
        if isinstance(node, (sp.Abs, sp.sign)) and node.args[0].has(t)
    }
    if not kinks:
        return _definite(p, t, lo, x, budget)
    if len(kinks) != 1:
        return None
    (arg,) = kinks
    if not arg.is_polynomial(t) or sp.degree(arg, t) != 1:
        return None
    root = sp.solve(arg, t)[0]
    slope = sp.sign(sp.Poly(arg, t).LC())
    below = p.subs({sp.Abs(arg): -slope * arg, sp.sign(arg): -slope})
    above = p.subs({sp.Abs(arg): slope * arg, sp.sign(arg): slope})
    left = _definite(below, t, lo, x, budget)
    mass = _definite(below, t, lo, root, budget)
    right = _definite(above, t, root, x, budget)
    if left is None or mass is None or right is None:
        return None
    return sp.Piecewise((left, x < root), (tidy(mass + right), True))


def _definite(integrand, t, a, b, budget):
    """∫_a^b integrand dt: an antiderivative and its limits, else integrate.

    The antiderivative is taken on its generic branch (SymPy's
    ``Piecewise((F, Ne(exp(λ), 1)), (λ t e^λ / (e^λ − 1), True))`` for a
    truncated exponential is F when λ > 0), whose value at a finite lower
    limit is a substitution; SymPy's limit of the whole Piecewise takes the
    wrong branch there.
    """
    try:
        with time_budget(budget, f"integration of {integrand}"):
            antiderivative = generic_branch(sp.integrate(integrand, t))
            if not antiderivative.has(*_NOT_CLOSED):
                value = antiderivative.subs(t, b) - _lower_limit(antiderivative, t, a)
            else:
                value = sp.integrate(integrand, (t, a, b), conds="none")
    except (BudgetExceeded, NotImplementedError, ValueError) as exc:
        log.debug("%s", exc)
        return None
    if value.has(*_NOT_CLOSED) or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    return value


def _lower_limit(antiderivative, t, a):
    """F(a): a substitution where it is finite, else the limit t → a."""
    if a.is_finite:
        value = antiderivative.subs(t, a)
        if not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return value
    return sp.limit(antiderivative, t, a)


def _check_cdf(family, expr, what):
    """Raise SpecError if ``expr`` differs from quadrature of the density."""
    x = family.variable
    with mpmath.workdps(20):
        for point in family.sample_points(2, seed=11):
            closed = family.numeric(expr, point)
            by_quadrature = _cdf_by_quadrature(family, point)
            for value in _interior(family.support, point):
                error = abs(complex(closed(value)) - complex(by_quadrature(value)))
                if not error <= HINT_TOLERANCE:
                    where = ", ".join(f"{s}={v:.4g}" for s, v in point.items())
                    raise SpecError(
                        f"{what} F({x}) = {expr} of family '{family.name}' is wrong: "
                        f"at {x}={mpmath.nstr(value, 6)}, {where} it gives "
                        f"{mpmath.nstr(closed(value), 12)} but the integral of the "
                        f"density gives {mpmath.nstr(by_quadrature(value), 12)}; "
                        "correct it or remove it"
                    )


def _cdf_by_quadrature(family, point):
    p = family.numeric(family.density, point)
    lo = mpmath.mpf(float(family.support[0].subs(point)))
    kinks = [mpmath.mpf(k) for k in family.kinks(point)]

    def value(x):
        nodes = [lo, *(k for k in kinks if k < x), x]
        return mpmath.quad(p, nodes)

    return value


def survival(family, budget=20.0):
    """S(x; θ) = 1 − F(x; θ), written to stay accurate in the upper tail.

    >>> from symgeo import load_family
    >>> survival(load_family("normal"))
    erfc(sqrt(2)*(-mu + x)/(2*sigma))/2
    """
    found = cdf(family, budget)
    if found is None:
        return None
    candidates = []
    for form in (found, found.rewrite(sp.erfc), found.rewrite(sp.uppergamma)):
        complement = sp.piecewise_fold(1 - form)
        candidates.append(_each_piece(tidy, complement))
        candidates.append(_each_piece(lambda e: sp.cancel(sp.together(e)), complement))
    return min(candidates, key=lambda e: (_term_count(e), sp.count_ops(e)))


def _each_piece(function, expr):
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*((function(e), c) for e, c in expr.args))
    return function(expr)


def _term_count(expr):
    """Additive terms, a proxy for cancellation: 1 − (1 − e) should read e."""
    if isinstance(expr, sp.Piecewise):
        return sum(_term_count(piece) for piece, _ in expr.args)
    return len(sp.Add.make_args(sp.expand(expr)))


# -- quantile ------------------------------------------------------------------


def quantile(family, budget=20.0):
    """Q(u; θ) in the variable :data:`U`, or None if none was found.

    A ``quantile`` hint of the spec is used after checking F(Q(u)) = u
    numerically; a wrong hint is a :class:`~symgeo.errors.SpecError`.

    >>> from symgeo import load_family
    >>> quantile(load_family("normal"))
    mu + sqrt(2)*sigma*erfinv(2*u - 1)
    """
    if family.kind != "continuous":
        return None
    return _quantile(family, budget)


@cache
def _quantile(family, budget):
    if family.quantile is not None:
        hint = family.quantile.subs(sp.Symbol("u"), U)
        _check_quantile(family, hint, "the quantile hint", SpecError)
        return hint
    form = _location_scale(family) if family.parameters else None
    if form is not None:
        standard = _quantile(form.standard, budget)
        if standard is None:
            return None
        return form.location + form.scale * standard
    found = _cdf(family, budget)
    if found is None:
        return None
    try:
        with time_budget(budget, f"solving F = u for {family.name}"):
            branches = sp.solve(sp.Eq(found, U), family.variable)
    except (BudgetExceeded, NotImplementedError, ValueError) as exc:
        log.debug("no quantile of %s: %s", family.name, exc)
        return None
    for branch in branches:
        branch = tidy(branch)
        try:
            _check_quantile(family, branch, "a branch", ValueError)
        except (ValueError, TypeError):
            continue
        return branch
    log.info("quantile of %s: no branch of F(x) = u found", family.name)
    return None


def _check_quantile(family, expr, what, error):
    """Raise ``error`` unless Q is real, in the support, increasing, F(Q) = u."""
    for point in family.sample_points(2, seed=13):
        q = family.numeric(expr, point, variable=U)
        f = numeric_cdf(family, point)
        lo, hi = (float(b.subs(point)) for b in family.support)
        with mpmath.workdps(20):
            values = [q(mpmath.mpf(u)) for u in _CHECK_U]
            if any(mpmath.im(v) != 0 for v in values):
                raise error(f"{what} Q(u) = {expr} is not real")
            values = [mpmath.re(v) for v in values]
            inside = all(lo < v < hi for v in values)
            steps = zip(values[:-1], values[1:], strict=True)
            increasing = all(a < b for a, b in steps)
            pairs = zip(values, _CHECK_U, strict=True)
            misses = [abs(f(v) - mpmath.mpf(u)) for v, u in pairs]
        if not (inside and increasing and max(misses) <= HINT_TOLERANCE):
            where = ", ".join(f"{s}={v:.4g}" for s, v in point.items())
            raise error(
                f"{what} Q(u) = {expr} of family '{family.name}' is not the "
                f"inverse of its cdf at {where} (F(Q(u)) - u is up to "
                f"{mpmath.nstr(max(misses), 3)}, inside the support: {inside}, "
                f"increasing: {increasing}); correct it or remove it"
            )


# -- numerics ------------------------------------------------------------------


def numeric_cdf(family, point):
    """x ↦ F(x; θ) at ``point`` with mpmath: closed form, else quadrature.

    >>> from symgeo import load_family
    >>> fam = load_family("gamma")
    >>> F = numeric_cdf(fam, fam.point({"k": 2, "b": 1}))
    >>> mpmath.nstr(F(1), 12)
    '0.264241117657'
    """
    found = _cdf(family, 20.0) if family.kind == "continuous" else None
    if found is None:
        return _cdf_by_quadrature(family, point)
    closed = family.numeric(found, point)
    return lambda x: mpmath.re(closed(x))


def numeric_quantile(family, point):
    """u ↦ Q(u; θ) at ``point``: closed form, else root-finding on the cdf.

    >>> from symgeo import load_family
    >>> fam = load_family("gamma")
    >>> Q = numeric_quantile(fam, fam.point({"k": 2, "b": 1}))
    >>> mpmath.nstr(Q(0.264241117657115), 10)
    '1.0'
    """
    found = _quantile(family, 20.0)
    if found is not None:
        # Parameters at the working precision: as 15-digit Floats,
        # 1 − u(1 − e^{−λ}) at λ = 1e-4 kept 11 digits whatever the precision.
        closed = family.numeric(found, point, variable=U)
        return lambda u: mpmath.re(closed(mpmath.mpf(u)))
    return _quantile_by_root_finding(family, point)


def _quantile_by_root_finding(family, point):
    """Roots of log F(x) = log u; above the median of log S(x) = log(1 − u)
    when S has a closed form (uppergamma, erfc), which stays accurate and fast
    far in the upper tail. Logarithms make tails nearly linear for the
    bracketing solver."""
    f = numeric_cdf(family, point)
    upper = survival(family) if family.kind == "continuous" else None
    s = family.numeric(upper, point) if upper is not None else None
    lo, hi = (mpmath.mpf(float(b.subs(point))) for b in family.support)

    def value(u):
        u = mpmath.mpf(u)
        if s is not None and u > 0.5:
            v = 1 - u
            a, b = _bracket(lambda x: -mpmath.re(s(x)), -v, lo, hi)
            return _root(lambda x: mpmath.log(mpmath.re(s(x)) / v), a, b, lo, hi)
        a, b = _bracket(f, u, lo, hi)
        return _root(lambda x: mpmath.log(f(x) / u), a, b, lo, hi)

    return value


def _root(g, a, b, lo, hi):
    """The root of g in the bracket [a, b], by scipy's Brent method.

    Next to a finite end the search runs in t = log(x − lo) or log(hi − x),
    where the tail of a small shape (x ~ u^(1/k)) spans many decades and
    x = 1 − 10⁻²⁰ is still resolved; g itself is evaluated with mpmath at the
    working precision, and the bracket is never left.
    """
    from scipy.optimize import brentq

    if not mpmath.isinf(lo) and a - lo <= b - a:
        chart = lambda t: lo + mpmath.exp(t)  # noqa: E731
        ends = mpmath.log(a - lo), mpmath.log(b - lo)
    elif not mpmath.isinf(hi) and hi - b <= b - a:
        chart = lambda t: hi - mpmath.exp(t)  # noqa: E731
        ends = mpmath.log(hi - b), mpmath.log(hi - a)
    else:
        chart = mpmath.mpf  # noqa: E731
        ends = a, b
    start, end = float(ends[0]), float(ends[1])
    span = max(abs(start), abs(end), 1e-300)
    t = brentq(lambda t: float(g(chart(t))), start, end, xtol=1e-15 * span, rtol=1e-15)
    return chart(t)


def _bracket(f, u, lo, hi):
    """a < b in the support with F(a) <= u <= F(b)."""
    if mpmath.isinf(lo) and mpmath.isinf(hi):
        a, b = mpmath.mpf(-1), mpmath.mpf(1)
    elif mpmath.isinf(hi):
        a, b = lo + mpmath.mpf("0.5"), lo + 2
    elif mpmath.isinf(lo):
        a, b = hi - 2, hi - mpmath.mpf("0.5")
    else:
        a, b = lo + (hi - lo) / 4, hi - (hi - lo) / 4
    while f(a) > u:
        a = a - 2 * (b - a) if mpmath.isinf(lo) else lo + (a - lo) / 8
    while f(b) < u:
        b = b + 2 * (b - a) if mpmath.isinf(hi) else hi - (hi - b) / 8
    return a, b

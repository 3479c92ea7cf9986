"""The pullback Wasserstein-2 (Otto) metric of a family, derived and verified.

Convention (design.md 2): W₂ carries no factor 1/2, so the geodesic distance of
the metric is W₂ itself; g_ij(θ) = ∫ p ∇φ_i·∇φ_j dx with −∇·(p ∇φ_i) = ∂_i p.
On the line, with Q the quantile function and F the cdf [1]:

    g_ij = ∫_0^1 ∂_iQ ∂_jQ du = ∫ ∂_iF ∂_jF / p dx = E[v_i v_j],  v_i = −∂_iF / p.

For a continuous family each entry takes the cheapest route that applies:

1. *location-scale*: X = m + s Z (:func:`symgeo.quantile.location_scale`), so
   ∂_iQ = ∂_i m + ∂_i s · Z and g_ij = ∂_im ∂_jm + (∂_im ∂_js + ∂_jm ∂_is) E Z
   + ∂_is ∂_js E Z², which is [[1, E z], [E z, E z²]] in (μ, σ);
2. *moment derivative*, θ_j affine and θ_i a shape parameter:
   g_ij = s (∂_jm ∂_i E Z + ½ ∂_js ∂_i E Z²), since ∫ Z ∂_i Z du = ½ ∂_i E Z²;
3. *quantile route*, two shape parameters: s² ∫ ∂_iQ_Z ∂_jQ_Z du as a sum of
   u^α log^m u (1−u)^β log^n(1−u) terms (beta table), or after u = 1 − e^{−t}
   or u = e^{−t} as t^β log^m t e^{−ct} terms (gamma table: Weibull's polygamma
   form), or after u = Φ(z) as a Gaussian expectation (log-normal), else
   SymPy integration under a time budget;
4. *cdf route*: s² E[v_i v_j] on the standard member, by the expectation ladder
   of :mod:`symgeo.expectation` (Mellin table first);
5. otherwise an unevaluated ∫_0^1 ∂_iQ ∂_jQ du, or the nested
   :class:`CdfIntegral` when Q has no closed form; both evaluate by quadrature.

Where the metric exists: only where E[X²] < ∞, decided by the tail exponent of
x² p(x). When that depends on θ (Pareto: α > 2) every entry moved by a
non-translation is Piecewise with ∞ outside the region, and a note says so. A
discrete family has no W₂ pullback (W₂² between nearby members is first order
in the parameter change) and neither has a family with E[X²] = ∞ everywhere
unless all its parameters only translate (Cauchy): both raise
:class:`~symgeo.errors.MetricUndefined` with the reason.

Gaussian families N(m, Σ) get the Bures-Wasserstein metric [2, 3]
g_ij = ∂_i m·∂_j m + tr(S_i Σ S_j) with S_i Σ + Σ S_i = ∂_iΣ.

Every closed form is checked at interior points against mpmath quadrature at
30 digits of an integral its route did not use: ∫ ∂_iF ∂_jF / p dx for routes
1-3 and ∫ ∂_iQ ∂_jQ du for route 4; the Bures-Wasserstein metric against a
numerical Lyapunov solve and against W₂ between nearby Gaussians.

References
----------
[1] C. Villani, Topics in Optimal Transportation (2003), Theorem 2.18.
[2] A. Takatsu, Wasserstein geometry of Gaussian measures, Osaka J. Math. 48
    (2011) 1005-1026.
[3] R. Bhatia, T. Jain and Y. Lim, On the Bures-Wasserstein distance between
    positive definite matrices, Expo. Math. 37 (2019) 165-191.
"""

import logging
import math
import time
import warnings

import mpmath
import numpy as np
import scipy.integrate
import scipy.linalg
import sympy as sp
from sympy.solvers.inequalities import solve_univariate_inequality

from .budget import BudgetExceeded, time_budget
from .errors import DerivationError, MetricUndefined, VerificationError
from .expectation import Expectations
from .metric import Metric
from .quantile import U, cdf, location_scale, numeric_quantile, quantile, survival
from .simplification import tidy
from .verify import TOLERANCE, verify_matrix

log = logging.getLogger(__name__)

NESTED_TOLERANCE = 1e-8
NEARBY_TOLERANCE = 1e-8
_NEARBY_STEP = mpmath.mpf(10) ** -8
_NOT_CLOSED = (sp.Integral, sp.Limit, sp.meijerg, sp.hyper, sp.Derivative, sp.Subs)


def wasserstein_metric(family, *, budget=20.0, points=3, verify=True):
    """The pullback Wasserstein-2 metric of ``family`` as a verified Metric.

    ``budget`` bounds each symbolic integration in seconds and ``points`` is
    the number of interior parameter points of the numerical check. Raises
    :class:`~symgeo.errors.MetricUndefined` when the metric does not exist.

    >>> from symgeo import load_family
    >>> wasserstein_metric(load_family("exponential")).matrix
    Matrix([[2/lam**4]])
    >>> wasserstein_metric(load_family("bernoulli"))
    Traceback (most recent call last):
    ...
    symgeo.errors.MetricUndefined: the family 'bernoulli' lives on the integers...
    """
    if family.kind == "gaussian":
        return bures_wasserstein_metric(
            family, budget=budget, points=points, verify=verify
        )
    if family.is_discrete:
        raise _discrete_undefined(family)

    start = time.monotonic()
    form = location_scale(family)
    region = _second_moment_region(family, form, budget)
    derivation = _Derivation(family, form, budget)
    matrix, provenance = derivation.run()
    region = _reduce(sp.And(region, *derivation.conditions))
    notes = []
    if region is sp.false:
        raise MetricUndefined(
            f"the pullback W2 metric of '{family.name}' is infinite at every "
            "parameter point: the integrals ∫ ∂_iQ ∂_jQ du diverge"
        )
    if region is not sp.true:
        matrix = _restrict(matrix, family.symbols, region, form)
        notes.append(
            f"the W2 metric is finite only where {region} (E[X²] < ∞ and the "
            "entries converge); outside that region every entry moved by a "
            "non-translation is infinite, as the Piecewise entries say"
        )
    if (family.support[1] - family.support[0] - 2 * sp.pi).is_zero:
        notes.append(
            f"the family is treated as laws on the interval {family.support} of "
            "the real line; on a circle W2 would differ"
        )
    log.info(
        "W2 metric of %s derived (%s) in %.1f s",
        family.name,
        ", ".join(sorted(set(provenance.values()))),
        time.monotonic() - start,
    )
    metric = Metric(family, "wasserstein", matrix, provenance, notes=notes)
    if verify:
        metric.verification = verify_wasserstein(metric, points=points)
    return metric


# -- where the metric exists ----------------------------------------------------


def _discrete_undefined(family):
    lo, hi = family.support
    theta = family.symbols
    first = {t: sp.Symbol(f"{t}_0", **t.assumptions0) for t in theta}
    second = {t: sp.Symbol(f"{t}_1", **t.assumptions0) for t in theta}
    x = family.variable
    if family.finite_support is not None and len(family.finite_support) == 2:
        jump = family.density.subs(x, lo)
        gap = tidy(jump.subs(second) - jump.subs(first))
        distance = (hi - lo) * sp.sqrt(sp.Abs(gap))
        exact = "exactly"
    else:
        k = sp.Symbol("k", integer=True)
        cumulative = sp.Sum(family.density, (x, lo, k))
        gap = sp.Abs(cumulative.subs(second) - cumulative.subs(first))
        distance = sp.sqrt(sp.Sum(gap, (k, lo, hi)))
        exact = (
            "whenever the two quantile functions differ by at most 1 (nearby members)"
        )
    return MetricUndefined(
        f"the family '{family.name}' lives on the integers, so it has no pullback "
        "W2 metric: between two members W2² = Σ_k |F(k; θ_1) − F(k; θ_0)| "
        f"({exact}), which is first order in |θ_1 − θ_0|. The curve θ ↦ P_θ is "
        "then only 1/2-Hölder in W2, W2/|Δθ| grows without bound as Δθ → 0, and "
        "no Riemannian metric has W2 as its distance (the Fisher metric exists).",
        distance,
    )


def _second_moment_region(family, form, budget):
    """Where E[X²] < ∞, from the tail exponent of x² p(x) at each infinite end.

    Raises MetricUndefined when E[X²] = ∞ everywhere and some parameter does
    more than translate the law.
    """
    target = form.standard if form is not None else family
    x = target.variable
    y = sp.Dummy("y", positive=True)
    conditions, exponents = [], []
    for bound, side in ((target.support[1], 1), (target.support[0], -1)):
        if not bound.is_infinite:
            continue
        tail = sp.expand_log(
            sp.log(y**2 * target.density.subs(x, side * y)), force=True
        )
        try:
            with time_budget(budget, "the tail exponent of x² p(x)"):
                exponent = sp.limit(tail / sp.log(y), y, sp.oo)
        except (BudgetExceeded, NotImplementedError, ValueError) as exc:
            log.info("tail of %s undecided (%s); assuming E[X²] < ∞", family.name, exc)
            continue
        if exponent.has(sp.Limit, sp.nan) or exponent == -sp.oo:
            continue
        exponents.append(exponent)
        conditions.append(sp.Lt(exponent, -1))
    region = _reduce(sp.And(*conditions))
    if region is not sp.false:
        return region
    if form is not None and set(form.translations) == set(family.symbols):
        return sp.true
    raise MetricUndefined(
        f"the family '{family.name}' has E[X²] = ∞ at every parameter point (x² p(x) "
        f"decays like |x|^{exponents[0]} at infinity), so its members are not in "
        "the Wasserstein space P_2: W2 between members that differ by more than a "
        "translation is infinite and the pullback W2 metric does not exist (its "
        "scale entry ∫ (∂Q)² du diverges).",
        _heavy_tail_distance(family, form),
    )


def _heavy_tail_distance(family, form):
    """W2 of a location-scale family with E[X²] = ∞: |Δm| if only m moves."""
    if form is None or set(form.affine) != set(family.symbols):
        return None
    first = {t: sp.Symbol(f"{t}_0", **t.assumptions0) for t in family.symbols}
    second = {t: sp.Symbol(f"{t}_1", **t.assumptions0) for t in family.symbols}
    fixed = [t for t in family.symbols if t not in form.translations]
    shift = sp.Abs(form.location.subs(second) - form.location.subs(first))
    same = sp.And(*(sp.Eq(first[t], second[t]) for t in fixed))
    return sp.Piecewise((shift, same), (sp.oo, True))


def _reduce(condition):
    """A condition on one parameter as a plain inequality (alpha > 2).

    Each conjunct is solved on its own and the solution sets intersected:
    SymPy 1.14's ``reduce_inequalities`` returns False for the conjunction
    (1 − 2/α > 0) ∧ (1 − 1/α > 0) of a positive α, which is α > 2.

    >>> alpha = sp.Symbol("alpha", positive=True)
    >>> _reduce(sp.And(1 - 2 / alpha > 0, 1 - 1 / alpha > 0))
    alpha > 2
    """
    if condition in (sp.true, sp.false) or len(condition.free_symbols) != 1:
        return condition
    (symbol,) = condition.free_symbols
    domain = sp.Interval.open(0, sp.oo) if symbol.is_positive else sp.S.Reals
    region = domain
    try:
        for part in sp.And.make_args(condition):
            region &= solve_univariate_inequality(
                part, symbol, relational=False, domain=sp.S.Reals
            )
    except (NotImplementedError, ValueError, TypeError):
        return condition
    if region == domain:
        return sp.true
    if region is sp.S.EmptySet:
        return sp.false
    parts = [
        _symbol_first(p, symbol) for p in sp.And.make_args(region.as_relational(symbol))
    ]
    kept = [p for p in parts if not p.has(sp.oo) and p != sp.Gt(symbol, 0)]
    return sp.And(*(kept if len(kept) < len(parts) else parts))


def _symbol_first(relation, symbol):
    """``2 < alpha`` as ``alpha > 2``."""
    if isinstance(relation, sp.core.relational.Relational) and relation.rhs == symbol:
        return relation.reversed
    return relation


def _restrict(matrix, coordinates, region, form):
    """Entries moved by a non-translation: Piecewise((g_ij, region), (∞, True))."""
    translations = set(form.translations) if form is not None else set()
    out = matrix.copy()
    for i, j in np.ndindex(matrix.shape):
        if not {coordinates[i], coordinates[j]} <= translations:
            out[i, j] = sp.Piecewise((matrix[i, j], region), (sp.oo, True))
    return out


# -- derivation of a continuous family --------------------------------------------


class _Derivation:
    """The entries of g for one continuous family, each by the cheapest route."""

    def __init__(self, family, form, budget):
        self.family = family
        self.form = form
        self.budget = budget
        self.standard = form.standard if form is not None else family
        self.location = form.location if form is not None else sp.Integer(0)
        self.scale = form.scale if form is not None else sp.Integer(1)
        self.affine = set(form.affine) if form is not None else set()
        self.expectations = Expectations(self.standard, budget=budget)
        self.conditions = []
        self._moments = {}
        self._velocities = {}

    def run(self):
        theta = self.family.symbols
        n = len(theta)
        g = sp.zeros(n, n)
        provenance = {}
        for i in range(n):
            for j in range(i, n):
                value, strategy = self.entry(theta[i], theta[j])
                if value is None:
                    log.info(
                        "W2 g[%d, %d] of %s: no closed form, kept as an integral",
                        i,
                        j,
                        self.family.name,
                    )
                    value, strategy = (
                        unevaluated_entry(self.family, i, j),
                        "unevaluated",
                    )
                else:
                    value = tidy(value)
                g[i, j] = g[j, i] = value
                provenance[(i, j)] = strategy
        return g, provenance

    def entry(self, a, b):
        if a in self.affine and b in self.affine:
            return self.location_scale_entry(a, b)
        if b in self.affine:
            return self.moment_derivative_entry(a, b)
        if a in self.affine:
            return self.moment_derivative_entry(b, a)
        value, strategy = self.shape_entry(a, b)
        if value is None:
            return None, strategy
        return self.scale**2 * value, strategy

    def location_scale_entry(self, a, b):
        """∂_am ∂_bm + (∂_am ∂_bs + ∂_bm ∂_as) E Z + ∂_as ∂_bs E Z²."""
        dm_a, dm_b = sp.diff(self.location, a), sp.diff(self.location, b)
        ds_a, ds_b = sp.diff(self.scale, a), sp.diff(self.scale, b)
        value = dm_a * dm_b
        for coefficient, power in ((dm_a * ds_b + dm_b * ds_a, 1), (ds_a * ds_b, 2)):
            if coefficient != 0:
                moment = self.moment(power)
                if moment is None:
                    return None, "unevaluated"
                value += coefficient * moment
        return value, "location-scale"

    def moment_derivative_entry(self, shape, affine):
        """s (∂_jm ∂_i E Z + ½ ∂_js ∂_i E Z²) for shape θ_i and affine θ_j."""
        dm, ds = sp.diff(self.location, affine), sp.diff(self.scale, affine)
        value = sp.Integer(0)
        for coefficient, power in ((dm, 1), (ds / 2, 2)):
            if coefficient != 0:
                moment = self.moment(power)
                if moment is None:
                    return None, "unevaluated"
                value += coefficient * sp.diff(moment, shape)
        return self.scale * value, "moment derivative"

    def moment(self, power):
        """E Z^power for the standard member, or None."""
        if power not in self._moments:
            self._moments[power] = self._moment(power)
        return self._moments[power]

    def _moment(self, power):
        x = self.standard.variable
        standard_quantile = quantile(self.standard, self.budget)
        if standard_quantile is not None:
            found = quantile_integral(standard_quantile**power, integrate=False)
            if found is not None:
                self.conditions.append(found[2])
                return found[0]
        value, strategy = self.expectations.of(x**power)
        if value is not None:
            value = real_part(value, self.standard)
        if value is None and standard_quantile is not None:
            found = quantile_integral(standard_quantile**power, budget=self.budget)
            if found is not None:
                self.conditions.append(found[2])
                value = found[0]
        log.info("W2 metric of %s: E Z^%d = %s", self.family.name, power, value)
        return value

    def shape_entry(self, a, b):
        """∫ ∂_aQ_Z ∂_bQ_Z du of the standard member: tables, cdf route, integration."""
        standard_quantile = quantile(self.standard, self.budget)
        if standard_quantile is not None:
            integrand = sp.diff(standard_quantile, a) * sp.diff(standard_quantile, b)
            found = quantile_integral(integrand, integrate=False)
            if found is not None:
                self.conditions.append(found[2])
                return found[0], f"quantile ({found[1]})"
        velocities = self.velocity(a), self.velocity(b)
        if None not in velocities:
            value, strategies = self.expectations.of_sum(velocities[0] * velocities[1])
            if value is not None:
                value = real_part(value, self.standard)
            if value is not None:
                return value, f"cdf ({' + '.join(sorted(strategies))})"
        if standard_quantile is not None:
            found = quantile_integral(integrand, budget=self.budget)
            if found is not None:
                self.conditions.append(found[2])
                return found[0], f"quantile ({found[1]})"
        return None, "unevaluated"

    def velocity(self, parameter):
        """v = −∂F/∂θ / p on the standard member, or None."""
        if parameter not in self._velocities:
            found = cdf(self.standard, self.budget)
            value = None
            if found is not None:
                value = tidy(-sp.diff(found, parameter) / self.standard.density)
                if value.has(*_NOT_CLOSED):
                    value = None
            self._velocities[parameter] = value
        return self._velocities[parameter]


def real_part(value, family):
    """``value`` without a spurious imaginary part, or None if it is not spurious.

    SymPy's integrals sometimes carry ±iπ terms that cancel numerically (or
    should, as for E Z = EulerGamma + iπ of the Gumbel law); the imaginary
    part is dropped when it vanishes at two interior points, else the value is
    rejected.

    >>> lam = sp.Symbol("lam", positive=True)
    >>> from symgeo import load_family
    >>> real_part(2 / lam**4 + sp.I * sp.pi - sp.I * sp.pi, load_family("exponential"))
    2/lam**4
    """
    value = sp.sympify(value)
    if not value.has(sp.I):
        return value
    real, imaginary = sp.expand(value).as_real_imag()
    for point in family.sample_points(2, seed=5):
        size = abs(complex(real.subs(point).evalf(30))) + 1
        if abs(complex(imaginary.subs(point).evalf(30))) > 1e-20 * size:
            log.debug("%s has a genuine imaginary part; rejected", value)
            return None
    return real


# -- ∫_0^1 f(u) du in closed form -------------------------------------------------


def quantile_integral(integrand, *, budget=20.0, integrate=True):
    """∫_0^1 integrand(u) du as ``(value, strategy, condition)``, or None.

    Strategies: the beta table ∫ u^α log^m u (1−u)^β log^n(1−u) du =
    ∂_a^m ∂_b^n B(a+1, b+1) at (α, β); the gamma table after u = 1 − e^{−t} or
    u = e^{−t}, ∫_0^∞ t^β log^m t e^{−ct} dt = ∂_β^m Γ(β+1)/c^{β+1}; then
    SymPy integration under ``budget`` if ``integrate``. ``condition`` is where
    the table integrals converge (α, β > −1, c > 0).

    >>> quantile_integral(sp.log(U / (1 - U)) ** 2)
    (pi**2/3, 'beta table', True)
    >>> alpha = sp.Symbol("alpha", positive=True)
    >>> quantile_integral(sp.diff((1 - U) ** (-1 / alpha), alpha) ** 2)
    (2/(alpha*(alpha - 2)**3), 'beta table', alpha > 2)
    """
    raw = sp.sympify(integrand)
    integrand = sp.expand(sp.expand_log(raw, force=True))
    for strategy, form in ((_beta_table, integrand), (_gamma_table, raw)):
        found = strategy(form)
        if found is not None:
            value, condition = found
            if condition is not sp.false:
                return tidy(value), strategy.__doc__.split(":")[0], _reduce(condition)
    if not integrate:
        return None
    found = _normal_scores(raw, budget)
    if found is not None:
        return tidy(found), "normal scores", sp.true
    value = _closed_integral(integrand, (U, 0, 1), budget, "the quantile integral")
    if value is None:
        return None
    return tidy(value), "integration", sp.true


def _closed_integral(integrand, limits, budget, what):
    """SymPy's ∫ integrand over ``limits`` within ``budget`` seconds, or None
    when it fails, runs out of time or is not a finite closed form."""
    try:
        with time_budget(budget, what):
            value = sp.integrate(integrand, limits, conds="none")
    except (BudgetExceeded, NotImplementedError, ValueError) as exc:
        log.debug("%s: %s", what, exc)
        return None
    if value.has(*_NOT_CLOSED) or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    return value


def _normal_scores(integrand, budget):
    """∫_0^1 f(√2 erfinv(2u − 1)) du = E f(Z), Z standard normal, by integration.

    The substitution u = Φ(z) turns the quantile of a log-normal or normal
    member into exp(μ + σz), whose Gaussian moments SymPy integrates.
    """
    z = sp.Dummy("z", real=True)
    score = sp.erfinv(2 * U - 1)
    if not integrand.has(score):
        return None
    moved = integrand.subs(score, z / sp.sqrt(2))
    if moved.has(U):
        return None
    weight = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    return _closed_integral(
        sp.expand(moved * weight),
        (z, -sp.oo, sp.oo),
        budget,
        "the normal-score integral",
    )


def _beta_table(integrand):
    """beta table: Σ c u^α log^m u (1−u)^β log^n(1−u) integrated term by term."""
    a, b = sp.Dummy("a"), sp.Dummy("b")
    total, conditions = sp.Integer(0), []
    for term in sp.Add.make_args(integrand):
        coefficient, function = term.as_independent(U, as_Add=False)
        powers = _power_log_powers(function)
        if powers is None:
            return None
        alpha, m, beta, n = powers
        transform = sp.gamma(a + 1) * sp.gamma(b + 1) / sp.gamma(a + b + 2)
        if m == 0:
            transform = sp.gammasimp(transform.subs(a, alpha))
        if n == 0:
            transform = sp.gammasimp(transform.subs(b, beta))
        value = sp.diff(transform, a, m, b, n).subs({a: alpha, b: beta})
        total += coefficient * value
        conditions += [sp.Gt(alpha, -1), sp.Gt(beta, -1)]
    return total, sp.And(*conditions)


def _power_log_powers(function):
    """(α, m, β, n) with function = u^α log^m u (1−u)^β log^n(1−u), or None."""
    alpha, m, beta, n = sp.Integer(0), 0, sp.Integer(0), 0
    for factor in sp.Mul.make_args(function):
        base, exponent = factor.as_base_exp()
        whole = exponent.is_Integer and exponent > 0
        if base == U:
            alpha += exponent
        elif base == 1 - U:
            beta += exponent
        elif whole and base == sp.log(U):
            m += int(exponent)
        elif whole and base == sp.log(1 - U):
            n += int(exponent)
        elif factor.has(U):
            return None
    return alpha, m, beta, n


def _gamma_table(integrand):
    """gamma table: after u = 1 − e^{−t} or e^{−t}, Σ c t^β log^m t e^{−ct} terms.

    The substitution is made before logarithms are expanded: expanding
    log(−log(1−u)) first would split off a spurious log(−1) = iπ.
    """
    t = sp.Dummy("t", positive=True)
    for substitution in (1 - sp.exp(-t), sp.exp(-t)):
        moved = integrand.subs(U, substitution) * sp.exp(-t)
        moved = sp.expand(sp.powsimp(sp.expand(sp.expand_log(moved, force=True))))
        found = _gamma_terms(moved, t)
        if found is not None:
            return found
    return None


def _gamma_terms(expr, t):
    beta_ = sp.Dummy("beta")
    total, conditions = sp.Integer(0), []
    for term in sp.Add.make_args(expr):
        coefficient, function = term.as_independent(t, as_Add=False)
        power, logs, rate = sp.Integer(0), 0, sp.Integer(0)
        for factor in sp.Mul.make_args(function):
            base, exponent = factor.as_base_exp()
            if base == t:
                power += exponent
            elif base == sp.log(t) and exponent.is_Integer and exponent > 0:
                logs += int(exponent)
            elif base == sp.E and sp.diff(exponent, t, 2) == 0:
                if exponent.subs(t, 0) != 0:
                    return None
                rate -= sp.diff(exponent, t)
            else:
                return None
        transform = sp.gamma(beta_ + 1) / rate ** (beta_ + 1)
        if logs == 0:
            transform = transform.subs(beta_, power)
        value = sp.diff(transform, beta_, logs).subs(beta_, power)
        total += coefficient * value
        conditions += [sp.Gt(power, -1), sp.Gt(rate, 0)]
    return total, sp.And(*conditions)


# -- entries without a closed form ------------------------------------------------


class CdfIntegral(sp.Integral):
    """∫ ∂_iF ∂_jF / p dx with ∂_iF(x) = ∫_lo^x ∂_i p(t) dt, both unevaluated.

    It is an ordinary SymPy Integral whose numerical value (``evalf``) comes
    from nested adaptive quadrature in double precision (scipy), with
    ∂_iF(x) = −∫_x^hi ∂_i p dt above the mean so that no tail is lost to
    cancellation; relative accuracy about 1e-9 (:data:`NESTED_TOLERANCE` is
    what the checks allow).

    >>> from symgeo import load_family
    >>> entry = cdf_integral(load_family("exponential"), 0, 0)
    >>> round(float(entry.subs({sp.Symbol("lam", positive=True): 2}).evalf()), 9)
    0.125
    """

    def _eval_evalf(self, prec):
        if len(self.limits) != 1 or self.free_symbols:
            return None
        parts = _nested_parts(self)
        if parts is None:
            return None
        return sp.Float(nested_quadrature(*parts), 15)


def cdf_integral(family, i, j):
    """g_ij as the nested :class:`CdfIntegral` of ``family`` (no cdf needed)."""
    x = family.variable
    lo, hi = family.support
    names = {str(s) for s in family.symbols} | {str(x)}
    t = sp.Symbol("t" if "t" not in names else "t_", real=True)
    theta = family.symbols
    inner = [
        sp.Integral(sp.diff(family.density, theta[k]).subs(x, t), (t, lo, x))
        for k in (i, j)
    ]
    return CdfIntegral(inner[0] * inner[1] / family.density, (x, lo, hi))


def unevaluated_entry(family, i, j):
    """∫_0^1 ∂_iQ ∂_jQ du if Q is closed, else the nested cdf integral."""
    closed = quantile(family)
    if closed is None:
        return cdf_integral(family, i, j)
    theta = family.symbols
    integrand = sp.diff(closed, theta[i]) * sp.diff(closed, theta[j])
    return sp.Integral(integrand, (U, 0, 1))


def _nested_parts(integral):
    ((x, lo, hi),) = integral.limits
    inner, weight = [], sp.Integer(1)
    for factor in sp.Mul.make_args(integral.function):
        base, exponent = factor.as_base_exp()
        if isinstance(base, sp.Integral) and exponent.is_Integer and exponent > 0:
            inner += [base] * int(exponent)
        else:
            weight *= factor
    if len(inner) != 2:
        return None
    rates = [(f.function, f.limits[0][0]) for f in inner]
    return rates, 1 / weight, x, lo, hi


def _finite(f):
    """``f`` with 0 where it has an integrable singularity (t**−½ at t = 0.0);
    quadrature nodes reach the endpoint only through underflow."""

    def value(t):
        try:
            return f(t)
        except (ZeroDivisionError, OverflowError):
            return 0.0

    return value


def nested_quadrature(rates, density, x, lo, hi):
    """∫ ∂_iF ∂_jF / p dx by nested scipy quadrature, ∂F from the rates ∂_i p.

    ``rates`` are two pairs (∂_i p(t), t); below the mean ∂_iF(x) = ∫_lo^x ∂_i p,
    above it −∫_x^hi ∂_i p. Double precision, relative accuracy about 1e-9.
    """
    p = sp.lambdify(x, density, "scipy")
    first, second = (_finite(sp.lambdify(t, rate, "scipy")) for rate, t in rates)
    lo, hi = float(lo), float(hi)

    def quad(f, a, b):
        return scipy.integrate.quad(f, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.integrate.IntegrationWarning)
        center = quad(lambda y: y * p(y), lo, hi)

        def partial(rate, y):
            if y <= center:
                return quad(rate, lo, y)
            return -quad(rate, y, hi)

        def integrand(y):
            density_y = p(y)
            if not density_y > 0 or not math.isfinite(density_y):
                return 0.0
            return partial(first, y) * partial(second, y) / density_y

        return quad(integrand, lo, center) + quad(integrand, center, hi)


# -- verification of a continuous family ------------------------------------------


def verify_wasserstein(metric, *, points=3, tolerance=TOLERANCE):
    """Check ``metric`` at interior points against independent quadrature.

    Entries from the location-scale, moment-derivative and quantile routes are
    compared with ∫ ∂_iF ∂_jF / p dx, entries from the cdf route with
    ∫_0^1 ∂_iQ ∂_jQ du, both by mpmath at 30 digits; without a closed cdf or
    quantile the nested double-precision quadrature of :class:`CdfIntegral` is
    the reference and the tolerance is :data:`NESTED_TOLERANCE`.
    """
    family = metric.family
    if family.kind == "gaussian":
        return verify_bures_wasserstein(metric, points=points, tolerance=tolerance)
    references = _References(family)

    methods = {
        entry: references.choose(prefer_quantile=strategy.startswith("cdf"))
        for entry, strategy in metric.provenance.items()
        if strategy != "unevaluated"
    }
    if "nested" in methods.values():
        tolerance = max(tolerance, NESTED_TOLERANCE)

    fallback = references.choose(prefer_quantile=False)

    def reference(point, i, j):
        return references.value(methods.get((i, j), fallback), point, i, j)

    record = verify_matrix(
        metric.matrix,
        reference,
        _finite_points(metric, points),
        method="; ".join(_METHODS[m] for m in sorted(set(methods.values()))),
        what=f"the W2 metric of '{family.name}'",
        tolerance=tolerance,
    )
    log.info(
        "W2 metric of %s verified at %d points, worst relative error %.1e",
        family.name,
        len(record.points),
        record.worst_relative_error,
    )
    return record


_METHODS = {
    "cdf": "mpmath quadrature of ∫ ∂_iF ∂_jF / p dx at 30 digits",
    "quantile": "mpmath quadrature of ∫_0^1 ∂_iQ ∂_jQ du at 30 digits",
    "nested": "nested scipy quadrature of ∫ ∂_iF ∂_jF / p dx with ∂_iF = ∫ ∂_i p",
}


def _finite_points(metric, count):
    """Interior points where no entry is infinite (the Piecewise region)."""
    family = metric.family
    regions = [e.args[0][1] for e in metric.matrix if isinstance(e, sp.Piecewise)]
    chosen = []
    for point in family.sample_points(20 * count, seed=2024):
        if all(region.subs(point) is sp.true for region in regions):
            chosen.append(point)
        if len(chosen) == count:
            break
    if not chosen:
        raise VerificationError(
            f"no interior point of '{family.name}' lies where its W2 metric is "
            "finite, so the closed form could not be checked"
        )
    return chosen


class _References:
    """Independent values of g_ij(θ) by quadrature, for one family."""

    def __init__(self, family):
        self.family = family
        theta = family.symbols
        arguments = [family.variable, *theta]
        self.closed_cdf = cdf(family)
        self.closed_quantile = quantile(family)
        self.density = sp.lambdify(arguments, family.density, "mpmath")
        if self.closed_cdf is not None:
            upper = survival(family)
            self.lower = [_derivative(self.closed_cdf, t, arguments) for t in theta]
            self.upper = [_derivative(upper, t, arguments) for t in theta]
        if self.closed_quantile is not None:
            self.dq = [
                sp.lambdify([U, *theta], sp.diff(self.closed_quantile, t), "mpmath")
                for t in theta
            ]

    def choose(self, prefer_quantile):
        """'quantile', 'cdf' or 'nested': the integral to compare with."""
        if self.closed_quantile is not None and (
            prefer_quantile or self.closed_cdf is None
        ):
            return "quantile"
        return "cdf" if self.closed_cdf is not None else "nested"

    def value(self, method, point, i, j):
        return {"cdf": self.cdf, "quantile": self.quantile, "nested": self.nested}[
            method
        ](point, i, j)

    def cdf(self, point, i, j):
        """∫ ∂_iF ∂_jF / p dx, with ∂S = −∂F above the median."""
        family = self.family
        theta = [mpmath.mpf(point[t]) for t in family.symbols]
        lo, hi = (mpmath.mpf(float(b.subs(point))) for b in family.support)
        center = numeric_quantile(family, point)(mpmath.mpf(1) / 2)
        kinks = [mpmath.mpf(k) for k in family.kinks(point)]

        def integrand(parts):
            def value(x):
                density = self.density(x, *theta)
                return parts[i](x, *theta) * parts[j](x, *theta) / density

            return value

        below = [lo, *(k for k in kinks if k < center), center]
        above = [center, *(k for k in kinks if k > center), hi]
        return tail_quad(integrand(self.lower), below) + tail_quad(
            integrand(self.upper), above
        )

    def quantile(self, point, i, j):
        """∫_0^1 ∂_iQ ∂_jQ du; near u = 1 at the precision that keeps 1 − u."""
        theta = [mpmath.mpf(point[t]) for t in self.family.symbols]

        def lower(u):
            return self.dq[i](u, *theta) * self.dq[j](u, *theta)

        def upper(v):
            extra = max(0, -mpmath.mag(v))
            with mpmath.workprec(mpmath.mp.prec + extra):
                u = 1 - v
                value = self.dq[i](u, *theta) * self.dq[j](u, *theta)
            return +value

        half = mpmath.mpf(1) / 2
        return mpmath.re(mpmath.quad(lower, [0, half]) + mpmath.quad(upper, [0, half]))

    def nested(self, point, i, j):
        """The nested double-precision quadrature of :class:`CdfIntegral`."""
        entry = cdf_integral(self.family, i, j).subs(point)
        return mpmath.mpf(nested_quadrature(*_nested_parts(entry)))


def tail_quad(f, nodes):
    """∫ f over the segments of ``nodes``, an infinite end in log scale.

    Beyond its last finite node a, ∫_a^∞ f dx is ∫_0^S f(a − 1 + e^s) e^s ds:
    a power tail x^{−1−ε} (a Pareto scale entry near the edge of its region)
    becomes e^{−εs}, which tanh-sinh quadrature integrates to full precision.
    S is where f e^s has fallen below 10⁻⁴⁰ of its size at a, found by
    doubling the distance from a, so that f is never evaluated far out in a
    light tail (exp(−e^x) tails cost mpmath time in the size of the exponent);
    S = ∞ for a power tail. (−∞, b] likewise with x = b + 1 − e^s.

    >>> mpmath.nstr(tail_quad(lambda x: x ** -1.25, [1, mpmath.inf]), 15)
    '4.0'
    """
    inner = list(nodes)
    total = mpmath.mpf(0)
    if inner[-1] == mpmath.inf:
        total += _tail(f, inner[-2], 1)
        inner.pop()
    if inner[0] == -mpmath.inf:
        total += _tail(f, inner[1], -1)
        inner.pop(0)
    if len(inner) > 1:
        total += mpmath.quad(f, inner)
    return total


def _tail(f, end, direction, negligible=1e-40, doublings=100):
    """∫ f from ``end`` to ±∞ (``direction``), in s = log(1 + |x − end|)."""
    negligible = mpmath.mpf(negligible)
    size = abs(f(end + direction / 2)) + abs(f(end + direction))
    last = mpmath.inf
    for k in range(doublings):
        width = mpmath.mpf(2) ** k
        if abs(f(end + direction * width)) * width <= negligible * size:
            last = mpmath.log(1 + width)
            break
    return mpmath.quad(
        lambda s: f(end + direction * mpmath.expm1(s)) * mpmath.exp(s), [0, last]
    )


def _derivative(expr, parameter, arguments):
    """∂expr/∂θ as an mpmath function; numerical if the symbolic one is not
    elementary enough to evaluate (∂_k of lowergamma is a Meijer G)."""
    derivative = tidy(sp.diff(expr, parameter))
    if not derivative.has(*_NOT_CLOSED):
        return sp.lambdify(arguments, derivative, "mpmath")
    function = sp.lambdify(arguments, expr, "mpmath")
    index = arguments.index(parameter)

    def numerical(*values):
        def along(t):
            moved = list(values)
            moved[index] = t
            return function(*moved)

        return mpmath.diff(along, values[index])

    return numerical


# -- Gaussian families: Bures-Wasserstein -------------------------------------------


def bures_wasserstein_metric(family, *, budget=20.0, points=3, verify=True):
    """g_ij = ∂_i m·∂_j m + tr(S_i Σ S_j) with S_i Σ + Σ S_i = ∂_iΣ.

    The Lyapunov equations are solved symbolically within ``budget`` seconds.

    >>> from symgeo import load_family
    >>> g = bures_wasserstein_metric(load_family("gaussian2d"))
    >>> g.matrix[:2, :2]
    Matrix([
    [1, 0],
    [0, 1]])
    >>> g.matrix[2, 2]
    (s11*s22 - s12**2 + s22**2)/(4*(s11 + s22)*(s11*s22 - s12**2))
    """
    start = time.monotonic()
    mean, cov = family.extra["mean"], family.extra["covariance"]
    theta = family.symbols
    try:
        with time_budget(budget, "the Lyapunov equations S Σ + Σ S = ∂Σ"):
            solutions = [lyapunov_solution(cov, cov.diff(t)) for t in theta]
    except BudgetExceeded:
        raise DerivationError(
            f"the symbolic Lyapunov equations of '{family.name}' did not finish "
            f"within {budget:g} s; raise the budget, or use a diagonal or "
            "isotropic covariance"
        ) from None
    n = len(theta)
    g = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            entry = (mean.diff(theta[i]).T * mean.diff(theta[j]))[0, 0]
            entry += (solutions[i] * cov * solutions[j]).trace()
            g[i, j] = g[j, i] = tidy(entry)
    provenance = {(i, j): "Bures-Wasserstein" for i in range(n) for j in range(i, n)}
    log.info(
        "Bures-Wasserstein metric of %s derived in %.1f s",
        family.name,
        time.monotonic() - start,
    )
    metric = Metric(family, "wasserstein", g, provenance)
    if verify:
        metric.verification = verify_bures_wasserstein(metric, points=points)
    return metric


def lyapunov_solution(cov, rhs):
    """The symmetric S with S Σ + Σ S = rhs (Σ symmetric positive definite).

    >>> s = sp.Symbol("s", positive=True)
    >>> lyapunov_solution(sp.diag(s, 2 * s), sp.diag(1, 0))
    Matrix([
    [1/(2*s), 0],
    [      0, 0]])
    """
    d = cov.shape[0]
    if rhs.is_zero_matrix:
        return sp.zeros(d, d)
    unknowns = {(i, j): sp.Dummy(f"S{i}{j}") for i in range(d) for j in range(i, d)}
    solution = sp.Matrix(d, d, lambda i, j: unknowns[(min(i, j), max(i, j))])
    residual = solution * cov + cov * solution - rhs
    equations = [residual[i, j] for i, j in unknowns]
    (values,) = sp.linsolve(equations, list(unknowns.values()))
    values = dict(zip(unknowns.values(), values, strict=True))
    return solution.subs(values).applyfunc(tidy)


def verify_bures_wasserstein(metric, *, points=3, tolerance=TOLERANCE):
    """Check against scipy's Lyapunov solver and W₂ between nearby Gaussians.

    The second check uses W₂²(N_θ, N_{θ±εd}) = ε² g(d, d) + O(ε³): the average
    of the two sides over 2ε² differs from g(d, d) by O(ε²), with ε = 1e-8 and
    mpmath at 50 digits, and must agree to :data:`NEARBY_TOLERANCE`.
    """
    family = metric.family
    mean, cov = family.extra["mean"], family.extra["covariance"]
    theta = family.symbols

    def reference(point, i, j):
        sigma = np.array(cov.subs(point), dtype=float)
        parts = []
        for t in (theta[i], theta[j]):
            rate = np.array(cov.diff(t).subs(point), dtype=float)
            parts.append(scipy.linalg.solve_continuous_lyapunov(sigma, rate))
        dm_i = np.array(mean.diff(theta[i]).subs(point), dtype=float)
        dm_j = np.array(mean.diff(theta[j]).subs(point), dtype=float)
        value = float((dm_i.T @ dm_j).item() + np.trace(parts[0] @ sigma @ parts[1]))
        return mpmath.mpf(value)

    chosen = family.sample_points(points, seed=2024)
    record = verify_matrix(
        metric.matrix,
        reference,
        chosen,
        method="scipy.linalg.solve_continuous_lyapunov (double precision)",
        what=f"the Bures-Wasserstein metric of '{family.name}'",
        tolerance=tolerance,
    )
    worst = _check_nearby_gaussians(metric, chosen)
    record.method += (
        "; W2 between nearby Gaussians, second-order difference quotient "
        f"(worst relative error {worst:.1e})"
    )
    return record


def _check_nearby_gaussians(metric, points):
    family = metric.family
    theta = family.symbols
    rng = np.random.default_rng(7)
    worst = 0.0
    with mpmath.workdps(50):
        for point in points:
            g = mpmath.matrix(metric.evaluate({str(t): v for t, v in point.items()}))
            for _ in range(2):
                direction = rng.normal(size=len(theta))
                direction /= np.linalg.norm(direction)
                d = mpmath.matrix([mpmath.mpf(v) for v in direction])
                expected = (d.T * g * d)[0]
                eps = _NEARBY_STEP
                total = sum(
                    gaussian_w2_squared(
                        family,
                        point,
                        {
                            t: mpmath.mpf(point[t]) + sign * eps * d[k]
                            for k, t in enumerate(theta)
                        },
                    )
                    for sign in (1, -1)
                )
                estimate = total / (2 * eps**2)
                error = float(abs(estimate - expected) / abs(expected))
                if not error <= NEARBY_TOLERANCE:
                    where = ", ".join(f"{s}={v:.6g}" for s, v in point.items())
                    raise VerificationError(
                        f"the Bures-Wasserstein metric of '{family.name}' gives "
                        f"g(d, d) = {mpmath.nstr(expected, 12)} at {where} but W2 "
                        f"between nearby Gaussians gives {mpmath.nstr(estimate, 12)} "
                        f"(relative error {error:.1e}); the closed form is wrong"
                    )
                worst = max(worst, error)
    return worst


def gaussian_w2_squared(family, first, second):
    """W₂² = |Δm|² + tr(Σ0 + Σ1 − 2 (Σ0^½ Σ1 Σ0^½)^½) between two members.

    >>> from symgeo import load_family
    >>> fam = load_family("gaussian2d")
    >>> a = {"mu1": 0, "mu2": 0, "s11": 1, "s12": 0, "s22": 1}
    >>> b = {"mu1": 3, "mu2": 4, "s11": 4, "s12": 0, "s22": 4}
    >>> gaussian_w2_squared(fam, fam.point(a), fam.point(b))
    mpf('27.0')
    """
    mean, cov = family.extra["mean"], family.extra["covariance"]

    def numeric(matrix, point):
        rows = matrix.subs({t: sp.Float(v, 60) for t, v in point.items()})
        return mpmath.matrix(rows.evalf(60).tolist())

    m0, m1 = numeric(mean, first), numeric(mean, second)
    s0, s1 = numeric(cov, first), numeric(cov, second)
    root = mpmath.sqrtm(s0)
    cross = mpmath.sqrtm(root * s1 * root)
    shift = m1 - m0
    d = s0.rows
    return (shift.T * shift)[0] + sum(
        s0[k, k] + s1[k, k] - 2 * cross[k, k] for k in range(d)
    )

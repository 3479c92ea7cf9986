"""Closed-form expectations E_θ[f(X)] by a ladder of strategies.

The Fisher metric reduces to expectations of a few functions of x (moment
splitting): an integrand is expanded into Σ c_k(θ) f_k(x) and each distinct
E[f_k(X)] is computed once, cheapest method first:

1. *Power moments from a table of kernels.* After a change of variable
   x = x(y) (none; the standardisation x = μ + σz of a location-scale family;
   z = ∓log y, which turns exponentials into powers), the density of y is
   matched against standard kernels whose power moments
   M(s, t) = E[Y^s W^t] are known in closed form, and
   E[Y^α log^m Y · W^β log^n W] = ∂_s^m ∂_t^n M at (s, t) = (α, β):

   - gamma type, c y^A exp(−b y^r) on (0, ∞):
     M = c Γ((A+1+s)/r) / (r b^((A+1+s)/r));
   - beta type, c y^A (1−y)^B on (0, 1), W = 1−y: M = c B(A+1+s, B+1+t);
   - beta-prime type, c y^A (1+y)^B on (0, ∞), W = 1+y:
     M = c B(A+1+s, −A−B−1−s−t);
   - power type, c y^A on (a, ∞): M = −c a^(A+1+s) / (A+1+s).

   (Gradshteyn and Ryzhik, Table of Integrals, 3.194.3, 3.241.4, 3.381.4.)
2. *Direct integration or summation* of f·p under a time budget, on the
   standardised variable when the family is location-scale.

A strategy that cannot answer returns None, and the caller keeps the
expectation as an unevaluated integral (or sum), which still evaluates
numerically.
"""

import logging
from dataclasses import dataclass

import sympy as sp

from .budget import BudgetExceeded, time_budget
from .simplification import tidy

log = logging.getLogger(__name__)

S_MELLIN, T_MELLIN = sp.symbols("s_mellin t_mellin")
Y = sp.Symbol("y", positive=True)
Z = sp.Symbol("z", real=True)
SPOT_CHECK = 1e-8


@dataclass(frozen=True)
class Substitution:
    """x = ``x_of`` (a function of ``variable``) over ``limits``, with the
    density of the new variable and, when it matches a kernel, its power
    moments ``moments`` (M(s, t)) and companion ``companion`` (W)."""

    name: str
    variable: sp.Symbol
    x_of: sp.Expr
    limits: tuple
    density: sp.Expr
    moments: sp.Expr | None
    companion: sp.Expr | None


class Expectations:
    """Cached E_θ[f(X)] for one family, with the strategy that found each."""

    def __init__(self, family, budget=20.0):
        self.family = family
        self.budget = budget
        self.cache = {}
        self._substitutions = None

    def of(self, f):
        """E[f(X)] as ``(expression, strategy)``; expression None if not found."""
        f = sp.sympify(f)
        if f not in self.cache:
            self.cache[f] = self._compute(f)
        return self.cache[f]

    def of_sum(self, expr):
        """E[expr] by moment splitting: each distinct function of x once.

        Returns ``(expression, strategies)``, or ``(None, strategies)`` when one
        of the pieces has no closed form.
        """
        for sub in self.substitutions:
            if sub.moments is not None:
                value = _from_moments(expr, self.family.variable, sub)
                if value is not None:
                    return value, {f"kernel table ({sub.name})"}
        if len(self.substitutions) > 1:
            value = self._integrate_after(expr, self.substitutions[-1])
            if value is not None:
                return value, {"integration (standardised)"}
        total, strategies = sp.Integer(0), set()
        for function, coefficient in _split(expr, self.family.variable).items():
            value, strategy = self.of(function)
            if value is None:
                return None, strategies | {strategy}
            total += coefficient * value
            strategies.add(strategy)
        return total, strategies

    def unevaluated(self, expr):
        """The expectation as a SymPy Integral or Sum, for numeric evaluation."""
        fam = self.family
        limits = (fam.variable, *fam.support)
        integrand = expr * fam.density
        if fam.is_discrete:
            return sp.Sum(integrand, limits)
        return sp.Integral(integrand, limits)

    @property
    def substitutions(self):
        """Changes of variable worth trying for this family, cheapest first."""
        if self._substitutions is None:
            self._substitutions = _substitutions(self.family)
        return self._substitutions

    # -- strategies --------------------------------------------------------------

    def _compute(self, f):
        if not f.has(self.family.variable):
            return f, "constant"
        for strategy in (self._by_kernel_table, self._by_integration):
            try:
                value = strategy(f)
            except BudgetExceeded as exc:
                log.debug("E[%s]: %s", f, exc)
                value = None
            if value is not None and _is_clean(value):
                return tidy(value), strategy.__name__.removeprefix("_by_")
        log.info("E[%s]: no closed form found", f)
        return None, "unevaluated"

    def _by_kernel_table(self, f):
        for sub in self.substitutions:
            if sub.moments is None:
                continue
            value = _from_moments(f, self.family.variable, sub)
            if value is not None:
                log.debug("E[%s] from the %s kernel table", f, sub.name)
                return value
        return None

    def _by_integration(self, f):
        fam = self.family
        if fam.is_discrete:
            with time_budget(self.budget, f"summation of E[{f}]"):
                value = sp.summation(f * fam.density, (fam.variable, *fam.support))
            return value if self._agrees(f, value) else None
        return self._integrate_after(f, self.substitutions[0])

    def _integrate_after(self, f, sub):
        """E[f] by integrating, term by term, after the change of variable
        ``sub``; None unless every term integrates and the total passes a
        numerical spot check (SymPy's Meijer-G route can return wrong signs)."""
        total = sp.Integer(0)
        g = f.subs(self.family.variable, sub.x_of)
        try:
            for piece, coefficient in _split_rational(g, sub.variable).items():
                with time_budget(self.budget, f"integration of E[{f}]"):
                    value = sp.integrate(
                        piece * sub.density, (sub.variable, *sub.limits), conds="none"
                    )
                if not _is_clean(value):
                    return None
                total += coefficient * value
        except BudgetExceeded as exc:
            log.debug("E[%s] after %s: %s", f, sub.name, exc)
            return None
        return total if self._agrees(f, total) else None

    def _agrees(self, f, value):
        """True when ``value`` matches quadrature of E[f] at one interior point."""
        point = self.family.sample_points(1, seed=7)[0]
        exact = self.family.expectation(f, point, dps=20)
        closed = sp.N(value.subs(point), 20)
        ok = bool(abs(closed - exact) <= SPOT_CHECK * (1 + abs(exact)))
        if not ok:
            log.info(
                "E[%s]: SymPy's result %s fails the spot check; discarded", f, value
            )
        return ok


def _split(expr, variable):
    """{f(variable): c} with expr = Σ c f, c free of ``variable``."""
    pieces = {}
    expanded = sp.expand(sp.expand_log(sp.powsimp(expr), force=True))
    for term in sp.Add.make_args(expanded):
        coefficient, function = term.as_independent(variable, as_Add=False)
        pieces[function] = pieces.get(function, 0) + coefficient
    return pieces


def _is_clean(value):
    bad = (sp.Integral, sp.Sum, sp.Limit, sp.hyper, sp.meijerg)
    return not (value.has(*bad) or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo))


def _split_rational(expr, variable):
    """Like :func:`_split`, but with the denominator factored first, so that
    (1 + y)**2 stays a power of the companion instead of being expanded."""
    numerator, denominator = sp.fraction(sp.factor(sp.together(expr)))
    pieces = {}
    for term, coefficient in _split(numerator, variable).items():
        c, function = (term / denominator).as_independent(variable, as_Add=False)
        pieces[function] = pieces.get(function, 0) + c * coefficient
    return pieces


def _from_moments(f, x, sub):
    total = sp.Integer(0)
    g = sp.powsimp(sp.expand_log(f.subs(x, sub.x_of), force=True))
    for function, coefficient in _split_rational(g, sub.variable).items():
        exponents = _power_log_form(function, sub.variable, sub.companion)
        if exponents is None:
            return None
        alpha, m, beta, n = exponents
        value = sp.diff(sub.moments, S_MELLIN, m, T_MELLIN, n)
        total += coefficient * value.subs({S_MELLIN: alpha, T_MELLIN: beta})
    return total


def _power_log_form(f, y, w):
    """(α, m, β, n) with f = y^α log(y)^m w^β log(w)^n, or None."""
    alpha, m, beta, n = sp.Integer(0), 0, sp.Integer(0), 0
    for factor in sp.Mul.make_args(f):
        base, exponent = factor.as_base_exp()
        if base == y:
            alpha += exponent
        elif w is not None and base == w:
            beta += exponent
        elif exponent.is_Integer and exponent > 0 and base == sp.log(y):
            m += int(exponent)
        elif (
            exponent.is_Integer and exponent > 0 and w is not None and base == sp.log(w)
        ):
            n += int(exponent)
        elif factor.has(y):
            return None
    return alpha, m, beta, n


# -- changes of variable -------------------------------------------------------


def _substitutions(family):
    x = family.variable
    if family.is_discrete:
        return []
    lo, hi = family.support
    found = [_substitution("identity", x, x, (lo, hi), family.density, x)]
    standard = _standardisation(family)
    if standard is not None:
        x_of_z, jacobian, z_lo, z_hi = standard
        density = tidy(family.density.subs(x, x_of_z) * jacobian)
        if (z_lo, z_hi) == (-sp.oo, sp.oo):
            for name, z_of_y in (("exp(-z)", -sp.log(Y)), ("exp(z)", sp.log(Y))):
                q = tidy(density.subs(Z, z_of_y) * sp.Abs(sp.diff(z_of_y, Y)))
                x_of_y = x_of_z.subs(Z, z_of_y)
                found.append(
                    _substitution(name, Y, x_of_y, (sp.Integer(0), sp.oo), q, x)
                )
        found.append(_substitution("standardised", Z, x_of_z, (z_lo, z_hi), density, x))
    return found


def _substitution(name, variable, x_of, limits, density, x):
    moments, companion = _kernel_moments(density, variable, limits)
    return Substitution(name, variable, x_of, limits, density, moments, companion)


def _standardisation(family):
    """x = μ + σ z making σ p(μ + σ z) free of μ and σ: (x(z), dx/dz, z limits).

    Location-scale, pure location and pure scale families qualify, with or
    without further shape parameters; None when no such pair exists.
    """
    x = family.variable
    params = family.symbols
    lo, hi = family.support
    real = [p for p in params if not p.is_positive]
    positive = [p for p in params if p.is_positive]
    candidates = [(m, s) for m in real for s in positive]
    candidates += [(m, sp.Integer(1)) for m in real]
    candidates += [(sp.Integer(0), s) for s in positive]
    for location, scale in candidates:
        if (lo, hi) != (-sp.oo, sp.oo) and (location != 0 or lo != 0):
            continue
        x_of_z = location + scale * Z
        density = tidy(family.density.subs(x, x_of_z) * scale)
        if not density.free_symbols & {location, scale}:
            z_limits = (lo, hi) if lo == 0 else (-sp.oo, sp.oo)
            return x_of_z, scale, *z_limits
    return None


def _kernel_moments(density, y, limits):
    """(M(s, t), W) for a density matching a kernel of the table, else (None, None)."""
    lo, hi = limits
    parts = _log_terms(density, y)
    if parts is None:
        return None, None
    constant, terms = sp.exp(parts[0]), dict(parts[1])
    a = terms.pop(sp.log(y), sp.Integer(0)) + S_MELLIN
    if lo == 0 and hi == 1:
        b = terms.pop(sp.log(1 - y), sp.Integer(0)) + T_MELLIN
        if not terms:
            return constant * sp.beta(a + 1, b + 1), 1 - y
        return None, None
    if lo == 0 and hi == sp.oo and sp.log(1 + y) in terms:
        b = terms.pop(sp.log(1 + y)) + T_MELLIN
        if not terms:
            return constant * sp.beta(a + 1, -a - b - 1), 1 + y
        return None, None
    if hi == sp.oo and lo.is_positive and not terms:
        return -constant * lo ** (a + 1) / (a + 1), None
    if lo == 0 and hi == sp.oo and len(terms) == 1:
        ((power, coefficient),) = terms.items()
        base, r = power.as_base_exp()
        if base == y and coefficient.could_extract_minus_sign():
            c = -coefficient
            return constant * sp.gamma((a + 1) / r) / (r * c ** ((a + 1) / r)), None
    return None, None


def _log_terms(density, y):
    """log q as ``(C, {f(y): coefficient})``, each f a log or a power of y."""
    constant, terms = sp.Integer(0), {}
    log_q = sp.expand(sp.expand_log(sp.log(density), force=True))
    for term in sp.Add.make_args(log_q):
        coefficient, function = term.as_independent(y, as_Add=False)
        if function == 1:
            constant += coefficient
            continue
        number, function = function.as_coeff_Mul()
        base, _ = function.as_base_exp()
        if not (isinstance(function, sp.log) or base == y):
            return None
        terms[function] = terms.get(function, 0) + number * coefficient
    return constant, terms

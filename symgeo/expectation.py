"""Closed-form expectations E_θ[f(X)] by a ladder of strategies.

The Fisher metric reduces to expectations of a few functions of x (moment
splitting): an integrand is expanded into Σ c_k(θ) f_k(x) and each distinct
E[f_k(X)] is computed once, cheapest method first:

1. *Mellin table.* When log p = C(θ) + A(θ) log x + B(θ) log(1−x) + ... has the
   shape of a standard kernel, the power moments M(s, t) = E[X^s (1−X)^t] are
   known in closed form, and E[X^α log^m X (1−X)^β log^n(1−X)] = ∂_s^m ∂_t^n M
   at (α, β). Kernels: gamma-type x^A exp(−c x^r) on (0, ∞)
   (M = e^C Γ((A+1+s)/r) / (r c^((A+1+s)/r))), beta-type x^A (1−x)^B on (0, 1)
   (M = e^C B(A+1+s, B+1+t)), power-type x^A on (a, ∞)
   (M = −e^C a^(A+1+s)/(A+1+s)).
2. *Direct integration or summation* of f·p under a time budget.

A strategy that cannot answer returns None, and the caller keeps the
expectation as an unevaluated integral (or sum), which still evaluates
numerically.
"""

import logging

import sympy as sp

from .budget import BudgetExceeded, time_budget
from .simplification import tidy

log = logging.getLogger(__name__)

S_MELLIN, T_MELLIN = sp.symbols("s_mellin t_mellin")


class Expectations:
    """Cached E_θ[f(X)] for one family, with the strategy that found each."""

    def __init__(self, family, budget=20.0):
        self.family = family
        self.budget = budget
        self.cache = {}
        self._mellin = None

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
        x = self.family.variable
        pieces = {}
        for term in sp.Add.make_args(sp.expand(expr)):
            coefficient, function = term.as_independent(x, as_Add=False)
            pieces[function] = pieces.get(function, 0) + coefficient
        total, strategies = sp.Integer(0), set()
        for function, coefficient in pieces.items():
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

    # -- strategies --------------------------------------------------------------

    def _compute(self, f):
        if not f.has(self.family.variable):
            return f, "constant"
        for strategy in (self._by_mellin_table, self._by_integration):
            try:
                value = strategy(f)
            except BudgetExceeded as exc:
                log.debug("E[%s]: %s", f, exc)
                value = None
            if value is not None and _is_clean(value):
                return tidy(value), strategy.__name__.removeprefix("_by_")
        log.info("E[%s]: no closed form found", f)
        return None, "unevaluated"

    def _by_mellin_table(self, f):
        mellin = self.mellin_transform()
        if mellin is None:
            return None
        exponents = _power_log_form(f, self.family.variable)
        if exponents is None:
            return None
        alpha, m, beta, n = exponents
        value = sp.diff(mellin, S_MELLIN, m, T_MELLIN, n)
        return value.subs({S_MELLIN: alpha, T_MELLIN: beta})

    def _by_integration(self, f):
        fam = self.family
        limits = (fam.variable, *fam.support)
        with time_budget(self.budget, f"integration of E[{f}]"):
            if fam.is_discrete:
                value = sp.summation(f * fam.density, limits)
            else:
                value = sp.integrate(f * fam.density, limits, conds="none")
        return value

    def mellin_transform(self):
        """M(s, t) = E[X^s (1−X)^t] from the table of kernels, or None."""
        if self._mellin is None:
            self._mellin = _mellin_from_table(self.family) or False
        return self._mellin or None


def _is_clean(value):
    bad = (sp.Integral, sp.Sum, sp.Limit)
    return not (
        value.has(*bad)
        or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo)
        or value.has(sp.hyper, sp.meijerg)
    )


def _power_log_form(f, x):
    """(α, m, β, n) with f = x^α log(x)^m (1−x)^β log(1−x)^n, or None."""
    alpha, m, beta, n = sp.Integer(0), 0, sp.Integer(0), 0
    for factor in sp.Mul.make_args(f):
        base, exponent = factor.as_base_exp()
        if base == x:
            alpha += exponent
        elif base == 1 - x:
            beta += exponent
        elif base == sp.log(x) and exponent.is_Integer and exponent > 0:
            m += int(exponent)
        elif base == sp.log(1 - x) and exponent.is_Integer and exponent > 0:
            n += int(exponent)
        elif factor.has(x):
            return None
    return alpha, m, beta, n


def _log_density_terms(family):
    """log p as ``(C, {f(x): coefficient})``; None if a term is not c(θ)·f(x)
    with f free of θ or a power x^r."""
    x = family.variable
    params = set(family.symbols)
    constant, terms = sp.Integer(0), {}
    for term in sp.Add.make_args(sp.expand(family.log_density, trig=True)):
        coefficient, function = term.as_independent(x, as_Add=False)
        if function == 1:
            constant += coefficient
            continue
        number, function = function.as_coeff_Mul()
        base, _ = function.as_base_exp()
        if function.free_symbols & params and base != x:
            return None
        terms[function] = terms.get(function, 0) + number * coefficient
    return constant, terms


def _mellin_from_table(family):
    if family.is_discrete:
        return None
    x = family.variable
    lo, hi = family.support
    parts = _log_density_terms(family)
    if parts is None:
        return None
    constant, terms = sp.exp(parts[0]), dict(parts[1])

    a = terms.pop(sp.log(x), sp.Integer(0)) + S_MELLIN
    b = terms.pop(sp.log(1 - x), sp.Integer(0)) + T_MELLIN
    if lo == 0 and hi == 1 and not terms:
        return constant * sp.beta(a + 1, b + 1)
    if b != T_MELLIN:
        return None
    if hi == sp.oo and lo.is_positive and not terms:
        return -constant * lo ** (a + 1) / (a + 1)
    if lo == 0 and hi == sp.oo and len(terms) == 1:
        ((power, coefficient),) = terms.items()
        base, r = power.as_base_exp()
        if base == x and coefficient.could_extract_minus_sign():
            c = -coefficient
            return constant * sp.gamma((a + 1) / r) / (r * c ** ((a + 1) / r))
    return None

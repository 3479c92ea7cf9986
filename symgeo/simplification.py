"""Bounded simplification of symbolic results.

``tidy`` tries cheap normal forms (``together``, ``cancel``, ``factor``,
``gammasimp``) under a time budget and keeps the shortest candidate by operation
count; it never calls ``simplify``; a Piecewise whose first condition holds
under the symbols' assumptions becomes that branch (``generic_branch``).
``thorough`` is the opt-in full ``simplify``, also under a budget, for a user
who asks for it.
"""

import sympy as sp

from .budget import BudgetExceeded, time_budget


def _shortest(candidates):
    """The candidate with the fewest operations, then the fewest function
    calls (1/α² before B(1, α)/α), minus signs and characters."""
    return min(
        candidates,
        key=lambda e: (
            sp.count_ops(e),
            len(e.atoms(sp.Function)),
            str(e).count("-"),
            len(str(e)),
        ),
    )


def _flip_signs(expr):
    """Absorb a leading minus sign into a factor with a negative constant term:
    -1/(p (p - 1)) becomes 1/(p (1 - p))."""
    coefficient, rest = expr.as_coeff_Mul()
    if not coefficient.is_negative:
        return expr
    factors = list(sp.Mul.make_args(rest))
    for index, factor in enumerate(factors):
        base, exponent = factor.as_base_exp()
        constant = base.as_coeff_Add()[0] if isinstance(base, sp.Add) else sp.S.Zero
        if constant.is_negative and exponent.is_Integer and exponent % 2:
            factors[index] = sp.Pow(sp.expand(-base), exponent)
            return -coefficient * sp.Mul(*factors)
    return expr


def _lower_bessel_orders(expr):
    """Bessel functions of integer order >= 2 in terms of orders 0 and 1,
    by the recurrence I_{n+1}(z) = I_{n-1}(z) - (2n/z) I_n(z) (same for J)."""

    def high_order(e):
        return (
            isinstance(e, (sp.besseli, sp.besselj))
            and e.args[0].is_Integer
            and e.args[0] >= 2
        )

    return expr.replace(high_order, sp.expand_func)


def _powers_from_exponentials(expr):
    """exp(k log(lam)) -> lam**k where the base of the logarithm is positive."""

    def is_exp_of_log(e):
        return isinstance(e, sp.exp) and any(
            isinstance(a, sp.log) and a.args[0].is_positive
            for a in sp.preorder_traversal(e.args[0])
        )

    return expr.replace(is_exp_of_log, lambda e: sp.powdenest(e, force=True))


def generic_branch(expr):
    """``expr`` with each Piecewise whose first condition holds under the
    symbols' assumptions (True, or an Ne(u, v) with u − v non-zero) replaced
    by its first branch.

    >>> lam = sp.Symbol("lam", positive=True)
    >>> generic_branch(sp.Piecewise((1 / lam, sp.Ne(lam, 0)), (0, True)))
    1/lam
    """

    def holds(condition):
        if condition is sp.true:
            return True
        if isinstance(condition, sp.Ne):
            return _never_zero(condition.lhs - condition.rhs)
        return False

    return expr.replace(
        lambda node: isinstance(node, sp.Piecewise) and holds(node.args[0].cond),
        lambda node: node.args[0].expr,
    )


def _never_zero(expr, seconds=2.0):
    """Whether ``expr`` is provably non-zero for every value its symbols'
    assumptions allow (its one symbol's real zeros found by ``solveset``).

    >>> lam = sp.Symbol("lam", positive=True)
    >>> _never_zero(sp.exp(lam) - 1), _never_zero(lam - 1)
    (True, False)
    """
    if expr.is_zero is not None:
        return expr.is_zero is False
    if len(expr.free_symbols) != 1:
        return False
    (symbol,) = expr.free_symbols
    if symbol.is_positive:
        domain = sp.Interval.open(0, sp.oo)
    elif symbol.is_nonnegative:
        domain = sp.Interval(0, sp.oo)
    elif symbol.is_real:
        domain = sp.S.Reals
    else:
        return False
    try:
        with time_budget(seconds, f"the zeros of {expr}"):
            return sp.solveset(expr, symbol, domain) is sp.S.EmptySet
    except (BudgetExceeded, NotImplementedError, ValueError, TypeError):
        return False


def tidy(expr, seconds=5.0):
    """Return the shortest of a few cheap normal forms of ``expr``.

    >>> k, b = sp.symbols("k b", positive=True)
    >>> tidy(k / b**2 - (k - 1) / b**2)
    b**(-2)
    """
    expr = _lower_bessel_orders(_powers_from_exponentials(sp.sympify(expr)))
    expr = generic_branch(expr)
    if expr.is_Number or expr.is_Symbol:
        return expr
    candidates = [expr]
    steps = (
        lambda e: sp.cancel(sp.together(e)),
        sp.factor,
        _flip_signs,
        sp.gammasimp,
        _beta_as_gammas,
        lambda e: sp.factor_terms(sp.expand(e)),
    )
    current = expr
    for step in steps:
        try:
            with time_budget(seconds, "simplification"):
                current = step(current)
        except (BudgetExceeded, sp.PolynomialError, TypeError):
            continue
        candidates.append(current)
    return _shortest(candidates)


def _beta_as_gammas(expr):
    """B(a, b) = Γ(a)Γ(b)/Γ(a + b), then gammasimp: B(1, α)/α becomes α⁻².

    >>> alpha = sp.Symbol("alpha", positive=True)
    >>> _beta_as_gammas(sp.beta(1, alpha) / alpha)
    alpha**(-2)
    """
    if not expr.has(sp.beta):
        return expr
    return sp.gammasimp(
        expr.replace(sp.beta, lambda a, b: sp.gamma(a) * sp.gamma(b) / sp.gamma(a + b))
    )


def thorough(expr, seconds=30.0):
    """Full ``simplify`` under a time budget; falls back to :func:`tidy`."""
    try:
        with time_budget(seconds, "simplify"):
            return _shortest([tidy(expr), sp.simplify(expr)])
    except BudgetExceeded:
        return tidy(expr)

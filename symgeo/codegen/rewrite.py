"""Numerically stable rewrites of kernel expressions, applied before printing.

Floating point loses digits in a few patterns that recur in Fisher metrics. Each
rewrite replaces such a pattern by a function that the kernel evaluates
accurately, and is exact as mathematics (the mpmath twin evaluates the original
formula, at enough digits for the cancellation not to matter):

- ``k ψ₁(k) − 1 ~ 1/(2k)`` (gamma and its relatives): the trigamma excess
  ``h(k) = k ψ₁(k) − 1`` and its derivative ``h'(k) = k ψ₂(k) + ψ₁(k)`` become
  functions of their own, evaluated by their asymptotic series for large k;
  ψ₁(k) = (1 + h(k)) / k and ψ₂(k) = (h'(k) − ψ₁(k)) / k wherever the pattern
  occurs, so that the difference is never formed in floating point.
- Modified Bessel functions ``I_ν(x) = e^|x| Î_ν(x)`` (Î the exponentially
  scaled function), with the exponentials cancelled symbolically: ratios such
  as I₁(κ)/I₀(κ) of the von Mises family no longer overflow for large κ.
"""

import sympy as sp

from ..budget import BudgetExceeded, time_budget


class TrigammaExcess(sp.Function):
    """h(x) = x ψ₁(x) − 1, positive and ~ 1/(2x) for large x.

    Written ``TrigammaExcess(x, ψ₁(x))`` so that a kernel computes ψ₁(x) once
    for h, h' and every other use (common subexpression elimination sees it).

    >>> x = sp.Symbol("x", positive=True)
    >>> TrigammaExcess(x, sp.polygamma(1, x)).rewrite(sp.polygamma)
    x*polygamma(1, x) - 1
    """

    def _eval_rewrite_as_polygamma(self, x, trigamma, **kwargs):
        return x * trigamma - 1


class TrigammaExcessPrime(sp.Function):
    """h'(x) = x ψ₂(x) + ψ₁(x), negative and ~ −1/(2x²) for large x.

    Written ``TrigammaExcessPrime(x, ψ₁(x), ψ₂(x))``, like :class:`TrigammaExcess`.

    >>> x = sp.Symbol("x", positive=True)
    >>> TrigammaExcessPrime(x, sp.polygamma(1, x), sp.polygamma(2, x)).rewrite(
    ...     sp.polygamma)
    x*polygamma(2, x) + polygamma(1, x)
    """

    def _eval_rewrite_as_polygamma(self, x, trigamma, tetragamma, **kwargs):
        return x * tetragamma + trigamma


class ScaledBesselI(sp.Function):
    """Î_ν(x) = e^(−|x|) I_ν(x), the exponentially scaled modified Bessel function.

    >>> x = sp.Symbol("x", positive=True)
    >>> ScaledBesselI(0, x).rewrite(sp.besseli)
    exp(-x)*besseli(0, x)
    """

    def _eval_rewrite_as_besseli(self, nu, x, **kwargs):
        return sp.exp(-sp.Abs(x)) * sp.besseli(nu, x)


STABLE_FUNCTIONS = (TrigammaExcess, TrigammaExcessPrime, ScaledBesselI)


def original_form(expr):
    """``expr`` with every stable function written back in its defining form."""
    return expr.rewrite(sp.polygamma).rewrite(sp.besseli)


def _cancelling_trigamma_arguments(expr):
    """Arguments x for which ``expr`` adds c·x·ψ₁(x) to the constant −c."""
    found = set()
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, sp.Add):
            continue
        constant, terms = node.as_coeff_Add()
        if constant == 0:
            continue
        for term in sp.Add.make_args(terms):
            coefficient, rest = term.as_coeff_Mul()
            for factor in sp.Mul.make_args(rest):
                if isinstance(factor, sp.polygamma) and factor.args[0] == 1:
                    x = factor.args[1]
                    if sp.simplify(rest / factor - x) == 0 and constant == -coefficient:
                        found.add(x)
    return found


def stabilise_trigamma(expr, seconds=5.0):
    """Write x ψ₁(x) − 1 as the trigamma excess h(x) wherever it cancels.

    >>> k = sp.Symbol("k", positive=True)
    >>> stabilise_trigamma(k * sp.polygamma(2, k) / (2 * k * sp.polygamma(1, k) - 2))
    (k*TrigammaExcessPrime(k, polygamma(1, k), polygamma(2, k))
     - TrigammaExcess(k, polygamma(1, k)) - 1)/(2*k*TrigammaExcess(k, polygamma(1, k)))
    """
    arguments = _cancelling_trigamma_arguments(expr)
    if not arguments:
        return expr
    replaced = expr
    for x in sorted(arguments, key=sp.default_sort_key):
        psi1, psi2 = sp.polygamma(1, x), sp.polygamma(2, x)
        trigamma = (1 + TrigammaExcess(x, psi1)) / x
        tetragamma = (TrigammaExcessPrime(x, psi1, psi2) - trigamma) / x
        replaced = replaced.xreplace(
            {sp.polygamma(1, x): trigamma, sp.polygamma(2, x): tetragamma}
        )
    try:
        with time_budget(seconds, "stable rewrite"):
            return sp.factor(sp.cancel(sp.together(replaced)))
    except (BudgetExceeded, sp.PolynomialError):
        return replaced


def scale_bessel(expr, seconds=5.0):
    """Write I_ν(x) = e^|x| Î_ν(x) and cancel the exponentials.

    >>> kappa = sp.Symbol("kappa", positive=True)
    >>> scale_bessel(kappa * sp.besseli(1, kappa) / sp.besseli(0, kappa))
    kappa*ScaledBesselI(1, kappa)/ScaledBesselI(0, kappa)
    """
    if not expr.has(sp.besseli):
        return expr
    replaced = expr.replace(
        lambda e: isinstance(e, sp.besseli),
        lambda e: ScaledBesselI(*e.args) * sp.exp(sp.Abs(e.args[1])),
    )
    try:
        with time_budget(seconds, "stable rewrite"):
            cancelled = sp.cancel(sp.powsimp(sp.together(replaced)))
    except (BudgetExceeded, sp.PolynomialError):
        return replaced
    return sp.factor(cancelled) if not cancelled.has(sp.exp) else cancelled


def stabilise(expr):
    """All stable rewrites of this module, in turn.

    >>> k = sp.Symbol("k", positive=True)
    >>> stabilise(k * sp.polygamma(1, k) - 1)
    TrigammaExcess(k, polygamma(1, k))
    """
    return scale_bessel(stabilise_trigamma(sp.sympify(expr)))

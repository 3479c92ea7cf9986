"""The Fisher metric of a family, derived in closed form and verified.

Convention (design.md 2): g_ij(θ) = E_θ[∂_i log p · ∂_j log p], which equals
−E_θ[∂_i ∂_j log p] when p is smooth in θ and its support does not move; no
factor 1/4 or 4. The derivation tries, cheapest and most reliable first:

1. a finite support (Bernoulli, binomial with fixed n, categorical): the exact
   sum g_ij = Σ_x ∂_i p(x) ∂_j p(x) / p(x);
2. minimal exponential-family form: the Hessian of the log-partition function
   pulled back to the user's parameters (:mod:`symgeo.expfamily`);
3. moment splitting of −∂_i ∂_j log p, or of the score products when p is not
   smooth in θ (Laplace in μ), with each distinct expectation computed once by
   the strategies of :mod:`symgeo.expectation`;
4. otherwise the entry stays an unevaluated integral or sum, marked as such, and
   evaluates by quadrature.

Every closed-form entry is then checked against mpmath quadrature of
E[score_i · score_j] at several interior points (:mod:`symgeo.verify`).
"""

import logging
import time

import sympy as sp

from .errors import DerivationError, MetricUndefined
from .expectation import Expectations
from .expfamily import exponential_family_fisher
from .geometry import check_metric
from .metric import Metric
from .simplification import tidy
from .verify import TOLERANCE, verify_matrix

log = logging.getLogger(__name__)

NON_SMOOTH = (sp.Abs, sp.sign, sp.Heaviside, sp.Piecewise, sp.Max, sp.Min)


def fisher_metric(family, *, budget=20.0, points=3, verify=True):
    """The Fisher metric of ``family`` as a verified :class:`Metric`.

    ``budget`` bounds each symbolic integration in seconds; ``points`` is the
    number of interior parameter points of the numerical check.

    >>> from symgeo import load_family
    >>> fisher_metric(load_family("gamma")).matrix
    Matrix([
    [polygamma(1, k),    -1/b],
    [           -1/b, k/b**2]])
    """
    if family.kind == "gaussian":
        from .gaussian import gaussian_fisher_metric

        return gaussian_fisher_metric(family, points=points, verify=verify)
    _check_regular(family)

    start = time.monotonic()
    matrix, provenance = _derive(family, budget)
    log.info(
        "Fisher metric of %s derived (%s) in %.1f s",
        family.name,
        ", ".join(sorted(set(provenance.values()))),
        time.monotonic() - start,
    )
    metric = Metric(family, "fisher", matrix, provenance)
    if verify:
        check_metric(matrix, family.symbols, family.sample_points(points, seed=2024))
        metric.verification = verify_fisher(metric, points=points)
    return metric


def _check_regular(family):
    if family.support_depends_on_parameters:
        moving = sorted(
            str(s) for b in family.support for s in b.free_symbols & set(family.symbols)
        )
        raise MetricUndefined(
            f"the support of family '{family.name}' depends on {', '.join(moving)}, "
            "so the Fisher metric is not defined (the regularity conditions fail and "
            "E[score score] differs from -E[Hessian]); fix those parameters or "
            "reparametrise so that the support does not move"
        )


def _derive(family, budget):
    n = family.dimension
    if family.finite_support is not None:
        log.info("Fisher metric of %s: exact sum over a finite support", family.name)
        return _finite_sum(family), {
            (i, j): "finite sum" for i in range(n) for j in range(i, n)
        }

    if not _is_non_smooth(family):
        matrix = exponential_family_fisher(family)
        if matrix is not None:
            log.info("Fisher metric of %s: exponential-family form", family.name)
            strategy = "exponential family"
            return matrix, {(i, j): strategy for i in range(n) for j in range(i, n)}

    return _moment_splitting(family, budget)


def _finite_sum(family):
    theta = family.symbols
    n = len(theta)
    values = [family.density.subs(family.variable, k) for k in family.finite_support]
    g = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            total = sum(sp.diff(p, theta[i]) * sp.diff(p, theta[j]) / p for p in values)
            g[i, j] = g[j, i] = tidy(total)
    return g


def _is_non_smooth(family):
    params = set(family.symbols)
    return any(
        node.free_symbols & params
        for node in sp.preorder_traversal(family.density)
        if isinstance(node, NON_SMOOTH)
    )


def scores(family):
    """The score functions ∂_i log p(x; θ), one per parameter."""
    return [sp.diff(family.log_density, t) for t in family.symbols]


def _moment_splitting(family, budget):
    theta = family.symbols
    n = len(theta)
    expectations = Expectations(family, budget=budget)
    non_smooth = _is_non_smooth(family)
    if non_smooth:
        log.info(
            "Fisher metric of %s: score products (density not smooth)", family.name
        )
        score = scores(family)
    g = sp.zeros(n, n)
    provenance = {}
    for i in range(n):
        for j in range(i, n):
            if non_smooth:
                integrand = score[i] * score[j]
                value = _piecewise_expectation(family, integrand, budget)
                strategies = {"piecewise integration"} if value is not None else set()
            else:
                integrand = -sp.diff(family.log_density, theta[i], theta[j])
                value, strategies = expectations.of_sum(integrand)
            if value is None:
                log.info(
                    "g[%d, %d] of %s: no closed form, kept as an integral",
                    i,
                    j,
                    family.name,
                )
                value = expectations.unevaluated(integrand)
                strategies = {"unevaluated"}
            else:
                value = tidy(value)
            g[i, j] = g[j, i] = value
            provenance[(i, j)] = " + ".join(sorted(strategies))
    return g, provenance


def _piecewise_expectation(family, integrand, budget):
    """E[integrand] for a density with |a x + b| kinks: split the support there.

    On each piece every Abs(arg) and sign(arg) has a known sign and is replaced
    by ±arg or ±1, so that SymPy integrates smooth functions only.
    """
    from .budget import BudgetExceeded, time_budget

    x = family.variable
    lo, hi = family.support
    kinks = []
    for node in sp.preorder_traversal(family.density):
        if isinstance(node, (sp.Abs, sp.sign)) and node.args[0].has(x):
            arg = node.args[0]
            if sp.degree(arg, x) != 1:
                return None
            kinks.append((arg, sp.solve(arg, x)[0], sp.Poly(arg, x).LC()))
    if len({k[1] for k in kinks}) != 1:
        return None
    arg, kink, slope = kinks[0]
    total = sp.Integer(0)
    expr = sp.expand(integrand * family.density)
    for (a, b), side in (((lo, kink), -1), ((kink, hi), 1)):
        sign = side * sp.sign(slope)
        piece = expr.subs({sp.Abs(arg): sign * arg, sp.sign(arg): sign})
        piece = piece.subs(sp.DiracDelta(arg), 0)
        try:
            with time_budget(budget, "piecewise integration"):
                part = sp.integrate(sp.expand(piece), (x, a, b), conds="none")
        except BudgetExceeded:
            return None
        if part.has(sp.Integral):
            return None
        total += part
    return total


def verify_fisher(metric, *, points=3, tolerance=TOLERANCE):
    """Check ``metric`` against mpmath quadrature of E[score_i score_j]."""
    family = metric.family
    score = scores(family)

    def reference(point, i, j):
        return family.expectation(score[i] * score[j], point)

    return verify_matrix(
        metric.matrix,
        reference,
        family.sample_points(points, seed=2024),
        method="mpmath quadrature of E[score_i score_j] at 30 digits",
        what=f"the Fisher metric of '{family.name}'",
        tolerance=tolerance,
    )


__all__ = ["fisher_metric", "verify_fisher", "scores", "DerivationError"]

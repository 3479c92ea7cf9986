"""Numerical verification of closed-form metrics.

Every closed form symgeo emits is compared, entry by entry, with an independent
high-precision computation at several interior parameter points: for the Fisher
metric the mpmath quadrature (or summation) of E[∂_i log p · ∂_j log p], an
integrand different from the −E[∂_i ∂_j log p] or log-partition route used to
derive it. The error of entry (i, j) is measured relative to the natural scale
√(|g_ii g_jj|) of the matrix at that point, so that an off-diagonal zero is held
to the same standard as the diagonal. A mismatch raises
:class:`~symgeo.errors.VerificationError`; a closed form is never emitted
unchecked.
"""

import logging
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from .budget import BudgetExceeded, time_budget
from .errors import DerivationError, VerificationError

log = logging.getLogger(__name__)

TOLERANCE = 1e-10
DIGITS = 30


@dataclass
class Verification:
    """What was checked, how, and how well."""

    method: str
    points: list = field(default_factory=list)
    worst_relative_error: float = 0.0
    unevaluated: list = field(default_factory=list)
    tolerance: float = TOLERANCE

    def as_dict(self):
        return {
            "method": self.method,
            "points": [{str(s): v for s, v in p.items()} for p in self.points],
            "worst_relative_error": self.worst_relative_error,
            "tolerance": self.tolerance,
            "unevaluated_entries": [list(e) for e in self.unevaluated],
        }


def has_closed_form(expr):
    """False when ``expr`` still contains an unevaluated integral or sum."""
    return not sp.sympify(expr).has(sp.Integral, sp.Sum)


def evaluate_entry(expr, point, digits=DIGITS):
    """The value of a metric entry at ``point`` as an mpmath number.

    The point's numbers enter as exact rationals, so that SymPy's evalf raises
    its working precision through cancellation (1/λ² − e^λ/(e^λ − 1)² at
    λ = 1e-6 keeps its 20 digits, 1/12 − λ²/240; with a 15-digit float it
    came out as 0). A removable 0/0 at the point is evaluated as the limit in
    one coordinate.

    >>> lam = sp.Symbol("lam", positive=True)
    >>> g = 1 / lam**2 - sp.exp(lam) / (sp.exp(lam) - 1) ** 2
    >>> mpmath.nstr(evaluate_entry(g, {lam: 1e-6}, digits=20), 15)
    '0.0833333333333292'
    >>> mpmath.nstr(evaluate_entry(sp.sin(lam) / lam, {lam: 0.0}), 15)
    '1.0'
    """
    expr = sp.sympify(expr)
    exact = {s: _exact(v) for s, v in point.items()}
    with mpmath.workdps(digits + 5):
        value = expr.subs(exact).evalf(digits)
        if value.has(sp.nan, sp.zoo):
            value = _limit(expr, exact).evalf(digits)
    if value in (sp.oo, -sp.oo):
        return mpmath.inf if value == sp.oo else -mpmath.inf
    return mpmath.mpmathify(complex(value) if value.has(sp.I) else value)


def _exact(value):
    """A float (or SymPy Float) as the rational it stands for exactly."""
    if isinstance(value, sp.Basic) and not isinstance(value, sp.Float):
        return value
    return sp.Rational(sp.Float(value))


def _limit(expr, point, seconds=10.0):
    """``expr`` at ``point`` where substitution gives 0/0: the limit in one
    coordinate with the others substituted; DerivationError if none is finite."""
    for symbol, value in point.items():
        rest = {s: v for s, v in point.items() if s != symbol}
        try:
            with time_budget(seconds, f"the limit of {expr} at {symbol} = {value}"):
                found = sp.limit(expr.subs(rest), symbol, value)
        except (BudgetExceeded, NotImplementedError, ValueError):
            continue
        if found.is_finite:
            return found
    where = ", ".join(f"{s}={float(v):g}" for s, v in point.items())
    raise DerivationError(
        f"the formula {expr} is 0/0 at {where} and its limit there was not found; "
        "evaluate it at a nearby point"
    )


def verify_matrix(matrix, reference, points, *, method, what, tolerance=TOLERANCE):
    """Compare ``matrix`` with ``reference(point)`` at each point.

    ``reference(point, i, j)`` returns the independent value of entry (i, j).
    Entries without a closed form are skipped and listed as unevaluated.

    >>> k = sp.Symbol("k", positive=True)
    >>> ref = lambda point, i, j: mpmath.mpf(1) / point[k] ** 2
    >>> v = verify_matrix(sp.Matrix([[1 / k**2]]), ref, [{k: 2.0}],
    ...                   method="exact", what="a test")
    >>> v.worst_relative_error
    0.0
    """
    n = matrix.shape[0]
    record = Verification(method=method, tolerance=tolerance)
    record.unevaluated = [
        (i, j)
        for i in range(n)
        for j in range(i, n)
        if not has_closed_form(matrix[i, j])
    ]
    checked = [
        (i, j)
        for i in range(n)
        for j in range(i, n)
        if (i, j) not in record.unevaluated
    ]
    for point in points if checked else []:
        with mpmath.workdps(DIGITS):
            exact = {(i, j): reference(point, i, j) for i, j in checked}
            closed = {(i, j): evaluate_entry(matrix[i, j], point) for i, j in checked}
            diagonal = [
                exact[(k, k)] if (k, k) in exact else reference(point, k, k)
                for k in range(n)
            ]
        for (i, j), value in closed.items():
            scale = mpmath.sqrt(abs(diagonal[i] * diagonal[j])) or abs(exact[(i, j)])
            error = float(abs(value - exact[(i, j)]) / scale) if scale else 0.0
            if not error <= tolerance:
                where = ", ".join(f"{s}={v:.6g}" for s, v in point.items())
                raise VerificationError(
                    f"{what}: entry ({i}, {j}) = {matrix[i, j]} evaluates to "
                    f"{mpmath.nstr(value, 15)} at {where} but {method} gives "
                    f"{mpmath.nstr(exact[(i, j)], 15)} (relative error {error:.2e}, "
                    f"tolerance {tolerance:g}); the closed form is wrong and was "
                    "not emitted"
                )
            record.worst_relative_error = max(record.worst_relative_error, error)
        record.points.append({s: float(v) for s, v in point.items()})
    log.debug(
        "%s verified, worst relative error %.2e", what, record.worst_relative_error
    )
    return record

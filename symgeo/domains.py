"""Domains of family parameters: intervals of the real line.

A spec declares each parameter's domain as text, either a word (``positive``,
``nonnegative``, ``negative``, ``real``) or an interval such as ``(0, 1)``,
``[0, 1]``, ``(0, 1]``, ``[1, oo)`` or ``(0, pi)``. Bounds are parsed by
:func:`symgeo.parsing.parse_expression` with no symbols, so they may use numbers,
the constants ``pi``, ``E`` and ``oo`` and the whitelisted functions. An infinite
end is always open.

A :class:`Domain` supplies the SymPy assumptions of the parameter's symbol,
checks user-supplied values, and draws typical interior points for numerical
checks.
"""

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .errors import DomainError, SpecError
from .parsing import parse_expression

_WORDS = {
    "positive": ("(", "0", "oo", ")"),
    "nonnegative": ("[", "0", "oo", ")"),
    "negative": ("(", "-oo", "0", ")"),
    "real": ("(", "-oo", "oo", ")"),
}

_ACCEPTED = (
    "write 'positive', 'nonnegative', 'negative', 'real' or an interval such as "
    "'(0, 1)', '[0, oo)' or '(0, pi]'"
)

_LOG_OFFSETS = (math.log(0.4), math.log(3.5))
_CENTRAL_FRACTION = (0.15, 0.85)
_EXTREME_OFFSETS = (1e-3, 1e-2, 1e2, 1e4)
_EXTREME_FRACTIONS = (1e-4, 1e-2, 0.99, 0.9999)
_EXTREME_REALS = (-1e3, -30.0, 30.0, 1e3)
_REAL_LINE_SPREAD = 1.5


@dataclass(frozen=True)
class Domain:
    """An interval of the real line, each end open or closed.

    >>> Domain.parse("(0, 1]", name="p")
    Domain(lower=0, upper=1, lower_open=True, upper_open=False, text='(0, 1]')
    """

    lower: sp.Expr
    upper: sp.Expr
    lower_open: bool
    upper_open: bool
    text: str

    @classmethod
    def parse(cls, text: str, *, name: str) -> "Domain":
        """Read the domain ``text`` declared for the parameter ``name``.

        >>> Domain.parse("positive", name="k").describe()
        '(0, oo)'
        >>> Domain.parse("[1, oo)", name="nu").lower
        1
        """
        label = f"the domain {text!r} of parameter '{name}'"
        stripped = text.strip()
        if stripped.lower() in _WORDS:
            left, lower_text, upper_text, right = _WORDS[stripped.lower()]
        else:
            left, lower_text, upper_text, right = _interval_parts(stripped, label)
        where = f"the domain of parameter '{name}'"
        lower = parse_expression(lower_text, {}, where=where)
        upper = parse_expression(upper_text, {}, where=where)
        lower_open = left == "("
        upper_open = right == ")"

        for bound in (lower, upper):
            if bound.is_extended_real is not True:
                raise SpecError(
                    f"{label} has the bound {bound}, which is not a real number; "
                    "write real bounds such as 0, 1 or pi"
                )
        if sp.Ge(lower, upper) is sp.true:
            raise SpecError(
                f"{label} is empty because its lower bound is not below its upper "
                "bound; list the bounds in increasing order"
            )
        if (lower.is_infinite and not lower_open) or (
            upper.is_infinite and not upper_open
        ):
            raise SpecError(
                f"{label} closes an infinite end; use a parenthesis there, as in "
                "'[1, oo)'"
            )
        return cls(lower, upper, lower_open, upper_open, text)

    @property
    def assumptions(self) -> dict:
        """SymPy assumptions for the parameter's symbol; each implies ``real``.

        >>> Domain.parse("(0, 1)", name="p").assumptions
        {'positive': True}
        >>> Domain.parse("[0, oo)", name="m").assumptions
        {'nonnegative': True}
        """
        if self.lower.is_positive or (self.lower.is_zero and self.lower_open):
            return {"positive": True}
        if self.lower.is_zero:
            return {"nonnegative": True}
        if self.upper.is_negative or (self.upper.is_zero and self.upper_open):
            return {"negative": True}
        if self.upper.is_zero:
            return {"nonpositive": True}
        return {"real": True}

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the domain; ``nan`` never does.

        >>> domain = Domain.parse("(0, 1]", name="p")
        >>> domain.contains(0.0), domain.contains(1.0)
        (False, True)
        """
        value = float(value)
        lower, upper = float(self.lower), float(self.upper)
        above = value > lower if self.lower_open else value >= lower
        below = value < upper if self.upper_open else value <= upper
        return above and below

    def check(self, name: str, value) -> float:
        """Return ``value`` as a float, or raise DomainError if it is not allowed.

        >>> Domain.parse("positive", name="k").check("k", 2)
        2.0
        >>> Domain.parse("positive", name="k").check("k", -1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        symgeo.errors.DomainError: parameter 'k' = -1 is outside its domain (0, oo); ...
        """
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DomainError(
                f"parameter '{name}' = {value!r} is not a number; give "
                f"{self._allowed()}"
            ) from None
        if not math.isfinite(number):
            raise DomainError(
                f"parameter '{name}' = {number} is not a finite number; give "
                f"{self._allowed()}"
            )
        if not self.contains(number):
            raise DomainError(
                f"parameter '{name}' = {_format(number)} is outside its domain "
                f"{self.describe()}; give {self._allowed()}"
            )
        return number

    def interior_points(self, count: int, rng: np.random.Generator) -> list[float]:
        """``count`` typical points well inside the domain, for numerical checks.

        A half-line ``(a, oo)`` gives ``a + t`` with ``t`` log-uniform in
        [0.4, 3.5] (mirrored for ``(-oo, b)``), the real line a uniform draw in
        [-1.5, 1.5], and a bounded ``(a, b)`` gives ``a + (b - a) * u`` with ``u``
        uniform in [0.15, 0.85].

        >>> rng = np.random.default_rng(0)
        >>> points = Domain.parse("(0, 1)", name="p").interior_points(3, rng)
        >>> len(points), all(0.15 <= p <= 0.85 for p in points)
        (3, True)
        """
        lower, upper = float(self.lower), float(self.upper)
        if math.isinf(lower) and math.isinf(upper):
            draws = rng.uniform(-_REAL_LINE_SPREAD, _REAL_LINE_SPREAD, count)
        elif math.isinf(upper):
            draws = lower + np.exp(rng.uniform(*_LOG_OFFSETS, count))
        elif math.isinf(lower):
            draws = upper - np.exp(rng.uniform(*_LOG_OFFSETS, count))
        else:
            draws = lower + (upper - lower) * rng.uniform(*_CENTRAL_FRACTION, count)
        return [float(point) for point in draws]

    def extreme_values(self) -> list[float]:
        """Values near the ends of the domain, for checks at its boundary:
        10⁻³, 10⁻², 10² and 10⁴ beyond a finite bound of a half-line, the
        fractions 10⁻⁴, 10⁻², 0.99 and 0.9999 of a bounded interval, ±30 and
        ±10³ on the real line.

        >>> Domain.parse("positive", name="k").extreme_values()
        [0.001, 0.01, 100.0, 10000.0]
        """
        lower, upper = float(self.lower), float(self.upper)
        if math.isfinite(lower) and math.isfinite(upper):
            return [lower + (upper - lower) * f for f in _EXTREME_FRACTIONS]
        if math.isfinite(lower):
            return [lower + offset for offset in _EXTREME_OFFSETS]
        if math.isfinite(upper):
            return [upper - offset for offset in _EXTREME_OFFSETS]
        return list(_EXTREME_REALS)

    def describe(self) -> str:
        """The domain as canonical interval text.

        >>> Domain.parse("nonnegative", name="m").describe()
        '[0, oo)'
        """
        left = "(" if self.lower_open else "["
        right = ")" if self.upper_open else "]"
        return f"{left}{self.lower}, {self.upper}{right}"

    def _allowed(self):
        lower_infinite = self.lower.is_infinite
        upper_infinite = self.upper.is_infinite
        if lower_infinite and upper_infinite:
            return "any finite real number"
        if upper_infinite:
            return f"a value {'>' if self.lower_open else '>='} {self.lower}"
        if lower_infinite:
            return f"a value {'<' if self.upper_open else '<='} {self.upper}"
        return f"a value in {self.describe()}"


def _interval_parts(text, label):
    commas, depth = [], 0
    for index, character in enumerate(text[1:-1], start=1):
        depth += (character in "([") - (character in ")]")
        if character == "," and depth == 0:
            commas.append(index)
    if len(text) < 2 or text[0] not in "([" or text[-1] not in ")]" or len(commas) != 1:
        raise SpecError(f"{label} is not understood; {_ACCEPTED}")

    lower_text, upper_text = text[1 : commas[0]], text[commas[0] + 1 : -1]
    if not lower_text.strip() or not upper_text.strip():
        raise SpecError(f"{label} lacks a bound; {_ACCEPTED}")
    return text[0], lower_text, upper_text, text[-1]


def _format(number):
    text = repr(number)
    return text[:-2] if text.endswith(".0") else text

"""Exceptions raised by symgeo.

Two kinds of failure reach a user: bad input (a spec, a parameter value, a
command-line argument), which is :class:`SpecError` and makes the CLI exit with
status 2, and a derivation that could not be completed or failed its numerical
check, which is :class:`DerivationError` and makes the CLI exit with status 1.
Every message is one sentence that names the problem and what to do instead.
"""


class SymgeoError(Exception):
    """Base class of every error symgeo raises on purpose."""


class SpecError(SymgeoError, ValueError):
    """A family specification or a user-supplied value is invalid."""


class DomainError(SpecError):
    """A parameter value lies outside the parameter's declared domain."""


class DerivationError(SymgeoError):
    """A derivation failed, timed out, or did not pass its numerical check."""


class VerificationError(DerivationError):
    """A closed form disagrees with its independent high-precision check."""


class MetricUndefined(DerivationError):
    """The requested metric does not exist for this family.

    ``reason`` is a paragraph saying why (a discrete family, an infinite second
    moment); ``distance`` is, when known, a formula for the distance itself
    between two members, in the parameters suffixed ``_0`` and ``_1``.

    >>> error = MetricUndefined("no smooth W2 pullback", "sqrt(Abs(p_0 - p_1))")
    >>> error.distance
    'sqrt(Abs(p_0 - p_1))'
    """

    def __init__(self, reason, distance=None):
        self.reason = reason
        self.distance = distance
        message = reason
        if distance is not None:
            message += f" The distance itself is W2 = {distance}."
        super().__init__(message)

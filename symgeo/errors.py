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

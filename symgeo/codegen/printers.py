"""Printers from SymPy expressions to numpy and mpmath source text.

Every function a kernel may call is mapped explicitly; an expression with a
function outside these tables raises :class:`CodegenError` naming it, rather
than printing code that would fail when run.

- numpy: elementary functions from ``np``, special functions from
  ``scipy.special`` imported as ``_sc`` (ψ = ``psi``, ψ_n = (−1)^(n+1) n!
  ζ(n+1, x) by the Hurwitz ``zeta``, Γ, log Γ, B, erf, erfc, I_ν and the scaled
  Î_ν = ``ive``, J_ν, K_ν), and the stable functions of
  :mod:`symgeo.codegen.rewrite` from helpers defined in the generated module.
  Numeric constants (π, γ, √2, rationals ...) are evaluated once, at 30 digits,
  and written as float literals; integer powers up to 4 become products.
- mpmath: the same functions from ``mpmath``, with exact rationals written
  ``mpf(p)/q`` and constants as ``mpmath.pi``, ``mpmath.euler`` ..., so that
  they carry the working precision.
"""

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from ..errors import DerivationError
from .rewrite import ScaledBesselI, TrigammaExcess, TrigammaExcessPrime

DIGITS = 30


class CodegenError(DerivationError):
    """An expression cannot be turned into a kernel."""


NUMPY_FUNCTIONS = {
    "exp": "np.exp",
    "log": "np.log",
    "sin": "np.sin",
    "cos": "np.cos",
    "tan": "np.tan",
    "asin": "np.arcsin",
    "acos": "np.arccos",
    "atan": "np.arctan",
    "atan2": "np.arctan2",
    "sinh": "np.sinh",
    "cosh": "np.cosh",
    "tanh": "np.tanh",
    "asinh": "np.arcsinh",
    "acosh": "np.arccosh",
    "atanh": "np.arctanh",
    "Abs": "np.abs",
    "sign": "np.sign",
    "gamma": "_sc.gamma",
    "loggamma": "_sc.gammaln",
    "beta": "_sc.beta",
    "erf": "_sc.erf",
    "erfc": "_sc.erfc",
    "erfinv": "_sc.erfinv",
    "besseli": "_sc.iv",
    "besselj": "_sc.jv",
    "besselk": "_sc.kv",
    "ScaledBesselI": "_sc.ive",
    "TrigammaExcess": "_trigamma_excess",
    "TrigammaExcessPrime": "_trigamma_excess_prime",
}

MPMATH_FUNCTIONS = {
    "exp": "mpmath.exp",
    "log": "mpmath.log",
    "sin": "mpmath.sin",
    "cos": "mpmath.cos",
    "tan": "mpmath.tan",
    "asin": "mpmath.asin",
    "acos": "mpmath.acos",
    "atan": "mpmath.atan",
    "atan2": "mpmath.atan2",
    "sinh": "mpmath.sinh",
    "cosh": "mpmath.cosh",
    "tanh": "mpmath.tanh",
    "asinh": "mpmath.asinh",
    "acosh": "mpmath.acosh",
    "atanh": "mpmath.atanh",
    "Abs": "abs",
    "sign": "mpmath.sign",
    "gamma": "mpmath.gamma",
    "loggamma": "mpmath.loggamma",
    "beta": "mpmath.beta",
    "erf": "mpmath.erf",
    "erfc": "mpmath.erfc",
    "erfinv": "mpmath.erfinv",
    "besseli": "mpmath.besseli",
    "besselj": "mpmath.besselj",
    "besselk": "mpmath.besselk",
    "polygamma": "mpmath.psi",
    "zeta": "mpmath.zeta",
}

# Helpers a numpy kernel defines when it calls them, and what they need.
NUMPY_HELPERS = {
    "_trigamma_excess": "trigamma_excess",
    "_trigamma_excess_prime": "trigamma_excess_prime",
}


def _unsupported(expr, target):
    return CodegenError(
        f"no {target} kernel can evaluate {type(expr).__name__} (in {expr}); "
        "supported are the elementary functions, polygamma, gamma, loggamma, beta, "
        "erf, erfc, erfinv and the Bessel functions I, J, K"
    )


class NumpyPrinter(PythonCodePrinter):
    """Print an expression as numpy source; ``used`` collects helper names.

    With ``series_zeta``, ψ₁ and ψ₂ call the module's ``_hurwitz_zeta`` helper
    (a series on large batches, scipy on small ones) instead of scipy's zeta.

    >>> k, b = sp.symbols("k b", positive=True)
    >>> NumpyPrinter().doprint(sp.polygamma(1, k) / b**3 + sp.pi**2 / 6)
    '1.6449340668482264 + _sc.zeta(2.0, k)/(b*b*b)'
    >>> NumpyPrinter(series_zeta=True).doprint(sp.polygamma(2, k))
    '(-2.0*_hurwitz_zeta(3.0, k))'
    """

    printmethod = "_numpycode"
    target = "numpy"

    def __init__(self, settings=None, *, series_zeta=False):
        super().__init__({"strict": True, **(settings or {})})
        self.used = set()
        self.series_zeta = series_zeta

    def _print(self, expr, **kwargs):
        if isinstance(expr, sp.Basic) and expr.is_number and not expr.is_Integer:
            if not isinstance(expr, (sp.Integral, sp.Sum)) or not expr.free_symbols:
                return self._constant(expr)
        if isinstance(expr, sp.Function):
            return self._function(expr)
        return super()._print(expr, **kwargs)

    def _constant(self, expr):
        value = complex(sp.N(expr, DIGITS))
        if value.imag:
            raise CodegenError(f"the constant {expr} is not real")
        text = repr(value.real)
        return f"({text})" if value.real < 0 else text

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent == sp.S.Half:
            return f"np.sqrt({self._print(base)})"
        if exponent == -sp.S.Half:
            return f"(1/np.sqrt({self._print(base)}))"
        if exponent.is_Integer and exponent < 0:
            return self._reciprocal(sp.Pow(base, -exponent))
        text = self._print(base) if base.is_Atom else self.parenthesize(base, 1000)
        if exponent.is_Integer and 2 <= exponent <= 4 and base.is_Atom:
            return "(" + "*".join([text] * int(exponent)) + ")"
        if exponent.is_Integer:
            return f"{text}**{int(exponent)}"
        return f"{text}**{self.parenthesize(exponent, 1000)}"

    def _reciprocal(self, expr):
        text = self._print(expr)
        simple = expr.is_Atom or isinstance(expr, sp.Function) or text.startswith("(")
        return f"(1/{text})" if simple else f"(1/({text}))"

    def _function(self, expr):
        name = type(expr).__name__
        args = [self._print(a) for a in expr.args]
        if isinstance(expr, sp.polygamma):
            self.used.add("scipy")
            order = expr.args[0]
            if not order.is_Integer or order < 0:
                raise _unsupported(expr, self.target)
            if order == 0:
                return f"_sc.psi({args[1]})"
            n = int(order)
            factor = (-1) ** (n + 1) * sp.factorial(n)
            zeta = f"_sc.zeta({float(n + 1)!r}, {args[1]})"
            if self.series_zeta and n in (1, 2):
                self.used.add("hurwitz_zeta")
                zeta = f"_hurwitz_zeta({float(n + 1)!r}, {args[1]})"
            return zeta if factor == 1 else f"({float(factor)!r}*{zeta})"
        if isinstance(expr, (ScaledBesselI, sp.besseli, sp.besselj, sp.besselk)):
            args[0] = repr(float(expr.args[0])) if expr.args[0].is_number else args[0]
        if name not in NUMPY_FUNCTIONS:
            raise _unsupported(expr, self.target)
        function = NUMPY_FUNCTIONS[name]
        if function in NUMPY_HELPERS:
            self.used.add(NUMPY_HELPERS[function])
        if function.startswith("_sc."):
            self.used.add("scipy")
        return f"{function}({', '.join(args)})"

    def _print_Relational(self, expr):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
        lhs, rhs = self._print(expr.lhs), self._print(expr.rhs)
        return f"({lhs} {op[expr.rel_op]} {rhs})"

    def _print_Piecewise(self, expr):
        raise _unsupported(expr, self.target)

    def _print_Integral(self, expr):
        raise CodegenError(
            "an integral reached the numpy printer; integrals are lowered to "
            "quadrature first"
        )


class MpmathPrinter(PythonCodePrinter):
    """Print an expression as mpmath source with exact rationals.

    >>> k = sp.Symbol("k", positive=True)
    >>> MpmathPrinter().doprint(sp.polygamma(1, k) / 3 + sp.EulerGamma)
    '((mpf(1)/3))*mpmath.psi(1, k) + mpmath.euler'
    >>> MpmathPrinter().doprint(sp.Rational(1, 3) * k ** sp.Rational(3, 2))
    '((mpf(1)/3))*k**((mpf(3)/2))'
    """

    printmethod = "_mpmathcode"
    target = "mpmath"

    def __init__(self, settings=None):
        super().__init__({"strict": True, **(settings or {})})
        self.used = set()

    def _print(self, expr, **kwargs):
        if isinstance(expr, sp.Function):
            return self._function(expr)
        return super()._print(expr, **kwargs)

    def _print_Rational(self, expr):
        return f"(mpf({expr.p})/{expr.q})"

    def _print_Half(self, expr):
        return self._print_Rational(expr)

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Float(self, expr):
        return f"mpf({str(sp.Float(expr, DIGITS))!r})"

    def _print_Pi(self, expr):
        return "mpmath.pi"

    def _print_Exp1(self, expr):
        return "mpmath.e"

    def _print_EulerGamma(self, expr):
        return "mpmath.euler"

    def _print_Catalan(self, expr):
        return "mpmath.catalan"

    def _print_GoldenRatio(self, expr):
        return "mpmath.phi"

    def _print_Infinity(self, expr):
        return "mpmath.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-mpmath.inf)"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent == sp.S.Half:
            return f"mpmath.sqrt({self._print(base)})"
        if exponent == -sp.S.Half:
            return f"(1/mpmath.sqrt({self._print(base)}))"
        if exponent.is_Integer and exponent < 0:
            return self._reciprocal(sp.Pow(base, -exponent))
        text = self._print(base) if base.is_Atom else self.parenthesize(base, 1000)
        return f"{text}**{self.parenthesize(exponent, 1000)}"

    def _reciprocal(self, expr):
        text = self._print(expr)
        simple = expr.is_Atom or isinstance(expr, sp.Function)
        return f"(1/{text})" if simple else f"(1/({text}))"

    def _function(self, expr):
        name = type(expr).__name__
        if isinstance(expr, (TrigammaExcess, TrigammaExcessPrime, ScaledBesselI)):
            return f"({self._print(expr.rewrite(sp.polygamma).rewrite(sp.besseli))})"
        if name not in MPMATH_FUNCTIONS:
            raise _unsupported(expr, self.target)
        args = ", ".join(self._print(a) for a in expr.args)
        return f"{MPMATH_FUNCTIONS[name]}({args})"

    def _print_Relational(self, expr):
        lhs, rhs = self._print(expr.lhs), self._print(expr.rhs)
        return f"({lhs} {expr.rel_op} {rhs})"

    def _print_Piecewise(self, expr):
        raise _unsupported(expr, self.target)

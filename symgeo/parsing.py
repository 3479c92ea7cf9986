"""Build SymPy expressions from the untrusted text of family specs.

A family spec writes its density, pmf, cdf, support bounds and constraints as
text. That text is untrusted, so it never reaches ``eval``, ``sympify`` or
``parse_expr``, all of which run Python. :func:`parse_expression` and
:func:`parse_relation` parse it with ``ast.parse(text, mode="eval")`` instead and
build the SymPy object node by node, admitting only:

- numbers: an integer literal becomes :class:`sympy.Integer` and a decimal
  literal the exact :class:`sympy.Rational` of its text (``0.1`` is ``1/10``);
- names: a declared symbol, otherwise one of :data:`CONSTANTS`;
- ``+ - * / **`` and unary ``-`` and ``+``; ``^`` means ``**`` with the
  precedence of ``**``, so ``x^2 + 1`` is ``x**2 + 1`` (Python alone would read
  it as the bitwise ``x ^ (2 + 1)``);
- calls of :data:`FUNCTIONS` with positional arguments; in call position a name
  is looked up only there, so a parameter ``gamma`` and ``gamma(x)`` coexist;
- one comparison (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``), as a whole
  constraint or as a ``Piecewise`` condition; ``True`` and ``False`` only as
  ``Piecewise`` conditions, and tuples only as ``Piecewise`` arguments.

Against denial of service the text is limited to 4000 characters and 100 levels
of nesting, and SymPy's eager arithmetic is kept small: every rational number
built has at most 1024 bits in numerator and denominator, a power of a number
takes exponents of at most 1000 (``exp(a)`` counts as ``E**a``), and numbers
passed to the functions that SymPy evaluates exactly (``factorial``,
``binomial``, ``gamma``, ``loggamma``, ``beta``, ``digamma``, ``polygamma``,
``zeta``) lie in [-100, 100]. Whatever slips through those checks is cut off by a
time budget of 2 s (:mod:`symgeo.budget`), which is enforced only in the main
thread.
"""

import ast
import io
import keyword
import math
import operator
import tokenize
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import Boolean

from .budget import BudgetExceeded, time_budget
from .errors import SpecError

_MAX_LENGTH = 4000
_MAX_DEPTH = 100
_MAX_BITS = 1024
_MAX_DECIMAL_DIGITS = 300
_MAX_EXPONENT = 1000
_MAX_EXACT_ARGUMENT = 100
_BUILD_SECONDS = 2.0


def _trigamma(x):
    return sp.polygamma(1, x)


# name: (SymPy callable, fewest arguments, most arguments or None, usage)
_SIGNATURES = {
    "exp": (sp.exp, 1, 1, "exp(x)"),
    "log": (sp.log, 1, 2, "log(x) or log(x, base)"),
    "sqrt": (sp.sqrt, 1, 1, "sqrt(x)"),
    "cbrt": (sp.cbrt, 1, 1, "cbrt(x)"),
    "sin": (sp.sin, 1, 1, "sin(x)"),
    "cos": (sp.cos, 1, 1, "cos(x)"),
    "tan": (sp.tan, 1, 1, "tan(x)"),
    "asin": (sp.asin, 1, 1, "asin(x)"),
    "acos": (sp.acos, 1, 1, "acos(x)"),
    "atan": (sp.atan, 1, 1, "atan(x)"),
    "atan2": (sp.atan2, 2, 2, "atan2(y, x)"),
    "sinh": (sp.sinh, 1, 1, "sinh(x)"),
    "cosh": (sp.cosh, 1, 1, "cosh(x)"),
    "tanh": (sp.tanh, 1, 1, "tanh(x)"),
    "asinh": (sp.asinh, 1, 1, "asinh(x)"),
    "acosh": (sp.acosh, 1, 1, "acosh(x)"),
    "atanh": (sp.atanh, 1, 1, "atanh(x)"),
    "sec": (sp.sec, 1, 1, "sec(x)"),
    "csc": (sp.csc, 1, 1, "csc(x)"),
    "cot": (sp.cot, 1, 1, "cot(x)"),
    "sech": (sp.sech, 1, 1, "sech(x)"),
    "csch": (sp.csch, 1, 1, "csch(x)"),
    "coth": (sp.coth, 1, 1, "coth(x)"),
    "Abs": (sp.Abs, 1, 1, "Abs(x)"),
    "abs": (sp.Abs, 1, 1, "abs(x)"),
    "sign": (sp.sign, 1, 1, "sign(x)"),
    "gamma": (sp.gamma, 1, 1, "gamma(x)"),
    "loggamma": (sp.loggamma, 1, 1, "loggamma(x)"),
    "lgamma": (sp.loggamma, 1, 1, "lgamma(x)"),
    "beta": (sp.beta, 1, 2, "beta(a, b)"),
    "digamma": (sp.digamma, 1, 1, "digamma(x)"),
    "polygamma": (sp.polygamma, 2, 2, "polygamma(n, x)"),
    "trigamma": (_trigamma, 1, 1, "trigamma(x)"),
    "betainc_regularized": (
        sp.betainc_regularized,
        4,
        4,
        "betainc_regularized(a, b, x1, x2)",
    ),
    "lowergamma": (sp.lowergamma, 2, 2, "lowergamma(s, x)"),
    "uppergamma": (sp.uppergamma, 2, 2, "uppergamma(s, x)"),
    "erf": (sp.erf, 1, 1, "erf(x)"),
    "erfc": (sp.erfc, 1, 1, "erfc(x)"),
    "besseli": (sp.besseli, 2, 2, "besseli(nu, x)"),
    "besselj": (sp.besselj, 2, 2, "besselj(nu, x)"),
    "besselk": (sp.besselk, 2, 2, "besselk(nu, x)"),
    "bessely": (sp.bessely, 2, 2, "bessely(nu, x)"),
    "binomial": (sp.binomial, 2, 2, "binomial(n, k)"),
    "factorial": (sp.factorial, 1, 1, "factorial(n)"),
    "Heaviside": (sp.Heaviside, 1, 2, "Heaviside(x) or Heaviside(x, value_at_0)"),
    "Min": (sp.Min, 1, None, "Min(a, b, ...)"),
    "Max": (sp.Max, 1, None, "Max(a, b, ...)"),
    "floor": (sp.floor, 1, 1, "floor(x)"),
    "ceiling": (sp.ceiling, 1, 1, "ceiling(x)"),
    "zeta": (sp.zeta, 1, 2, "zeta(s) or zeta(s, a)"),
    "KroneckerDelta": (sp.KroneckerDelta, 2, 2, "KroneckerDelta(i, j)"),
    "Piecewise": (sp.Piecewise, 1, None, "Piecewise((x, x < 1), (1, True))"),
    "Eq": (sp.Eq, 2, 2, "Eq(a, b)"),
    "Ne": (sp.Ne, 2, 2, "Ne(a, b)"),
}

FUNCTIONS: Mapping[str, object] = MappingProxyType(
    {name: signature[0] for name, signature in _SIGNATURES.items()}
)
"""The functions a spec may call, by the name it calls them with."""

CONSTANTS: Mapping[str, sp.Expr] = MappingProxyType(
    {
        "pi": sp.pi,
        "E": sp.E,
        "oo": sp.oo,
        "euler_gamma": sp.EulerGamma,
        "EulerGamma": sp.EulerGamma,
        "catalan": sp.Catalan,
    }
)
"""The named constants a spec may use where no declared symbol has that name."""

_EXACTLY_EVALUATED = frozenset(
    {
        "factorial",
        "binomial",
        "gamma",
        "loggamma",
        "lgamma",
        "beta",
        "digamma",
        "polygamma",
        "trigamma",
        "zeta",
    }
)

_ALLOWED = (
    "use numbers, declared symbols, + - * / ** ^, one comparison "
    "and calls such as exp(x)"
)

_CONSTRUCTS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripting",
    ast.Slice: "slicing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.BoolOp: "'and'/'or'",
    ast.NamedExpr: "an assignment expression",
    ast.JoinedStr: "an f-string",
    ast.Dict: "a dict literal",
    ast.List: "a list literal",
    ast.Set: "a set literal",
    ast.Tuple: "a tuple outside Piecewise",
    ast.IfExp: "a conditional expression (use Piecewise)",
    ast.Starred: "a starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

_LITERALS = {
    str: "a string",
    bytes: "a bytes literal",
    complex: "a complex number",
    type(None): "None",
    type(Ellipsis): "an ellipsis",
}

_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}

_COMPARISONS = {
    ast.Lt: sp.Lt,
    ast.LtE: sp.Le,
    ast.Gt: sp.Gt,
    ast.GtE: sp.Ge,
    ast.Eq: sp.Eq,
    ast.NotEq: sp.Ne,
}

_OPERATOR_TEXT = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}

_KEYWORD_ALTERNATIVES = {"lambda": "lam"}


def _quote(text, limit=40):
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def parse_expression(
    text: str, symbols: Mapping[str, sp.Symbol], *, where: str
) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over the declared ``symbols``.

    ``where`` says where the text comes from, for error messages. Raises
    :class:`~symgeo.errors.SpecError` on anything outside the whitelist described
    in the module docstring, on a comparison, and on a result that is undefined
    (``nan`` or complex infinity, as after a division by zero).

    >>> k, x = sp.symbols("k x", positive=True)
    >>> parse_expression("k * exp(-k * x) + 0.5^2", {"k": k, "x": x}, where="a test")
    k*exp(-k*x) + 1/4
    """
    value = _parse(text, symbols, where)
    if not isinstance(value, sp.Expr):
        raise SpecError(
            f"{_quote(text)} in {where} is a condition, not a quantity; "
            "write an expression such as 'exp(-x)'"
        )
    if value.has(sp.nan, sp.zoo):
        raise SpecError(
            f"{_quote(text)} in {where} is undefined (it evaluates to nan or "
            "complex infinity); look for a division by zero or oo - oo"
        )
    return value


def parse_relation(
    text: str, symbols: Mapping[str, sp.Symbol], *, where: str
) -> Relational:
    """Parse ``text`` into a single SymPy comparison over the declared ``symbols``.

    A comparison that SymPy decides from the symbols' assumptions alone (such as
    ``p > 0`` for a positive ``p``) is an error: it constrains nothing.

    >>> p1, p2 = sp.symbols("p1 p2", positive=True)
    >>> parse_relation("p1 + p2 < 1", {"p1": p1, "p2": p2}, where="a test")
    p1 + p2 < 1
    """
    value = _parse(text, symbols, where)
    if isinstance(value, Relational):
        return value
    if value in (sp.true, sp.false):
        verdict = "always" if value is sp.true else "never"
        raise SpecError(
            f"constraint {_quote(text)} in {where} is {verdict} satisfied given the "
            "parameters' domains; remove it or correct it"
        )
    raise SpecError(
        f"constraint {_quote(text)} in {where} is not an inequality; "
        f"write it like {_quote(text + ' < 1', limit=60)}"
    )


def check_identifier(name: str, *, what: str) -> None:
    """Raise :class:`~symgeo.errors.SpecError` unless ``name`` can name a symbol.

    ``what`` describes the name in the message, e.g. ``"parameter name"``. A
    name must be a Python identifier, not a keyword, and unchanged by the Unicode
    normalisation Python applies to identifiers in expressions.

    >>> check_identifier("theta", what="parameter name")
    >>> check_identifier("lambda", what="parameter name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgeo.errors.SpecError: parameter name 'lambda' is a Python keyword; ...
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise SpecError(
            f"{what} {name!r} is not a valid identifier; use letters, digits and "
            "underscores, starting with a letter"
        )
    if keyword.iskeyword(name):
        alternative = _KEYWORD_ALTERNATIVES.get(name, name + "_")
        raise SpecError(
            f"{what} {name!r} is a Python keyword; choose another name such as "
            f"{alternative!r}"
        )
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:
        raise SpecError(
            f"{what} {name!r} is read as {normal!r} inside expressions; "
            f"write {normal!r} instead"
        )


def _parse(text, symbols, where):
    if not isinstance(text, str):
        raise SpecError(
            f"{where} must be given as text, not {type(text).__name__}; "
            "write it as a quoted string"
        )
    if len(text) > _MAX_LENGTH:
        raise SpecError(
            f"the text of {where} has {len(text)} characters, more than the "
            f"{_MAX_LENGTH} allowed; shorten it"
        )
    if "\x00" in text:
        raise SpecError(f"the text of {where} contains a null character; remove it")

    source = text.strip()
    tree = _syntax_tree(source, where)
    if any(isinstance(node, ast.BitXor) for node in ast.walk(tree)):
        source = _caret_as_power(source)
        tree = _syntax_tree(source, where)
    _check_depth(tree, source, where)

    builder = _Builder(source, symbols, where)
    try:
        with time_budget(_BUILD_SECONDS, f"building {where}"):
            return builder.visit(tree)
    except BudgetExceeded:
        raise SpecError(
            f"{_quote(source)} in {where} took more than {_BUILD_SECONDS:g} s to "
            "build; write it with smaller numbers"
        ) from None


def _syntax_tree(source, where):
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as error:
        if not error.offset:
            position = "the end"
        elif (error.lineno or 1) > 1:
            position = f"line {error.lineno}, column {error.offset}"
        else:
            position = f"column {error.offset}"
        raise SpecError(
            f"cannot parse {_quote(source)} in {where}: {error.msg} at {position}; "
            "write an arithmetic expression such as '2 * x**2 + 1'"
        ) from None
    except (RecursionError, MemoryError):
        raise SpecError(
            f"{where} is nested too deeply to parse; write it with at most "
            f"{_MAX_DEPTH} levels of nesting"
        ) from None


def _caret_as_power(source):
    lines = io.StringIO(source).readlines()
    carets = [
        token.start
        for token in tokenize.generate_tokens(iter(lines).__next__)
        if token.type == tokenize.OP and token.string == "^"
    ]
    for row, column in reversed(carets):
        line = lines[row - 1]
        lines[row - 1] = line[:column] + "**" + line[column + 1 :]
    return "".join(lines)


def _check_depth(tree, source, where):
    stack = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise SpecError(
                f"{_quote(source)} in {where} is nested more than {_MAX_DEPTH} "
                "levels deep; split it into simpler terms"
            )
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + isinstance(child, ast.expr)))


def _bits(number):
    return max(abs(number.p).bit_length(), number.q.bit_length())


class _Builder(ast.NodeVisitor):
    """Turn an admitted syntax tree into SymPy objects, one node at a time."""

    def __init__(self, source, symbols, where):
        self.source = source
        self.symbols = symbols
        self.where = where

    def snippet(self, node):
        return _quote(ast.get_source_segment(self.source, node) or self.source)

    def not_allowed(self, node, construct, hint=_ALLOWED):
        return SpecError(
            f"{construct} ({self.snippet(node)}) is not allowed in {self.where}; {hint}"
        )

    def generic_visit(self, node):
        construct = _CONSTRUCTS.get(type(node), f"Python's {type(node).__name__}")
        raise self.not_allowed(node, construct)

    def quantity(self, node):
        value = self.visit(node)
        if not isinstance(value, sp.Expr):
            raise SpecError(
                f"the condition {self.snippet(node)} is used as a quantity in "
                f"{self.where}; comparisons may only be Piecewise conditions or a "
                "whole constraint"
            )
        return value

    def condition(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return sp.true if node.value else sp.false
        value = self.visit(node)
        if not isinstance(value, Boolean):
            raise SpecError(
                f"the Piecewise condition {self.snippet(node)} in {self.where} is "
                "not a comparison; write a condition such as 'x < 1' or True"
            )
        return value

    def build(self, node, function, *args):
        try:
            value = function(*args)
        except SpecError:
            raise
        except (TypeError, ValueError, ArithmeticError, RecursionError) as error:
            reason = " ".join(str(error).split())[:80] or type(error).__name__
            raise SpecError(
                f"{self.snippet(node)} in {self.where} cannot be built ({reason}); "
                "check its arguments"
            ) from None
        if isinstance(value, sp.Expr):
            coefficient = value.as_coeff_Mul()[0]
            if coefficient.is_Rational and _bits(coefficient) > _MAX_BITS:
                raise self.too_large(node)
        return value

    def too_large(self, node):
        return SpecError(
            f"{self.snippet(node)} in {self.where} makes a number of more than "
            f"{_MAX_BITS} bits (about 300 digits); write it with smaller numbers"
        )

    def visit_Expression(self, node):
        return self.visit(node.body)

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool):
            raise self.not_allowed(
                node,
                f"{value} outside a Piecewise condition",
                "True and False may only be Piecewise conditions, as in "
                "Piecewise((x, x < 1), (0, True))",
            )
        if isinstance(value, int):
            return self.build(node, sp.Integer, value)
        if isinstance(value, float):
            return self.decimal(node)
        raise self.not_allowed(node, _LITERALS[type(value)])

    def decimal(self, node):
        text = ast.get_source_segment(self.source, node).replace("_", "")
        number = Decimal(text)
        _, digits, exponent = number.as_tuple()
        if len(digits) + abs(exponent) > _MAX_DECIMAL_DIGITS:
            raise SpecError(
                f"the number {_quote(text)} in {self.where} has more than "
                f"{_MAX_DECIMAL_DIGITS} digits once written out; use a number of "
                "moderate size"
            )
        fraction = Fraction(number)
        return sp.Rational(fraction.numerator, fraction.denominator)

    def visit_Name(self, node):
        name = node.id
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise SpecError(
                f"{name!r} in {self.where} is a function; call it, as in "
                f"{_SIGNATURES[name][3]}"
            )
        if not self.symbols:
            raise SpecError(
                f"unknown symbol {name!r} in {self.where}; only numbers and the "
                "constants " + ", ".join(sorted(CONSTANTS)) + " may appear there"
            )
        raise SpecError(
            f"unknown symbol {name!r} in {self.where}; declare it as a parameter "
            "or use one of: " + ", ".join(sorted(self.symbols))
        )

    def visit_UnaryOp(self, node):
        if isinstance(node.op, ast.USub):
            return self.build(node, operator.neg, self.quantity(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self.quantity(node.operand)
        raise self.operator_not_allowed(node, node.op)

    def visit_BinOp(self, node):
        function = _ARITHMETIC.get(type(node.op))
        if function is None:
            raise self.operator_not_allowed(node, node.op)
        left = self.quantity(node.left)
        right = self.quantity(node.right)
        if isinstance(node.op, ast.Pow):
            self.check_power(node, left, right)
        return self.build(node, function, left, right)

    def operator_not_allowed(self, node, op):
        return self.not_allowed(node, f"the operator '{_OPERATOR_TEXT[type(op)]}'")

    def check_power(self, node, base, exponent):
        if base.is_number:
            self.check_exponent(node, exponent)
        if exponent.is_Rational:
            coefficient = base.as_coeff_Mul()[0]
            if coefficient.is_Rational and coefficient:
                size = max(abs(coefficient.p), coefficient.q)
                if float(abs(exponent)) * math.log2(size) > _MAX_BITS:
                    raise self.too_large(node)

    def check_exponent(self, node, exponent):
        for term in sp.Add.make_args(exponent):
            if not term.is_number:
                continue
            coefficient = term.as_coeff_Mul()[0]
            if not (coefficient.is_Rational and abs(coefficient) <= _MAX_EXPONENT):
                raise SpecError(
                    f"{self.snippet(node)} in {self.where} raises a number to a "
                    f"power beyond {_MAX_EXPONENT}; keep numeric exponents within "
                    f"[-{_MAX_EXPONENT}, {_MAX_EXPONENT}]"
                )

    def visit_Compare(self, node):
        if len(node.ops) != 1:
            raise self.not_allowed(
                node,
                "a chained comparison",
                "write a single comparison such as 'x < 1'",
            )
        relation = _COMPARISONS.get(type(node.ops[0]))
        if relation is None:
            raise self.operator_not_allowed(node, node.ops[0])
        left = self.quantity(node.left)
        right = self.quantity(node.comparators[0])
        return self.build(node, relation, left, right)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name):
            construct = _CONSTRUCTS.get(type(node.func), "calling an expression")
            raise self.not_allowed(node.func, construct)
        name = node.func.id
        if name not in _SIGNATURES:
            hint = f" ({name} is a symbol; write {name}*(...) for a product)"
            raise SpecError(
                f"unknown function {name!r} in {self.where}"
                f"{hint if name in self.symbols else ''}; use one of: "
                + ", ".join(sorted(FUNCTIONS, key=str.lower))
            )
        if node.keywords:
            raise self.not_allowed(
                node, "a keyword argument", "pass arguments by position"
            )
        function, fewest, most, usage = _SIGNATURES[name]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            raise SpecError(
                f"{name} in {self.where} cannot take {count} argument"
                f"{'' if count == 1 else 's'}; write {usage}"
            )

        if name == "Piecewise":
            args = [self.piece(arg) for arg in node.args]
        else:
            args = [self.quantity(arg) for arg in node.args]
        if name in _EXACTLY_EVALUATED:
            self.check_exact_arguments(node, name, args)
        if name == "exp":
            self.check_exponent(node, args[0])
        return self.build(node, function, *args)

    def piece(self, node):
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
            raise SpecError(
                f"Piecewise argument {self.snippet(node)} in {self.where} is not a "
                "pair; write pairs (value, condition), as in "
                "Piecewise((x, x < 1), (0, True))"
            )
        value, condition = node.elts
        return (self.quantity(value), self.condition(condition))

    def check_exact_arguments(self, node, name, args):
        for arg in args:
            if arg.is_Rational and abs(arg) > _MAX_EXACT_ARGUMENT:
                raise SpecError(
                    f"{self.snippet(node)} in {self.where} gives {name} a number "
                    "that SymPy would evaluate exactly at great cost; keep numbers "
                    f"given to {name} within [-{_MAX_EXACT_ARGUMENT}, "
                    f"{_MAX_EXACT_ARGUMENT}]"
                )

"""LaTeX that reads like a paper: the printer and the layout of long formulas.

:class:`GeometryLatexPrinter` is a SymPy ``LatexPrinter`` with the notation of the
information-geometry literature: ψ^{(n)}(x) for ``polygamma(n, x)`` (ψ(x) for the
digamma function), Γ(x), B(a, b), I_ν(x) for the modified Bessel function, plain
parentheses around simple arguments, and parameter names kept Greek with braced
subscripts (``lam`` → λ, ``mu1`` → μ_{1}, ``s12`` → s_{12}).

The layout helpers return the rows of an ``align*`` (LaTeX) or ``aligned``
(Markdown ``$$`` block) environment: a formula wider than the page is broken at
its top-level ``+`` and ``−`` signs, a long numerator or denominator is pulled out
of its fraction so that its terms can be broken in turn, and a symmetric matrix is
shown once, either as a matrix whose lower triangle is marked as the mirror of the
upper one or, when too wide, as the list of its upper-triangle entries. Widths are
estimated in "characters" of a 10 pt math font; :data:`LINE_WIDTH` fits an A4 page
with 2.5 cm margins.
"""

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

LINE_WIDTH = 66
MATRIX_WIDTH = 60
MATRIX_ENTRY_WIDTH = 18
EXPONENT_WIDTH = 12

GREEK_ALIASES = {"lam": "lambda", "lamda": "lambda", "eps": "epsilon", "ups": "upsilon"}
_TALL = ("\\frac", "\\int", "\\sum", "\\sqrt", "\\begin", "\\prod")


def _leads_with_minus(total):
    """A sum better printed negated: a negative number (12γ − 6γ² − 6 − π²).
    A sum of symbols keeps its sign, whose meaning depends on the domain
    (1 − p₁ − p₂ is positive for a categorical law)."""
    return bool(total.is_number and total.is_negative)


def _normalised(expr):
    """``(negative, magnitude)`` of a product whose sum factors (and powers of
    sums) that are negative numbers are negated, so that (12γ − 6γ² − 6)/k
    prints as −(6γ² − 12γ + 6)/k; None when no factor changes."""
    if not expr.is_Mul:
        return None
    negative = False
    factors = []
    for factor in expr.args:
        base, exponent = factor.as_base_exp()
        if base.is_Add and exponent.is_Integer and _leads_with_minus(base):
            factors.append(sp.Pow(-base, exponent))
            negative ^= bool(exponent % 2)
        else:
            factors.append(factor)
    if factors == list(expr.args):
        return None
    numbers = [f for f in factors if f.is_Number]
    coefficient = sp.Mul(*numbers)
    if coefficient < 0:
        coefficient, negative = -coefficient, not negative
    others = [f for f in factors if not f.is_Number]
    if coefficient != 1:
        others.insert(0, coefficient)
    return negative, sp.Mul(*others, evaluate=False)


def sign_and_magnitude(expr):
    """``(negative, |expr|)`` as the printer shows ``expr``: a leading minus and
    what follows it.

    >>> k = sp.Symbol("k", positive=True)
    >>> sign_and_magnitude((1 - 2 * sp.EulerGamma) / k)
    (True, (-1 + 2*EulerGamma)/k)
    >>> sign_and_magnitude(k / (1 - k))
    (False, k/(1 - k))
    """
    normal = _normalised(expr)
    if normal is not None:
        return normal
    if expr.could_extract_minus_sign():
        return True, -expr
    return False, expr


def _arguments(tex_args):
    """``(a, b)`` with ``\\left( \\right)`` only when an argument is tall."""
    inner = ", ".join(tex_args)
    if any(mark in inner for mark in _TALL):
        return f"\\left({inner}\\right)"
    return f"({inner})"


def _power(tex, exp):
    return tex if exp is None else f"{tex}^{{{exp}}}"


class GeometryLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the notation of information geometry.

    >>> k, lam = sp.symbols("k lam", positive=True)
    >>> GeometryLatexPrinter().doprint(sp.polygamma(1, k) * lam)
    '\\\\lambda \\\\psi^{(1)}(k)'
    """

    def __init__(self, settings=None):
        self._given = dict(settings or {})
        super().__init__({"mat_delim": "(", "fold_frac_powers": True, **self._given})

    def _as_ordered_terms(self, expr, order=None):
        """SymPy's order of the terms of a sum, with a positive term first when
        there is one: ``x - \\mu`` rather than ``- \\mu + x``."""
        terms = list(super()._as_ordered_terms(expr, order=order))
        if terms and terms[0].could_extract_minus_sign():
            positive = next(
                (t for t in terms if not t.could_extract_minus_sign()), None
            )
            if positive is not None:
                terms.remove(positive)
                terms.insert(0, positive)
        return terms

    def _print_Add(self, expr, order=None):
        """SymPy's sum, each term signed as :func:`sign_and_magnitude` shows it
        (so a term printed with its sign taken out is subtracted, not added)."""
        tex = ""
        for index, term in enumerate(self._as_ordered_terms(expr, order=order)):
            negative, magnitude = sign_and_magnitude(term)
            if index == 0:
                tex = "- " if negative else ""
            else:
                tex += " - " if negative else " + "
            term_tex = self._print(magnitude)
            if self._needs_add_brackets(magnitude):
                term_tex = f"\\left({term_tex}\\right)"
            tex += term_tex
        return tex

    def _print_Mul(self, expr):
        """A product as in papers: a sum factor that is a negative number
        negated and the sign taken out, −(6γ² − 12γ + 6)/k rather than
        (12γ − 6γ² − 6)/k; an exponential with a fraction in its exponent after
        the other factors, not inside their fraction; a constant 1/√(2π) kept
        under one root, e^{…}/(√(2π) σ)."""
        normal = _normalised(expr)
        if normal is not None:
            negative, magnitude = normal
            return ("- " if negative else "") + self._print_Mul(magnitude)
        tall = [f for f in expr.args if isinstance(f, sp.exp) and self._tall_exp(f)]
        if tall:
            rest = sp.Mul(*(f for f in expr.args if f not in tall))
            rest_tex = self._print(rest)
            if rest.is_Add:
                rest_tex = f"\\left({rest_tex}\\right)"
            exponentials = " ".join(self._print(f) for f in tall)
            if rest == -1:
                return f"- {exponentials}"
            return exponentials if rest == 1 else f"{rest_tex} {exponentials}"
        if expr.could_extract_minus_sign():
            over = self._over_root_of_pi(-expr)
            return "- " + over if over else super()._print_Mul(expr)
        return self._over_root_of_pi(expr) or super()._print_Mul(expr)

    def _tall_exp(self, expr):
        """An exponential printed exp(…) (its exponent has a fraction), which a
        product shows after its other factors rather than inside a fraction."""
        return self._print(expr).startswith("\\exp")

    def _over_root_of_pi(self, expr):
        """A product with the constant 1/√(Nπ), which SymPy keeps as √N/(N√π),
        printed over √(Nπ) as in the normal density; None for other products."""
        root_of_pi = sp.Pow(sp.pi, sp.Rational(-1, 2))
        if root_of_pi not in expr.args:
            return None
        numbers = [
            f
            for f in expr.args
            if f.is_Rational or (f.is_Pow and f.base.is_Integer and f.exp.is_Rational)
        ]
        square = sp.Mul(*numbers) ** 2
        if not (square.is_Rational and square.p == 1 and sp.Mul(*numbers) > 0):
            return None
        rest = sp.Mul(*(f for f in expr.args if f not in numbers and f != root_of_pi))
        numerator, denominator = sp.fraction(rest, exact=True)
        below = "" if denominator == 1 else " " + self._print(denominator)
        if denominator.is_Add:
            below = f" \\left({self._print(denominator)}\\right)"
        radicand = "\\pi" if square.q == 1 else f"{square.q} \\pi"
        return f"\\frac{{{self._print(numerator)}}}{{\\sqrt{{{radicand}}}{below}}}"

    def _folded(self, expr):
        """``expr`` with short fractions written a / b, for arguments and
        exponents: Γ(1 + 2 / k) rather than a small fraction in parentheses."""
        if self._settings["fold_short_frac"]:
            return self._print(expr)
        return GeometryLatexPrinter({**self._given, "fold_short_frac": True})._print(
            expr
        )

    def _deal_with_super_sub(self, string, style="plain"):
        """Greek names kept (``lam`` is λ) and several subscripts separated by
        commas: ``p1_0`` (p₁ at the endpoint θ₀) is ``p_{1,0}``."""
        match = re.fullmatch(r"([A-Za-z]+)(.*)", string)
        if match and match.group(1) in GREEK_ALIASES:
            string = GREEK_ALIASES[match.group(1)] + match.group(2)
        name, supers, subs = self._split_super_sub(string)
        if style == "bold":
            name = f"\\mathbf{{{name}}}"
        if supers:
            name += f"^{{{' '.join(supers)}}}"
        if subs:
            name += f"_{{{','.join(subs)}}}"
        return name

    def _call(self, name, args, exp=None):
        return _power(name + _arguments([self._folded(a) for a in args]), exp)

    def _print_exp(self, expr, exp=None):
        """e^{x} for a short exponent, exp(…) for a long one or a fraction."""
        (arg,) = expr.args
        folded = self._folded(arg)
        if "\\frac" in folded or visual_width(folded) > EXPONENT_WIDTH:
            return _power(f"\\exp{_arguments([self._print(arg)])}", exp)
        return _power(f"e^{{{folded}}}", exp)

    def _print_polygamma(self, expr, exp=None):
        order, arg = expr.args
        name = "\\psi" if order == 0 else f"\\psi^{{({self._print(order)})}}"
        return self._call(name, [arg], exp)

    def _print_gamma(self, expr, exp=None):
        return self._call("\\Gamma", expr.args, exp)

    def _print_loggamma(self, expr, exp=None):
        return self._call("\\log\\Gamma", expr.args, exp)

    def _print_beta(self, expr, exp=None):
        return self._call("\\mathrm{B}", expr.args, exp)

    def _bessel(self, letter, expr, exp):
        order, arg = expr.args
        return self._call(f"{letter}_{{{self._print(order)}}}", [arg], exp)

    def _print_besseli(self, expr, exp=None):
        return self._bessel("I", expr, exp)

    def _print_besselj(self, expr, exp=None):
        return self._bessel("J", expr, exp)

    def _print_besselk(self, expr, exp=None):
        return self._bessel("K", expr, exp)

    def _print_log(self, expr, exp=None):
        (arg,) = expr.args
        if arg.is_Symbol or (arg.is_Integer and arg > 0):
            name = "\\log" if exp is None else f"\\log^{{{exp}}}"
            return f"{name} {self._print(arg)}"
        return self._call("\\log", [arg], exp)

    def _print_erf(self, expr, exp=None):
        return self._call("\\operatorname{erf}", expr.args, exp)

    def _print_erfc(self, expr, exp=None):
        return self._call("\\operatorname{erfc}", expr.args, exp)

    def _print_Integral(self, expr):
        tex = super()._print_Integral(expr)
        return re.sub(r"\\, d(\w+)$", r"\\,\\mathrm{d}\1", tex)


def latex(expr, **settings):
    """``expr`` in LaTeX with :class:`GeometryLatexPrinter`.

    >>> k, b = sp.symbols("k b", positive=True)
    >>> latex(sp.gamma(k) * sp.besseli(0, b))
    'I_{0}(b) \\\\Gamma(k)'
    >>> latex(sp.polygamma(0, k))
    '\\\\psi(k)'
    """
    return GeometryLatexPrinter(settings).doprint(expr)


def symbol_latex(name):
    """The LaTeX of a coordinate called ``name``.

    >>> symbol_latex("lam"), symbol_latex("mu1"), symbol_latex("s12")
    ('\\\\lambda', '\\\\mu_{1}', 's_{12}')
    >>> symbol_latex("lam_0"), symbol_latex("p1_0")
    ('\\\\lambda_{0}', 'p_{1,0}')
    """
    return latex(sp.Symbol(name))


# -- widths -----------------------------------------------------------------------

_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_WIDE_COMMANDS = {
    "log": 2.5,
    "exp": 2.5,
    "cos": 2.5,
    "sin": 2.5,
    "quad": 2.0,
    "qquad": 4.0,
    "cdot": 1.2,
    "operatorname": 0.0,
    "mathrm": 0.0,
    "mathit": 0.0,
    "text": 0.0,
    "left": 0.0,
    "right": 0.0,
    "Bigl": 0.0,
    "Bigr": 0.0,
    "bigl": 0.0,
    "bigr": 0.0,
    "limits": 0.0,
    "displaystyle": 0.0,
}
_THIN = {",": 0.3, ";": 0.5, " ": 0.5, "!": -0.2, "{": 1.0, "}": 1.0}


def _group(tex, start):
    """The text of the brace group opening at ``tex[start]`` and the index after."""
    depth = 0
    for index in range(start, len(tex)):
        if tex[index] == "{" and tex[index - 1] != "\\":
            depth += 1
        elif tex[index] == "}" and tex[index - 1] != "\\":
            depth -= 1
            if depth == 0:
                return tex[start + 1 : index], index + 1
    return tex[start + 1 :], len(tex)


def _argument(tex, start):
    """One TeX argument starting at ``start``: a brace group or one token."""
    while start < len(tex) and tex[start] == " ":
        start += 1
    if start < len(tex) and tex[start] == "{":
        return _group(tex, start)
    match = _COMMAND.match(tex, start)
    if match:
        return match.group(0), match.end()
    return tex[start : start + 1], start + 1


def _matrix_width(body):
    rows = [row.split("&") for row in re.split(r"\\\\", body)]
    columns = max(len(row) for row in rows)
    widths = [0.0] * columns
    for row in rows:
        for c, cell in enumerate(row):
            widths[c] = max(widths[c], visual_width(cell))
    return sum(widths) + 2.0 * columns


def nested_fractions(tex):
    """The number of fractions inside the numerator or denominator of another.

    >>> nested_fractions("\\\\frac{1 + \\\\frac{a}{b}}{c} + \\\\frac{1}{d}")
    1
    """
    count = 0
    for match in re.finditer(r"\\frac", tex):
        top, after = _argument(tex, match.end())
        bottom, _ = _argument(tex, after)
        count += "\\frac" in top or "\\frac" in bottom
    return count


def visual_width(tex):
    """Estimated printed width of inline LaTeX math, in characters.

    Fractions count their wider part, scripts 0.7 of their width, spacing and
    sizing commands nothing.

    >>> visual_width("\\\\frac{a + b}{c}") < visual_width("a + b + c")
    True
    """
    width = 0.0
    i = 0
    while i < len(tex):
        char = tex[i]
        if tex.startswith("\\begin{", i):
            env, i = _group(tex, i + 6)
            end = tex.find(f"\\end{{{env}}}", i)
            end = len(tex) if end < 0 else end
            width += _matrix_width(tex[i:end])
            i = end + len(f"\\end{{{env}}}")
        elif char == "\\":
            match = _COMMAND.match(tex, i)
            name = match.group(1)
            i = match.end()
            if name in ("frac", "dfrac", "tfrac"):
                top, i = _argument(tex, i)
                bottom, i = _argument(tex, i)
                width += max(visual_width(top), visual_width(bottom)) + 0.6
            elif name == "sqrt":
                inner, i = _argument(tex, i)
                width += visual_width(inner) + 1.2
            elif name in _WIDE_COMMANDS:
                width += _WIDE_COMMANDS[name]
            else:
                width += _THIN.get(name, 1.0)
        elif char in "^_":
            script, i = _argument(tex, i + 1)
            width += 0.7 * visual_width(script)
        elif char in "{}":
            i += 1
        elif char == " ":
            i += 1
        elif char in "+-=<>":
            width += 2.0
            i += 1
        elif char == "&":
            i += 1
        else:
            width += 1.0
            i += 1
    return width


# -- layout -----------------------------------------------------------------------


def _signed_terms(expr, printer):
    """``[(negative, tex of |term|)]`` in the order SymPy prints the sum."""
    terms = []
    for term in printer._as_ordered_terms(expr, order=None):
        terms.append(sign_and_magnitude(term))
    return terms


def _break(expr, printer, width):
    """Pieces of ``expr`` whose concatenation prints it, each about ``width`` wide."""
    tex = printer.doprint(expr)
    if visual_width(tex) <= width:
        return [tex]
    if expr.is_Add:
        return _break_sum(expr, printer, width)
    if expr.is_Mul or (expr.is_Pow and _breakable(expr.base)):
        return _break_product(expr, printer, width)
    if isinstance(expr, (sp.Integral, sp.Sum)):
        return _break_integral(expr, printer, width)
    if isinstance(expr, sp.Abs):
        return _break_abs(expr, printer, width)
    return [tex]


def _breakable(expr):
    return expr.is_Add or isinstance(expr, (sp.Integral, sp.Sum, sp.Abs))


def _break_integral(expr, printer, width):
    """∫_a^b [ … ] dx or Σ_{k=a}^{b} [ … ] with the integrand (summand) broken
    inside square brackets, or inside its own bars when it is an absolute
    value."""
    tex = printer.doprint(expr)
    if len(expr.limits) != 1 or len(expr.limits[0]) != 3:
        return [tex]
    variable, lower, upper = (printer.doprint(a) for a in expr.limits[0])
    inner = _break(expr.function, printer, width - 4)
    if len(inner) == 1:
        return [tex]
    if isinstance(expr, sp.Sum):
        sign, differential = f"\\sum_{{{variable}={lower}}}^{{{upper}}}", ""
    else:
        sign = f"\\int\\limits_{{{lower}}}^{{{upper}}}"
        differential = f"\\,\\mathrm{{d}}{variable}"
    if isinstance(expr.function, sp.Abs):
        return [f"{sign} {inner[0]}", *inner[1:-1], f"{inner[-1]}{differential}"]
    return [
        f"{sign} \\Bigl[{inner[0]}",
        *inner[1:-1],
        f"{inner[-1]}\\Bigr]{differential}",
    ]


def _break_abs(expr, printer, width):
    """|a − b| with its argument broken between big bars."""
    inner = _break(expr.args[0], printer, width - 2)
    if len(inner) == 1:
        return [printer.doprint(expr)]
    return [f"\\Bigl|{inner[0]}", *inner[1:-1], f"{inner[-1]}\\Bigr|"]


def _break_sum(expr, printer, width):
    terms = [
        (negative, _break(term, printer, width - 2))
        for negative, term in _signed_terms(expr, printer)
    ]
    return _pack(terms, width)


def _pack(terms, width):
    """Lines of ``± term ± term …``; ``terms`` are ``(negative, pieces)`` where the
    pieces of one term are its own lines (one piece: the term fits)."""
    pieces = []
    line = ""
    for index, (negative, parts) in enumerate(terms):
        sign = "-" if negative else ("+" if index else "")
        if len(parts) > 1:
            if line:
                pieces.append(line)
            lead = f"{{}}{sign} " if sign and index else (f"{sign} " if sign else "")
            pieces.append(lead + parts[0])
            pieces.extend(parts[1:-1])
            line = parts[-1]
            continue
        addition = f" {sign} {parts[0]}" if line else f"{sign} {parts[0]}".strip()
        if line and visual_width(line + addition) > width:
            pieces.append(line)
            line = f"{{}}{sign} {parts[0]}"
        else:
            line = (line + addition) if line else addition
    pieces.append(line)
    return pieces


def _break_product(expr, printer, width):
    """A product with long sums or integrals among its factors: the short factors
    first, then each long one broken in turn, a sum or a power in big
    parentheses."""
    negative, magnitude = sign_and_magnitude(expr)
    short, long = [], []
    for factor in sp.Mul.make_args(magnitude):
        base, exponent = factor.as_base_exp()
        if _breakable(base) and visual_width(printer.doprint(base)) > width / 3:
            long.append((base, exponent))
        else:
            short.append(factor)
    if not long:
        return [printer.doprint(expr)]

    rest = printer.doprint(sp.Mul(*short))
    if sp.Mul(*short).is_Add:
        rest = f"\\left({rest}\\right)"
    pieces = [("- " if negative else "") + ("" if rest == "1" else rest)]
    for base, exponent in long:
        inner = _break(base, printer, width - 4)
        if base.is_Add or exponent != 1:
            suffix = "" if exponent == 1 else f"^{{{printer.doprint(exponent)}}}"
            inner[0] = f"\\Bigl({inner[0]}"
            inner[-1] += f"\\Bigr){suffix}"
        if visual_width(pieces[-1] + inner[0]) <= width:
            pieces[-1] = f"{pieces[-1]} {inner[0]}".strip()
            pieces += inner[1:]
        else:
            pieces += inner
    return pieces


def equation_rows(lhs, expr, width=LINE_WIDTH, printer=None):
    """Rows ``lhs &= …`` of an aligned display, broken at top-level signs.

    >>> x = sp.Symbol("x")
    >>> equation_rows("y", x + 1)
    ['y &= x + 1']
    >>> rows = equation_rows("y", sum(sp.gamma(x + n) for n in range(12)), width=30)
    >>> len(rows) > 1 and rows[1].startswith("&\\\\quad {}+")
    True
    """
    printer = printer or GeometryLatexPrinter()
    expr = sp.sympify(expr)
    pieces = _break(expr, printer, max(width - visual_width(lhs), 20))
    return [f"{lhs} &= {pieces[0]}"] + [f"&\\quad {piece}" for piece in pieces[1:]]


def sum_rows(lhs, terms, width=LINE_WIDTH, printer=None):
    """Rows ``lhs &= c_1 m_1 + c_2 m_2 …`` of a sum given term by term.

    ``terms`` are ``(coefficient, factor)`` pairs: a SymPy coefficient and the
    LaTeX of the factor it multiplies (a monomial in velocities, say). A sum as
    coefficient is parenthesised, a coefficient 1 is left out, the terms keep
    their order and an empty sum is 0.

    >>> k = sp.Symbol("k", positive=True)
    >>> sum_rows("a", [(-1 / k, "x^{2}"), (k + 1, "y")])
    ['a &= - \\\\frac{1}{k} x^{2} + \\\\left(k + 1\\\\right) y']
    """
    printer = printer or GeometryLatexPrinter()
    signed = []
    for coefficient, factor in terms:
        negative, magnitude = sign_and_magnitude(sp.sympify(coefficient))
        if magnitude == 1:
            signed.append((negative, [factor]))
            continue
        parts = _break(magnitude, printer, width - visual_width(factor) - 4)
        if magnitude.is_Add:
            parts[0] = ("\\left(" if len(parts) == 1 else "\\Bigl(") + parts[0]
            parts[-1] += "\\right)" if len(parts) == 1 else "\\Bigr)"
        parts[-1] += f" {factor}"
        signed.append((negative, parts))
    if not signed:
        return [f"{lhs} &= 0"]
    pieces = _pack(signed, max(width - visual_width(lhs), 20))
    return [f"{lhs} &= {pieces[0]}"] + [f"&\\quad {piece}" for piece in pieces[1:]]


def arrange(equations, width=LINE_WIDTH):
    """Rows of one aligned display from several equations (each a list of rows):
    two equations side by side when every one is a single row that fits in half
    the width, else one below the other.

    >>> arrange([["a &= 1"], ["b &= 2"], ["c &= 3"]])
    ['a &= 1 & \\\\qquad b &= 2', 'c &= 3']
    """
    single = all(len(rows) == 1 for rows in equations)
    if single and len(equations) > 2:
        if max(visual_width(rows[0]) for rows in equations) <= width / 2 - 4:
            left, right = equations[0::2], equations[1::2]
            paired = [
                f"{a[0]} & \\qquad {b[0]}" for a, b in zip(left, right, strict=False)
            ]
            return paired + ([left[-1][0]] if len(left) > len(right) else [])
    return [row for rows in equations for row in rows]


def symmetric_matrix_rows(lhs, matrix, entry_name, width=MATRIX_WIDTH, printer=None):
    """A symmetric matrix shown once, as rows of an aligned display.

    When the matrix is not 1 × 1, fits in ``width`` and every entry is short
    with at most one fraction, it is one ``pmatrix`` whose entries below the
    diagonal are ``·`` (the mirror of those above) or 0; otherwise the rows list
    the upper-triangle entries ``entry_name(i, j) = …``, each broken as in
    :func:`equation_rows`, with the zero ones gathered in a final sentence-like
    row.

    >>> b = sp.Symbol("b", positive=True)
    >>> (row,) = symmetric_matrix_rows(
    ...     "g", sp.Matrix([[1, 1 / b], [1 / b, 2]]), lambda i, j: f"g_{{{i}{j}}}"
    ... )
    >>> print(row)
    g &= \\begin{pmatrix} 1 & \\frac{1}{b} \\\\ \\cdot & 2 \\end{pmatrix}
    """
    printer = printer or GeometryLatexPrinter()
    n = matrix.shape[0]
    cells = [
        [
            printer.doprint(matrix[i, j])
            if j >= i
            else ("0" if matrix[j, i] == 0 else "\\cdot")
            for j in range(n)
        ]
        for i in range(n)
    ]
    body = " \\\\ ".join(" & ".join(row) for row in cells)
    display = f"\\begin{{pmatrix}} {body} \\end{{pmatrix}}"
    simple = n > 1 and all(_simple_entry(cell) for row in cells for cell in row)
    if simple and visual_width(lhs) + visual_width(display) <= width:
        return [f"{lhs} &= {display}"]

    rows = []
    zeros = []
    for i in range(n):
        for j in range(i, n):
            if matrix[i, j] == 0:
                zeros.append(entry_name(i, j))
            else:
                rows += equation_rows(entry_name(i, j), matrix[i, j], printer=printer)
    if zeros:
        rows += _zero_rows(zeros)
    return rows


def _simple_entry(tex):
    """An entry that reads well inside a matrix, where fractions are set small:
    short, and no fraction inside a fraction."""
    return tex.count("\\frac") <= 1 and visual_width(tex) <= MATRIX_ENTRY_WIDTH


def _zero_rows(names, per_row=6):
    chunks = [names[i : i + per_row] for i in range(0, len(names), per_row)]
    return [", ".join(chunk) + " &= 0" for chunk in chunks]

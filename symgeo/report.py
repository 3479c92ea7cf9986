"""Derivation reports: one document per family, in LaTeX or Markdown.

A report states the family (density or pmf, support, parameters and their
domains, constraints), then for the Fisher metric and for the pullback
Wasserstein-2 metric: the matrix g_ij, its inverse g^ij, the non-zero Christoffel
symbols Γ^k_ij (i ≤ j in coordinate order, Γ^k_ij = Γ^k_ji), the geodesic
equations and the scalar curvature; then the verdict on closure under W2
geodesics, the comparison of the two geometries, a table of what was verified
and how well, and the references of the spec. Conventions are those of
design.md 2 (no factor 1/4 in the Fisher metric, Benamou-Brenier W2 without
1/2, Γ^k_ij stored [k, i, j]).

What symgeo cannot provide (a W2 metric that does not exist, a closure test that
is not available, a derivation that failed) is stated as a sentence in its
place. The output is deterministic: the same family gives the same bytes (no
dates, sorted collections). The formulas are printed by
:mod:`symgeo.latex`; the documents are the jinja2 templates
``templates/report.tex.j2`` and ``templates/report.md.j2``.
"""

import dataclasses
import functools
import importlib
import json
import logging
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import sympy as sp

from .budget import BudgetExceeded, time_budget
from .errors import SpecError, SymgeoError
from .latex import (
    GREEK_ALIASES,
    LINE_WIDTH,
    arrange,
    equation_rows,
    latex,
    nested_fractions,
    sum_rows,
    symbol_latex,
    symmetric_matrix_rows,
    visual_width,
)
from .outputs import writing
from .verify import has_closed_form

log = logging.getLogger(__name__)

FORMATS = {".tex": "tex", ".md": "md"}
METRIC_MARK = {"fisher": "\\mathrm{F}", "wasserstein": "\\mathrm{W}"}
METRIC_NAMES = {
    "fisher": "Fisher metric",
    "wasserstein": "pullback Wasserstein-2 metric",
}
TEMPLATES = Path(__file__).with_name("templates")
LONG_LIST = 6
CELL_WIDTH = 24
DISPLAY_SECONDS = 2.0
WIDER_ALLOWED = 2.0
SHOWN_ITEMS = 4


# -- gathering the derivations --------------------------------------------------


@dataclass
class Derivations:
    """Everything a report shows about one family, and why anything is missing.

    ``missing`` maps ``"fisher"``, ``"wasserstein"``, ``"closure"`` and
    ``"comparison"`` to the sentence that stands in the report where the result
    would be; ``distances`` holds, for a metric that does not exist, the formula
    of the distance itself between two members when it is known.

    >>> from symgeo import load_family
    >>> d = Derivations(load_family("exponential"))
    >>> d.fisher is None
    True
    """

    family: object
    fisher: object = None
    wasserstein: object = None
    closure: object = None
    comparison: object = None
    missing: dict = field(default_factory=dict)
    distances: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    @property
    def metrics(self):
        return {"fisher": self.fisher, "wasserstein": self.wasserstein}


def _optional(module, attribute):
    """``symgeo.<module>.<attribute>``, or None when that module is not there."""
    try:
        return getattr(importlib.import_module(f".{module}", __package__), attribute)
    except (ImportError, AttributeError):
        return None


def _reason(exc):
    """The sentence of a failed or undefined derivation."""
    return sentence(getattr(exc, "reason", None) or str(exc))


def sentence(text):
    """``text`` as a sentence: capital first letter, final full stop.

    >>> sentence("the family is treated as laws on the interval (-pi, pi)")
    'The family is treated as laws on the interval (-pi, pi).'
    """
    text = str(text).strip()
    if not text:
        return text
    text = text if text.endswith((".", "!", "?")) else text + "."
    return text[0].upper() + text[1:]


def _attempt(derivations, key, build, *args, **options):
    start = time.monotonic()
    try:
        value = build(*args, **options)
    except (SymgeoError, NotImplementedError) as exc:
        derivations.missing[key] = _reason(exc)
        if getattr(exc, "distance", None) is not None:
            derivations.distances[key] = exc.distance
        log.info("report of %s: no %s (%s)", derivations.family.name, key, exc)
        value = None
    derivations.seconds[key] = time.monotonic() - start
    return value


_BUILDERS = {
    "fisher": ("fisher", "fisher_metric"),
    "wasserstein": ("wasserstein", "wasserstein_metric"),
    "closure": ("closure", "w2_closure"),
    "comparison": ("compare", "compare"),
}
_UNAVAILABLE = {
    "fisher": "This version of symgeo cannot derive the Fisher metric.",
    "wasserstein": "This version of symgeo cannot derive the pullback "
    "Wasserstein-2 metric.",
    "closure": "This version of symgeo cannot decide closure under W2 geodesics.",
    "comparison": "This version of symgeo cannot compare the two geometries.",
}
_SKIPPED = {
    "fisher": "The Fisher metric was not derived for this report.",
    "wasserstein": "The pullback Wasserstein-2 metric was not derived for this report.",
    "closure": "Closure under W2 geodesics was not tested for this report.",
    "comparison": "The two geometries were not compared for this report.",
}


def derive_all(
    family,
    *,
    fisher=None,
    wasserstein=None,
    closure=None,
    comparison=None,
    verify=True,
    budget=None,
):
    """The derivations a report needs, each computed unless given.

    Each keyword takes a result computed beforehand (so that a build derives a
    family once), None to compute it here, or False to leave it out of the
    report. A result that cannot be had is None, with the sentence saying why in
    ``missing``. ``verify=False`` skips the numerical checks of the metrics
    derived here (much faster; the report then says they were not verified);
    ``budget`` bounds each symbolic integration or solve in seconds (the
    default of each derivation when None).

    >>> from symgeo import load_family
    >>> d = derive_all(load_family("bernoulli"), closure=False)
    >>> d.fisher.matrix
    Matrix([[1/(p*(1 - p))]])
    >>> d.missing["closure"]
    'Closure under W2 geodesics was not tested for this report.'
    """
    derivations = Derivations(family)
    budgeted = {} if budget is None else {"budget": budget}
    given = {
        "fisher": fisher,
        "wasserstein": wasserstein,
        "closure": closure,
        "comparison": comparison,
    }
    for key, value in given.items():
        if value is False:
            derivations.missing[key] = _SKIPPED[key]
        elif value is not None:
            setattr(derivations, key, value)
            continue
        if key in derivations.missing:
            continue
        build = _optional(*_BUILDERS[key])
        if build is None:
            derivations.missing[key] = _UNAVAILABLE[key]
        elif key in ("fisher", "wasserstein"):
            metric = _attempt(
                derivations, key, build, family, verify=verify, **budgeted
            )
            setattr(derivations, key, metric)
        elif key == "closure":
            derivations.closure = _attempt(derivations, key, build, family, **budgeted)
        elif derivations.fisher is None or derivations.wasserstein is None:
            derivations.missing[key] = (
                "The geometries are not compared because only one of the two "
                "metrics exists for this family."
            )
        else:
            derivations.comparison = _attempt(
                derivations, key, build, derivations.fisher, derivations.wasserstein
            )
    return derivations


# -- formulas --------------------------------------------------------------------


def _names_tex(metric, indices):
    """Coordinate names as an index string: ``kb``, ``k\\lambda``, or
    ``\\mu_{1}\\,s_{12}`` (a thin space when a name is more than one letter)."""
    return index_tex([latex(metric.coordinates[a]) for a in indices])


def index_tex(names):
    """LaTeX names joined as indices, with thin spaces when one of them is more
    than one letter.

    >>> index_tex(["k", "\\\\lambda"]), index_tex(["\\\\lambda", "k"])
    ('k\\\\lambda', '\\\\lambda k')
    >>> index_tex(["\\\\mu_{1}", "s_{12}"])
    '\\\\mu_{1}\\\\,s_{12}'
    """
    if not all(re.fullmatch(r"[A-Za-z]|\\[A-Za-z]+", n) for n in names):
        return "\\,".join(names)
    joined = ""
    for name in names:
        after_command = re.search(r"\\[A-Za-z]+$", joined) and name[0].isalpha()
        joined += (" " if after_command else "") + name
    return joined


def _dotted(tex, accent):
    """``\\dot{k}``, ``\\dot{\\mu}_{1}``: the accent on the base of the name."""
    match = re.fullmatch(r"(\\?[A-Za-z]+)(_\{.*\})?", tex)
    if not match:
        return f"\\{accent}{{{tex}}}"
    return f"\\{accent}{{{match.group(1)}}}{match.group(2) or ''}"


def _geodesic_rows(metric):
    """x''^k = −Σ_{i≤j} (2 − δ_ij) Γ^k_ij x'^i x'^j, one row per coordinate, as a
    sum over the velocity monomials (the form of the Christoffel symbols kept)."""
    names = [latex(c) for c in metric.coordinates]
    n = metric.dimension
    rows = []
    for k in range(n):
        terms = []
        for i in range(n):
            for j in range(i, n):
                symbol = metric.christoffel[k, i, j]
                if symbol == 0:
                    continue
                if i == j:
                    monomial = f"{_dotted(names[i], 'dot')}^{{2}}"
                else:
                    monomial = f"{_dotted(names[i], 'dot')} {_dotted(names[j], 'dot')}"
                coefficient = -(1 if i == j else 2) * symbol
                terms.append((display_form(_shorter(coefficient)), monomial))
        rows += sum_rows(_dotted(names[k], "ddot"), terms)
    return rows


def display_form(expr):
    """The form of ``expr`` a report shows: its common factors taken out of a
    cancelled fraction (2(kψ − 1) rather than 2kψ − 2, the same denominator
    throughout), unless that is wider or nests more fractions (a sum of
    fractions, 1/p₁ + 1/(1 − p₁ − p₂), is kept unless one fraction is clearly
    narrower), and over a common denominator when that takes a fraction out of
    another; a piecewise
    formula as one Piecewise, each branch so shown. Each step is bounded in
    time.

    >>> k = sp.Symbol("k", positive=True)
    >>> display_form((2 + 1 / k) / k)
    (2*k + 1)/k**2
    >>> display_form(k / (2 * k * sp.polygamma(1, k) - 2))
    k/(2*(k*polygamma(1, k) - 1))
    >>> display_form(sp.Piecewise((k, k > 2), (0, True)) / k)
    Piecewise((1, k > 2), (0, True))
    """
    if expr.is_Atom:
        return expr
    if expr.has(sp.Piecewise):
        folded = sp.piecewise_fold(expr)
        if isinstance(folded, sp.Piecewise):
            return sp.Piecewise(
                *((display_form(value), condition) for value, condition in folded.args)
            )
    best, tex = expr, latex(expr)
    for step in (
        lambda e: sp.factor_terms(sp.cancel(e)),
        lambda e: sp.factor_terms(sp.together(e)),
    ):
        try:
            with time_budget(DISPLAY_SECONDS, "the displayed form of a formula"):
                candidate = step(best)
        except (BudgetExceeded, sp.PolynomialError):
            continue
        candidate_tex = latex(candidate)
        nested = nested_fractions(candidate_tex) - nested_fractions(tex)
        wider = visual_width(candidate_tex) - visual_width(tex)
        allowed = -WIDER_ALLOWED if best.is_Add else WIDER_ALLOWED
        if nested < 0 or (nested == 0 and wider <= allowed):
            best, tex = candidate, candidate_tex
    return best


def _shorter(expr):
    """``expr`` with common factors cancelled, when that makes it shorter."""
    candidate = sp.factor_terms(sp.cancel(expr))
    return candidate if sp.count_ops(candidate) < sp.count_ops(expr) else expr


def _mark(metric):
    return METRIC_MARK.get(metric.kind, f"\\mathrm{{{metric.kind}}}")


def _integer_beta(expr):
    return isinstance(expr, sp.beta) and any(a.is_Integer for a in expr.args)


def presentable(metric):
    """``metric`` with each beta function that has an integer argument written
    out, B(1, α) = 1/α, so that the matrix and everything derived from it read
    as in papers; the metric as derived is left unchanged.

    >>> from symgeo.metric import Metric
    >>> from symgeo import load_family
    >>> family = load_family("exponential")
    >>> (lam,) = family.symbols
    >>> lomax_like = Metric(family, "fisher", sp.Matrix([[sp.beta(1, lam) / lam]]))
    >>> presentable(lomax_like).matrix
    Matrix([[lam**(-2)]])
    """
    if not any(entry.has(sp.beta) for entry in metric.matrix):
        return metric
    matrix = metric.matrix.applyfunc(
        lambda entry: entry.replace(
            _integer_beta, lambda b: sp.gammasimp(b.rewrite(sp.gamma))
        )
    )
    if matrix == metric.matrix:
        return metric
    return dataclasses.replace(metric, matrix=matrix)


def _metric_section(metric, kind, missing, distance=None, family=None):
    """The context of one metric: rows of displays, or the sentence of its absence
    (and the distance between two members, when that is all there is)."""
    section = {
        "kind": kind,
        "name": METRIC_NAMES.get(kind, kind),
        "available": metric is not None,
        "missing": missing,
        "distance": None,
    }
    if metric is None:
        if distance is not None:
            section["distance"] = distance_rows(_endpoint_formula(distance, family))
        return section
    metric = presentable(metric)
    mark = _mark(metric)
    g = f"g^{{{mark}}}"
    section.update(
        symbol=g,
        dimension=metric.dimension,
        coordinates=", ".join(latex(c) for c in metric.coordinates),
        matrix=symmetric_matrix_rows(
            g,
            metric.matrix.applyfunc(display_form),
            lambda i, j: f"{g}_{{{_names_tex(metric, (i, j))}}}",
        ),
        closed_form=metric.closed_form,
        unevaluated=[
            f"{g}_{{{_names_tex(metric, (i, j))}}}"
            for (i, j), value in metric.entries()
            if not has_closed_form(value)
        ],
        provenance=_provenance(metric, g),
        notes=[sentence(n) for n in metric.notes],
    )
    if not metric.closed_form:
        return section

    region = metric.finite_part[1]
    section["region"] = None if region is sp.true else latex(region)
    inverse = f"(g^{{{mark}}})^{{-1}}"
    section["inverse"] = symmetric_matrix_rows(
        inverse,
        metric.inverse.applyfunc(display_form),
        lambda i, j: f"(g^{{{mark}}})^{{{_names_tex(metric, (i, j))}}}",
    )
    christoffels = []
    for (k, i, j), value in metric.nonzero_christoffels():
        upper = latex(metric.coordinates[k])
        lhs = f"\\Gamma^{{{upper}}}_{{{_names_tex(metric, (i, j))}}}"
        christoffels.append(equation_rows(lhs, display_form(value)))
    section["christoffels"] = arrange(christoffels)
    section["geodesics"] = _geodesic_rows(metric)
    section["curvature"] = equation_rows("R", display_form(metric.scalar_curvature))
    return section


def distance_rows(formula):
    """Rows ``W_2(θ_0, θ_1) &= …``; a square root too wide for the line is shown
    as W_2² = … so that what is under it can be broken.

    >>> p0, p1 = sp.symbols("p_0 p_1", positive=True)
    >>> print(distance_rows(sp.sqrt(sp.Abs(p0 - p1)))[0])
    W_{2}(\\theta_{0}, \\theta_{1}) &= \\sqrt{\\left|{p_{0} - p_{1}}\\right|}
    """
    lhs = "W_{2}(\\theta_{0}, \\theta_{1})"
    square_root = formula.is_Pow and formula.exp == sp.Rational(1, 2)
    if square_root and visual_width(f"{lhs} = {latex(formula)}") > LINE_WIDTH:
        return equation_rows(f"{lhs}^{{2}}", formula.base)
    return equation_rows(lhs, formula)


def _endpoint_formula(formula, family):
    """A formula in the endpoint parameters (``k_0``, ``k1``…) as SymPy, or
    left as text (printed verbatim) when it does not parse."""
    if isinstance(formula, sp.Basic):
        return formula
    from .parsing import parse_expression

    scope = {}
    for symbol in getattr(family, "symbols", ()):
        scope[symbol.name] = symbol
        for suffix in ("_0", "_1", "0", "1"):
            name = f"{symbol.name}{suffix}"
            scope[name] = sp.Symbol(name, **symbol.assumptions0)
    for name in ("k", "t", "x"):
        scope.setdefault(name, sp.Symbol(name))
    try:
        return parse_expression(str(formula), scope, where="a report formula")
    except SymgeoError:
        return sp.Symbol(f"\\texttt{{{escape_tex(formula)}}}")


def _provenance(metric, g):
    """``[(strategy, "g_{kk}, g_{kb}")]``, strategies in alphabetical order; the
    entries left as integrals are said so elsewhere, so they are not listed."""
    by_strategy = {}
    for (i, j), strategy in sorted(metric.provenance.items()):
        if strategy == "unevaluated":
            continue
        by_strategy.setdefault(strategy, []).append(
            f"{g}_{{{_names_tex(metric, (i, j))}}}"
        )
    return sorted(by_strategy.items())


# -- numbers and values ----------------------------------------------------------


def scientific(value, digits=1):
    """``value`` as LaTeX in scientific notation.

    >>> scientific(2.047e-16)
    '2.0 \\\\times 10^{-16}'
    >>> scientific(0.0), scientific(1e-10)
    ('0', '10^{-10}')
    """
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return "\\infty" if value > 0 else "-\\infty"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = value / 10**exponent
    if round(mantissa, digits) == 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    if exponent == 0:
        return f"{mantissa:.{digits}f}"
    if abs(mantissa - 1) < 0.5 * 10**-digits:
        return f"10^{{{exponent}}}"
    return f"{mantissa:.{digits}f} \\times 10^{{{exponent}}}"


def _number(value):
    """A parameter value or a residual, to four significant digits."""
    if isinstance(value, sp.Basic):
        return latex(value)
    value = float(value)
    if value != 0 and not 1e-3 <= abs(value) < 1e5:
        return scientific(value, 3)
    return f"{value:.4g}"


def value_latex(value, family=None):
    """A value of a closure or comparison record as inline LaTeX.

    >>> value_latex({"k": 2.0, "b": 1.5})
    'k = 2, b = 1.5'
    >>> value_latex(True)
    '\\\\text{yes}'
    >>> value_latex(list(range(10)))
    '(0, 1, 2, 3, \\\\ldots) \\\\text{ (10 in all)}'
    """
    if value is None:
        return "\\text{undecided}"
    if isinstance(value, bool):
        return "\\text{yes}" if value else "\\text{no}"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, sp.Basic):
        return latex(value)
    if isinstance(value, dict):
        return ", ".join(
            f"{latex(sp.Symbol(str(k)))} = {value_latex(v, family)}"
            for k, v in value.items()
        )
    if isinstance(value, (list, tuple)) and len(value) > LONG_LIST:
        shown = ", ".join(value_latex(v, family) for v in value[:SHOWN_ITEMS])
        return f"({shown}, \\ldots) \\text{{ ({len(value)} in all)}}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(value_latex(v, family) for v in value) + ")"
    return _expression_latex(str(value), family)


def _expression_latex(text, family):
    """A formula given as text, printed by the LaTeX printer when it parses."""
    from .parsing import parse_expression

    scope = {}
    if family is not None:
        scope = {str(s): s for s in family.symbols}
        if family.variable is not None:
            scope[str(family.variable)] = family.variable
    scope.setdefault("t", sp.Symbol("t"))
    scope.setdefault("u", sp.Symbol("u"))
    try:
        return latex(parse_expression(text, scope, where="a report value"))
    except (SymgeoError, SyntaxError, TypeError, ValueError):
        return f"\\text{{{escape_tex(text)}}}"


# -- closure and comparison ----------------------------------------------------------


def _record(result):
    as_dict = getattr(result, "as_dict", None)
    return as_dict() if callable(as_dict) else dict(vars(result))


def closure_context(closure, family=None):
    """The closure verdict as ``{verdict, method, rows, notes}`` for a report."""
    family = family if hasattr(family, "symbols") else None
    record = _record(closure)
    closed = getattr(closure, "closed", record.get("closed"))
    verdict = {
        True: "closed under W2 geodesics",
        False: "not closed under W2 geodesics",
        None: "undecided: symgeo could neither prove nor refute closure",
    }[closed]
    rows = []
    certificate = getattr(closure, "certificate", record.get("certificate"))
    if closed and certificate is not None:
        rows += _certificate_rows(certificate, family)
    counterexample = getattr(closure, "counterexample", record.get("counterexample"))
    if closed is False and counterexample is not None:
        rows += _counterexample_rows(counterexample, family)
    return {
        "closed": closed,
        "verdict": verdict,
        "method": str(getattr(closure, "method", record.get("method", ""))),
        "rows": rows,
        "notes": [
            sentence(n) for n in getattr(closure, "notes", record.get("notes", ()))
        ],
    }


def _certificate_rows(certificate, family):
    """Rows ``θ_i(t) &= …`` of the certificate. When a formula is too long for
    one line, its square roots are named (r_1 = √…) and defined below it."""
    if not isinstance(certificate, dict):
        certificate = {"theta": certificate}
    lhs = [f"{latex(sp.Symbol(str(name)))}(t)" for name in certificate]
    formulas = [_endpoint_formula(f, family) for f in certificate.values()]
    rows = [equation_rows(left, f) for left, f in zip(lhs, formulas, strict=True)]
    if all(len(r) == 1 for r in rows):
        return [r[0] for r in rows]

    formulas, roots = name_roots(formulas, _free_letter(family, "rqw"))
    formulas = [
        min((f, sp.factor_terms(f)), key=lambda e: visual_width(latex(e)))
        for f in formulas
    ]
    rows = [equation_rows(left, f) for left, f in zip(lhs, formulas, strict=True)]
    rows += [equation_rows(latex(symbol), root) for symbol, root in roots]
    return [row for r in rows for row in r]


def _free_letter(family, letters):
    """The first of ``letters`` that starts no coordinate name of ``family``."""
    taken = {s.name[0] for s in getattr(family, "symbols", ())}
    return next((c for c in letters if c not in taken), letters[0])


def _roots(expr):
    """The square roots (and their reciprocals) in ``expr`` whose radicand is
    not a symbol or a number."""
    return {
        p
        for p in sp.preorder_traversal(expr)
        if p.is_Pow and abs(p.exp) == sp.Rational(1, 2) and not p.base.is_Atom
    }


def name_roots(formulas, letter="r"):
    """``formulas`` with their square roots replaced by symbols ``letter``\\ :sub:`i`,
    innermost first, and the list ``[(symbol, root)]`` defining them.

    >>> a, b, t = sp.symbols("a b t", positive=True)
    >>> name_roots([t * sp.sqrt(a + b) + 1 / sp.sqrt(a + 2 * sp.sqrt(a + b))])
    ([r1*t + 1/r2], [(r1, sqrt(a + b)), (r2, sqrt(a + 2*r1))])
    """
    roots = []
    while True:
        found = set().union(*(_roots(f) for f in formulas))
        innermost = sorted(
            {p.base for p in found if not _roots(p.base)}, key=sp.default_sort_key
        )
        if not innermost:
            return formulas, roots
        mapping = {}
        for base in innermost:
            root = sp.Symbol(f"{letter}{len(roots) + 1}", positive=True)
            roots.append((root, sp.sqrt(base)))
            mapping[sp.sqrt(base)] = root
            mapping[1 / sp.sqrt(base)] = 1 / root
        formulas = [f.xreplace(mapping) for f in formulas]


def _counterexample_rows(counterexample, family):
    if not isinstance(counterexample, dict):
        return [f"&{value_latex(counterexample, family)}"]
    labels = {
        "from": "\\theta_{0}",
        "to": "\\theta_{1}",
        "t": "t",
        "residual": "\\text{distance to the family}",
        "w2": "W_{2}(\\theta_{0}, \\theta_{1})",
        "nearest": "\\text{nearest member } \\theta^{*}",
        "quadrature_error": "\\text{quadrature error}",
        "noise_level": "\\text{noise level}",
    }
    rows = []
    for key, value in counterexample.items():
        label = labels.get(key, f"\\text{{{escape_tex(str(key))}}}")
        rows.append(f"{label} &: {value_latex(value, family)}")
    return rows


_COMPARISON_LABELS = {
    "conformal": "conformal (g^W = f g^F)",
    "same_geodesics": "same geodesics (projectively equivalent)",
}
_REPORT_LABELS = {
    "conformal": r"conformal, $g^{\mathrm{W}} = f \, g^{\mathrm{F}}$",
    "conformal factor f": "conformal factor $f$",
    "same_geodesics": "same geodesic paths (projectively equivalent)",
    "alignment spread (least, greatest)": r"spread of the eigenvalues of "
    r"$(g^{\mathrm{W}})^{-1} g^{\mathrm{F}}$ (largest over smallest), least and "
    "greatest at the sample points",
}
_RATIO = re.compile(r"(\w+) lines \(.*\): induced metrics, ratio W2 / Fisher")


def _formula_lhs(key, family):
    """The symbol a formula of the comparison is displayed under: f for the
    conformal factor, g^W_aa / g^F_aa for the ratio along the a-lines."""
    if key == "conformal factor f":
        return "f"
    match = _RATIO.fullmatch(key)
    if match:
        a = prose_names(family).get(match.group(1), match.group(1))
        index = index_tex([a, a])
        wasserstein, fisher = (f"g^{{\\mathrm{{{m}}}}}_{{{index}}}" for m in "WF")
        return f"\\frac{{{wasserstein}}}{{{fisher}}}"
    return f"\\text{{{escape_tex(key)}}}"


def comparison_context(comparison, family=None):
    """The comparison for a report.

    ``items`` are ``(label, inline LaTeX)`` of every verdict; ``table`` the rows
    of the report's table, ``(label, inline LaTeX)`` with labels in prose (math
    between dollars) and a formula too tall for a table cell replaced by a
    pointer to ``formulas``, the rows of a display below it; and ``notes``.
    """
    family = family if hasattr(family, "symbols") else None
    record = _record(comparison)
    items, table, formulas = [], [], []
    notes = [sentence(n) for n in record.pop("notes", ())]
    for key, value in record.items():
        if key in ("family", "parameters", "fisher", "wasserstein"):
            continue
        label = _COMPARISON_LABELS.get(key, key.replace("_", " "))
        cell = value_latex(value, family)
        items.append((label, cell))
        if isinstance(value, sp.Basic) and not _fits_a_cell(cell):
            formulas.append(
                equation_rows(_formula_lhs(key, family), display_form(value))
            )
            cell = "\\text{displayed below}"
        table.append((_REPORT_LABELS.get(key, label), cell))
    return {
        "items": items,
        "table": table,
        "formulas": arrange(formulas),
        "notes": notes,
    }


def _fits_a_cell(tex):
    return tex.count("\\frac") <= 1 and visual_width(tex) <= CELL_WIDTH


# -- notebook and terminal displays ------------------------------------------------


def _display(rows):
    body = " \\\\ ".join(rows)
    return f"$\\displaystyle \\begin{{aligned}} {body} \\end{{aligned}}$"


def _name_tex(name):
    """A family name in math mode, for MathJax and for LaTeX alike."""
    return "\\mathtt{" + str(name).replace("_", "\\_") + "}"


def _math_prose(text, names=None):
    """Prose in math mode for MathJax: text in ``\\text{…}`` and what reads as
    mathematics (the words of ``names`` among it) as mathematics.

    >>> _math_prose("lam lines (k fixed)", {"lam": "\\\\lambda", "k": "k"})
    '\\\\lambda \\\\text{ lines (} k \\\\text{ fixed)}'
    """
    return " ".join(
        piece if is_math else f"\\text{{{_plain(piece)}}}"
        for is_math, piece in _segments(str(text), names or {})
    )


def metric_latex(metric):
    """The metric as LaTeX for Jupyter: its title and its full matrix.

    >>> from symgeo import fisher_metric, load_family
    >>> text = metric_latex(fisher_metric(load_family("gamma")))
    >>> text.startswith("$\\\\displaystyle"), "\\\\psi^{(1)}(k)" in text
    (True, True)
    """
    coordinates = ", ".join(latex(c) for c in metric.coordinates)
    title = METRIC_NAMES.get(metric.kind, metric.kind)
    matrix = presentable(metric).matrix.applyfunc(display_form)
    return _display(
        [
            f"&\\text{{{title} of }} {_name_tex(metric.family.name)} "
            f"\\text{{ in }} ({coordinates})",
            f"g^{{{_mark(metric)}}} &= {latex(matrix)}",
        ]
    )


def closure_latex(closure, family=None):
    """The closure verdict as LaTeX for Jupyter (``_repr_latex_``): the verdict,
    the method, and the certificate or the counterexample.

    >>> from symgeo import load_family
    >>> from symgeo.closure import w2_closure
    >>> text = closure_latex(w2_closure(load_family("exponential")))
    >>> "\\\\mathtt{exponential}" in text, "\\\\lambda(t) &= " in text
    (True, True)
    """
    family = family or getattr(closure, "family", None)
    context = closure_context(closure, family)
    name = family if isinstance(family, str) else getattr(family, "name", None)
    head = f"\\text{{{_plain(context['verdict'])}}}"
    if name:
        head = f"{_name_tex(name)} \\text{{: }} {head}"
    rows = [f"&{head}"]
    if context["method"]:
        rows.append(f"&\\text{{method: {_plain(context['method'])}}}")
    return _display(rows + context["rows"])


def comparison_latex(comparison, family=None):
    """The comparison of the two geometries as LaTeX for Jupyter: one row per
    verdict, labels with the parameter names as mathematics."""
    family = family or getattr(comparison, "family", None)
    context = comparison_context(comparison, family)
    names = prose_names(family) if hasattr(family, "symbols") else {}
    rows = [
        f"{_math_prose(label, names)} &: {value}"
        for (label, _), (_, value) in zip(
            context["table"], context["items"], strict=True
        )
    ]
    return _display(rows or ["&\\text{nothing to compare}"])


def _plain(text):
    """Text for ``\\text{...}`` in MathJax: braces and backslashes removed."""
    return re.sub(r"[\\{}$^_%#&~]", " ", str(text))


def closure_text(closure):
    """The closure verdict as terminal text (``__str__``)."""
    record = _record(closure)
    closed = getattr(closure, "closed", record.get("closed"))
    verdict = {True: "closed", False: "not closed", None: "undecided"}[closed]
    lines = [f"closure under W2 geodesics: {verdict}"]
    method = getattr(closure, "method", record.get("method"))
    if method:
        lines.append(f"  method: {method}")
    for key in ("certificate", "counterexample"):
        value = getattr(closure, key, record.get(key))
        if value is not None:
            lines.append(f"  {key}: {_text_value(value)}")
    lines += [
        f"  note: {n}" for n in getattr(closure, "notes", record.get("notes", ()))
    ]
    return "\n".join(lines)


def comparison_text(comparison):
    """The comparison of the two geometries as terminal text (``__str__``)."""
    record = _record(comparison)
    notes = record.pop("notes", ())
    lines = ["comparison of the Fisher and Wasserstein geometries:"]
    for key, value in record.items():
        label = _COMPARISON_LABELS.get(key, key.replace("_", " "))
        lines.append(f"  {label}: {_text_value(value)}")
    lines += [f"  note: {n}" for n in notes]
    return "\n".join(lines)


def _text_value(value):
    if value is None:
        return "undecided"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_text_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_text_value(v) for v in value) + ")"
    return str(value)


# -- the document -------------------------------------------------------------------


def _support_latex(family):
    x = latex(family.variable)
    lo, hi = family.support
    if family.is_discrete:
        if family.finite_support is not None and len(family.finite_support) <= 4:
            points = ", ".join(str(n) for n in family.finite_support)
            return f"{x} \\in \\{{{points}\\}}"
        top = "\\ldots" if hi.is_infinite else f"\\ldots, {latex(hi)}"
        return f"{x} \\in \\{{{latex(lo)}, {latex(lo + 1)}, {top}\\}}"
    return f"{x} \\in ({latex(lo)}, {latex(hi)})"


def _domain_latex(domain):
    left = "(" if domain.lower_open else "["
    right = ")" if domain.upper_open else "]"
    return f"{left}{latex(domain.lower)}, {latex(domain.upper)}{right}"


def _family_context(family):
    coordinates = ", ".join(latex(s) for s in family.symbols)
    context = {
        "name": family.name,
        "title": family.title,
        "kind": family.kind,
        "coordinates": coordinates,
        "parameters": [
            {
                "name": p.name,
                "symbol": latex(p.symbol),
                "domain": _domain_latex(p.domain),
            }
            for p in family.parameters
        ],
        "constraints": [latex(c) for c in family.constraints],
        "references": list(family.references),
        "spec_hash": family.spec_hash[:12],
    }
    if family.kind == "gaussian":
        d = family.extra["dimension"]
        half = str(d // 2) if d % 2 == 0 else f"{d}/2"
        context["what"] = "density"
        context["density"] = [
            f"p(x; {coordinates}) &= (2\\pi)^{{-{half}}} (\\det\\Sigma)^{{-1/2}} "
            "\\exp\\Bigl(-\\tfrac{1}{2} (x - m)^{\\top} \\Sigma^{-1} (x - m)\\Bigr)",
            *equation_rows("m", family.extra["mean"]),
            *equation_rows("\\Sigma", family.extra["covariance"]),
        ]
        context["support"] = f"x \\in \\mathbb{{R}}^{{{d}}}"
        return context
    x = latex(family.variable)
    context["what"] = "pmf" if family.is_discrete else "density"
    lhs = f"p({x}; {coordinates})"
    if family.is_discrete:
        lhs = f"P(X = {x}) = {lhs}"
    context["density"] = equation_rows(lhs, family.density)
    context["support"] = _support_latex(family)
    return context


def _verification_method(verification):
    if verification is None:
        return "not verified"
    if not verification.points:
        return "nothing to check: no entry has a closed form"
    return verification.method


def report_context(derivations):
    """The template context of a report: pre-printed formulas and sentences."""
    from . import __version__

    family = derivations.family
    metrics = [
        _metric_section(
            metric,
            kind,
            derivations.missing.get(kind),
            derivations.distances.get(kind),
            family,
        )
        for kind, metric in derivations.metrics.items()
    ]
    verification = []
    for kind, metric in derivations.metrics.items():
        if metric is None:
            continue
        v = metric.verification
        verification.append(
            {
                "metric": METRIC_NAMES.get(kind, kind),
                "verified": v is not None and bool(v.points),
                "method": _verification_method(v),
                "points": len(v.points) if v else 0,
                "at": [
                    "(" + ", ".join(_number(x) for x in point.values()) + ")"
                    for point in v.points
                ]
                if v
                else [],
                "worst": scientific(v.worst_relative_error) if v else "",
                "tolerance": scientific(v.tolerance) if v else "",
                "unevaluated": len(v.unevaluated) if v else 0,
            }
        )
    closure = derivations.closure
    comparison = derivations.comparison
    return {
        "family": _family_context(family),
        "metrics": metrics,
        "closure": closure_context(closure, family) if closure is not None else None,
        "closure_missing": derivations.missing.get("closure"),
        "comparison": comparison_context(comparison, family)
        if comparison is not None
        else None,
        "comparison_missing": derivations.missing.get("comparison"),
        "verification": verification,
        "version": __version__,
    }


# -- escaping and templates ------------------------------------------------------------

_TEX_SPECIAL = {
    "\\": "\\textbackslash{}",
    "{": "\\{",
    "}": "\\}",
    "$": "\\$",
    "&": "\\&",
    "#": "\\#",
    "^": "\\textasciicircum{}",
    "_": "\\_",
    "%": "\\%",
    "~": "\\textasciitilde{}",
    "|": "$|$",
    "<": "$<$",
    ">": "$>$",
}


def _unicode_name(letter):
    return letter.upper().replace("LAMBDA", "LAMDA")


_GREEK = {
    unicodedata.lookup(f"GREEK SMALL LETTER {_unicode_name(name)}"): f"\\{name}"
    for name in (
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
        "pi rho sigma tau upsilon phi chi psi omega"
    ).split()
}
_GREEK |= {
    unicodedata.lookup(f"GREEK CAPITAL LETTER {_unicode_name(name)}"): f"\\{name}"
    for name in "Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega".split()
}
_TEX_SYMBOLS = {
    **_GREEK,
    "∂": "\\partial",
    "√": "\\surd",
    "∞": "\\infty",
    "≤": "\\le",
    "≥": "\\ge",
    "≠": "\\ne",
    "≈": "\\approx",
    "→": "\\to",
    "−": "-",
    "·": "\\cdot",
    "×": "\\times",
    "∫": "\\int",
    "∑": "\\sum",
    "∈": "\\in",
    "ℝ": "\\mathbb{R}",
    "∇": "\\nabla",
    "↦": "\\mapsto",
    "½": "\\tfrac{1}{2}",
    "±": "\\pm",
    "∝": "\\propto",
    "≡": "\\equiv",
    "⊂": "\\subset",
    "∘": "\\circ",
    "‖": "\\|",
    "⟨": "\\langle",
    "⟩": "\\rangle",
    "ᵀ": "^{\\top}",
    "²": "^{2}",
    "³": "^{3}",
    "¹": "^{1}",
    "⁻": "^{-}",
    "₀": "_{0}",
    "₁": "_{1}",
    "₂": "_{2}",
    "ᵢ": "_{i}",
    "ⱼ": "_{j}",
}
_TEXT_SYMBOLS = {"–": "--", "—": "---", "…": "\\ldots{}", "‘": "`", "’": "'"}
_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0306": "u",
    "\u0308": '"',
    "\u030c": "v",
    "\u0327": "c",
}
_OPENING_QUOTE = re.compile(r"(?<![A-Za-z0-9])'(?=[^'\n]*'(?![A-Za-z]))")


def _escape_char(char):
    if char in _TEX_SPECIAL:
        return _TEX_SPECIAL[char]
    if char in _TEX_SYMBOLS:
        return f"${_TEX_SYMBOLS[char]}$"
    if char in _TEXT_SYMBOLS:
        return _TEXT_SYMBOLS[char]
    if ord(char) < 128:
        return char
    base, *marks = unicodedata.normalize("NFKD", char)
    if ord(base) < 128 and marks and all(m in _ACCENTS for m in marks):
        for mark in marks:
            base = f"\\{_ACCENTS[mark]}{{{base}}}"
        return base
    ascii_form = unicodedata.normalize("NFKD", char).encode("ascii", "ignore")
    return ascii_form.decode() or "?"


_GREEK_NAMES = {tex[1:]: tex for tex in _GREEK.values()}
_GREEK_CHARS = "".join(_GREEK) + "∂"
_MATH_TOKENS = (
    r"(?P<sci>(?<![\w.])\d+(?:\.\d+)?e[+-]?\d+(?![\w.]))"
    r"|(?P<relation><=|>=|!=)"
    r"|(?P<times>(?<=[\w)])\*(?=[\w(]))"
    rf"|(?<![\w\\])(?P<base>[A-Za-z]|[{_GREEK_CHARS}])"
    rf"_(?P<sub>\d+|[A-Za-z{''.join(_GREEK)}](?![a-z0-9_]))"
    r"|(?<![\w\\])(?P<word>[A-Za-z]{2,})_(?P<index_letter>\d+|[ijk](?![a-z0-9_]))"
    rf"|(?<![A-Za-z\\])(?P<greek>[{''.join(_GREEK)}])(?P<index>\d+)(?!\d|\.\d)"
    r"|(?:\^|(?<=[\w)])\*\*)(?P<exponent>-?\d+(?!\d|\.\d)|\([\w/+\-. ]*\))"
)
_RELATIONS = {"<=": "\\le", ">=": "\\ge", "!=": "\\ne"}
_ENGLISH_LETTERS = {"a", "A", "I"}


def _math_name(word):
    """``\\mu`` for ``mu`` and ``μ``, ``\\mathrm{score}`` for ``score``."""
    if word in _TEX_SYMBOLS:
        return _TEX_SYMBOLS[word]
    if word in _GREEK_NAMES or word in GREEK_ALIASES:
        return _GREEK_NAMES[GREEK_ALIASES.get(word, word)]
    return word if len(word) == 1 else f"\\mathrm{{{word}}}"


def _math_token(match):
    """The inline LaTeX of one match of :data:`_MATH_TOKENS`."""
    kind = match.lastgroup
    text = match.group(0)
    if kind == "dollar":
        return text[1:-1]
    if kind == "sci":
        mantissa, exponent = text.split("e")
        return scientific(
            float(f"{mantissa}e{exponent}"),
            len(mantissa.split(".")[1]) if "." in mantissa else 0,
        )
    if kind == "relation":
        return _RELATIONS[text]
    if kind == "times":
        return "\\cdot "
    if kind in ("base", "sub"):
        subscript = _TEX_SYMBOLS.get(match.group("sub"), match.group("sub"))
        return f"{_math_name(match.group('base'))}_{{{subscript}}}"
    if kind in ("word", "index_letter"):
        return f"{_math_name(match.group('word'))}_{{{match.group('index_letter')}}}"
    if kind in ("greek", "index"):
        return f"{_math_name(match.group('greek'))}_{{{match.group('index')}}}"
    exponent = match.group("exponent")
    if exponent.startswith("("):
        exponent = "".join(_TEX_SYMBOLS.get(c, c) for c in exponent[1:-1])
        exponent = re.sub(
            r"[A-Za-z]{2,}", lambda word: _math_name(word.group()), exponent
        )
    return f"^{{{exponent}}}"


@functools.cache
def _tokens(names):
    """The pattern of :func:`_segments`: :data:`_MATH_TOKENS`, and for prose
    (``names`` not None) ``$…$`` spans, Greek names given a value and the words
    of ``names``."""
    if names is None:
        return re.compile(_MATH_TOKENS)
    words = [
        f"{re.escape(w)}(?= lines?\\b|[,;)]|$)"
        if w in _ENGLISH_LETTERS
        else re.escape(w)
        for w in sorted(names, key=len, reverse=True)
    ]
    named = rf"|(?<![\w\\])(?P<name>{'|'.join(words)})(?![\w(])" if words else ""
    return re.compile(
        r"(?P<dollar>\$[^$\n]+\$)"
        + named
        + rf"|(?<![\w\\])(?P<fixed>{'|'.join(_GREEK_NAMES)})(?= = \d)|"
        + _MATH_TOKENS
    )


def _segments(text, names=None):
    """``text`` cut into ``[(is_math, piece)]``: plain text, and inline LaTeX for
    what reads as mathematics (θ_1, Σ0, x^(1/2), 1e-10, <=, score_i). For prose,
    ``names`` (possibly empty) maps words to their LaTeX, and ``$…$`` spans and
    a Greek name given a value (nu = 5) are mathematics too."""
    pattern = _tokens(None if names is None else tuple(sorted(names)))
    pieces = []
    position = 0
    for match in pattern.finditer(text):
        pieces.append((False, text[position : match.start()]))
        if match.lastgroup == "name":
            pieces.append((True, names[match.group("name")]))
        elif match.lastgroup == "fixed":
            pieces.append((True, _GREEK_NAMES[match.group("fixed")]))
        else:
            pieces.append((True, _math_token(match)))
        position = match.end()
    pieces.append((False, text[position:]))

    merged = []
    for is_math, piece in pieces:
        if merged and is_math and merged[-1][0]:
            merged[-1] = (True, f"{merged[-1][1]} {piece}")
        elif piece:
            merged.append((is_math, piece))
    return merged


def prose_names(family):
    """The words of prose that name a coordinate of ``family``, with their
    LaTeX: each parameter name, and its endpoint forms (``lam0``, ``lam_1``).

    >>> from symgeo import load_family
    >>> names = prose_names(load_family("weibull"))
    >>> names["lam"], names["lam0"], names["k_1"]
    ('\\\\lambda', '\\\\lambda_{0}', 'k_{1}')
    """
    names = {}
    for symbol in getattr(family, "symbols", ()):
        names[symbol.name] = latex(symbol)
        for end in ("0", "1"):
            for suffix in (end, f"_{end}"):
                names[f"{symbol.name}{suffix}"] = symbol_latex(f"{symbol.name}_{end}")
    return names


def escape_tex(text, names=None):
    r"""Plain text (an error message, a method, a note) as LaTeX text for pdflatex.

    Special characters are escaped; Unicode mathematics (θ, ≤, √, ²), a name
    with a subscript (θ_1, Σ0, and a word with an index, score_i), a power
    (x^-2, **(1/k)), a number in e-notation and <= become inline math; accented
    letters become TeX accents; other non-ASCII characters fall back to their
    ASCII form. ``names`` maps words (parameter names) to their LaTeX.

    >>> escape_tex("E[score_i] ≤ 1e-10 at θ_1 = 2 & 50%")
    'E[$\\mathrm{score}_{i}$] $\\le$ $10^{-10}$ at $\\theta_{1}$ = 2 \\& 50\\%'
    >>> print(escape_tex("1/2-Hölder in W2 of 'poisson'"))
    1/2-H\"{o}lder in W2 of `poisson'
    >>> print(escape_tex("lam0 <= 2.5e-3, Σ0", {"lam0": "\\lambda_{0}"}))
    $\lambda_{0}$ $\le$ $2.5 \times 10^{-3}$, $\Sigma_{0}$
    """
    text = _OPENING_QUOTE.sub("\u2018", str(text))
    out = []
    for is_math, piece in _segments(text, names):
        if is_math:
            out.append(f"${piece}$")
        else:
            out += [_escape_char(c) for c in piece]
    return "".join(out).replace("$$", "")


def escape_md(text, names=None):
    r"""Plain text as Markdown: what reads as mathematics as in :func:`escape_tex`
    becomes ``$…$``, and characters Markdown or the math renderer would read are
    backslash-escaped.

    >>> escape_md("E[score_i] | 2*x $5")
    'E[$\\mathrm{score}_{i}$] \\| 2$\\cdot $x \\$5'
    """
    out = []
    for is_math, piece in _segments(str(text), names):
        if is_math:
            out.append(f"${piece}$")
        else:
            out.append(re.sub(r"([\\`*_|$<>#])", r"\\\1", piece))
    return "".join(out)


def _breakable_tex(text):
    """LaTeX text in which a long identifier may break after a dot or an
    underscore (``scipy.linalg.solve_continuous_lyapunov`` in a table cell)."""
    text = escape_tex(text)
    text = text.replace("\\_", "\\_\\allowbreak{}")
    return re.sub(r"(?<=[a-z])\.(?=[a-z])", ".\\\\allowbreak{}", text)


def _environment(fmt, names):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        block_start_string="<%",
        block_end_string="%>",
        variable_start_string="<<",
        variable_end_string=">>",
        comment_start_string="<#",
        comment_end_string="#>",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    escape = escape_tex if fmt == "tex" else escape_md
    env.filters["text"] = escape
    env.filters["prose"] = lambda text: escape(text, names)
    env.filters["rows"] = lambda rows: " \\\\\n".join(rows)
    env.filters["inline_list"] = lambda items: ", ".join(f"${x}$" for x in items)
    if fmt == "tex":
        env.filters["code"] = lambda text: "".join(_escape_char(c) for c in text)
        env.filters["breakable"] = lambda tex: tex.replace(", ", ",\\allowbreak ")
        env.filters["breakable_text"] = _breakable_tex
    else:
        env.filters["code"] = str
        env.filters["breakable"] = lambda tex: tex
        env.filters["breakable_text"] = escape
    return env


def render_report(family_or_derivations, fmt="tex"):
    """The report of a family as a string, ``fmt`` ``"tex"`` or ``"md"``.

    >>> from symgeo import load_family
    >>> text = render_report(load_family("exponential"), "md")
    >>> "$$" in text and "\\\\lambda" in text
    True
    """
    if fmt not in FORMATS.values():
        raise SpecError(f"unknown report format {fmt!r}; write 'tex' or 'md'")
    derivations = family_or_derivations
    if not isinstance(derivations, Derivations):
        derivations = derive_all(derivations)
    context = report_context(derivations)
    names = prose_names(derivations.family)
    template = _environment(fmt, names).get_template(f"report.{fmt}.j2")
    return template.render(**context)


def report_format(path):
    """``"tex"`` or ``"md"`` from the suffix of ``path``.

    >>> report_format("gamma.md")
    'md'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise SpecError(
            f"cannot tell the report format of {str(path)!r}; "
            "give a file name ending in .tex or .md"
        )
    return FORMATS[suffix]


def write_report(family_or_derivations, path):
    """Write the report to ``path`` (.tex or .md) and return the path."""
    path = Path(path)
    text = render_report(family_or_derivations, report_format(path))
    with writing("the report", path):
        path.write_text(text, encoding="utf-8")
    log.info("report written to %s", path)
    return path


def build_report_files(build):
    """``{"report.tex": text, "report.md": text}`` of one family for
    :mod:`symgeo.build` (``build`` is its ``FamilyBuild``).

    The metrics the build derived and verified are used as they are; a metric
    the build skipped is derived again here so that the report can state why
    it does not exist, and the closure and the comparison are derived here.
    """
    given = {kind: build.metrics.get(kind) for kind in ("fisher", "wasserstein")}
    derivations = derive_all(build.family, **given)
    files = {f"report.{fmt}": render_report(derivations, fmt) for fmt in ("tex", "md")}
    files["closure.json"] = closure_json(build.family, derivations)
    return files


def closure_json(family, derivations):
    """The closure verdict of one family for the catalog table (a JSON text)."""
    closure = derivations.closure
    record = {"family": family.name}
    if closure is None:
        record.update(
            verdict="not tested",
            method="",
            evidence=derivations.missing.get("closure", ""),
        )
    else:
        record.update(
            verdict=closure.verdict, method=closure.method, evidence=closure.evidence()
        )
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_reports(family, directory, derivations=None):
    """Write ``report.tex`` and ``report.md`` of ``family`` into ``directory``.

    The family is derived once (or ``derivations`` from :func:`derive_all` is
    used); the files are deterministic. Returns the two paths.
    """
    derivations = derivations or derive_all(family)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_report(derivations, directory / f"report.{suffix}")
        for suffix in ("tex", "md")
    ]

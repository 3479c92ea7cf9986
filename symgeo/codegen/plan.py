"""The plan of a kernel module: what each function computes, after one CSE.

A :class:`KernelPlan` gathers the unique non-zero components of a metric — the
upper triangle of g_ij and of g^ij, the Christoffel symbols Γ^k_ij with i ≤ j
(stored ``[k, i, j]``) and the scalar curvature R — rewrites them in
numerically stable form (:mod:`symgeo.codegen.rewrite`), replaces each
unevaluated integral by a placeholder (evaluated by quadrature), and runs ONE
common subexpression elimination (:func:`sympy.cse`) over all of them. Each
kernel function (``metric``, ``inverse_metric``, ``christoffel``,
``geodesic_rhs``, ``scalar_curvature``) then keeps only the statements its
outputs depend on, and a temporary used once is written back into its single
use, so that the printed code holds one fused expression per output.

The geodesic right-hand side is y' = (v, a) with
a^k = −Σ_{i≤j} (2 − δ_ij) Γ^k_ij v^i v^j, built from the same reduced
Christoffel expressions.

A metric that is finite only in a region of the parameter space (the W2 metric
of Pareto: entries ``Piecewise((g_ij, alpha > 2), (oo, True))``) is generated
from its finite part, and the region becomes part of the kernels' domain: a
point outside it raises ValueError, since neither g nor Γ is finite there. An
entry that is a nested integral (the W2 :class:`~symgeo.wasserstein.CdfIntegral`
∫ ∂_iF ∂_jF / p dx with ∂_iF itself an integral) has no plan: its Christoffel
symbols and curvature would be derivatives of nested integrals, which SymPy
expands into expressions of 10^5 operations in minutes. Such a metric's kernels
come from its quantile embedding instead (:mod:`.pullback`), and
:func:`finite_region` raises :class:`CodegenError` if it is asked for a plan.
"""

import keyword
import logging
from dataclasses import dataclass, field

import sympy as sp

from ..geometry import finite_branch
from .printers import CodegenError
from .quadrature import lower_integral
from .rewrite import stabilise

log = logging.getLogger(__name__)

RESERVED = {"np", "_sc", "mpmath", "mpf", "out", "dps", "t", "y", "points"}
FUNCTIONS = (
    "metric",
    "inverse_metric",
    "christoffel",
    "geodesic_rhs",
    "scalar_curvature",
)


@dataclass
class Output:
    """One value of a kernel and the array positions that receive it."""

    positions: list
    expr: sp.Expr


@dataclass
class KernelFunction:
    """A kernel function: its statements (CSE temporaries), the integrals it
    needs, and its outputs; ``shape`` is the trailing shape of its result."""

    name: str
    shape: tuple
    statements: list = field(default_factory=list)
    integrals: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    zeros: list = field(default_factory=list)


@dataclass
class KernelPlan:
    """Everything the templates need to write the kernels of one metric."""

    metric: object
    names: list
    symbols: list
    velocities: list
    functions: dict
    integrals: dict
    region: object = sp.true

    @property
    def dimension(self):
        return len(self.symbols)


def code_name(name):
    """A Python identifier for a parameter name that is a keyword or reserved.

    >>> code_name("lambda"), code_name("k")
    ('lambda_', 'k')
    """
    if keyword.iskeyword(name) or name in RESERVED or name.startswith("_"):
        return f"{name}_"
    return name


def components(metric):
    """``{(function, index): expr}`` for the unique non-zero components."""
    n = metric.dimension
    found = {}
    for i in range(n):
        for j in range(i, n):
            found[("metric", (i, j))] = metric.matrix[i, j]
            found[("inverse_metric", (i, j))] = metric.inverse[i, j]
    for k in range(n):
        for i in range(n):
            for j in range(i, n):
                found[("christoffel", (k, i, j))] = metric.christoffel[k, i, j]
    found[("scalar_curvature", ())] = metric.scalar_curvature
    return found


def _positions(function, index):
    if function in ("metric", "inverse_metric"):
        i, j = index
        return [(i, j)] if i == j else [(i, j), (j, i)]
    if function == "christoffel":
        k, i, j = index
        return [(k, i, j)] if i == j else [(k, i, j), (k, j, i)]
    return [()]


def _expand_sums(expr):
    def finite(sum_):
        return all(lim[1].is_Integer and lim[2].is_Integer for lim in sum_.limits)

    for node in list(sp.preorder_traversal(expr)):
        if isinstance(node, sp.Sum):
            if not finite(node):
                raise CodegenError(
                    f"the entry {node} is an infinite sum, which the kernels cannot "
                    "evaluate with a fixed rule; derive a closed form instead"
                )
    return expr.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.doit())


def _placeholders(exprs):
    """Replace each distinct Integral by a symbol ``_q<m>``."""
    integrals = sorted(
        {
            node
            for e in exprs
            for node in sp.preorder_traversal(e)
            if isinstance(node, sp.Integral)
        },
        key=sp.default_sort_key,
    )
    mapping = {
        integral: sp.Symbol(f"_q{m}", real=True) for m, integral in enumerate(integrals)
    }
    return [e.xreplace(mapping) for e in exprs], {s: i for i, s in mapping.items()}


def finite_region(metric):
    """``(matrix, region)``: the finite part of g and the region where it holds.

    Entries ``Piecewise((g_ij, region), (oo, True))`` become g_ij; all of them
    must share one region. ``region`` is ``sympy.true`` for a metric finite
    everywhere. Raises :class:`CodegenError` for any other Piecewise entry and
    for a nested integral.

    >>> alpha = sp.Symbol("alpha", positive=True)
    >>> entry = sp.Piecewise((1 / (alpha - 2), alpha > 2), (sp.oo, True))
    >>> finite_region(type("M", (), {"matrix": sp.Matrix([[entry]])})())
    (Matrix([[1/(alpha - 2)]]), alpha > 2)
    """
    for entry in metric.matrix:
        if _is_nested_integral(entry):
            raise CodegenError(
                "an entry is a nested integral (an integral of integrals, such as "
                "the W2 cdf form ∫ ∂_iF ∂_jF / p dx), whose Christoffel symbols "
                "and curvature have no practical symbolic form; no kernel is "
                "generated (evaluate the metric itself with Metric.evaluate)"
            )
    try:
        return finite_branch(metric.matrix)
    except ValueError as exc:
        raise CodegenError(
            f"{exc}: the kernels need one region where the whole metric is "
            "finite, Piecewise((g, region), (oo, True)) entries only"
        ) from None


def _is_nested_integral(expr):
    return any(
        isinstance(node, sp.Integral) and node.function.has(sp.Integral)
        for node in sp.preorder_traversal(expr)
    )


def geometry_source(metric):
    """The metric whose Christoffel symbols and curvature the kernels use.

    ``metric`` itself when it is finite everywhere, else a metric of the same
    family and kind with the finite part of its entries (see
    :func:`finite_region`), cached on ``metric``.
    """
    cache = metric.__dict__.setdefault("_kernel_cache", {})
    if "geometry" not in cache:
        matrix, region = finite_region(metric)
        source = metric
        if region is not sp.true:
            source = type(metric)(
                metric.family, metric.kind, matrix, dict(metric.provenance)
            )
        cache["geometry"] = (source, region)
    return cache["geometry"]


def build_plan(metric):
    """The :class:`KernelPlan` of ``metric``.

    >>> from symgeo import fisher_metric, load_family
    >>> plan = build_plan(fisher_metric(load_family("normal")))
    >>> [len(plan.functions[f].outputs) for f in ("metric", "christoffel")]
    [2, 3]
    """
    original = metric
    metric, region = geometry_source(metric)
    family = metric.family
    names = [code_name(p) for p in family.names]
    symbols = [sp.Symbol(n, real=True) for n in names]
    rename = dict(zip(family.symbols, symbols, strict=True))
    velocities = [sp.Symbol(velocity_name(n, names), real=True) for n in names]

    keys, exprs = [], []
    zeros = {f: [] for f in FUNCTIONS}
    constants = {f: [] for f in FUNCTIONS}
    for (function, index), value in components(metric).items():
        value = _expand_sums(sp.sympify(value)).xreplace(rename)
        if value == 0:
            zeros[function] += _positions(function, index)
        elif value.is_number and not value.has(sp.Integral):
            constants[function].append(Output(_positions(function, index), value))
        else:
            keys.append((function, index))
            exprs.append(stabilise(value))

    exprs, integral_of = _placeholders(exprs)
    integrals = {s: lower_integral(i) for s, i in integral_of.items()}
    replacements, reduced = sp.cse(
        exprs, symbols=sp.numbered_symbols("_x", real=True), order="canonical"
    )
    log.debug("CSE of %d components: %d temporaries", len(exprs), len(replacements))
    reduced_of = dict(zip(keys, reduced, strict=True))

    functions = {}
    n = len(symbols)
    shapes = {
        "metric": (n, n),
        "inverse_metric": (n, n),
        "christoffel": (n, n, n),
        "scalar_curvature": (),
    }
    for function, shape in shapes.items():
        outputs = [
            Output(_positions(f, index), expr)
            for (f, index), expr in reduced_of.items()
            if f == function
        ]
        outputs += constants[function]
        functions[function] = _finish(
            KernelFunction(function, shape, zeros=zeros[function]),
            outputs,
            replacements,
            integrals,
        )

    christoffel = {
        index: reduced_of.get(("christoffel", index), 0)
        for (f, index) in components(metric)
        if f == "christoffel"
    }
    for output in constants["christoffel"]:
        christoffel[output.positions[0]] = output.expr
    accelerations = []
    for k in range(n):
        total = sp.Integer(0)
        for i in range(n):
            for j in range(i, n):
                weight = 1 if i == j else 2
                total += weight * christoffel[(k, i, j)] * velocities[i] * velocities[j]
        accelerations.append(Output([(n + k,)], -total))
    outputs = [Output([(k,)], velocities[k]) for k in range(n)] + accelerations
    functions["geodesic_rhs"] = _finish(
        KernelFunction("geodesic_rhs", (2 * n,)), outputs, replacements, integrals
    )
    return KernelPlan(
        original, names, symbols, velocities, functions, integrals, region
    )


def velocity_name(name, names):
    candidate = f"d{name}"
    return candidate if candidate not in names else f"_v_{name}"


def _finish(function, outputs, replacements, integrals):
    """Keep the statements ``outputs`` need and inline single-use temporaries."""
    needed = set()
    for output in outputs:
        needed |= output.expr.free_symbols
    statements = []
    for symbol, expr in reversed(replacements):
        if symbol in needed:
            statements.append((symbol, expr))
            needed |= expr.free_symbols
    statements.reverse()

    statements, outputs = _inline_single_uses(statements, outputs)
    function.statements = statements
    function.outputs = outputs
    function.integrals = sorted(
        (s for s in needed if s in integrals), key=lambda s: int(s.name[2:])
    )
    return function


def _inline_single_uses(statements, outputs):
    changed = True
    while changed:
        changed = False
        uses = {}
        for _, expr in statements:
            for s in expr.free_symbols:
                uses[s] = uses.get(s, 0) + _count(expr, s)
        for output in outputs:
            for s in output.expr.free_symbols:
                uses[s] = uses.get(s, 0) + _count(output.expr, s)
        for position, (symbol, expr) in enumerate(statements):
            if uses.get(symbol, 0) == 1:
                rest = statements[:position] + statements[position + 1 :]
                statements = [(s, e.xreplace({symbol: expr})) for s, e in rest]
                for output in outputs:
                    output.expr = output.expr.xreplace({symbol: expr})
                changed = True
                break
    return statements, outputs


def _count(expr, symbol):
    return sum(1 for node in sp.preorder_traversal(expr) if node == symbol)

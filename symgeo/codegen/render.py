"""Source text of the kernel modules, from a :class:`KernelPlan` and the
jinja2 templates ``templates/kernel_numpy.py.j2`` and
``templates/kernel_mpmath.py.j2`` (which share ``kernel_macros.j2``), or, for a
W2 metric with nested-integral entries, from ``pullback_numpy.py.j2`` and
``pullback_mpmath.py.j2`` (:mod:`.pullback`).

The numpy module imports numpy and, when a special function needs it,
scipy.special only; the mpmath twin imports mpmath and numpy (for the shapes of
its object arrays). The text depends only on the plan and the templates — no
date, no path, no machine — so that building twice gives the same bytes.
"""

import json
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import jinja2
import mpmath
import sympy as sp

from .. import __version__
from .plan import FUNCTIONS, build_plan, code_name, velocity_name
from .printers import CodegenError, MpmathPrinter, NumpyPrinter
from .pullback import needs_pullback, pullback_context
from .quadrature import NODE_SYMBOL, NODES, gauss_legendre

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
KERNEL_TEMPLATES = {
    "numpy": "kernel_numpy.py.j2",
    "mpmath": "kernel_mpmath.py.j2",
}
PULLBACK_TEMPLATES = {
    "numpy": "pullback_numpy.py.j2",
    "mpmath": "pullback_mpmath.py.j2",
}
TEMPLATE_FILES = (
    "kernel_macros.j2",
    *KERNEL_TEMPLATES.values(),
    *PULLBACK_TEMPLATES.values(),
)

SUMMARIES = {
    "metric": ("The metric g_ij at the given parameters.", "Shape (..., {n}, {n})."),
    "inverse_metric": ("The inverse metric g^ij.", "Shape (..., {n}, {n})."),
    "christoffel": (
        "The Christoffel symbols Gamma^k_ij of the second kind.",
        "Shape (..., {n}, {n}, {n}), indexed [k, i, j], symmetric in i and j.",
    ),
    "geodesic_rhs": (
        "Right-hand side of the geodesic equations for a batch of states.",
        "y has shape (..., {m}): positions, then velocities; the result has the "
        "same shape. ``t`` is not used (the system is autonomous).",
    ),
    "scalar_curvature": ("The scalar curvature R.", "Shape (...)."),
}

METRIC_DEFINITIONS = {
    "fisher": "Fisher metric g_ij = E[d_i log p d_j log p] (no factor 1/4 or 4).",
    "wasserstein": (
        "pullback Wasserstein-2 metric g_ij = int rho grad(phi_i).grad(phi_j) dx, "
        "-div(rho grad(phi_i)) = d_i rho (Benamou-Brenier, no factor 1/2)."
    ),
}


@cache
def environment():
    """The jinja2 environment of the kernel templates."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    ).overlay()


def _environment_with_filters():
    env = environment()
    env.filters["py"] = json.dumps
    return env


def template_text():
    """The concatenated text of the kernel templates (for content hashes)."""
    return "".join(
        (TEMPLATES / name).read_text(encoding="utf-8") for name in TEMPLATE_FILES
    )


def kernel_sources(metric, plan=None):
    """``{"numpy": text, "mpmath": text}``: the two kernel modules of ``metric``.

    >>> from symgeo import fisher_metric, load_family
    >>> sources = kernel_sources(fisher_metric(load_family("exponential")))
    >>> "def christoffel(lam, out=None):" in sources["numpy"]
    True
    """
    if needs_pullback(metric):
        return pullback_sources(metric.family, metric.kind)
    plan = plan or build_plan(metric)
    context = _context(plan)
    return {
        target: _environment_with_filters().get_template(name).render(k=context)
        for target, name in KERNEL_TEMPLATES.items()
    }


# -- context -------------------------------------------------------------------


class _Context(dict):
    __getattr__ = dict.__getitem__


def _context(plan):
    family = plan.metric.family
    numpy_printer = NumpyPrinter(series_zeta=True)
    example = _example_point(family, plan.region)
    region = [
        _region_test(plan, r, numpy_printer) for r in sp.And.make_args(plan.region)
    ]
    region = [r for r in region if r is not None]
    functions = [_function(plan, name, example, numpy_printer) for name in FUNCTIONS]
    nodes, weights = gauss_legendre(NODES)
    context = _family_context(plan, example, numpy_printer)
    context.update(
        domain_lines=_domain_lines(family, plan.region),
        region=region,
        region_text=str(plan.region) if region else "",
        region_expr=str(plan.region),
        functions=functions,
        integrals=bool(plan.integrals),
        nodes_count=NODES,
        nodes=_float_list(nodes),
        weights=_float_list(weights),
        accuracy_lines=_accuracy_lines(plan),
    )
    context["helpers"] = sorted(numpy_printer.used - {"scipy"})
    context["uses_scipy"] = "scipy" in numpy_printer.used or bool(context["helpers"])
    return context


def _family_context(plan, example, numpy_printer):
    """The keys of the template context that depend on the family only."""
    metric, family = plan.metric, plan.metric.family
    n = len(plan.names)
    state = [*plan.names, *(v.name for v in plan.velocities)]
    return _Context(
        family=family.name,
        family_title=family.title,
        metric=metric.kind,
        metric_title=_metric_title(metric.kind),
        metric_definition=METRIC_DEFINITIONS.get(metric.kind, metric.kind),
        version=__version__,
        spec_hash=family.spec_hash,
        n=n,
        args=", ".join(plan.names),
        parameters=[_parameter(plan, index, numpy_printer) for index in range(n)],
        parameter_list=", ".join(plan.names),
        parameter_tuple=_tuple_text(family.names),
        domain_dict=json.dumps(
            {p.name: p.domain.describe() for p in family.parameters}
        ),
        domain_text="; ".join(
            f"{p.name} in {p.domain.describe()}" for p in family.parameters
        ),
        constraints=[
            _Context(
                text=str(c),
                test=numpy_printer.doprint(_renamed(plan, c)),
                mp_test=MpmathPrinter().doprint(_renamed(plan, c)),
            )
            for c in family.constraints
        ],
        constraint_text=", ".join(str(c) for c in family.constraints),
        state=state,
        state_list=", ".join(state),
        state_positions=", ".join(f"y[..., {m}]" for m in range(n)),
        example_args=", ".join(repr(v) for v in example),
        example_shapes=repr([()] * n),
        bad_example=_bad_example(family, example),
    )


def pullback_sources(family, kind="wasserstein"):
    """The kernel modules of the W2 metric of a one-dimensional ``family`` from
    its quantile embedding (:mod:`symgeo.codegen.pullback`): the route of a
    metric with nested-integral entries, and a cross-check of closed forms."""
    names = [code_name(name) for name in family.names]
    metric = SimpleNamespace(family=family, kind=kind)
    shape = SimpleNamespace(
        metric=metric,
        names=names,
        dimension=len(names),
        velocities=[sp.Symbol(velocity_name(m, names)) for m in names],
    )
    numpy_printer = NumpyPrinter()
    example = _example_point(family)
    context = _family_context(shape, example, numpy_printer)
    quadrature = pullback_context(family, names)
    n = len(names)
    functions = []
    for name in FUNCTIONS:
        is_rhs = name == "geodesic_rhs"
        tail = (2 * n,) if is_rhs else PULLBACK_TAILS[name](n)
        summary, detail = SUMMARIES[name]
        call = (
            _example_call(shape, example, is_rhs) if is_rhs else context["example_args"]
        )
        functions.append(
            _Context(
                name=name,
                summary=summary,
                detail=detail.format(n=n, m=2 * n),
                signature="t, y" if is_rhs else context["args"],
                call="t, y" if is_rhs else context["args"],
                tail=repr(tail),
                out_shape=repr(("...", *tail)).replace("'...'", "..."),
                example_call=call,
                example_shape=repr(tail),
            )
        )
    context.update(
        domain_lines=_domain_lines(family, sp.true),
        functions=functions,
        accuracy_lines=PULLBACK_ACCURACY,
        uses_scipy=quadrature.uses_scipy or bool(quadrature.helpers),
    )
    if quadrature.helpers:
        raise CodegenError(
            f"the log-density of '{family.name}' needs the helpers "
            f"{', '.join(quadrature.helpers)}, which the W2 quantile kernels do "
            "not define"
        )
    env = _environment_with_filters()
    return {
        target: env.get_template(name).render(k=context, q=quadrature)
        for target, name in PULLBACK_TEMPLATES.items()
    }


PULLBACK_TAILS = {
    "metric": lambda n: (n, n),
    "inverse_metric": lambda n: (n, n),
    "christoffel": lambda n: (n, n, n),
    "scalar_curvature": lambda n: (),
}
PULLBACK_ACCURACY = [
    "Entries without a closed form (nested integrals): computed from the embedding",
    "theta -> Q(., theta) into L2(0, 1), g_ij = <d_iQ, d_jQ>, by spectral",
    "(Chebyshev) quadrature on fixed panels centred on the mode of the density; see",
    "the manifest for the accuracy measured against the mpmath twin.",
]


def _region_test(plan, relation, printer):
    """The check of one condition of the region where the metric is finite."""
    if relation is sp.true:
        return None
    renamed = _renamed(plan, relation)
    symbols = sorted(renamed.free_symbols, key=lambda s: s.name)
    where = f"the {plan.metric.kind} metric of '{plan.metric.family.name}' is finite"
    if len(symbols) == 1:
        name = symbols[0].name
        message = (
            f"parameter '{name}' = {{bad!r}} is outside the region {relation} where "
            f"{where}; choose {name} with {relation}"
        )
    else:
        name = None
        message = f"the parameters are outside the region {relation} where {where}"
    return _Context(
        text=str(relation),
        name=name,
        test=printer.doprint(renamed),
        mp_test=MpmathPrinter().doprint(renamed),
        message=message,
    )


def _metric_title(kind):
    from ..metric import METRIC_KINDS

    title = METRIC_KINDS.get(kind, kind)
    return title[0].upper() + title[1:]


def _tuple_text(names):
    inner = ", ".join(json.dumps(n) for n in names)
    return f"({inner},)" if len(names) == 1 else f"({inner})"


def _float_list(values):
    return "[" + ", ".join(repr(v) for v in values) + "]"


def _renamed(plan, expr):
    rename = dict(zip(plan.metric.family.symbols, plan.symbols, strict=True))
    return expr.xreplace(rename)


def _domain_lines(family, region):
    lines = [f"  {p.name} in {p.domain.describe()}" for p in family.parameters]
    if family.constraints:
        lines.append("  subject to " + ", ".join(str(c) for c in family.constraints))
    if region is not sp.true:
        lines.append(f"  and {region}, where the metric is finite")
    return ["Domains:", *lines]


def _accuracy_lines(plan):
    lines = [
        "Special functions: scipy.special; k psi_1(k) - 1 and k psi_2(k) + psi_1(k)",
        "are evaluated by asymptotic series for k >= 16, and Bessel I by the",
        "exponentially scaled ive, to avoid cancellation and overflow.",
    ]
    if plan.integrals:
        lines += [
            f"Entries without a closed form: {NODES}-point Gauss-Legendre quadrature "
            "after a map of the",
            "support onto (-1, 1); see the manifest for the measured accuracy.",
        ]
    return lines


def _example_point(family, region=sp.true):
    for point in family.sample_points(20, seed=0):
        values = {s: float(f"{point[s]:.2g}") for s in family.symbols}
        if region.subs(values) is sp.true:
            return [values[s] for s in family.symbols]
    raise CodegenError(
        f"no sampled point of '{family.name}' lies in the region {region} where the "
        "metric is finite, so the kernels have no example point"
    )


def _bad_example(family, example):
    for index, p in enumerate(family.parameters):
        d = p.domain
        if d.lower.is_finite:
            value = float(d.lower) - 1.0
        elif d.upper.is_finite:
            value = float(d.upper) + 1.0
        else:
            continue
        args = list(example)
        args[index] = value
        return _Context(
            args=", ".join(repr(v) for v in args),
            message=(
                f"parameter '{p.name}' = {value!r} is outside its domain "
                f"{d.describe()}; give {d._allowed()}"
            ),
        )
    return None


def _parameter(plan, index, printer):
    p = plan.metric.family.parameters[index]
    name = plan.names[index]
    d = p.domain
    tests, fast, mp_tests = [], [], []
    if d.lower.is_finite:
        op = ">" if d.lower_open else ">="
        tests.append(f"({name} {op} {printer.doprint(d.lower)})")
        fast.append(f"{name}.min() {op} {printer.doprint(d.lower)}")
        mp_tests.append(f"{name} {op} {MpmathPrinter().doprint(d.lower)}")
    else:
        tests.append(f"({name} > -np.inf)")
        fast.append(f"{name}.min() > -np.inf")
    if d.upper.is_finite:
        op = "<" if d.upper_open else "<="
        tests.append(f"({name} {op} {printer.doprint(d.upper)})")
        fast.append(f"{name}.max() {op} {printer.doprint(d.upper)}")
        mp_tests.append(f"{name} {op} {MpmathPrinter().doprint(d.upper)}")
    else:
        tests.append(f"({name} < np.inf)")
        fast.append(f"{name}.max() < np.inf")
    mp_tests.append(f"mpmath.isfinite({name})")
    return _Context(
        name=name,
        expanded=f"_{name}_n",
        test=" & ".join(tests),
        fast_test=f"{name}.size == 0 or (" + " and ".join(fast) + ")",
        mp_test=" and ".join(mp_tests),
        domain=d.describe(),
        allowed=d._allowed(),
    )


# -- functions -------------------------------------------------------------------


def _function(plan, name, example, printer):
    kf = plan.functions[name]
    n = plan.dimension
    summary, detail = SUMMARIES[name]
    tail = kf.shape
    is_rhs = name == "geodesic_rhs"
    signature = "t, y" if is_rhs else ", ".join(plan.names)
    point_signature = ", ".join(
        [*plan.names, *(v.name for v in plan.velocities)] if is_rhs else plan.names
    )
    statements = [f"{s.name} = {printer.doprint(e)}" for s, e in kf.statements]
    assignments = _assignments(kf, printer)
    value, index = _example_value(plan, name, example)
    mp_printer = MpmathPrinter()
    return _Context(
        name=name,
        summary=summary,
        detail=detail.format(n=n, m=2 * n),
        signature=signature,
        call="t, y" if is_rhs else ", ".join(plan.names),
        point_signature=point_signature,
        tail=repr(tail),
        out_shape=repr(("...", *tail)).replace("'...'", "..."),
        statements=statements,
        quadrature=_quadrature_numpy(plan, kf, printer),
        quadrature_mp=_quadrature_mpmath(plan, kf, mp_printer),
        statements_mp=[f"{s.name} = {mp_printer.doprint(e)}" for s, e in kf.statements],
        results_mp=[
            f"({position!r}, {mp_printer.doprint(output.expr)})"
            for output in kf.outputs
            for position in output.positions
        ],
        fill_zeros=len(kf.zeros) > sum(len(o.positions) for o in kf.outputs),
        block=_block_size(tail),
        block_signature="y" if is_rhs else ", ".join(plan.names),
        assignments=assignments,
        example_call=_example_call(plan, example, is_rhs),
        example_shape=repr(tail),
        example_index=index,
        example_value=value,
    )


def _block_size(tail):
    """Points per block: about 512 KiB of output, between 2048 and 16384 points,
    so that the output and the block's temporaries stay in a core's L2 cache
    (8192 points of 2-D Christoffel symbols ran 8 % faster than 16384 on a
    2 MiB L2)."""
    values = 1
    for extent in tail:
        values *= extent
    return min(16384, max(2048, 2**19 // (8 * values)))


def _assignments(kf, printer):
    lines = []
    fill = len(kf.zeros) > sum(len(o.positions) for o in kf.outputs)
    for output in kf.outputs:
        targets = " = ".join(_target(p) for p in output.positions)
        lines.append(f"{targets} = {printer.doprint(output.expr)}")
    if not fill:
        lines += [f"{_target(p)} = 0.0" for p in kf.zeros]
    return lines


def _target(position):
    if position == ():
        return "out[...]"
    return "out[..., " + ", ".join(str(i) for i in position) + "]"


def _quadrature_numpy(plan, kf, printer):
    if not kf.integrals:
        return []
    expanded = {s: sp.Symbol(f"_{s.name}_n", real=True) for s in plan.symbols}
    integrands = [
        _renamed(plan, plan.integrals[q].integrand).xreplace(expanded)
        for q in kf.integrals
    ]
    inner, reduced = sp.cse(
        integrands, symbols=sp.numbered_symbols("_y", real=True), order="canonical"
    )
    lines = [f"{s.name} = {printer.doprint(e)}" for s, e in inner]
    lines += [
        f"{q.name} = ({printer.doprint(e)}) @ _GL_W"
        for q, e in zip(kf.integrals, reduced, strict=True)
    ]
    assert NODE_SYMBOL.name == "_t"
    return lines


def _quadrature_mpmath(plan, kf, printer):
    lines = []
    for q in kf.integrals:
        integral = _renamed(plan, plan.integrals[q].original)
        x, a, b = integral.limits[0]
        u = sp.Symbol("_u", real=True)
        body = printer.doprint(integral.function.xreplace({x: u}))
        bounds = f"[{printer.doprint(a)}, {printer.doprint(b)}]"
        lines.append(f"{q.name} = mpmath.quad(lambda _u: {body}, {bounds})")
    return lines


def _example_call(plan, example, is_rhs):
    if not is_rhs:
        return ", ".join(repr(v) for v in example)
    velocities = [0.5 if m % 2 == 0 else -0.25 for m in range(plan.dimension)]
    return f"0.0, [{', '.join(repr(v) for v in [*example, *velocities])}]"


def _example_value(plan, name, example):
    """A component of the example output, at 30 digits, formatted ``.6g``."""
    kf = plan.functions[name]
    values = dict(zip(plan.symbols, example, strict=True))
    if name == "geodesic_rhs":
        velocities = [0.5 if m % 2 == 0 else -0.25 for m in range(plan.dimension)]
        values.update(zip(plan.velocities, velocities, strict=True))
    candidates = (
        sorted((output.positions[0], output.expr) for output in kf.outputs)
        if kf.outputs
        else []
    )
    if not candidates:
        position = (0,) * len(kf.shape)
        return "0", _index_text(position)
    position, expr = candidates[-1] if name == "geodesic_rhs" else candidates[0]
    for symbol, value in reversed(kf.statements):
        expr = expr.xreplace({symbol: value})
    for q in kf.integrals:
        expr = expr.xreplace({q: _renamed(plan, plan.integrals[q].original)})
    from .rewrite import original_form

    with mpmath.workdps(40):
        number = sp.N(original_form(expr).xreplace(values), 30)
    return f"{float(number):.6g}", _index_text(position)


def _index_text(position):
    if position == ():
        return "[()]"
    return "[" + ", ".join(str(i) for i in position) + "]"

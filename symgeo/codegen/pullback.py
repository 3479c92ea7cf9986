"""Kernels of a W2 metric whose entries are nested integrals, by its embedding.

The pullback W2 metric of a one-dimensional family is the metric induced by the
embedding θ ↦ Q(·; θ) of the family into the flat space L²(0, 1) of quantile
functions. With u = F(x; θ) and ⟨A, B⟩ = ∫_0^1 A B du = ∫ A B p dx:

- ∂_iQ = −∂_iF / p, from F(Q(u; θ); θ) = u;
- ∂_ijQ = −(∂_ijF + ∂_ip ∂_jQ + ∂_jp ∂_iQ + ∂_xp ∂_iQ ∂_jQ) / p;
- g_ij = ⟨∂_iQ, ∂_jQ⟩ and Γ_{m,ij} = ⟨∂_mQ, ∂_ijQ⟩ (Christoffel symbols of the
  first kind of an induced metric: the tangential part of the second derivative);
- the scalar curvature by the Gauss equation (the ambient space is flat),
  R = g^ik g^jl (⟨II_ik, II_jl⟩ − ⟨II_il, II_jk⟩) (2 on the unit sphere), with
  the second fundamental form II_ij = ∂_ijQ − ∂_mQ g^mn Γ_{n,ij}, so that
  ⟨II_ab, II_cd⟩ = ⟨∂_abQ, ∂_cdQ⟩ − Γ_{m,ab} g^mn Γ_{n,cd}.

∂_iF(x) = ∫_lo^x ∂_ip dt below the median and −∫_x^hi ∂_ip dt above it, so no
tail is lost to cancellation. The derivatives of p come from those of log p,
which this module differentiates symbolically and prints; the numeric scheme
(the same for every family) is in the templates ``pullback_numpy.py.j2`` (fixed
Chebyshev panels in a chart of the support) and ``pullback_mpmath.py.j2``
(nested adaptive mpmath quadrature, the twin).
"""

from types import SimpleNamespace

import sympy as sp

from .printers import CodegenError, MpmathPrinter, NumpyPrinter
from .rewrite import stabilise

# Chart of the support: x(y) for y in R, by which end(s) are finite.
CHARTS = {
    (False, False): "identity",
    (True, False): "log",
    (False, True): "log_upper",
    (True, True): "logit",
}


def is_nested(entry):
    """True for an integral whose integrand holds an integral (a CdfIntegral)."""
    return any(
        isinstance(node, sp.Integral) and node.function.has(sp.Integral)
        for node in sp.preorder_traversal(entry)
    )


def needs_pullback(metric):
    """True when ``metric`` is the W2 metric of a 1-D family with nested entries."""
    return metric.kind == "wasserstein" and any(is_nested(e) for e in metric.matrix)


def _stable_log(expr):
    """log Γ, log B and log I_ν written so that they neither overflow nor cancel."""
    expr = sp.expand_log(expr, force=True)
    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
        lambda e: sp.loggamma(e.args[0].args[0]),
    )
    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.beta),
        lambda e: (
            sp.loggamma(e.args[0].args[0])
            + sp.loggamma(e.args[0].args[1])
            - sp.loggamma(e.args[0].args[0] + e.args[0].args[1])
        ),
    )
    return sp.expand_log(stabilise(expr), force=True)


def _with_end_distances(expr, family):
    """``expr`` with x − lo and hi − x written as the symbols ``_dlo``, ``_dhi``.

    The kernels evaluate those distances from the chart without cancellation
    (1 − x of a beta density near x = 1 is not 1 minus a rounded x).
    """
    x = family.variable
    lo, hi = (sp.sympify(end) for end in family.support)
    for end, distance, symbol in ((lo, x - lo, DLO), (hi, hi - x, DHI)):
        if not end.is_finite or distance == x:
            continue
        expr = expr.replace(
            lambda e, d=distance: e.is_Add and sp.expand(e - d) == 0,
            lambda e, s=symbol: s,
        ).replace(
            lambda e, d=distance: e.is_Add and sp.expand(e + d) == 0,
            lambda e, s=symbol: -s,
        )
    return expr


DLO, DHI = sp.Symbol("_dlo", positive=True), sp.Symbol("_dhi", positive=True)


def log_density_terms(family):
    """``[L, L_x, L_i..., L_ij (i ≤ j)...]``: log p and its derivatives.

    >>> from symgeo import load_family
    >>> log_density_terms(load_family("beta"))[1]
    (a - 1)/x - (b - 1)/_dhi
    """
    if family.is_discrete or family.support_depends_on_parameters:
        raise CodegenError(
            f"the family '{family.name}' needs a fixed continuous support for the "
            "quantile-embedding kernels of its W2 metric"
        )
    x, theta = family.variable, family.symbols
    log_p = family.log_density
    n = len(theta)
    terms = [log_p, sp.diff(log_p, x)]
    terms += [sp.diff(log_p, t) for t in theta]
    terms += [sp.diff(log_p, theta[i], theta[j]) for i in range(n) for j in range(i, n)]
    return [_with_end_distances(_stable_log(t), family) for t in terms]


def _statements(family, terms, printer, names):
    """CSE of ``terms``: ``(parameter_lines, node_lines, results)`` as source text.

    Special functions of the parameters only (ψ(k), log Γ(k), ...) and the
    temporaries that depend on the parameters only are listed apart, so that a
    twin evaluating point by point computes them once per parameter point.
    """
    x = family.variable
    rename = {
        s: sp.Symbol(name, real=True)
        for s, name in zip(family.symbols, names, strict=True)
    }
    rename[x] = sp.Symbol("x", real=True)
    renamed = [t.xreplace(rename) for t in terms]
    depends = {rename[x], DLO, DHI}
    functions = sorted(
        {
            node
            for t in renamed
            for node in sp.preorder_traversal(t)
            if isinstance(node, sp.Function) and not node.free_symbols & depends
        },
        key=sp.default_sort_key,
    )
    hoisted = {f: sp.Symbol(f"_f{m}", real=True) for m, f in enumerate(functions)}
    renamed = [t.xreplace(hoisted) for t in renamed]
    temporaries, reduced = sp.cse(
        renamed, symbols=sp.numbered_symbols("_c"), optimizations="basic"
    )
    constant = [f"{s} = {printer.doprint(f)}" for f, s in hoisted.items()]
    varying = []
    for symbol, expr in temporaries:
        line = f"{symbol} = {printer.doprint(expr)}"
        if expr.free_symbols & depends:
            depends.add(symbol)
            varying.append(line)
        else:
            constant.append(line)
    return constant, varying, [printer.doprint(e) for e in reduced]


def pullback_context(family, names):
    """What the pullback templates need beyond the common kernel context."""
    n = family.dimension
    terms = log_density_terms(family)
    lo, hi = (sp.sympify(end) for end in family.support)
    chart = CHARTS[(bool(lo.is_finite), bool(hi.is_finite))]
    numpy_printer, mp_printer = NumpyPrinter(), MpmathPrinter()

    def numpy_function(selected):
        constant, varying, results = _statements(family, selected, numpy_printer, names)
        return SimpleNamespace(statements=constant + varying, results=results)

    mp_constant, mp_varying, mp_results = _statements(family, terms, mp_printer, names)
    return SimpleNamespace(
        chart=chart,
        lower=repr(float(lo)) if lo.is_finite else "-np.inf",
        upper=repr(float(hi)) if hi.is_finite else "np.inf",
        mp_lower=mp_printer.doprint(lo) if lo.is_finite else "-mpmath.inf",
        mp_upper=mp_printer.doprint(hi) if hi.is_finite else "mpmath.inf",
        log_density=numpy_function(terms[:1]),
        slope=numpy_function(terms[1:2]),
        terms=numpy_function(terms),
        mp_constant=mp_constant,
        mp_varying=mp_varying,
        mp_results=mp_results,
        pairs=[(i, j) for i in range(n) for j in range(i, n)],
        uses_scipy="scipy" in numpy_printer.used,
        helpers=sorted(numpy_printer.used - {"scipy"}),
    )

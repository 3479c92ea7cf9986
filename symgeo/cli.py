"""The ``symgeo`` command line: a thin layer over the Python API (design.md 3.2).

Errors reach stderr as one sentence; the exit status is 2 for bad input
(:class:`~symgeo.errors.SpecError`) and 1 for a derivation that failed
(:class:`~symgeo.errors.DerivationError`). ``--debug`` shows the traceback.
"""

import argparse
import json
import logging
import sys

import numpy as np
import sympy as sp

from . import __version__
from .catalog import builtin_names, load_family
from .errors import MetricUndefined, SpecError, SymgeoError
from .outputs import check_output_file, writing
from .progress import reporting
from .registry import METRIC_BUILDERS, derive_metric, metric_names

log = logging.getLogger("symgeo")


def parse_point(text):
    """``"k=2.5,b=1.3"`` -> ``{"k": 2.5, "b": 1.3}``.

    >>> parse_point("k=2.5, b=1.3")
    {'k': 2.5, 'b': 1.3}
    """
    point = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise SpecError(
                f"cannot read {item!r} in the point {text!r}; write name=value pairs "
                "separated by commas, like k=2.5,b=1.3"
            )
        if name.strip() in point:
            raise SpecError(
                f"the parameter {name.strip()!r} is given twice in {text!r}; give "
                "each parameter once"
            )
        try:
            point[name.strip()] = float(value)
        except ValueError:
            raise SpecError(
                f"the value {value.strip()!r} of {name.strip()!r} is not a number; "
                "write a decimal number such as 2.5 or 1e-3"
            ) from None
    if not point:
        raise SpecError("the point is empty; write name=value pairs like k=2.5,b=1.3")
    return point


def positive_count(text):
    """An argparse type: a whole number of at least 1 (segments, points).

    >>> positive_count("4")
    4
    """
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of at least 1; give 1 or more, like 10"
        )
    return count


# -- commands ---------------------------------------------------------------


def cmd_list(args):
    for name in builtin_names():
        family = load_family(name)
        print(f"{name:20s} ({', '.join(family.names)})  {family.title}")
    return 0


def cmd_derive(args):
    family = load_family(args.family)
    chosen = metric_names() if args.metric == "all" else [args.metric]
    metrics, undefined = [], {}
    for which in chosen:
        try:
            metrics.append(derive_metric(family, which))
        except MetricUndefined as exc:
            undefined[which] = exc
    if args.format == "json":
        out = {"family": family.name, "parameters": list(family.names)}
        for metric in metrics:
            out[metric.kind] = metric_record(metric)
        for which, exc in undefined.items():
            out[which] = {
                "exists": False,
                "reason": exc.reason,
                "distance": exc.distance,
            }
        print(json.dumps(out, indent=2))
        return 0
    render = metric_latex if args.format == "latex" else metric_text
    blocks = [render(m) for m in metrics]
    blocks += [undefined_text(family, which, exc) for which, exc in undefined.items()]
    print("\n\n".join(blocks))
    return 0


def undefined_text(family, which, exc):
    """Why the ``which`` metric of ``family`` does not exist, and the distance."""
    lines = [f"The {which} metric of {family.name} does not exist: {exc.reason}"]
    if _readable_distance(exc):
        lines.append(f"distance between members (parameters _0, _1): {exc.distance}")
    elif exc.distance is not None:
        lines.append(_distance_hint(family.name))
    return "\n".join(lines)


def undefined_message(exc, name):
    """The one-paragraph error of a missing metric, without unreadable sums."""
    if exc.distance is None or _readable_distance(exc):
        return str(exc)
    return f"{exc.reason} {_distance_hint(name)}"


def _readable_distance(exc):
    """Is the distance formula of ``exc`` short enough to read (no nested sums)?"""
    return exc.distance is not None and "Sum(" not in str(exc.distance)


def _distance_hint(name):
    return (
        f"'symgeo distance {name} --metric wasserstein --from ... --to ...' "
        "computes the W2 distance between two members."
    )


def no_w2_geodesic(family, exc):
    """One sentence on why ``family`` has no W2 geodesic in its parameters."""
    if family.is_discrete:
        return (
            f"The W2 geodesic between two members of {family.name} leaves the "
            "family (it puts mass between the integers), so there is no W2 path "
            f"in its parameters; 'symgeo closure {family.name}' shows it, and "
            f"'symgeo distance {family.name} --metric wasserstein' gives the W2 "
            "distance."
        )
    return f"There is no W2 geodesic in the parameters of {family.name}: {exc.reason}"


def cmd_closure(args):
    from .closure import w2_closure

    result = w2_closure(load_family(args.family))
    print(json.dumps(result.as_dict(), indent=2) if args.json else result)
    return 0


def cmd_eval(args):
    family = load_family(args.family)
    metric = derive_metric(family, args.metric)
    at = parse_point(args.at)
    matrix = metric.evaluate(at)
    if args.json:
        print(
            json.dumps(
                {
                    "family": family.name,
                    "metric": metric.kind,
                    "parameters": list(family.names),
                    "at": at,
                    "matrix": matrix.tolist(),
                }
            )
        )
    else:
        print(f"{metric.title} at {args.at}:")
        print(matrix)
    if not np.all(np.isfinite(matrix)):
        _explain_infinite_entries(metric, matrix, args)
    _warn_underflow(metric, matrix, family.point(at), args)
    return 0


def _warn_underflow(metric, matrix, point, args):
    """A warning on stderr for entries printed as 0.0 that are not zero
    (k/b² at b = 1e200 underflows double precision)."""
    from .verify import evaluate_entry

    names = [str(c) for c in metric.coordinates]
    n = metric.dimension

    def underflows(entry):
        if entry.is_zero or entry.has(sp.Integral):
            return False
        return evaluate_entry(entry, point) != 0

    entries = [
        f"g[{names[i]},{names[j]}]"
        for i in range(n)
        for j in range(i, n)
        if matrix[i, j] == 0 and underflows(metric.matrix[i, j])
    ]
    if entries:
        one = len(entries) == 1
        print(
            f"symgeo: warning: {', '.join(entries)} of the {metric.title} "
            f"{'underflows' if one else 'underflow'} double precision at {args.at} "
            f"and {'prints' if one else 'print'} as 0; the mpmath kernels of "
            "'symgeo codegen' give the value",
            file=sys.stderr,
        )


def _explain_infinite_entries(metric, matrix, args):
    """The metric's notes on its infinite entries, else an overflow warning.

    The notes go with the matrix (stdout) unless stdout is JSON; the warning
    always goes to stderr.
    """
    if metric.notes:
        where = sys.stderr if args.json else sys.stdout
        print("Infinite entries: " + " ".join(metric.notes), file=where)
        return
    names = [str(c) for c in metric.coordinates]
    entries = [
        f"g[{names[i]},{names[j]}] = {matrix[i, j]}"
        for i, j in zip(*np.nonzero(~np.isfinite(matrix)), strict=True)
        if i <= j
    ]
    which = "entry" if len(entries) == 1 else "entries"
    verb = "overflows" if len(entries) == 1 else "overflow"
    print(
        f"symgeo: warning: the {which} {', '.join(entries)} of the {metric.title} "
        f"{verb} double precision at {args.at}; the metric is finite there, so "
        "evaluate it with the mpmath kernels of 'symgeo codegen' for its value",
        file=sys.stderr,
    )


def cmd_compare(args):
    from .compare import compare
    from .errors import MetricUndefined

    family = load_family(args.family)
    fisher = derive_metric(family, "fisher")
    try:
        wasserstein = derive_metric(family, "wasserstein")
    except MetricUndefined as exc:
        raise MetricUndefined(
            f"the family '{family.name}' has no pullback W2 metric, so there is no "
            "Wasserstein geometry to compare with the Fisher geometry (run 'symgeo "
            f"derive {args.family} --metric wasserstein' to see why)"
        ) from exc
    result = compare(fisher, wasserstein)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(result)
    return 0


def cmd_report(args):
    from .report import write_report

    family = load_family(args.family)
    check_output_file(args.output, "the report")
    path = write_report(family, args.output)
    log.info("report of %s written to %s", family.name, path)
    return 0


def cmd_codegen(args):
    from .build import codegen

    paths, skipped = codegen(args.family, args.output)
    for path in paths:
        print(path)
    failed = False
    for kind, reason in skipped.items():
        if reason.startswith("metric not defined"):
            print(
                f"symgeo: note: no {kind} kernels: the metric does not exist ("
                f"'symgeo derive {args.family} --metric {kind}' says why)",
                file=sys.stderr,
            )
        else:
            failed = True
            print(
                f"symgeo: error: no {kind} kernels written: {reason}", file=sys.stderr
            )
    return 1 if failed else 0


def cmd_build(args):
    from pathlib import Path

    from .build import build, check
    from .catalog import catalog_dir

    derivations = Path(args.derivations) if args.derivations else None
    if derivations is None:
        derivations = Path("derivations")
        if not derivations.is_dir():
            derivations = catalog_dir()
        if not (derivations.parent / "pyproject.toml").is_file():
            raise SpecError(
                "no derivations/ folder here, and symgeo is not installed from a "
                "source checkout; run 'symgeo build' in the project's root, or give "
                "--derivations DIR and --generated DIR"
            )
    generated = Path(args.generated or derivations.parent / "generated")
    if not args.check:
        written = build(derivations, generated, jobs=args.jobs)
        print(f"{len(written)} files in {generated} match {derivations}")
        return 0
    stale = check(derivations, generated)
    for item in stale:
        print(f"stale: {item}")
    if stale:
        print(f"{generated} is stale; run 'symgeo build' to regenerate it")
        return 1
    print(f"{generated} is up to date with {derivations}")
    return 0


def cmd_verify(args):
    from .codegen import verify_kernels

    family = load_family(args.family)
    chosen = metric_names() if args.metric == "all" else [args.metric]
    results, undefined = {}, {}
    for which in chosen:
        try:
            metric = derive_metric(family, which)
        except MetricUndefined as exc:
            if args.metric != "all":
                raise
            undefined[which] = exc
            continue
        check = verify_kernels(metric, count=args.points)
        results[which] = (metric, check)
    if not results:
        raise next(iter(undefined.values()))
    if args.json:
        out = {"family": family.name}
        for which, exc in undefined.items():
            out[which] = {"exists": False, "reason": exc.reason}
        for which, (metric, check) in results.items():
            out[which] = {
                "derivation": metric.verification.as_dict()
                if metric.verification is not None
                else None,
                "kernels": check.as_dict(),
            }
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        for metric, check in results.values():
            print(verification_text(metric, check))
        for which, exc in undefined.items():
            print(f"The {which} metric of {family.name} does not exist: {exc.reason}")
    failed = [w for w, (_, check) in results.items() if not check.passed]
    return 1 if failed else 0


def _pair(args, family):
    names = family.names
    start, end = parse_point(getattr(args, "from")), parse_point(args.to)
    for point in (start, end):
        family.point(point)
    return [start[n] for n in names], [end[n] for n in names]


def cmd_distance(args):
    from .geodesics import distance_solution, wasserstein_distances

    family = load_family(args.family)
    a, b = _pair(args, family)
    record = {"family": family.name, "metric": args.metric}
    if family.is_discrete and args.metric == "wasserstein":
        record.update(_discrete_w2(family, a, b))
        title = f"Wasserstein-2 distance between members of {family.name}"
        return _print_distance(args, record, title)
    metric = derive_metric(family, args.metric)
    one_dimensional = family.kind == "continuous" and args.metric == "wasserstein"
    if one_dimensional:
        w2 = wasserstein_distances(
            family, a, b, metric=metric if metric.closed_form else None
        )
        record.update(
            distance=w2.intrinsic,
            method=w2.method,
            estimated_error=w2.intrinsic_error,
            extrinsic_w2=w2.extrinsic,
            extrinsic_error=w2.extrinsic_error,
            intrinsic=w2.intrinsic,
            gap=w2.gap,
        )
    else:
        solution = distance_solution(metric, a, b)
        record.update(
            distance=float(solution.distance),
            method=solution.method,
            estimated_error=float(solution.estimated_error),
        )
    return _print_distance(args, record, metric.title)


DISCRETE_W2_METHOD = (
    "extrinsic W2 distance between the members, (∫₀¹ |Q_a(u) − Q_b(u)|² du)^½ "
    "summed over the jumps of the two cdfs; the family is discrete, so no "
    "pullback W2 metric and no intrinsic geodesic in the family exists"
)


def _discrete_w2(family, a, b):
    """The record fields of W2 between two members of a discrete family."""
    from .closure import discrete_w2_distance

    distance, error = discrete_w2_distance(family, a, b)
    return {
        "distance": distance,
        "method": DISCRETE_W2_METHOD,
        "estimated_error": error,
        "extrinsic_w2": distance,
    }


def _print_distance(args, record, title):
    """Print a distance record as JSON or as text; the exit status."""
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    print(f"{title}: d = {record['distance']:.15g} ({record['method']})")
    print(f"estimated error {record['estimated_error']:.2g}")
    if "intrinsic" in record:
        print(
            f"W2 (extrinsic) = {record['extrinsic_w2']:.15g}, intrinsic = "
            f"{record['intrinsic']:.15g}, gap = {record['gap']:.3g}"
        )
    return 0


def cmd_geodesic(args):
    from .geodesics import discrete_w2_geodesic, geodesic

    family = load_family(args.family)
    a, b = _pair(args, family)
    if args.plot:
        from .plot import check_figure_file

        check_output_file(args.plot, "the figure")
        check_figure_file(args.plot)
    chosen = metric_names() if args.metric == "all" else [args.metric]
    paths, missing = {}, []
    for which in chosen:
        try:
            metric = derive_metric(family, which)
        except MetricUndefined as exc:
            if which != "wasserstein":
                if args.metric != "all":
                    raise
                missing.append(
                    f"There is no {which} geodesic in the parameters of "
                    f"{family.name}: {exc.reason}"
                )
                continue
            if args.metric != "all":
                raise MetricUndefined(no_w2_geodesic(family, exc)) from exc
            missing.append(no_w2_geodesic(family, exc))
            continue
        if metric.closed_form:
            paths[which] = geodesic(metric, a, b, steps=args.steps)
        else:
            found = discrete_w2_geodesic(
                family, np.array(a), np.array(b), segments=(args.steps, 2 * args.steps)
            )
            paths[which] = found["path"][::2]
        print(f"{metric.title}, t from 0 to 1:")
        print("  t       " + "  ".join(f"{n:>16s}" for n in family.names))
        times = np.linspace(0, 1, len(paths[which]))
        for t, point in zip(times, paths[which], strict=True):
            print(f"  {t:<6.3f}  " + "  ".join(f"{x:16.10g}" for x in point))
    for sentence in missing:
        print(sentence)
    if args.plot:
        from .plot import plot_geodesics

        with writing("the figure", args.plot):
            plot_geodesics(family, paths, args.plot)
        print(f"figure written to {args.plot}")
    return 0


NOTHING_VERIFIED = (
    "no closed-form entries: every entry is evaluated by quadrature, so there is "
    "nothing to verify"
)


def verification_text(metric, check):
    """Terminal table of a derivation check and a kernel check."""
    lines = [f"{metric.title}:"]
    v = metric.verification
    if v is not None and not v.points:
        lines.append(f"  closed form: {NOTHING_VERIFIED}")
    elif v is not None:
        lines.append(
            f"  closed form vs {v.method}: {len(v.points)} points, worst relative "
            f"error {v.worst_relative_error:.1e}"
        )
    lines.append(
        f"  kernels (numpy vs mpmath twin): {len(check.typical_points)} typical, "
        f"{len(check.boundary_points)} boundary points, tolerance {check.tolerance:g}"
    )
    lines.append(
        f"  {'kernel':18s} {'typical':>9s} {'boundary':>9s}  worst boundary point"
    )
    for name in sorted(check.typical):
        point = check.worst_boundary_point.get(name, {})
        where = ", ".join(f"{k}={v:.3g}" for k, v in point.items())
        lines.append(
            f"  {name:18s} {check.typical[name]:9.1e} "
            f"{check.boundary.get(name, 0.0):9.1e}  {where}"
        )
    if check.outside_double_range:
        counts = ", ".join(
            f"{name} at {count}"
            for name, count in sorted(check.outside_double_range.items())
        )
        lines.append(
            f"  boundary points whose exact values lie outside the double range "
            f"(not computable in double precision, left out above): {counts}"
        )
    lines.extend(
        ["  passed"]
        if check.passed
        else [
            "  FAILED:",
            *(f"    {failure}" for failure in check.failures),
            "  the mpmath twin (metric.kernel('mpmath')) evaluates the same formulas "
            "at any precision; or narrow the parameter's domain in the spec",
        ]
    )
    return "\n".join(lines)


# -- formatting -------------------------------------------------------------


def metric_record(metric):
    """The JSON record of one metric (design.md 3.2)."""
    n = metric.dimension
    record = {
        "matrix": [[str(metric.matrix[i, j]) for j in range(n)] for i in range(n)],
        "latex": sp.latex(metric.matrix),
        "closed_form": metric.closed_form,
        "provenance": {f"{i},{j}": s for (i, j), s in metric.provenance.items()},
        "notes": list(metric.notes),
    }
    if metric.verification is not None:
        v = metric.verification
        record["verified"] = {
            "points": len(v.points),
            "worst_relative_error": v.worst_relative_error,
            "method": v.method,
            "unevaluated_entries": [list(e) for e in v.unevaluated],
        }
    if metric.closed_form:
        record["christoffel"] = {
            f"{k},{i},{j}": str(value)
            for (k, i, j), value in metric.nonzero_christoffels()
        }
        record["scalar_curvature"] = str(metric.scalar_curvature)
    return record


def _coordinate_name(metric, index):
    return str(metric.coordinates[index])


def metric_text(metric):
    """Terminal rendering: metric, Christoffel symbols, geodesics, curvature."""
    lines = [str(metric), ""]
    for (i, j), strategy in sorted(metric.provenance.items()):
        lines.append(f"  g[{i},{j}] by {strategy}")
    v = metric.verification
    if v is not None and not v.points:
        lines.append(NOTHING_VERIFIED)
    elif v is not None:
        lines.append(
            f"verified at {len(v.points)} points by {v.method}: worst relative "
            f"error {v.worst_relative_error:.1e}"
        )
    for note in metric.notes:
        lines.append(f"note: {note}")
    if not metric.closed_form:
        lines.append("some entries have no closed form; they evaluate by quadrature")
        return "\n".join(lines)
    region = metric.finite_part[1]
    if region is not sp.true:
        lines += ["", f"where the metric is finite ({region}):"]
    lines += ["", "Christoffel symbols Γ^k_ij (non-zero, i <= j):"]
    christoffels = metric.nonzero_christoffels()
    for (k, i, j), value in christoffels:
        names = [_coordinate_name(metric, a) for a in (k, i, j)]
        lines.append(f"  Γ^{names[0]}_{names[1]} {names[2]} = {value}")
    if not christoffels:
        lines.append("  none: the coordinates are flat (affine) ones")
    lines += ["", "geodesic equations:"]
    lines += [f"  {lhs} = {rhs}" for lhs, rhs in _primed_geodesics(metric)]
    lines += ["", f"scalar curvature: {metric.scalar_curvature}"]
    return "\n".join(lines)


def _primed_geodesics(metric):
    """The geodesic equations with x(t), x'(t) written as x, x' (for display)."""
    t = sp.Symbol("t")
    rows = []
    for eq in metric.geodesic_equations:
        replacements = {}
        for c in metric.coordinates:
            curve = sp.Function(c.name)(t)
            replacements[sp.Derivative(curve, t)] = sp.Symbol(f"{c.name}'")
        for c in metric.coordinates:
            replacements[sp.Function(c.name)(t)] = c
        name = eq.lhs.expr.func.__name__
        rhs = eq.rhs.subs(replacements)
        rows.append((f"{name}''", sp.sstr(rhs)))
    return rows


def metric_latex(metric):
    """LaTeX rendering of the same content as :func:`metric_text`, with the
    report's printer (ψ for polygamma, Greek coordinate names)."""
    from .latex import latex

    parts = [f"% {metric.title}", f"g = {latex(metric.matrix)}"]
    if metric.closed_form:
        for (k, i, j), value in metric.nonzero_christoffels():
            names = [latex(metric.coordinates[a]) for a in (k, i, j)]
            parts.append(
                f"\\Gamma^{{{names[0]}}}_{{{names[1]} {names[2]}}} = {latex(value)}"
            )
        parts += [latex(eq) for eq in metric.geodesic_equations]
        parts.append(f"R = {latex(metric.scalar_curvature)}")
    return "\n".join(parts)


# -- entry point ----------------------------------------------------------------


METRIC_HELP = "fisher (Fisher-Rao) or wasserstein (pullback W2) (default: %(default)s)"
METRICS_HELP = (
    "fisher (Fisher-Rao), wasserstein (pullback W2) or all (default: %(default)s)"
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="symgeo",
        description="Fisher-Rao and Wasserstein geometry of parametric families.",
    )
    parser.add_argument("--version", action="version", version=f"symgeo {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output (-v: stages, -vv: details)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub = commands.add_parser("list", help="built-in families, one line each")
    sub.set_defaults(run=cmd_list)

    metric_choices = [*METRIC_BUILDERS, "all"]
    sub = commands.add_parser("derive", help="derive metrics and their geometry")
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument(
        "--metric", choices=metric_choices, default="fisher", help=METRICS_HELP
    )
    sub.add_argument("--format", choices=["text", "latex", "json"], default="text")
    sub.set_defaults(run=cmd_derive)

    sub = commands.add_parser("eval", help="evaluate a metric at a parameter point")
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument(
        "--metric", choices=list(METRIC_BUILDERS), default="fisher", help=METRIC_HELP
    )
    sub.add_argument("--at", required=True, help="point, like k=2.5,b=1.3")
    sub.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sub.set_defaults(run=cmd_eval)

    sub = commands.add_parser(
        "compare", help="where the Fisher and Wasserstein geometries agree"
    )
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sub.set_defaults(run=cmd_compare)

    sub = commands.add_parser("closure", help="is the family closed under W2 geodesics")
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sub.set_defaults(run=cmd_closure)

    sub = commands.add_parser("report", help="derivation report in LaTeX or Markdown")
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument(
        "-o", "--output", required=True, help="FILE.tex or FILE.md (format by suffix)"
    )
    sub.set_defaults(run=cmd_report)

    sub = commands.add_parser("codegen", help="numpy and mpmath kernels of a family")
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument("-o", "--output", required=True, help="folder for the files")
    sub.set_defaults(run=cmd_codegen)

    sub = commands.add_parser("build", help="regenerate generated/ from derivations/")
    sub.add_argument(
        "--check", action="store_true", help="exit 1, naming them, if files are stale"
    )
    sub.add_argument(
        "--jobs",
        type=positive_count,
        default=1,
        help="families derived in parallel processes (default: 1)",
    )
    sub.add_argument(
        "--derivations",
        help="folder of specs (default: ./derivations, in a source checkout)",
    )
    sub.add_argument(
        "--generated",
        help="output folder (default: generated/ beside the derivations folder)",
    )
    sub.set_defaults(run=cmd_build)

    sub = commands.add_parser("distance", help="geodesic distance between two points")
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument(
        "--metric", choices=list(METRIC_BUILDERS), default="fisher", help=METRIC_HELP
    )
    sub.add_argument("--from", required=True, help="start point, like k=2,b=1")
    sub.add_argument("--to", required=True, help="end point, like k=3,b=2")
    sub.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sub.set_defaults(run=cmd_distance)

    sub = commands.add_parser("geodesic", help="the geodesic between two points")
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument(
        "--metric", choices=metric_choices, default="fisher", help=METRICS_HELP
    )
    sub.add_argument("--from", required=True, help="start point, like mu=0,sigma=1")
    sub.add_argument("--to", required=True, help="end point, like mu=3,sigma=1")
    sub.add_argument(
        "--steps", type=positive_count, default=10, help="segments of the path"
    )
    sub.add_argument("--plot", help="draw paths and densities into this image file")
    sub.set_defaults(run=cmd_geodesic)

    sub = commands.add_parser(
        "verify", help="kernels vs mpmath, closed forms vs quadrature"
    )
    sub.add_argument("family", help="built-in name or path of a .toml spec")
    sub.add_argument(
        "--metric", choices=metric_choices, default="all", help=METRICS_HELP
    )
    sub.add_argument(
        "--points",
        type=positive_count,
        default=12,
        help="points of each kind, typical and boundary (default: 12)",
    )
    sub.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sub.set_defaults(run=cmd_verify)
    return parser


_CONSOLE = logging.StreamHandler()
_CONSOLE.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))


def _configure_logging(args):
    """Messages at the level of -q / -v on stderr; symgeo's loggers pass INFO
    records on regardless, for the progress report of :mod:`symgeo.progress`."""
    level = logging.WARNING
    if args.quiet:
        level = logging.ERROR
    elif args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    _CONSOLE.setLevel(level)
    _CONSOLE.stream = sys.stderr  # the current one (tests replace it)
    root = logging.getLogger()
    if _CONSOLE not in root.handlers:
        root.addHandler(_CONSOLE)
    root.setLevel(level)
    logging.getLogger("symgeo").setLevel(min(level, logging.INFO))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args)
    try:
        with reporting(enabled=not args.quiet and not args.verbose):
            return args.run(args)
    except SymgeoError as exc:
        if args.debug:
            raise
        message = exc
        if isinstance(exc, MetricUndefined):
            message = undefined_message(exc, getattr(args, "family", "FAMILY"))
        print(f"symgeo: error: {message}", file=sys.stderr)
        return 2 if isinstance(exc, SpecError) else 1
    except KeyboardInterrupt:
        print("symgeo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fisher-Rao distances of the gamma and beta families: speed and accuracy.

Run: ``python benchmarks/bench_distances.py [--pairs 100] [--seed 0]``.

For each family, ``--pairs`` random pairs (shapes log-uniform in [0.05, 80],
gamma rates log-uniform in [1e-3, 1e3]) are solved in one batch by the multiple
shooting of :func:`symgeo.geodesics.solve_log` (default tolerance) and compared
with an independent reference: scipy's ``solve_bvp`` (collocation, tolerance
1e-9, curve length by Gauss-Legendre) on the Christoffel symbols lambdified from
SymPy, sharing no code with the generated kernel or the shooting (only the chart
and the discrete geodesic that starts both). A distance counts as accurate when
it is within 1e-9 relative of the reference; a pair the shooting reports as
failed is counted as failed, never as accurate. geomstats' ``dist`` is timed and
compared when geomstats is importable (it is not a dependency). Times are
CPU seconds (``time.process_time``); the table is Markdown on stdout.
"""

import argparse
import datetime
import os
import platform
import time

import numpy as np

from symgeo import fisher_metric, load_family
from symgeo.geodesics import GeodesicError, solve_log, solve_log_bvp

TOLERANCE = 1e-9


def random_pairs(name, count, rng):
    shapes = np.exp(rng.uniform(np.log(0.05), np.log(80), (2, count, 2)))
    if name == "gamma":
        rates = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), (2, count)))
        shapes[..., 1] = rates
    return shapes[0], shapes[1]


def geomstats_distances(name, a, b):
    """(distances, CPU seconds) from geomstats, or None when it is missing."""
    try:
        from geomstats.information_geometry.beta import BetaDistributions
        from geomstats.information_geometry.gamma import GammaDistributions
    except ImportError:
        return None
    space = GammaDistributions() if name == "gamma" else BetaDistributions()
    start = time.process_time()
    if name == "gamma":
        # geomstats' gamma coordinates are (shape k, scale 1/b)
        a = np.stack([a[:, 0], 1 / a[:, 1]], 1)
        b = np.stack([b[:, 0], 1 / b[:, 1]], 1)
    values = np.asarray(space.metric.dist(a, b), dtype=float)
    return values, time.process_time() - start


def reference_distance(metric, a, b):
    """The solve_bvp reference of one pair, NaN when collocation fails."""
    try:
        return float(
            solve_log_bvp(metric, a, b, tol=TOLERANCE, independent=True).distance
        )
    except GeodesicError:
        return np.nan


def run(name, count, rng):
    metric = fisher_metric(load_family(name))
    a, b = random_pairs(name, count, rng)
    solve_log(metric, a[:1], b[:1])  # compile the kernel outside the timing
    start = time.process_time()
    shot = solve_log(metric, a, b, on_failure="nan")
    seconds = time.process_time() - start

    start = time.process_time()
    reference = np.array(
        [reference_distance(metric, x, y) for x, y in zip(a, b, strict=True)]
    )
    reference_seconds = time.process_time() - start

    error = np.abs(shot.distance - reference) / reference
    failed = ~shot.converged
    no_reference = int(np.isnan(reference).sum())
    row = {
        "family": name,
        "pairs": count,
        "failed": int(failed.sum()),
        "accurate": int((error[~failed] <= TOLERANCE).sum()),
        "worst": float(np.nanmax(error[~failed])) if (~failed).any() else np.nan,
        "median": float(np.nanmedian(error[~failed])) if (~failed).any() else np.nan,
        "ms": 1e3 * seconds / count,
        "rate": count / seconds,
        "reference_ms": 1e3 * reference_seconds / count,
        "no_reference": no_reference,
    }
    found = geomstats_distances(name, a, b)
    if found is None:
        row["geomstats"] = "not installed (skipped)"
    else:
        values, gs_seconds = found
        gs_error = np.abs(values - reference) / reference
        row["geomstats"] = (
            f"{1e3 * gs_seconds / count:.1f} ms/distance, worst rel. error "
            f"{np.nanmax(gs_error):.1e}"
        )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = [run(name, args.pairs, rng) for name in ("gamma", "beta")]
    now = datetime.date.today().isoformat()
    cpus = os.cpu_count()
    print(
        f"{now}, {platform.machine()} ({cpus} cores), Python "
        f"{platform.python_version()}, seed {args.seed}"
    )
    print()
    print(
        "| family | pairs | within 1e-9 of reference | failed (reported) | "
        "worst / median rel. error | CPU ms per distance | distances per CPU-s | "
        "reference ms per distance | no reference | geomstats |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['family']} | {r['pairs']} | {r['accurate']} | {r['failed']} | "
            f"{r['worst']:.1e} / {r['median']:.1e} | {r['ms']:.1f} | "
            f"{r['rate']:.1f} | {r['reference_ms']:.1f} | {r['no_reference']} | "
            f"{r['geomstats']} |"
        )


if __name__ == "__main__":
    main()

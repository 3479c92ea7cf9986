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
compared when geomstats is importable (it is not a dependency), in this
environment or in the one of ``--geomstats-python`` (geomstats 2.8 needs numpy < 2:
``python -m venv gs && gs/bin/pip install geomstats==2.8.0 "numpy<2"``). Times are
CPU seconds (``time.process_time``); the table is Markdown on stdout.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
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


GEOMSTATS_SCRIPT = """
import json, sys, time
import numpy as np
from geomstats.information_geometry.beta import BetaDistributions
from geomstats.information_geometry.gamma import GammaDistributions
job = json.load(sys.stdin)
a, b = np.array(job["a"]), np.array(job["b"])
space = GammaDistributions() if job["name"] == "gamma" else BetaDistributions()
start = time.process_time()
values = np.asarray(space.metric.dist(a, b), dtype=float)
seconds = time.process_time() - start
json.dump({"distances": values.tolist(), "seconds": seconds}, sys.stdout)
"""


def geomstats_distances(name, a, b, python):
    """(distances, CPU seconds) from geomstats' ``dist``, or None without it.

    geomstats 2.8 needs numpy < 2, so it may live in another environment:
    ``python`` is that environment's interpreter (default: this one). It runs
    in a child process and times itself with ``time.process_time``.
    """
    if name == "gamma":
        # geomstats' standard gamma coordinates are (shape k, mean k / b)
        a = np.stack([a[:, 0], a[:, 0] / a[:, 1]], 1)
        b = np.stack([b[:, 0], b[:, 0] / b[:, 1]], 1)
    job = json.dumps({"name": name, "a": a.tolist(), "b": b.tolist()})
    done = subprocess.run(
        [python, "-c", GEOMSTATS_SCRIPT],
        input=job,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        if "ModuleNotFoundError" not in done.stderr:
            print(done.stderr, file=sys.stderr)
        return None
    found = json.loads(done.stdout)
    return np.array(found["distances"]), found["seconds"]


def reference_distance(metric, a, b):
    """The solve_bvp reference of one pair, NaN when collocation fails."""
    try:
        return float(
            solve_log_bvp(metric, a, b, tol=TOLERANCE, independent=True).distance
        )
    except GeodesicError:
        return np.nan


def run(name, count, rng, geomstats_python):
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
    found = geomstats_distances(name, a, b, geomstats_python)
    if found is None:
        row["geomstats"] = "not installed (skipped)"
    else:
        values, gs_seconds = found
        gs_error = np.abs(values - reference) / reference
        row["geomstats"] = (
            f"{count / gs_seconds:.1f} distances per CPU-s (symgeo "
            f"{gs_seconds / seconds:.0f}x faster), worst / median rel. error "
            f"{np.nanmax(gs_error):.1e} / {np.nanmedian(gs_error):.1e}"
        )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--geomstats-python",
        default=sys.executable,
        help="interpreter of an environment with geomstats (default: this one)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = [
        run(name, args.pairs, rng, args.geomstats_python) for name in ("gamma", "beta")
    ]
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

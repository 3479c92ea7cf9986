"""Evaluation rate of the Christoffel kernel Γ^k_ij (shape (N, n, n, n)) at N points.

For the Fisher metrics of the normal (mu, sigma), gamma (k, b) and 2-D gaussian
(mu1, mu2, s11, s12, s22) families, in one run on this machine:

- generated: the numpy kernel symgeo writes (``christoffel_unchecked`` with a
  reused ``out`` buffer, since the hand-written code checks no domain either;
  the "checked" column is ``christoffel``, with its domain check);
- lambdify: one ``sympy.lambdify`` per unique non-zero component of the same
  Christoffel symbols, assigned into the same buffer;
- hand-written: numpy written for the formula, each special function evaluated
  once per point (ψ1 = ζ(2, k) and ψ2 = −2ζ(3, k) called directly, not through
  ``polygamma``, which also evaluates ψ at every point), run over blocks of
  points small enough for the output to stay in cache (the closed forms are in
  the docstrings below);
- bandwidth limit: the bytes the kernel writes per point (8 n^3) over the rate
  of a large ``np.copyto`` on this machine (bytes written per second).

Rates are points per second, the best of ``--repeat`` runs. Every method is
checked against the generated kernel before it is timed. Run::

    python benchmarks/bench_kernels.py [--points 1000000] [--repeat 3]
"""

import argparse
import platform
import time

import numpy as np
import scipy.special as sc
import sympy as sp

from symgeo import fisher_metric, load_family


def best_time(function, repeat):
    """The shortest of ``repeat`` wall-clock times of ``function()``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def copy_rate(repeat, size=2**26):
    """Bytes written per second by ``np.copyto`` of a 512 MiB float64 array."""
    source, target = np.ones(size), np.empty(size)
    return 8 * size / best_time(lambda: np.copyto(target, source), repeat)


# -- hand-written kernels ---------------------------------------------------------


def normal_christoffel(mu, sigma, out):
    """Γ^μ_μσ = −1/σ, Γ^σ_μμ = 1/(2σ), Γ^σ_σσ = −1/σ."""
    inverse = 1.0 / sigma
    out[:, 0, 0, 0] = 0.0
    out[:, 0, 1, 1] = 0.0
    out[:, 0, 0, 1] = out[:, 0, 1, 0] = out[:, 1, 1, 1] = -inverse
    out[:, 1, 0, 0] = 0.5 * inverse
    out[:, 1, 0, 1] = out[:, 1, 1, 0] = 0.0
    return out


def gamma_christoffel(k, b, out):
    """Gamma (shape k, rate b): g = [[ψ1, −1/b], [−1/b, k/b²]], h = kψ1 − 1:
    Γ^k_kk = kψ2/(2h), Γ^k_kb = 1/(2bh), Γ^k_bb = −k/(2b²h), Γ^b_kk = bψ2/(2h),
    Γ^b_kb = ψ1/(2h), Γ^b_bb = (1 − 2kψ1)/(2bh); ψ1 and ψ2 once per point."""
    trigamma = sc.zeta(2.0, k)
    tetragamma = -2.0 * sc.zeta(3.0, k)
    half_h = 0.5 / (k * trigamma - 1.0)
    over_b = 1.0 / b
    out[:, 0, 0, 0] = k * tetragamma * half_h
    out[:, 0, 0, 1] = out[:, 0, 1, 0] = half_h * over_b
    out[:, 0, 1, 1] = -k * half_h * over_b * over_b
    out[:, 1, 0, 0] = b * tetragamma * half_h
    out[:, 1, 0, 1] = out[:, 1, 1, 0] = trigamma * half_h
    out[:, 1, 1, 1] = (1.0 - 2.0 * k * trigamma) * half_h * over_b
    return out


# Σ written by (s11, s12, s22): the matrix units E_s of each coordinate.
UNITS = {2: ((1, 0), (0, 0)), 3: ((0, 1), (1, 0)), 4: ((0, 0), (0, 1))}
ENTRY = {(0, 0): 2, (0, 1): 3, (1, 1): 4}


def _sandwich_terms():
    """Γ^{Σ_ab}_{s t} = −½ (E_s P E_t + E_t P E_s)_{ab} as lists of P entries."""
    terms = {}
    for s, es in UNITS.items():
        for t, et in UNITS.items():
            if t < s:
                continue
            for (a, b), target in ENTRY.items():
                used = []
                for first, second in ((es, et), (et, es)):
                    for c in range(2):
                        for d in range(2):
                            if first[a][c] and second[d][b]:
                                used.append(tuple(sorted((c, d))))
                if used:
                    terms[(target, s, t)] = used
    return terms


SANDWICH = _sandwich_terms()


def gaussian2d_christoffel(mu1, mu2, s11, s12, s22, out):
    """Gaussians N(μ, Σ) with P = Σ^(-1), from the geodesic equations
    μ'' = Σ' P μ', Σ'' = Σ' P Σ' − μ' μ'^T (Skovgaard, Scand. J. Stat. 11
    (1984) 211-223): Γ^{μ_k}_{μ_i s} = −½ (E_s P)_{ki}, Γ^{Σ_ab}_{μ_a μ_b} = 1
    (½ each order off the diagonal), Γ^{Σ_ab}_{s t} = −½ (E_s P E_t + E_t P E_s)_ab.
    """
    det = s11 * s22 - s12 * s12
    half = {(0, 0): 0.5 * s22 / det, (0, 1): -0.5 * s12 / det, (1, 1): 0.5 * s11 / det}
    out.fill(0.0)
    for s, unit in UNITS.items():
        for k in range(2):
            for i in range(2):
                entries = [tuple(sorted((c, i))) for c in range(2) if unit[k][c]]
                if entries:
                    out[:, k, i, s] = out[:, k, s, i] = -half[entries[0]]
    out[:, 2, 0, 0] = out[:, 4, 1, 1] = 1.0
    out[:, 3, 0, 1] = out[:, 3, 1, 0] = 0.5
    for (target, s, t), used in SANDWICH.items():
        value = -half[used[0]]
        for entry in used[1:]:
            value = value - half[entry]
        out[:, target, s, t] = out[:, target, t, s] = value
    return out


def in_cache_blocks(christoffel, points=8192):
    """``christoffel`` run on slices of ``points`` points at a time (about 0.5 MiB
    of output for n = 2), so that each slice is written while it is in cache."""

    def blocked(*args, out):
        for start in range(0, len(out), points):
            part = slice(start, start + points)
            christoffel(*(a[part] for a in args), out=out[part])
        return out

    return blocked


HAND = {
    "normal": in_cache_blocks(normal_christoffel),
    "gamma": in_cache_blocks(gamma_christoffel),
    "gaussian2d": in_cache_blocks(gaussian2d_christoffel, points=1024),
}


# -- per-component lambdify ---------------------------------------------------------


def lambdified_christoffel(metric):
    """A function of the parameters and ``out`` that calls one lambdified
    function per unique non-zero Γ^k_ij (i <= j) of ``metric``."""
    symbols = metric.family.symbols
    parts = [
        ((k, i, j), sp.lambdify(symbols, expr, modules=["scipy", "numpy"]))
        for (k, i, j), expr in metric.nonzero_christoffels()
    ]

    def christoffel(*args, out):
        out.fill(0.0)
        for (k, i, j), function in parts:
            out[:, k, i, j] = out[:, k, j, i] = function(*args)
        return out

    return christoffel


# -- the run -------------------------------------------------------------------------


def sample(family, count, seed=1):
    """``count`` points of ``family`` as one float array per parameter."""
    rng = np.random.default_rng(seed)
    if family.name == "normal":
        return [rng.normal(size=count), rng.uniform(0.2, 5.0, count)]
    if family.name == "gamma":
        return [rng.uniform(0.5, 20.0, count), rng.uniform(0.1, 5.0, count)]
    s11, s22 = rng.uniform(0.5, 3.0, count), rng.uniform(0.5, 3.0, count)
    s12 = rng.uniform(-0.9, 0.9, count) * np.sqrt(s11 * s22)
    return [rng.normal(size=count), rng.normal(size=count), s11, s12, s22]


def measure(name, count, repeat, bandwidth):
    """One row of the table: rates of the three methods and the limit."""
    metric = fisher_metric(load_family(name))
    kernels = metric.kernel("numpy")
    args = sample(metric.family, count)
    n = metric.dimension
    out = np.empty((count, n, n, n))
    reference = kernels.christoffel(*args)
    lambdified = lambdified_christoffel(metric)
    methods = {
        "generated": lambda: kernels.christoffel_unchecked(*args, out=out),
        "checked": lambda: kernels.christoffel(*args, out=out),
        "lambdify": lambda: lambdified(*args, out=out),
        "hand-written": lambda: HAND[name](*args, out=out),
    }
    rates = {}
    for label, run in methods.items():
        run()
        scale = np.max(np.abs(reference))
        error = np.max(np.abs(out - reference)) / scale
        if not error < 1e-9:
            raise RuntimeError(
                f"{label} Christoffel symbols of {name} differ by {error:.1e}"
            )
        rates[label] = count / best_time(run, repeat)
    rates["limit"] = bandwidth / (8 * n**3)
    return rates


def table(rows):
    """The Markdown table of the README's performance section."""
    lines = [
        "| family (n) | generated (Mpt/s) | checked | lambdify | hand-written "
        "| bandwidth limit | generated / hand | generated / lambdify "
        "| generated / limit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, n), r in rows.items():
        lines.append(
            f"| {name} ({n}) | {r['generated'] / 1e6:.1f} | {r['checked'] / 1e6:.1f} "
            f"| {r['lambdify'] / 1e6:.2f} "
            f"| {r['hand-written'] / 1e6:.1f} | {r['limit'] / 1e6:.0f} "
            f"| {r['generated'] / r['hand-written']:.2f} "
            f"| {r['generated'] / r['lambdify']:.1f} "
            f"| {r['generated'] / r['limit']:.3f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    bandwidth = copy_rate(args.repeat)
    rows = {}
    for name, n in (("normal", 2), ("gamma", 2), ("gaussian2d", 5)):
        rows[(name, n)] = measure(name, args.points, args.repeat, bandwidth)
    print(
        f"N = {args.points} points, best of {args.repeat}; "
        f"{platform.processor() or platform.machine()}, "
        f"numpy {np.__version__}; copy rate {bandwidth / 1e9:.1f} GB/s"
    )
    print(table(rows))


if __name__ == "__main__":
    main()

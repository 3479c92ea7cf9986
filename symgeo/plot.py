"""Figures of geodesics: paths in parameter space and density snapshots along them.

matplotlib is optional (``pip install "symgeo[plot]"``) and imported only when a
figure is drawn. The left panel shows each metric's geodesic between the same
two points in the plane of the first two parameters; the right panels show the
densities (or pmfs) at a few times t along each geodesic.
"""

import logging
from pathlib import Path

import numpy as np
import sympy as sp

from .errors import SpecError

log = logging.getLogger(__name__)

SNAPSHOTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError(
            "plotting needs matplotlib, which is not installed; run pip install "
            '"symgeo[plot]"'
        ) from None
    return plt


def check_figure_file(filename):
    """Raise SpecError unless matplotlib is installed and writes the format of
    ``filename``'s suffix (checked before a long computation, not after).

    >>> check_figure_file("paths.xyz")
    Traceback (most recent call last):
    ...
    symgeo.errors.SpecError: cannot draw the figure paths.xyz: matplotlib does not \
    write '.xyz' files; use one of ..., .pdf, ..., .png, ..., .svg, ...
    """
    plt = _pyplot()
    formats = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    suffix = Path(filename).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise SpecError(
            f"cannot draw the figure {filename}: matplotlib does not write "
            f"'.{suffix}' files; use one of "
            f"{', '.join('.' + f for f in sorted(formats))}"
        )


def plot_geodesics(family, paths, filename, snapshots=SNAPSHOTS):
    """Draw ``paths`` ({metric kind: array (T, n)}) of ``family`` into ``filename``.

    Each path holds the geodesic at equally spaced times 0 <= t <= 1.

    >>> import tempfile, os
    >>> from symgeo import load_family
    >>> path = np.array([[0.0, 1.0], [1.5, 1.4], [3.0, 1.0]])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     name = os.path.join(folder, "g.png")
    ...     plot_geodesics(load_family("normal"), {"fisher": path}, name)
    ...     os.path.getsize(name) > 0
    True
    """
    plt = _pyplot()
    names = family.names
    figure, axes = plt.subplots(
        1, 1 + len(paths), figsize=(5 * (1 + len(paths)), 4), squeeze=False
    )
    axes = axes[0]
    colours = {"fisher": "tab:blue", "wasserstein": "tab:orange"}
    for kind, path in paths.items():
        label = {"fisher": "Fisher-Rao", "wasserstein": "W2"}.get(kind, kind)
        x = path[:, 0]
        y = path[:, 1] if path.shape[1] > 1 else np.zeros_like(x)
        axes[0].plot(x, y, "-o", ms=3, color=colours.get(kind), label=label)
    axes[0].set_xlabel(names[0])
    axes[0].set_ylabel(names[1] if len(names) > 1 else "")
    axes[0].set_title(f"geodesics of {family.name} in parameter space")
    axes[0].legend()
    for axis, (kind, path) in zip(axes[1:], paths.items(), strict=True):
        _snapshots(axis, family, path, snapshots)
        label = {"fisher": "Fisher-Rao", "wasserstein": "W2"}.get(kind, kind)
        axis.set_title(f"{label}: densities along the geodesic")
    figure.tight_layout()
    figure.savefig(filename, dpi=110)
    plt.close(figure)
    log.info("figure written to %s", filename)


def _snapshots(axis, family, path, snapshots):
    density = family.density if not family.is_discrete else family.pmf
    f = sp.lambdify(
        [family.variable, *family.symbols], density, modules=["scipy", "numpy"]
    )
    times = np.linspace(0, 1, len(path))
    chosen = sorted({int(np.argmin(np.abs(times - t))) for t in snapshots})
    points = [path[i] for i in chosen]
    grid = _grid(family, points)
    for t, point in zip(times[chosen], points, strict=True):
        values = np.broadcast_to(np.real(f(grid, *point)), grid.shape)
        style = "o-" if family.is_discrete else "-"
        axis.plot(grid, values, style, ms=3, label=f"t = {t:.3g}")
    axis.set_xlabel(str(family.variable))
    axis.legend(fontsize=8)


def _grid(family, points):
    lo, hi = (float(b) for b in family.support)
    if family.is_discrete:
        top = hi if np.isfinite(hi) else 30
        return np.arange(lo, top + 1)
    if np.isfinite(lo) and np.isfinite(hi):
        return np.linspace(lo, hi, 400)[1:-1]
    from .quantile import numeric_quantile

    ends = []
    for point in points:
        q = numeric_quantile(
            family, family.point(dict(zip(family.names, point, strict=True)))
        )
        ends += [float(q(0.002)), float(q(0.998))]
    return np.linspace(min(ends), max(ends), 400)

"""Where the Fisher and the Wasserstein geometries of a family agree.

:func:`compare` takes the Fisher metric g^F and the pullback Wasserstein-2
metric g^W of one family and decides:

- conformality, g^W = f g^F for a function f of the parameters, and whether f
  is a constant (then the two geometries differ only by a scale);
- projective equivalence, the same geodesics up to reparametrisation, by
  Levi-Civita's test: with D^k_ij = Γ_W^k_ij − Γ_F^k_ij and, in dimension n,
  φ_i = Σ_k D^k_ki / (n + 1), the metrics are projectively equivalent iff
  D^k_ij = δ^k_i φ_j + δ^k_j φ_i for all k, i, j (Eisenhart, *Riemannian
  Geometry*, 1926, §40);
- the same parametrised geodesics, D^k_ij = 0;
- for each coordinate line (coordinate a varying, the others fixed) whether the
  induced metrics g^W_aa and g^F_aa are proportional (their ratio is free of
  θ_a) and whether the line is a geodesic, as a path, of each metric: it is iff
  Γ^k_aa = 0 for every k ≠ a.

Christoffel symbols are Γ^k_ij stored ``[k, i, j]`` (:mod:`symgeo.geometry`).
Each verdict is first computed in floating point at sample points of the
parameter space (an exact closed form evaluated at a point is a reliable
witness of a non-zero); a "yes" is then confirmed by cancellation to an exact 0
under a time budget. A "yes" that rests on numbers only (an entry without a
closed form, differentiated by central differences, or a zero that bounded
simplification did not reach) makes the comparison's ``method``
``"numerical"`` and a note says which verdict it is.

:func:`alignment` is the figure of how far from proportional the two metrics
are at a point: the eigenvalues of g_W^-1 g_F (the generalised eigenproblem
g_F v = λ g_W v) and their spread max λ / min λ, which is 1 exactly where the
metrics are proportional.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import sympy as sp

from .budget import BudgetExceeded, time_budget
from .errors import DerivationError, SpecError
from .simplification import tidy
from .verify import evaluate_entry, has_closed_form
from .wasserstein import CdfIntegral

log = logging.getLogger(__name__)

POINTS = 5
QUADRATURE_POINTS = 2
EXACT_TOLERANCE = 1e-8
DIFFERENCE_TOLERANCE = 1e-5
NEAR_ZERO = 1e-4
STEP = 1e-4
SYMBOLIC_SECONDS = 30.0
EXPRESSION_SECONDS = 5.0


# -- results ------------------------------------------------------------------------


@dataclass
class Alignment:
    """Eigenvalues of g_W^-1 g_F at parameter points, and their spread.

    ``eigenvalues[p]`` are the ascending eigenvalues at ``points[p]`` (a dict
    from parameter name to value); ``spreads[p]`` is their ratio max / min, 1
    where the two metrics are proportional.
    """

    points: list
    eigenvalues: list
    spreads: list

    @property
    def least_spread(self):
        return min(self.spreads) if self.spreads else None

    @property
    def greatest_spread(self):
        return max(self.spreads) if self.spreads else None

    def as_json(self):
        return {
            "points": [
                {"at": at, "eigenvalues": values, "spread": spread}
                for at, values, spread in zip(
                    self.points, self.eigenvalues, self.spreads, strict=True
                )
            ],
            "spread": {"min": self.least_spread, "max": self.greatest_spread},
        }


@dataclass
class Subfamily:
    """One coordinate line: ``coordinate`` varies, the ``fixed`` ones do not.

    ``ratio`` is g^W_aa / g^F_aa (None without a closed form); ``proportional``
    says whether it is free of the varying coordinate; ``fisher_geodesic`` and
    ``wasserstein_geodesic`` whether the line is a geodesic path of each metric.
    """

    coordinate: str
    fixed: tuple
    ratio: object
    proportional: bool | None
    fisher_geodesic: bool | None
    wasserstein_geodesic: bool | None

    @property
    def label(self):
        if not self.fixed:
            return f"{self.coordinate} (the whole family)"
        return f"{self.coordinate} lines ({', '.join(self.fixed)} fixed)"

    @property
    def geodesic_of_both(self):
        """True when the line is a geodesic path of both metrics."""
        verdicts = (self.fisher_geodesic, self.wasserstein_geodesic)
        if False in verdicts:
            return False
        return None if None in verdicts else True

    def as_json(self):
        return {
            "varying": self.coordinate,
            "fixed": list(self.fixed),
            "induced_ratio": None if self.ratio is None else str(self.ratio),
            "proportional": self.proportional,
            "geodesic": {
                "fisher": self.fisher_geodesic,
                "wasserstein": self.wasserstein_geodesic,
            },
            "geodesic_of_both": self.geodesic_of_both,
        }


@dataclass(eq=False)
class Comparison:
    """The verdicts of :func:`compare`; None stands for undecided.

    ``factor`` is f in g^W = f g^F when the metrics are conformal (None
    otherwise or without a closed form); ``method`` is ``"symbolic"`` when every
    "yes" was confirmed by exact cancellation and every "no" has a closed-form
    witness, ``"numerical"`` otherwise.
    """

    family: object
    fisher: object
    wasserstein: object
    conformal: bool | None
    factor: object
    constant_multiple: bool | None
    projectively_equivalent: bool | None
    same_parametrised_geodesics: bool | None
    subfamilies: list
    alignment: Alignment
    method: str
    notes: list = field(default_factory=list)

    @property
    def same_geodesics(self):
        """The same geodesic paths (projective equivalence)."""
        return self.projectively_equivalent

    @property
    def agree_on(self):
        """Varying coordinates of the lines that are geodesics of both metrics."""
        return [s.coordinate for s in self.subfamilies if s.geodesic_of_both]

    def as_dict(self):
        """The verdicts as ``{label: value}`` rows for reports and the terminal."""
        rows = {"conformal": self.conformal}
        if self.conformal and self.factor is not None:
            rows["conformal factor f"] = self.factor
        rows["constant multiple"] = self.constant_multiple
        rows["same_geodesics"] = self.same_geodesics
        rows["same parametrised geodesics"] = self.same_parametrised_geodesics
        for line in self.subfamilies if self.family.dimension > 1 else ():
            label = line.label
            rows[f"{label} are Fisher geodesics"] = line.fisher_geodesic
            rows[f"{label} are W2 geodesics"] = line.wasserstein_geodesic
            if line.ratio is not None:
                rows[f"{label}: induced metrics, ratio W2 / Fisher"] = line.ratio
            rows[f"{label}: induced metrics proportional"] = line.proportional
        rows["alignment spread (least, greatest)"] = (
            self.alignment.least_spread,
            self.alignment.greatest_spread,
        )
        rows["method"] = self.method
        rows["notes"] = list(self.notes)
        return rows

    def as_json(self):
        """The JSON record of ``symgeo compare --json`` (design.md 3.2)."""
        constant = self.conformal and self.constant_multiple
        return {
            "family": self.family.name,
            "parameters": list(self.family.names),
            "conformal": self.conformal,
            "factor": None if self.factor is None else str(self.factor),
            "constant_multiple": self.constant_multiple,
            "constant_factor": str(self.factor) if constant and self.factor else None,
            "projectively_equivalent": self.projectively_equivalent,
            "same_geodesics": self.same_geodesics,
            "same_parametrised_geodesics": self.same_parametrised_geodesics,
            "agree_on": self.agree_on,
            "subfamilies": [line.as_json() for line in self.subfamilies],
            "alignment": self.alignment.as_json(),
            "method": self.method,
            "notes": list(self.notes),
        }

    def __str__(self):
        from .report import comparison_text

        return comparison_text(self)

    __repr__ = __str__

    def _repr_latex_(self):
        from .report import comparison_latex

        return comparison_latex(self, self.family)


# -- numbers at sample points -------------------------------------------------------


@dataclass
class _Samples:
    """g (P, n, n), ∂_m g_ij (P, m, i, j) and Γ^k_ij (P, k, i, j) at P points."""

    g: np.ndarray
    dg: np.ndarray
    gamma: np.ndarray
    exact: bool


def _step(value):
    return STEP * max(abs(value), 1e-2)


def _entry_by_quadrature(expr, point, coords):
    """An entry without a closed form and its gradient (central differences)."""

    def at(shifted):
        return float(evaluate_entry(expr, shifted, digits=12).real)

    gradient = []
    for x in coords:
        if x not in expr.free_symbols:
            gradient.append(0.0)
            continue
        h = _step(point[x])
        up, down = dict(point), dict(point)
        up[x] += h
        down[x] -= h
        gradient.append((at(up) - at(down)) / (2 * h))
    return at(point), gradient


def _closed_form_values(exprs, coords, points):
    """Values of closed-form ``exprs`` at ``points``, shape (P, len(exprs))."""
    function = sp.lambdify(coords, exprs, modules=["scipy", "numpy"])
    rows = []
    for point in points:
        try:
            with np.errstate(all="ignore"):
                row = np.asarray(function(*(point[x] for x in coords)), dtype=complex)
        except (TypeError, ValueError, ZeroDivisionError, NameError):
            row = np.full(len(exprs), np.nan, dtype=complex)
        if not np.all(np.isfinite(row)):
            row = np.array([_mpmath_value(e, point) for e in exprs])
        rows.append(row.real)
    return np.array(rows)


def _mpmath_value(expr, point):
    """``expr`` at ``point`` by SymPy's evalf; nan where it is not a finite number."""
    try:
        return complex(evaluate_entry(expr, point, digits=16))
    except (TypeError, ValueError, ZeroDivisionError):
        return complex(np.nan)


def _finite_points(metrics, candidates, count):
    """The first ``count`` candidate points where every closed-form entry of every
    metric is finite (a W2 metric can be infinite in part of the parameter space)."""
    usable = np.ones(len(candidates), dtype=bool)
    for metric in metrics:
        coords = list(metric.coordinates)
        exprs = [e for e in metric.matrix if has_closed_form(e)]
        if exprs:
            values = _closed_form_values(exprs, coords, candidates)
            usable &= np.all(np.isfinite(values), axis=1)
    return [p for p, ok in zip(candidates, usable, strict=True) if ok][:count]


def _samples(metric, points):
    """Evaluate g, its derivatives and Γ of ``metric`` at ``points``."""
    coords = list(metric.coordinates)
    n = metric.dimension
    size = len(points)
    g = np.empty((size, n, n))
    dg = np.empty((size, n, n, n))

    closed = [
        (i, j)
        for i in range(n)
        for j in range(i, n)
        if has_closed_form(metric.matrix[i, j])
    ]
    exprs = [metric.matrix[i, j] for i, j in closed]
    exprs += [metric.matrix[i, j].diff(x) for i, j in closed for x in coords]
    if closed:
        values = _closed_form_values(exprs, coords, points)
        for c, (i, j) in enumerate(closed):
            g[:, i, j] = g[:, j, i] = values[:, c]
            start = len(closed) + c * n
            for m in range(n):
                dg[:, m, i, j] = dg[:, m, j, i] = values[:, start + m]

    for i in range(n):
        for j in range(i, n):
            if (i, j) in closed:
                continue
            for p, point in enumerate(points):
                value, gradient = _entry_by_quadrature(
                    metric.matrix[i, j], point, coords
                )
                g[p, i, j] = g[p, j, i] = value
                dg[p, :, i, j] = dg[p, :, j, i] = gradient

    lowered = (np.einsum("pimj->pmij", dg) + np.einsum("pjmi->pmij", dg) - dg) / 2
    gamma = np.einsum("pkm,pmij->pkij", np.linalg.inv(g), lowered)
    return _Samples(g, dg, gamma, exact=len(closed) == n * (n + 1) // 2)


def alignment(fisher, wasserstein, points):
    """Eigenvalues of g_W^-1 g_F at ``points`` and their spread max λ / min λ.

    The eigenvalues solve the generalised problem g_F v = λ g_W v; the spread is
    1 exactly where g^W is a multiple of g^F. ``points`` are dicts from parameter
    names (or symbols) to values, or sequences in coordinate order.

    >>> from symgeo import fisher_metric, load_family, wasserstein_metric
    >>> family = load_family("normal")
    >>> figure = alignment(fisher_metric(family), wasserstein_metric(family),
    ...                    [{"mu": 0.0, "sigma": 2.0}])
    >>> figure.eigenvalues, figure.spreads
    ([[0.25, 0.5]], [2.0])
    """
    family = fisher.family
    checked = [family.point(_by_name(point)) for point in points]
    return _alignment(
        _samples(fisher, checked), _samples(wasserstein, checked), checked
    )


def _by_name(point):
    if isinstance(point, dict):
        return {str(name): value for name, value in point.items()}
    return point


def _alignment(fisher, wasserstein, points):
    eigenvalues, spreads = [], []
    for g_f, g_w in zip(fisher.g, wasserstein.g, strict=True):
        values = scipy.linalg.eigh(g_f, g_w, eigvals_only=True)
        eigenvalues.append([_rounded(v) for v in values])
        spreads.append(_rounded(values[-1] / values[0]))
    named = [{str(x): float(v) for x, v in point.items()} for point in points]
    return Alignment(named, eigenvalues, spreads)


def _rounded(value):
    """A float to 12 significant digits, so that 2.0000000000000004 reads 2.0."""
    return float(f"{float(value):.12g}")


# -- deciding a zero -----------------------------------------------------------------


class _Decider:
    """Decide whether expressions vanish identically: numbers first, then an
    exact cancellation (under a shared time budget) for each apparent zero."""

    def __init__(self, exact, seconds):
        self.exact = exact
        self.tolerance = EXACT_TOLERANCE if exact else DIFFERENCE_TOLERANCE
        self.deadline = time.monotonic() + seconds
        self.numerical = []

    def vanishes(self, what, relative, exprs):
        """``relative``: residuals divided by their scale, one row per point;
        ``exprs``: a callable returning the symbolic residuals (or None)."""
        worst = float(np.max(np.abs(relative), initial=0.0))
        if worst > NEAR_ZERO or (worst > self.tolerance and not self.exact):
            return False
        proved = self._symbolic_zero(exprs) if self.exact else None
        if proved:
            return True
        if worst > self.tolerance:
            return False
        self.numerical.append(what)
        return True

    def _symbolic_zero(self, exprs):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            with time_budget(remaining, "the symbolic comparison"):
                residuals = exprs()
                if residuals is None:
                    return None
                return all(_cancels(e) for e in residuals)
        except BudgetExceeded:
            return None


def _cancels(expr):
    if expr == 0:
        return True
    if sp.cancel(sp.together(expr)) == 0:
        return True
    return tidy(expr, seconds=EXPRESSION_SECONDS) == 0


def _relative(values, scale):
    """``values`` (P, ...) divided by a per-point ``scale`` (P,), 0 where both are 0."""
    values = np.abs(values).reshape(len(values), -1)
    scale = np.asarray(scale, dtype=float).reshape(-1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(values == 0, 0.0, values / scale)
    return np.nan_to_num(ratio, nan=np.inf)


def _largest(array):
    return np.max(np.abs(array).reshape(len(array), -1), axis=1)


# -- the comparison --------------------------------------------------------------------


def _check_pair(fisher, wasserstein):
    if fisher.family is not wasserstein.family and (
        fisher.family.name != wasserstein.family.name
        or fisher.coordinates != wasserstein.coordinates
    ):
        raise SpecError(
            f"the metrics belong to different families ({fisher.family.name} and "
            f"{wasserstein.family.name}); compare two metrics of the same family"
        )
    for metric in (fisher, wasserstein):
        if any(entry.has(CdfIntegral) for entry in metric.matrix):
            raise DerivationError(
                f"the {metric.kind} metric of '{metric.family.name}' has entries "
                "that are nested integrals (∫ ∂_iF ∂_jF / p dx with ∂_iF itself an "
                "integral); the comparison needs their derivatives at several "
                "points, many minutes of nested quadrature, so it is not made; "
                "evaluate the metrics with 'symgeo eval' to compare them at a point"
            )


def _conformal(fisher, wasserstein, samples, decider):
    """(conformal, factor f, constant multiple)."""
    n = fisher.dimension
    g_f, g_w = fisher.matrix, wasserstein.matrix
    anchor = next((a for a in range(n) if g_f[a, a] != 0 and g_w[a, a] != 0), 0)
    exact = decider.exact
    factor = tidy(g_w[anchor, anchor] / g_f[anchor, anchor]) if exact else None
    f_numbers = samples["w"].g[:, anchor, anchor] / samples["f"].g[:, anchor, anchor]

    if n == 1:
        conformal = True
    else:
        residual = samples["w"].g - f_numbers[:, None, None] * samples["f"].g
        relative = _relative(residual, _largest(samples["w"].g))

        def exprs():
            return [
                g_w[i, j] - factor * g_f[i, j] for i in range(n) for j in range(i, n)
            ]

        conformal = decider.vanishes("conformality", relative, exprs)
    if not conformal:
        return False, None, False

    spread = _relative(f_numbers - f_numbers[0], np.abs(f_numbers))
    coords = fisher.coordinates

    def derivatives():
        return [factor.diff(x) for x in coords]

    constant = decider.vanishes("the constant factor", spread, derivatives)
    return True, factor, constant


def _christoffel_differences(fisher, wasserstein):
    """D^k_ij = Γ_W^k_ij − Γ_F^k_ij as nested lists indexed [k][i][j]."""
    n = fisher.dimension
    gamma_f, gamma_w = fisher.christoffel, wasserstein.christoffel
    return [
        [[gamma_w[k, i, j] - gamma_f[k, i, j] for j in range(n)] for i in range(n)]
        for k in range(n)
    ]


def _projective_residual(difference, n):
    """R^k_ij = D^k_ij − δ^k_i φ_j − δ^k_j φ_i with φ_i = Σ_k D^k_ki / (n + 1)."""
    phi = [sum(difference[k][k][i] for k in range(n)) / (n + 1) for i in range(n)]
    return [
        [
            [
                difference[k][i][j]
                - (phi[j] if k == i else 0)
                - (phi[i] if k == j else 0)
                for j in range(n)
            ]
            for i in range(n)
        ]
        for k in range(n)
    ]


def _geodesic_structure(fisher, wasserstein, samples, decider):
    """(projectively equivalent, same parametrised geodesics)."""
    n = fisher.dimension
    difference = samples["w"].gamma - samples["f"].gamma
    scale = np.maximum(_largest(samples["w"].gamma), _largest(samples["f"].gamma))

    def symbolic_difference():
        return [
            e
            for plane in _christoffel_differences(fisher, wasserstein)
            for row in plane
            for e in row
        ]

    same = decider.vanishes(
        "equality of the Christoffel symbols",
        _relative(difference, scale),
        symbolic_difference,
    )
    if same:
        return True, True

    numbers = np.array(
        [_projective_residual(d.tolist(), n) for d in difference], dtype=float
    )

    def symbolic_residual():
        residual = _projective_residual(
            _christoffel_differences(fisher, wasserstein), n
        )
        return [e for plane in residual for row in plane for e in row]

    projective = decider.vanishes(
        "projective equivalence", _relative(numbers, scale), symbolic_residual
    )
    return projective, False


def _line_is_geodesic(metric, sample, a, decider):
    """Γ^k_aa = 0 for every k ≠ a: the a-coordinate lines are geodesic paths."""
    n = metric.dimension
    others = [k for k in range(n) if k != a]
    if not others:
        return True
    values = sample.gamma[:, others, a, a]
    relative = _relative(values, _largest(sample.gamma))

    def exprs():
        return [metric.christoffel[k, a, a] for k in others]

    name = metric.coordinates[a]
    return decider.vanishes(
        f"the {name} lines as {metric.kind} geodesics", relative, exprs
    )


def _subfamily(fisher, wasserstein, samples, a, decider):
    coords = fisher.coordinates
    x = coords[a]
    f_aa, w_aa = fisher.matrix[a, a], wasserstein.matrix[a, a]
    ratio = tidy(w_aa / f_aa) if decider.exact else None

    g_f, g_w = samples["f"], samples["w"]
    values = g_w.g[:, a, a] / g_f.g[:, a, a]
    slope = (
        g_w.dg[:, a, a, a] * g_f.g[:, a, a] - g_w.g[:, a, a] * g_f.dg[:, a, a, a]
    ) / (g_f.g[:, a, a] ** 2)
    length = np.array([max(1.0, abs(p[x])) for p in samples["points"]])
    relative = _relative(slope * length, np.abs(values))
    proportional = decider.vanishes(
        f"proportional induced metrics on the {x} lines",
        relative,
        lambda: [ratio.diff(x)],
    )
    return Subfamily(
        coordinate=str(x),
        fixed=tuple(str(c) for c in coords if c != x),
        ratio=ratio,
        proportional=proportional,
        fisher_geodesic=_line_is_geodesic(fisher, g_f, a, decider),
        wasserstein_geodesic=_line_is_geodesic(wasserstein, g_w, a, decider),
    )


def compare(fisher, wasserstein, *, points=POINTS, seed=0, seconds=SYMBOLIC_SECONDS):
    """Where the Fisher geometry g^F and the Wasserstein geometry g^W agree.

    Decides conformality g^W = f g^F (f constant: a constant multiple),
    projective equivalence by Levi-Civita's test D^k_ij = δ^k_i φ_j + δ^k_j φ_i
    with D = Γ_W − Γ_F and φ_i = Σ_k D^k_ki / (n + 1) (the same geodesic paths),
    equal Christoffel symbols (the same parametrised geodesics), and for each
    coordinate line whether the induced metrics are proportional and whether
    the line is a geodesic of each metric (Γ^k_aa = 0 for k ≠ a). Verdicts are
    found at ``points`` sample points (``seed`` fixes them; two when an entry
    has no closed form, which is then evaluated by quadrature and differentiated
    by central differences) and each "yes" is confirmed by exact cancellation
    within ``seconds`` in all; see the module docstring.

    >>> from symgeo import fisher_metric, load_family, wasserstein_metric
    >>> family = load_family("normal")
    >>> result = compare(fisher_metric(family), wasserstein_metric(family))
    >>> result.conformal, result.same_geodesics, result.agree_on
    (False, False, ['sigma'])
    >>> result.subfamilies[0].ratio, result.subfamilies[0].proportional
    (sigma**2, True)
    """
    _check_pair(fisher, wasserstein)
    family = fisher.family
    start = time.monotonic()
    exact = fisher.closed_form and wasserstein.closed_form
    count = points if exact else min(points, QUADRATURE_POINTS)
    candidates = family.sample_points(4 * count, seed=seed)
    sample_points = _finite_points((fisher, wasserstein), candidates, count)
    if not sample_points:
        raise DerivationError(
            f"the Fisher and W2 metrics of '{family.name}' are not both finite at "
            f"any of {len(candidates)} sample points, so there is nothing to compare"
        )
    samples = {
        "f": _samples(fisher, sample_points),
        "w": _samples(wasserstein, sample_points),
        "points": sample_points,
    }
    decider = _Decider(exact, seconds)
    log.info(
        "comparing the geometries of %s at %d points (%s entries)",
        family.name,
        count,
        "closed-form" if exact else "quadrature",
    )

    conformal, factor, constant = _conformal(fisher, wasserstein, samples, decider)
    projective, parametrised = _geodesic_structure(
        fisher, wasserstein, samples, decider
    )
    lines = [
        _subfamily(fisher, wasserstein, samples, a, decider)
        for a in range(fisher.dimension)
    ]
    notes = _notes(family, exact, count, decider) + _bowing(samples, lines, decider)
    if len(sample_points) < count or any(
        p not in sample_points for p in candidates[:count]
    ):
        notes.append(
            "a metric is infinite at some sample points; only points where both are "
            f"finite were used ({len(sample_points)} of them)"
        )
    log.info(
        "compared the geometries of %s in %.1f s", family.name, time.monotonic() - start
    )
    return Comparison(
        family=family,
        fisher=fisher,
        wasserstein=wasserstein,
        conformal=conformal,
        factor=factor,
        constant_multiple=constant,
        projectively_equivalent=projective,
        same_parametrised_geodesics=parametrised,
        subfamilies=lines,
        alignment=_alignment(samples["f"], samples["w"], sample_points),
        method="symbolic" if exact and not decider.numerical else "numerical",
        notes=notes,
    )


def _notes(family, exact, count, decider):
    notes = []
    if family.dimension == 1:
        notes.append(
            "in one dimension any two metrics are conformal and have the same "
            "geodesic paths (the whole parameter line)"
        )
    if not exact:
        notes.append(
            f"some metric entries have no closed form, so every verdict rests on "
            f"quadrature and central differences at {count} points"
        )
    elif decider.numerical:
        notes.append(
            "these verdicts hold at every sample point but did not simplify to an "
            f"exact 0 within the time budget: {', '.join(decider.numerical)}"
        )
    return notes


def _bowing(samples, lines, decider):
    """Notes on the side toward which the geodesics of a metric that does not
    follow a coordinate line bow away from it.

    A geodesic joining two nearby members of the a-line deviates from it by
    y^k with y''^k = −Γ^k_aa (ẋ^a)² and y = 0 at both ends, so it bows toward
    the side of the sign of Γ^k_aa; the note is made when that sign is the same
    at every sample point.
    """
    notes = []
    names = [line.coordinate for line in lines]
    kinds = {"f": "Fisher", "w": "W2"}
    for a, line in enumerate(lines):
        verdicts = {"f": line.fisher_geodesic, "w": line.wasserstein_geodesic}
        for key, other in (("f", "w"), ("w", "f")):
            if verdicts[key] is not False:
                continue
            gamma = samples[key].gamma
            scale = _largest(gamma)
            sides = []
            for k in range(len(lines)):
                values = gamma[:, k, a, a]
                if k == a or not np.all(np.abs(values) > decider.tolerance * scale):
                    continue
                if np.all(values > 0):
                    sides.append(f"larger {names[k]}")
                elif np.all(values < 0):
                    sides.append(f"smaller {names[k]}")
            if not sides:
                continue
            single = line.label.replace(" lines ", " line ", 1)
            note = (
                f"{kinds[key]} geodesics joining two members of one {single} bow "
                f"toward {' and '.join(sides)}"
            )
            if verdicts[other]:
                note += f", while the line itself is a {kinds[other]} geodesic"
            notes.append(note)
    return notes

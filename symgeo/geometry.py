"""Riemannian quantities of a metric given as a SymPy matrix.

Each function is one step of the mathematics, from the metric g_ij to the
curvature and the geodesic equations, with every entry passed through
:func:`symgeo.simplification.tidy` and an entry counted as zero when its tidied
form is 0. Conventions (those of Lee, *Introduction to Riemannian Manifolds*,
2nd ed., 2018, ch. 7):

- Christoffel symbols of the second kind, stored as an Array of shape (n, n, n)
  indexed ``[k, i, j]``:
  Γ^k_ij = ½ g^km (∂_i g_mj + ∂_j g_mi − ∂_m g_ij).
- Riemann tensor, shape (n, n, n, n) indexed ``[a, b, c, d]``:
  R^a_bcd = ∂_c Γ^a_db − ∂_d Γ^a_cb + Γ^a_ce Γ^e_db − Γ^a_de Γ^e_cb,
  the components of R(∂_c, ∂_d) ∂_b.
- Ricci tensor R_ij = R^k_ikj, scalar curvature R = g^ij R_ij, and in
  dimension 2 the Gaussian curvature K = R / 2, so that a round sphere of
  radius r has K = 1/r² and R = 2/r².
- Geodesics: x''^k = −Γ^k_ij x'^i x'^j.
"""

from itertools import combinations, product

import numpy as np
import sympy as sp

from .errors import DerivationError, SpecError
from .simplification import tidy

_CURVE_PARAMETER = sp.Symbol("t")


def _vanishes(expr):
    return expr == 0 or tidy(expr) == 0


def _singular_metric():
    return DerivationError(
        "The metric is singular (its determinant is 0), so it has no inverse; "
        "check that the coordinates are independent."
    )


def finite_branch(g: sp.Matrix):
    """``(matrix, region)``: entries Piecewise((g_ij, region), (∞, True)) replaced
    by g_ij, and the one region where they hold (``sympy.true`` if none).

    Raises ValueError for another Piecewise form or for entries finite in
    different regions.

    >>> alpha = sp.Symbol("alpha", positive=True)
    >>> entry = sp.Piecewise((1 / (alpha - 2), alpha > 2), (sp.oo, True))
    >>> finite_branch(sp.Matrix([[entry]]))
    (Matrix([[1/(alpha - 2)]]), alpha > 2)
    """
    regions = set()
    matrix = g.copy()
    for index, entry in enumerate(g):
        if not isinstance(entry, sp.Piecewise):
            continue
        pieces = entry.args
        if len(pieces) != 2 or pieces[1] != (sp.oo, sp.true):
            raise ValueError(
                f"the entry {entry} is piecewise in another form than "
                "Piecewise((g, region), (oo, True))"
            )
        regions.add(pieces[0][1])
        matrix[index] = pieces[0][0]
    if len(regions) > 1:
        raise ValueError(
            "the entries are finite in different regions "
            f"({', '.join(map(str, regions))})"
        )
    return matrix, regions.pop() if regions else sp.true


def inverse_metric(g: sp.Matrix) -> sp.Matrix:
    """The inverse metric g^ij = adj(g)_ij / det g, shape (n, n).

    A diagonal metric is inverted entry by entry, g^ii = 1 / g_ii.

    >>> y = sp.Symbol("y", positive=True)
    >>> inverse_metric(sp.diag(1, 1) / y**2)
    Matrix([
    [y**2,    0],
    [   0, y**2]])
    """
    n = g.shape[0]
    if all(_vanishes(g[i, j]) for i, j in product(range(n), repeat=2) if i != j):
        diagonal = [tidy(g[i, i]) for i in range(n)]
        if 0 in diagonal:
            raise _singular_metric()
        return sp.diag(*[tidy(1 / entry) for entry in diagonal])

    determinant = tidy(g.det(method="berkowitz"))
    if determinant == 0:
        raise _singular_metric()
    adjugate = g.adjugate(method="berkowitz")
    return sp.Matrix(n, n, lambda i, j: tidy(adjugate[i, j] / determinant))


def christoffel(g, coords, g_inv=None) -> sp.Array:
    """Christoffel symbols Γ^k_ij = ½ g^km (∂_i g_mj + ∂_j g_mi − ∂_m g_ij).

    Returns an Array of shape (n, n, n) indexed ``[k, i, j]``, symmetric in i, j;
    ``g_inv`` is the inverse metric when it is already known.

    >>> x, y = sp.symbols("x y", positive=True)
    >>> gamma = christoffel(sp.diag(1, 1) / y**2, [x, y])
    >>> gamma[0, 0, 1], gamma[1, 0, 0], gamma[1, 1, 1]
    (-1/y, 1/y, -1/y)
    """
    n = len(coords)
    if g_inv is None:
        g_inv = inverse_metric(g)
    derivatives = [g.diff(x) for x in coords]

    symbols = sp.MutableDenseNDimArray.zeros(n, n, n)
    for i in range(n):
        for j in range(i, n):
            lowered = [
                (derivatives[i][m, j] + derivatives[j][m, i] - derivatives[m][i, j]) / 2
                for m in range(n)
            ]
            for k in range(n):
                terms = [g_inv[k, m] * lowered[m] for m in range(n) if g_inv[k, m] != 0]
                symbols[k, i, j] = symbols[k, j, i] = tidy(sp.Add(*terms))
    return sp.ImmutableDenseNDimArray(symbols)


def riemann(christoffel_symbols, coords) -> sp.Array:
    """Riemann tensor R^a_bcd = ∂_c Γ^a_db − ∂_d Γ^a_cb + Γ^a_ce Γ^e_db − Γ^a_de Γ^e_cb.

    Returns an Array of shape (n, n, n, n) indexed ``[a, b, c, d]``; only c < d is
    computed, R^a_bdc = −R^a_bcd.

    >>> x, y = sp.symbols("x y", positive=True)
    >>> curvature = riemann(christoffel(sp.diag(1, 1) / y**2, [x, y]), [x, y])
    >>> curvature[0, 1, 0, 1]
    -1/y**2
    """
    gamma = christoffel_symbols
    n = len(coords)

    tensor = sp.MutableDenseNDimArray.zeros(n, n, n, n)
    for a, b in product(range(n), repeat=2):
        for c, d in combinations(range(n), 2):
            derivative_terms = gamma[a, d, b].diff(coords[c])
            derivative_terms -= gamma[a, c, b].diff(coords[d])
            product_terms = sum(
                gamma[a, c, e] * gamma[e, d, b] - gamma[a, d, e] * gamma[e, c, b]
                for e in range(n)
            )
            value = tidy(derivative_terms + product_terms)
            tensor[a, b, c, d] = value
            tensor[a, b, d, c] = -value
    return sp.ImmutableDenseNDimArray(tensor)


def ricci(christoffel_symbols, coords) -> sp.Matrix:
    """Ricci tensor R_ij = ∂_k Γ^k_ij − ∂_j Γ^k_ik + Γ^k_km Γ^m_ij − Γ^k_jm Γ^m_ik.

    This is the contraction R^k_ikj, computed from the Christoffel symbols without
    the Riemann tensor; returns a symmetric Matrix of shape (n, n).

    >>> x, y = sp.symbols("x y", positive=True)
    >>> ricci(christoffel(sp.diag(1, 1) / y**2, [x, y]), [x, y])
    Matrix([
    [-1/y**2,       0],
    [      0, -1/y**2]])
    """
    gamma = christoffel_symbols
    n = len(coords)
    trace = [tidy(sum(gamma[k, i, k] for k in range(n))) for i in range(n)]

    tensor = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            value = (
                sum(gamma[k, i, j].diff(coords[k]) for k in range(n))
                - trace[i].diff(coords[j])
                + sum(trace[m] * gamma[m, i, j] for m in range(n))
                - sum(
                    gamma[k, j, m] * gamma[m, i, k]
                    for k, m in product(range(n), repeat=2)
                )
            )
            tensor[i, j] = tensor[j, i] = tidy(value)
    return tensor


def scalar_curvature(g_inv, ricci_tensor) -> sp.Expr:
    """Scalar curvature R = g^ij R_ij.

    >>> r, theta, phi = sp.symbols("r theta phi", positive=True)
    >>> g = sp.diag(r**2, r**2 * sp.sin(theta) ** 2)
    >>> g_inv = inverse_metric(g)
    >>> gamma = christoffel(g, [theta, phi], g_inv)
    >>> scalar_curvature(g_inv, ricci(gamma, [theta, phi]))
    2/r**2
    """
    n = g_inv.shape[0]
    return tidy(
        sum(g_inv[i, j] * ricci_tensor[i, j] for i, j in product(range(n), repeat=2))
    )


def gaussian_curvature(g, coords) -> sp.Expr:
    """Gaussian curvature K = R / 2 of a two-dimensional metric.

    >>> x, y = sp.symbols("x y", positive=True)
    >>> gaussian_curvature(sp.diag(1, 1) / y**2, [x, y])
    -1
    """
    if g.shape != (2, 2) or len(coords) != 2:
        raise ValueError(
            "The Gaussian curvature is defined for a 2 x 2 metric in two coordinates, "
            f"not a {g.shape[0]} x {g.shape[1]} metric in {len(coords)}; use "
            "scalar_curvature instead."
        )
    g_inv = inverse_metric(g)
    ricci_tensor = ricci(christoffel(g, coords, g_inv), coords)
    return tidy(scalar_curvature(g_inv, ricci_tensor) / 2)


def geodesic_rhs(christoffel_symbols, coords) -> tuple[list[sp.Symbol], list[sp.Expr]]:
    """First-order geodesic system: x' = v, v'^k = −Γ^k_ij v^i v^j.

    Returns the state symbols (the coordinates, then one velocity per coordinate
    named ``d`` + its name, real) and the right-hand side (velocities, accelerations).

    >>> x, y = sp.symbols("x y", positive=True)
    >>> state, rhs = geodesic_rhs(christoffel(sp.diag(1, 1) / y**2, [x, y]), [x, y])
    >>> state
    [x, y, dx, dy]
    >>> rhs
    [dx, dy, 2*dx*dy/y, (-dx**2 + dy**2)/y]
    """
    gamma = christoffel_symbols
    n = len(coords)
    velocities = [sp.Symbol(f"d{x.name}", real=True) for x in coords]
    clashes = {v.name for v in velocities} & {x.name for x in coords}
    if clashes:
        raise ValueError(
            f"The velocity names {sorted(clashes)} clash with coordinate names; "
            "rename the coordinates so that no name is 'd' followed by another."
        )

    accelerations = [
        tidy(
            -sum(
                gamma[k, i, j] * velocities[i] * velocities[j]
                for i, j in product(range(n), repeat=2)
            )
        )
        for k in range(n)
    ]
    return [*coords, *velocities], [*velocities, *accelerations]


def geodesic_equations(christoffel_symbols, coords, t=_CURVE_PARAMETER) -> list[sp.Eq]:
    """Geodesic equations x''^k(t) = −Γ^k_ij(x(t)) x'^i(t) x'^j(t), solved for x''.

    Each coordinate becomes a Function of ``t`` with the coordinate's name.

    >>> x, y = sp.symbols("x y", positive=True)
    >>> gamma = christoffel(sp.diag(1, 1) / y**2, [x, y])
    >>> geodesic_equations(gamma, [x, y])[0]
    Eq(Derivative(x(t), (t, 2)), 2*Derivative(x(t), t)*Derivative(y(t), t)/y(t))
    """
    n = len(coords)
    state, rhs = geodesic_rhs(christoffel_symbols, coords)
    curves = [sp.Function(x.name)(t) for x in coords]
    along_curve = dict(zip(state, [*curves, *(c.diff(t) for c in curves)], strict=True))
    return [
        sp.Eq(curves[k].diff(t, 2), rhs[n + k].xreplace(along_curve)) for k in range(n)
    ]


def _asymmetric_pair(g):
    n = g.shape[0]
    for i, j in combinations(range(n), 2):
        if not _vanishes(g[i, j] - g[j, i]):
            return i, j
    return None


def is_symmetric(g) -> bool:
    """True when g is square and g_ij − g_ji tidies to 0 for every i < j.

    >>> a = sp.Symbol("a")
    >>> is_symmetric(sp.Matrix([[1, a], [a, 2]]))
    True
    >>> is_symmetric(sp.Matrix([[1, a], [0, 2]]))
    False
    """
    return g.is_square and _asymmetric_pair(g) is None


def _numeric_matrix(g, values):
    n = g.shape[0]
    numbers = np.empty((n, n), dtype=complex)
    for i, j in product(range(n), repeat=2):
        numbers[i, j] = complex(g[i, j].xreplace(values).evalf())
    return numbers


def check_metric(g, coords, points: list[dict]) -> None:
    """Check that g is a metric: symmetric, in the coordinates only, and g > 0.

    Positive definiteness is checked numerically at each sample point (a dict from
    coordinate, or coordinate name, to value) through the eigenvalues of g there;
    entries without a closed form (an unevaluated Integral or Sum) are evaluated
    numerically. Raises DerivationError naming the first failure.

    >>> k, b = sp.symbols("k b", positive=True)
    >>> g = sp.Matrix([[sp.polygamma(1, k), -1 / b], [-1 / b, k / b**2]])
    >>> check_metric(g, [k, b], [{k: 2.5, b: 1.3}, {"k": 0.5, "b": 4}])
    >>> check_metric(sp.Matrix([[1, 0], [0, -k]]), [k, b], [{k: 1, b: 1}])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgeo.errors.DerivationError: ... at k=1, b=1: its smallest eigenvalue is -1.
    """
    n = len(coords)
    if g.shape != (n, n):
        raise DerivationError(
            f"The metric must be a {n} x {n} matrix, one row and column per "
            f"coordinate, but its shape is {g.shape[0]} x {g.shape[1]}."
        )

    pair = _asymmetric_pair(g)
    if pair is not None:
        i, j = pair
        raise DerivationError(
            f"The metric is not symmetric: entry ({i}, {j}) is {g[i, j]} but entry "
            f"({j}, {i}) is {g[j, i]}."
        )

    stray = sorted(g.free_symbols - set(coords), key=str)
    if stray:
        raise DerivationError(
            f"The metric depends on {', '.join(map(str, stray))}, not among the "
            f"coordinates ({', '.join(map(str, coords))}); substitute a value for "
            "each such symbol or make it a parameter."
        )

    for point in points:
        by_name = {str(name): value for name, value in point.items()}
        missing = [str(x) for x in coords if x.name not in by_name]
        if missing:
            raise SpecError(
                f"The sample point {point} gives no value for {', '.join(missing)}; "
                "give every coordinate a value."
            )
        values = {x: sp.sympify(by_name[x.name]) for x in coords}
        where = ", ".join(f"{x}={values[x]}" for x in coords)
        try:
            numbers = _numeric_matrix(g, values)
        except TypeError as error:
            raise DerivationError(
                f"The metric could not be evaluated to numbers at {where}; check that "
                "the point lies in the parameter domain."
            ) from error
        if np.any(np.abs(numbers.imag) > 1e-12 * (1 + np.abs(numbers.real))):
            raise DerivationError(
                f"The metric is not real at {where}; check that the point lies in "
                "the parameter domain."
            )
        smallest = np.linalg.eigvalsh(numbers.real)[0]
        if not smallest > 0:
            raise DerivationError(
                f"The metric is not positive definite at {where}: its smallest "
                f"eigenvalue is {smallest:.6g}."
            )

"""The :class:`Metric`: a Riemannian metric on a family's parameter space.

A Metric holds the coordinates (the family's parameters, in order), the SymPy
matrix g_ij(θ), where each entry came from (the derivation strategy), and the
record of its numerical verification. The Riemannian quantities are computed on
first use and cached: the inverse g^ij, the Christoffel symbols of the second
kind Γ^k_ij stored as ``[k, i, j]``, the Riemann tensor R^a_bcd, the Ricci
tensor (from the Christoffel symbols), the scalar curvature and the geodesic
equations x''^k = −Γ^k_ij x'^i x'^j. Formulas are in :mod:`symgeo.geometry`.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

from . import geometry
from .verify import evaluate_entry, has_closed_form

METRIC_KINDS = {
    "fisher": "Fisher metric",
    "wasserstein": "pullback Wasserstein-2 metric",
}


@dataclass(eq=False)
class Metric:
    """A metric g_ij(θ) on the parameter space of ``family``.

    >>> from symgeo import fisher_metric, load_family
    >>> g = fisher_metric(load_family("exponential"))
    >>> g.matrix
    Matrix([[lam**(-2)]])
    >>> g.evaluate({"lam": 2.0})
    array([[0.25]])
    """

    family: object
    kind: str
    matrix: sp.Matrix
    provenance: dict = field(default_factory=dict)
    verification: object = None
    notes: list = field(default_factory=list)

    @property
    def coordinates(self):
        return self.family.symbols

    @property
    def dimension(self):
        return self.matrix.shape[0]

    @property
    def title(self):
        return f"{METRIC_KINDS.get(self.kind, self.kind)} of {self.family.name}"

    @property
    def closed_form(self):
        """True when every entry is a closed form (no unevaluated integral)."""
        return all(has_closed_form(e) for e in self.matrix)

    # -- Riemannian quantities -------------------------------------------------

    @cached_property
    def finite_part(self):
        """``(matrix, region)``: g where it is finite (entries
        Piecewise((g_ij, region), (∞, True)) replaced by g_ij) and that region,
        ``sympy.true`` when g is finite everywhere. The inverse, Christoffel
        symbols and curvature are those of this matrix, valid in the region."""
        try:
            return geometry.finite_branch(self.matrix)
        except ValueError:
            return self.matrix, sp.true

    @cached_property
    def inverse(self):
        """g^ij, shape (n, n), where g is finite."""
        return geometry.inverse_metric(self.finite_part[0])

    @cached_property
    def christoffel(self):
        """Γ^k_ij as a SymPy Array indexed [k, i, j], where g is finite."""
        return geometry.christoffel(self.finite_part[0], self.coordinates, self.inverse)

    @cached_property
    def riemann(self):
        """R^a_bcd as a SymPy Array indexed [a, b, c, d]."""
        return geometry.riemann(self.christoffel, self.coordinates)

    @cached_property
    def ricci(self):
        """R_ij, from the Christoffel symbols."""
        return geometry.ricci(self.christoffel, self.coordinates)

    @cached_property
    def scalar_curvature(self):
        """R = g^ij R_ij (twice the Gaussian curvature in dimension 2)."""
        if self.dimension == 1:
            return sp.Integer(0)
        return geometry.scalar_curvature(self.inverse, self.ricci)

    @cached_property
    def geodesic_equations(self):
        """The geodesic equations x''^k = −Γ^k_ij x'^i x'^j, as SymPy equations."""
        return geometry.geodesic_equations(self.christoffel, self.coordinates)

    def nonzero_christoffels(self):
        """``[((k, i, j), Γ^k_ij)]`` for the non-zero symbols with i <= j."""
        n = self.dimension
        return [
            ((k, i, j), self.christoffel[k, i, j])
            for k in range(n)
            for i in range(n)
            for j in range(i, n)
            if self.christoffel[k, i, j] != 0
        ]

    # -- numerics ----------------------------------------------------------------

    def evaluate(self, at):
        """g(θ) at one point as a float array of shape (n, n).

        ``at`` maps parameter names to values (or is a sequence in coordinate
        order); values outside the domain raise DomainError. Entries without a
        closed form are evaluated by quadrature; a W2 metric with nested-integral
        entries by its quantile-embedding kernel (double precision, checked
        against its mpmath twin when generated; see :mod:`symgeo.codegen.pullback`).
        """
        from .codegen.pullback import needs_pullback

        point = self.family.point(at)
        self.family.check_nonnegative(point)
        if needs_pullback(self):
            values = [float(point[s]) for s in self.family.symbols]
            return self.kernel("numpy").metric(*values)
        n = self.dimension
        values = np.empty((n, n))
        for i in range(n):
            for j in range(i, n):
                value = evaluate_entry(self.matrix[i, j], point, digits=20)
                values[i, j] = values[j, i] = float(value.real)
        return values

    def kernel(self, target="numpy"):
        """The generated kernel module for ``target`` ("numpy" or "mpmath").

        The module is generated and compiled on first use and cached on the
        metric; its functions are ``metric``, ``inverse_metric``,
        ``christoffel`` (shape (..., n, n, n), indexed [k, i, j]),
        ``geodesic_rhs`` and ``scalar_curvature``, each with an ``_unchecked``
        variant in the numpy module (see :mod:`symgeo.codegen`).

        >>> from symgeo import fisher_metric, load_family
        >>> g = fisher_metric(load_family("exponential"))
        >>> g.kernel().metric([1.0, 2.0]).tolist()
        [[[1.0]], [[0.25]]]
        """
        from .codegen import compiled_kernels

        return compiled_kernels(self)[target]

    # -- display -------------------------------------------------------------

    def entries(self):
        """``[((i, j), g_ij)]`` for the upper triangle."""
        n = self.dimension
        return [((i, j), self.matrix[i, j]) for i in range(n) for j in range(i, n)]

    def __str__(self):
        names = ", ".join(self.family.names)
        lines = [
            f"{self.title} in ({names}):",
            sp.pretty(self.matrix, use_unicode=True),
        ]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_latex_(self):
        """The metric as rendered mathematics in Jupyter (ψ^{(1)}, Γ, Greek names)."""
        from .report import metric_latex

        return metric_latex(self)

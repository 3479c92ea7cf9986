"""The ``gaussian`` kind: multivariate normal laws N(m(θ), Σ(θ)) in dimension d.

Coordinates are named by the family itself (design.md 3.1): ``mu1 … mud`` for a
free mean, and for the covariance ``s11, s12, …, sdd`` (full; s_ij the
off-diagonal entry, so ∂Σ/∂s_ij = E_ij + E_ji), ``s11 … sdd`` (diagonal) or
``s`` (isotropic, Σ = s I). What is fixed comes from the spec's ``[fixed]``
table. The covariance must be positive definite: the leading principal minors
of Σ are the family's constraints.

Fisher metric (Skovgaard 1984):
g_ij = ∂_i m^T Σ^{-1} ∂_j m + ½ tr(Σ^{-1} ∂_iΣ Σ^{-1} ∂_jΣ),
verified by Gauss-Hermite quadrature of E[score_i score_j], which is exact for
these polynomial integrands (degree 4 in x, three nodes per axis).
"""

import itertools

import mpmath
import sympy as sp

from .domains import Domain
from .errors import SpecError
from .geometry import check_metric
from .metric import Metric
from .simplification import tidy
from .verify import TOLERANCE, verify_matrix

MEAN_MODES = ("free", "fixed")
COVARIANCE_MODES = ("full", "diagonal", "isotropic", "fixed")


def gaussian_family(spec, *, source, spec_hash):
    """A :class:`~symgeo.family.Family` of kind ``gaussian`` from its spec."""
    from .family import Family, Parameter

    name = str(spec.get("name", "gaussian"))
    where = f"the gaussian family '{name}'"
    d = spec.get("dimension")
    if not isinstance(d, int) or d < 1:
        raise SpecError(f"{where} needs dimension = 1, 2, ...; got {d!r}")
    mean_mode = spec.get("mean", "free")
    cov_mode = spec.get("covariance", "full")
    if mean_mode not in MEAN_MODES:
        raise SpecError(f"mean = {mean_mode!r} in {where}; write one of {MEAN_MODES}")
    if cov_mode not in COVARIANCE_MODES:
        raise SpecError(
            f"covariance = {cov_mode!r} in {where}; write one of {COVARIANCE_MODES}"
        )
    if mean_mode == "fixed" and cov_mode == "fixed":
        raise SpecError(f"{where} fixes both mean and covariance; free one of them")
    fixed = spec.get("fixed", {})

    parameters = []

    def add(pname, domain):
        dom = Domain.parse(domain, name=pname)
        symbol = sp.Symbol(pname, **dom.assumptions)
        parameters.append(Parameter(pname, symbol, dom))
        return symbol

    if mean_mode == "free":
        mean = sp.Matrix([add(f"mu{i + 1}", "real") for i in range(d)])
    else:
        mean = _fixed_matrix(fixed, "mean", (d, 1), where)
    if cov_mode == "full":
        cov = sp.zeros(d, d)
        for i in range(d):
            for j in range(i, d):
                s = add(f"s{i + 1}{j + 1}", "positive" if i == j else "real")
                cov[i, j] = cov[j, i] = s
    elif cov_mode == "diagonal":
        cov = sp.diag(*[add(f"s{i + 1}{i + 1}", "positive") for i in range(d)])
    elif cov_mode == "isotropic":
        cov = add("s", "positive") * sp.eye(d)
    else:
        cov = _fixed_matrix(fixed, "covariance", (d, d), where)

    constraints = tuple(
        sp.StrictGreaterThan(tidy(cov[:k, :k].det()), 0)
        for k in range(2, d + 1)
        if cov_mode == "full"
    )
    return Family(
        name=name,
        title=str(spec.get("title", name)),
        kind="gaussian",
        variable=None,
        support=(),
        density=None,
        parameters=tuple(parameters),
        constraints=constraints,
        references=tuple(str(r) for r in spec.get("references", ())),
        source=source,
        spec_hash=spec_hash,
        extra={"dimension": d, "mean": mean, "covariance": cov},
    )


def _fixed_matrix(fixed, key, shape, where):
    if key not in fixed:
        raise SpecError(f"{where} has a fixed {key} but no [fixed] {key} = ...; add it")
    try:
        matrix = sp.Matrix(fixed[key]).applyfunc(sp.Rational)
    except (TypeError, ValueError):
        raise SpecError(f"the fixed {key} of {where} must be numbers") from None
    if matrix.shape != shape:
        raise SpecError(
            f"the fixed {key} of {where} has shape {matrix.shape}, expected {shape}"
        )
    if key == "covariance" and (matrix != matrix.T or not matrix.is_positive_definite):
        raise SpecError(
            f"the fixed covariance of {where} must be symmetric positive definite"
        )
    return matrix


def gaussian_fisher_metric(family, *, points=3, verify=True):
    """g_ij = ∂_i m^T Σ^{-1} ∂_j m + ½ tr(Σ^{-1} ∂_iΣ Σ^{-1} ∂_jΣ).

    >>> from symgeo import load_family, fisher_metric
    >>> g = fisher_metric(load_family("gaussian2d"))
    >>> g.matrix[0, 0]
    s22/(s11*s22 - s12**2)
    """
    mean, cov = family.extra["mean"], family.extra["covariance"]
    theta = family.symbols
    cov_inv = cov.inv().applyfunc(tidy)
    n = len(theta)
    g = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            dm_i, dm_j = mean.diff(theta[i]), mean.diff(theta[j])
            dcov_i, dcov_j = cov.diff(theta[i]), cov.diff(theta[j])
            entry = (dm_i.T * cov_inv * dm_j)[0, 0]
            entry += (cov_inv * dcov_i * cov_inv * dcov_j).trace() / 2
            g[i, j] = g[j, i] = tidy(entry)
    provenance = {(i, j): "gaussian closed form" for i in range(n) for j in range(i, n)}
    metric = Metric(family, "fisher", g, provenance)
    if verify:
        check_metric(g, theta, family.sample_points(points, seed=2024))
        metric.verification = verify_matrix(
            g,
            _score_product_reference(family),
            family.sample_points(points, seed=2024),
            method="Gauss-Hermite quadrature of E[score_i score_j] (exact), 30 digits",
            what=f"the Fisher metric of '{family.name}'",
            tolerance=TOLERANCE,
        )
    return metric


def _score_product_reference(family):
    mean, cov = family.extra["mean"], family.extra["covariance"]
    theta = family.symbols
    d = family.extra["dimension"]
    nodes = [
        -mpmath.sqrt(mpmath.mpf(3) / 2),
        mpmath.mpf(0),
        mpmath.sqrt(mpmath.mpf(3) / 2),
    ]
    weights = [
        mpmath.sqrt(mpmath.pi) / 6,
        2 * mpmath.sqrt(mpmath.pi) / 3,
        mpmath.sqrt(mpmath.pi) / 6,
    ]

    def numeric(matrix, point):
        return mpmath.matrix(matrix.subs(point).evalf(40).tolist())

    def reference(point, i, j):
        s = numeric(cov, point)
        s_inv = s**-1
        chol = mpmath.cholesky(s)
        parts = [
            (numeric(mean.diff(t), point), numeric(cov.diff(t), point)) for t in theta
        ]
        total = mpmath.mpf(0)
        for index in itertools.product(range(3), repeat=d):
            z = mpmath.matrix([nodes[a] for a in index])
            weight = mpmath.fprod(weights[a] for a in index)
            r = mpmath.sqrt(2) * chol * z
            score = []
            for dm, ds in (parts[i], parts[j]):
                value = (dm.T * s_inv * r)[0]
                value -= sum((s_inv * ds)[k, k] for k in range(d)) / 2
                value += (r.T * s_inv * ds * s_inv * r)[0] / 2
                score.append(value)
            total += weight * score[0] * score[1]
        return total / mpmath.pi ** (mpmath.mpf(d) / 2)

    return reference

"""Recognition of exponential-family form and its Fisher metric.

A family is in exponential-family form when its log-density separates as

    log p(x; θ) = Σ_k η_k(θ) T_k(x) + h(x) − A(θ),

with as many sufficient statistics T_k as parameters. Then, with the Jacobian
J_ki = ∂η_k/∂θ_i, the identity ∂_i A = Σ_k J_ki E[T_k] gives the moments
E[T] = J^{-T} ∇A without any integral, and the Fisher metric is

    g_ij = −E[∂_i ∂_j log p] = ∂_i ∂_j A − Σ_k ∂_i ∂_j η_k E[T_k],

the Hessian of the log-partition function pulled back to the user's parameters
(Amari and Nagaoka, Methods of Information Geometry, 2000, section 2.3).
"""

from dataclasses import dataclass

import sympy as sp

from .simplification import tidy


@dataclass(frozen=True)
class Separation:
    """log p split into x-free, parameter-free and product terms.

    ``statistics`` maps each function T(x) (numeric factor removed) to its
    coefficient η(θ); ``log_partition`` is A(θ) (up to a constant); ``mixed``
    holds the terms that do not factor into a function of θ times one of x.
    """

    statistics: dict
    log_partition: sp.Expr
    mixed: tuple


def separate(expr, variable, parameters):
    """Split an expanded sum into Σ η_k(θ) T_k(x) + h(x) − A(θ) + mixed terms.

    >>> x, m = sp.symbols("x m", real=True)
    >>> s = separate(-(x - m)**2 / 2, x, [m])
    >>> s.statistics, s.log_partition
    ({x: m}, m**2/2)
    """
    statistics = {}
    log_partition = sp.Integer(0)
    mixed = []
    params = set(parameters)
    for term in sp.Add.make_args(sp.expand(expr, trig=True)):
        coefficient, function = term.as_independent(variable, as_Add=False)
        if function == 1:
            log_partition -= coefficient
        elif function.free_symbols & params:
            mixed.append(term)
        elif coefficient.free_symbols & params:
            number, statistic = function.as_coeff_Mul()
            statistics[statistic] = statistics.get(statistic, 0) + number * coefficient
    return Separation(statistics, log_partition, tuple(mixed))


def exponential_family_fisher(family):
    """Fisher metric of a family in minimal exponential-family form, or None.

    None when the log-density does not separate, when there are more or fewer
    statistics than parameters, or when the natural parameters are not a
    local coordinate system (singular Jacobian).

    >>> from symgeo.family import Family
    >>> exponential_family_fisher(Family.builtin("gamma"))
    Matrix([
    [polygamma(1, k),    -1/b],
    [           -1/b, k/b**2]])
    """
    theta = sp.Matrix(family.symbols)
    parts = separate(family.log_density, family.variable, family.symbols)
    if parts.mixed or len(parts.statistics) != len(theta):
        return None

    eta = sp.Matrix(list(parts.statistics.values()))
    jacobian = eta.jacobian(theta)
    if tidy(jacobian.det()) == 0:
        return None
    gradient = sp.Matrix([parts.log_partition]).jacobian(theta).T
    moments = jacobian.T.LUsolve(gradient).applyfunc(tidy)

    n = len(theta)
    g = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            entry = sp.diff(parts.log_partition, theta[i], theta[j])
            entry -= sum(
                sp.diff(eta[k], theta[i], theta[j]) * moments[k] for k in range(n)
            )
            g[i, j] = g[j, i] = tidy(entry)
    return g

"""Fixed-order Gauss-Legendre quadrature for metric entries without a closed form.

An entry ∫_a^b f(x; θ) dx (an unevaluated :class:`sympy.Integral`) becomes, in
a numpy kernel, the sum Σ_m w_m f(φ(t_m); θ) φ'(t_m) over the N Gauss-Legendre
nodes t_m of (−1, 1), after a map φ of (−1, 1) onto the support:

- a finite interval (a, b): φ(t) = (a + b)/2 + (b − a) t / 2;
- a half-line (a, ∞): φ(t) = a + (1 + t)/(1 − t), and (−∞, b) mirrored;
- the real line: φ(t) = t / (1 − t²).

The rule is exact for polynomials in t of degree 2N − 1; for a smooth integrand
that decays like e^(−x) or faster on a scale of order 1 its error falls below
1e-12 at N = 96. It is not adaptive: an integrand concentrated far from the
origin, or on a scale much smaller or larger than 1, needs more nodes, and the
measured error of every kernel is recorded by :func:`verify_kernels` (the mpmath
twin integrates adaptively at 30 digits). Nodes and weights are computed by
mpmath at 40 digits, so the generated files do not depend on the numpy version.
"""

from dataclasses import dataclass
from functools import cache

import mpmath
import sympy as sp

NODES = 96
NODE_SYMBOL = sp.Symbol("_t", real=True)


@dataclass(frozen=True)
class LoweredIntegral:
    """An integral written over (−1, 1): ``integrand`` in :data:`NODE_SYMBOL`.

    ``original`` is the SymPy Integral, kept for the mpmath twin.
    """

    original: sp.Integral
    integrand: sp.Expr
    mapping: str


@cache
def gauss_legendre(count=NODES):
    """``(nodes, weights)`` of the count-point Gauss-Legendre rule on (−1, 1).

    Both are tuples of floats rounded from 40-digit values, in increasing order.

    >>> nodes, weights = gauss_legendre(4)
    >>> round(sum(weights), 15), nodes[0] < nodes[1]
    (2.0, True)
    """
    with mpmath.workdps(40):
        pairs = []
        for k in range(1, count + 1):
            x = mpmath.cos(
                mpmath.pi * (k - mpmath.mpf(1) / 4) / (count + mpmath.mpf(1) / 2)
            )
            for _ in range(100):
                p0, p1 = mpmath.mpf(1), x
                for n in range(2, count + 1):
                    p0, p1 = p1, ((2 * n - 1) * x * p1 - (n - 1) * p0) / n
                derivative = count * (x * p1 - p0) / (x * x - 1)
                step = p1 / derivative
                x -= step
                if abs(step) < mpmath.mpf(10) ** -38:
                    break
            weight = 2 / ((1 - x * x) * derivative**2)
            pairs.append((float(x), float(weight)))
    pairs.sort()
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


def lower_integral(integral):
    """Write ``integral`` (one variable, real limits) over (−1, 1).

    >>> x = sp.Symbol("x", real=True)
    >>> lowered = lower_integral(sp.Integral(sp.exp(-x), (x, 0, sp.oo)))
    >>> lowered.mapping, lowered.integrand
    ('half-line', 2*exp(-(_t + 1)/(1 - _t))/(1 - _t)**2)
    """
    if len(integral.limits) != 1 or len(integral.limits[0]) != 3:
        raise ValueError(
            f"the integral {integral} is not over one variable with two limits; "
            "only such integrals are lowered to quadrature"
        )
    x, a, b = integral.limits[0]
    f = integral.function
    t = NODE_SYMBOL
    if a.is_finite and b.is_finite:
        mapping, phi, dphi = "interval", (a + b) / 2 + (b - a) * t / 2, (b - a) / 2
    elif a.is_finite and b is sp.oo:
        mapping, phi, dphi = "half-line", a + (1 + t) / (1 - t), 2 / (1 - t) ** 2
    elif a is sp.S.NegativeInfinity and b.is_finite:
        mapping, phi, dphi = "half-line", b - (1 + t) / (1 - t), 2 / (1 - t) ** 2
    elif a is sp.S.NegativeInfinity and b is sp.oo:
        mapping, phi, dphi = "real line", t / (1 - t**2), (1 + t**2) / (1 - t**2) ** 2
    else:
        raise ValueError(f"the limits ({a}, {b}) of {integral} are not understood")
    return LoweredIntegral(integral, f.xreplace({x: phi}) * dphi, mapping)

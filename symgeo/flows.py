"""Gradient flows on a family's parameters: plain and natural gradient descent.

:func:`descend` minimises a loss ℓ(θ) by the iteration

    θ_{k+1} = θ_k − η_k P(θ_k) ∇ℓ(θ_k),

with the preconditioner P the identity (plain gradient descent in the user's
coordinates), the inverse Fisher metric g_F⁻¹ (the natural gradient, Amari,
*Natural gradient works efficiently in learning*, Neural Computation 10, 1998)
or the inverse pullback Wasserstein-2 metric g_W⁻¹ (the Wasserstein natural
gradient, Li and Montúfar, *Natural gradient via optimal transport*,
Information Geometry 1, 2018; Chen and Li, *Wasserstein natural gradients for
reinforcement learning*, 2020). P comes from :func:`symgeo.fields.metric_field`:
the generated inverse-metric kernel, or quantile quadrature for a W2 metric
without one. The step η_k is found by backtracking from 1 (halving) until
θ_{k+1} lies in the parameter domain and the Armijo condition
ℓ(θ_{k+1}) <= ℓ(θ_k) − 10⁻⁴ η_k ∇ℓ·P∇ℓ holds; every method gets the same rule.

:func:`negative_log_likelihood` is the loss of maximum likelihood,
ℓ(θ) = −(1/N) Σ_m log p(x_m; θ), with its gradient from the SymPy score. For
an exponential family in natural parameters (gamma in (k, b), beta in (a, b))
the Hessian of ℓ is the Fisher metric, so the Fisher natural gradient with
η = 1 is Newton's method.
"""

import logging
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .errors import SpecError

log = logging.getLogger(__name__)

ARMIJO = 1e-4
"""Sufficient-decrease constant of the backtracking line search."""

HALVINGS = 60
"""Step halvings before an iteration gives up (the step is then below 1e-18)."""


@dataclass(frozen=True)
class Loss:
    """A loss on a family's parameters: ``value(θ)`` (...) and ``gradient(θ)``
    (..., n) for points θ of shape (..., n); ``value`` is +inf outside the
    parameter domain."""

    family: object
    value: object
    gradient: object


def negative_log_likelihood(family, samples):
    """ℓ(θ) = −(1/N) Σ_m log p(x_m; θ) and its gradient, for samples of shape (N,).

    >>> from symgeo import load_family
    >>> loss = negative_log_likelihood(load_family("exponential"), [0.5, 1.5])
    >>> float(loss.value(np.array([1.0]))), loss.gradient(np.array([2.0])).tolist()
    (1.0, [0.5])
    """
    if family.kind == "gaussian":
        raise SpecError(
            "negative_log_likelihood takes a one-dimensional family (a density "
            "in one variable), not a gaussian family"
        )
    samples = np.asarray(samples, dtype=float)
    symbols = [family.variable, *family.symbols]
    log_p = family.log_density
    log_density = sp.lambdify(symbols, log_p, modules=["scipy", "numpy"])
    scores = [
        sp.lambdify(symbols, sp.diff(log_p, s), modules=["scipy", "numpy"])
        for s in family.symbols
    ]

    def columns(theta):
        theta = np.asarray(theta, dtype=float)
        return theta, [theta[..., i, None] for i in range(theta.shape[-1])]

    def value(theta):
        theta, cols = columns(theta)
        with np.errstate(all="ignore"):
            values = -np.mean(log_density(samples, *cols), axis=-1)
        inside = _inside(family, theta)
        return np.where(inside & np.isfinite(values), values, np.inf)

    def gradient(theta):
        theta, cols = columns(theta)
        shape = theta.shape[:-1] + samples.shape
        with np.errstate(all="ignore"):
            parts = [np.broadcast_to(score(samples, *cols), shape) for score in scores]
        return -np.stack([np.mean(part, axis=-1) for part in parts], axis=-1)

    return Loss(family, value, gradient)


def _inside(family, theta):
    """Whether each point satisfies the parameter domains and the constraints."""
    inside = np.ones(theta.shape[:-1], dtype=bool)
    for i, parameter in enumerate(family.parameters):
        contains = np.vectorize(parameter.domain.contains, otypes=[bool])
        inside &= contains(theta[..., i])
    for relation in family.constraints:
        holds = sp.lambdify(family.symbols, relation, modules="numpy")
        inside &= np.asarray(holds(*np.moveaxis(theta, -1, 0)), dtype=bool)
    return inside


@dataclass
class Descent:
    """The record of one :func:`descend` run.

    ``preconditioner`` is "identity", "fisher" or "wasserstein"; ``path``
    (K + 1, n) holds θ_0, ..., θ_K; ``losses`` (K + 1,) the loss at each;
    ``steps`` (K,) the accepted step sizes η_k; ``stopped`` says why the run
    ended.
    """

    preconditioner: str
    path: np.ndarray
    losses: np.ndarray
    steps: np.ndarray
    stopped: str

    def iterations_to(self, target):
        """The first k with ℓ(θ_k) <= target, or None if the run never got there."""
        reached = np.flatnonzero(self.losses <= target)
        return int(reached[0]) if reached.size else None


def descend(loss, theta0, metric=None, *, iterations=200, tol=1e-15):
    """Minimise ``loss`` from ``theta0`` (shape (n,)) by preconditioned descent.

    ``metric`` is None (plain gradient descent), a :class:`~symgeo.metric.Metric`
    or a :class:`~symgeo.fields.MetricField`, whose inverse is the
    preconditioner (module docstring). The run stops after ``iterations``
    iterations, or when an accepted step lowers the loss by at most
    ``tol`` (1 + |ℓ|), or when no step of the line search is accepted.

    >>> from symgeo import fisher_metric, load_family
    >>> family = load_family("exponential")
    >>> loss = negative_log_likelihood(family, [0.5, 1.5])  # minimum at lam = 1
    >>> run = descend(loss, [3.0], fisher_metric(family))
    >>> round(float(run.path[-1, 0]), 12), run.stopped
    (1.0, 'converged')
    """
    from .fields import MetricField, metric_field

    if metric is None:
        name, inverse = "identity", None
    else:
        field = metric if isinstance(metric, MetricField) else metric_field(metric)
        name, inverse = field.kind, field.inverse
    theta = np.asarray(theta0, dtype=float)
    current = float(loss.value(theta))
    if not np.isfinite(current):
        raise SpecError(f"the start point {theta.tolist()} is outside the domain")
    path, losses, steps = [theta], [current], []
    stopped = "iteration limit"
    for _ in range(iterations):
        gradient = loss.gradient(theta)
        direction = gradient if inverse is None else inverse(theta) @ gradient
        decrement = float(gradient @ direction)
        step, accepted = 1.0, None
        for _ in range(HALVINGS):
            trial = theta - step * direction
            value = float(loss.value(trial))
            if value <= current - ARMIJO * step * decrement:
                accepted = trial
                break
            step /= 2
        if accepted is None:
            stopped = "line search failed"
            break
        decrease = current - value
        theta, current = accepted, value
        path.append(theta)
        losses.append(current)
        steps.append(step)
        if decrease <= tol * (1 + abs(current)):
            stopped = "converged"
            break
    log.debug("%s descent: %d iterations, %s", name, len(steps), stopped)
    return Descent(name, np.array(path), np.array(losses), np.array(steps), stopped)

"""Code generation: numpy kernels and their mpmath twins for a metric.

For a :class:`~symgeo.metric.Metric` the generator writes two standalone
modules from the jinja2 templates in ``symgeo/templates``: a numpy module
(imports numpy and, when needed, scipy.special only) and its mpmath twin. Both
define ``metric``, ``inverse_metric``, ``christoffel`` (Γ^k_ij, shape
(..., n, n, n), indexed [k, i, j]), ``geodesic_rhs`` and ``scalar_curvature``;
the numpy module adds ``*_unchecked`` variants without the parameter-domain
check. Modules:

- :mod:`.plan` — unique components, stable rewrites, one CSE, per-function
  pruning;
- :mod:`.rewrite` — the stable rewrites;
- :mod:`.printers` — SymPy to numpy / mpmath source, special functions mapped
  explicitly;
- :mod:`.quadrature` — Gauss-Legendre rules for entries without a closed form;
- :mod:`.pullback` — the W2 kernels of a metric with nested-integral entries,
  from the embedding θ ↦ Q(·; θ) into L²(0, 1);
- :mod:`.render` — the module text from the templates;
- :mod:`.load` — compiling a module from its text;
- :mod:`.crosscheck` — numpy kernels against the mpmath twins.

>>> from symgeo import fisher_metric, load_family
>>> kernels = compiled_kernels(fisher_metric(load_family("normal")))
>>> kernels["numpy"].christoffel(0.0, [1.0, 2.0]).shape
(2, 2, 2, 2)
"""

import logging

from .crosscheck import KernelVerification, verification_points, verify_kernels
from .load import module_from_source
from .plan import build_plan
from .printers import CodegenError
from .render import kernel_sources, template_text

log = logging.getLogger(__name__)

TARGETS = ("numpy", "mpmath")

__all__ = [
    "CodegenError",
    "KernelVerification",
    "TARGETS",
    "build_plan",
    "compiled_kernels",
    "generated_sources",
    "kernel_sources",
    "template_text",
    "verification_points",
    "verify_kernels",
]


def generated_sources(metric):
    """``{"numpy": text, "mpmath": text}``, generated once per metric."""
    cache = metric.__dict__.setdefault("_kernel_cache", {})
    if "sources" not in cache:
        cache["sources"] = kernel_sources(metric)
    return cache["sources"]


def compiled_kernels(metric):
    """``{"numpy": module, "mpmath": module}`` for ``metric``, compiled once.

    >>> from symgeo import fisher_metric, load_family
    >>> g = fisher_metric(load_family("exponential"))
    >>> compiled_kernels(g)["numpy"] is compiled_kernels(g)["numpy"]
    True
    """
    cache = metric.__dict__.setdefault("_kernel_cache", {})
    if "modules" not in cache:
        sources = generated_sources(metric)
        family = metric.family.name
        cache["modules"] = {
            target: module_from_source(
                sources[target], f"symgeo_kernels.{family}.{metric.kind}_{target}"
            )
            for target in TARGETS
        }
    return cache["modules"]

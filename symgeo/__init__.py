"""symgeo: Fisher-Rao and Wasserstein geometry of parametric families.

Describe a family (a TOML spec, a built-in name, or Python) and derive its
Fisher metric in closed form, verified against high-precision quadrature, with
the Riemannian quantities that follow from it.

>>> from symgeo import fisher_metric, load_family
>>> fisher_metric(load_family("normal")).matrix
Matrix([
[sigma**(-2),            0],
[          0, 2/sigma**2]])
"""

from .catalog import builtin_names, load_family
from .compare import compare
from .errors import (
    DerivationError,
    DomainError,
    MetricUndefined,
    SpecError,
    SymgeoError,
    VerificationError,
)
from .family import Family
from .fisher import fisher_metric
from .geodesics import GeodesicError, distance, exp_map, log_map
from .metric import Metric
from .report import render_report, write_report, write_reports
from .wasserstein import wasserstein_metric

__version__ = "0.1.0"

__all__ = [
    "DerivationError",
    "DomainError",
    "Family",
    "Metric",
    "SpecError",
    "SymgeoError",
    "VerificationError",
    "MetricUndefined",
    "builtin_names",
    "compare",
    "fisher_metric",
    "GeodesicError",
    "distance",
    "exp_map",
    "log_map",
    "load_family",
    "wasserstein_metric",
    "render_report",
    "write_report",
    "write_reports",
]

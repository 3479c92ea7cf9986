"""The metrics symgeo can derive, by name ('fisher', 'wasserstein', ...).

Each entry maps a name to a function ``family -> Metric``; the CLI, the code
generator and the reports iterate over this table, so a new metric is added in
one place.
"""

from .errors import SpecError
from .fisher import fisher_metric
from .wasserstein import wasserstein_metric

METRIC_BUILDERS = {"fisher": fisher_metric, "wasserstein": wasserstein_metric}


def metric_names():
    """Names accepted by ``--metric``, in display order.

    >>> metric_names()[0]
    'fisher'
    """
    return list(METRIC_BUILDERS)


def derive_metric(family, which):
    """The metric named ``which`` of ``family``."""
    if which not in METRIC_BUILDERS:
        raise SpecError(
            f"unknown metric {which!r}; write one of {', '.join(METRIC_BUILDERS)}"
        )
    return METRIC_BUILDERS[which](family)

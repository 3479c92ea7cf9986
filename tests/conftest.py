"""Shared fixtures: derived metrics are cached for the whole test session."""

from functools import cache

import pytest

from symgeo import fisher_metric, load_family


@cache
def _fisher(name):
    return fisher_metric(load_family(name))


@pytest.fixture(scope="session")
def fisher():
    """``fisher(name)``: the verified Fisher metric of a built-in family, cached."""
    return _fisher

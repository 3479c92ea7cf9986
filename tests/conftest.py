"""Shared fixtures: derived metrics are cached for the whole test session."""

from functools import cache

import pytest

from symgeo import Family, fisher_metric, load_family


@cache
def _fisher(name):
    return fisher_metric(load_family(name))


@pytest.fixture(scope="session")
def fisher():
    """``fisher(name)``: the verified Fisher metric of a built-in family, cached."""
    return _fisher


@pytest.fixture(scope="session")
def truncated_exponential():
    """λ e^{−λx} / (1 − e^{−λ}) on [0, 1]: closed forms that cancel near λ = 0
    and overflow at large λ in double precision (1/λ² − e^λ/(e^λ − 1)²)."""
    return Family.continuous(
        "lam * exp(-lam * x) / (1 - exp(-lam))",
        "x",
        ("0", "1"),
        {"lam": "positive"},
        name="truncated_exponential",
    )

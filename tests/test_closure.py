"""Closure under W2 geodesics: the verdicts of issue 3 with their evidence.

Facts used (design.md 2): in one dimension the W2 geodesic has quantile
(1 − t) Q0 + t Q1, so location-scale and scale families are closed with the
parameters interpolated linearly in (location, scale); gaussians are closed
in any dimension (Takatsu 2011); the midpoint of Bernoulli(0.2) and
Bernoulli(0.6) has atoms 0: 2/5, 1/2: 2/5, 1: 1/5, at W2 distance at least
sqrt(2/5 · 1/4) = sqrt(10)/10 from every law on the integers.
"""

import json

import numpy as np
import pytest
import sympy as sp

from symgeo import load_family
from symgeo.cli import main
from symgeo.closure import w2_closure


@pytest.mark.parametrize("name", ["normal", "laplace", "logistic", "student_t"])
def test_location_scale_families_interpolate_linearly(name):
    result = w2_closure(load_family(name))
    assert result.closed is True
    t = sp.Symbol("t")
    for parameter, path in result.certificate.items():
        start, end = (sp.Symbol(f"{parameter}{k}") for k in (0, 1))
        renamed = path.subs({s: sp.Symbol(s.name) for s in path.free_symbols})
        assert sp.expand(renamed - ((1 - t) * start + t * end)) == 0


def test_exponential_rate_path_is_harmonic():
    """Scale 1/λ interpolates linearly, so λ(t) = λ0 λ1 / ((1 − t) λ1 + t λ0)."""
    result = w2_closure(load_family("exponential"))
    path = result.certificate["lam"]
    values = {
        s.name: v
        for s, v in zip(
            sorted(path.free_symbols, key=lambda s: s.name),
            (2.0, 3.0, 0.25),
            strict=True,
        )
    }
    lam0, lam1, t = values["lam0"], values["lam1"], values["t"]
    got = float(path.subs({s: values[s.name] for s in path.free_symbols}))
    assert got == pytest.approx(1 / ((1 - t) / lam0 + t / lam1), rel=1e-15)


@pytest.mark.parametrize("name", ["lognormal", "weibull"])
def test_shape_families_are_not_closed_with_a_clear_residual(name):
    result = w2_closure(load_family(name))
    assert result.closed is False
    witness = result.counterexample
    assert witness["t"] == 0.5
    assert witness["residual"] > witness["noise_level"] > 0
    assert witness["residual"] < witness["w2"]


def test_bernoulli_midpoint_has_three_atoms():
    result = w2_closure(load_family("bernoulli"))
    assert result.closed is False
    assert result.counterexample["residual"] == pytest.approx(np.sqrt(10) / 10)
    assert any("1/2: 2/5" in note for note in result.notes)


def test_gaussian2d_is_closed_with_the_affine_map_path():
    result = w2_closure(load_family("gaussian2d"))
    assert result.closed is True
    assert set(result.certificate) == {"mu1", "mu2", "s11", "s12", "s22"}


def test_cli_closure_json_has_the_contract_fields(capsys):
    assert main(["closure", "bernoulli", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["family"] == "bernoulli" and record["closed"] is False
    assert set(record["counterexample"]) >= {"from", "to", "t", "residual"}

"""Tests of parameter domains: parsing, membership, checks and interior points."""

import math

import numpy as np
import pytest
import sympy as sp

from symgeo.domains import Domain
from symgeo.errors import DomainError, SpecError


@pytest.mark.parametrize(
    ("text", "lower", "upper", "lower_open", "upper_open"),
    [
        ("positive", 0, sp.oo, True, True),
        ("nonnegative", 0, sp.oo, False, True),
        ("negative", -sp.oo, 0, True, True),
        ("real", -sp.oo, sp.oo, True, True),
        ("(0, 1)", 0, 1, True, True),
        ("[0, 1]", 0, 1, False, False),
        ("(0, 1]", 0, 1, True, False),
        ("[1, oo)", 1, sp.oo, False, True),
        ("(-oo, 0)", -sp.oo, 0, True, True),
        ("(0, pi)", 0, sp.pi, True, True),
        ("(0.1, 2.5]", sp.Rational(1, 10), sp.Rational(5, 2), True, False),
        ("(-1, Max(1, pi/2))", -1, sp.pi / 2, True, True),
    ],
)
def test_parse_reads_words_and_intervals_exactly(
    text, lower, upper, lower_open, upper_open
):
    domain = Domain.parse(text, name="k")

    assert domain.lower == lower
    assert domain.upper == upper
    assert (domain.lower_open, domain.upper_open) == (lower_open, upper_open)
    assert domain.text == text


def test_parse_tolerates_spaces_and_capitals():
    assert Domain.parse("  Positive ", name="k").describe() == "(0, oo)"
    assert Domain.parse("[ 0 ,1 )", name="p").describe() == "[0, 1)"


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("positive", "(0, oo)"),
        ("nonnegative", "[0, oo)"),
        ("negative", "(-oo, 0)"),
        ("real", "(-oo, oo)"),
        ("[0, 1]", "[0, 1]"),
        ("(0, pi)", "(0, pi)"),
        ("(0.5, 1]", "(1/2, 1]"),
    ],
)
def test_describe_gives_canonical_interval_text(text, description):
    assert Domain.parse(text, name="k").describe() == description


@pytest.mark.parametrize(
    ("text", "assumptions"),
    [
        ("positive", {"positive": True}),
        ("(0, 1)", {"positive": True}),
        ("[1, oo)", {"positive": True}),
        ("nonnegative", {"nonnegative": True}),
        ("[0, 1]", {"nonnegative": True}),
        ("negative", {"negative": True}),
        ("(-oo, -1]", {"negative": True}),
        ("(-oo, 0]", {"nonpositive": True}),
        ("real", {"real": True}),
        ("(-1, 1)", {"real": True}),
    ],
)
def test_assumptions_follow_the_sign_of_the_domain(text, assumptions):
    domain = Domain.parse(text, name="k")

    assert domain.assumptions == assumptions
    assert sp.Symbol("k", **domain.assumptions).is_real


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the domain '' of parameter 'k' is not understood; write 'positive'"),
        ("posative", "the domain 'posative' of parameter 'k' is not understood"),
        ("(0, 1", "is not understood"),
        ("0, 1)", "is not understood"),
        ("(0, 1, 2)", "is not understood"),
        ("(0 1)", "is not understood"),
        ("(, 1)", "the domain '\\(, 1\\)' of parameter 'k' lacks a bound"),
        ("(1, 0)", "is empty because its lower bound is not below its upper"),
        ("[1, 1]", "is empty"),
        ("(oo, oo)", "is empty"),
        ("[0, oo]", "closes an infinite end; use a parenthesis there"),
        ("[-oo, 0)", "closes an infinite end"),
        ("(0, sqrt(-1))", "has the bound I, which is not a real number"),
        ("(0, y)", "unknown symbol 'y' in the domain of parameter 'k'"),
        ("(0, __import__('os'))", "unknown function '__import__'"),
        ("(0, 1/0)", "is undefined"),
    ],
)
def test_parse_rejects_bad_text(text, message):
    with pytest.raises(SpecError, match=message):
        Domain.parse(text, name="k")


def test_parse_error_lists_the_accepted_forms():
    with pytest.raises(SpecError) as error:
        Domain.parse("between 0 and 1", name="p")

    assert str(error.value) == (
        "the domain 'between 0 and 1' of parameter 'p' is not understood; write "
        "'positive', 'nonnegative', 'negative', 'real' or an interval such as "
        "'(0, 1)', '[0, oo)' or '(0, pi]'"
    )


def test_contains_respects_open_and_closed_ends():
    half_open = Domain.parse("(0, 1]", name="p")

    assert not half_open.contains(0.0)
    assert half_open.contains(1e-300)
    assert half_open.contains(1.0)
    assert not half_open.contains(1.0 + 1e-15)

    closed = Domain.parse("[0, 1]", name="p")
    assert closed.contains(0.0)
    assert closed.contains(1.0)
    assert not closed.contains(-1e-300)


def test_contains_rejects_non_finite_values():
    positive = Domain.parse("positive", name="k")
    real = Domain.parse("real", name="m")

    assert not positive.contains(math.inf)
    assert not real.contains(-math.inf)
    assert not real.contains(math.nan)
    assert real.contains(-1e300)


def test_check_returns_a_float():
    value = Domain.parse("positive", name="k").check("k", 2)

    assert value == 2.0
    assert isinstance(value, float)
    assert Domain.parse("[0, 1]", name="p").check("p", sp.Rational(1, 2)) == 0.5


@pytest.mark.parametrize(
    ("text", "value", "message"),
    [
        (
            "positive",
            -1,
            "parameter 'k' = -1 is outside its domain (0, oo); give a value > 0",
        ),
        (
            "positive",
            0.0,
            "parameter 'k' = 0 is outside its domain (0, oo); give a value > 0",
        ),
        (
            "(0, 1)",
            1.5,
            "parameter 'k' = 1.5 is outside its domain (0, 1); give a value in (0, 1)",
        ),
        (
            "[1, oo)",
            0.25,
            "parameter 'k' = 0.25 is outside its domain [1, oo); give a value >= 1",
        ),
        (
            "(-oo, 0)",
            0,
            "parameter 'k' = 0 is outside its domain (-oo, 0); give a value < 0",
        ),
        (
            "(-oo, 2]",
            3,
            "parameter 'k' = 3 is outside its domain (-oo, 2]; give a value <= 2",
        ),
        (
            "real",
            math.nan,
            "parameter 'k' = nan is not a finite number; give any finite real number",
        ),
        (
            "positive",
            math.inf,
            "parameter 'k' = inf is not a finite number; give a value > 0",
        ),
        (
            "positive",
            "two",
            "parameter 'k' = 'two' is not a number; give a value > 0",
        ),
    ],
)
def test_check_explains_the_allowed_values(text, value, message):
    with pytest.raises(DomainError) as error:
        Domain.parse(text, name="k").check("k", value)

    assert str(error.value) == message


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("positive", 0.4, 3.5),
        ("nonnegative", 0.4, 3.5),
        ("[1, oo)", 1.4, 4.5),
        ("(-oo, 0)", -3.5, -0.4),
        ("(-oo, 2]", -1.5, 1.6),
        ("real", -1.5, 1.5),
        ("(0, 1)", 0.15, 0.85),
        ("[-2, 2]", -1.4, 1.4),
        ("(0, pi)", 0.15 * math.pi, 0.85 * math.pi),
    ],
)
def test_interior_points_lie_well_inside_the_domain(text, low, high):
    domain = Domain.parse(text, name="k")

    points = domain.interior_points(200, np.random.default_rng(7))

    assert len(points) == 200
    assert all(isinstance(point, float) for point in points)
    assert all(domain.contains(point) for point in points)
    assert all(low - 1e-12 <= point <= high + 1e-12 for point in points)


def test_interior_points_of_a_half_line_are_log_uniform():
    points = Domain.parse("positive", name="k").interior_points(
        4000, np.random.default_rng(1)
    )

    below_one = sum(point < 1.0 for point in points) / len(points)
    expected = math.log(1 / 0.4) / math.log(3.5 / 0.4)
    standard_error = math.sqrt(expected * (1 - expected) / len(points))
    assert abs(below_one - expected) < 4 * standard_error


def test_interior_points_are_reproducible_for_a_seed():
    domain = Domain.parse("(0, 1)", name="p")

    first = domain.interior_points(5, np.random.default_rng(3))
    second = domain.interior_points(5, np.random.default_rng(3))

    assert first == second

"""Family specs: construction and every kind of bad input, with its message."""

import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from symgeo import DomainError, Family, SpecError, load_family


def lomax_spec(**changes):
    spec = {
        "name": "lomax",
        "variable": "x",
        "support": ["0", "oo"],
        "density": "alpha / lam * (1 + x / lam)**(-(alpha + 1))",
        "parameters": {"alpha": "positive", "lam": "positive"},
    }
    spec.update(changes)
    return spec


def test_spec_builds_a_family_with_typed_symbols():
    family = Family.from_spec(lomax_spec())
    alpha, lam = family.symbols
    assert family.names == ("alpha", "lam")
    assert alpha.is_positive and lam.is_positive
    assert family.variable.is_positive


def test_every_builtin_loads():
    for name in ["normal", "gamma", "poisson", "categorical", "gaussian2d"]:
        assert load_family(name).name == name


def test_unknown_symbol_in_density():
    with pytest.raises(SpecError, match="unknown symbol 'c'"):
        Family.from_spec(lomax_spec(density="c * exp(-alpha * x) * lam"))


def test_declared_parameter_not_used():
    spec = lomax_spec(
        parameters={"alpha": "positive", "lam": "positive", "c": "positive"}
    )
    with pytest.raises(SpecError, match="parameter 'c' .* does not appear"):
        Family.from_spec(spec)


def test_unnormalised_density():
    with pytest.raises(SpecError, match="not normalised: it integrates to 2"):
        Family.from_spec(
            lomax_spec(density="2 * alpha / lam * (1 + x / lam)**(-(alpha + 1))")
        )


def test_pmf_written_as_a_density_gets_the_discrete_fix():
    spec = lomax_spec(
        name="poisson_as_density",
        density="lam**x * exp(-lam) / factorial(x)",
        parameters={"lam": "positive"},
    )
    with pytest.raises(
        SpecError, match='sums to 1 over the integers.*kind = "discrete"'
    ):
        Family.from_spec(spec)


def test_density_negative_at_an_extreme_parameter_value():
    """(1 + a x)/2 on [-1, 1] is a density only for |a| <= 1."""
    spec = lomax_spec(
        name="linear",
        support=["-1", "1"],
        density="(1 + a*x)/2",
        parameters={"a": "real"},
    )
    with pytest.raises(SpecError, match="is negative .* narrow them"):
        Family.from_spec(spec)
    spec["parameters"] = {"a": "(-1, 1)"}
    assert Family.from_spec(spec).names == ("a",)


def test_negative_density():
    spec = lomax_spec(
        density="(1 - 2 * exp(-lam * x)) * lam * 3", parameters={"lam": "positive"}
    )
    with pytest.raises(SpecError, match="is negative"):
        Family.from_spec(spec)


def test_support_bound_that_does_not_parse():
    with pytest.raises(SpecError, match="support"):
        Family.from_spec(lomax_spec(support=["0", "oo +"]))


def test_support_in_the_wrong_order():
    with pytest.raises(SpecError, match="support of family 'lomax' is empty"):
        Family.from_spec(lomax_spec(support=["oo", "0"]))


def test_parameter_outside_its_domain():
    family = load_family("gamma")
    with pytest.raises(DomainError, match="parameter 'b' = -1.3 is outside its domain"):
        family.point({"k": 2.5, "b": -1.3})


def test_point_with_unknown_or_missing_parameter():
    family = load_family("gamma")
    with pytest.raises(SpecError, match="unknown parameter 'q'"):
        family.point({"k": 2.5, "b": 1.0, "q": 1})
    with pytest.raises(SpecError, match="no value given for parameter 'b'"):
        family.point({"k": 2.5})


def test_constraint_violation():
    family = load_family("categorical")
    with pytest.raises(DomainError, match="violates the constraint"):
        family.point({"p1": 0.6, "p2": 0.5})


def test_unknown_key_and_kind():
    with pytest.raises(SpecError, match="unknown key 'densty'"):
        Family.from_spec({**lomax_spec(), "densty": "x"})
    with pytest.raises(SpecError, match="unknown kind 'mixture'"):
        Family.from_spec(lomax_spec(kind="mixture"))


def test_discrete_kind_needs_a_pmf():
    with pytest.raises(SpecError, match="needs 'pmf', not 'density'"):
        Family.from_spec(lomax_spec(kind="discrete"))


def test_code_injection_is_refused_and_has_no_effect(tmp_path):
    marker = tmp_path / "pwned"
    attack = f"__import__('os').system('touch {marker}')"
    with pytest.raises(SpecError):
        Family.from_spec(lomax_spec(density=attack))
    assert not marker.exists()


def test_spec_file_with_code_injection_via_cli(tmp_path):
    marker = tmp_path / "pwned"
    spec = tmp_path / "evil.toml"
    attack = f"0 * __import__('os').system('touch {marker}')"
    spec.write_text(
        'name = "evil"\nsupport = ["0", "oo"]\n'
        f'density = "lam * exp(-lam * x) + {attack}"\n'
        '[parameters]\nlam = "positive"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "symgeo.cli", "derive", str(spec)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_unreadable_and_invalid_toml(tmp_path):
    with pytest.raises(SpecError, match="cannot read the spec file"):
        Family.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(SpecError, match="not valid TOML"):
        Family.from_toml(bad)


def test_unknown_builtin():
    with pytest.raises(SpecError, match="no built-in family 'gama'"):
        load_family("gama")


def test_python_keyword_as_parameter_name():
    with pytest.raises(SpecError, match="keyword"):
        Family.from_spec(
            lomax_spec(parameters={"lambda": "positive"}, density="lambda * exp(-x)")
        )


def test_sample_points_respect_constraints():
    family = load_family("categorical")
    p1, p2 = family.symbols
    for point in family.sample_points(20):
        assert point[p1] + point[p2] < 1


def test_fixed_number_in_density_is_a_constant():
    family = load_family("student_t")
    assert family.names == ("mu", "sigma")
    assert not family.density.free_symbols - {family.variable, *family.symbols}
    assert family.density.has(sp.sqrt(5))


def test_spec_files_in_catalog_all_parse():
    folder = Path(__file__).resolve().parents[1] / "derivations"
    names = sorted(p.stem for p in folder.glob("*.toml"))
    assert len(names) >= 22
    for name in names:
        assert load_family(name).name == name

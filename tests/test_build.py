"""``symgeo build``, ``build --check``, ``codegen`` and ``verify``.

Determinism and staleness are tested on a temporary derivations folder with two
small families (exponential, which has both metrics, and bernoulli, whose W2
metric does not exist), building the kernel outputs only; the last test checks
the repository's own generated/ against derivations/ and the code.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symgeo import build as build_module
from symgeo.build import build, changed_inputs, check, dependency_files
from symgeo.catalog import catalog_dir
from symgeo.registry import METRIC_BUILDERS

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("exponential", "bernoulli")


@pytest.fixture
def kernels_only(monkeypatch):
    """Build the kernel outputs only (the reports have their own tests)."""
    monkeypatch.setattr(
        build_module,
        "OUTPUTS",
        [o for o in build_module.OUTPUTS if o.name == "kernels"],
    )


@pytest.fixture
def project(tmp_path, kernels_only):
    derivations = tmp_path / "derivations"
    derivations.mkdir()
    for name in FAMILIES:
        shutil.copy(catalog_dir() / f"{name}.toml", derivations)
    return derivations, tmp_path / "generated"


def contents(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_build_is_deterministic_and_checks_clean(project):
    derivations, generated = project
    build(derivations, generated)
    first = contents(generated)
    assert {"exponential/fisher_numpy.py", "bernoulli/manifest.json"} <= set(first)
    assert check(derivations, generated) == []

    build(derivations, generated)
    assert contents(generated) == first

    manifest = json.loads(first["bernoulli/manifest.json"])
    assert set(manifest["metrics"]) == set(METRIC_BUILDERS)
    if "wasserstein" in manifest["metrics"]:
        skipped = manifest["metrics"]["wasserstein"]
        assert skipped["status"] == "skipped"
        assert skipped["reason"].startswith(
            "metric not defined: the family 'bernoulli'"
        )
    assert manifest["inputs"]["code"]["codegen/plan.py"]


def test_check_names_stale_files_and_why(project):
    derivations, generated = project
    build(derivations, generated)
    spec = derivations / "exponential.toml"
    spec.write_text(spec.read_text().replace('title = "', 'title = "Edited: '))
    (generated / "bernoulli" / "fisher_numpy.py").write_text("# edited\n")
    (generated / "bernoulli" / "notes.txt").write_text("stray\n")
    (generated / "orphan").mkdir()

    stale = {item.path: item.reason for item in check(derivations, generated)}
    root = generated.as_posix()
    assert stale[f"{root}/exponential/fisher_numpy.py"].endswith(
        "the spec changed since"
    )
    assert stale[f"{root}/exponential/manifest.json"].startswith(
        "made from other inputs"
    )
    assert stale[f"{root}/bernoulli/fisher_numpy.py"] == "edited by hand (hash differs)"
    assert stale[f"{root}/bernoulli/notes.txt"] == "not listed in the manifest"
    assert stale[f"{root}/orphan"] == "no spec in derivations/ makes it"
    assert f"{root}/bernoulli/fisher_mpmath.py" not in stale

    build(derivations, generated)
    assert not (generated / "orphan").exists()
    assert [s.path for s in check(derivations, generated)] == [
        f"{root}/bernoulli/notes.txt"
    ]


def test_a_code_change_is_named(project, monkeypatch):
    derivations, generated = project
    build(derivations, generated)
    code = build_module.code_inputs()
    code["fisher.py"] = "0" * 64
    monkeypatch.setattr(build_module, "code_inputs", lambda: code)
    reasons = {item.reason for item in check(derivations, generated)}
    assert reasons == {"made from other inputs: symgeo/fisher.py changed since"}


def test_changed_inputs_lists_at_most_four_names():
    old = {"spec": "a", "code": {f"m{i}.py": "x" for i in range(6)}}
    new = {"spec": "a", "code": {f"m{i}.py": "y" for i in range(6)}}
    assert changed_inputs(old, new) == (
        "symgeo/m0.py, symgeo/m1.py, symgeo/m2.py, symgeo/m3.py, 2 more"
    )


def test_inputs_are_the_modules_outputs_can_run():
    """The import closure: derivation, codegen and templates count; the command
    line (no output depends on it) does not."""
    files = dependency_files()
    assert {"fisher.py", "geometry.py", "codegen/render.py", "build.py"} <= set(files)
    assert "templates/kernel_numpy.py.j2" in files
    assert "cli.py" not in files
    for builder in METRIC_BUILDERS.values():
        assert f"{builder.__module__.split('.')[-1]}.py" in files


def symgeo(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "symgeo.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_check_fails_on_stale_files_and_codegen_writes_one_family(
    project, tmp_path
):
    derivations, generated = project
    build(derivations, generated)
    (generated / "exponential" / "fisher_mpmath.py").write_text("# edited\n")
    result = symgeo(
        "build",
        "--check",
        "--derivations",
        str(derivations),
        "--generated",
        str(generated),
    )
    assert result.returncode == 1
    assert "exponential/fisher_mpmath.py: edited by hand" in result.stdout

    result = symgeo("codegen", "exponential", "-o", str(tmp_path / "one"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "one" / "fisher_numpy.py").is_file()
    assert (tmp_path / "one" / "manifest.json").is_file()


def test_cli_verify_reports_every_kernel():
    result = symgeo(
        "verify", "exponential", "--metric", "fisher", "--points", "3", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["fisher"]["kernels"]
    assert report["passed"]
    assert set(report["worst_relative_error"]) == {
        "metric",
        "inverse_metric",
        "christoffel",
        "geodesic_rhs",
        "scalar_curvature",
    }


def test_repository_generated_folder_is_up_to_date():
    """generated/ must match derivations/ and the code (run 'symgeo build' after
    changing either; this test fails until then, by design)."""
    result = symgeo("build", "--check")
    assert result.returncode == 0, result.stdout + result.stderr

"""Studies (derivations/studies/), their build and check, and the engine
functions they use (symgeo.fields, symgeo.flows, Family.fix).

Every study runs at a reduced size; the README's Studies table must be the
generated index.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symgeo import fisher_metric, load_family, wasserstein_metric
from symgeo.closure import discrete_w2_distance
from symgeo.fields import (
    metric_field,
    quantile_metric,
    quantile_w2,
    relative_eigenvalues,
    segment_length,
)
from symgeo.flows import descend, negative_log_likelihood
from symgeo.studies import (
    build_studies,
    check_studies,
    index_markdown,
    run_study,
    study_dependencies,
    study_paths,
)

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "derivations" / "studies"
SIZE = 0.1


@pytest.mark.parametrize("path", study_paths(STUDIES), ids=lambda p: p.stem)
def test_study_runs_at_reduced_size(path):
    result = run_study(path, size=SIZE)
    page = result.files[f"{path.stem}.md"].decode("utf-8")
    assert page.startswith(f"# {result.title}\n")
    assert result.finding and "\n" not in result.finding
    figures = [name for name in result.files if name.endswith(".png")]
    assert figures, "every study draws at least one figure"
    for name in figures:
        assert f"]({name})" in page
        assert result.files[name].startswith(b"\x89PNG")
        assert b"Software" not in result.files[name]


TINY_STUDY = '''"""A tiny study: the Fisher metric of the exponential family."""

from symgeo.catalog import load_family
from symgeo.fisher import fisher_metric
from symgeo.studies import new_figure


def run(page, size=1.0):
    g = fisher_metric(load_family("exponential")).evaluate({"lam": 2.0})[0, 0]
    page.table(["lam", "g"], [[2.0, g]])
    figure, (ax,) = new_figure()
    ax.plot([1, 2], [1, 0.25])
    page.figure("metric", figure, "The metric.")
    page.finding = f"g(2) = {g}"
'''


def test_build_is_deterministic_and_check_names_stale_pages(tmp_path):
    folder = tmp_path / "studies"
    folder.mkdir()
    script = folder / "tiny.py"
    script.write_text(TINY_STUDY)
    generated = tmp_path / "generated"
    build_studies(folder, generated)
    pages = sorted(p.name for p in generated.rglob("*") if p.is_file())
    assert pages == ["index.md", "manifest.json", "metric.png", "tiny.md"]
    first = {p: p.read_bytes() for p in generated.rglob("*.*") if p.suffix != ".json"}
    assert check_studies(folder, generated) == []
    assert (
        "| [A tiny study: the Fisher metric of the exponential family](tiny.md) | "
        "g(2) = 0.25 |" in (generated / "index.md").read_text()
    )

    build_studies(folder, generated)
    assert {
        p: p.read_bytes() for p in generated.rglob("*.*") if p.suffix != ".json"
    } == first

    script.write_text(TINY_STUDY + "\n# edited\n")
    (generated / "stray.txt").write_text("stray\n")
    stale = dict(check_studies(folder, generated))
    page = (generated / "tiny.md").as_posix()
    assert stale[page] == "made from other inputs: the script changed since"
    assert stale[(generated / "stray.txt").as_posix()] == "not listed in the manifest"

    script.unlink()
    build_studies(folder, generated)
    assert [p.name for p in generated.rglob("*")] == ["stray.txt"]


def test_study_inputs_follow_the_engine_modules_imported():
    files = study_dependencies(STUDIES / "5_natural_gradient.py")
    assert {"flows.py", "fields.py", "fisher.py", "studies.py"} <= set(files)
    assert "cli.py" not in files


def test_readme_studies_table_is_the_generated_index():
    manifest = ROOT / "generated" / "studies" / "manifest.json"
    studies = json.loads(manifest.read_text(encoding="utf-8"))["studies"]
    assert set(studies) == {p.stem for p in study_paths(STUDIES)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert index_markdown(studies, prefix="generated/studies/").strip() in readme


# -- engine functions the studies use ----------------------------------------------


def test_fix_makes_an_exact_subfamily():
    shape = load_family("gamma").fix(b="1/2")
    assert shape.names == ("k",)
    k, x = shape.symbols[0], shape.variable
    assert (
        sp.simplify(
            shape.density - x ** (k - 1) * sp.exp(-x / 2) / (2**k * sp.gamma(k))
        )
        == 0
    )
    assert fisher_metric(shape).matrix == sp.Matrix([[sp.polygamma(1, k)]])


def test_quantile_metric_matches_the_closed_forms():
    """Gamma: g^W_kb = −(k + 1/2)/b³ and g^W_bb = k(k + 1)/b⁴ (closed-form
    entries of the derivation), Rayleigh: 2, both to 1e-8."""
    theta = np.array([[2.0, 1.5], [0.7, 3.0]])
    g = quantile_metric(load_family("gamma"), theta)
    k, b = theta.T
    assert np.allclose(g[:, 0, 1], -(k + 0.5) / b**3, rtol=1e-8, atol=0)
    assert np.allclose(g[:, 1, 1], k * (k + 1) / b**4, rtol=1e-8, atol=0)
    assert quantile_metric(load_family("rayleigh"), np.array([0.3])) == pytest.approx(
        2.0, rel=1e-9
    )


def test_kernel_field_agrees_with_quantile_quadrature_for_beta():
    family = load_family("beta")
    field = metric_field(wasserstein_metric(family, verify=False))
    theta = np.array([[2.0, 5.0], [0.8, 1.3]])
    expected = quantile_metric(family, theta)
    assert np.allclose(field.metric(theta), expected, rtol=1e-7, atol=0)


def test_relative_eigenvalues_of_bures_wasserstein_against_fisher():
    """At zero-mean Σ = diag(l1, l2): eigenvalues 2/l1, 2/l2, (l1 + l2)/(l1 l2)."""
    from symgeo.family import Family

    centred = Family.from_spec(
        {
            "name": "centred",
            "kind": "gaussian",
            "dimension": 2,
            "mean": "fixed",
            "covariance": "full",
            "fixed": {"mean": [0, 0]},
        }
    )
    l1, l2 = 4.0, 0.5
    values = relative_eigenvalues(
        fisher_metric(centred), wasserstein_metric(centred), np.array([l1, 0.0, l2])
    )
    expected = sorted([2 / l1, 2 / l2, (l1 + l2) / (l1 * l2)])
    assert values == pytest.approx(expected, rel=1e-13)


def test_segment_length_and_quantile_w2_agree_on_a_closed_family():
    family = load_family("exponential")
    w2 = metric_field(wasserstein_metric(family))
    a, b = np.array([[0.5], [1.0]]), np.array([[2.0], [3.0]])
    exact = np.sqrt(2) * np.abs(1 / a[:, 0] - 1 / b[:, 0])
    assert segment_length(w2, a, b) == pytest.approx(exact, rel=1e-13)
    assert quantile_w2(family, a, b) == pytest.approx(exact, rel=1e-10)


def test_discrete_w2_is_the_square_root_of_the_step():
    """W2(Ber p, Ber q) = √|p − q|: the quantiles differ by 1 on a set of
    measure |p − q| (the reason study 4 gives for the missing pullback)."""
    bernoulli = load_family("bernoulli")
    for p, q in [(0.2, 0.6), (0.5, 0.5001), (0.9, 0.3)]:
        value, error = discrete_w2_distance(bernoulli, [p], [q])
        assert value == pytest.approx(np.sqrt(abs(q - p)), 1e-14)
        assert error < 1e-15


def test_fisher_natural_gradient_is_newton_for_the_gamma_family():
    """In natural parameters the Hessian of the negative log-likelihood is the
    Fisher metric, so steps of 1 are Newton steps: a handful of iterations,
    against hundreds for plain gradient descent, to the same maximum."""
    family = load_family("gamma")
    data = np.random.default_rng(1).gamma(3.0, 0.5, 500)
    loss = negative_log_likelihood(family, data)
    newton = descend(loss, [1.0, 1.0], fisher_metric(family))
    plain = descend(loss, [1.0, 1.0], None, iterations=2000)
    assert newton.stopped == "converged" and len(newton.steps) <= 10
    assert np.all(newton.steps[-3:] == 1.0)
    assert np.allclose(loss.gradient(newton.path[-1]), 0.0, atol=1e-10)
    assert plain.path[-1] == pytest.approx(newton.path[-1], rel=1e-5)
    assert len(plain.steps) > 10 * len(newton.steps)


def test_descent_stays_in_the_domain():
    family = load_family("exponential")
    loss = negative_log_likelihood(family, [0.001, 0.002])
    run = descend(loss, [1.0], None, iterations=50)
    assert (run.path > 0).all()
    assert np.isinf(loss.value(np.array([-1.0])))


def test_symgeo_build_runs_the_studies_beside_the_families(tmp_path, monkeypatch):
    from symgeo import build as build_module
    from symgeo.catalog import catalog_dir

    kernels = [o for o in build_module.OUTPUTS if o.name == "kernels"]
    monkeypatch.setattr(build_module, "OUTPUTS", kernels)
    derivations = tmp_path / "derivations"
    (derivations / "studies").mkdir(parents=True)
    shutil.copy(catalog_dir() / "exponential.toml", derivations)
    (derivations / "studies" / "tiny.py").write_text(TINY_STUDY)
    generated = tmp_path / "generated"

    build_module.build(derivations, generated, jobs=2)
    assert (generated / "studies" / "tiny.md").is_file()
    assert (generated / "exponential" / "manifest.json").is_file()
    assert build_module.check(derivations, generated) == []

    (derivations / "studies" / "tiny.py").write_text(TINY_STUDY + "\n")
    stale = [s.path for s in build_module.check(derivations, generated)]
    assert (generated / "studies" / "tiny.md").as_posix() in stale

"""The command line (design.md 3.2): output, JSON fields and exit statuses."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import polygamma

from symgeo.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def write_spec(folder, name, support, density, **parameters):
    """A spec file ``folder/name.toml`` (variable x), its path as a string."""
    lines = [
        f'name = "{name}"',
        f'support = ["{support[0]}", "{support[1]}"]',
        f'density = "{density}"',
        "[parameters]",
        *(f'{symbol} = "{domain}"' for symbol, domain in parameters.items()),
    ]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_list_names_every_builtin(capsys):
    status, out, _ = run(capsys, "list")
    assert status == 0
    for name in ("gamma", "normal", "von_mises", "gaussian2d"):
        assert name in out


def test_derive_gamma_prints_metric_and_christoffels(capsys):
    status, out, _ = run(capsys, "derive", "gamma")
    assert status == 0
    assert "polygamma(1, k)" in out
    assert "Christoffel" in out and "Γ^k_k k" in out
    assert "scalar curvature" in out


def test_eval_gamma_json(capsys):
    status, out, _ = run(
        capsys, "eval", "gamma", "--metric", "fisher", "--at", "k=2.5,b=1.3", "--json"
    )
    assert status == 0
    record = json.loads(out)
    assert record["family"] == "gamma" and record["metric"] == "fisher"
    assert record["parameters"] == ["k", "b"]
    assert record["at"] == {"k": 2.5, "b": 1.3}
    # Closed form of the gamma Fisher metric (Arwini and Dodson 2008, ch. 3),
    # evaluated with scipy's independent polygamma.
    expected = [[polygamma(1, 2.5), -1 / 1.3], [-1 / 1.3, 2.5 / 1.3**2]]
    np.testing.assert_allclose(record["matrix"], expected, rtol=1e-14)


def test_derive_json_fields(capsys):
    status, out, _ = run(capsys, "derive", "exponential", "--format", "json")
    assert status == 0
    record = json.loads(out)
    assert record["family"] == "exponential" and record["parameters"] == ["lam"]
    fisher = record["fisher"]
    assert fisher["matrix"] == [["lam**(-2)"]]
    assert fisher["verified"]["points"] >= 3
    assert fisher["verified"]["worst_relative_error"] < 1e-10
    assert "latex" in fisher


def test_derive_latex(capsys):
    status, out, _ = run(capsys, "derive", "normal", "--format", "latex")
    assert status == 0
    assert r"\sigma" in out and r"\Gamma" in out


def test_eval_outside_domain_exits_2(capsys):
    status, _, err = run(capsys, "eval", "gamma", "--at", "k=-1,b=1")
    assert status == 2
    assert "outside its domain" in err and "Traceback" not in err


def test_bad_point_syntax_exits_2(capsys):
    status, _, err = run(capsys, "eval", "gamma", "--at", "k:1")
    assert status == 2
    assert "name=value" in err


def test_unknown_family_exits_2(capsys):
    status, _, err = run(capsys, "derive", "gama")
    assert status == 2
    assert "symgeo list" in err


def test_derivation_failure_exits_1(tmp_path, capsys):
    """N(a + b, 1) in (a, b): the Fisher metric [[1, 1], [1, 1]] is singular
    (the parameters are not identifiable), which is a failed derivation."""
    density = "exp(-(x - a - b)**2 / 2) / sqrt(2 * pi)"
    spec = write_spec(tmp_path, "shifted", ("-oo", "oo"), density, a="real", b="real")
    status, _, err = run(capsys, "derive", spec)
    assert status == 1
    assert "not positive definite" in err


def test_user_spec_from_readme_derives(tmp_path):
    spec = tmp_path / "topp_leone.toml"
    spec.write_text(
        'name = "topp_leone"\nsupport = ["0", "1"]\n'
        'density = "2 * a * x**(a - 1) * (1 - x) * (2 - x)**(a - 1)"\n'
        '[parameters]\na = "positive"\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "symgeo.cli",
            "eval",
            str(spec),
            "--at",
            "a=2",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    # Topp-Leone is an exponential family in a with T = log(x (2 - x)):
    # I(a) = 1/a^2 (Nadarajah and Kotz, Statistics 2003).
    assert json.loads(result.stdout)["matrix"][0][0] == pytest.approx(0.25, rel=1e-12)


def test_report_into_a_missing_folder_fails_before_computing(
    capsys, tmp_path, monkeypatch
):
    import symgeo.report

    def never(*args):
        raise AssertionError("the report was computed")

    monkeypatch.setattr(symgeo.report, "write_report", never)
    target = tmp_path / "missing" / "normal.md"
    status, _, err = run(capsys, "report", "normal", "-o", str(target))
    assert status == 2 and "does not exist" in err


@pytest.mark.parametrize(
    "command", [["codegen", "normal", "-o"], ["build", "--generated"]]
)
def test_output_folder_below_a_file_exits_2(capsys, tmp_path, command):
    afile = tmp_path / "afile"
    afile.write_text("")
    status, _, err = run(capsys, *command, str(afile / "x"))
    assert status == 2
    assert f"{afile} is a file, not a folder" in err and "Traceback" not in err


def test_write_family_reports_an_os_error_in_one_sentence(tmp_path):
    from symgeo.build import write_family
    from symgeo.errors import SpecError

    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(SpecError, match=r"cannot write the kernels to .*Not a dir"):
        write_family({"a.py": ""}, afile / "x", "the kernels")


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_eval_overflow_is_named_on_stderr(capsys, json_flag):
    # ψ₁(k) ≈ 1/k² = 1e600 at k = 1e-300: finite, but beyond double precision.
    at = "k=1e-300,b=1e300"
    status, out, err = run(capsys, "eval", "gamma", "--at", at, *json_flag)
    assert status == 0
    assert "g[k,k] = inf" in err and "overflows double precision" in err
    assert "Infinite entries" not in out


def test_eval_infinite_entries_of_pareto_keep_their_note(capsys):
    args = ["eval", "pareto", "--metric", "wasserstein", "--at", "alpha=1"]
    status, out, err = run(capsys, *args)
    assert status == 0 and "Infinite entries: the W2 metric is finite only" in out
    assert "overflow" not in err


def test_derive_without_closed_forms_says_there_is_nothing_to_verify(tmp_path, capsys):
    # SymPy finds no antiderivative of the Fisher integrand of this density.
    density = "exp(-x) * (1 + a*sin(x)) / (1 + a/2)"
    spec = write_spec(tmp_path, "wavy", ("0", "oo"), density, a="(0, 1)")
    status, out, _ = run(capsys, "derive", spec)
    assert status == 0
    assert "no closed-form entries: every entry is evaluated by quadrature" in out
    assert "verified at 0 points" not in out


@pytest.mark.parametrize(
    "target, message",
    [
        ("/nonexistent/x.png", "the folder /nonexistent does not exist"),
        ("{tmp}/paths.xyz", "matplotlib does not write '.xyz' files; use one of"),
    ],
)
def test_geodesic_plot_that_cannot_be_written_fails_before_computing(
    capsys, tmp_path, target, message
):
    status, out, err = run(
        capsys,
        "geodesic",
        "normal",
        "--from",
        "mu=0,sigma=1",
        "--to",
        "mu=1,sigma=1",
        "--plot",
        target.format(tmp=tmp_path),
    )
    assert status == 2 and out == ""
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["verify", "normal", "--points", "0"], ["build", "--check", "--jobs", "0"]],
)
def test_counts_below_one_are_refused(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "is not a whole number of at least 1" in capsys.readouterr().err


def test_verify_all_skips_a_metric_that_does_not_exist(capsys):
    status, out, _ = run(capsys, "verify", "poisson", "--points", "2")
    assert status == 0
    assert "Fisher metric of poisson" in out and "passed" in out
    assert "The wasserstein metric of poisson does not exist" in out


def test_moving_support_has_no_fisher_metric_but_a_w2_one(capsys, tmp_path):
    """Uniform(0, θ): the Fisher metric is undefined (the support moves), and
    the quantile Q = θu gives the W2 metric ∫₀¹ u² du = 1/3."""
    spec = write_spec(tmp_path, "uniform", ("0", "theta"), "1/theta", theta="positive")
    status, out, _ = run(capsys, "derive", spec)
    assert status == 0
    assert "The fisher metric of uniform does not exist" in out
    assert "support of family 'uniform' depends on theta" in out
    status, out, _ = run(capsys, "derive", spec, "--metric", "all")
    assert status == 0
    assert "[1/3]" in out
    assert "The fisher metric of uniform does not exist" in out
    status, out, _ = run(
        capsys,
        "geodesic",
        spec,
        "--metric",
        "all",
        "--from",
        "theta=1",
        "--to",
        "theta=2",
        "--steps",
        "2",
    )
    assert status == 0 and "There is no fisher geodesic" in out


def test_long_work_says_what_it_is_doing(capsys):
    import logging
    import time

    from symgeo.progress import reporting

    logger = logging.getLogger("symgeo.demo")
    previous = logging.getLogger("symgeo").level
    logging.getLogger("symgeo").setLevel(logging.INFO)
    try:
        with reporting(after=0.05, every=10.0):
            logger.info("integrating the score of demo")
            time.sleep(0.3)
        with reporting(enabled=False):
            time.sleep(0.01)
    finally:
        logging.getLogger("symgeo").setLevel(previous)
    err = capsys.readouterr().err
    assert err.count("symgeo: still working") == 1
    assert "latest step: integrating the score of demo" in err


def test_eval_underflow_is_named_on_stderr(capsys):
    """Gamma Fisher g_bb = k/b² = 2e-400 at b = 1e200: below the smallest double."""
    status, out, err = run(capsys, "eval", "gamma", "--at", "k=2,b=1e200")
    assert status == 0 and "0.00000000e+000" in out
    assert "g[b,b] of the Fisher metric of gamma underflows double precision" in err
    status, _, err = run(capsys, "eval", "gamma", "--at", "k=2,b=1")
    assert status == 0 and "underflow" not in err


def test_codegen_says_when_it_writes_no_kernels(tmp_path, capsys):
    """(1 + a x)/2: g = (log((1 + a)/(1 − a)) − 2a)/(2a³) cancels near a = 0,
    so the kernels fail their check; codegen writes the rest and exits 1."""
    spec = write_spec(tmp_path, "linear", ("-1", "1"), "(1 + a*x)/2", a="(-1, 1)")
    status, out, err = run(capsys, "codegen", spec, "-o", str(tmp_path / "out"))
    assert status == 1
    assert "report.md" in out and "fisher_numpy.py" not in out
    assert "symgeo: error: no fisher kernels written" in err and "a=-1e-06" in err


def test_w2_distance_without_digits_is_an_error(tmp_path, capsys):
    density = "lam * exp(-lam * x) / (1 - exp(-lam))"
    spec = write_spec(tmp_path, "truncated", ("0", "1"), density, lam="positive")
    argv = ["distance", spec, "--metric", "wasserstein", "--json"]
    status, out, err = run(capsys, *argv, "--from", "lam=0.01", "--to", "lam=0.02")
    assert status == 1 and out == ""
    assert "gives no finite distance" in err

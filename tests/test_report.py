"""Derivation reports: notation, layout, Markdown, determinism, and that the LaTeX
of the whole catalog compiles with pdflatex.

The catalog is derived once, in two worker processes (each family once, both
formats rendered from the same derivations); the compile tests skip, saying why,
when pdflatex is not installed.
"""

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import get_context
from pathlib import Path

import pytest
import sympy as sp

import symgeo.report
from symgeo import builtin_names, load_family
from symgeo.errors import SymgeoError
from symgeo.latex import (
    LINE_WIDTH,
    equation_rows,
    latex,
    sum_rows,
    symbol_latex,
    visual_width,
)
from symgeo.metric import Metric
from symgeo.report import (
    closure_latex,
    closure_text,
    comparison_text,
    derive_all,
    escape_md,
    escape_tex,
    prose_names,
    render_report,
    report_format,
)

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(
    PDFLATEX is None,
    reason="pdflatex is not installed (apt-get install texlive-latex-base "
    "texlive-latex-recommended); the LaTeX reports cannot be compiled here",
)
OVERFULL_ALLOWED = 0


def _render_both(name):
    """Worker: derive ``name`` once and render both formats.

    The numerical checks and the closure test (slow numerical searches, tested in
    their own modules) are left out: these reports test printing and layout.
    """
    derivations = derive_all(load_family(name), closure=False, verify=False)
    return render_report(derivations, "tex"), render_report(derivations, "md")


@cache
def catalog_reports():
    """``{name: (tex, md)}`` for the whole catalog, derived in two processes."""
    names = builtin_names()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        return dict(zip(names, pool.map(_render_both, names), strict=True))


@pytest.fixture(scope="module")
def reports():
    return catalog_reports()


def compile_latex(directory, name):
    """Run pdflatex on ``name``.tex; return (exit status, log text)."""
    result = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
        cwd=directory,
        capture_output=True,
        timeout=120,
    )
    log = (Path(directory) / f"{name}.log").read_text(errors="replace")
    return result.returncode, log


# -- the printer -----------------------------------------------------------------------


def test_special_functions_print_as_in_papers():
    k, b, x = sp.symbols("k b x", positive=True)
    assert latex(sp.polygamma(0, k)) == "\\psi(k)"
    assert latex(sp.polygamma(1, k)) == "\\psi^{(1)}(k)"
    assert latex(sp.polygamma(2, k + b)) == "\\psi^{(2)}(b + k)"
    assert latex(sp.polygamma(1, k) ** 2) == "\\psi^{(1)}(k)^{2}"
    assert latex(sp.gamma(k)) == "\\Gamma(k)"
    assert latex(sp.beta(k, b)) == "\\mathrm{B}(k, b)"
    assert latex(sp.besseli(0, x)) == "I_{0}(x)"
    assert latex(sp.besseli(1, x) ** 2) == "I_{1}(x)^{2}"
    assert latex(sp.gamma(k / 2)) == "\\Gamma(k / 2)"
    assert latex(sp.log(k)) == "\\log k"


def test_parameter_names_stay_greek_with_braced_subscripts():
    assert symbol_latex("lam") == "\\lambda"
    assert symbol_latex("kappa") == "\\kappa"
    assert symbol_latex("sigma") == "\\sigma"
    assert symbol_latex("mu1") == "\\mu_{1}"
    assert symbol_latex("s12") == "s_{12}"
    assert symbol_latex("lam2") == "\\lambda_{2}"
    assert symbol_latex("x0") == "x_{0}"


def test_long_sum_is_broken_at_top_level_signs():
    x = sp.Symbol("x", positive=True)
    expr = sum(sp.polygamma(1, x + n) * sp.gamma(x + n) for n in range(12))

    rows = equation_rows("R", expr)

    assert len(rows) > 2
    assert rows[0].startswith("R &= ")
    assert all(row.startswith("&\\quad {}+ ") for row in rows[1:])
    assert all(visual_width(row) <= LINE_WIDTH + 2 for row in rows)


def test_long_fraction_is_taken_apart_to_be_broken():
    a, b = sp.symbols("a b", positive=True)
    numerator = sum(sp.polygamma(1, a + n) * sp.polygamma(2, b + n) for n in range(5))
    denominator = sum(sp.polygamma(1, a * n + b) for n in range(1, 6))

    rows = equation_rows("R", -numerator / (2 * denominator**2))

    assert len(rows) > 1
    text = " ".join(rows)
    assert text.count("\\Bigl(") == text.count("\\Bigr)") == 2
    assert "\\Bigr)^{-2}" in text


def test_exponentials_arguments_and_signs_print_as_in_papers():
    x, mu, sigma, k, lam = sp.symbols("x mu sigma k lam", positive=True)
    g = sp.EulerGamma
    assert latex(sp.exp(-x / lam)) == "e^{- x / \\lambda}"
    assert latex(sp.exp(-((x - mu) ** 2) / (2 * sigma**2))) == (
        "\\exp\\left(- \\frac{\\left(x - \\mu\\right)^{2}}{2 \\sigma^{2}}\\right)"
    )
    assert latex(sp.gamma(1 + 2 / k)) == "\\Gamma(1 + 2 / k)"
    normal = sp.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (sp.sqrt(2 * sp.pi) * sigma)
    assert latex(normal) == (
        "\\frac{1}{\\sqrt{2 \\pi} \\sigma} "
        "\\exp\\left(- \\frac{\\left(x - \\mu\\right)^{2}}{2 \\sigma^{2}}\\right)"
    )
    assert latex(g - 1) == "\\gamma - 1"
    mostly_negative = (12 * g - 6 * g**2 - 6 - sp.pi**2) / (sp.pi**2 * k)
    assert latex(mostly_negative) == (
        "- \\frac{6 \\gamma^{2} - 12 \\gamma + 6 + \\pi^{2}}{\\pi^{2} k}"
    )

    assert equation_rows("y", x + mostly_negative) == [
        "y &= x - \\frac{6 \\gamma^{2} - 12 \\gamma + 6 + \\pi^{2}}{\\pi^{2} k}"
    ]
    (row,) = sum_rows("y", [(x, "a"), (mostly_negative, "b")])
    assert row.startswith("y &= x a - \\frac{6 \\gamma^{2}") and row.endswith("} b")


def test_integer_beta_functions_are_written_out(tmp_path):
    """A Lomax spec derives B(1, α)/α as the Fisher entry g_αα; the report shows
    1/α² (Johnson, Kotz and Balakrishnan 1994, ch. 20)."""
    spec = tmp_path / "lomax.toml"
    spec.write_text(
        'name = "lomax"\n'
        'title = "Lomax distribution (shape alpha, scale lam)"\n'
        'variable = "x"\nsupport = ["0", "oo"]\n'
        'density = "alpha / lam * (1 + x / lam)**(-(alpha + 1))"\n'
        '[parameters]\nalpha = "positive"\nlam = "positive"\n'
    )
    derivations = derive_all(
        load_family(str(spec)), closure=False, comparison=False, verify=False
    )
    tex = render_report(derivations, "tex")

    assert "\\mathrm{B}(1" not in tex
    assert "\\frac{1}{\\alpha^{2}}" in tex
    assert "\\title{Lomax distribution (shape $\\alpha$, scale $\\lambda$)}" in tex


def test_prose_puts_parameters_and_formulas_in_mathematics():
    names = prose_names(load_family("weibull"))
    note = "one k line (lam fixed) bows toward smaller lam; |F − u| <= 2.7e-17"
    assert escape_tex(note, names) == (
        "one $k$ line ($\\lambda$ fixed) bows toward smaller $\\lambda$; "
        "$|$F $-$ u$|$ $\\le$ $2.7 \\times 10^{-17}$"
    )
    assert escape_md("Q(u) = lam*(-log(1 - u))**(1/k)", names) == (
        "Q(u) = $\\lambda \\cdot $(-log(1 - u))$^{1/k}$"
    )
    beta_names = prose_names(load_family("beta"))
    assert escape_tex("a geodesic of one a line (b fixed)", beta_names) == (
        "a geodesic of one $a$ line ($b$ fixed)"
    )
    assert escape_tex("R = (Σ0Σ1)^(1/2), P_θ") == (
        "R = ($\\Sigma_{0} \\Sigma_{1}$)$^{1/2}$, $P_{\\theta}$"
    )


# -- report content --------------------------------------------------------------------


def test_gamma_report_reads_like_a_paper(reports):
    tex, md = reports["gamma"]
    for text in (tex, md):
        assert "\\psi^{(1)}(k)" in text
        assert "\\Gamma(k)" in text
        assert "\\Gamma^{k}_{kb}" in text
        assert "\\ddot{k}" in text and "\\dot{b}" in text
        assert "polygamma" not in text
    assert "Arwini and Dodson" in tex


def test_beta_von_mises_weibull_notation(reports):
    beta_tex = reports["beta"][0]
    assert "\\mathrm{B}(a, b)" in beta_tex
    assert "\\psi^{(1)}(a + b)" in beta_tex

    von_mises_tex = reports["von_mises"][0]
    assert "\\kappa" in von_mises_tex
    assert "I_{0}(\\kappa)" in von_mises_tex
    assert "besseli" not in von_mises_tex

    weibull_tex = reports["weibull"][0]
    assert "\\lambda" in weibull_tex
    formulas = [line for line in weibull_tex.splitlines() if "&=" in line]
    assert formulas
    assert not any(re.search(r"(?<!\\)\blam\b", line) for line in formulas)


def test_christoffel_symbols_are_listed_once(fisher, reports):
    metric = fisher("gamma")
    tex = reports["gamma"][0]
    listed = re.findall(r"\\Gamma\^\{(\w)\}_\{(\w)(\w)\} &=", tex)

    assert len(listed) == len(metric.nonzero_christoffels())
    assert all("kb".index(i) <= "kb".index(j) for _, i, j in listed)


def test_symmetric_matrix_shown_once(reports):
    tex = reports["gamma"][0]
    matrix_row = next(row for row in tex.splitlines() if row.startswith("g^{"))

    assert matrix_row.count("\\frac{1}{b}") == 1
    assert "\\cdot" in matrix_row


def test_gaussian_indices_use_coordinate_names(reports):
    tex = reports["gaussian2d"][0]
    assert "\\Gamma^{\\mu_{1}}_{\\mu_{1}\\,s_{11}}" in tex
    assert "\\ddot{\\mu}_{1}" in tex and "\\dot{s}_{12}" in tex


def test_every_report_has_its_sections(reports):
    for name, (tex, md) in reports.items():
        for heading in ("The family", "Fisher metric", "Verification", "Closure"):
            assert heading in tex, (name, heading)
            assert heading in md, (name, heading)
        assert "\\begin{tabularx}" in tex


def test_markdown_uses_display_blocks_that_render_on_github(reports):
    for name, (_, md) in reports.items():
        fences = [i for i, line in enumerate(md.splitlines()) if line == "$$"]
        assert fences and len(fences) % 2 == 0, name
        lines = md.splitlines()
        for start, end in zip(fences[0::2], fences[1::2], strict=True):
            block = lines[start + 1 : end]
            assert all(line.strip() for line in block), f"{name}: blank line in $$"
        assert "\\begin{aligned}" in md
        for latex_only in ("{align}", "{align*}", "\\allowbreak", "\\intertext"):
            assert latex_only not in md, (name, latex_only)


# -- missing pieces and the closure / comparison sections ------------------------------


class MetricUndefined(SymgeoError):
    def __init__(self, reason, distance=None):
        super().__init__(reason)
        self.reason = reason
        self.distance = distance


@dataclass
class FakeClosure:
    closed: bool | None
    method: str
    certificate: object = None
    counterexample: object = None
    notes: list = field(default_factory=list)

    def as_dict(self):
        return dict(vars(self))


@dataclass
class FakeComparison:
    conformal: bool
    same_geodesics: bool
    notes: list = field(default_factory=list)

    def as_dict(self):
        return dict(vars(self))


def _fake_modules(monkeypatch, wasserstein, closure, comparison):
    modules = {
        ("wasserstein", "wasserstein_metric"): wasserstein,
        ("closure", "w2_closure"): closure,
        ("compare", "compare"): comparison,
    }
    real = symgeo.report._optional
    monkeypatch.setattr(
        "symgeo.report._optional",
        lambda module, name: modules.get((module, name), real(module, name)),
    )


def test_absent_modules_give_sentences(monkeypatch, fisher):
    _fake_modules(monkeypatch, None, None, None)
    derivations = derive_all(load_family("exponential"), fisher=fisher("exponential"))
    md = render_report(derivations, "md")

    assert "cannot derive the pullback Wasserstein-2 metric" in md
    assert "cannot decide closure" in md
    assert "cannot compare the two geometries" in md


def _bernoulli_without_w2(monkeypatch, fisher):
    def undefined(family, **options):
        raise MetricUndefined(
            "a discrete family on ℝ has no smooth W₂ pullback",
            distance="sqrt(Abs(p_0 - p_1))",
        )

    _fake_modules(monkeypatch, undefined, None, lambda f, w: None)
    return derive_all(load_family("bernoulli"), fisher=fisher("bernoulli"))


def test_undefined_w2_metric_states_its_reason(monkeypatch, fisher):
    derivations = _bernoulli_without_w2(monkeypatch, fisher)
    tex = render_report(derivations, "tex")

    assert "A discrete family on $\\mathbb{R}$ has no smooth W$_{2}$ pullback." in tex
    # design.md 2: W2(Ber p, Ber q) = sqrt(|p - q|), shown as a formula.
    assert (
        "W_{2}(\\theta_{0}, \\theta_{1}) &= \\sqrt{\\left|{p_{0} - p_{1}}\\right|}"
        in tex
    )
    assert "only one of the two metrics" in tex


def _gamma_with_everything(fisher):
    family = load_family("gamma")
    k, b = family.symbols
    x = sp.Symbol("x", positive=True)
    integral = sp.Integral(sp.exp(-b * x) * x ** (k - 1) * sp.log(x), (x, 0, sp.oo))
    w2 = Metric(family, "wasserstein", sp.Matrix([[integral, 0], [0, k / b**4]]))
    closure = FakeClosure(
        closed=False,
        method="quantile convexity at sampled pairs",
        counterexample={
            "from": {"k": 1.0, "b": 1.0},
            "to": {"k": 4.0, "b": 2.0},
            "t": 0.5,
            "residual": 3.2e-3,
        },
        notes=["Q_t = (1 − t) Q₀ + t Q₁ is not a gamma quantile"],
    )
    comparison = FakeComparison(conformal=False, same_geodesics=False)
    derivations = derive_all(
        family,
        fisher=fisher("gamma"),
        wasserstein=w2,
        closure=closure,
        comparison=comparison,
    )
    return derivations


def test_closure_comparison_and_integrals_are_shown(fisher):
    derivations = _gamma_with_everything(fisher)
    tex = render_report(derivations, "tex")
    md = render_report(derivations, "md")

    for text in (tex, md):
        assert "not closed under W2 geodesics" in text
        assert "\\theta_{0}" in text and "0.0032" in text
        assert "\\int\\limits_{0}^{\\infty}" in text
        assert "have no closed form" in text
        assert "same geodesic paths" in text


@cache
def _real_closures():
    """Closure sections with the closure module of this version (None when it
    has none): two certificates, one short and one long (the Gaussian's, with
    its square roots named), and two counterexamples, one with a long list of
    atoms. Each takes at most two seconds."""
    if symgeo.report._optional("closure", "w2_closure") is None:
        return None
    return {
        name: render_report(
            derive_all(
                load_family(name), fisher=False, wasserstein=False, comparison=False
            ),
            "tex",
        )
        for name in ("exponential", "bernoulli", "gaussian2d", "negative_binomial")
    }


def test_real_closure_verdicts_render():
    reports = _real_closures()
    if reports is None:
        pytest.skip("this version of symgeo has no closure module")

    assert "\\textbf{closed under W2 geodesics}" in reports["exponential"]
    assert "\\lambda(t) &= " in reports["exponential"]
    assert "\\lambda_{0}" in reports["exponential"]
    assert "not closed under W2 geodesics" in reports["bernoulli"]
    assert "\\theta_{0} &: p = " in reports["bernoulli"]

    gaussian = reports["gaussian2d"]
    assert "s_{11}(t) &= " in gaussian and "\\frac{" in gaussian
    assert "r_{1} &= \\sqrt{" in gaussian and "r_{2} &= \\sqrt{2 r_{1} + " in gaussian
    atoms = next(
        line for line in reports["negative_binomial"].splitlines() if "atoms" in line
    )
    assert "\\ldots) \\text{ (" in atoms and atoms.endswith("in all)}")
    assert len(atoms) < 200


def test_closure_and_comparison_display_in_terminal_and_notebook():
    closed = FakeClosure(True, "convex quantiles", certificate={"mu": "mu0 + t"})
    assert "closure under W2 geodesics: closed" in closure_text(closed)
    assert closure_latex(closed).startswith("$\\displaystyle")
    open_one = FakeClosure(None, "no decision")
    assert "undecided" in closure_text(open_one)
    text = comparison_text(FakeComparison(conformal=True, same_geodesics=False))
    assert "conformal" in text and "yes" in text and "no" in text


def test_metric_displays_as_mathematics_and_as_text(fisher):
    metric = fisher("gamma")
    assert "\\psi^{(1)}(k)" in metric._repr_latex_()
    assert metric._repr_latex_().startswith("$")
    assert "polygamma(1, k)" not in metric._repr_latex_()
    assert str(metric).startswith("Fisher metric of gamma in (k, b):")


def test_real_results_display_in_notebook_and_terminal(fisher):
    from symgeo import compare, wasserstein_metric
    from symgeo.closure import w2_closure

    closure = w2_closure(load_family("exponential"))
    assert repr(closure) == str(closure)
    assert str(closure).startswith("exponential: closed under W2 geodesics")
    notebook = closure._repr_latex_()
    assert (
        notebook.startswith("$\\displaystyle") and "\\mathtt{exponential}" in notebook
    )
    assert "\\lambda(t) &= \\frac{\\lambda_{0} \\lambda_{1}}" in notebook

    metric = fisher("normal")
    assert repr(metric) == str(metric)
    comparison = compare(
        metric, wasserstein_metric(load_family("normal"), verify=False)
    )
    assert repr(comparison) == str(comparison)
    assert "mu lines (sigma fixed) are W2 geodesics: yes" in str(comparison)
    notebook = comparison._repr_latex_()
    assert "g^{\\mathrm{W}} = f \\, g^{\\mathrm{F}}" in notebook
    assert (
        "\\mu \\text{ lines (} \\sigma \\text{ fixed) are W2 geodesics} &: \\text{yes}"
        in notebook
    )


def test_readme_report_excerpts_are_the_generated_text():
    """The README shows excerpts of a generated report, each marked with the file
    it comes from, which the README links; each is that file's text verbatim
    (``symgeo build --check`` keeps the file itself fresh)."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    excerpts = re.findall(
        r"<!-- excerpt of (\S+) -->\n(.*?)<!-- end of excerpt -->", readme, re.S
    )

    assert excerpts
    for path, text in excerpts:
        assert f"]({path})" in readme, f"the README does not link {path}"
        assert "\\psi^{(1)}(k)" in text or "\\Gamma^{k}_{kb}" in text
        assert text in (root / path).read_text(encoding="utf-8"), path


# -- determinism, files, command line --------------------------------------------------


def test_report_is_deterministic(fisher):
    """Same bytes in-process and from the CLI under another hash seed (Weibull:
    closed forms in both metrics, a counterexample, a symbolic comparison)."""
    derivations = derive_all(load_family("weibull"), fisher=fisher("weibull"))
    first = render_report(derivations, "md")
    assert render_report(derivations, "md") == first

    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    for fmt in ("md", "tex"):
        out = Path(os.environ.get("TMPDIR", "/tmp")) / f"symgeo-determinism.{fmt}"
        subprocess.run(
            [sys.executable, "-m", "symgeo.cli", "report", "weibull", "-o", str(out)],
            check=True,
            env=env,
            capture_output=True,
        )
        again = derive_all(load_family("weibull"), fisher=fisher("weibull"))
        assert out.read_bytes() == render_report(again, fmt).encode()
        out.unlink()


def test_write_reports_writes_both_formats(tmp_path, fisher):
    from symgeo import write_reports

    derivations = derive_all(load_family("exponential"), fisher=fisher("exponential"))
    paths = write_reports(derivations.family, tmp_path / "exponential", derivations)

    assert [p.name for p in paths] == ["report.tex", "report.md"]
    assert paths[0].read_text().startswith("\\documentclass")
    assert "$$" in paths[1].read_text()


def test_report_format_comes_from_the_suffix():
    assert report_format("a/b.TEX") == "tex"
    with pytest.raises(SymgeoError, match="ending in .tex or .md"):
        report_format("gamma.pdf")


def test_cli_report(tmp_path, capsys):
    from symgeo.cli import main

    assert main(["report", "exponential", "-o", str(tmp_path / "e.md")]) == 0
    assert "\\lambda" in (tmp_path / "e.md").read_text()
    assert main(["report", "exponential", "-o", str(tmp_path / "e.pdf")]) == 2
    assert "ending in .tex or .md" in capsys.readouterr().err


# -- compiling -------------------------------------------------------------------------


@needs_pdflatex
def test_whole_catalog_compiles_with_pdflatex(tmp_path, reports, fisher, monkeypatch):
    documents = {name: tex for name, (tex, _) in reports.items()}
    documents["gamma-everything"] = render_report(_gamma_with_everything(fisher), "tex")
    documents["bernoulli-no-w2"] = render_report(
        _bernoulli_without_w2(monkeypatch, fisher), "tex"
    )
    for name, tex in (_real_closures() or {}).items():
        documents[f"{name}-closure"] = tex
    for name, tex in documents.items():
        (tmp_path / f"{name}.tex").write_text(tex)

    with ThreadPoolExecutor(2) as pool:
        results = dict(
            zip(
                documents,
                pool.map(lambda n: compile_latex(tmp_path, n), documents),
                strict=True,
            )
        )

    overfull = {}
    for name, (status, log) in results.items():
        errors = [line for line in log.splitlines() if line.startswith("!")]
        assert status == 0 and not errors, f"{name}.tex: {errors[:3]}"
        assert (tmp_path / f"{name}.pdf").exists()
        overfull[name] = log.count("Overfull \\hbox")
    assert sum(overfull.values()) <= OVERFULL_ALLOWED, overfull

"""Generated kernels: numpy against the mpmath twins, against independent values,
and the calling conventions (shapes, broadcasting, out=, domain errors).

The catalog-wide checks run on the modules in ``generated/`` (what users get);
tests/test_build.py checks that those files match the present code and specs.
The other tests derive a few metrics in memory (cached for the session).
"""

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scipy.linalg
import sympy as sp

from symgeo import Family, Metric, fisher_metric, load_family
from symgeo.catalog import builtin_names
from symgeo.codegen import compiled_kernels, verify_kernels
from symgeo.codegen.crosscheck import compare_kernels, verification_points
from symgeo.codegen.load import module_from_source

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated"
REFERENCE = Path("/work/shared/reference/fisher_catalog.json")
METRICS = ("fisher", "wasserstein")
# The one skip the build may record for a Wasserstein metric: it does not exist.
ACCEPTED_SKIPS = ("metric not defined",)


@cache
def wasserstein(name):
    from symgeo.wasserstein import wasserstein_metric

    return wasserstein_metric(load_family(name))


@cache
def generated_modules(name, kind):
    """The numpy and mpmath modules of ``generated/<name>/`` (from the files)."""
    folder = GENERATED / name
    return tuple(
        module_from_source(
            (folder / f"{kind}_{target}.py").read_text(encoding="utf-8"),
            f"generated.{name}.{kind}_{target}",
        )
        for target in ("numpy", "mpmath")
    )


def manifest(name):
    return json.loads((GENERATED / name / "manifest.json").read_text(encoding="utf-8"))


# -- every catalog family, both metrics, from generated/ ------------------------


@pytest.mark.parametrize("kind", METRICS)
@pytest.mark.parametrize("name", builtin_names())
def test_generated_kernels_match_their_mpmath_twins(name, kind):
    """Every kernel (metric, inverse_metric, christoffel, geodesic_rhs,
    scalar_curvature) against the 30-digit twin, to 1e-12 relative to the
    natural scale at typical points; boundary errors are measured and must be
    the ones the manifest reports."""
    entry = manifest(name)["metrics"].get(kind)
    assert entry is not None, f"generated/{name}/manifest.json has no {kind} entry"
    if entry["status"] == "skipped":
        assert kind == "wasserstein", f"{name}: {entry['reason']}"
        assert entry["reason"].startswith(ACCEPTED_SKIPS), entry["reason"]
        return
    numpy_module, mpmath_module = generated_modules(name, kind)
    family = load_family(name)
    symbols = dict(zip(family.names, family.symbols, strict=True))
    region = sp.S(sp.sympify(numpy_module.REGION, locals=symbols))
    if getattr(numpy_module, "METHOD", "") == "quantile embedding":
        # the twin takes seconds per point: one typical point here, the build
        # checked three of each kind (recorded in the manifest, asserted below)
        typical, _ = verification_points(family, 1, seed=7)
        record = compare_kernels(numpy_module, mpmath_module, family, typical)
    else:
        record = compare_kernels(
            numpy_module, mpmath_module, family, count=4, seed=7, region=region
        )
    assert set(record.typical) == {
        "metric",
        "inverse_metric",
        "christoffel",
        "geodesic_rhs",
        "scalar_curvature",
    }
    assert record.worst_typical <= 1e-12, record.typical
    reported = entry["kernels"]["verification"]
    assert reported["passed"] and reported["tolerance"] == 1e-12
    assert set(reported["worst_relative_error"]) == set(record.typical)


def _reference_cases():
    cases = json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]
    names = builtin_names()
    for case in cases:
        label = case["family"].split(" (")[0].replace(" ", "_").replace("-", "_")
        name = max((n for n in names if label.startswith(n)), key=len)
        yield pytest.param(name, case["at"], case["fisher"], id=f"{name}-{case['at']}")


@pytest.mark.parametrize(("name", "at", "expected"), list(_reference_cases()))
def test_generated_fisher_kernels_match_reference_quadrature(name, at, expected):
    """shared/reference/fisher_catalog.json: E[score_i score_j] by mpmath
    quadrature at 25 digits, independent of any closed form (rtol 1e-8 as its
    README states)."""
    numpy_module, _ = generated_modules(name, "fisher")
    np.testing.assert_allclose(
        numpy_module.metric(*at),
        expected,
        rtol=1e-8,
        atol=1e-14 * np.abs(expected).max(),
    )


def test_generated_modules_import_only_numpy_and_scipy_special():
    for path in sorted(GENERATED.glob("*/*_numpy.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
        assert imported <= {"numpy", "scipy.special"}, (path, imported)


def test_generated_module_runs_alone_in_an_empty_folder(tmp_path):
    """Copied out of the repository, with sympy, mpmath and symgeo made
    unimportable, the gamma kernel imports and evaluates."""
    source = GENERATED / "gamma" / "fisher_numpy.py"
    (tmp_path / "gamma_fisher.py").write_text(source.read_text(encoding="utf-8"))
    script = (
        "import sys\n"
        "sys.path.insert(0, '.')\n"
        "for blocked in ('sympy', 'mpmath', 'symgeo', 'jinja2'):\n"
        "    sys.modules[blocked] = None\n"
        "import gamma_fisher\n"
        "print(gamma_fisher.christoffel([1.5, 3.0], 2.0).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 2, 2, 2)"


# -- independent values -----------------------------------------------------------


def test_normal_fisher_kernels_match_the_hyperbolic_half_plane(fisher):
    """Normal (mu, sigma): g = diag(1, 2)/sigma^2, Gamma^mu_{mu sigma} = -1/sigma,
    Gamma^sigma_{mu mu} = 1/(2 sigma), Gamma^sigma_{sigma sigma} = -1/sigma, and
    Gaussian curvature -1/2, so R = -1 (Amari and Nagaoka 2000, section 2.3;
    Costa, Santos and Strapasson, Discrete Appl. Math. 197 (2015) 59-69)."""
    kernels = fisher("normal").kernel("numpy")
    mu, sigma = np.array([-1.0, 0.0, 2.5]), np.array([0.3, 1.0, 7.0])
    g = kernels.metric(mu, sigma)
    np.testing.assert_allclose(g[:, 0, 0], 1 / sigma**2, rtol=1e-15)
    np.testing.assert_allclose(g[:, 1, 1], 2 / sigma**2, rtol=1e-15)
    assert np.all(g[:, 0, 1] == 0) and np.all(g[:, 1, 0] == 0)

    gamma = kernels.christoffel(mu, sigma)
    expected = np.zeros((3, 2, 2, 2))
    expected[:, 0, 0, 1] = expected[:, 0, 1, 0] = -1 / sigma
    expected[:, 1, 0, 0] = 1 / (2 * sigma)
    expected[:, 1, 1, 1] = -1 / sigma
    np.testing.assert_allclose(gamma, expected, rtol=1e-15, atol=0)
    np.testing.assert_allclose(kernels.scalar_curvature(mu, sigma), -1.0, rtol=1e-15)


def test_gamma_fisher_kernel_is_stable_for_large_shape(fisher):
    """Gamma (k, b): det g = (k psi1(k) - 1)/b^2 cancels for large k; with the
    stable rewrite the kernels agree with the 30-digit twin at k = 1e3 .. 1e7,
    and g matches [[psi1(k), -1/b], [-1/b, k/b^2]] (shared/reference README)."""
    metric = fisher("gamma")
    k = np.array([1e3, 1e5, 1e7])
    b = np.array([0.5, 1.0, 4.0])
    points = [{"k": float(a), "b": float(c)} for a, c in zip(k, b, strict=True)]
    record = verify_kernels(metric, (points, []))
    assert record.worst_typical <= 1e-12, record.typical

    g_inv = metric.kernel("numpy").inverse_metric(k, b)
    with mpmath.workdps(40):
        for index, (a, c) in enumerate(zip(k, b, strict=True)):
            a, c = mpmath.mpf(a), mpmath.mpf(c)
            g = mpmath.matrix([[mpmath.psi(1, a), -1 / c], [-1 / c, a / c**2]])
            exact = g**-1
            for i in range(2):
                for j in range(2):
                    assert abs(g_inv[index, i, j] - exact[i, j]) <= 1e-12 * abs(
                        mpmath.sqrt(exact[i, i] * exact[j, j])
                    )


def test_boundary_errors_are_measured_and_located(fisher):
    record = verify_kernels(fisher("beta"), count=4)
    assert record.passed
    assert len(record.boundary_points) == 4
    assert set(record.worst_boundary_point) == set(record.boundary)
    report = record.as_dict()
    assert set(report["worst_relative_error"]["christoffel"]) == {"typical", "boundary"}


def test_a_kernel_without_digits_at_the_boundary_fails_the_check(truncated_exponential):
    """Exponential truncated to [0, 1]: g = 1/λ² − e^λ/(e^λ − 1)² (differentiate
    log p twice), which cancels to nothing near λ = 0 and overflows to nan at
    large λ in double precision; the check must fail and say where."""
    family = truncated_exponential
    metric = fisher_metric(family)
    lam = sp.Symbol("lam", positive=True)
    exact = 1 / lam**2 - sp.exp(lam) / (sp.exp(lam) - 1) ** 2
    assert sp.simplify(metric.matrix[0, 0] - exact) == 0
    points = [{"lam": 0.5}, {"lam": 2.0}], [{"lam": 1e-5}, {"lam": 1e4}]
    record = verify_kernels(metric, points)
    assert record.typical["metric"] < 1e-12
    assert not record.passed
    assert any(
        "metric has relative error" in f and "lam=" in f for f in record.failures
    )
    assert record.as_dict()["passed"] is False


def test_a_removable_singularity_inside_the_domain_is_checked_beside_it():
    """(1 + a x)/2 on [-1, 1]: g = (log((1 + a)/(1 − a)) − 2a)/(2a³) → 1/3 at
    a = 0 (expand the logarithm), a 0/0 inside the domain that double
    precision cannot resolve nearby; typical points alone would pass."""
    family = Family.continuous("(1 + a*x)/2", "x", ("-1", "1"), {"a": "(-1, 1)"})
    metric = fisher_metric(family)
    record = verify_kernels(metric, count=4)
    assert not record.passed
    assert any("a=1e-06" in f or "a=-1e-06" in f for f in record.failures)
    assert float(metric.evaluate({"a": 0.0})[0, 0]) == pytest.approx(1 / 3, 1e-15)


def test_geodesic_rhs_may_write_into_its_own_input(fisher):
    kernels = fisher("gamma").kernel("numpy")
    y = np.array([[1.5, 2.0, 0.3, -0.7], [0.2, 5.0, 1.0, 1.0]])
    expected = kernels.geodesic_rhs(0.0, y)
    assert kernels.geodesic_rhs(0.0, y, out=y) is y
    np.testing.assert_array_equal(y, expected)


def test_values_outside_the_double_range_are_counted_not_reported_as_errors():
    """Lognormal W2: g = e^{2μ+2σ²} [[1, 2σ], [2σ, 1 + 4σ²]] (Gaussian moments of
    Q = e^{μ+σz}), so g overflows a double at μ = 400 and g^-1 does at μ = -400,
    while Γ (of order one: Γ^μ_μμ = 1, Γ^μ_σσ = 1 − 4σ²) stays exact in double."""
    points = [{"mu": m, "sigma": 0.5} for m in (-400.0, -30.0, 400.0)]
    record = verify_kernels(wasserstein("lognormal"), ([], points))
    assert record.outside_double_range == {"metric": 2, "inverse_metric": 2}
    assert record.boundary["christoffel"] < 1e-15
    assert record.boundary["metric"] < 1e-14
    assert record.worst_boundary_point["metric"] == points[1]
    assert record.as_dict()["boundary_points_outside_double_range"] == {
        "inverse_metric": 2,
        "metric": 2,
    }


def test_exponential_wasserstein_kernels_match_the_quantile_integral():
    """Exponential rate lam: Q(u) = -log(1 - u)/lam, so g = int_0^1 (dQ/dlam)^2 du
    = 2/lam^4 (mpmath quadrature here), Gamma = g'/(2g) = -2/lam."""
    kernels = wasserstein("exponential").kernel("numpy")
    lam = np.array([0.25, 1.0, 3.0])
    with mpmath.workdps(30):
        squared = mpmath.quad(lambda u: mpmath.log(1 - u) ** 2, [0, 1])
        exact = [squared / mpmath.mpf(a) ** 4 for a in lam]
    np.testing.assert_allclose(
        kernels.metric(lam)[:, 0, 0], np.array(exact, float), rtol=1e-14
    )
    np.testing.assert_allclose(
        kernels.christoffel(lam)[:, 0, 0, 0], -2 / lam, rtol=1e-15
    )


def test_gaussian2d_wasserstein_kernel_matches_a_lyapunov_solve():
    """Bures-Wasserstein: g(dS, dS) = tr(X S X) with X S + S X = dS, solved by
    scipy.linalg.solve_continuous_lyapunov (Takatsu 2011; Bhatia, Jain and Lim
    2019), for the covariance coordinates (s11, s12, s22)."""
    metric = wasserstein("gaussian2d")
    names = metric.family.names
    point = {"mu1": 0.3, "mu2": -1.0, "s11": 2.0, "s12": 0.7, "s22": 1.5}
    g = metric.kernel("numpy").metric(*[point[n] for n in names])
    cov = np.array([[point["s11"], point["s12"]], [point["s12"], point["s22"]]])
    directions = {
        "s11": np.array([[1.0, 0], [0, 0]]),
        "s12": np.array([[0, 1.0], [1.0, 0]]),
        "s22": np.array([[0, 0], [0, 1.0]]),
    }
    for a, da in directions.items():
        for b, db in directions.items():
            xa = scipy.linalg.solve_continuous_lyapunov(cov, da)
            xb = scipy.linalg.solve_continuous_lyapunov(cov, db)
            expected = np.trace(xa @ cov @ xb)
            value = g[names.index(a), names.index(b)]
            assert value == pytest.approx(expected, rel=1e-13, abs=1e-15)
    np.testing.assert_array_equal(g[:2, :2], np.eye(2))


def test_pareto_wasserstein_kernel_is_limited_to_its_finite_region():
    """Pareto (x_m = 1): Q = (1 - u)^(-1/alpha), g = int_0^1 (dQ/dalpha)^2 du,
    finite only for alpha > 2; the kernels raise ValueError outside."""
    metric = wasserstein("pareto")
    kernels = metric.kernel("numpy")
    alpha = np.array([2.5, 4.0, 30.0])
    with mpmath.workdps(30):
        exact = [
            mpmath.quad(
                lambda s, a=a: s**2 * mpmath.exp(-s * (1 - 2 / mpmath.mpf(a))) / a**4,
                [0, mpmath.inf],
            )
            for a in alpha
        ]
    np.testing.assert_allclose(
        kernels.metric(alpha)[:, 0, 0], np.array(exact, float), rtol=1e-13
    )
    for module in (kernels, metric.kernel("mpmath")):
        with pytest.raises(
            ValueError,
            match=r"parameter 'alpha' = 1\.5 is outside the region alpha > 2",
        ):
            module.christoffel(1.5)
    assert verify_kernels(metric, count=4).passed


def test_integral_entries_use_gauss_legendre_quadrature():
    """An entry left as an integral, int_0^oo x e^(-lam x) dx = 1/lam^2, by the
    96-point rule in numpy and adaptive quadrature in the twin."""
    family = load_family("exponential")
    (lam,) = family.symbols
    x = sp.Symbol("x", positive=True)
    entry = sp.Integral(x * sp.exp(-lam * x), (x, 0, sp.oo))
    metric = Metric(family, "fisher", sp.Matrix([[entry]]))
    kernels = compiled_kernels(metric)
    values = np.array([0.5, 1.0, 2.0])
    assert "_GL_W" in kernels["numpy"].__dict__
    np.testing.assert_allclose(
        kernels["numpy"].metric(values)[:, 0, 0], 1 / values**2, rtol=1e-12
    )
    np.testing.assert_allclose(
        kernels["numpy"].christoffel(values)[:, 0, 0, 0], -1 / values, rtol=1e-12
    )
    twin = kernels["mpmath"].metric(values)
    np.testing.assert_allclose(
        np.array(twin[:, 0, 0], float), 1 / values**2, rtol=1e-15
    )


# -- calling conventions ----------------------------------------------------------


def test_parameters_broadcast_like_numpy_arguments(fisher):
    kernels = fisher("gaussian2d").kernel("numpy")
    names = fisher("gaussian2d").family.names
    values = {
        "mu1": np.zeros((3, 1)),
        "mu2": 0.5,
        "s11": np.full(4, 2.0),
        "s12": 0.3,
        "s22": 1.0,
    }
    args = [values[n] for n in names]
    assert kernels.metric(*args).shape == (3, 4, 5, 5)
    assert kernels.inverse_metric(*args).shape == (3, 4, 5, 5)
    assert kernels.christoffel(*args).shape == (3, 4, 5, 5, 5)
    assert kernels.scalar_curvature(*args).shape == (3, 4)
    assert kernels.metric(*[float(np.ravel(a)[0]) for a in args]).shape == (5, 5)
    states = np.zeros((2, 3, 10))
    states[..., 2], states[..., 3], states[..., 4], states[..., 5] = 2.0, 0.3, 1.0, 1.0
    assert kernels.geodesic_rhs(0.0, states).shape == (2, 3, 10)


def test_large_batches_equal_pointwise_values(fisher):
    """The blocked loop over big batches gives the values of small calls, to
    rounding: ψ₁ and ψ₂ come from a series on large batches and from scipy's
    zeta on small ones (both within 1e-15 of the exact value)."""
    kernels = fisher("gamma").kernel("numpy")
    rng = np.random.default_rng(3)
    k, b = rng.uniform(0.2, 30, 40000), rng.uniform(0.1, 5, 40000)
    big = kernels.christoffel(k, b)
    for index in (0, 16383, 16384, 39999):
        np.testing.assert_allclose(
            big[index], kernels.christoffel(k[index], b[index]), rtol=4e-15, atol=0
        )


def test_series_zeta_of_large_batches_matches_mpmath(fisher):
    """ζ(2, x) = ψ₁(x) and ζ(3, x) = −ψ₂(x)/2 of the kernel's helper on a batch
    large enough for its series, against mpmath at 30 digits, x in [1e-3, 1e6]."""
    helper = fisher("gamma").kernel("numpy")._hurwitz_zeta
    x = np.exp(np.random.default_rng(5).uniform(np.log(1e-3), np.log(1e6), 300))
    for s in (2.0, 3.0):
        with mpmath.workdps(30):
            exact = np.array([float(mpmath.zeta(s, v)) for v in x])
        assert np.max(np.abs(helper(s, x) - exact) / exact) < 2e-15


def test_out_buffers_are_filled_and_returned(fisher):
    kernels = fisher("gamma").kernel("numpy")
    k, b = np.array([0.5, 2.0, 9.0]), np.array([1.0, 3.0, 0.2])
    out = np.full((3, 2, 2, 2), np.nan)
    assert kernels.christoffel(k, b, out=out) is out
    np.testing.assert_array_equal(out, kernels.christoffel(k, b))
    kernels.christoffel(k[::-1], b[::-1], out=out)
    np.testing.assert_array_equal(out[0], kernels.christoffel(k[2], b[2]))
    with pytest.raises(ValueError, match=r"out has shape \(2, 2\)"):
        kernels.metric(k, b, out=np.empty((2, 2)))


def test_constant_components_fill_the_array():
    """Normal W2 metric is the identity: every entry constant, yet the result
    has the batch shape (the lambdify trap returns a bare scalar)."""
    kernels = wasserstein("normal").kernel("numpy")
    g = kernels.metric(np.zeros(4), np.linspace(1, 2, 4))
    assert g.shape == (4, 2, 2)
    np.testing.assert_array_equal(g, np.broadcast_to(np.eye(2), (4, 2, 2)))
    gamma = kernels.christoffel(np.zeros(4), np.ones(4))
    assert gamma.shape == (4, 2, 2, 2) and not gamma.any()
    assert kernels.scalar_curvature(np.zeros(4), np.ones(4)).shape == (4,)


def test_out_of_domain_raises_value_error_naming_the_parameter(fisher):
    metric = fisher("normal")
    message = r"parameter 'sigma' = -1\.0 is outside its domain \(0, oo\)"
    with pytest.raises(ValueError, match=message):
        metric.kernel("numpy").metric([0.0, 1.0], [2.0, -1.0])
    with pytest.raises(
        ValueError, match=r"parameter 'sigma' = -1(\.0)? is outside its domain"
    ):
        metric.kernel("mpmath").metric(0.0, -1.0)
    with pytest.raises(ValueError, match=r"parameter 'p' = 1\.5 is outside its domain"):
        fisher("bernoulli").kernel("numpy").christoffel(1.5)
    with pytest.raises(ValueError, match=message):
        metric.kernel("numpy").geodesic_rhs(0.0, [0.0, -1.0, 1.0, 1.0])
    unchecked = metric.kernel("numpy").metric_unchecked(0.0, np.nan)
    assert np.isnan(np.diag(unchecked)).all() and unchecked[0, 1] == 0


def test_kernel_modules_are_compiled_once(fisher):
    metric = fisher("exponential")
    assert metric.kernel() is metric.kernel("numpy")
    assert metric.kernel("mpmath").DIGITS == 30


def test_mpmath_twin_keeps_rational_constants_exact(fisher):
    """The twin writes 1/2 as mpf(1)/2, never a float: at 50 digits the
    normal Gamma^sigma_{mu mu} = 1/(2 sigma) is exact to 50 digits."""
    twin = fisher("normal").kernel("mpmath")
    with mpmath.workdps(50):
        value = twin.christoffel(0, mpmath.mpf(3), dps=50)[1, 0, 0]
        assert abs(value - mpmath.mpf(1) / 6) < mpmath.mpf(10) ** -49


def test_verification_points_respect_domains_and_region(fisher):
    family = load_family("pareto")
    alpha = family.symbols[0]
    typical, boundary = verification_points(family, 5, region=alpha > 2)
    assert all(p["alpha"] > 2 for p in typical + boundary)
    assert len(typical) == 5 and boundary

"""Geodesics: closed forms, shooting, the independent reference, W2 gaps, CLI.

Each test states its tolerance and where its expected value comes from.
"""

import json

import numpy as np
import pytest

from symgeo import Family, fisher_metric, load_family, wasserstein_metric
from symgeo.cli import main
from symgeo.closed_forms import match_closed_form
from symgeo.geodesics import (
    GeodesicError,
    distance,
    distance_solution,
    exp_map,
    geodesic,
    integrate_groups,
    log_map,
    solve_log,
    solve_log_bvp,
    wasserstein_distances,
)

RNG = np.random.default_rng(20240605)


def relative(x, y):
    return np.abs(np.asarray(x) - np.asarray(y)) / np.abs(np.asarray(y))


def test_normal_distance_matches_the_quoted_value(fisher):
    # Value from the issue: sqrt(2) arccosh(1 + (2 + 1) / 4) for N(1, 2), N(3, 1).
    d = distance(fisher("normal"), [1.0, 2.0], [3.0, 1.0])
    assert relative(d, 1.6388053279384853) < 1e-12


def test_closed_forms_match_their_formulas_at_random_points(fisher):
    # Each formula written out independently here; tolerance 1e-9 relative.
    mu, sigma = RNG.normal(size=(2, 20)), RNG.uniform(0.2, 5, (2, 20))
    a, b = np.stack([mu[0], sigma[0]], 1), np.stack([mu[1], sigma[1]], 1)
    x = ((mu[0] - mu[1]) ** 2 / 2 + (sigma[0] - sigma[1]) ** 2) / (
        2 * sigma[0] * sigma[1]
    )
    assert (
        relative(distance(fisher("normal"), a, b), np.sqrt(2) * np.arccosh(1 + x)).max()
        < 1e-9
    )

    lam = RNG.uniform(0.01, 100, (2, 20))
    d = distance(fisher("exponential"), lam[0, :, None], lam[1, :, None])
    assert relative(d, np.abs(np.log(lam[1] / lam[0]))).max() < 1e-9
    d = distance(fisher("poisson"), lam[0, :, None], lam[1, :, None])
    assert relative(d, 2 * np.abs(np.sqrt(lam[1]) - np.sqrt(lam[0]))).max() < 1e-9

    p, q = RNG.uniform(0.01, 0.99, (2, 20))
    expected = 2 * np.arccos(np.sqrt(p * q) + np.sqrt((1 - p) * (1 - q)))
    d = distance(fisher("bernoulli"), p[:, None], q[:, None])
    assert relative(d, expected).max() < 1e-9

    simplex = RNG.dirichlet([1, 1, 1], size=(2, 20))
    expected = 2 * np.arccos(np.sum(np.sqrt(simplex[0] * simplex[1]), axis=1))
    d = distance(fisher("categorical"), simplex[0][:, :2], simplex[1][:, :2])
    assert relative(d, expected).max() < 1e-9


def test_closed_forms_are_recognised_by_the_matrix_not_the_name():
    # A normal family under another name gets the hyperbolic form; a family
    # named "normal" with a Laplace density does not.
    renamed = Family.from_spec(
        {
            "name": "bell",
            "variable": "y",
            "support": ["-oo", "oo"],
            "density": "exp(-(y - m)**2 / (2 * s**2)) / (sqrt(2 * pi) * s)",
            "parameters": {"m": "real", "s": "positive"},
        }
    )
    assert match_closed_form(fisher_metric(renamed)).name == "hyperbolic"
    impostor = Family.from_spec(
        {
            "name": "normal",
            "variable": "x",
            "support": ["-oo", "oo"],
            "density": "exp(-Abs(x - mu) / sigma) / (2 * sigma)",
            "parameters": {"mu": "real", "sigma": "positive"},
        }
    )
    form = match_closed_form(fisher_metric(impostor))
    assert form is None or form.name != "hyperbolic"


def test_gaussian_closed_forms_match_their_formulas():
    # Mahalanobis, sqrt(sum log^2 l / 2) and the Bures formula, written out here.
    fixed_cov = Family.from_spec(
        {
            "name": "m2",
            "kind": "gaussian",
            "dimension": 2,
            "mean": "free",
            "covariance": "fixed",
            "fixed": {"covariance": [[2, 1], [1, 3]]},
        }
    )
    a, b = RNG.normal(size=(2, 2))
    d = distance(fisher_metric(fixed_cov), a, b)
    inverse = np.linalg.inv([[2.0, 1.0], [1.0, 3.0]])
    assert relative(d, np.sqrt((a - b) @ inverse @ (a - b))) < 1e-9

    fixed_mean = Family.from_spec(
        {
            "name": "s2",
            "kind": "gaussian",
            "dimension": 2,
            "mean": "fixed",
            "covariance": "full",
            "fixed": {"mean": [0, 0]},
        }
    )
    s0, s1 = np.array([[2.0, 0.3], [0.3, 1.0]]), np.array([[0.5, -0.2], [-0.2, 4.0]])
    points = [[s0[0, 0], s0[0, 1], s0[1, 1]], [s1[0, 0], s1[0, 1], s1[1, 1]]]
    ell = np.linalg.eigvals(np.linalg.solve(s0, s1)).real
    d = distance(fisher_metric(fixed_mean), *points)
    assert relative(d, np.sqrt(np.sum(np.log(ell) ** 2) / 2)) < 1e-9

    full = Family.from_spec(
        {
            "name": "g2",
            "kind": "gaussian",
            "dimension": 2,
            "mean": "free",
            "covariance": "full",
        }
    )
    m0, m1 = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    w, v = np.linalg.eigh(s0)
    root = v @ np.diag(np.sqrt(w)) @ v.T
    w, v = np.linalg.eigh(root @ s1 @ root)
    cross = v @ np.diag(np.sqrt(w)) @ v.T
    expected = np.sqrt(np.sum((m0 - m1) ** 2) + np.trace(s0 + s1 - 2 * cross))
    d = distance(wasserstein_metric(full), [*m0, *points[0]], [*m1, *points[1]])
    assert relative(d, expected) < 1e-9


def test_shooting_agrees_with_the_closed_forms(fisher):
    # The numeric path (method="shooting") against the closed forms, 1e-9 relative.
    mu, sigma = RNG.normal(0, 3, (2, 12)), np.exp(RNG.normal(0, 1.5, (2, 12)))
    a, b = np.stack([mu[0], sigma[0]], 1), np.stack([mu[1], sigma[1]], 1)
    g = fisher("normal")
    shot = distance(g, a, b, method="shooting")
    assert relative(shot, distance(g, a, b, method="closed form")).max() < 1e-9
    for name in ("exponential", "poisson"):
        g = fisher(name)
        lam = RNG.uniform(0.05, 50, (2, 6, 1))
        shot = distance(g, lam[0], lam[1], method="shooting")
        assert relative(shot, distance(g, lam[0], lam[1])).max() < 1e-9


def test_exp_map_follows_the_closed_form_normal_geodesics(fisher):
    # In x = mu / sqrt(2) the normal Fisher metric is 2 (dx² + dσ²) / σ², whose
    # geodesics are x = c + r tanh τ, σ = r sech τ with τ' = w constant.
    c, r = RNG.normal(size=8), RNG.uniform(0.3, 3, 8)
    tau, w = RNG.uniform(-2, 2, 8), RNG.uniform(-2, 2, 8)
    base = np.stack([np.sqrt(2) * (c + r * np.tanh(tau)), r / np.cosh(tau)], 1)
    velocity = np.stack(
        [np.sqrt(2) * r * w / np.cosh(tau) ** 2, -r * w * np.tanh(tau) / np.cosh(tau)],
        1,
    )
    end = np.stack([np.sqrt(2) * (c + r * np.tanh(tau + w)), r / np.cosh(tau + w)], 1)
    assert relative(exp_map(fisher("normal"), base, velocity), end).max() < 1e-10


def test_integrate_groups_controls_each_group_on_its_own():
    # y' = λ y, groups of 1 and 2 rows with rates 1 to 30 and their own
    # tolerances; each end within 100 times its tolerance of exp(λ), relative.
    rates = np.array([1.0, 30.0, 30.0, 5.0, 5.0])
    group = np.array([0, 1, 1, 2, 2])
    tolerance = np.array([1e-6, 1e-12, 1e-9])
    end, failed, _, steps = integrate_groups(
        lambda y, rows: rates[rows, None] * y,
        np.ones((5, 1)),
        1.0,
        group=group,
        atol=tolerance,
        rtol=tolerance,
        h0=np.full(3, 0.1),
        max_steps=1000,
    )
    assert not failed.any() and steps[0] < steps[1]
    assert (relative(end[:, 0], np.exp(rates)) < 100 * tolerance[group]).all()


def test_log_map_inverts_the_exp_map_on_gamma(fisher):
    # exp_a(log_a(b)) = b; tolerance 1e-9 relative to b.
    g = fisher("gamma")
    a = np.array([[0.3, 2.0], [5.0, 0.1]])
    b = np.array([[4.0, 0.5], [0.7, 3.0]])
    assert relative(exp_map(g, a, log_map(g, a, b)), b).max() < 1e-9


@pytest.mark.parametrize(
    "name, a, b",
    [
        # small shapes, large shapes, rates 6 decades apart
        (
            "gamma",
            [[0.05, 0.1], [50.0, 0.5], [2.0, 1e-3]],
            [[0.2, 30.0], [80.0, 2.0], [3.0, 1e3]],
        ),
        # small shapes, large shapes, and a geodesic far from the straight line
        (
            "beta",
            [[0.05, 0.2], [50.0, 80.0], [0.1, 60.0]],
            [[0.1, 0.05], [60.0, 55.0], [70.0, 0.15]],
        ),
    ],
)
def test_gamma_and_beta_agree_with_an_independent_reference(fisher, name, a, b):
    # Reference: scipy solve_bvp on the lambdified SymPy Christoffel symbols (no
    # generated code, no shooting); tolerance 1e-9 relative.
    g = fisher(name)
    shot = solve_log(g, a, b)
    reference = solve_log_bvp(g, a, b, tol=1e-9, independent=True)
    assert relative(shot.distance, reference.distance).max() < 1e-9
    assert (shot.estimated_error < 1e-9 * shot.distance).all()


def test_a_tiny_step_budget_raises_geodesic_error(fisher):
    # Three DOP853 steps cannot cross a segment at the log map's tolerance, and
    # without the fallbacks (finer discrete geodesic, solve_bvp) the pair must
    # fail loudly, not return a number.
    with pytest.raises(
        GeodesicError, match="no geodesic of the Fisher metric of gamma"
    ):
        solve_log(fisher("gamma"), [1.0, 1.0], [5.0, 0.2], max_steps=3, fallback=False)


def test_w2_intrinsic_equals_extrinsic_for_closed_families():
    # Exponential and normal are closed: pullback distance = W2 to 1e-9 relative.
    for name, a, b in (
        ("exponential", [0.5], [4.0]),
        ("normal", [0.0, 1.0], [3.0, 2.5]),
    ):
        family = load_family(name)
        result = wasserstein_distances(family, a, b, metric=wasserstein_metric(family))
        assert abs(result.gap) < 1e-9 * result.extrinsic


def test_w2_intrinsic_exceeds_extrinsic_for_lognormal():
    # The discrete geodesic's polygon length is a lower bound of the intrinsic
    # distance and above W2 in the same rule; the gap must exceed its error.
    result = wasserstein_distances(load_family("lognormal"), [0.0, 0.5], [0.0, 1.5])
    assert result.gap > 10 * result.intrinsic_error
    assert result.intrinsic > result.extrinsic


def test_geodesic_path_ends_at_both_points(fisher):
    # The normal geodesic from (0, 1) to (3, 1) bows up in sigma (half circle).
    path = geodesic(fisher("normal"), [0.0, 1.0], [3.0, 1.0], steps=4)
    assert path.shape == (5, 2) and path[2, 1] > 1.3


def test_cli_distance_json(capsys):
    # Same quoted value as above, through the command line.
    code = main(
        [
            "distance",
            "normal",
            "--metric",
            "fisher",
            "--from",
            "mu=1,sigma=2",
            "--to",
            "mu=3,sigma=1",
            "--json",
        ]
    )
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["family"] == "normal" and record["metric"] == "fisher"
    assert relative(record["distance"], 1.6388053279384853) < 1e-12
    assert "closed form" in record["method"] and record["estimated_error"] < 1e-12


def test_cli_geodesic_prints_the_path_and_plots(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "normal.png"
    code = main(
        [
            "geodesic",
            "normal",
            "--metric",
            "all",
            "--from",
            "mu=0,sigma=1",
            "--to",
            "mu=3,sigma=1",
            "--steps",
            "4",
            "--plot",
            str(figure),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "Fisher metric" in out and "Wasserstein-2 metric" in out
    assert figure.stat().st_size > 10_000


def test_distance_solution_reports_the_method(fisher):
    solution = distance_solution(fisher("gamma"), [1.0, 1.0], [2.0, 3.0])
    assert "shooting" in solution.method
    assert solution.estimated_error < 1e-10


@pytest.mark.parametrize("steps", ["-2", "0", "two"])
def test_cli_geodesic_rejects_fewer_than_one_step(capsys, steps):
    argv = ["geodesic", "normal", "--from", "mu=0,sigma=1", "--to", "mu=1,sigma=1"]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--steps", steps])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "--steps" in err and "at least 1" in err and "Traceback" not in err


def _w2_distance_json(capsys, family, start, end):
    argv = ["distance", family, "--metric", "wasserstein", "--json"]
    code = main([*argv, "--from", start, "--to", end])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("p, q", [(0.2, 0.6), (0.9, 0.35)])
def test_cli_w2_distance_of_bernoulli_is_the_root_of_the_gap(capsys, p, q):
    # Both quantiles are 0 below the mass at 0 and 1 above: W2² = |p − q|.
    code, record = _w2_distance_json(capsys, "bernoulli", f"p={p}", f"p={q}")
    assert code == 0 and record["metric"] == "wasserstein"
    assert relative(record["distance"], np.sqrt(abs(p - q))) < 1e-15
    assert "extrinsic" in record["method"] and "no pullback" in record["method"]
    assert record["estimated_error"] < 1e-15


def test_cli_w2_distance_of_poisson_matches_scipy_quantiles(capsys):
    # ∫₀¹ (Q_a − Q_b)² du with scipy's ppf: both quantiles are constant between
    # the merged cdf values, so the midpoint of each piece gives its value; the
    # pieces past the last level below 1 in double precision hold < 1e-16.
    from scipy.stats import poisson

    k = np.arange(40)
    levels = np.unique(np.r_[0.0, poisson.cdf(k, 1.0), poisson.cdf(k, 2.5)])
    levels = levels[levels < 1]
    middle = (levels[:-1] + levels[1:]) / 2
    gaps = poisson.ppf(middle, 1.0) - poisson.ppf(middle, 2.5)
    expected = np.sqrt(np.sum(np.diff(levels) * gaps**2))

    code, record = _w2_distance_json(capsys, "poisson", "lam=1", "lam=2.5")
    assert code == 0
    assert relative(record["distance"], expected) < 1e-12
    assert record["estimated_error"] < 1e-10


def test_cli_geodesic_all_of_poisson_prints_fisher_and_explains_w2(capsys):
    argv = ["geodesic", "poisson", "--metric", "all", "--steps", "2"]
    code = main([*argv, "--from", "lam=1", "--to", "lam=2.5"])
    out = capsys.readouterr().out
    assert code == 0 and "Fisher metric of poisson" in out
    assert "leaves the family" in out and "symgeo closure poisson" in out


def test_cli_error_of_discrete_w2_has_no_raw_sums(capsys):
    code = main(["eval", "poisson", "--metric", "wasserstein", "--at", "lam=1"])
    err = capsys.readouterr().err
    assert code == 1 and "Sum(" not in err
    assert "symgeo distance poisson --metric wasserstein" in err

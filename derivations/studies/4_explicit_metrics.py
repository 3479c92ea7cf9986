"""Explicit pullback W2 metrics of one-parameter exponential families.

The exponential family in its rate and in its mean, every one-parameter
exponential family of the catalog, and the Bernoulli family, whose W2 pullback
does not exist, each with its Fisher metric beside it.
"""

import numpy as np
import sympy as sp

from symgeo.catalog import builtin_names, load_family
from symgeo.closure import discrete_w2_distance
from symgeo.errors import MetricUndefined
from symgeo.expfamily import exponential_family_fisher
from symgeo.family import Family
from symgeo.fisher import fisher_metric
from symgeo.geodesics import distance
from symgeo.studies import new_figure
from symgeo.wasserstein import wasserstein_metric


def run(page, size=1.0):
    rate = load_family("exponential")
    mean = Family.continuous(
        "exp(-x / m) / m", "x", ("0", "oo"), {"m": "positive"}, name="exponential_mean"
    )
    lam, m = rate.symbols[0], mean.symbols[0]
    names = {lam: "\\lambda"}
    w_rate, w_mean = (
        wasserstein_metric(rate, points=1),
        wasserstein_metric(mean, points=1),
    )
    f_rate, f_mean = fisher_metric(rate, points=1), fisher_metric(mean, points=1)

    page.heading("The exponential family in rate and in mean")
    page.text(
        "Density $\\lambda e^{-\\lambda x}$ in the rate, $e^{-x/m}/m$ in the mean "
        "$m = 1/\\lambda$. symgeo derives, from the two specs separately:"
    )
    page.math(
        f"g^F(\\lambda) = {sp.latex(f_rate.matrix[0], symbol_names=names)},\\quad "
        f"g^W(\\lambda) = {sp.latex(w_rate.matrix[0], symbol_names=names)};\\qquad "
        f"g^F(m) = {sp.latex(f_mean.matrix[0])},\\quad "
        f"g^W(m) = {sp.latex(w_mean.matrix[0])}."
    )
    jacobian = sp.diff(1 / m, m) ** 2
    pulled = [
        sp.simplify(g.matrix[0].subs(lam, 1 / m) * jacobian - h.matrix[0])
        for g, h in ((w_rate, w_mean), (f_rate, f_mean))
    ]
    page.text(
        "Both pairs are one metric in two charts: substituting $\\lambda = 1/m$, "
        "$d\\lambda = -dm/m^2$ into the rate forms leaves a difference of "
        f"${sp.latex(pulled[0])}$ (W2) and ${sp.latex(pulled[1])}$ (Fisher) from the "
        "mean forms. The W2 metric is constant in the mean because "
        "$Q(u; m) = -m \\log(1 - u)$ is linear in $m$ and "
        "$\\int_0^1 \\log^2(1 - u)\\,du = 2$: the mean chart is an isometry onto a "
        "line of $L^2(0, 1)$, so W2 between members is $\\sqrt{2}|m_1 - m_0|$."
    )
    pairs = np.array([[1.0, 2.0], [0.5, 4.0], [2.0, 3.0]])
    rows = []
    for a, b in pairs:
        rows.append(
            [
                f"{a:g} → {b:g}",
                float(distance(w_rate, [a], [b])),
                float(np.sqrt(2) * abs(1 / a - 1 / b)),
                float(distance(f_rate, [a], [b])),
                float(abs(np.log(b / a))),
            ]
        )
    page.table(
        [
            "rate λ",
            "W2 (symgeo)",
            "√2 \\|1/λ₀ − 1/λ₁\\|",
            "Fisher-Rao",
            "\\|log(λ₁/λ₀)\\|",
        ],
        rows,
    )

    page.heading("Every one-parameter exponential family of the catalog")
    rows = []
    for name in builtin_names():
        family = load_family(name)
        if family.kind == "gaussian" or family.dimension != 1:
            continue
        if exponential_family_fisher(family) is None:
            continue
        greek = {s: "\\lambda" for s in family.symbols if s.name == "lam"}
        fisher = sp.latex(fisher_metric(family, points=1).matrix[0], symbol_names=greek)
        try:
            w2 = wasserstein_metric(family, points=1).matrix[0]
            w2 = f"${sp.latex(w2, symbol_names=greek)}$"
        except MetricUndefined:
            w2 = "does not exist (discrete family)"
        rows.append([name, family.names[0], f"${fisher}$", w2])
    page.table(["family", "parameter", "Fisher $g^F$", "pullback W2 $g^W$"], rows)
    closed = sum(1 for r in rows if r[3].startswith("$"))
    page.text(
        f"{len(rows)} one-parameter exponential families; {closed} have a pullback "
        f"W2 metric, the {len(rows) - closed} discrete ones have none."
    )

    page.heading("Bernoulli: W2 is not Riemannian")
    bernoulli = load_family("bernoulli")
    try:
        wasserstein_metric(bernoulli, points=1)
        reason = "(symgeo derived a metric: unexpected)"
    except MetricUndefined as exc:
        reason = str(exc)
    page.text(f"symgeo's answer: {reason}")
    p = 0.3
    count = max(4, int(round(8 * size)))
    steps = np.logspace(-1, -1 - 0.5 * (count - 1), count)
    fisher_b = fisher_metric(bernoulli, points=1)
    w2 = np.array([discrete_w2_distance(bernoulli, [p], [p + h])[0] for h in steps])
    fr = np.array([float(distance(fisher_b, [p], [p + h])) for h in steps])
    page.table(
        ["Δp", "W2 (exact, quantile steps)", "√Δp", "W2 / Δp", "Fisher-Rao / Δp"],
        [
            [h, w, np.sqrt(h), w / h, f / h]
            for h, w, f in zip(steps, w2, fr, strict=True)
        ],
    )
    worst = float(np.max(np.abs(w2 - np.sqrt(steps)) / np.sqrt(steps)))
    page.text(
        f"W2 equals $\\sqrt{{\\Delta p}}$ to a relative {worst:.1e} at every step; "
        f"W2/Δp grows from {w2[0] / steps[0]:.3g} to {w2[-1] / steps[-1]:.3g} as Δp "
        f"shrinks, while Fisher-Rao/Δp tends to "
        f"$\\sqrt{{g^F(p)}} = {1 / np.sqrt(p * (1 - p)):.4g}$. A metric g with W2 as "
        "its distance would need $g(p) = \\lim W_2^2/\\Delta p^2 = \\infty$: the "
        "curve $p \\mapsto$ Ber(p) is only 1/2-Hölder in W2."
    )

    figure, (left, right) = new_figure(2)
    grid = np.linspace(0.2, 5, 200)
    left.plot(grid, [w_rate.matrix[0].subs(lam, x) for x in grid], label="$g^W$ = 2/λ⁴")
    left.plot(grid, 1 / grid**2, label="$g^F$ = 1/λ²")
    left.set_yscale("log")
    left.set_xlabel("rate λ")
    left.set_title("exponential family, rate chart")
    left.legend()
    right.loglog(steps, w2, "o-", label="W2 (Bernoulli)")
    right.loglog(steps, fr, "s-", label="Fisher-Rao")
    right.set_xlabel("Δp (from p = 0.3)")
    right.set_title("distance to Ber(0.3 + Δp)")
    right.legend()
    page.figure(
        "metrics",
        figure,
        "Left: both metrics of the exponential rate. Right: W2 "
        "falls like √Δp, Fisher-Rao like Δp.",
    )
    page.finding = (
        f"the exponential family's W2 metric is {sp.sstr(w_rate.matrix[0])} in the "
        f"rate and {sp.sstr(w_mean.matrix[0])} in the mean (one metric, checked by "
        f"the change of chart); Bernoulli W2 = √Δp to {worst:.0e}, so W2/Δp "
        f"reaches {w2[-1] / steps[-1]:.3g} at Δp = {steps[-1]:.0e} and no pullback "
        "metric exists"
    )

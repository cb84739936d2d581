"""Provides how pooled results are worded, as RevMan prints them: p-values, effects with their CI, counts,
the heterogeneity, overall-effect and prediction-interval lines. Shared by the plots, the CLI and the TUI
(no matplotlib here)."""

from __future__ import annotations

import math

from reviewkit.pooling.results import MetaResult


def format_p(p: float | None) -> str:
    """A p-value as RevMan prints it: "P < 0.00001", "P < 0.0001", "P = 0.0003", "P = 0.006", "P = 0.13"."""
    if p is None or math.isnan(p):  # no test (a standard error of 0): said, not printed as "P = nan"
        return "P not applicable"
    if p < 0.00001:
        return "P < 0.00001"
    if p < 0.0001:  # four decimals would print "P = 0.0000"
        return "P < 0.0001"
    if p < 0.001:
        return f"P = {p:.4f}"
    if p < 0.01:
        return f"P = {p:.3f}"
    return f"P = {p:.2f}"


def format_effect(value: float | None, lo: float | None, hi: float | None, digits: int = 2) -> str:
    """"0.72 [0.49, 1.06]", or RevMan's "Not estimable"."""
    if value is None or lo is None or hi is None:
        return "Not estimable"
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def format_number(x: float | None) -> str:
    """A count or mean without spurious decimals (fractional counts come from split control groups)."""
    if x is None:
        return ""
    return f"{x:g}" if float(x).is_integer() else f"{x:.4g}"


def tau2_text(tau2: float) -> str:
    """τ² as RevMan prints it: two decimals, or two significant digits below 0.005 (0 stays "0.00")."""
    return f"{tau2:.2f}" if tau2 >= 0.005 or tau2 == 0 else f"{tau2:.2g}"


def heterogeneity_text(result: MetaResult) -> str:
    """RevMan's heterogeneity line, e.g. "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%"."""
    if result.Q is None or result.I2 is None:
        return "Heterogeneity: Not applicable"
    tau = ""
    if result.model == "random":
        tau = f"Tau² = {tau2_text(result.tau2)}; "
    return f"Heterogeneity: {tau}Chi² = {result.Q:.2f}, df = {result.Q_df} ({format_p(result.Q_p)}); I² = {result.I2:.0f}%"


def hksj_label(hksj: bool, adhoc: bool = False) -> str | None:
    """How the summary's CI was adjusted, as settings lines and plot headers name it: "HKSJ", "HKSJ ad hoc,
    max(1, q)" (Röver et al. 2015; its CI is never narrower than the plain SE's with t), or None."""
    if not hksj:
        return None
    return "HKSJ ad hoc, max(1, q)" if adhoc else "HKSJ"


def overall_effect_text(result: MetaResult) -> str:
    """RevMan's test line, e.g. "Test for overall effect: Z = 3.29 (P = 0.001)" (t under HKSJ)."""
    if not math.isfinite(result.statistic):
        return "Test for overall effect: Not applicable"
    name = f"t({result.test_df})" if result.test_df else "Z"
    return f"Test for overall effect: {name} = {abs(result.statistic):.2f} ({format_p(result.p)})"


def prediction_interval_method(result: MetaResult) -> str | None:
    """How the prediction interval was formed, as its line names it: "z", "t, 9 df"; with ", τ² = 0" when
    no between-study variance was estimated (a z interval then equals the CI: said, not left to puzzle)."""
    if result.pi_method is None:
        return None
    df = {"t(k-1)": result.k - 1, "t(k-2)": result.k - 2}.get(result.pi_method)
    name = "z" if df is None else f"t, {df} df"
    return f"{name}, τ² = 0" if result.tau2 == 0 else name


def prediction_interval_text(result: MetaResult) -> str | None:
    """The prediction interval's line, its method named, e.g. "Prediction interval (t, 11 df): [0.13, 1.79]"
    (the 13 BCG trials, RR, cochrane2025); None when there is none (a fixed-effect model, too few studies)
    or the analysis shows none (result.show_prediction_interval).

    RevMan 5 shows no prediction interval, so the revman5 flavour, which reproduces its output, leaves the
    line out unless the analysis asks for it (`prediction_interval = true`; metafor's and cochrane2025's
    `false` leaves it out); the numbers stay in the JSON (pi_lower, pi_upper, pi_method) either way. The
    method named is the one the flavour computes it with (revman5: z, or t with k − 1 df under HKSJ, as
    metafor), whichever setting shows it. A level other than 95% is named.
    """
    lo, hi = result.effect_pi
    if lo is None or hi is None or not result.show_prediction_interval:
        return None
    name = "Prediction interval" if result.level == 0.95 else f"{result.level * 100:g}% prediction interval"
    return f"{name} ({prediction_interval_method(result)}): [{lo:.2f}, {hi:.2f}]"

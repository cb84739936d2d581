"""Tests for the test for subgroup differences where a subgroup's pooled standard error is 0."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from reviewkit.pooling import generic_effects, subgroup_analysis

# Subgroup x: two studies with the same estimate; subgroup y: two that differ.
YI = [0.2, 0.2, 0.7, 0.9]
VI = [0.04, 0.09, 0.05, 0.05]


def test_a_subgroup_with_a_zero_hksj_se_gives_no_test_rather_than_nan() -> None:
    """Under HKSJ, subgroup x's SE is 0 (Q = 0 within it), so its weight 1/SE² in Q_between is infinite and
    the test undefined: None (null in JSON) with a warning saying why, not NaN beside an I² of 0% and numpy's
    divide-by-zero warnings."""
    effects = generic_effects(list("abcd"), YI, vi=VI, subgroups=["x", "x", "y", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning would fail the test
        sub = subgroup_analysis(effects, model="random", estimator="REML", hksj=True, flavour="cochrane2025")
    assert sub.results[0].se == 0
    assert (sub.Q_between, sub.Q_between_df, sub.Q_between_p, sub.I2_between) == (None, None, None, None)
    assert sub.warnings == ("the test for subgroup differences is not applicable: the standard error of "
                            "subgroup 'x' is 0",)
    data = sub.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["warnings"] == list(sub.warnings)


def test_without_hksj_the_test_is_revmans() -> None:
    """The same data without HKSJ (fixed effect, IV): Q_between = Σ w_j(θ_j − θ̄)², w_j = 1/SE_j², by hand."""
    effects = generic_effects(list("abcd"), YI, vi=VI, subgroups=["x", "x", "y", "y"])
    sub = subgroup_analysis(effects, model="fixed", flavour="revman5")
    y, v = np.array(YI), np.array(VI)
    theta, w = [], []
    for part in (slice(0, 2), slice(2, 4)):
        wi = 1 / v[part]
        theta.append(np.sum(wi * y[part]) / wi.sum())
        w.append(wi.sum())
    t, ww = np.array(theta), np.array(w)
    q = float(np.sum(ww * (t - np.sum(ww * t) / ww.sum()) ** 2))
    assert sub.Q_between is not None and abs(sub.Q_between - q) < 1e-12
    assert sub.Q_between_p is not None and abs(sub.Q_between_p - stats.chi2.sf(q, 1)) < 1e-12
    assert sub.warnings == ()


def test_the_forest_plot_says_the_test_is_not_applicable(tmp_path: Path) -> None:
    """The forest plot of that analysis says "Not applicable" (RevMan's words) where the test would be."""
    from reviewkit.render.forest import forest_plot

    effects = generic_effects(list("abcd"), YI, vi=VI, subgroups=["x", "x", "y", "y"])
    sub = subgroup_analysis(effects, model="random", estimator="REML", hksj=True, flavour="cochrane2025")
    svg = forest_plot(sub, tmp_path / "sg.svg").read_text(encoding="utf-8")
    assert "Test for subgroup differences: Not applicable" in svg and "nan" not in svg

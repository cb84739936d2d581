"""Tests multi-arm trial handling: combining arms, splitting the control group, and naive comparisons."""

from __future__ import annotations

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import Arm, meta_analysis, multiarm_comparisons
from reviewkit.pooling.multiarm import combine_continuous


def test_combine_continuous_matches_handbook_example() -> None:
    """(10, 11.8, 2.4) + (20, 15.3, 3.2) + (15, 8.4, 4.1) → n 45, mean 12.2222, SD 4.5028."""
    two = combine_continuous([Arm("a", 10, mean=11.8, sd=2.4), Arm("b", 20, mean=15.3, sd=3.2)])
    assert (two.n, two.mean, two.sd) == (30, pytest.approx(14.1333, abs=5e-5), pytest.approx(3.3634, abs=5e-5))
    three = combine_continuous([Arm("a", 10, mean=11.8, sd=2.4), Arm("b", 20, mean=15.3, sd=3.2),
                                Arm("c", 15, mean=8.4, sd=4.1)])
    assert three.n == 45
    assert three.mean == pytest.approx(12.2222, abs=5e-5)
    assert three.sd == pytest.approx(4.5028, abs=5e-5)


def test_combine_binary_adds_events_and_totals() -> None:
    """Combining dichotomous arms adds their events and totals into one comparison."""
    out = multiarm_comparisons("T", [Arm("low", 50, events=5), Arm("high", 60, events=9)],
                               Arm("placebo", 100, events=20), "combine")
    assert out.rows == ({"study": "T", "events_treat": 14.0, "n_treat": 110, "events_ctrl": 20, "n_ctrl": 100},)
    assert out.warnings == ()


def test_split_divides_shared_control() -> None:
    """Splitting 20/100 across two comparisons gives 10/50 each; continuous splits only N."""
    out = multiarm_comparisons("T", [Arm("low", 50, events=5), Arm("high", 60, events=9)],
                               Arm("placebo", 100, events=20), "split")
    assert [(r["events_ctrl"], r["n_ctrl"]) for r in out.rows] == [(10, 50), (10, 50)]
    assert out.rows[0]["study"] == "T (low vs placebo)"
    cont = multiarm_comparisons("C", [Arm("a", 30, mean=1, sd=2), Arm("b", 30, mean=2, sd=2)],
                                Arm("ctl", 60, mean=0, sd=3), "split")
    assert [(r["mean_ctrl"], r["sd_ctrl"], r["n_ctrl"]) for r in cont.rows] == [(0, 3, 30), (0, 3, 30)]


def test_naive_comparisons_warn_about_double_counting() -> None:
    """Naive comparisons reuse the whole control group and say so in a warning."""
    out = multiarm_comparisons("T", [Arm("low", 50, events=5), Arm("high", 60, events=9)],
                               Arm("placebo", 100, events=20), "naive")
    assert [r["n_ctrl"] for r in out.rows] == [100, 100]
    assert "counted 2 times" in out.warnings[0]


def test_split_rows_feed_meta_analysis() -> None:
    """Comparison rows go straight into meta_analysis()."""
    out = multiarm_comparisons("T", [Arm("low", 50, events=5), Arm("high", 60, events=9)],
                               Arm("placebo", 100, events=20), "split")
    rows = [*out.rows, {"study": "U", "events_treat": 4, "n_treat": 40, "events_ctrl": 8, "n_ctrl": 40}]
    res = meta_analysis(rows, measure="RR", model="fixed", flavour="revman5")
    assert res.k == 3


def test_bad_arms_are_named() -> None:
    """Mixed data types, bad events and unknown strategies are refused, naming study and arm."""
    with pytest.raises(ReviewkitError, match="arm 'x': field 'events'"):
        multiarm_comparisons("T", [Arm("x", 10, events=11)], Arm("c", 10, events=1))
    with pytest.raises(ReviewkitError, match="mix binary and continuous"):
        multiarm_comparisons("T", [Arm("x", 10, mean=1, sd=1)], Arm("c", 10, events=1))
    with pytest.raises(ReviewkitError, match="unknown multi-arm strategy"):
        multiarm_comparisons("T", [Arm("x", 10, events=1)], Arm("c", 10, events=1), "merge")

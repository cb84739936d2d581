"""Tests that SDs estimated from a median with IQR or range reach pooling as the reference's formulas give them:
an arm whose quartiles (or range) have no width has no SD (Wan 2014's SD would be 0) and is left out of the
analysis instead of stopping it; an SD estimated beside a reported mean keeps that mean and records no other."""

from __future__ import annotations

import pytest

from reviewkit.services import extract
from reviewkit.services.analyze import AnalysisOutput, analyze_review
from reviewkit.services.extract_analysis_data import consensus_data
from reviewkit.services.extract_convert import convert, derive
from reviewkit.services.project import Review
from tests.services.test_analyze_ci_level import consensus_study

ARMS = {
    "Placebo": ("placebo", {"mean": "-2", "sd": "3", "n": "25"}),
    "Bari 4 mg": ("baricitinib", {"mean": "-6", "sd": "3", "n": "30"}),
    "Bari 2 mg": ("baricitinib", {"median": "-5", "q1": "-5", "q3": "-5", "n": "30"}),
}


def test_an_arm_whose_iqr_has_no_width_is_left_out_not_pooled_with_sd_0(review: Review) -> None:
    """Bari 2 mg's q1 = median = q3 = −5 gives IQR/η(30) = 0: no SD. The analysis pools the other arm
    (MD −6 − (−2) = −4, SE √(9/30 + 9/25) = 0.812404) and says Bari 2 mg has no data, where it was skipped
    whole ("fields 'mean' and 'sd' (> 0) are needed")."""
    consensus_study(review, ARMS)
    (data,) = consensus_data(review, "dlqi_change")
    two = next(a for a in data.arms if a.label == "Bari 2 mg")
    assert (two.sd, two.sd_source) == (None, "")
    (out,) = analyze_review(review, outcome="dlqi_change", plots=False)
    assert isinstance(out, AnalysisOutput), out
    assert [(r["mean_treat"], r["sd_treat"], r["n_treat"], r["mean_ctrl"], r["sd_ctrl"], r["n_ctrl"])
            for r in out.rows] == [(-6.0, 3.0, 30.0, -2.0, 3.0, 25.0)]
    assert out.result.estimate == pytest.approx(-4.0)
    assert out.result.se == pytest.approx((9 / 30 + 9 / 25) ** 0.5)
    assert "BREEZE-AD1: arm Bari 2 mg has no dlqi_change data" in out.warnings


def test_converting_quartiles_without_width_is_refused(review: Review) -> None:
    """`extract convert` on that arm refuses, naming the IQR, instead of storing SD 0 or failing on it."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_arm(review, "alice", sid, "Bari 2 mg", intervention="baricitinib")
    for field, value in ARMS["Bari 2 mg"][1].items():
        extract.set_value(review, "alice", sid, field, value, arm="Bari 2 mg", outcome="dlqi_change")
    with pytest.raises(Exception, match="IQR has no width"):
        convert(review, "alice", sid, arm="Bari 2 mg", outcome="dlqi_change")


def test_an_sd_estimated_beside_a_reported_mean_records_no_estimated_mean(review: Review) -> None:
    """q1 6, median 10, q3 16, n 50 with a reported mean 11: SD = 10/η(50) = 10/1.3101 = 7.6330 (reference
    worked example); the Luo mean 10.7078 is not kept, so the record shown does not name it."""
    derived = derive({"mean": 11.0, "median": 10.0, "q1": 6.0, "q3": 16.0, "n": 50.0})
    assert list(derived.values) == ["sd"]
    assert derived.values["sd"] == pytest.approx(7.6330, abs=5e-5)
    assert derived.converted_from["text"] == (
        "SD 7.633 estimated from q1 6, median 10, q3 16, n 50 (S3; Luo 2018 mean, Wan 2014 SD)")
    consensus_study(review, {
        "Placebo": ("placebo", {"mean": "11", "median": "10", "q1": "6", "q3": "16", "n": "50"}),
        "Bari 4 mg": ("baricitinib", {"mean": "-6", "sd": "3", "n": "30"})})
    placebo = next(a for a in consensus_data(review, "dlqi_change")[0].arms if a.label == "Placebo")
    assert (placebo.mean, placebo.sd, placebo.sd_source) == (11.0, pytest.approx(7.6330, abs=5e-5), "derived")
    assert "mean 10.71" not in placebo.converted_from["sd"]["text"]

"""RoB 2 is assessed per result (rob2.md): the forest plot of an outcome shows that result's judgements.

Before this test the analysis took one column set per study for every analysis, "the first result
assessed": a study whose EASI-75 result was at high risk showed the Low of its IGA result (or the
other way round) in the EASI-75 forest plot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from reviewkit.render.rob import summary_figure
from reviewkit.services import assess, assess_consensus
from reviewkit.services.analyze_plots import rob_by_study
from reviewkit.services.assess_plots import plot_rob, rob_table
from reviewkit.services.project import Review
from tests.render.test_rob_plots import bars
from tests.services.test_assess import ALL_LOW, add_study, fill

#: D3 High (3.1 N, 3.2 N, 3.3 Y, 3.4 Y), every other domain Low.
D3_HIGH = {**ALL_LOW, "3.1": "N", "3.2": "N", "3.3": "Y", "3.4": "Y"}


def consensus(review: Review, sid: int, outcome: str, answers: Mapping[str, str], *,
              new_outcome: bool = False) -> None:
    for who in ("alice", "bob"):
        aid = assess.start_assessment(review, who, sid, outcome, new_outcome=new_outcome).id
        fill(review, who, aid, dict(answers))
        assess.finish(review, who, aid)
    assess_consensus.record_consensus(review, "carol", sid, outcome)


def test_forest_plot_columns_are_the_outcomes_own_result(rob2_review: Review) -> None:
    sid = add_study(rob2_review)
    consensus(rob2_review, sid, "iga_0_1", ALL_LOW)
    consensus(rob2_review, sid, "easi75", D3_HIGH)
    iga = rob_by_study(rob2_review, "iga_0_1")
    easi = rob_by_study(rob2_review, "EASI75")  # names compared as `rob start` reads them
    assert iga is not None and easi is not None
    assert iga["BREEZE-AD1"]["D3"] == "low" and iga["BREEZE-AD1"]["overall"] == "low"
    assert easi["BREEZE-AD1"]["D3"] == "high" and easi["BREEZE-AD1"]["overall"] == "high"
    # A result never assessed shows no columns rather than another result's judgements.
    assert rob_by_study(rob2_review, "itch_nrs4") is None


def test_an_assessment_without_an_outcome_serves_every_analysis(rob2_review: Review) -> None:
    sid = add_study(rob2_review)
    consensus(rob2_review, sid, "", D3_HIGH)
    found = rob_by_study(rob2_review, "iga_0_1")
    assert found is not None and found["BREEZE-AD1"]["D3"] == "high"


def test_a_result_named_after_the_outcome_and_its_timepoint(rob2_review: Review) -> None:
    """Results named "iga_0_1 week 4" and "iga_0_1 week 16": the week-16 analysis shows week 16's; an
    outcome whose name merely starts alike ("easi" for "easi75") is another outcome."""
    sid = add_study(rob2_review)
    consensus(rob2_review, sid, "iga_0_1 week 4", ALL_LOW)
    consensus(rob2_review, sid, "iga_0_1 week 16", D3_HIGH, new_outcome=True)
    found = rob_by_study(rob2_review, "iga_0_1", "week 16")
    assert found is not None and found["BREEZE-AD1"]["D3"] == "high"
    found = rob_by_study(rob2_review, "iga_0_1", "week 4")
    assert found is not None and found["BREEZE-AD1"]["D3"] == "low"
    assert rob_by_study(rob2_review, "iga_0_1") is None  # two results, no timepoint: neither is "the" one
    assert rob_by_study(rob2_review, "iga") is None
    other = add_study(rob2_review, "BREEZE-AD2")
    consensus(rob2_review, other, "iga_0_1 week 16", ALL_LOW)
    assert "BREEZE-AD2" not in (rob_by_study(rob2_review, "iga", "week 16") or {})


def test_summary_plot_of_every_outcome_counts_a_study_once_per_outcome(rob2_review: Review, tmp_path: Path) -> None:
    """BREEZE-AD1 is assessed for IGA (Low) and EASI-75 (D3 High), BREEZE-AD2 for IGA (D3 High): the summary
    plot of every outcome draws a panel per outcome, of 1 and 2 studies, not one panel of 3 "studies"
    with BREEZE-AD1 twice; the traffic-light plot's rows stay one per study and outcome."""
    ad1, ad2 = add_study(rob2_review), add_study(rob2_review, "BREEZE-AD2")
    consensus(rob2_review, ad1, "iga_0_1", ALL_LOW)
    consensus(rob2_review, ad1, "easi75", D3_HIGH)
    consensus(rob2_review, ad2, "iga_0_1", D3_HIGH)
    table = rob_table(rob2_review)
    assert [r.label for r in table.rows] == ["BREEZE-AD1 (easi75)", "BREEZE-AD1 (iga_0_1)", "BREEZE-AD2 (iga_0_1)"]
    easi, iga = (ax for ax in summary_figure(table).axes if ax.patches)
    assert (easi.get_title(loc="left"), iga.get_title(loc="left")) == ("Outcome easi75 · 1 study",
                                                                       "Outcome iga_0_1 · 2 studies")
    assert bars(easi, table)["Bias due to missing outcome data"] == {"high": pytest.approx(100.0)}
    assert bars(iga, table)["Bias due to missing outcome data"] == {"low": pytest.approx(50.0),
                                                                      "high": pytest.approx(50.0)}
    svg = plot_rob(rob2_review, "summary", tmp_path / "summary.svg").read_text(encoding="utf-8")
    assert "Outcome iga_0_1 · 2 studies" in svg and "Outcome easi75 · 1 study" in svg
    # One outcome asked for: one panel of its studies, as before.
    (only,) = (ax for ax in summary_figure(rob_table(rob2_review, "iga_0_1")).axes if ax.patches)
    assert only.get_title(loc="left") == "" and only.get_xlabel() == "Percentage of studies"

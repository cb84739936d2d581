"""RoB 2 is assessed per result (rob2.md): the forest plot of an outcome shows that result's judgements.

Before this test the analysis took one column set per study for every analysis, "the first result
assessed": a study whose EASI-75 result was at high risk showed the Low of its IGA result (or the
other way round) in the EASI-75 forest plot.
"""

from __future__ import annotations

from collections.abc import Mapping

from reviewkit.services import assess, assess_consensus
from reviewkit.services.analyze_plots import rob_by_study
from reviewkit.services.project import Review
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

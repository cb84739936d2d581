"""The consensus keeps the assessors' judgements made with a reason; the RoB 2 escalation choice is made.

rob2.md §7: assessors may override a proposal with a written justification, domain answers and
judgements are reconciled by consensus, and several Some concerns amount to High only by the
assessor's judgement, with a reason. Before these tests the consensus recomputed every domain from the
answers, so an override both assessors made (or one of them made) vanished from the summary and
the forest plots; and finishing never asked the escalation question.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from sqlmodel import select

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_consensus, assess_summary, assess_view
from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RobAssessmentRow
from tests.services.test_assess import ALL_LOW, add_study, fill

DROPOUT = "30% dropout, imbalanced"
#: D4 and D5 at Some concerns, the rest Low: the overall's escalation is the assessor's call.
TWO_CONCERNS = {**ALL_LOW, "4.2": "NI", "5.1": "N"}


def assessed(review: Review, who: str, sid: int, answers: Mapping[str, str],
             overrides: Mapping[str, tuple[str, str]] | None = None, *, escalate: bool | None = None,
             reason: str = "") -> AssessmentView:
    """`who`'s finished assessment of the study's IGA result."""
    aid = assess.start_assessment(review, who, sid, "IGA").id
    fill(review, who, aid, dict(answers))
    for key, (final, why) in (overrides or {}).items():
        assess.override(review, who, aid, key, final, why)
    return assess.finish(review, who, aid, escalate=escalate, reason=reason)


def consensus_rows(review: Review) -> int:
    with session_scope(review.engine) as s:
        return len([a for a in s.exec(select(RobAssessmentRow)).all() if a.is_consensus])


def test_an_override_both_assessors_made_is_the_consensus(rob2_review: Review) -> None:
    """The brief's case: alice and bob both override D3 to High (answers say Low). Nothing differs, so
    there is nothing to list; the consensus carries D3 High with its reason, and the summary (what the
    forest plot's RoB columns show) says High."""
    sid = add_study(rob2_review)
    for who in ("alice", "bob"):
        assessed(rob2_review, who, sid, ALL_LOW, {"D3": ("high", DROPOUT)})
    (pair,) = assess_consensus.disagreements(rob2_review, "carol", sid, "IGA")
    assert pair.items == () and pair.to_decide == ()
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    d3 = view.domain("D3")
    assert (d3.proposed, d3.final, d3.overridden, d3.justification) == ("low", "high", True, DROPOUT)
    assert view.overall.final == "high" and view.finished
    (row,) = assess_summary.rob_summary(rob2_review)
    assert row.judgements["D3"] == "high" and row.judgements["overall"] == "high" and row.overridden == ("D3",)
    assert assess_summary.rob_by_study(rob2_review, "IGA")["BREEZE-AD1"]["D3"] == "high"


def test_both_reasons_are_kept_when_they_differ(rob2_review: Review) -> None:
    """Two overrides to the same judgement with different reasons: the consensus keeps both, each once."""
    sid = add_study(rob2_review)
    assessed(rob2_review, "alice", sid, ALL_LOW, {"D3": ("high", DROPOUT)})
    assessed(rob2_review, "bob", sid, ALL_LOW, {"D3": ("high", "missingness tied to itch")})
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert view.domain("D3").justification == f"{DROPOUT} / missingness tied to itch"


def test_a_one_sided_override_is_refused_until_the_consensus_judges_it(rob2_review: Review) -> None:
    """alice overrides D3 to High, bob keeps the answers' Low: listed as a disagreement to decide; the
    consensus refuses (naming both judgements and alice's reason) and stores nothing until D3 is judged."""
    sid = add_study(rob2_review)
    assessed(rob2_review, "alice", sid, ALL_LOW, {"D3": ("high", DROPOUT)})
    assessed(rob2_review, "bob", sid, ALL_LOW)
    (pair,) = assess_consensus.disagreements(rob2_review, "carol", sid, "IGA")
    assert [(d.key, d.a_value, d.b_value) for d in pair.items] == [("D3", "high", "low"), ("overall", "high", "low")]
    assert pair.to_decide == ("D3",) and pair.reason("D3") == (DROPOUT, None)
    with pytest.raises(ReviewkitError) as refused:
        assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert "D3" in refused.value.message and DROPOUT in refused.value.message
    assert "bob low (from the answers)" in refused.value.message
    assert "--override 'D3=JUDGEMENT:justification'" in (refused.value.hint or "")
    assert consensus_rows(rob2_review) == 0
    # The answers' own judgement is a choice too, with its reason.
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA",
                                   overrides={"D3": ("low", "dropout balanced across arms in table 2")})
    assert (view.domain("D3").final, view.domain("D3").overridden, view.overall.final) == ("low", False, "low")
    # Recorded again with nothing new: the consensus's own judgement of D3 stands.
    assert assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA").domain("D3").justification.startswith("dropout")


def test_recording_again_keeps_the_leads_change_of_a_carried_override(rob2_review: Review) -> None:
    """The consensus carried D3 High; the lead changes it to Some concerns; recording again (no options)
    does not put the assessors' High back."""
    sid = add_study(rob2_review)
    for who in ("alice", "bob"):
        assessed(rob2_review, who, sid, ALL_LOW, {"D3": ("high", DROPOUT)})
    assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", overrides={"D3": ("some concerns", "sensitivity ok")})
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert view.domain("D3").final == "some_concerns"


def test_finishing_waits_for_the_escalation_choice(rob2_review: Review) -> None:
    """D4 and D5 at Some concerns: finishing is refused, saying how to choose; the choice needs a reason;
    "no" keeps Some concerns with its reason, "yes" gives High; where there is no choice it is refused."""
    sid = add_study(rob2_review)
    aid = assess.start_assessment(rob2_review, "alice", sid, "IGA").id
    view = fill(rob2_review, "alice", aid, TWO_CONCERNS)
    assert view.escalation_required and view.concerns == ("D4", "D5")
    with pytest.raises(ReviewkitError, match="Some concerns in D4, D5") as refused:
        assess.finish(rob2_review, "alice", aid)
    assert f"rob finish {aid} --escalate yes|no" in (refused.value.hint or "")
    with pytest.raises(ReviewkitError, match="reason"):
        assess.finish(rob2_review, "alice", aid, escalate=False)
    assert not assess_view.assessment_view(rob2_review, "alice", aid).finished
    view = assess.finish(rob2_review, "alice", aid, escalate=False, reason="minor, different sources")
    o = view.overall
    assert view.finished and not view.escalation_required
    assert (o.final, o.overridden, o.chosen, o.justification) == ("some_concerns", False, True,
                                                                   "minor, different sources")
    bob = assess.start_assessment(rob2_review, "bob", sid, "IGA").id
    fill(rob2_review, "bob", bob, TWO_CONCERNS)
    high = assess.finish(rob2_review, "bob", bob, escalate=True, reason="together they undermine it")
    assert (high.overall.final, high.overall.overridden) == ("high", True)
    other = add_study(rob2_review, "BREEZE-AD2")
    low = assess.start_assessment(rob2_review, "alice", other, "IGA").id
    fill(rob2_review, "alice", low, ALL_LOW)
    with pytest.raises(ReviewkitError, match="only when two or more domains are Some concerns"):
        assess.finish(rob2_review, "alice", low, escalate=True, reason="why not")


def test_a_kept_overall_lapses_when_the_answers_change_it(rob2_review: Review) -> None:
    """"Not escalated" was recorded against Some concerns; a later answer makes D1 High: the overall is the
    answers' High, not a Some concerns kept by a reason written for another situation (the TUI's X path)."""
    sid = add_study(rob2_review)
    aid = assess.start_assessment(rob2_review, "alice", sid, "IGA").id
    fill(rob2_review, "alice", aid, TWO_CONCERNS)
    kept = assess.override(rob2_review, "alice", aid, "overall", "some concerns", "minor")
    assert not kept.escalation_required and kept.overall.chosen
    changed = assess.answer(rob2_review, "alice", aid, "1.2", "N")
    assert (changed.overall.final, changed.overall.overridden, changed.overall.chosen) == ("high", False, False)


def test_the_consensus_takes_a_shared_escalation_choice_and_asks_its_own(rob2_review: Review) -> None:
    """Both chose not to escalate: the consensus carries it. Where the assessors' own overalls were
    not a choice but the consensus has several Some concerns, it is refused until it chooses."""
    sid = add_study(rob2_review)
    for who in ("alice", "bob"):
        assessed(rob2_review, who, sid, TWO_CONCERNS, escalate=False, reason=f"{who}: minor")
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert view.finished and view.overall.final == "some_concerns" and view.overall.justification == (
        "alice: minor / bob: minor")
    other = add_study(rob2_review, "BREEZE-AD2")
    assessed(rob2_review, "alice", other, {**ALL_LOW, "4.2": "NI"})  # D4 only
    assessed(rob2_review, "bob", other, {**ALL_LOW, "5.1": "N"})  # D5 only
    settle = {"4.2": "NI", "5.1": "N"}
    with pytest.raises(ReviewkitError, match="Some concerns in D4, D5") as refused:
        assess_consensus.record_consensus(rob2_review, "carol", other, "IGA", answers=settle)
    assert "consensus for BREEZE-AD2 / IGA" in refused.value.message
    assert "--override overall=high:REASON" in (refused.value.hint or "")
    view = assess_consensus.record_consensus(rob2_review, "carol", other, "IGA", answers=settle,
                                   overrides={"overall": ("high", "two weak domains together")})
    assert view.finished and view.overall.final == "high"


def test_differing_escalation_choices_are_the_consensus_to_make(rob2_review: Review) -> None:
    """alice escalated, bob did not: the overall is to decide, and the consensus refuses until it does."""
    sid = add_study(rob2_review)
    assessed(rob2_review, "alice", sid, TWO_CONCERNS, escalate=True, reason="together serious")
    assessed(rob2_review, "bob", sid, TWO_CONCERNS, escalate=False, reason="minor")
    (pair,) = assess_consensus.disagreements(rob2_review, "carol", sid, "IGA")
    assert pair.to_decide == ("overall",) and pair.reason("overall") == ("together serious", "minor")
    with pytest.raises(ReviewkitError, match="overall"):
        assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", overrides={"overall": ("some concerns", "minor")})
    assert view.overall.final == "some_concerns" and view.finished


def test_a_refused_consensus_names_no_assessment_and_every_question_it_may_need(rob2_review: Review) -> None:
    """alice says 3.1 N (then 3.2, 3.3), bob 3.1 Y: the unsettled consensus is "the consensus for STUDY /
    OUTCOME" (no id of an assessment the refusal rolled back), naming 3.1 and the 3.2–3.4 it may open."""
    sid = add_study(rob2_review)
    assessed(rob2_review, "alice", sid, {**ALL_LOW, "3.1": "N", "3.2": "N", "3.3": "N"})
    assessed(rob2_review, "bob", sid, ALL_LOW)
    with pytest.raises(ReviewkitError) as refused:
        assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert refused.value.message == "the consensus for BREEZE-AD1 / IGA is not complete: no judgement for D3, overall"
    assert refused.value.hint == "settle the answers still open: 3.1 (their answers may also open 3.2, 3.3, 3.4)"
    assert consensus_rows(rob2_review) == 0
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"3.1": "N", "3.2": "N", "3.3": "N"})
    assert view.domain("D3").final == "low"


def test_a_refusal_names_as_opened_no_question_already_answered(rob2_review: Review) -> None:
    """alice says 1.2 PY, bob 1.2 N: only 1.2 is open. 1.1 and 1.3, which both answered, are not
    questions its answer "may also open" (the hint listed them before)."""
    sid = add_study(rob2_review)
    assessed(rob2_review, "alice", sid, ALL_LOW)
    assessed(rob2_review, "bob", sid, {**ALL_LOW, "1.2": "N"})
    with pytest.raises(ReviewkitError) as refused:
        assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert refused.value.hint == "settle the answers still open: 1.2"


def test_a_slip_of_the_outcome_suggests_the_assessed_name(rob2_review: Review) -> None:
    """`--outcome` with a near-miss of the assessed result names it; a case variant is read as it."""
    sid = add_study(rob2_review)
    for who in ("alice", "bob"):
        aid = assess.start_assessment(rob2_review, who, sid, "IGA 0/1 week 16").id
        fill(rob2_review, who, aid, ALL_LOW)
        assess.finish(rob2_review, who, aid)
    for call in (assess_consensus.record_consensus, assess_consensus.disagreements):
        with pytest.raises(ReviewkitError, match="no assessment of 'IGA 0/1 wek 16'") as refused:
            call(rob2_review, "carol", sid, "IGA 0/1 wek 16")
        assert "did you mean 'IGA 0/1 week 16'" in (refused.value.hint or "")
    with pytest.raises(ReviewkitError) as unrelated:
        assess_consensus.record_consensus(rob2_review, "carol", sid, "EASI 75")
    assert unrelated.value.hint == "its assessed outcomes: 'IGA 0/1 week 16'"
    assert assess_consensus.record_consensus(rob2_review, "carol", sid, "iga 0/1 WEEK 16").outcome == "IGA 0/1 week 16"


def test_rob1_summary_overrides_are_carried(review: Review) -> None:
    """RoB 1: both assessors override the summary to High: the consensus's summary is High."""
    sid = add_study(review)
    for who in ("bob", "carol"):
        aid = assess.start_assessment(review, who, sid).id
        fill(review, who, aid, {f"D{i}": "low" for i in range(1, 8)})
        assess.override(review, who, aid, "overall", "high", "industry-run, results from a press release")
        assess.finish(review, who, aid)
    view = assess_consensus.record_consensus(review, "alice", sid)
    assert (view.overall.proposed, view.overall.final, view.overall.overridden) == ("low", "high", True)

"""Tests for the risk-of-bias service: storage, history, blinding, overrides, disagreements, consensus."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import assess, assess_consensus, assess_form, assess_summary, assess_view
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review, init_review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AuditEventRow, RobAnswerRow

#: Every domain Low (assignment variant): the fewest answers that decide all five.
ALL_LOW = {"1.1": "Y", "1.2": "PY", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
           "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}


def add_study(review: Review, label: str = "BREEZE-AD1") -> int:
    """Store a study through the store helper and return its id."""
    with session_scope(review.engine, write=True) as s:
        row = rob_store.add_study(s, label, actor="test")
        assert row.id is not None
        return row.id


def fill(review: Review, who: str, aid: int, answers: dict[str, str]) -> assess_form.AssessmentView:
    """Answer questions in order and return the last view."""
    view = None
    for qid, code in answers.items():
        view = assess.answer(review, who, aid, qid, code)
    assert view is not None
    return view


def test_answers_drive_live_proposals_and_skip_questions(rob2_review: Review) -> None:
    """Proposals appear per domain as answers come in; questions whose condition fails are not asked."""
    sid = add_study(rob2_review)
    view = assess.start_assessment(rob2_review, "alice", sid, "IGA 0/1 week 16")
    assert view.tool == "rob2" and view.variant == "assignment" and view.domain("D1").proposed is None
    assert [q.id for q in view.questions if q.domain == "D2"] == ["2.1", "2.2", "2.6"]
    view = fill(rob2_review, "alice", view.id, {"1.1": "Y", "1.2": "Y"})
    assert view.domain("D1").proposed is None and view.domain("D1").unanswered == ("1.3",)
    view = assess.answer(rob2_review, "alice", view.id, "1.3", "n", support="balanced baseline")
    assert view.domain("D1").final == "low" and view.supports["1.3"] == "balanced baseline"
    view = fill(rob2_review, "alice", view.id, {"2.1": "Y"})
    assert [q.id for q in view.questions if q.domain == "D2"] == ["2.1", "2.2", "2.3", "2.6"]
    view = fill(rob2_review, "alice", view.id, {"2.2": "N", "2.3": "N", "2.6": "N"})
    assert [q.id for q in view.questions if q.domain == "D2"][-1] == "2.7"
    view = fill(rob2_review, "alice", view.id, {"2.7": "Y"})
    assert view.domain("D2").proposed == "high"
    assert view.overall.final is None


def test_bad_answers_are_refused(rob2_review: Review, review: Review) -> None:
    """Unknown questions and codes, answers to questions not asked, and misplaced NA are refused."""
    sid = add_study(rob2_review)
    aid = assess.start_assessment(rob2_review, "alice", sid, "EASI 75").id
    for qid, code in [("9.9", "Y"), ("1.1", "maybe"), ("3.2", "NI"), ("2.4", "Y"), ("1.1", "NA")]:
        with pytest.raises(ReviewkitError):
            assess.answer(rob2_review, "alice", aid, qid, code)
    assert assess.answer(rob2_review, "alice", aid, "2.4", "NA").answers == {}
    rob1_sid = add_study(review)
    rob1_aid = assess.start_assessment(review, "alice", rob1_sid, "").id
    with pytest.raises(ReviewkitError):
        assess.answer(review, "alice", rob1_aid, "D8", "low")
    with pytest.raises(ReviewkitError):
        assess.answer(review, "alice", rob1_aid, "D1", "Y")
    view = assess.answer(review, "alice", rob1_aid, "D1", "Low risk", support="computer-generated list")
    assert view.tool == "rob1" and view.domain("D1").final == "low"
    assert view.questions[0].support == "computer-generated list"


def test_changes_append_rows_with_audit_events(rob2_review: Review) -> None:
    """A changed answer is a new row; the newest counts; each change is an audit event old → new."""
    sid = add_study(rob2_review)
    aid = assess.start_assessment(rob2_review, "alice", sid, "IGA").id
    assess.answer(rob2_review, "alice", aid, "1.1", "Y")
    assess.answer(rob2_review, "alice", aid, "1.1", "Y")  # unchanged: no new row
    view = assess.answer(rob2_review, "alice", aid, "1.1", "PN")
    assert view.answers["1.1"] == "PN"
    with session_scope(rob2_review.engine) as s:
        rows = s.exec(select(RobAnswerRow).order_by(RobAnswerRow.id)).all()
        events = s.exec(select(AuditEventRow).where(AuditEventRow.entity == "rob_answer")
                        .order_by(AuditEventRow.id)).all()
    assert [r.answer for r in rows] == ["Y", "PN"]
    assert [e.action for e in events] == ["answer", "change"]
    assert events[1].old["answer"] == "Y" and events[1].new["answer"] == "PN" and events[1].actor == "alice"


def test_override_needs_justification_and_shows_as_overridden(rob2_review: Review) -> None:
    """Overriding a proposal without a reason is refused; with one, the final differs and is marked."""
    sid = add_study(rob2_review)
    aid = assess.start_assessment(rob2_review, "alice", sid, "IGA").id
    fill(rob2_review, "alice", aid, {"1.1": "Y", "1.2": "Y", "1.3": "N"})
    with pytest.raises(ReviewkitError, match="justification"):
        assess.override(rob2_review, "alice", aid, "D1", "high", "  ")
    view = assess.override(rob2_review, "alice", aid, "D1", "high", "sealed envelopes were translucent")
    d1 = view.domain("D1")
    assert (d1.proposed, d1.final, d1.overridden) == ("low", "high", True)
    assert d1.justification == "sealed envelopes were translucent"
    assert not assess.override(rob2_review, "alice", aid, "D1", None).domain("D1").overridden
    assert not assess.override(rob2_review, "alice", aid, "D1", "low").domain("D1").overridden  # = accept
    assert assess.answer(rob2_review, "alice", aid, "1.2", "N").domain("D1").final == "high"
    with pytest.raises(PermissionDenied):
        assess.override(rob2_review, "bob", aid, "D1", "high", "not mine")


def test_blinding_until_both_finish(rob2_review: Review) -> None:
    """bob cannot see alice's assessment until both have finished; finishing needs every domain."""
    sid = add_study(rob2_review)
    a = assess.start_assessment(rob2_review, "alice", sid, "IGA").id
    b = assess.start_assessment(rob2_review, "bob", sid, "IGA").id
    with pytest.raises(ReviewkitError):
        assess.start_assessment(rob2_review, "carol", sid, "IGA")  # two assessors per study
    with pytest.raises(ReviewkitError, match="not complete"):
        assess.finish(rob2_review, "alice", a)
    fill(rob2_review, "alice", a, ALL_LOW)
    assert assess.finish(rob2_review, "alice", a).finished
    with pytest.raises(ReviewkitError, match="finished"):
        assess.answer(rob2_review, "alice", a, "1.1", "N")
    with pytest.raises(PermissionDenied):
        assess_view.assessment_view(rob2_review, "bob", a)
    with pytest.raises(PermissionDenied):
        assess_view.assessment_view(rob2_review, "carol", a)
    with pytest.raises(PermissionDenied):
        assess_consensus.disagreements(rob2_review, "alice", sid, "IGA")
    assess.reopen(rob2_review, "alice", a)  # allowed while bob has not finished
    assess.finish(rob2_review, "alice", a)
    fill(rob2_review, "bob", b, {**ALL_LOW, "1.2": "N"})
    assess.finish(rob2_review, "bob", b)
    assert assess_view.assessment_view(rob2_review, "bob", a).answers["1.2"] == "PY"
    assert assess_view.assessment_view(rob2_review, "carol", b).domain("D1").final == "high"
    with pytest.raises(ReviewkitError):
        assess.reopen(rob2_review, "alice", a)


def test_disagreements_and_consensus(rob2_review: Review) -> None:
    """Disagreements list questions and domains; the consensus settles them and feeds the summary."""
    sid = add_study(rob2_review, "BREEZE-AD2")
    a = assess.start_assessment(rob2_review, "alice", sid, "IGA").id
    b = assess.start_assessment(rob2_review, "bob", sid, "IGA").id
    fill(rob2_review, "alice", a, ALL_LOW)
    fill(rob2_review, "bob", b, {**ALL_LOW, "1.2": "N"})
    assess.finish(rob2_review, "alice", a)
    assess.finish(rob2_review, "bob", b)
    (pair,) = assess_consensus.disagreements(rob2_review, "bob", sid, "IGA")
    assert (pair.assessor_a, pair.assessor_b) == ("alice", "bob")
    assert [(d.level, d.key, d.a_value, d.b_value) for d in pair.items] == [
        ("question", "1.2", "PY", "N"), ("domain", "D1", "low", "high"), ("domain", "overall", "low", "high")]
    with pytest.raises(ReviewkitError, match="not complete"):
        assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")  # 1.2 is unsettled
    with pytest.raises(PermissionDenied):
        assess_consensus.record_consensus(rob2_review, "bob", sid, "IGA", answers={"1.2": "Y"})
    with pytest.raises(PermissionDenied):
        assess_consensus.record_consensus(rob2_review, "bob", sid, "IGA", answers={"1.2": "Y"}, co_signer="carol")
    view = assess_consensus.record_consensus(rob2_review, "bob", sid, "IGA", answers={"1.2": "Y"}, co_signer="alice",
                                   overrides={"D5": ("some concerns", "analysis plan published late")})
    assert view.is_consensus and view.finished and view.answers["1.2"] == "Y"
    assert view.domain("D5").overridden and view.overall.final == "some_concerns"
    (row,) = assess_summary.rob_summary(rob2_review)
    assert (row.study, row.outcome, row.judgements["D1"], row.judgements["overall"]) == (
        "BREEZE-AD2", "IGA", "low", "some_concerns")
    assert assess_summary.rob_by_study(rob2_review, "IGA") == {"BREEZE-AD2": dict(row.judgements)}


def test_a_reviewer_outside_the_assessment_never_sees_it(tmp_path: Path, database_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A screener who neither assessed the study nor leads or adjudicates sees no answers and no
    disagreements, even once both assessments are finished; the lead does."""
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    protocol = tmp_path / "dave.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
                        + '\n[[reviewers]]\nname = "dave"\nrole = "screener"\n', encoding="utf-8")
    review = init_review(tmp_path / "d", protocol)
    try:
        sid = add_study(review)
        judged = {f"D{i}": "low" for i in range(1, 8)}
        ids = []
        for who, d3 in (("bob", "high"), ("carol", "low")):
            aid = assess.start_assessment(review, who, sid).id
            fill(review, who, aid, {**judged, "D3": d3})
            assess.finish(review, who, aid)
            ids.append(aid)
        with pytest.raises(PermissionDenied, match="dave may not see"):
            assess_consensus.disagreements(review, "dave", sid)
        # all have finished, so the refusal says why dave may not see it, not that it waits for them
        with pytest.raises(PermissionDenied, match="only its study's assessors, leads and adjudicators"):
            assess_view.assessment_view(review, "dave", ids[0])
        assert assess_consensus.all_disagreements(review, "dave") == []
        (pair,) = assess_consensus.all_disagreements(review, "alice")
        assert [d.key for d in pair.items] == ["D3", "overall"]
    finally:
        review.engine.dispose()


def test_rob1_consensus_by_lead(review: Review) -> None:
    """RoB 1 (the example protocol): domain judgements with support, summary, consensus by the lead."""
    sid = add_study(review)
    judged = {f"D{i}": "low" for i in range(1, 8)}
    for who, d3 in (("bob", "high"), ("carol", "low")):
        aid = assess.start_assessment(review, who, sid).id
        fill(review, who, aid, {**judged, "D3": d3})
        assert assess.finish(review, who, aid).overall.final == ("high" if d3 == "high" else "low")
    (pair,) = assess_consensus.disagreements(review, "alice", sid)  # the lead
    assert [(d.key, d.a_value, d.b_value) for d in pair.items] == [("D3", "high", "low"), ("overall", "high", "low")]
    view = assess_consensus.record_consensus(review, "alice", sid, answers={"D3": "unclear"})
    assert view.overall.final == "unclear"
    with pytest.raises(ReviewkitError):
        assess.override(review, "alice", view.id, "D3", "low", "why")


def test_one_result_however_it_is_typed(rob2_review: Review) -> None:
    """bob types "IGA_0_1 " for the result alice started as the protocol's "iga_0_1": it is the same result,
    so bob becomes its second assessor (not the first of a new one), and a third is refused."""
    sid = add_study(rob2_review)
    a = assess.start_assessment(rob2_review, "alice", sid, "iga_0_1")
    b = assess.start_assessment(rob2_review, "bob", sid, " IGA_0_1 ")
    assert (a.outcome, b.outcome) == ("iga_0_1", "iga_0_1") and a.id != b.id
    with pytest.raises(ReviewkitError, match=r"already has its 2 assessors"):
        assess.start_assessment(rob2_review, "carol", sid, "Iga_0_1")
    free = assess.start_assessment(rob2_review, "alice", sid, "IGA 0/1, post hoc")  # a result of its own
    assert free.outcome == "IGA 0/1, post hoc"
    assert assess.start_assessment(rob2_review, "bob", sid, "iga 0/1, POST HOC").outcome == "IGA 0/1, post hoc"

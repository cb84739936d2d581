"""Recording a RoB consensus again revises it: what a user relies on when they re-record one.

Before these tests a second `record_consensus` rebuilt the consensus from the assessors' shared answers
and the call's own `answers` only: a call could replace an answer both assessors gave (1.1 Y → N, no
reason) and the next call without it silently put the assessors' answer back; the earlier consensus's
answers to the disputed questions were left out of the check, so a revision answering a question one
of them opened (2.3 after 2.1 Y) was refused as "does not apply"; the same override given again was
stored again; and nothing said what a revision changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_consensus, assess_summary, assess_view
from reviewkit.services.assess_differences import RecordedConsensus
from reviewkit.services.assess_import import import_rob
from reviewkit.services.project import Review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AuditEventRow, RobAnswerRow, RobJudgementRow
from tests.services.test_assess import ALL_LOW, add_study, fill
from tests.services.test_rob_consensus_overrides import assessed

#: bob differs from alice (ALL_LOW) on 1.2 (N: D1 High) and on 2.1 (Y, which opens 2.3; he answers N).
BOB = {**ALL_LOW, "1.2": "N", "2.1": "Y", "2.3": "N"}
#: The first consensus: 1.2 as alice, 2.1 as bob, and the 2.3 that 2.1 opens.
FIRST = {"1.2": "PY", "2.1": "Y", "2.3": "N"}


def first_consensus(review: Review) -> tuple[int, RecordedConsensus]:
    """alice and bob finished BREEZE-AD1 / IGA (differing on 1.2 and 2.1); carol recorded the consensus."""
    sid = add_study(review)
    assessed(review, "alice", sid, ALL_LOW)
    assessed(review, "bob", sid, BOB)
    return sid, assess_consensus.record_consensus(review, "carol", sid, "IGA", answers=FIRST)


def answer_rows(review: Review, assessment_id: int) -> list[tuple[str, str]]:
    with session_scope(review.engine) as s:
        return [(r.question, r.answer) for r in rob_store.answer_history(s, assessment_id)]


def judgement_rows(review: Review, assessment_id: int) -> list[tuple[str, str | None, str | None]]:
    with session_scope(review.engine) as s:
        rows = s.exec(select(RobJudgementRow).where(RobJudgementRow.assessment_id == assessment_id)
                      .order_by(col(RobJudgementRow.id)))
        return [(r.domain, r.final, r.justification) for r in rows]


def test_the_answers_both_assessors_gave_stay_fixed(rob2_review: Review) -> None:
    """(a) A revision may not replace 1.1, which alice and bob both answered Y: refused, naming their
    answer and the reasoned way to judge D1 otherwise; nothing is stored. The override with a reason is
    taken and 1.1 stays Y; a lead's direct answer to the consensus is refused alike. Giving the shared
    answer itself is no contradiction."""
    sid, first = first_consensus(rob2_review)
    before = answer_rows(rob2_review, first.id)
    with pytest.raises(ReviewkitError) as refused:
        assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"1.1": "N", "1.2": "N"})
    assert "1.1: the assessors both answered Y, not N" in refused.value.message
    assert "1.2" not in refused.value.message  # disputed: the consensus's to settle
    assert "--override 'D1=JUDGEMENT:justification'" in (refused.value.hint or "")
    assert answer_rows(rob2_review, first.id) == before
    with pytest.raises(ReviewkitError, match="1.1: the assessors both answered Y"):
        assess.answer(rob2_review, "alice", first.id, "1.1", "N")  # alice leads: she may edit the consensus
    assert answer_rows(rob2_review, first.id) == before
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"1.1": "Y"},
                                   overrides={"D1": ("high", "allocation concealment unclear in the CSR")})
    assert view.answers["1.1"] == "Y" and view.domain("D1").final == "high" and view.domain("D1").overridden
    assert [(c.key, c.before, c.after) for c in view.changes] == [("D1", "low", "high"), ("overall", "low", "high")]
    # Not only a revision: a first consensus may not contradict them either.
    other = add_study(rob2_review, "BREEZE-AD2")
    assessed(rob2_review, "alice", other, ALL_LOW)
    assessed(rob2_review, "bob", other, ALL_LOW)
    with pytest.raises(ReviewkitError, match="3.1: the assessors both answered Y, not N"):
        assess_consensus.record_consensus(rob2_review, "carol", other, "IGA", answers={"3.1": "N"})
    assert [v.study for v in assess_view.all_views(rob2_review) if v.is_consensus] == ["BREEZE-AD1"]


def test_a_revision_starts_from_the_earlier_consensus(rob2_review: Review) -> None:
    """(b) The earlier consensus settled 1.2 PY and 2.1 Y: a revision given only 2.3 and 2.4 keeps both and
    takes the follow-up questions its 2.1 opened (refused before as not applying); one given nothing
    keeps every earlier answer; one given 1.2 N changes 1.2 alone."""
    sid, first = first_consensus(rob2_review)
    assert first.answers["2.3"] == "N" and not first.revised and first.changes == ()
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"2.3": "Y", "2.4": "N"})
    assert view.id == first.id and view.revised
    assert {q: view.answers.get(q) for q in ("1.2", "2.1", "2.3", "2.4")} == {"1.2": "PY", "2.1": "Y", "2.3": "Y",
                                                                           "2.4": "N"}
    again = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert dict(again.answers) == dict(view.answers) and again.changes == ()
    changed = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"1.2": "N"})
    assert {q: a for q, a in changed.answers.items() if view.answers.get(q) != a} == {"1.2": "N"}
    assert [c.key for c in changed.changes if c.level == "question"] == ["1.2"]


def test_an_answer_the_revision_makes_moot_lapses_and_can_come_back(rob2_review: Review) -> None:
    """(b) Settling 2.1 N again leaves the earlier 2.3 unasked (no refusal: the revision did not give it);
    settling 2.1 Y once more asks it again with the earlier consensus's answer, and says so."""
    sid, first = first_consensus(rob2_review)
    moot = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"2.1": "N"})
    assert "2.3" not in moot.answers
    assert [(c.key, c.before, c.after) for c in moot.changes if c.level == "question"] == [
        ("2.1", "Y", "N"), ("2.3", "N", None)]
    back = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"2.1": "Y"})
    assert back.answers["2.3"] == "N"
    assert [str(c) for c in back.changes if c.level == "question"] == ["2.1: N → Y", "2.3: — → N"]


def test_the_earlier_consensus_stays_in_the_history(rob2_review: Review) -> None:
    """(c) One consensus per study and outcome, revised by appending: the earlier 1.2 stays a row of its
    history, the change is audited old → new with who made it; unchanged answers and the same override
    given again add no row."""
    sid, first = first_consensus(rob2_review)
    assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", overrides={"D5": ("some concerns", "plan late")})
    rows_before = answer_rows(rob2_review, first.id)
    judged_before = judgement_rows(rob2_review, first.id)
    view = assess_consensus.record_consensus(rob2_review, "alice", sid, "IGA", answers={"1.2": "N"},
                                   overrides={"D5": ("some concerns", "plan late")})
    assert view.id == first.id
    assert [v.id for v in assess_view.all_views(rob2_review) if v.is_consensus] == [first.id]
    assert answer_rows(rob2_review, first.id) == [*rows_before, ("1.2", "N")]
    assert ("1.2", "PY") in rows_before
    assert judgement_rows(rob2_review, first.id) == judged_before
    with session_scope(rob2_review.engine) as s:
        (event,) = [e for e in s.exec(select(AuditEventRow).where(AuditEventRow.entity == "rob_answer")).all()
                    if e.old and e.old["assessment_id"] == first.id]
        assert (event.actor, event.action, event.old["answer"], event.new["answer"]) == ("alice", "change", "PY", "N")
        assert event.at is not None
    (row,) = assess_summary.rob_summary(rob2_review)
    assert row.judgements["D1"] == "high" and row.judgements["D5"] == "some_concerns"


def test_a_revision_says_what_it_changed(rob2_review: Review) -> None:
    """(d) The answers it changed, then each judgement they or an override changed, with the reasons;
    a revision that changes nothing says so by an empty list."""
    sid, _ = first_consensus(rob2_review)
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"1.2": "N"},
                                   overrides={"D5": ("some concerns", "plan late")})
    assert [str(c) for c in view.changes] == [
        "1.2: PY → N",
        "D1 (judgement): low → high",
        "D5 (judgement): low → some concerns (plan late)",
        "overall (judgement): low → high",
    ]
    same = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", answers={"1.2": "N"},
                                   overrides={"D5": ("some concerns", "plan late")})
    assert same.revised and same.changes == ()


def test_accept_takes_back_the_consensus_own_override_only(rob2_review: Review) -> None:
    """DOMAIN=accept takes back an override the consensus made (back to the answers' judgement); one the
    assessors both made, carried into the consensus, is refused: dropping it needs a reason."""
    sid, _ = first_consensus(rob2_review)
    assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", overrides={"D5": ("some concerns", "plan late")})
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA", overrides={"D5": ("accept", "")})
    assert (view.domain("D5").final, view.domain("D5").chosen) == ("low", False)
    assert [str(c) for c in view.changes] == ["D5 (judgement): some concerns (plan late) → low",
                                              "overall (judgement): some concerns → low"]
    other = add_study(rob2_review, "BREEZE-AD2")
    for who in ("alice", "bob"):
        assessed(rob2_review, who, other, ALL_LOW, {"D3": ("high", "30% dropout")})
    assess_consensus.record_consensus(rob2_review, "carol", other, "IGA")
    with pytest.raises(ReviewkitError, match="D3 cannot go back to what the answers give without a reason"):
        assess_consensus.record_consensus(rob2_review, "carol", other, "IGA", overrides={"D3": ("accept", "")})


def test_a_contradiction_stored_before_stands_until_someone_changes_it(rob2_review: Review) -> None:
    """A consensus that holds another answer to a shared question (stored before this rule, straight into
    the store here) keeps it when recorded again for something else: resetting it to the assessors' answer
    changed D1's judgement although only D5 was asked about."""
    sid, first = first_consensus(rob2_review)
    with session_scope(rob2_review.engine, write=True) as s:
        row = rob_store.assessment(s, first.id)
        assert row is not None
        rob_store.add_answer(s, row, "1.1", "N", None, "carol")
    held = assess_consensus.current_consensus(rob2_review, "carol", sid, "IGA")
    assert held is not None and held.answers["1.1"] == "N"
    view = assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")
    assert view.answers["1.1"] == "N" and view.changes == ()
    assert view.domain("D1").final == held.domain("D1").final


def test_consensus_rows_imported_keep_the_shared_answers(rob2_review: Review, tmp_path: Path) -> None:
    """`rob import` of consensus rows follows the same rule: a row contradicting a shared answer is
    refused on its line, nothing imported."""
    sid, first = first_consensus(rob2_review)
    path = tmp_path / "consensus.csv"
    path.write_text("study,outcome,assessor,consensus,tool,variant,question,answer,support\n"
                    f"{sid},IGA,,yes,rob2,assignment,1.2,N,\n"
                    f"{sid},IGA,,yes,rob2,assignment,1.1,N,\n", encoding="utf-8")
    before = answer_rows(rob2_review, first.id)
    with pytest.raises(ReviewkitError) as refused:
        import_rob(rob2_review, path, actor="carol")
    assert "1.1: the assessors both answered Y, not N" in refused.value.message
    assert refused.value.where == f"{path}, line 3"
    assert answer_rows(rob2_review, first.id) == before
    with session_scope(rob2_review.engine) as s:
        assert s.exec(select(RobAnswerRow).where(RobAnswerRow.answer == "N", RobAnswerRow.question == "1.1")
                      ).all() == []


def test_rob1_consensus_settles_a_domain_both_assessors_judged(review: Review) -> None:
    """In RoB 1 the answers are the domain judgements, with no algorithm to override: the consensus
    judging D2 otherwise than both assessors was refused, with a hint (override the overall) that could
    not change D2."""
    sid = add_study(review)
    judged = {f"D{i}": "low" for i in range(1, 8)}
    for who, d3 in (("bob", "high"), ("carol", "low")):
        aid = assess.start_assessment(review, who, sid).id
        fill(review, who, aid, {**judged, "D3": d3})
        assess.finish(review, who, aid)
    view = assess_consensus.record_consensus(review, "alice", sid, answers={"D2": "high", "D3": "high"})
    assert (view.domain("D2").final, view.overall.final) == ("high", "high")


def test_a_consensus_of_assessments_on_different_variants_is_refused(rob2_review: Review) -> None:
    """alice assessed the effect of assignment, bob of adherence: "2.3" is another question in each, and
    their answers were merged by number as if shared."""
    sid = add_study(rob2_review)
    assessed(rob2_review, "alice", sid, ALL_LOW)
    aid = assess.start_assessment(rob2_review, "bob", sid, "IGA", variant="adherence").id
    adherence = {q: a for q, a in ALL_LOW.items() if not q.startswith("2.")}
    fill(rob2_review, "bob", aid, {**adherence, "2.1": "N", "2.2": "N", "2.3": "NA", "2.4": "N", "2.5": "N"})
    assess.finish(rob2_review, "bob", aid)
    with pytest.raises(ReviewkitError, match=r"use different tools or variants \(alice: rob2 assignment; "
                                             r"bob: rob2 adherence\)"):
        assess_consensus.record_consensus(rob2_review, "carol", sid, "IGA")


def test_assessments_on_different_variants_are_not_compared_question_by_question(rob2_review: Review) -> None:
    """README: assessments on different RoB 2 variants are not compared. Before, `rob disagreements`
    matched "2.3" of assignment (deviations from the trial context) with "2.3" of adherence (non-protocol
    interventions balanced) and listed them as differing answers to one question."""
    sid = add_study(rob2_review)
    assessed(rob2_review, "alice", sid, ALL_LOW)
    aid = assess.start_assessment(rob2_review, "bob", sid, "IGA", variant="adherence").id
    adherence = {q: a for q, a in ALL_LOW.items() if not q.startswith("2.")}
    fill(rob2_review, "bob", aid, {**adherence, "2.1": "Y", "2.2": "N", "2.3": "Y", "2.4": "N", "2.5": "N"})
    assess.finish(rob2_review, "bob", aid)
    with pytest.raises(ReviewkitError, match="different tools or variants"):
        assess_consensus.disagreements(rob2_review, "carol", sid, "IGA")
    (pair,) = assess_consensus.all_disagreements(rob2_review, "carol")
    assert [(i.level, i.key, i.a_value, i.b_value) for i in pair.items] == [
        ("domain", "tool/variant", "rob2 assignment", "rob2 adherence")]


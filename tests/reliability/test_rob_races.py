"""Reliability: assessors starting risk-of-bias assessments of one study's outcome at once (both databases).

As in test_verdict_races, each thread is held after reading the study's assessments until the others have
read them too (the race) or are seen waiting for a lock (the fix: the study row, locked before the read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_consensus, extract
from reviewkit.services import assess_view as view
from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.assess_import import import_rob
from reviewkit.services.project import Review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from tests.reliability.test_verdict_races import race


def _independent(review: Review, study_id: int) -> list[tuple[int | None, int]]:
    with session_scope(review.engine) as session:
        return [(r.assessor_id, r.study_id) for r in view.independent_assessments(session, study_id, "")]


def test_three_assessors_for_two_places_at_once_leave_two(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the fix all three read one free place each on PostgreSQL and the study had three assessors."""
    st = extract.create_study(review, "alice", "S1")
    out = race(monkeypatch, review, "independent_assessments", {
        who: (lambda who=who: assess.start_assessment(review, who, st.id)) for who in ("alice", "bob", "carol")
    }, where=assess)
    assert len(_independent(review, st.id)) == 2, out
    assert sum(isinstance(r, ReviewkitError) for r in out.values()) == 1, out


def test_one_assessor_starting_twice_at_once_has_one_assessment(review: Review,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The TUI and the CLI (or a repeated key) starting alice's assessment together: before the fix both
    found none of hers on PostgreSQL and she had two assessments, counted as two assessors."""
    st = extract.create_study(review, "alice", "S1")
    out = race(monkeypatch, review, "independent_assessments", {
        name: (lambda: assess.start_assessment(review, "alice", st.id)) for name in ("tui", "cli")
    }, where=assess)
    assert all(isinstance(r, AssessmentView) for r in out.values()), out
    assert len(_independent(review, st.id)) == 1


def test_two_first_recordings_of_a_consensus_at_once_make_one(review: Review,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead and the adjudicator record the first consensus together: before the fix both found none on
    PostgreSQL and the study's outcome had two consensus assessments, one of them never shown again."""
    st = extract.create_study(review, "alice", "S1")
    for who, d3 in (("bob", "high"), ("carol", "low")):
        aid = assess.start_assessment(review, who, st.id).id
        for domain in (f"D{i}" for i in range(1, 8)):
            assess.answer(review, who, aid, domain, d3 if domain == "D3" else "low", "as reported")
        assess.finish(review, who, aid)
    out = race(monkeypatch, review, "latest_consensus", {
        who: (lambda who=who: assess_consensus.record_consensus(review, who, st.id, answers={"D3": "unclear"}))
        for who in ("alice", "carol")
    }, where=assess_consensus)
    assert not [r for r in out.values() if isinstance(r, Exception)], out
    with session_scope(review.engine) as session:
        consensus = [a for a in rob_store.assessments(session, study_id=st.id) if a.is_consensus]
    assert len(consensus) == 1


def test_an_import_and_a_start_of_one_assessment_at_once_make_one(review: Review, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """bob imports his judgements while his TUI starts the same assessment: before the fix both found
    none of his on PostgreSQL and he had two assessments of the study."""
    st = extract.create_study(review, "alice", "S1")
    path = tmp_path / "rob.csv"
    path.write_text("study,outcome,assessor,consensus,tool,variant,question,answer,support\n"
                    + "".join(f"S1,,bob,no,rob1,,D{i},low,as reported\n" for i in range(1, 8)), encoding="utf-8")
    out = race(monkeypatch, review, "assessments", {
        "tui": lambda: assess.start_assessment(review, "bob", st.id),
        "import": lambda: import_rob(review, path, actor="bob"),
    }, where=rob_store)
    assert not [r for r in out.values() if isinstance(r, Exception)], out
    assert _independent(review, st.id) == [(2, st.id)]

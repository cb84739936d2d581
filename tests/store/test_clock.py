"""Tests that screening rows are dated by one clock for the whole team: the PostgreSQL server's, so a
screener's machine whose clock is wrong cannot date an adjudication before the decisions it settles (which
the review's own `decisions export --history` would then fail to import back); on SQLite (one machine), this
machine's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from reviewkit.services import conflicts, screen, screen_full_text, screen_state
from reviewkit.services.decisions_export import export_decisions
from reviewkit.services.decisions_import import import_decisions
from reviewkit.services.project import Review
from reviewkit.store import tables
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AdjudicationRow, AuditEventRow, FullTextRow, ScreeningDecisionRow
from tests.factories import add_records, write_csv

#: A machine whose clock is a year behind.
BEHIND = datetime(2001, 1, 1, tzinfo=UTC)


def test_decisions_adjudications_and_full_text_rows_take_the_reviews_clock(review: Review,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (rid,) = add_records(review, 1)
    monkeypatch.setattr(tables, "utcnow", lambda: BEHIND)
    screen.record_decision(review, "alice", rid, "ta", "include")
    screen.record_decision(review, "bob", rid, "ta", "exclude")
    conflicts.resolve_conflict(review, "carol", rid, "ta", "include")
    screen_full_text.set_full_text(review, "alice", rid, "sought")
    with session_scope(review.engine) as session:
        rows = [*session.exec(select(ScreeningDecisionRow)), *session.exec(select(AdjudicationRow)),
                *session.exec(select(FullTextRow))]
        events = [e.at for e in session.exec(select(AuditEventRow).where(
            AuditEventRow.entity.in_(["decision", "adjudication", "full_text"])))]  # type: ignore[attr-defined]
        server = (session.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
                  if review.engine.dialect.name == "postgresql" else None)
    assert len(rows) == 4 and len(events) == 4
    times = [r.created_at for r in rows]
    assert sorted(times[:3]) == times[:3] and len(set(times[:3])) == 3  # each after the one it follows
    if server is None:  # SQLite: this machine's clock, wrong or not (a microsecond apart at one reading)
        assert all(BEHIND <= t < BEHIND + timedelta(seconds=1) for t in [*times, *events]), times
    else:  # PostgreSQL: the server's, whatever this machine's says
        assert all(server - timedelta(minutes=1) < t <= server for t in [*times, *events]), (times, server)
        assert times[2] <= times[3]  # the full-text status was set after the adjudication


def _write_rows(path: Path, rows: list[list[object]]) -> Path:
    return write_csv(path, [dict(zip(["record", "reviewer", "stage", "decision", "reason", "note", "time"],
                                     map(str, row), strict=True)) for row in rows])


@pytest.mark.parametrize("then", ["adjudicate", "change"])
def test_a_row_made_after_rows_imported_a_little_ahead_follows_them(review: Review, empty_copy: Review,
                                                                     tmp_path: Path, then: str) -> None:
    """A screener's machine ran 4 minutes fast: the lead imports their decisions dated ahead (within the
    import's tolerance). The adjudication (or a change of mind) made right after is dated after them, not
    by the clock alone, so the review's own history export imports into a copy as it stands."""
    (rid,) = add_records(review, 1)
    add_records(empty_copy, 1)
    ahead = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    rows: list[list[object]] = [[rid, "alice", "ta", "include", "", "", ahead]]
    if then == "adjudicate":
        rows.append([rid, "bob", "ta", "exclude", "", "", ahead])
    import_decisions(review, _write_rows(tmp_path / "in.csv", rows), actor="alice")
    if then == "adjudicate":
        conflicts.resolve_conflict(review, "carol", rid, "ta", "include")
    else:
        screen.record_decision(review, "alice", rid, "ta", "exclude")
    export_decisions(review, tmp_path / "history.csv", history=True, actor="alice")
    import_decisions(empty_copy, tmp_path / "history.csv", actor="alice")
    with session_scope(empty_copy.engine) as session:
        copied = screen_state.record_state(session, rid, "ta", 2)
    with session_scope(review.engine) as session:
        assert copied == screen_state.record_state(session, rid, "ta", 2)


def test_risk_of_bias_rows_take_the_reviews_clock(rob2_review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Assessments, answers, judgements (an escalation, a finish) and their audit events are dated as screening
    rows are: whether an escalation was a choice is told from which answers were stored before it, so two
    assessors' machines whose clocks differ must not misorder them."""
    from reviewkit.services import assess
    from tests.services.test_assess import add_study, fill
    from tests.services.test_rob_consensus_overrides import TWO_CONCERNS

    study = add_study(rob2_review)
    monkeypatch.setattr(tables, "utcnow", lambda: BEHIND)
    aid = assess.start_assessment(rob2_review, "alice", study, "IGA").id
    fill(rob2_review, "alice", aid, TWO_CONCERNS)
    assess.finish(rob2_review, "alice", aid, escalate=True, reason="together they undermine it")
    with session_scope(rob2_review.engine) as session:
        rows = [*session.exec(select(tables.RobAssessmentRow)), *session.exec(select(tables.RobAnswerRow)),
                *session.exec(select(tables.RobJudgementRow))]
        events = [e.at for e in session.exec(select(AuditEventRow).where(
            AuditEventRow.entity.in_(["rob_assessment", "rob_answer", "rob_judgement"])))]  # type: ignore[attr-defined]
        server = (session.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
                  if rob2_review.engine.dialect.name == "postgresql" else None)
    times = [r.created_at for r in rows]
    assert len(rows) > len(TWO_CONCERNS) and len(events) == len(rows)
    if server is None:  # SQLite: this machine's clock
        assert all(BEHIND <= t < BEHIND + timedelta(seconds=1) for t in [*times, *events]), times
    else:  # PostgreSQL: the server's, whatever this machine's says; answers dated before the escalation
        assert all(server - timedelta(minutes=1) < t <= server for t in [*times, *events]), (times, server)
        answers = [r.created_at for r in rows if isinstance(r, tables.RobAnswerRow)]
        overall = [r.created_at for r in rows if isinstance(r, tables.RobJudgementRow) and r.domain == "overall"]
        assert max(answers) < min(overall)

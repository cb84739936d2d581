"""Tests that screening rows are dated by one clock for the whole team: the PostgreSQL server's, so a
screener's machine whose clock is wrong cannot date an adjudication before the decisions it settles (which
the review's own `decisions export --history` would then fail to import back); on SQLite (one machine), this
machine's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from reviewkit.services import conflicts, screen, screen_full_text
from reviewkit.services.project import Review
from reviewkit.store import tables
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AdjudicationRow, AuditEventRow, FullTextRow, ScreeningDecisionRow
from tests.factories import add_records

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
    if server is None:  # SQLite: this machine's clock, wrong or not
        assert set(times) == set(events) == {BEHIND}
    else:  # PostgreSQL: the server's, whatever this machine's says
        assert all(server - timedelta(minutes=1) < t <= server for t in [*times, *events]), (times, server)
        decided, adjudicated, full_text = times[:2], times[2], times[3]
        assert max(decided) <= adjudicated <= full_text  # in the order they were made

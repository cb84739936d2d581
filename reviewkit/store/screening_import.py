"""Provides the bulk write of a decisions import: its decisions and adjudications, with their audit events.

The rows are the same as store.screening.add_decision and add_adjudication write one at a time (a change of
mind points at the row it supersedes, each row has its audit event, a row is never dated before the record's
latest), but written in a few multi-row INSERTs. One at a time, each row cost four queries and two flushes
(~7 ms on SQLite, bench/bench_decisions_import.py): 100,000 rows of a large review's decisions took minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from reviewkit.store.db import stored_id
from reviewkit.store.screening import by_whom, decision_action, decision_dict
from reviewkit.store.tables import AdjudicationRow, AuditEventRow, ReviewerRow, ScreeningDecisionRow

#: Records read per query (well under SQLite's limit of bound parameters).
_CHUNK = 2_000
ADJUDICATOR = "adjudicator"


@dataclass(frozen=True, slots=True)
class Imported:
    """One row of an import to store: a screener's decision, or (role "adjudicator") an adjudication.
    `time` is the file's time for it (None: dated by the review's clock, as a decision made now)."""

    record_id: int
    reviewer: ReviewerRow
    role: str
    stage: str
    decision: str
    reason: str | None
    note: str | None
    time: datetime | None


@dataclass(slots=True)
class _Written:
    """A decision as the next one on its (record, reviewer, stage) sees it: stored, or planned in this import."""

    stage: str
    decision: str
    reason: str | None
    note: str | None
    id: int | None = None
    #: Whether the decision it supersedes is one of this import (its id known only once both are in).
    chained: bool = False
    values: dict[str, Any] = field(default_factory=dict)


def store_imported(session: Session, rows: Sequence[Imported], *, actor: ReviewerRow, imported: str,
                   now: datetime) -> None:
    """Write `rows` in file order as `actor` (audited as stored by `actor` from the file `imported`), each row
    without a time dated `now` (the review's clock, read once for the import) but never before its record's
    latest decision or adjudication (a microsecond after it), as store.screening._dated dates a single row."""
    if not rows:
        return
    previous, judged, latest = _stored_state(session, sorted({r.record_id for r in rows}))
    planned: list[tuple[Imported, _Written, Any, datetime]] = []
    for row in rows:
        at = now
        last = latest.get(row.record_id)
        if last is not None and last >= at:
            at = last + timedelta(microseconds=1)
        created = row.time or at
        latest[row.record_id] = created if last is None else max(last, created)
        values = {"record_id": row.record_id, "stage": row.stage, "decision": row.decision, "reason": row.reason,
                  "note": row.note, "created_at": created}
        if row.role == ADJUDICATOR:
            before_adj = judged.get((row.record_id, row.stage))
            judged[(row.record_id, row.stage)] = (row.decision, row.reason)
            values["adjudicator_id"] = row.reviewer.id
            planned.append((row, _Written(row.stage, row.decision, row.reason, row.note, values=values),
                            before_adj, at))
            continue
        key = (row.record_id, stored_id(row.reviewer), row.stage)
        before = previous.get(key)
        values["reviewer_id"] = row.reviewer.id
        written = _Written(row.stage, row.decision, row.reason, row.note, values=values,
                           chained=before is not None and before.id is None)
        previous[key] = written
        planned.append((row, written, before, at))
    _insert_decisions(session, planned)
    _insert_returning(session, AdjudicationRow, [w for r, w, _, _ in planned if r.role == ADJUDICATOR])
    events = [_event(row, written, before, at, actor, imported) for row, written, before, at in planned]
    session.execute(insert(AuditEventRow), events)


def _stored_state(session: Session, record_ids: list[int]) -> tuple[
        dict[tuple[int, int, str], _Written], dict[tuple[int, str], tuple[str, str | None]], dict[int, datetime]]:
    """For these records: each reviewer's newest decision row per stage, the newest adjudication per stage
    (its decision and reason), and the latest time either was dated."""
    previous: dict[tuple[int, int, str], _Written] = {}
    judged: dict[tuple[int, str], tuple[str, str | None]] = {}
    latest: dict[int, datetime] = {}

    def seen(record_id: int, at: datetime) -> None:
        if record_id not in latest or at > latest[record_id]:
            latest[record_id] = at

    for start in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[start:start + _CHUNK]
        for d in session.exec(select(ScreeningDecisionRow).where(col(ScreeningDecisionRow.record_id).in_(chunk))
                              .order_by(col(ScreeningDecisionRow.id))):
            previous[(d.record_id, d.reviewer_id, d.stage)] = _Written(d.stage, d.decision, d.reason, d.note, d.id)
            seen(d.record_id, d.created_at)
        for a in session.exec(select(AdjudicationRow).where(col(AdjudicationRow.record_id).in_(chunk))
                              .order_by(col(AdjudicationRow.id))):
            judged[(a.record_id, a.stage)] = (a.decision, a.reason)
            seen(a.record_id, a.created_at)
    return previous, judged, latest


def _insert_decisions(session: Session, planned: list[tuple[Imported, _Written, Any, datetime]]) -> None:
    """Insert the decisions in file order (ids in that order: exports list decisions by id), then point each
    change of mind on a decision of this same import at it, once that one has its id."""
    batch = [w for row, w, _, _ in planned if row.role != ADJUDICATOR]
    for row, written, before, _ in planned:
        if row.role != ADJUDICATOR:
            written.values["supersedes_id"] = before.id if before is not None else None
    _insert_returning(session, ScreeningDecisionRow, batch)
    chained = [{"row_id": w.id, "previous_id": before.id} for row, w, before, _ in planned
               if row.role != ADJUDICATOR and w.chained]
    if chained:
        table = ScreeningDecisionRow.__table__  # type: ignore[attr-defined]
        session.execute(update(table).where(table.c.id == bindparam("row_id"))
                        .values(supersedes_id=bindparam("previous_id")), chained)


def _insert_returning(session: Session, table: type[ScreeningDecisionRow] | type[AdjudicationRow],
                      batch: list[_Written]) -> None:
    """One multi-row INSERT of `batch`, each _Written given the id it was stored with."""
    if not batch:
        return
    statement = insert(table).returning(col(table.id), sort_by_parameter_order=True)
    ids = session.execute(statement, [w.values for w in batch]).scalars().all()
    for written, new_id in zip(batch, ids, strict=True):
        written.id = new_id


def _event(row: Imported, written: _Written, before: Any, at: datetime, actor: ReviewerRow,
           imported: str) -> dict[str, Any]:
    """The audit event add_decision or add_adjudication would write for this row."""
    whom = by_whom(row.reviewer, actor, imported)
    if row.role == ADJUDICATOR:
        return {"at": at, "actor": actor.name, "entity": "adjudication", "entity_id": written.id,
                "record_id": row.record_id, "action": "adjudicate",
                "old": {"decision": before[0], "reason": before[1]} if before else None,
                "new": {"stage": row.stage, "decision": row.decision, "reason": row.reason, "note": row.note,
                        **whom}}
    return {"at": at, "actor": actor.name, "entity": "decision", "entity_id": written.id,
            "record_id": row.record_id, "action": decision_action(before, row.decision),
            "old": decision_dict(before), "new": {**(decision_dict(written) or {}), **whom}}

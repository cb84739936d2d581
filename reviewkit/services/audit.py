"""Provides the audit trail: the append-only history of decisions, merges, RoB answers and values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from reviewkit.errors import ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RecordRow


@dataclass(frozen=True)
class AuditEvent:
    """Who changed what, when, from what to what."""

    id: int
    at: datetime
    actor: str
    entity: str
    entity_id: int | None
    record_id: int | None
    action: str
    old: Any
    new: Any


def read_audit(
    review: Review, reader: str | None, *, record_id: int | None = None, limit: int | None = None
) -> list[AuditEvent]:
    """The events as `reader` may read them: leads only (what `reviewkit audit` shows).

    Events carry every reviewer's decisions, adjudications, risk-of-bias answers and extracted
    values, old and new, whatever the blinding; filtering them per reader would have to restate
    each stage's blinding rule, so the whole trail is the leads' (who see everything anyway).
    """
    with session_scope(review.engine) as session:
        acting_reviewer(session, reader, "lead")
        if record_id is not None and session.get(RecordRow, record_id) is None:
            # An empty history would read as "nothing ever happened to it", not as a mistyped id.
            raise ReviewkitError(f"no record {record_id} in this review",
                                 hint="reviewkit export records FILE.csv lists the record ids")
        return _events(session, record_id, limit)


def audit_trail(review: Review, *, record_id: int | None = None, limit: int | None = None) -> list[AuditEvent]:
    """The events, oldest first (only one record's, if given), unchecked: for services and tests.

    An interface shows the trail through read_audit, which checks the reader is a lead.
    """
    with session_scope(review.engine) as session:
        return _events(session, record_id, limit)


def _events(session: Session, record_id: int | None, limit: int | None) -> list[AuditEvent]:
    rows = queries.audit_events(session, record_id, None if record_id is not None else limit)
    if record_id is not None:
        seen = {r.id for r in rows}
        rows = sorted([*rows, *(r for r in queries.dedup_events_naming(session, record_id) if r.id not in seen)],
                      key=lambda r: r.id or 0)
        rows = rows[-limit:] if limit else rows
    return [AuditEvent(r.id or 0, r.at, r.actor, r.entity, r.entity_id, r.record_id, r.action, r.old, r.new)
            for r in rows]


def decision_history(events: list[AuditEvent]) -> dict[tuple[str, str], str | None]:
    """Replay decision events into each (reviewer, stage)'s current decision: the state, from history alone.

    The reviewer is the event's actor, or the `reviewer` its `new` names when someone else stored
    the decision (a lead's import of a colleague's rows).
    """
    state: dict[tuple[str, str], str | None] = {}
    for e in events:
        if e.entity != "decision" or not isinstance(e.new, dict):
            continue
        decision = e.new.get("decision")
        state[(owner(e), e.new.get("stage", ""))] = None if decision == "retracted" else decision
    return state


def owner(event: AuditEvent) -> str:
    """Whose decision or adjudication the event records: the actor, unless its `new` names another
    reviewer (store.screening: an import by a lead stores colleagues' rows)."""
    named = event.new.get("reviewer") if isinstance(event.new, dict) else None
    return named if isinstance(named, str) and named else event.actor


def provenance(event: AuditEvent) -> str:
    """How `reviewkit audit` words an event stored on someone's behalf or from a file, or "":
    "bob's decision, imported from in.csv"."""
    if event.entity not in ("decision", "adjudication") or not isinstance(event.new, dict):
        return ""
    parts = []
    if owner(event) != event.actor:
        parts.append(f"{owner(event)}'s {event.entity}")
    if event.new.get("imported"):
        parts.append(f"imported from {event.new['imported']}")
    return ", ".join(parts)

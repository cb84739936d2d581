"""Provides the screening writes and reads: decisions, adjudications, full-text status (append-only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from reviewkit.domain.screening import DECISIONS, Decision, is_decision
from reviewkit.errors import ReviewkitError
from reviewkit.store import clock
from reviewkit.store.db import REVIEWERS_LOCK, lock_transaction
from reviewkit.store.tables import (
    AdjudicationRow,
    AuditEventRow,
    FullTextRow,
    RecordRow,
    ReviewerRow,
    ScreeningDecisionRow,
)


class DecisionLike(Protocol):
    """What an audit event reads of a decision: a stored row, or one an import is about to store."""

    stage: str
    decision: str
    reason: str | None
    note: str | None


def reviewer_by_name(session: Session, name: str) -> ReviewerRow | None:
    """The reviewer row called `name`."""
    return session.exec(select(ReviewerRow).where(ReviewerRow.name == name)).first()


def reviewer_names(session: Session) -> dict[int, str]:
    """reviewer id → name."""
    return {rid: name for rid, name in session.exec(select(ReviewerRow.id, ReviewerRow.name))}  # type: ignore[misc]


def latest_decision(session: Session, record_id: int, reviewer_id: int, stage: str) -> ScreeningDecisionRow | None:
    """The reviewer's newest decision row on a record at a stage (may be a retraction)."""
    return session.exec(
        select(ScreeningDecisionRow)
        .where(ScreeningDecisionRow.record_id == record_id)
        .where(ScreeningDecisionRow.reviewer_id == reviewer_id)
        .where(ScreeningDecisionRow.stage == stage)
        .order_by(col(ScreeningDecisionRow.id).desc())
    ).first()


def decisions_on(session: Session, record_id: int, stage: str) -> dict[int, ScreeningDecisionRow]:
    """reviewer id → that reviewer's current (non-retracted) decision row on a record."""
    rows = session.exec(
        select(ScreeningDecisionRow)
        .where(ScreeningDecisionRow.record_id == record_id)
        .where(ScreeningDecisionRow.stage == stage)
        .order_by(col(ScreeningDecisionRow.id))
    )
    latest: dict[int, ScreeningDecisionRow] = {}
    for row in rows:
        latest[row.reviewer_id] = row
    return {rid: row for rid, row in latest.items() if row.decision != "retracted"}


def stored_decision(value: str) -> Decision:
    """A stored decision (a current one, retractions left out, or an adjudication) as the domain's Decision.

    The column is text; every value is checked before it is written (the screening services, the
    decisions import, restore's archive.CHOICES), so this narrows the type once, here, rather than at each use.
    """
    if not is_decision(value):
        raise ReviewkitError(f"the database holds a screening decision '{value}', not one of {', '.join(DECISIONS)}")
    return value


def decisions_of(rows: Mapping[int, ScreeningDecisionRow]) -> dict[int, Decision]:
    """reviewer id → decision, from reviewer id → current decision row (as decisions_on gives them)."""
    return {rid: stored_decision(row.decision) for rid, row in rows.items()}


def add_decision(
    session: Session, *, record_id: int, reviewer: ReviewerRow, stage: str, decision: str,
    reason: str | None, note: str | None, actor: ReviewerRow | None = None, imported: str | None = None,
) -> ScreeningDecisionRow:
    """Append a decision row; a change of mind points at the row it supersedes and is audited.

    `actor` stores it when that is not `reviewer` (a lead importing a colleague's decision): the
    audit event names the actor, and its `new` the reviewer whose decision it is (see _by_whom).
    `imported` is the file it came from. Both are dated by the review's clock (store.clock).
    """
    assert reviewer.id is not None
    previous = latest_decision(session, record_id, reviewer.id, stage)
    at = _dated(session, record_id)
    row = ScreeningDecisionRow(
        record_id=record_id, reviewer_id=reviewer.id, stage=stage, decision=decision, reason=reason,
        note=note, supersedes_id=previous.id if previous else None, created_at=at,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEventRow(
            at=at, actor=(actor or reviewer).name, entity="decision", entity_id=row.id, record_id=record_id,
            action=decision_action(previous, decision),
            old=decision_dict(previous),
            new={**(decision_dict(row) or {}), **by_whom(reviewer, actor, imported)},
        )
    )
    return row


def _dated(session: Session, record_id: int) -> datetime:
    """The time a new decision or adjudication on the record is stored at: the review's clock, but never
    before the record's latest decision or adjudication. An import may bring rows dated a little ahead (a
    screener's machine running fast); a row made now must still follow them, as the time-order checks of
    an import of the review's own `decisions export --history` require."""
    at = clock.now(session)
    for table in (ScreeningDecisionRow, AdjudicationRow):
        latest = session.exec(select(func.max(table.created_at)).where(table.record_id == record_id)).one()
        if latest is not None and latest >= at:
            # A microsecond after, not the same time: at one time an export lists decisions before
            # adjudications, which would put a full-text decision before the adjudication that passed it.
            at = latest + timedelta(microseconds=1)
    return at


def by_whom(owner: ReviewerRow, actor: ReviewerRow | None, imported: str | None) -> dict[str, str]:
    """What an audit event's `new` adds when the row is not the actor's own act: "reviewer" (whose
    decision or adjudication it is, when someone else stored it) and "imported" (the file's name)."""
    out = {"reviewer": owner.name} if actor is not None and actor.name != owner.name else {}
    return {**out, "imported": imported} if imported else out


def decision_action(previous: DecisionLike | None, decision: str) -> str:
    """The audit action of a decision row after `previous` (the reviewer's newest row on the record and stage)."""
    if decision == "retracted":
        return "undo"
    return "decide" if previous is None or previous.decision == "retracted" else "change"


def decision_dict(row: DecisionLike | None) -> dict[str, object] | None:
    """A decision row's stage, decision, reason and note, as its audit events hold them."""
    if row is None:
        return None
    return {"stage": row.stage, "decision": row.decision, "reason": row.reason, "note": row.note}


def add_adjudication(
    session: Session, *, record_id: int, adjudicator: ReviewerRow, stage: str, decision: str,
    reason: str | None, note: str | None, actor: ReviewerRow | None = None, imported: str | None = None,
) -> AdjudicationRow:
    """Append an adjudication and its audit event (`actor` and `imported` as add_decision's), dated by the
    review's clock (store.clock)."""
    assert adjudicator.id is not None
    previous = session.exec(
        select(AdjudicationRow).where(AdjudicationRow.record_id == record_id)
        .where(AdjudicationRow.stage == stage).order_by(col(AdjudicationRow.id).desc())
    ).first()
    at = _dated(session, record_id)
    row = AdjudicationRow(
        record_id=record_id, stage=stage, adjudicator_id=adjudicator.id, decision=decision,
        reason=reason, note=note, created_at=at,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEventRow(
            at=at, actor=(actor or adjudicator).name, entity="adjudication", entity_id=row.id, record_id=record_id,
            action="adjudicate",
            old={"decision": previous.decision, "reason": previous.reason} if previous else None,
            new={"stage": stage, "decision": decision, "reason": reason, "note": note,
                 **by_whom(adjudicator, actor, imported)},
        )
    )
    return row


def add_full_text(
    session: Session, *, record_id: int, status: str, location: str | None, note: str | None,
    reviewer: ReviewerRow | None,
) -> FullTextRow:
    """Append a full-text status change and its audit event, dated by the review's clock (store.clock)."""
    previous = latest_full_text(session, record_id)
    at = clock.now(session)
    row = FullTextRow(
        record_id=record_id, status=status, location=location, note=note,
        reviewer_id=reviewer.id if reviewer else None, created_at=at,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEventRow(
            at=at, actor=reviewer.name if reviewer else "", entity="full_text", entity_id=row.id,
            record_id=record_id, action="status",
            # The note too: it says why a report was not retrieved, which the audit would otherwise lose.
            old={"status": previous.status, "location": previous.location, "note": previous.note} if previous else None,
            new={"status": status, "location": location, "note": note},
        )
    )
    return row


def latest_full_text(session: Session, record_id: int) -> FullTextRow | None:
    """The record's newest full-text status row."""
    return session.exec(
        select(FullTextRow).where(FullTextRow.record_id == record_id).order_by(col(FullTextRow.id).desc())
    ).first()


def full_text_statuses(session: Session) -> dict[int, FullTextRow]:
    """record → its newest full-text status row."""
    out: dict[int, FullTextRow] = {}
    for row in session.exec(select(FullTextRow).order_by(col(FullTextRow.id))):
        out[row.record_id] = row
    return out


def not_retrieved_ids(session: Session) -> set[int]:
    """The records whose full text is (now) marked not retrieved: PRISMA's "Reports not retrieved"."""
    return {rid for rid, row in full_text_statuses(session).items() if row.status == "not_retrieved"}


def record(session: Session, record_id: int, *, lock: bool = False) -> RecordRow | None:
    """The record row with this id; `lock`: locked until the transaction ends (see lock_records)."""
    return session.get(RecordRow, record_id, with_for_update={"key_share": True} if lock else False)


def lock_records(session: Session, record_ids: Iterable[int]) -> None:
    """Lock these records' rows until the transaction ends, in id order (so two lockers never deadlock).

    Screening writes that check a record's decisions before adding one (a record takes no decision
    beyond its quota) lock it first, so a second writer reads the decisions only once the first has
    committed. PostgreSQL only in effect (FOR NO KEY UPDATE: rows referring to the record may still be
    added); a SQLite write transaction holds the database's write lock from its start.
    """
    ids = sorted(set(record_ids))
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    for start in range(0, len(ids), _LOCK_BATCH):
        session.exec(select(RecordRow.id).where(col(RecordRow.id).in_(ids[start:start + _LOCK_BATCH]))
                     .order_by(col(RecordRow.id)).with_for_update(key_share=True)).all()


#: Records locked per statement (a file may name tens of thousands).
_LOCK_BATCH = 5000


def all_decision_rows(session: Session, stage: str | None = None) -> list[ScreeningDecisionRow]:
    """Every decision row (history included), oldest first."""
    query = select(ScreeningDecisionRow).order_by(col(ScreeningDecisionRow.id))
    if stage:
        query = query.where(ScreeningDecisionRow.stage == stage)
    return list(session.exec(query))


def adjudication_rows(session: Session, stage: str) -> dict[int, AdjudicationRow]:
    """record → newest adjudication row at the stage."""
    out: dict[int, AdjudicationRow] = {}
    for row in session.exec(
        select(AdjudicationRow).where(AdjudicationRow.stage == stage).order_by(col(AdjudicationRow.id))
    ):
        out[row.record_id] = row
    return out


def adjudication_row(session: Session, record_id: int, stage: str) -> AdjudicationRow | None:
    """The newest adjudication of one record at the stage, or None (what a single decision checks)."""
    return session.exec(
        select(AdjudicationRow)
        .where(AdjudicationRow.stage == stage, AdjudicationRow.record_id == record_id)
        .order_by(col(AdjudicationRow.id).desc())
        .limit(1)
    ).first()


def reviewer_roles(session: Session) -> dict[str, list[str]]:
    """Every reviewer's roles, by name."""
    return {row.name: list(row.roles) for row in session.exec(select(ReviewerRow))}


def reviewer_rows(session: Session) -> dict[str, ReviewerRow]:
    """Every reviewer's row, by name."""
    return {row.name: row for row in session.exec(select(ReviewerRow))}


def upsert_reviewers(session: Session, wanted: dict[str, list[str]]) -> None:
    """Add the reviewers not yet known and give every named one the roles wanted. None are deleted: one
    the protocol no longer names keeps their decisions (which still count) but loses every role, so
    they can no longer act on the review."""
    # Two team members opening the review at once after a reviewer was added both read them missing and
    # both inserted them: on PostgreSQL the second open failed on the unique name with a traceback. They
    # queue here instead, and the second reads the first's row (a SQLite write holds the write lock already).
    lock_transaction(session, REVIEWERS_LOCK)
    have = reviewer_rows(session)
    for name, roles in wanted.items():
        row = have.get(name)
        if row is None:
            session.add(ReviewerRow(name=name, roles=roles))
        elif row.roles != roles:
            row.roles = roles
            session.add(row)
    for name, row in have.items():
        if name not in wanted and row.roles:
            row.roles = []
            session.add(row)

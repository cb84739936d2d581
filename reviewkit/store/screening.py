"""Provides the screening writes and reads: decisions, adjudications, full-text status (append-only)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from reviewkit.store.tables import (
    AdjudicationRow,
    AuditEventRow,
    FullTextRow,
    RecordRow,
    ReviewerRow,
    ScreeningDecisionRow,
)


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


def add_decision(
    session: Session, *, record_id: int, reviewer: ReviewerRow, stage: str, decision: str,
    reason: str | None, note: str | None,
) -> ScreeningDecisionRow:
    """Append a decision row; a change of mind points at the row it supersedes and is audited."""
    assert reviewer.id is not None
    previous = latest_decision(session, record_id, reviewer.id, stage)
    row = ScreeningDecisionRow(
        record_id=record_id, reviewer_id=reviewer.id, stage=stage, decision=decision, reason=reason,
        note=note, supersedes_id=previous.id if previous else None,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEventRow(
            actor=reviewer.name, entity="decision", entity_id=row.id, record_id=record_id,
            action=_action(previous, decision),
            old=_decision_dict(previous), new=_decision_dict(row),
        )
    )
    return row


def _action(previous: ScreeningDecisionRow | None, decision: str) -> str:
    if decision == "retracted":
        return "undo"
    return "decide" if previous is None or previous.decision == "retracted" else "change"


def _decision_dict(row: ScreeningDecisionRow | None) -> dict[str, object] | None:
    if row is None:
        return None
    return {"stage": row.stage, "decision": row.decision, "reason": row.reason, "note": row.note}


def add_adjudication(
    session: Session, *, record_id: int, adjudicator: ReviewerRow, stage: str, decision: str,
    reason: str | None, note: str | None,
) -> AdjudicationRow:
    """Append an adjudication and its audit event."""
    assert adjudicator.id is not None
    previous = session.exec(
        select(AdjudicationRow).where(AdjudicationRow.record_id == record_id)
        .where(AdjudicationRow.stage == stage).order_by(col(AdjudicationRow.id).desc())
    ).first()
    row = AdjudicationRow(
        record_id=record_id, stage=stage, adjudicator_id=adjudicator.id, decision=decision,
        reason=reason, note=note,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEventRow(
            actor=adjudicator.name, entity="adjudication", entity_id=row.id, record_id=record_id,
            action="adjudicate",
            old={"decision": previous.decision, "reason": previous.reason} if previous else None,
            new={"stage": stage, "decision": decision, "reason": reason, "note": note},
        )
    )
    return row


def add_full_text(
    session: Session, *, record_id: int, status: str, location: str | None, note: str | None,
    reviewer: ReviewerRow | None,
) -> FullTextRow:
    """Append a full-text status change and its audit event."""
    previous = latest_full_text(session, record_id)
    row = FullTextRow(
        record_id=record_id, status=status, location=location, note=note,
        reviewer_id=reviewer.id if reviewer else None,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEventRow(
            actor=reviewer.name if reviewer else "", entity="full_text", entity_id=row.id,
            record_id=record_id, action="status",
            old={"status": previous.status, "location": previous.location} if previous else None,
            new={"status": status, "location": location},
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


def record(session: Session, record_id: int) -> RecordRow | None:
    """The record row with this id."""
    return session.get(RecordRow, record_id)


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


def upsert_reviewers(session: Session, wanted: dict[str, list[str]]) -> None:
    """Add the reviewers not yet known and give every named one the roles wanted. None are deleted: one
    the protocol no longer names keeps their decisions (which still count) but loses every role, so
    they can no longer act on the review."""
    have = {row.name: row for row in session.exec(select(ReviewerRow))}
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

"""Provides the extraction writes and reads: studies and their reports, arms and values, and whether each
extractor has finished a study (all append-only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from reviewkit.store.queries import removed_duplicates
from reviewkit.store.studies import add_study as add_study
from reviewkit.store.tables import (
    ArmRow,
    AuditEventRow,
    ExtractionStatusRow,
    ExtractionValueRow,
    RecordRow,
    ReviewerRow,
    StudyReportRow,
    StudyRow,
)

#: Who wrote a row, as current-value lookups key it: (is_consensus, extractor id or None for consensus).
Author = tuple[bool, int | None]
ValueKey = tuple[str, str, str, str]  # arm, outcome, timepoint, field


def author_of(row: ArmRow | ExtractionValueRow) -> Author:
    """Consensus rows share one author whoever recorded them; others belong to their extractor."""
    return (True, None) if row.is_consensus else (False, row.extractor_id)


def studies(session: Session) -> list[StudyRow]:
    """Every study, oldest first."""
    return list(session.exec(select(StudyRow).order_by(col(StudyRow.id))))


def study(session: Session, study_id: int, *, lock: bool = False) -> StudyRow | None:
    """The study with this id; `lock`: locked until the transaction ends (PostgreSQL; a SQLite write
    transaction already holds the database), as store.dedup.study locks it: FOR NO KEY UPDATE, so rows
    merely referencing the study are not held up, while a second locker waits."""
    return session.get(StudyRow, study_id, with_for_update={"key_share": True} if lock else None)


def study_by_label(session: Session, label: str) -> StudyRow | None:
    """The (oldest) study with this label."""
    return session.exec(select(StudyRow).where(StudyRow.label == label).order_by(col(StudyRow.id))).first()


def reports_of(session: Session, study_id: int) -> list[RecordRow]:
    """The records linked to a study (links not rejected), oldest first."""
    return list(session.exec(
        select(RecordRow).join(StudyReportRow, col(StudyReportRow.record_id) == col(RecordRow.id))
        .where(StudyReportRow.study_id == study_id).where(StudyReportRow.status != "rejected")
        .order_by(col(RecordRow.id))
    ))


def report_counts(session: Session) -> dict[int, int]:
    """study id → number of linked reports, as PRISMA counts them: links not rejected, of records that
    are not removed duplicates (their links were carried over to the group's primary)."""
    removed = removed_duplicates(session)
    out: dict[int, int] = {}
    for sid, rid in session.exec(select(StudyReportRow.study_id, StudyReportRow.record_id)
                                 .where(StudyReportRow.status != "rejected")):
        if rid not in removed:
            out[sid] = out.get(sid, 0) + 1
    return out


def registry_records(session: Session, nct_id: str) -> list[RecordRow]:
    """Registry records (kind "registry") of a trial, newest first."""
    rows = session.exec(select(RecordRow).where(RecordRow.kind == "registry").order_by(col(RecordRow.id).desc()))
    return [r for r in rows if nct_id in (r.nct_ids or [])]


def current_arms(session: Session, study_ids: Iterable[int] | None = None) -> dict[tuple[int, Author], dict[str, ArmRow]]:
    """(study, author) → arm label → that author's newest row for the arm, in first-entered order."""
    query = select(ArmRow).order_by(col(ArmRow.id))
    if study_ids is not None:
        query = query.where(col(ArmRow.study_id).in_(list(study_ids)))
    out: dict[tuple[int, Author], dict[str, ArmRow]] = {}
    for row in session.exec(query):
        out.setdefault((row.study_id, author_of(row)), {})[row.label] = row
    # An arm whose newest row is marked removed no longer counts (its history stays).
    return {k: {label: r for label, r in arms.items() if not r.fields.get("_removed")}
            for k, arms in out.items()}


def removed_arm_labels(session: Session, study_id: int, author: Author) -> set[str]:
    """The labels of `author`'s arms of a study whose newest row marks them removed (current_arms leaves
    them out; this tells a removed arm from one never entered)."""
    newest: dict[str, ArmRow] = {}
    for row in session.exec(select(ArmRow).where(ArmRow.study_id == study_id).order_by(col(ArmRow.id))):
        if author_of(row) == author:
            newest[row.label] = row
    return {label for label, row in newest.items() if row.fields.get("_removed")}


def add_arm(session: Session, *, previous: ArmRow | None, actor: ReviewerRow, consensus: bool,
            values: dict[str, Any], by: ReviewerRow | None = None) -> ArmRow:
    """Append an arm row (a change is a new row) in `actor`'s extraction and its audit event, old → new;
    `by`: who wrote it when not `actor` (a lead importing a table), named as the event's actor."""
    row = ArmRow(extractor_id=actor.id, is_consensus=consensus, **values)
    session.add(row)
    session.flush()
    session.add(AuditEventRow(actor=(by or actor).name, entity="arm", entity_id=row.id,
                              action="change" if previous else "create",
                              old=arm_dict(previous), new=_for(arm_dict(row), actor, by)))
    return row


def _for(new: dict[str, Any] | None, owner: ReviewerRow, by: ReviewerRow | None) -> dict[str, Any] | None:
    """The audit's new state, naming whose extraction it went into when someone else wrote it."""
    if new is None or by is None or by.id == owner.id:
        return new
    return {**new, "extractor": owner.name}


def arm_dict(row: ArmRow | None) -> dict[str, Any] | None:
    """An arm row's values, for the audit trail."""
    if row is None:
        return None
    return {"study_id": row.study_id, "label": row.label, "intervention": row.intervention, "dose": row.dose,
            "co_intervention": row.co_intervention, "n_randomised": row.n_randomised, "fields": dict(row.fields),
            "consensus": row.is_consensus}


def current_values(session: Session, study_ids: Iterable[int] | None = None
                   ) -> dict[tuple[int, Author], dict[ValueKey, ExtractionValueRow]]:
    """(study, author) → (arm, outcome, timepoint, field) → newest row (its value may be None: cleared)."""
    query = select(ExtractionValueRow).order_by(col(ExtractionValueRow.id))
    if study_ids is not None:
        query = query.where(col(ExtractionValueRow.study_id).in_(list(study_ids)))
    out: dict[tuple[int, Author], dict[ValueKey, ExtractionValueRow]] = {}
    for row in session.exec(query):
        out.setdefault((row.study_id, author_of(row)), {})[(row.arm, row.outcome, row.timepoint, row.field)] = row
    return out


def last_ci_levels(session: Session, study_id: int, author: Author) -> dict[tuple[str, str, str], float]:
    """(arm, outcome, timepoint) → the level its SD was last converted at from a CI, in `author`'s extraction,
    also where that SD has since been cleared (the CI it came from was corrected)."""
    query = (select(ExtractionValueRow).where(ExtractionValueRow.study_id == study_id)
             .where(ExtractionValueRow.field == "sd").order_by(col(ExtractionValueRow.id)))
    out: dict[tuple[str, str, str], float] = {}
    for row in session.exec(query):
        if author_of(row) != author or row.origin.startswith("cleared:"):
            continue  # a clearing keeps the level of the conversion it cleared
        record = row.converted_from or {}
        inputs = record.get("inputs")
        level = inputs.get("level") if record.get("method") == "ci" and isinstance(inputs, dict) else None
        key = (row.arm, row.outcome, row.timepoint)
        if isinstance(level, int | float) and not isinstance(level, bool):
            out[key] = float(level)
        else:  # any later SD (typed, from SE or quantiles, a CI of no named level) ends what came before
            out.pop(key, None)
    return out


def add_value(session: Session, *, previous: ExtractionValueRow | None, actor: ReviewerRow, consensus: bool,
              study_id: int, key: ValueKey, value: str | None, unit: str | None,
              converted_from: dict[str, Any] | None, origin: str, by: ReviewerRow | None = None) -> ExtractionValueRow:
    """Append a value row (a change is a new row) in `actor`'s extraction and its audit event, old → new;
    `by` as for add_arm."""
    arm, outcome, timepoint, field = key
    row = ExtractionValueRow(study_id=study_id, arm=arm, outcome=outcome, timepoint=timepoint, field=field,
                             value=value, unit=unit, converted_from=converted_from or {}, origin=origin,
                             extractor_id=actor.id, is_consensus=consensus)
    session.add(row)
    session.flush()
    session.add(AuditEventRow(
        actor=(by or actor).name, entity="extraction", entity_id=row.id, action="change" if previous else "set",
        old=_value_dict(previous), new=_for(_value_dict(row), actor, by)))
    return row


def _value_dict(row: ExtractionValueRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"study_id": row.study_id, "arm": row.arm, "outcome": row.outcome, "timepoint": row.timepoint,
            "field": row.field, "value": row.value, "unit": row.unit, "origin": row.origin,
            "converted_from": dict(row.converted_from), "consensus": row.is_consensus}


def reviewers_by_id(session: Session) -> dict[int, ReviewerRow]:
    """reviewer id → row."""
    return {r.id: r for r in session.exec(select(ReviewerRow)) if r.id is not None}


#: An extraction's states (extraction_status.status); without a row, an extraction is open.
FINISHED, OPEN = "finished", "open"


def finished_by_study(session: Session, study_ids: Iterable[int] | None = None) -> dict[int, set[int]]:
    """study id → the extractors whose extraction of it is finished (the newest row per extractor wins)."""
    query = select(ExtractionStatusRow).order_by(col(ExtractionStatusRow.id))
    if study_ids is not None:
        query = query.where(col(ExtractionStatusRow.study_id).in_(list(study_ids)))
    newest: dict[tuple[int, int], str] = {}
    for row in session.exec(query):
        newest[(row.study_id, row.extractor_id)] = row.status
    out: dict[int, set[int]] = {}
    for (sid, rid), status in newest.items():
        if status == FINISHED:
            out.setdefault(sid, set()).add(rid)
    return out


def finished_extractors(session: Session, study_id: int) -> set[int]:
    """The extractors whose extraction of the study is finished (the newest row per extractor wins)."""
    return finished_by_study(session, [study_id]).get(study_id, set())


def add_status(session: Session, *, study_id: int, extractor: ReviewerRow, status: str, actor: str,
               previous: str) -> ExtractionStatusRow:
    """Append a status row for `extractor`'s extraction of a study and its audit event, `previous` → `status`."""
    assert extractor.id is not None and status in (FINISHED, OPEN)
    row = ExtractionStatusRow(study_id=study_id, extractor_id=extractor.id, status=status, actor=actor)
    session.add(row)
    session.flush()
    state = {"study_id": study_id, "extractor": extractor.name}
    session.add(AuditEventRow(actor=actor, entity="extraction_status", entity_id=row.id,
                              action="finish" if status == FINISHED else "reopen",
                              old={**state, "status": previous}, new={**state, "status": status}))
    return row

"""Provides the read queries several services share (counts, current decisions, duplicates)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePath
from typing import cast

from sqlalchemy import func
from sqlmodel import Session, col, select

from reviewkit.domain.screening import Decision
from reviewkit.store.tables import (
    AdjudicationRow,
    AuditEventRow,
    DuplicateGroupRow,
    DuplicateMemberRow,
    RecordRow,
    ScreeningDecisionRow,
    SourceRunRow,
    StudyReportRow,
)


def identified_by_source(session: Session) -> dict[str, int]:
    """Records identified per source name: distinct records linked to that source's runs.

    A re-run of a search links the records it found again instead of adding them twice, so
    counting distinct links keeps "identified = records" true for PRISMA. A name imported under
    two kinds (PubMed as a database and as a register) sums both; identified_by_run_kind keeps them apart.
    """
    out: dict[str, int] = defaultdict(int)
    for (_, source), n in identified_by_run_kind(session, per_database=False).items():
        out[source] += n
    return dict(out)


def record_ids(session: Session) -> set[int]:
    """Every record's id."""
    return {rid for rid in session.exec(select(RecordRow.id)) if rid is not None}


def removed_duplicates(session: Session) -> set[int]:
    """Ids of records removed as duplicates (members of a live group other than its primary)."""
    rows = session.exec(
        select(DuplicateMemberRow.record_id, DuplicateGroupRow.primary_record_id)
        .join(DuplicateGroupRow, col(DuplicateMemberRow.group_id) == col(DuplicateGroupRow.id))
        .where(col(DuplicateGroupRow.undone_at).is_(None))
    )
    return {rid for rid, primary in rows if rid != primary}


def current_decisions(session: Session, stage: str) -> dict[int, dict[int, Decision]]:
    """record → reviewer id → that reviewer's latest decision at the stage (retractions dropped).

    The column holds a Decision or "retracted" (the service checks each value before it is
    written), so what is left once retractions are dropped is a Decision.
    """
    latest: dict[tuple[int, int], str] = {}
    rows = session.exec(
        select(
            ScreeningDecisionRow.record_id, ScreeningDecisionRow.reviewer_id,
            ScreeningDecisionRow.decision,
        )
        .where(ScreeningDecisionRow.stage == stage)
        .order_by(col(ScreeningDecisionRow.id))
    )
    for record_id, reviewer_id, decision in rows:
        latest[(record_id, reviewer_id)] = decision
    out: dict[int, dict[int, Decision]] = defaultdict(dict)
    for (record_id, reviewer_id), decision in latest.items():
        if decision != "retracted":
            out[record_id][reviewer_id] = cast(Decision, decision)
    return dict(out)


def adjudications(session: Session, stage: str) -> dict[int, Decision]:
    """record → the adjudicator's latest decision at the stage (include or exclude, checked on write)."""
    rows = session.exec(
        select(AdjudicationRow.record_id, AdjudicationRow.decision)
        .where(AdjudicationRow.stage == stage)
        .order_by(col(AdjudicationRow.id))
    )
    return {record_id: cast(Decision, decision) for record_id, decision in rows.all()}


def studies_of_reports(session: Session, report_ids: set[int]) -> set[int]:
    """Studies that any of these records report (links not rejected)."""
    if not report_ids:
        return set()
    return set(
        session.exec(
            select(StudyReportRow.study_id)
            .where(col(StudyReportRow.record_id).in_(report_ids))
            .where(StudyReportRow.status != "rejected")
        )
    )


def studies_with_reports(session: Session) -> set[int]:
    """Studies with at least one report linked (links not rejected)."""
    return set(session.exec(select(StudyReportRow.study_id).where(StudyReportRow.status != "rejected").distinct()))


def record_lookup(session: Session) -> tuple[set[int], dict[str, set[int]]]:
    """All record ids, and identifier → record ids (source file ids, PMIDs, DOIs) for matching files."""
    from reviewkit.store.tables import RecordSourceRow

    ids: set[int] = set()
    by_identifier: dict[str, set[int]] = defaultdict(set)
    for rid, pmid, doi in session.exec(select(RecordRow.id, RecordRow.pmid, RecordRow.doi)):
        if rid is None:  # a stored row always has its key; the column is typed int | None
            continue
        ids.add(rid)
        if pmid:
            by_identifier[pmid].add(rid)
        if doi:
            by_identifier[doi.lower()].add(rid)
    for rid, sid in session.exec(select(RecordSourceRow.record_id, RecordSourceRow.source_record_id)):
        if sid:
            by_identifier[sid].add(rid)
    return ids, dict(by_identifier)


#: A record as another review can recognise it: PMID, DOI, title (as stored).
RecordIdentity = tuple[str | None, str | None, str]


def record_identities(session: Session) -> dict[int, RecordIdentity]:
    """record → its PMID, DOI and title (every record: one query, not one per row)."""
    rows = session.exec(select(RecordRow.id, RecordRow.pmid, RecordRow.doi, RecordRow.title))
    return {cast(int, rid): (pmid, doi, title or "") for rid, pmid, doi, title in rows}


def record_kinds_by_first_run(session: Session) -> dict[int, str]:
    """record id → the PRISMA column kind (database, register, website, ...) of the run that brought it."""
    rows = session.exec(
        select(RecordRow.id, SourceRunRow.source_kind)
        .join(SourceRunRow, col(RecordRow.first_run_id) == col(SourceRunRow.id))
    )
    return {rid: kind for rid, kind in rows if rid is not None}


def record_run_kinds(session: Session) -> dict[int, set[str]]:
    """record id → the PRISMA kinds (database, register, website, ...) of every run that brought it."""
    from reviewkit.store.tables import RecordSourceRow

    out: dict[int, set[str]] = defaultdict(set)
    for rid, kind in session.exec(
        select(RecordSourceRow.record_id, SourceRunRow.source_kind).distinct()
        .join(SourceRunRow, col(RecordSourceRow.run_id) == col(SourceRunRow.id))
    ):
        out[rid].add(kind)
    for rid, kind in record_kinds_by_first_run(session).items():  # a record always has its first run's
        out[rid].add(kind)
    return dict(out)


#: The `state` key of an import whose records name several databases (an EBSCOhost export searching MEDLINE
#: and CINAHL at once, each record's DB field saying which): PRISMA credits each record to its own database.
DATABASE_PER_RECORD = "database_per_record"


def identified_by_run_kind(session: Session, *, per_database: bool = True) -> dict[tuple[str, str], int]:
    """(source kind, source name) → distinct records linked to that source's runs.

    The records of an import that covers several databases (DATABASE_PER_RECORD) count under their own
    database's name, as PRISMA's footnote asks (a record naming none, under the file's name); with
    `per_database` False they count under the run's name, as the sources screen lists runs.
    """
    from reviewkit.store.tables import RecordSourceRow

    mixed = {run_id for run_id, state in session.exec(select(SourceRunRow.id, SourceRunRow.state))
             if per_database and (state or {}).get(DATABASE_PER_RECORD)}
    query = (
        select(SourceRunRow.source_kind, SourceRunRow.source, func.count(func.distinct(RecordSourceRow.record_id)))
        .join(SourceRunRow, col(RecordSourceRow.run_id) == col(SourceRunRow.id))
        .group_by(SourceRunRow.source_kind, SourceRunRow.source)
    )
    if mixed:
        query = query.where(col(RecordSourceRow.run_id).not_in(mixed))
    out: dict[tuple[str, str], int] = defaultdict(int)
    for kind, source, n in session.exec(query):
        out[(kind, source)] += int(n)
    if mixed:
        for kind, database, file_name, n in session.exec(
            select(SourceRunRow.source_kind, RecordRow.source_db, SourceRunRow.file_name,
                   func.count(func.distinct(RecordSourceRow.record_id)))
            .join(SourceRunRow, col(RecordSourceRow.run_id) == col(SourceRunRow.id))
            .join(RecordRow, col(RecordSourceRow.record_id) == col(RecordRow.id))
            .where(col(RecordSourceRow.run_id).in_(mixed))
            .group_by(SourceRunRow.source_kind, RecordRow.source_db, col(SourceRunRow.file_name))
        ):
            out[(kind, database or PurePath(file_name or "unnamed").stem)] += int(n)
    return dict(out)


def study_links(session: Session) -> dict[int, set[int]]:
    """record id → studies it reports (links not rejected)."""
    out: dict[int, set[int]] = defaultdict(set)
    for rid, sid in session.exec(
        select(StudyReportRow.record_id, StudyReportRow.study_id).where(StudyReportRow.status != "rejected")
    ):
        out[rid].add(sid)
    return dict(out)


def proposed_study_reports(session: Session, record_ids: set[int]) -> set[int]:
    """The records among `record_ids` with a study link still proposed (neither confirmed nor rejected)."""
    if not record_ids:
        return set()
    rows = session.exec(select(StudyReportRow.record_id).where(StudyReportRow.status == "proposed"))
    return {rid for rid in rows if rid in record_ids}


def current_decisions_rows(session: Session, stage: str) -> dict[int, list[ScreeningDecisionRow]]:
    """record → the current (latest, not retracted) decision row of each reviewer at the stage."""
    latest: dict[tuple[int, int], ScreeningDecisionRow] = {}
    for row in session.exec(
        select(ScreeningDecisionRow).where(ScreeningDecisionRow.stage == stage).order_by(col(ScreeningDecisionRow.id))
    ):
        latest[(row.record_id, row.reviewer_id)] = row
    out: dict[int, list[ScreeningDecisionRow]] = defaultdict(list)
    for (rid, _), row in latest.items():
        if row.decision != "retracted":
            out[rid].append(row)
    return dict(out)


def audit_events(session: Session, record_id: int | None = None, limit: int | None = None) -> list[AuditEventRow]:
    """Audit events, oldest first; only those about one record when record_id is given."""
    query = select(AuditEventRow).order_by(col(AuditEventRow.id))
    if record_id is not None:
        query = query.where(AuditEventRow.record_id == record_id)
    rows = list(session.exec(query))
    return rows[-limit:] if limit else rows


def record_texts(session: Session, ids: set[int]) -> dict[int, str]:
    """record → title, abstract and keywords, for the screening ranker."""
    out: dict[int, str] = {}
    for rid, title, abstract, keywords in session.exec(
        select(RecordRow.id, RecordRow.title, RecordRow.abstract, RecordRow.keywords).order_by(col(RecordRow.id))
    ):
        if rid in ids:
            out[rid] = "\n".join(p for p in (title, abstract, " ".join(keywords or [])) if p)
    return out


def own_decisions_in_order(session: Session, reviewer_id: int, stage: str) -> list[tuple[int, str]]:
    """A reviewer's current decisions at a stage as (record, decision), in the order first made.

    A change keeps the record's place (it re-judges a record screened then); an undo puts the record
    back unscreened, so a decision made after it takes its place from then (the stopping aid's run of
    irrelevant records follows the order screened).
    """
    first: dict[int, int] = {}
    latest: dict[int, str] = {}
    for row in session.exec(
        select(ScreeningDecisionRow).where(ScreeningDecisionRow.reviewer_id == reviewer_id)
        .where(ScreeningDecisionRow.stage == stage).order_by(col(ScreeningDecisionRow.id))
    ):
        if row.decision == "retracted":
            first.pop(row.record_id, None)
        else:
            first.setdefault(row.record_id, row.id or 0)
        latest[row.record_id] = row.decision
    return [(rid, latest[rid]) for rid in sorted(first, key=first.__getitem__)]


def records_containing(session: Session, text: str) -> set[int]:
    """Ids of records whose title or abstract contains `text` (case-insensitive; % and _ taken literally)."""
    from sqlmodel import or_

    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.exec(
        select(RecordRow.id).where(or_(col(RecordRow.title).ilike(pattern, escape="\\"),
                                       col(RecordRow.abstract).ilike(pattern, escape="\\")))
    )
    return {rid for rid in rows if rid is not None}


def dedup_events_naming(session: Session, record_id: int) -> list[AuditEventRow]:
    """Dedup events that name the record but are filed under another: a group's merge and undo (under its
    primary, the record among its `members`) and a pair's verdict and reopening (under the pair's first
    record, the second among its `records`: who said record B is, or is not, a copy of A)."""
    rows = session.exec(select(AuditEventRow)
                        .where(col(AuditEventRow.entity).in_(("duplicate_group", "duplicate_pair")))
                        .order_by(col(AuditEventRow.id)))
    return [r for r in rows
            if any(record_id in (part.get("members") or part.get("records") or ())
                   for part in (r.old, r.new) if isinstance(part, dict))]


def duplicate_primaries(session: Session) -> dict[int, int]:
    """removed duplicate → the primary record of its live group (what a decision on it should name)."""
    rows = session.exec(
        select(DuplicateMemberRow.record_id, DuplicateGroupRow.primary_record_id)
        .join(DuplicateGroupRow, col(DuplicateMemberRow.group_id) == col(DuplicateGroupRow.id))
        .where(col(DuplicateGroupRow.undone_at).is_(None))
    )
    return {rid: primary for rid, primary in rows if rid != primary}


def adjudication_history(session: Session) -> list[AdjudicationRow]:
    """Every adjudication row of every stage (re-adjudications included), oldest first."""
    return list(session.exec(select(AdjudicationRow).order_by(col(AdjudicationRow.id))))


"""Provides the writes of identification: source runs (imports and searches) and their records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from reviewkit.domain.records import Record
from reviewkit.store.convert import record_values, strip_nul
from reviewkit.store.tables import (
    AuditEventRow,
    RecordRow,
    RecordSourceRow,
    RunNoteRow,
    SourceRunRow,
    utcnow,
)


def complete_import_of(session: Session, sha256: str) -> SourceRunRow | None:
    """The complete import of a file with this SHA-256, if there is one."""
    return session.exec(
        select(SourceRunRow)
        .where(SourceRunRow.sha256 == sha256)
        .where(SourceRunRow.kind == "import")
        .where(SourceRunRow.status == "complete")
    ).first()


def start_run(session: Session, **values: Any) -> SourceRunRow:
    """Add a run row (status "running") and return it with its id."""
    run = SourceRunRow(**values)
    session.add(run)
    session.flush()
    return run


def insert_records(
    session: Session, run_id: int, records: Sequence[Record], first_position: int
) -> list[int]:
    """Insert records brought by a run, with their provenance rows; returns the new ids in order."""
    if not records:
        return []
    rows = [record_values(r, run_id) for r in records]
    statement = insert(RecordRow).returning(col(RecordRow.id), sort_by_parameter_order=True)
    # RETURNING gives the inserted rows' ids, never None: RecordRow.id is typed `int | None` only
    # because a row not yet inserted has no id.
    ids = cast(list[int], list(session.scalars(statement, rows)))
    link_records(session, run_id, ids, [r.source_id for r in records], first_position)
    return ids


def link_records(
    session: Session, run_id: int, record_ids: Sequence[int], source_ids: Sequence[str],
    first_position: int,
) -> None:
    """Record that a run brought these (possibly existing) records."""
    if not record_ids:
        return
    session.execute(
        insert(RecordSourceRow),
        [
            {"record_id": rid, "run_id": run_id, "source_record_id": strip_nul(sid or ""),
             "position": first_position + i}
            for i, (rid, sid) in enumerate(zip(record_ids, source_ids, strict=True))
        ],
    )


def add_notes(session: Session, run_id: int, notes: Sequence[Mapping[str, Any]], first_position: int) -> None:
    """Keep a run's notes (each: file, line, field, message, record), numbered on from first_position."""
    if not notes:
        return
    session.execute(insert(RunNoteRow), [
        {"run_id": run_id, "position": first_position + i, "file": strip_nul(note.get("file") or ""),
         "line": note.get("line"), "field": strip_nul(note.get("field") or ""),
         "message": strip_nul(note["message"]), "record": strip_nul(note.get("record") or "")}
        for i, note in enumerate(notes)])


def note_count(session: Session, run_id: int) -> int:
    """How many notes a run keeps (a resumed search numbers its new ones on from here)."""
    return int(session.scalar(select(func.count()).select_from(RunNoteRow).where(RunNoteRow.run_id == run_id))
               or 0)


def finish_run(
    session: Session, run: SourceRunRow, *, record_count: int, new_record_count: int, actor: str | None
) -> None:
    """Mark a run complete with its counts, and log it in the audit trail."""
    run.status = "complete"
    run.record_count = record_count
    run.new_record_count = new_record_count
    run.finished_at = utcnow()
    session.add(run)
    session.add(
        AuditEventRow(
            actor=actor or "", entity="source_run", entity_id=run.id, action=run.kind,
            new={"source": run.source, "file": run.file_name, "query": run.query,
                 "records": record_count, "new": new_record_count},
        )
    )


def abandon_run(session: Session, run: SourceRunRow, actor: str | None) -> None:
    """Close an unfinished search for good (status "abandoned"), audited: a new run starts over, and the
    records this one stored stay (the new run re-finds them)."""
    old = {"status": run.status, "error": run.error}
    run.status = "abandoned"
    run.error = f"abandoned: the search was started over{f' by {actor}' if actor else ''}"
    run.finished_at = utcnow()
    session.add(run)
    session.add(AuditEventRow(actor=actor or "", entity="source_run", entity_id=run.id, action="abandon",
                              old=old, new={"status": run.status, "records kept": run.record_count}))


def runs(session: Session) -> list[SourceRunRow]:
    """Every run, oldest first."""
    return list(session.exec(select(SourceRunRow).order_by(col(SourceRunRow.id))))


def ids_by_identifier(
    session: Session, source: str, field: str, values: Iterable[str], kinds: Iterable[str],
) -> dict[str, int]:
    """Records already brought by this source's runs of these PRISMA kinds, by PMID or NCT id (for re-runs
    of a search).

    The kinds keep PRISMA's columns apart: a PubMed database search must not re-find the records a
    citation search exported from PubMed brought (source "PubMed", kind citation), or one record would
    count in both columns; found both ways, the paper is two records, which dedup groups.
    """
    wanted = {v for v in values if v}
    if not wanted:
        return {}
    linked = (
        select(RecordSourceRow.record_id)
        .join(SourceRunRow, col(RecordSourceRow.run_id) == col(SourceRunRow.id))
        .where(SourceRunRow.source == source)
        .where(col(SourceRunRow.source_kind).in_(list(kinds)))
    )
    out: dict[str, int] = {}
    if field == "pmid":
        for value, rid in session.exec(
            select(RecordRow.pmid, RecordRow.id).where(col(RecordRow.pmid).in_(wanted))
            .where(col(RecordRow.id).in_(linked)).order_by(col(RecordRow.id))
        ):
            out.setdefault(value, rid)  # type: ignore[arg-type]
        return out
    # NCT ids live in a JSON list; registry records carry exactly one, so compare in Python.
    for nct_ids, rid in session.exec(
        select(RecordRow.nct_ids, RecordRow.id).where(RecordRow.kind == "registry")
        .where(col(RecordRow.id).in_(linked)).order_by(col(RecordRow.id))
    ):
        for nct in nct_ids:
            if nct in wanted:
                out.setdefault(nct, rid)  # type: ignore[arg-type]
    return out


def unfinished_run(session: Session, source: str, query: str) -> SourceRunRow | None:
    """The newest search of this source and query that did not complete (to resume)."""
    return session.exec(
        select(SourceRunRow).where(SourceRunRow.kind == "search").where(SourceRunRow.source == source)
        .where(SourceRunRow.query == query).where(col(SourceRunRow.status).in_(("running", "failed")))
        .order_by(col(SourceRunRow.id).desc())
    ).first()


def last_complete_search(session: Session, source: str) -> SourceRunRow | None:
    """The newest complete search of a source."""
    return session.exec(
        select(SourceRunRow).where(SourceRunRow.kind == "search").where(SourceRunRow.source == source)
        .where(SourceRunRow.status == "complete").order_by(col(SourceRunRow.id).desc())
    ).first()


def get_run(session: Session, run_id: int) -> SourceRunRow:
    """The run with this id."""
    run = session.get(SourceRunRow, run_id)
    assert run is not None
    return run


def pmids_of_run(session: Session, run_id: int) -> set[str]:
    """PMIDs of the records a run has brought so far (a resumed search fetches none of them again)."""
    rows = session.exec(
        select(RecordRow.pmid)
        .join(RecordSourceRow, col(RecordSourceRow.record_id) == col(RecordRow.id))
        .where(RecordSourceRow.run_id == run_id)
    )
    return {pmid for pmid in rows if pmid}


def source_ids_of_run(session: Session, run_id: int) -> set[str]:
    """The source's own ids (NCT numbers of a registry search) of the records a run has brought so far."""
    rows = session.exec(select(RecordSourceRow.source_record_id).where(RecordSourceRow.run_id == run_id))
    return {value for value in rows if value}

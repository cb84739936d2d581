"""Provides the read of source runs for listing: their columns as plain values, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from reviewkit.store.tables import RunNoteRow, SourceRunRow

#: The columns a listing shows; the resume state (possibly large JSON) is left out.
_COLUMNS = ("id", "source", "kind", "source_kind", "file_name", "query", "status", "error", "started_at",
            "finished_at", "total_count", "record_count", "new_record_count", "started_by")


def run_values(session: Session) -> list[dict[str, Any]]:
    """Every run's listed columns, keyed by column name, newest first."""
    columns = [getattr(SourceRunRow, name) for name in _COLUMNS]
    rows = session.exec(select(*columns).order_by(col(SourceRunRow.id).desc()))
    counts = note_counts(session)
    return [dict(zip(_COLUMNS, row, strict=True), notes=counts.get(row[0], 0)) for row in rows]


def note_counts(session: Session) -> dict[int, int]:
    """How many notes each run keeps (runs without notes are absent)."""
    rows = session.exec(select(RunNoteRow.run_id, func.count()).group_by(col(RunNoteRow.run_id)))
    return {run_id: count for run_id, count in rows}


def has_run(session: Session, run_id: int) -> bool:
    """Whether the review has a run with this id."""
    return session.get(SourceRunRow, run_id) is not None


def run_notes(session: Session, run_id: int) -> list[dict[str, Any]]:
    """A run's notes in order, each as file, line, field, message and record."""
    rows = session.exec(select(RunNoteRow).where(RunNoteRow.run_id == run_id).order_by(col(RunNoteRow.position)))
    return [{"file": r.file, "line": r.line, "field": r.field, "message": r.message, "record": r.record}
            for r in rows]

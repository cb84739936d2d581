"""Provides the read of source runs for listing: their columns as plain values, newest first."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from reviewkit.store.tables import SourceRunRow

#: The columns a listing shows; the resume state (possibly large JSON) is left out.
_COLUMNS = ("id", "source", "kind", "source_kind", "file_name", "query", "status", "error", "started_at",
            "finished_at", "total_count", "record_count", "new_record_count", "started_by")


def run_values(session: Session) -> list[dict[str, Any]]:
    """Every run's listed columns, keyed by column name, newest first."""
    columns = [getattr(SourceRunRow, name) for name in _COLUMNS]
    rows = session.exec(select(*columns).order_by(col(SourceRunRow.id).desc()))
    return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]

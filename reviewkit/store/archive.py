"""Provides dumping every table to plain JSON-ready rows and loading them back, ids and all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, text

from reviewkit.store.tables import UtcDateTime, metadata

ARCHIVE_FORMAT = "reviewkit-review/1"


def dump_tables(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (parents before children), ordered by id, as JSON-ready dicts.

    All tables are read in one transaction on one snapshot: on PostgreSQL at REPEATABLE READ, since at
    its default READ COMMITTED each statement sees what committed before it, so an import committing
    between the records and their sources gave an archive whose sources name records it lacks (and
    which then would not restore). SQLite's transaction is a snapshot already.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            for table in metadata.sorted_tables:
                order = table.c.id if "id" in table.c else list(table.c)[0]
                rows = conn.execute(select(table).order_by(order)).mappings()
                out[table.name] = [{k: _to_json(v) for k, v in row.items()} for row in rows]
    return out


def load_tables(engine: Engine, data: dict[str, list[dict[str, Any]]]) -> int:
    """Insert dumped rows into an empty, migrated database in one transaction; returns rows loaded."""
    unknown = set(data) - {t.name for t in metadata.sorted_tables}
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(sorted(unknown))}")
    n = 0
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = data.get(table.name) or []
            if not rows:
                continue
            stamps = {c.name for c in table.c if isinstance(c.type, UtcDateTime)}
            clean = [
                {k: (datetime.fromisoformat(v) if k in stamps and v is not None else v) for k, v in row.items()
                 if k in table.c}
                for row in rows
            ]
            conn.execute(insert(table), clean)
            n += len(clean)
            if engine.dialect.name == "postgresql" and "id" in table.c:
                # Explicit ids leave PostgreSQL's sequence behind; move it past the largest id.
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM \"{table.name}\"))"
                ))
    return n


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value

"""Provides dumping every table to plain JSON-ready rows and loading them back, ids and all."""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union, get_args, get_origin

from sqlalchemy import Engine, insert, select, text

from reviewkit.store.tables import ALL_TABLES, UtcDateTime, metadata

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


@dataclass(frozen=True)
class ColumnKind:
    """What an archived value of one column may be, as the SQLModel table declares it."""

    #: "text", "whole", "number", "flag", "timestamp", "texts" (a list of strings), "object" (a JSON
    #: object), "any" (any JSON value).
    kind: str
    nullable: bool


#: The largest value of an integer column on PostgreSQL (32-bit); SQLite's hold 64 bits.
_INT_MAX = 2**31 - 1
_SCALARS: dict[Any, str] = {str: "text", int: "whole", float: "number", bool: "flag", datetime: "timestamp"}


def _kind(annotation: Any) -> ColumnKind:
    """The kind of a model field's annotation: `str | None` → text, nullable; `list[str]` → texts ..."""
    if annotation is Any:
        return ColumnKind("any", True)
    nullable = False
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(get_args(annotation))
        if len(members) != 1:
            raise TypeError(f"no archive kind for {annotation!r}")
        annotation = members[0]
    origin = get_origin(annotation) or annotation
    if origin is list and get_args(annotation) in ((str,), ()):
        return ColumnKind("texts", nullable)
    if origin is dict:
        return ColumnKind("object", nullable)
    if annotation in _SCALARS:
        return ColumnKind(_SCALARS[annotation], nullable)
    raise TypeError(f"no archive kind for {annotation!r}")


def column_kinds() -> dict[str, dict[str, ColumnKind]]:
    """Table → column → what an archived row may hold there, from the SQLModel tables' field annotations
    (a column the database may leave NULL is nullable even when the model's annotation is not; a primary
    key is not)."""
    out: dict[str, dict[str, ColumnKind]] = {}
    for model in ALL_TABLES:
        table = model.__table__  # type: ignore[attr-defined]
        kinds: dict[str, ColumnKind] = {}
        for name, field in model.model_fields.items():
            kind = _kind(field.annotation)
            column = table.c[name]
            # An archived row keeps its id (other rows name it): `int | None` is for rows not yet inserted.
            nullable = (kind.nullable or bool(column.nullable)) and not column.primary_key
            kinds[name] = ColumnKind(kind.kind, nullable)
        out[table.name] = kinds
    return out


def value_problem(kind: ColumnKind, value: Any) -> str | None:
    """Why `value` cannot be archived in a column of `kind` ("is not a list of strings"), or None."""
    if value is None:
        return None if kind.nullable or kind.kind == "any" else "is null"
    if _holds_nul(value):
        # PostgreSQL refuses the character and SQLite took it: the same archive restored on one and failed,
        # unnamed, on the other. No reviewkit database stores one (store.convert), so none is restored.
        return "holds a NUL character (no reviewkit database stores one)"
    match kind.kind:
        case "text":
            ok = isinstance(value, str)
        case "whole":
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _INT_MAX:
                # PostgreSQL's integer columns hold 32 bits; SQLite took more, so the archive restored on one only.
                return f"is beyond the largest whole number a database column holds ({_INT_MAX})"
            ok = isinstance(value, int) and not isinstance(value, bool)
        case "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        case "flag":
            ok = isinstance(value, bool)
        case "texts":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        case "object":
            ok = isinstance(value, dict)
        case "timestamp":
            try:
                ok = isinstance(value, str) and datetime.fromisoformat(value) is not None
            except ValueError:
                ok = False
        case _:
            ok = True
    if ok:
        return None
    return {"text": "is not a string", "whole": "is not a whole number", "number": "is not a number",
            "flag": "is not true or false", "texts": "is not a list of strings", "object": "is not a JSON object",
            "timestamp": "is not an ISO 8601 timestamp"}[kind.kind]


def reference_problem(tables: dict[str, list[dict[str, Any]]]) -> str | None:
    """The first row that names a row the archive lacks, or two rows sharing an id, said as "table T, row
    N: column C ..."; None when every reference holds. SQLite refused such rows with a bare "FOREIGN KEY
    constraint failed", naming neither table nor row, so a hand-edited archive could not be mended.
    Expects rows whose values `value_problem` passed."""
    ids: dict[str, set[Any]] = {}
    for table in metadata.sorted_tables:
        if "id" not in table.c:
            continue
        seen = ids.setdefault(table.name, set())
        for row in tables.get(table.name) or []:
            if row.get("id") in seen:
                return f"table {table.name}: id {row.get('id')} is on two rows"
            seen.add(row.get("id"))
    for table in metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda k: k.parent.name):
            known = ids.get(fk.column.table.name, set())
            for row in tables.get(table.name) or []:
                value = row.get(fk.parent.name)
                if value is not None and value not in known:
                    return (f"table {table.name}, row {row.get('id', '?')}: {fk.parent.name} {value!r:.60} names "
                            f"no row of table {fk.column.table.name}")
    return None


def _holds_nul(value: Any) -> bool:
    """Whether a NUL is in the value's text, in a list's or a JSON object's (keys too) at any depth."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False

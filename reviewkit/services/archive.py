"""Provides the whole review as one JSON file (`reviewkit export review`) and `reviewkit restore`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reviewkit import __version__
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import PROTOCOL_FILE, parse_protocol
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review, database_url_for, open_review
from reviewkit.store.archive import ARCHIVE_FORMAT, dump_tables, load_tables
from reviewkit.store.db import (
    DB_FILE,
    current_revision,
    known_revision,
    make_engine,
    migrate,
    session_scope,
)


def review_archive(review: Review) -> dict[str, Any]:
    """Everything the review holds: its protocol text, schema revision and every table's rows."""
    return {
        "format": ARCHIVE_FORMAT,
        "reviewkit": __version__,
        "schema": current_revision(review.engine),
        "protocol": review.protocol_path.read_text(encoding="utf-8"),
        "tables": dump_tables(review.engine),
    }


def export_review(review: Review, actor: str | None, path: Path) -> Path:
    """Write the review archive as JSON: for a lead only, since it holds every reviewer's decisions,
    assessments and extracted values, blinded or not."""
    with session_scope(review.engine) as session:
        acting_reviewer(session, actor, "lead")
    path.write_text(json.dumps(review_archive(review), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def restore_review(archive_path: Path, folder: Path) -> Review:
    """Rebuild a review from an archive in a new folder: same protocol, same rows, same ids."""
    try:
        data = json.loads(archive_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReviewkitError("no such file", where=str(archive_path)) from None
    except json.JSONDecodeError as exc:
        raise ReviewkitError(f"not JSON (line {exc.lineno}: {exc.msg})", where=str(archive_path)) from None
    if not isinstance(data, dict) or data.get("format") != ARCHIVE_FORMAT:
        raise ReviewkitError("not a reviewkit review archive", where=str(archive_path),
                             hint="make one with `reviewkit export review FILE.json`")
    # Lenient as open_review is: an archive made before a newer analysis check still restores.
    parse_protocol(str(data.get("protocol", "")), source=f"{archive_path} (protocol)", lenient_analyses=True)
    target = folder / PROTOCOL_FILE
    if target.exists():
        raise ReviewkitError(f"{target} already exists", hint="restore into a new folder")
    schema = data.get("schema")
    if schema is not None and not known_revision(str(schema)):
        raise ReviewkitError(f"the archive is at schema revision {schema}, which this reviewkit does not know",
                             where=str(archive_path), hint="upgrade reviewkit: a newer version wrote the archive")
    folder.mkdir(parents=True, exist_ok=True)
    protocol = parse_protocol(data["protocol"], lenient_analyses=True)
    db_file = folder / DB_FILE
    had_db = db_file.exists()
    target.write_text(data["protocol"], encoding="utf-8")
    engine = make_engine(database_url_for(folder, protocol))
    try:
        # The rows are loaded into the schema they were dumped from, then migrated with the
        # database, as an old review would be on open; loading them straight into the head
        # schema would skip what later revisions do to existing rows.
        if current_revision(engine) is not None:
            # A database with a schema already (PostgreSQL made by hand) must be empty and cannot be
            # taken back to an older archive's revision.
            tables = dump_tables(engine)
            if any(tables.values()):
                raise ReviewkitError("the target database is not empty", hint="restore into a new database")
            if schema is not None and current_revision(engine) != schema:
                raise ReviewkitError(f"the target database already has schema revision "
                                     f"{current_revision(engine)}, the archive {schema}",
                                     hint="restore into a new, empty database")
        migrate(engine, to=str(schema) if schema is not None else None)
        load_tables(engine, data["tables"])
        migrate(engine)
    except Exception as exc:
        # Nothing half-restored is left to be mistaken for the review (or to block a retry).
        engine.dispose()
        target.unlink(missing_ok=True)
        if not had_db:
            for leftover in (db_file, *db_file.parent.glob(db_file.name + "-*")):
                leftover.unlink(missing_ok=True)
        if isinstance(exc, ReviewkitError):
            raise
        # a damaged archive: rows that violate the schema
        raise ReviewkitError(f"the archive's rows do not load: {exc}", where=str(archive_path)) from None
    finally:
        engine.dispose()
    return open_review(folder)

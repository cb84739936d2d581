"""Provides the whole review as one JSON file (`reviewkit export review`) and `reviewkit restore`."""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from reviewkit import __version__
from reviewkit.domain.screening import DECISIONS, STAGES
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import PROTOCOL_FILE, Protocol, is_database_kind, parse_protocol
from reviewkit.services.common import acting_reviewer
from reviewkit.services.decisions_ledger import RETRACTED
from reviewkit.services.project import (
    DATABASE_URL_ENV,
    Review,
    database_url_for,
    normalise_database_url,
    sync_reviewers,
)
from reviewkit.services.screen_full_text import FULL_TEXT_STATUSES
from reviewkit.store.archive import (
    ARCHIVE_FORMAT,
    column_kinds,
    dump_tables,
    load_tables,
    reference_problem,
    value_problem,
)
from reviewkit.store.db import (
    DB_FILE,
    current_revision,
    database_name,
    known_revision,
    make_engine,
    migrate,
    open_error,
    session_scope,
    sqlite_url,
    table_names,
    unmigrate,
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


#: Archived values a later command relies on being one of a few (a stage of "zz" restored, and then
#: `decisions export` failed with a traceback): table → column → the values it may hold.
CHOICES: dict[str, dict[str, frozenset[str | None]]] = {
    "screening_decision": {"stage": frozenset(STAGES), "decision": frozenset({*DECISIONS, RETRACTED})},
    "adjudication": {"stage": frozenset(STAGES), "decision": frozenset({"include", "exclude"})},
    "full_text": {"status": frozenset(FULL_TEXT_STATUSES)},
    "duplicate_pair": {"status": frozenset({"pending", "confirmed", "rejected"})},
    "study_report": {"status": frozenset({"proposed", "confirmed", "rejected"})},
}
#: `restore --database-url local`: the review's own SQLite file in its folder.
LOCAL = "local"


def _check_values(tables: Any, where: str) -> None:
    """Refuse an archive whose rows hold values no command can read back, naming the table, row and column:
    a column missing from a row, a value not of the column's type (the SQLModel tables' annotations: a
    string for `authors` was restored and exported one author per letter), a value outside its CHOICES, a row
    naming one the archive lacks or sharing its id with another (store.archive.reference_problem)."""
    if not isinstance(tables, dict):
        raise ReviewkitError("the archive has no tables", where=where)
    kinds = column_kinds()
    for name, rows in tables.items():
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ReviewkitError(f"table {name} is not a list of rows", where=where)
        # An unknown table is refused by load_tables; an archive of an older schema may lack whole tables,
        # but every revision's table holds the head's columns (a migration adding a column to an existing
        # table must make this check allow older archives without it).
        columns = kinds.get(name, {})
        for row in rows:
            for column, kind in columns.items():
                if column not in row:
                    raise ReviewkitError(f"table {name}, row {row.get('id', '?')}: no {column} column",
                                         where=where)
                problem = value_problem(kind, row[column])
                if problem is not None:
                    raise ReviewkitError(f"table {name}, row {row.get('id', '?')}: {column} {row[column]!r:.60} "
                                         f"{problem}", where=where)
            for column, allowed in CHOICES.get(name, {}).items():
                if column in row and row[column] not in allowed:
                    raise ReviewkitError(
                        f"table {name}, row {row.get('id', '?')}: {column} {row[column]!r} is not one of "
                        f"{', '.join(sorted(v for v in allowed if v))}", where=where)
    if (problem := reference_problem(tables)) is not None:
        raise ReviewkitError(problem, where=where)


def with_database_url(protocol_text: str, url: str | None) -> str:
    """The protocol with its top-level database_url set to `url`, or removed (`local`: the folder's own
    SQLite file), the rest of the text as it was."""
    table = re.search(r"^[ \t]*\[", protocol_text, re.MULTILINE)  # top-level keys come before the first table
    cut = table.start() if table else len(protocol_text)
    head, tail = protocol_text[:cut], protocol_text[cut:]
    head = re.sub(r"^[ \t]*database_url[ \t]*=.*(?:\n|$)", "", head, flags=re.MULTILINE)
    if url is not None and url != LOCAL:
        head = f"database_url = {json.dumps(url)}\n" + head
    return head + tail


def restore_target(folder: Path, protocol: Protocol, given: str | None) -> str:
    """The database restore fills: the one `--database-url` names, even when REVIEWKIT_DATABASE_URL is set
    (the variable silently took the review, which the user had sent elsewhere); without the option, the
    one opening the review would use (the variable, else the protocol's, else the folder's file)."""
    if given is None:
        return database_url_for(folder, protocol)
    if given == LOCAL:
        return sqlite_url(folder)
    return normalise_database_url(given)


def _readable(url: str) -> URL | None:
    """The URL parsed, or None when it cannot be (a malformed variable names no database we restored into)."""
    try:
        return make_url(url)
    except Exception:
        return None


def opened_elsewhere(review: Review) -> str | None:
    """Why `reviewkit -C FOLDER` will not show the restored review: REVIEWKIT_DATABASE_URL overrides the
    protocol on every open and names another database than the one the rows went into (None if it does not)."""
    if not os.environ.get(DATABASE_URL_ENV):
        return None
    there = _readable(database_url_for(review.folder, review.protocol))
    # postgresql:// and postgresql+psycopg:// reach the same database: compare without the driver.
    if there is not None and there.set(drivername=there.get_backend_name()) == review.engine.url.set(
            drivername=review.engine.url.get_backend_name()):
        return None
    shown = there.render_as_string(hide_password=True) if there is not None else "a URL reviewkit cannot read"
    return (f"{DATABASE_URL_ENV} is set to {shown}: it overrides {review.protocol_path} whenever the review is "
            f"opened, so reviewkit will look there, not in {review.database}, where the review was restored; "
            f"unset {DATABASE_URL_ENV} to work on the restored review")


def _opened(folder: Path, protocol: Protocol, url: str) -> Review:
    """The restored review on the database it was restored into (open_review would go by the variable)."""
    review = Review(folder=folder.resolve(), protocol=protocol, engine=make_engine(url))
    try:
        sync_reviewers(review)
    except BaseException as exc:
        review.engine.dispose()
        error = open_error(review.engine, exc) if isinstance(exc, Exception) else None
        if error is None:
            raise
        raise error from exc
    return review


def _first_line(exc: BaseException) -> str:
    """A database error's own message, without SQLAlchemy's echo of the statement and its parameters."""
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def restore_review(archive_path: Path, folder: Path, *, database_url: str | None = None) -> Review:
    """Rebuild a review from an archive in a new folder: same protocol, same rows, same ids.

    `database_url` puts the restored review in another database than the archived protocol names (a
    PostgreSQL URL, or `local` for the folder's own SQLite file): the restored review.toml says so, and it
    wins over REVIEWKIT_DATABASE_URL (`opened_elsewhere` then says what opening the review will do).
    """
    try:
        data = json.loads(archive_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReviewkitError("no such file", where=str(archive_path)) from None
    except UnicodeDecodeError as exc:
        # A gzipped or otherwise binary file ended in a traceback.
        raise ReviewkitError(f"not a JSON text file (byte {exc.start} is not UTF-8)", where=str(archive_path),
                             hint="give the .json file `reviewkit export review` wrote; decompress it first if "
                                  "it was compressed") from None
    except OSError as exc:
        raise ReviewkitError(f"cannot read the archive: {exc.strerror or exc}", where=str(archive_path)) from None
    except json.JSONDecodeError as exc:
        raise ReviewkitError(f"not JSON (line {exc.lineno}: {exc.msg})", where=str(archive_path)) from None
    given = data.get("format") if isinstance(data, dict) else None
    if isinstance(given, str) and given.startswith(ARCHIVE_FORMAT.partition("/")[0] + "/") and given != ARCHIVE_FORMAT:
        # A later reviewkit's archive is one, only newer: "not an archive" sent the user to make another.
        raise ReviewkitError(f"the archive is in format {given}; this reviewkit reads {ARCHIVE_FORMAT}",
                             where=str(archive_path), hint="upgrade reviewkit: a newer version wrote the archive")
    if not isinstance(data, dict) or given != ARCHIVE_FORMAT:
        raise ReviewkitError("not a reviewkit review archive", where=str(archive_path),
                             hint="make one with `reviewkit export review FILE.json`")
    if database_url is not None:
        if database_url != LOCAL and not is_database_kind(database_url):
            # Checked here, not as the archived protocol's line 1, where the URL would otherwise be blamed on
            # the archive; the URL itself is not repeated, as it may hold a password.
            raise ReviewkitError("--database-url: reviewkit keeps a review in PostgreSQL or in the folder's "
                                 f"SQLite file, not in '{database_url.partition('://')[0]}'",
                                 hint="name a new PostgreSQL database (postgresql://USER@HOST:PORT/DATABASE), "
                                      "or `local` for an SQLite file in the folder")
        data["protocol"] = with_database_url(str(data.get("protocol", "")), database_url)
    # Lenient as open_review is: an archive made before a newer analysis check still restores.
    parse_protocol(str(data.get("protocol", "")), source=f"{archive_path} (protocol)", lenient_analyses=True)
    _check_values(data.get("tables"), str(archive_path))
    target = folder / PROTOCOL_FILE
    if target.exists():
        raise ReviewkitError(f"{target} already exists", hint="restore into a new folder")
    schema = data.get("schema")
    if schema is not None and not known_revision(str(schema)):
        raise ReviewkitError(f"the archive is at schema revision {schema}, which this reviewkit does not know",
                             where=str(archive_path), hint="upgrade reviewkit: a newer version wrote the archive")
    made_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    protocol = parse_protocol(data["protocol"], lenient_analyses=True)
    db_file = folder / DB_FILE
    had_db = db_file.exists()
    url = restore_target(folder, protocol, database_url)
    try:
        engine = make_engine(url)  # before anything is written: a bad URL leaves nothing
    except ReviewkitError:
        if made_folder and not any(folder.iterdir()):
            folder.rmdir()
        raise
    made_schema = had_version_table = False
    try:
        target.write_text(data["protocol"], encoding="utf-8")
        # The rows are loaded into the schema they were dumped from, then migrated with the
        # database, as an old review would be on open; loading them straight into the head
        # schema would skip what later revisions do to existing rows.
        if current_revision(engine) is not None:
            # A database with a schema already (PostgreSQL made by hand) must be empty and cannot be
            # taken back to an older archive's revision.
            tables = dump_tables(engine)
            if any(tables.values()):
                raise ReviewkitError(f"the target database {database_name(engine)} is not empty",
                                     hint="restore into a new database: --database-url names another "
                                          "(PostgreSQL, or `local` for an SQLite file in the folder)")
            if schema is not None and current_revision(engine) != schema:
                raise ReviewkitError(f"the target database already has schema revision "
                                     f"{current_revision(engine)}, the archive {schema}",
                                     hint="restore into a new, empty database")
        else:
            had_version_table = "alembic_version" in table_names(engine)
            made_schema = True
        migrate(engine, to=str(schema) if schema is not None else None)
        load_tables(engine, data["tables"])
        migrate(engine)
    except BaseException as exc:
        # Nothing half-restored is left to be mistaken for the review (or to block a retry): not after a
        # Ctrl-C either, which left the protocol beside an empty database that opened as an empty review.
        if made_schema and (had_db or engine.dialect.name != "sqlite"):
            # A database the user gave (PostgreSQL, an empty file) kept the schema: a retry with an older
            # archive was then refused for its revision. A file restore made is removed below instead.
            with contextlib.suppress(Exception):  # the server may be gone; the restore's own error says more
                unmigrate(engine, drop_version_table=not had_version_table)
        engine.dispose()
        target.unlink(missing_ok=True)
        if not had_db:
            for leftover in (db_file, *db_file.parent.glob(db_file.name + "-*")):
                leftover.unlink(missing_ok=True)
        if made_folder and not any(folder.iterdir()):
            folder.rmdir()
        if isinstance(exc, ReviewkitError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, OSError):  # the protocol could not be written: the folder's fault, not the archive's
            raise ReviewkitError(f"cannot write {target}: {exc.strerror or exc}") from None
        if (error := open_error(engine, exc)) is not None:
            raise error from None  # the database did not answer or refused us: not the archive's fault
        # a damaged archive: rows that violate the schema
        raise ReviewkitError(f"the archive's rows do not load: {_first_line(exc)}", where=str(archive_path)) from None
    finally:
        engine.dispose()
    return _opened(folder, protocol, url)

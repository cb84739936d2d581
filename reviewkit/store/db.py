"""Provides the database engine (SQLite by default, PostgreSQL by URL), sessions and schema migration."""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlmodel import Session

from reviewkit.errors import ReviewkitError, TransactionFailed

P = ParamSpec("P")
R = TypeVar("R")

DB_FILE = "reviewkit.db"
#: How long a writer waits for another process's write to finish before giving up (ms).
#: Reviewers' writes are tiny; 30 s only matters under a bulk import.
BUSY_TIMEOUT_MS = 30_000
#: How long to wait for a PostgreSQL server to answer (s): a host that drops packets would
#: otherwise hold the command (or the TUI) for minutes before the OS gives up.
PG_CONNECT_TIMEOUT_S = 10
#: What SQLite says when a file is not a database or its pages are corrupt (sqlite3.DatabaseError).
DAMAGED = ("file is not a database", "database disk image is malformed")
#: PostgreSQL advisory lock keys (a review has its own database, so a key is per review).
#: Duplicate groups: every change to them reads the live groups first (see lock_transaction).
GROUPS_LOCK = 0x726B_0001
#: The reviewer table: mirroring the protocol's team reads who is there before adding who is not.
REVIEWERS_LOCK = 0x726B_0002
#: The schema: migrating reads the revision, then changes the schema (see migrate).
MIGRATE_LOCK = 0x726B_0003
#: A source's search (PubMed, ClinicalTrials.gov): held for the whole run, see `hold_lock`.
SEARCH_LOCKS = {"PubMed": 0x726B_0101, "ClinicalTrials.gov": 0x726B_0102}


def file_lock(sha256: str) -> int:
    """The advisory lock key of one file's import (from its SHA-256, 60 bits: far from GROUPS_LOCK), so the
    same export imported on two machines at once queues and the second is refused as already imported."""
    return int(sha256[:15], 16)


def sqlite_url(folder: Path) -> str:
    """The URL of the review's embedded database file."""
    return f"sqlite:///{(folder / DB_FILE).resolve()}"


def make_engine(url: str) -> Engine:
    """Create an engine for `url` with the settings several reviewer processes need."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        # A connect_timeout (or options) in the URL is the user's choice; connect_args would override it.
        query = make_url(url).query
        wait: dict[str, Any] = {} if "connect_timeout" in query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        if "options" not in query:
            # A lock wait gives up as SQLite's busy timeout does: a teammate's process stuck mid-transaction
            # would otherwise hold every other writer (a screener's TUI) without a word, for ever.
            wait["options"] = f"-c lock_timeout={BUSY_TIMEOUT_MS}"
        return create_engine(url, pool_pre_ping=True, connect_args=wait)
    except Exception as exc:  # a malformed URL or a missing driver
        raise ReviewkitError(f"cannot use database_url {_without_password(url)!r}: {exc}") from None


def _without_password(url: str) -> str:
    """The URL as it may be shown (a password replaced by ***), or a placeholder when it cannot be parsed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparseable: say nothing of it rather than risk echoing a password
        return "(unreadable URL)"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so a write
        # session can take the write lock up front (BEGIN IMMEDIATE) instead of failing with
        # "database is locked" when it upgrades a read lock while another process writes.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at each WAL checkpoint; safe with WAL
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()
        # SQLite's lower() folds ASCII only, so the search filter (ilike, which SQLAlchemy writes as
        # lower(x) LIKE lower(y) here) missed "SJÖGREN" in "Sjögren" where PostgreSQL finds it.
        dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        if immediate and _begin_immediate_promptly(conn.connection.dbapi_connection):
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _lower(value: object) -> object:
    """SQL lower() for SQLite with Unicode case folding, as PostgreSQL's (NULL and non-text as they are)."""
    return value.lower() if isinstance(value, str) else value


def _begin_immediate_promptly(dbapi_conn: Any) -> bool:
    """Take the write lock, retrying every millisecond or two for up to the busy timeout.

    SQLite's own busy handler sleeps up to 100 ms between tries, while a process that has just
    committed begins its next write within a millisecond: under steady writing by others a
    waiting writer kept missing the free lock and failed with "database is locked" after 30 s
    (found by bench/soak_decisions.py, 4 reviewer processes). Short random retries give every
    waiter its turn. False when the lock stayed busy: the caller then waits SQLite's way once
    more and reports the error as usual.
    """
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=0")
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                cur.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    return False
            time.sleep(random.uniform(0.0005, 0.002))
    finally:
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (nothing written) on any error.

    `write=True` takes SQLite's write lock at the start, which waits (busy timeout) for other
    writers rather than failing mid-transaction.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        if write and engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_immediate": True})
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise transaction_error(engine, exc) from exc
    except DatabaseError as exc:
        session.rollback()
        if not is_damaged(exc):
            raise  # an integrity or programming error: a bug, with its traceback
        raise ReviewkitError(damaged_text(database_name(engine), exc)) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def transaction_error(engine: Engine, exc: OperationalError) -> TransactionFailed:
    """What to tell the user when the database failed a transaction (rolled back: nothing of it stored).

    The driver's own words were shown as they came: "database is locked" after SQLite's busy timeout, and
    PostgreSQL's several lines on a deadlock, neither saying what happened to the change or what to do.
    """
    reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    wait = f"{BUSY_TIMEOUT_MS / 1000:g} s"
    if engine.dialect.name == "sqlite" and "locked" in reason:
        cause = f"the database {database_name(engine)} stayed locked by another process for {wait} ({reason})"
        return TransactionFailed(
            f"{cause}; nothing was stored", cause=cause,
            hint="try again when the other reviewkit command (an import, a dedup run) has finished")
    if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_timeout: another transaction held the rows
        return TransactionFailed(
            f"another reviewkit process held what this change needed for {wait}; nothing was stored",
            cause=f"another reviewkit process held what was to be read for {wait}",
            hint="try again when the other command (an import, a dedup run) has finished")
    if getattr(exc.orig, "sqlstate", None) in ("40P01", "40001"):  # deadlock, serialization failure
        cause = f"another change to the same rows was stored at the same moment ({reason})"
        return TransactionFailed(f"{cause}; nothing of this one was stored", cause=cause, hint="try again",
                                 retryable=True)
    return TransactionFailed(f"database error: {reason}; nothing was stored", cause=f"database error: {reason}")


#: How often a transaction PostgreSQL aborted for a conflict with another one is run in all (see retry_conflicts).
CONFLICT_ATTEMPTS = 4


def retry_conflicts(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` again when PostgreSQL aborted its transaction for a deadlock or a serialization failure.

    Such an abort says only that another reviewer's change touched the same rows at the same moment;
    nothing of this one was stored (session_scope rolled it back), so running the whole function again
    is what the reviewer would do by hand, and almost always succeeds. `func` must open its own
    session_scope and have no effect outside the database. The waits are short and random, so the two
    transactions that met do not meet again; after the last attempt the error stands as it was.
    """
    @functools.wraps(func)
    def attempt(*args: P.args, **kwargs: P.kwargs) -> R:
        for tried in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except TransactionFailed as exc:
                if not exc.retryable or tried == CONFLICT_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * tried)
        raise AssertionError("unreachable: the last attempt returns or raises")
    return attempt


class _Stored(Protocol):
    id: int | None


def stored_id(row: _Stored) -> int:
    """The id of a row read from the database or flushed to it. Its table types the key `int | None`
    (None only until the database gives one), so code holding a stored row narrows it here, once."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id: it was never flushed to the database")
    return row.id


def lock_transaction(session: Session, key: int) -> None:
    """Hold the advisory lock `key` until the transaction ends, so writers of one set of rows queue.

    For a check that reads rows a row lock cannot cover (rows another writer may be inserting).
    PostgreSQL only: a SQLite write transaction already holds the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@contextmanager
def hold_lock(engine: Engine, key: int, busy: ReviewkitError) -> Iterator[None]:
    """Hold lock `key` for the block, across its many transactions, or refuse with `busy` at once.

    For work that commits as it goes (a search stores batch by batch) and that a second process must
    not do at the same time. The lock dies with its holder, so a crashed process never leaves it
    behind: on PostgreSQL a session advisory lock on a connection of its own; on SQLite an exclusive
    `flock` on a file beside the database (one machine, as SQLite is).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                raise busy
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
        return
    try:
        import fcntl
    except ImportError:  # no flock (Windows): SQLite's own write lock still keeps each batch whole
        yield
        return
    path = Path(engine.url.database or DB_FILE).with_name(f"{DB_FILE}.lock-{key:x}")
    with path.open("a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def database_name(engine: Engine) -> str:
    """The database as its user knows it: the SQLite file's path, or the URL without its password."""
    if engine.dialect.name == "sqlite":
        return engine.url.database or ""
    return engine.url.render_as_string(hide_password=True)


def is_damaged(exc: BaseException) -> bool:
    """Whether SQLite refused the file as no database or a corrupt one (bare or wrapped by SQLAlchemy).

    Recognised by SQLite's own words: the same exception types also cover integrity and
    programming errors, which are bugs and must keep their traceback.
    """
    cause = getattr(exc, "orig", None) or exc
    return isinstance(cause, sqlite3.DatabaseError) and any(m in str(cause) for m in DAMAGED)


def damaged_text(database: str, exc: BaseException) -> str:
    """The one-line message for a database file SQLite cannot read."""
    cause = getattr(exc, "orig", None) or exc
    return f"not a reviewkit database or damaged: {database} ({cause}); restore it from a backup (reviewkit backup)"


def open_error(engine: Engine, exc: Exception) -> ReviewkitError | None:
    """What to tell the user when opening the database failed, or None for an error that is a bug.

    A damaged SQLite file, and a database the driver cannot reach or open (a PostgreSQL server
    that refuses or does not answer, a SQLite file that cannot be opened) are named; the URL is
    shown without its password.
    """
    if is_damaged(exc):
        return ReviewkitError(damaged_text(database_name(engine), exc))
    if not isinstance(exc, OperationalError):
        return None
    # The driver's first line says why ("Connection refused"); the rest is advice or SQL.
    reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    if engine.dialect.name == "sqlite":
        return ReviewkitError(f"cannot open the database {database_name(engine)}: {reason}")
    return ReviewkitError(f"cannot connect to the database {database_name(engine)}: {reason}",
                          hint="check that the server runs and accepts connections, and the database URL")


#: Tables every reviewkit database has, from its first schema revision on: a database lacking them was
#: never made by reviewkit (an empty file, another program's database, a PostgreSQL database nobody initialised).
REVIEWKIT_TABLES = frozenset({"alembic_version", "reviewer", "record"})
#: What to do about a review whose database is missing, empty or someone else's.
MISSING_HINT = ("restore it from a backup (`reviewkit restore`, see README) "
                "or run `reviewkit init` in a new folder")


def _missing(message: str) -> ReviewkitError:
    return ReviewkitError(message, hint=MISSING_HINT)


def schema_error(engine: Engine) -> ReviewkitError | None:
    """Why `engine`'s database is no review's (None when it holds reviewkit's schema), found without
    creating or changing anything: a SQLite file that does not exist or is empty, or a database (SQLite
    or PostgreSQL) without reviewkit's tables. Opening an existing review checks this first, so that a
    review whose database went missing is refused rather than started again empty.

    A SQLite file SQLite cannot read raises its error (open_error names it); a PostgreSQL server that
    cannot be reached raises the driver's.
    """
    if engine.dialect.name != "sqlite":
        if set(inspect(engine).get_table_names()) >= REVIEWKIT_TABLES:
            return None
        return _missing(f"not a reviewkit database: {database_name(engine)} holds no reviewkit tables "
                        "(no review was made in it)")
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None  # not a file of a review folder (tests, scripts)
    file = Path(path)
    if not file.exists():
        return _missing(f"the review's database is missing: {file} does not exist")
    wal = file.with_name(file.name + "-wal")
    if file.stat().st_size == 0 and not (wal.exists() and wal.stat().st_size):
        return _missing(f"the review's database is empty: {file} (0 bytes)")
    # A plain read-write connection that may not create the file (mode=rw): unlike SQLAlchemy's, it
    # sets no journal mode (which would rewrite a foreign file's header), and unlike a read-only one it
    # removes the -wal and -shm files it opens on a WAL database when it closes.
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=rw", uri=True)
        try:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:  # unreadable (permissions, locked): a damaged file is raised
        return ReviewkitError(f"cannot open the database {file}: {exc}")
    if tables >= REVIEWKIT_TABLES:
        return None
    return _missing(f"not a reviewkit database: {file} holds no reviewkit tables")


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest schema revision this version of reviewkit knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent / "migrations"))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revision(revision: str) -> bool:
    """Whether this version of reviewkit has the schema revision (False for a newer one)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory(str(Path(__file__).parent / "migrations")).get_revision(revision) is not None
    except CommandError:
        return False


def migrate(engine: Engine, to: str | None = None) -> None:
    """Bring the schema to this version's head (or to revision `to`, for loading an older archive
    before its rows are migrated); refuse a database written by a newer reviewkit.

    After an upgrade of reviewkit the team's processes open the review at once, and each read the old
    revision and began upgrading: all but the first failed, with "database is locked" (SQLite) or
    alembic's "expected to match one row" (PostgreSQL). So the revision is read again and the schema
    changed in one transaction that holds the write lock (SQLite) or MIGRATE_LOCK (PostgreSQL): the
    others wait for it and then find the schema up to date.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    target = to or head_revision()
    if not _needs_migrating(current_revision(engine), target):
        return  # up to date: no lock taken (every open passes here)
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        if not _needs_migrating(MigrationContext.configure(conn).get_current_revision(), target):
            return  # another process migrated it while this one waited
        config = _alembic_config(engine)
        config.attributes["connection"] = conn  # env.py runs the revisions in this transaction
        command.upgrade(config, to or "head")


def unmigrate(engine: Engine, *, drop_version_table: bool) -> None:
    """Undo every schema revision, in one transaction: the database as empty as before `migrate` made its
    schema (what a failed restore made in a PostgreSQL database it was given empty). Alembic's version
    table is dropped too when `drop_version_table` (the caller made it)."""
    from alembic import command

    with engine.connect() as conn, conn.begin():
        config = _alembic_config(engine)
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        if drop_version_table:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _needs_migrating(current: str | None, target: str) -> bool:
    """Whether a database at revision `current` (None: empty) needs migrating to `target`; a revision this
    reviewkit does not know (a newer one) is refused."""
    if current is not None and not known_revision(current):
        raise ReviewkitError(
            f"the database is at schema revision {current}, which this reviewkit does not know",
            hint="upgrade reviewkit: the review was written by a newer version",
        )
    return current != target


def table_names(engine: Engine) -> list[str]:
    """The tables present in the database."""
    return sorted(inspect(engine).get_table_names())

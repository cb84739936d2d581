"""Tests that several reviewer processes can read and write one review at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import func, select

from reviewkit.errors import ReviewkitError, TransactionFailed
from reviewkit.store import db
from reviewkit.store import tables as t
from reviewkit.store.db import make_engine, migrate, session_scope

WRITER = textwrap.dedent(
    """
    import sys
    from reviewkit.store.db import make_engine, session_scope
    from reviewkit.store import tables as t
    engine = make_engine(sys.argv[1])
    for i in range(int(sys.argv[2])):
        with session_scope(engine, write=True) as s:
            s.add(t.ScreeningDecisionRow(record_id=1, reviewer_id=1, stage="ta", decision="include"))
    print("ok")
    """
)


def test_second_process_writes_while_first_reads(database_url: str) -> None:
    """A writer process succeeds while this process holds a read transaction open, and vice versa."""
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine, write=True) as s:
        s.add(t.ReviewerRow(id=1, name="alice", roles=["screener"]))
        s.add(t.SourceRunRow(id=1, kind="import", source="x"))
        s.flush()
        s.add(t.RecordRow(id=1, title="x", first_run_id=1))
    n = 200
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, database_url, str(n)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Hold a long read transaction (as a screen listing records would), then write ourselves,
    # while the other process is writing.
    deadline = time.monotonic() + 60
    mine = 0
    while writer.poll() is None and time.monotonic() < deadline:
        with session_scope(engine) as s:
            s.exec(select(func.count()).select_from(t.ScreeningDecisionRow)).one()
            s.connection().execute(text("SELECT 1"))
            time.sleep(0.01)
        with session_scope(engine, write=True) as s:
            s.add(t.ScreeningDecisionRow(record_id=1, reviewer_id=1, stage="ft", decision="exclude"))
        mine += 1
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert "database is locked" not in err
    with session_scope(engine) as s:
        ta = s.exec(select(func.count()).select_from(t.ScreeningDecisionRow)
                    .where(t.ScreeningDecisionRow.stage == "ta")).one()
        ft = s.exec(select(func.count()).select_from(t.ScreeningDecisionRow)
                    .where(t.ScreeningDecisionRow.stage == "ft")).one()
    assert (ta, ft) == (n, mine)
    engine.dispose()


def _one_record(database_url: str) -> Engine:
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine, write=True) as s:
        s.add(t.SourceRunRow(id=1, kind="import", source="x"))
        s.flush()
        s.add_all([t.RecordRow(id=1, title="x", first_run_id=1), t.RecordRow(id=2, title="y", first_run_id=1)])
    return engine


def _in_opposite_orders(target: Callable[[int, int], None]) -> None:
    """`target(1, 2)` and `target(2, 1)` at once, each in its thread: two writers locking rows in opposite orders."""
    threads = [threading.Thread(target=target, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_a_write_lock_held_past_the_busy_timeout_is_said_plainly(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holding SQLite's write lock for longer than the wait: the user read the driver's bare
    "database error: database is locked"; now what happened to the change, and what to do."""
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    engine = _one_record(f"sqlite:///{tmp_path / 'r.db'}")
    holder = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ReviewkitError) as caught, session_scope(engine, write=True) as s:
            s.add(t.RecordRow(title="z", first_run_id=1))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert str(caught.value) == (f"the database {tmp_path / 'r.db'} stayed locked by another process for 0.2 s "
                                 "(database is locked); nothing was stored (try again when the other reviewkit "
                                 "command (an import, a dedup run) has finished)")
    engine.dispose()


@pytest.mark.postgres
def test_a_deadlock_is_said_plainly_and_stores_nothing(database_url: str) -> None:
    """Two writers locking two rows in opposite orders: PostgreSQL aborts one, whose user read its several lines
    ("deadlock detected", DETAIL: Process … waits for ShareLock …); now one line saying to try again."""
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite writer holds the whole database: no deadlock between rows")
    engine = _one_record(database_url)
    both_locked = threading.Barrier(2, timeout=60)
    out: dict[int, Exception | None] = {}

    def write(first: int, second: int) -> None:
        try:
            with session_scope(engine, write=True) as s:
                s.execute(text("SELECT id FROM record WHERE id = :i FOR UPDATE"), {"i": first})
                both_locked.wait()
                s.execute(text("SELECT id FROM record WHERE id = :i FOR UPDATE"), {"i": second})
                s.execute(text("UPDATE record SET title = 'changed' WHERE id = :i"), {"i": first})
            out[first] = None
        except Exception as exc:  # the one aborted is what the test checks
            out[first] = exc

    _in_opposite_orders(write)
    (failed,) = [e for e in out.values() if e is not None]
    assert isinstance(failed, ReviewkitError)
    assert str(failed) == ("another change to the same rows was stored at the same moment (deadlock detected); "
                           "nothing of this one was stored (try again)")
    (stored,) = [first for first, e in out.items() if e is None]
    with session_scope(engine) as s:  # the stored change only: the aborted one left its row as it was
        titles = dict(s.exec(select(t.RecordRow.id, t.RecordRow.title)).all())
    assert titles == {1: "x", 2: "y", stored: "changed"}
    engine.dispose()


@pytest.mark.postgres
def test_a_change_aborted_by_a_deadlock_is_run_again_and_both_are_stored(database_url: str) -> None:
    """The same two writers, each a service-like function under retry_conflicts: the one PostgreSQL aborts
    runs again once the other has committed, so both reviewers' changes are stored and neither is told
    to try again (a decision pressed in the TUI at the same moment as a teammate's is not lost)."""
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite writer holds the whole database: no deadlock between rows")
    engine = _one_record(database_url)
    both_locked = threading.Barrier(2, timeout=60)
    runs = {1: 0, 2: 0}
    out: dict[int, Exception | None] = {}

    @db.retry_conflicts
    def write(first: int, second: int) -> None:
        runs[first] += 1
        with session_scope(engine, write=True) as s:
            s.execute(text("SELECT id FROM record WHERE id = :i FOR UPDATE"), {"i": first})
            if runs[first] == 1:  # only the first runs meet; a rerun must not wait for a partner
                both_locked.wait()
            s.execute(text("SELECT id FROM record WHERE id = :i FOR UPDATE"), {"i": second})
            s.execute(text("UPDATE record SET title = title || :mark WHERE id = :i"),
                      {"mark": f"+{first}", "i": second})

    def run(first: int, second: int) -> None:
        try:
            write(first, second)
            out[first] = None
        except Exception as exc:  # reported by the assertion below
            out[first] = exc

    _in_opposite_orders(run)
    assert out == {1: None, 2: None}
    assert sorted(runs.values()) == [1, 2]  # one ran once; the one aborted ran again
    with session_scope(engine) as s:
        titles = dict(s.exec(select(t.RecordRow.id, t.RecordRow.title)).all())
    assert titles == {1: "x+2", 2: "y+1"}
    engine.dispose()


def test_only_a_conflict_is_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked SQLite file or a refused change is said at once: running it again would only repeat the
    wait or the refusal. A conflict that keeps coming is said after the last attempt, as it was."""
    monkeypatch.setattr(db.time, "sleep", lambda _s: None)
    calls: list[str] = []

    @db.retry_conflicts
    def change(error: Exception) -> None:
        calls.append(type(error).__name__)
        raise error

    for error in (TransactionFailed("the database stayed locked; nothing was stored", cause="locked"),
                  ReviewkitError("record 3 has been adjudicated")):
        calls.clear()
        with pytest.raises(type(error)):
            change(error)
        assert len(calls) == 1
    calls.clear()
    conflict = TransactionFailed("deadlock; nothing of this one was stored", cause="deadlock", retryable=True)
    with pytest.raises(TransactionFailed) as caught:
        change(conflict)
    assert caught.value is conflict and len(calls) == db.CONFLICT_ATTEMPTS


@pytest.mark.postgres
def test_a_lock_held_past_the_wait_is_said_plainly_on_postgresql(database_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A teammate's process stuck mid-transaction holding the duplicate groups' lock: a writer waiting for it
    gives up after the same wait as on SQLite, saying nothing was stored, instead of waiting for ever."""
    if database_url.startswith("sqlite"):
        pytest.skip("the SQLite case is the busy-timeout test above")
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)
    engine = _one_record(database_url)
    holder = engine.connect()
    holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": db.GROUPS_LOCK})
    try:
        with pytest.raises(ReviewkitError) as caught, session_scope(engine, write=True) as s:
            db.lock_transaction(s, db.GROUPS_LOCK)
            s.add(t.RecordRow(title="z", first_run_id=1))
    finally:
        holder.rollback()
        holder.close()
    assert str(caught.value) == ("another reviewkit process held what this change needed for 0.3 s; nothing was "
                                 "stored (try again when the other command (an import, a dedup run) has finished)")
    with session_scope(engine) as s:
        assert s.exec(select(t.RecordRow).where(t.RecordRow.title == "z")).first() is None
    engine.dispose()

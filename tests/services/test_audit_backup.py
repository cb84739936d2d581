"""Tests for the audit trail (history replayed from events) and online backups."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen, screen_cards, screen_queue
from reviewkit.services.audit import audit_trail, decision_history
from reviewkit.services.backup import backup_review
from reviewkit.services.project import Review, open_review
from tests.factories import add_records, uncertain_pair


def test_record_history_reconstructed_from_events(review: Review) -> None:
    """Replaying a record's audit events gives exactly the decisions the service reports now."""
    a, b = add_records(review, 2)
    screen.record_decision(review, "alice", a, "ta", "include", note="n1")
    screen.record_decision(review, "alice", b, "ta", "exclude")
    screen.record_decision(review, "bob", a, "ta", "exclude")
    screen.record_decision(review, "alice", a, "ta", "maybe")
    screen.undo_decision(review, "bob", a, "ta")
    screen.record_decision(review, "bob", a, "ta", "include")
    events = audit_trail(review, record_id=a)
    assert [(e.actor, e.action) for e in events] == [
        ("alice", "decide"), ("bob", "decide"), ("alice", "change"), ("bob", "undo"), ("bob", "decide")]
    assert events[2].old["decision"] == "include" and events[2].new["decision"] == "maybe"
    replayed = decision_history(events)
    current = {(v.reviewer, "ta"): v.decision for v in screen_cards.other_decisions(review, "alice", a, "ta")}
    current[("alice", "ta")] = screen_cards.record_card(review, "alice", a, "ta").own.decision  # type: ignore[union-attr]
    assert replayed == current == {("alice", "ta"): "maybe", ("bob", "ta"): "include"}


def test_audit_cli_filters_by_record(review: Review) -> None:
    """`reviewkit audit --record ID` prints only that record's events."""
    a, b = add_records(review, 2)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "alice", b, "ta", "exclude")
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "audit", "--record", str(b)]).output
    assert f"record {b}" in out and f"record {a}" not in out and "decision=exclude" in out
    # A record the review does not have is said, not shown as an empty history.
    missing = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "audit", "--record", "999"])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == ("error: no record 999 in this review (reviewkit export records FILE.csv "
                                      "lists the record ids)")


def test_a_records_history_holds_the_verdicts_on_its_pairs(review: Review) -> None:
    """A pair's verdict is filed under its first record: `audit --record` of the second showed no one had
    said it is not a copy of the first (nor its reopening, nor a confirmation)."""
    from reviewkit.services import dedup

    pair = uncertain_pair(review)
    dedup.decide_pair(review, "alice", pair.id, False)
    dedup.reopen_pair(review, "alice", pair.id)
    dedup.decide_pair(review, "alice", pair.id, True)
    for rid in (pair.a_id, pair.b_id):
        events = [(e.entity, e.action) for e in audit_trail(review, record_id=rid)]
        assert events == [("duplicate_pair", "rejected"), ("duplicate_pair", "reopen"),
                          ("duplicate_pair", "confirmed"), ("duplicate_group", "merge")], rid
    # Another record's pair events stay out of its history.
    (other,) = add_records(review, 1)
    assert audit_trail(review, record_id=other) == []


def test_audit_says_its_times_are_utc(review: Review) -> None:
    """The store keeps UTC; the text printed bare times, read as local hours away from the decision."""
    (a,) = add_records(review, 1)
    screen.record_decision(review, "alice", a, "ta", "include")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "audit", "--record", str(a)])
    (event,) = audit_trail(review, record_id=a)
    assert result.output.startswith(f"{event.at:%Y-%m-%d %H:%M:%S} UTC alice ")
    as_json = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "audit", "--json"]).output
    assert json.loads(as_json)[-1]["at"].endswith("+00:00")


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from reviewkit.services.project import open_review
    from reviewkit.services import screen
    review = open_review(Path(sys.argv[1]))
    ids = [int(x) for x in sys.argv[2].split(",")]
    for i, rid in enumerate(ids):
        screen.record_decision(review, "alice", rid, "ta", "include" if i % 2 else "exclude")
    """
)


def test_backup_while_a_reviewer_writes(tmp_path: Path) -> None:
    """A backup taken during another process's writes is a consistent, openable review."""
    from reviewkit.services.project import init_review

    review = init_review(tmp_path / "r")
    ids = add_records(review, 400)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(review.folder), ",".join(map(str, ids))],
                              stderr=subprocess.PIPE, text=True)
    target = backup_review(review, tmp_path / "snap", actor="alice")
    _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = conn.execute("SELECT count(*) FROM screening_decision").fetchone()[0]
    assert 0 <= n <= 400
    copy = open_review(tmp_path / "snap")
    assert len(screen_queue.screening_queue(copy, "alice", "ta")) == 400 - n
    assert not list((tmp_path / "snap").glob("*.part"))
    with pytest.raises(ReviewkitError, match="already exists"):
        backup_review(review, tmp_path / "snap", actor="alice")


#: Another process committing as fast as it can (raw rows, to write faster than any command does) until
#: the file argv[2] appears or 20 seconds pass.
STEADY_WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    from pathlib import Path
    conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
    print("writing", flush=True)
    end = time.monotonic() + 20
    while time.monotonic() < end and not Path(sys.argv[2]).exists():
        conn.execute("INSERT INTO audit_event (at, actor, entity, action) VALUES ('2026-01-01', 'w', 'x', 'y')")
    """
)


def test_a_large_backup_finishes_while_another_process_keeps_writing(tmp_path: Path) -> None:
    """Copied 1024 pages a step, each write between steps restarted the copy: a 24 MB review's backup ran
    until the writer stopped. One step in WAL mode copies one snapshot and blocks no writer."""
    from reviewkit.domain.records import Record
    from reviewkit.services.project import init_review

    review = init_review(tmp_path / "r")
    add_records(review, [Record(title="Large", abstract="x" * 24_000_000)])
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", STEADY_WRITER, str(review.folder / "reviewkit.db"), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        started = time.monotonic()
        target = backup_review(review, tmp_path / "snap", actor="alice")
        took = time.monotonic() - started
    finally:
        stop.touch()
        _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert took < 8, f"the backup took {took:.1f} s"
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    review.engine.dispose()


def test_backup_of_postgres_review_gives_pg_dump_guidance(review: Review, tmp_path: Path) -> None:
    """A PostgreSQL review is not copied file-wise: the user is told to use pg_dump."""
    if review.engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL only")
    with pytest.raises(ReviewkitError, match="pg_dump"):
        backup_review(review, tmp_path / "b", actor="alice")


BACKUP_UNDER_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the limit, a write fails (EFBIG)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
    from reviewkit.cli import cli
    sys.argv = ["reviewkit", "-C", sys.argv[1], "--reviewer", "alice", "backup", sys.argv[2]]
    cli()
    """
)


@pytest.mark.parametrize("name", ["nested/snap", "copy.db"])
def test_a_failed_backup_leaves_nothing_and_names_the_target(tmp_path: Path, name: str) -> None:
    """A database too big for the file-size limit: a one-line error naming the target, and no
    protocol copy, empty .part file or folder left behind (a traceback and both files were left)."""
    from reviewkit.services.project import init_review

    review = init_review(tmp_path / "r")
    add_records(review, 600)
    out = tmp_path / "out"
    out.mkdir()
    target = out / name
    done = subprocess.run([sys.executable, "-c", BACKUP_UNDER_LIMIT, str(review.folder), str(target)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert str(target) in done.stderr + done.stdout and "backup failed" in done.stderr + done.stdout
    assert list(out.iterdir()) == []


def test_a_failed_backup_keeps_what_was_already_there(review: Review, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what the failed call made is removed: a file already in the folder stays, the protocol copy
    and the partial copy go, and the error names the target (it was a traceback)."""
    if review.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only (PostgreSQL is backed up with pg_dump)")
    from reviewkit.services import backup

    def broken(source: Path, partial: Path) -> None:
        partial.write_bytes(b"half")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(backup, "_copy_database", broken)
    target = tmp_path / "snap"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    with pytest.raises(ReviewkitError, match="backup failed") as caught:
        backup_review(review, target, actor="alice")
    assert str(target) in str(caught.value)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_an_interrupted_backup_leaves_nothing(review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the copy left review.toml and the .part file: the next backup there was refused as
    "the folder holds a review"."""
    if review.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only (PostgreSQL is backed up with pg_dump)")
    from reviewkit.services import backup

    def interrupted(source: Path, partial: Path) -> None:
        partial.write_bytes(b"half")
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(backup, "_copy_database", interrupted)
        backup_review(review, tmp_path / "snap" / "today", actor="alice")
    assert not (tmp_path / "snap").exists()
    assert backup_review(review, tmp_path / "snap" / "today", actor="alice").exists()  # the retry is not refused


def test_a_backup_into_a_review_folder_is_refused_for_holding_a_review(review: Review, tmp_path: Path) -> None:
    """`backup my-review` (the review's own folder, or another review's with its reviewkit.db) was refused
    because "reviewkit.db already exists"; the README's reason is that a backup never writes into a folder
    holding a review.toml, so that is what it says now, naming the own folder as such; nothing is written."""
    if review.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only (PostgreSQL is backed up with pg_dump)")
    before = sorted(p.name for p in review.folder.iterdir())
    with pytest.raises(ReviewkitError, match=r"review\.toml already exists: the folder holds a review \(this "
                                             r"review's own folder\), and a backup never writes into a folder "
                                             r"that holds a review\.toml") as refused:
        backup_review(review, review.folder, actor="alice")
    assert "reviewkit.db already exists" not in str(refused.value)
    assert sorted(p.name for p in review.folder.iterdir()) == before
    backup_review(review, tmp_path / "copy", actor="alice")  # a review folder: review.toml and reviewkit.db
    with pytest.raises(ReviewkitError, match="the folder holds a review, and a backup never writes") as refused:
        backup_review(review, tmp_path / "copy", actor="alice")
    assert "own folder" not in str(refused.value) and "reviewkit.db already exists" not in str(refused.value)


def test_a_backup_never_replaces_another_reviews_protocol(review: Review, tmp_path: Path) -> None:
    """A folder holding a review.toml (a PostgreSQL team's, with its database_url) was overwritten by this
    review's protocol; now it is refused before anything is written. A file in the way of the folder, and
    a .DB target in capitals (it made a folder), are handled too."""
    if review.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only (PostgreSQL is backed up with pg_dump)")
    target = tmp_path / "team"
    target.mkdir()
    theirs = 'database_url = "postgresql+psycopg://team@server/review"\n'
    (target / "review.toml").write_text(theirs)
    with pytest.raises(ReviewkitError, match="folder holds a review"):
        backup_review(review, target, actor="alice")
    assert (target / "review.toml").read_text() == theirs and [p.name for p in target.iterdir()] == ["review.toml"]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ReviewkitError, match="a file of that name is in the way"):
        backup_review(review, tmp_path / "afile", actor="alice")
    made = backup_review(review, tmp_path / "bk" / "Up.DB", actor="alice")
    assert made == tmp_path / "bk" / "Up.DB" and made.is_file()

"""Tests for opening a review whose database cannot be used: one ReviewkitError naming the file or URL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services.dedup import run_dedup
from reviewkit.services.project import DATABASE_URL_ENV, init_review, open_review
from reviewkit.store import db
from tests.factories import add_records

JUNK = b"These bytes were never a database. " * 200
#: A password that must never be shown.
SECRET = "s3cret-pw"


def _folder(tmp_path: Path, records: int = 0) -> Path:
    """A SQLite review (with `records` records), closed, its WAL checkpointed into the file."""
    folder = tmp_path / "review"
    review = init_review(folder)
    if records:
        add_records(review, records)
    review.engine.dispose()
    assert not (folder / "reviewkit.db-wal").exists()  # everything is in the one file
    return folder


def _refused(folder: Path) -> str:
    with pytest.raises(ReviewkitError) as caught:
        open_review(folder)
    return str(caught.value)


def test_a_file_of_junk_is_named_and_left_untouched(tmp_path: Path) -> None:
    """reviewkit.db holding other bytes: the error names the file; not one byte of it changes."""
    folder = _folder(tmp_path)
    database = folder / "reviewkit.db"
    database.write_bytes(JUNK)
    message = _refused(folder)
    assert message == (f"not a reviewkit database or damaged: {database.resolve()} (file is not a database); "
                       "restore it from a backup (reviewkit backup)")
    assert database.read_bytes() == JUNK
    assert sorted(p.name for p in folder.iterdir()) == ["review.toml", "reviewkit.db"]


def test_a_truncated_database_is_named(tmp_path: Path) -> None:
    """A real review cut short (a copy that stopped half way) is refused, naming the file."""
    folder = _folder(tmp_path, records=200)
    database = folder / "reviewkit.db"
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 2])
    message = _refused(folder)
    assert message.startswith(f"not a reviewkit database or damaged: {database.resolve()} (")
    assert "malformed" in message


def test_a_page_damaged_after_opening_is_named_by_the_service(tmp_path: Path) -> None:
    """A damaged record page is met by a later service call (a TUI worker's, say): the same named error."""
    folder = _folder(tmp_path, records=200)
    database = folder / "reviewkit.db"
    data = bytearray(database.read_bytes())
    at = data.index(b"Trial 150 of baricitinib")  # a leaf page of the record table
    page = 4096
    data[at // page * page:(at // page + 1) * page] = b"\xff" * page
    database.write_bytes(bytes(data))
    review = open_review(folder)  # the reviewer and version pages are intact
    try:
        with pytest.raises(ReviewkitError, match=f"damaged: {database.resolve()} \\(database disk image is malformed"):
            run_dedup(review)  # reads every record
    finally:
        review.engine.dispose()


def test_a_refused_postgresql_connection_names_the_url_without_its_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on port 1: the error names the URL (password hidden) and the driver's reason."""
    folder = _folder(tmp_path)
    monkeypatch.setenv(DATABASE_URL_ENV, f"postgresql://reviewer:{SECRET}@127.0.0.1:1/review")
    message = _refused(folder)
    assert message.startswith("cannot connect to the database postgresql+psycopg://reviewer:***@127.0.0.1:1/review: ")
    assert "Connection refused" in message and SECRET not in message
    assert message.endswith(f"; the URL is set by the environment variable {DATABASE_URL_ENV})")


def test_a_refused_connection_names_the_setting_that_gave_the_url(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL from review.toml: the error says so (and the variable, when set, since it overrides the file),
    so the user corrects the setting in use rather than the one they think of."""
    folder = _folder(tmp_path)
    protocol = folder / "review.toml"
    protocol.write_text('database_url = "postgresql://reviewer@127.0.0.1:1/review"\n'
                        + protocol.read_text(encoding="utf-8"), encoding="utf-8")
    assert _refused(folder).endswith(f"; the URL is set by database_url in {protocol.resolve()})")
    monkeypatch.setenv(DATABASE_URL_ENV, "mysql://reviewer@127.0.0.1/review")
    message = _refused(folder)
    assert message.startswith("cannot use database_url 'mysql://reviewer@127.0.0.1/review': ")
    assert message.endswith(f"(the URL is set by the environment variable {DATABASE_URL_ENV})")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a server hung, or a firewall's tarpit)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    yield server.getsockname()[1]
    server.close()


def test_a_silent_postgresql_server_times_out_with_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           silent_server: int) -> None:
    """A server that never answers is given up on (not waited for without end), naming the URL."""
    folder = _folder(tmp_path)
    monkeypatch.setattr(db, "PG_CONNECT_TIMEOUT_S", 1)
    monkeypatch.setenv(DATABASE_URL_ENV, f"postgresql://reviewer:{SECRET}@127.0.0.1:{silent_server}/review")
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            open_review(folder)
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert outcome, "open_review still waits for a server that never answers"
    (error,) = outcome
    assert isinstance(error, ReviewkitError)
    assert str(error).startswith(f"cannot connect to the database postgresql+psycopg://reviewer:***@127.0.0.1:"
                                 f"{silent_server}/review: ")
    assert "timeout" in str(error) and SECRET not in str(error)



def _state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the folder, its bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


HINT = "(restore it from a backup (`reviewkit restore`, see README) or run `reviewkit init` in a new folder)"


def test_a_missing_database_is_refused_and_not_created(tmp_path: Path) -> None:
    """reviewkit.db gone (deleted, not copied with the folder): refused, naming it; no new, empty one is made
    (it was, and `status` said "Records 0" while `import` filled it)."""
    folder = _folder(tmp_path, records=3)
    database = folder / "reviewkit.db"
    database.unlink()
    before = _state(folder)
    assert _refused(folder) == f"the review's database is missing: {database.resolve()} does not exist {HINT}"
    assert _state(folder) == before and not database.exists()


def test_an_empty_database_file_is_refused_and_left_empty(tmp_path: Path) -> None:
    """A 0-byte reviewkit.db (a failed copy, a `touch`) is refused, naming it, and stays 0 bytes."""
    folder = _folder(tmp_path)
    database = folder / "reviewkit.db"
    database.write_bytes(b"")
    before = _state(folder)
    assert _refused(folder) == f"the review's database is empty: {database.resolve()} (0 bytes) {HINT}"
    assert _state(folder) == before


def test_another_programs_database_is_refused_and_not_changed(tmp_path: Path) -> None:
    """A SQLite file of another program had reviewkit's tables added to it: refused, not one byte changed."""
    import sqlite3

    folder = _folder(tmp_path)
    database = folder / "reviewkit.db"
    database.unlink()
    conn = sqlite3.connect(database)
    conn.execute("create table foo(x)")
    conn.execute("insert into foo values (1)")
    conn.commit()
    conn.close()
    before = _state(folder)
    assert _refused(folder) == f"not a reviewkit database: {database.resolve()} holds no reviewkit tables {HINT}"
    assert _state(folder) == before
    conn = sqlite3.connect(database)
    assert [r[0] for r in conn.execute("select name from sqlite_master")] == ["foo"]
    conn.close()


def test_a_review_open_elsewhere_still_opens(tmp_path: Path) -> None:
    """A review another process holds open (its tables maybe still only in the -wal file) opens as before."""
    folder = tmp_path / "review"
    first = init_review(folder)
    try:
        add_records(first, 2)
        second = open_review(folder)
        second.engine.dispose()
    finally:
        first.engine.dispose()


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_refused_and_left_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                database_url: str) -> None:
    """A team member pointing at a database nobody initialised: refused, naming the URL; no table is made."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    folder = _folder(tmp_path)
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    shown = db.make_engine(database_url)
    try:
        assert _refused(folder) == (f"not a reviewkit database: {db.database_name(shown)} holds no reviewkit "
                                    f"tables (no review was made in it) {HINT[:-1]}; the URL is set by the "
                                    f"environment variable {DATABASE_URL_ENV})")
        assert db.table_names(shown) == []
    finally:
        shown.dispose()


def test_an_init_whose_database_refuses_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`init` that cannot reach its database leaves no review.toml (nor folder) behind: a retry once the
    server answers is not refused for "review.toml already exists", and no review without a database
    is left to be opened."""
    monkeypatch.setenv(DATABASE_URL_ENV, f"postgresql://reviewer:{SECRET}@127.0.0.1:1/review")
    folder = tmp_path / "new" / "review"
    with pytest.raises(ReviewkitError, match="cannot connect"):
        init_review(folder)
    assert not folder.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ReviewkitError, match="cannot connect"):
        init_review(kept)
    assert [p.name for p in kept.iterdir()] == ["notes.txt"]
    monkeypatch.delenv(DATABASE_URL_ENV)
    init_review(kept).engine.dispose()  # the retry works
    assert (kept / "review.toml").exists()


def test_a_database_written_by_a_newer_reviewkit_is_refused_and_left_alone(review_dir: Path) -> None:
    """A teammate's newer reviewkit migrated the review past what this one knows: refused, saying to upgrade,
    and the schema is neither downgraded nor stamped over."""
    from sqlalchemy import text

    review = open_review(review_dir)
    with review.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    message = _refused(review_dir)
    assert message == ("the database is at schema revision 9999, which this reviewkit does not know "
                       "(upgrade reviewkit: the review was written by a newer version)")
    assert db.current_revision(review.engine) == "9999"
    review.engine.dispose()

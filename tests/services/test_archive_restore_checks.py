"""Tests what `restore` refuses in an archive and where it puts the review (found by an exploratory pass):
values no command can read back (a stage "zz" restored, then `decisions export` failed with a traceback),
a server that does not answer (blamed on the archive's rows, with SQL echoed), and an archive of a
PostgreSQL review, which could only go back into its own database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import screen
from reviewkit.services.archive import restore_review, review_archive
from reviewkit.services.project import Review, open_review
from reviewkit.services.status import review_status
from reviewkit.store.archive import column_kinds
from reviewkit.store.tables import metadata
from tests.factories import add_records

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"


def _archive(review: Review, tmp_path: Path, change: dict[str, object] | None = None,
             protocol_url: str | None = None) -> Path:
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include")
    data = review_archive(review)
    if change:
        table, column, value = change["table"], change["column"], change["value"]
        data["tables"][table][0][column] = value  # type: ignore[index]
    if protocol_url:
        data["protocol"] = f'database_url = "{protocol_url}"\n' + data["protocol"]
    out = tmp_path / "archive.json"
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


@pytest.mark.parametrize(("table", "column", "value", "said"), [
    ("screening_decision", "stage", "zz", "table screening_decision, row 1: stage 'zz' is not one of ft, ta"),
    ("record", "year", "twenty", "table record, row 1: year 'twenty' is not a whole number"),
])
def test_values_no_command_reads_back_are_refused_naming_the_row(
        review: Review, tmp_path: Path, table: str, column: str, value: str, said: str) -> None:
    archive = _archive(review, tmp_path, {"table": table, "column": column, "value": value})
    with pytest.raises(ReviewkitError, match=said):
        restore_review(archive, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()  # nothing made is left behind, not even the folder


@pytest.mark.parametrize(("column", "value", "said"), [
    # A string restored for a list: `export records` then wrote one author per letter (AU - S, AU - m, ...).
    ("authors", "Smith", "table record, row 1: authors 'Smith' is not a list of strings"),
    ("nct_ids", "NCT1", "table record, row 1: nct_ids 'NCT1' is not a list of strings"),
    ("authors", ["Smith", 3], r"table record, row 1: authors \['Smith', 3\] is not a list of strings"),
    ("title", None, "table record, row 1: title None is null"),
    ("pmid", 123, "table record, row 1: pmid 123 is not a string"),
    ("extra", [], r"table record, row 1: extra \[\] is not a JSON object"),
    ("created_at", "yesterday", "table record, row 1: created_at 'yesterday' is not an ISO 8601 timestamp"),
    ("year", True, "table record, row 1: year True is not a whole number"),
    # SQLite took it; PostgreSQL's 32-bit column refused it ("the archive's rows do not load"): refused alike.
    ("year", 3_000_000_000, "table record, row 1: year 3000000000 is beyond the largest whole number a database "
                            r"column holds \(2147483647\)"),
    # SQLite took a NUL that PostgreSQL refused ("the archive's rows do not load"): refused alike on both.
    ("title", "Baricitinib\x00 trial", r"table record, row 1: title 'Baricitinib\\x00 trial' holds a NUL character"),
    ("authors", ["Smith\x00"], r"table record, row 1: authors \['Smith\\x00'\] holds a NUL character"),
    ("extra", {"note": ["a\x00"]}, r"table record, row 1: extra \{'note': \['a\\x00'\]\} holds a NUL character"),
])
def test_values_not_of_the_columns_type_are_refused_naming_archive_table_row_and_column(
        review: Review, tmp_path: Path, column: str, value: object, said: str) -> None:
    archive = _archive(review, tmp_path, {"table": "record", "column": column, "value": value})
    with pytest.raises(ReviewkitError, match=said) as refused:
        restore_review(archive, tmp_path / "copy")
    assert refused.value.where == str(archive)
    assert not (tmp_path / "copy").exists()


def test_a_row_missing_a_column_is_refused_not_restored_with_the_default(review: Review, tmp_path: Path) -> None:
    """A record without its "title" key was restored with an empty title."""
    archive = _archive(review, tmp_path)
    data = json.loads(archive.read_text(encoding="utf-8"))
    del data["tables"]["record"][0]["title"]
    archive.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReviewkitError, match="table record, row 1: no title column"):
        restore_review(archive, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_other_tables_columns_are_checked_too(review: Review, tmp_path: Path) -> None:
    archive = _archive(review, tmp_path, {"table": "reviewer", "column": "roles", "value": "lead"})
    with pytest.raises(ReviewkitError, match="table reviewer, row 1: roles 'lead' is not a list of strings"):
        restore_review(archive, tmp_path / "copy")
    archive = _archive(review, tmp_path, {"table": "screening_decision", "column": "record_id", "value": "1"})
    with pytest.raises(ReviewkitError, match="table screening_decision, row 1: record_id '1' is not a whole number"):
        restore_review(archive, tmp_path / "copy")


@pytest.mark.parametrize(("table", "column", "value", "said"), [
    # SQLite said only "FOREIGN KEY constraint failed": neither the table nor the row to mend.
    ("screening_decision", "record_id", 9999, "table screening_decision, row 1: record_id 9999 names no row of "
                                              "table record"),
    ("screening_decision", "supersedes_id", 42, "table screening_decision, row 1: supersedes_id 42 names no row of "
                                                "table screening_decision"),
])
def test_a_row_naming_one_the_archive_lacks_is_refused_naming_it(
        review: Review, tmp_path: Path, table: str, column: str, value: int, said: str) -> None:
    archive = _archive(review, tmp_path, {"table": table, "column": column, "value": value})
    with pytest.raises(ReviewkitError, match=said) as refused:
        restore_review(archive, tmp_path / "copy", database_url="local")
    assert refused.value.where == str(archive)
    assert not (tmp_path / "copy").exists()


def test_two_rows_sharing_an_id_are_refused_naming_the_table_and_id(review: Review, tmp_path: Path) -> None:
    archive = _archive(review, tmp_path)
    data = json.loads(archive.read_text(encoding="utf-8"))
    data["tables"]["screening_decision"].append(dict(data["tables"]["screening_decision"][0]))
    archive.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReviewkitError, match="table screening_decision: id 1 is on two rows"):
        restore_review(archive, tmp_path / "copy", database_url="local")
    assert not (tmp_path / "copy").exists()


def test_an_archive_of_a_newer_format_asks_for_a_newer_reviewkit(review: Review, tmp_path: Path) -> None:
    """It was called "not a reviewkit review archive", and the user told to make one."""
    archive = _archive(review, tmp_path)
    data = json.loads(archive.read_text(encoding="utf-8"))
    data["format"] = "reviewkit-review/2"
    archive.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReviewkitError, match="format reviewkit-review/2; this reviewkit reads reviewkit-review/1") \
            as refused:
        restore_review(archive, tmp_path / "copy", database_url="local")
    assert "upgrade reviewkit" in str(refused.value) and not (tmp_path / "copy").exists()


def test_an_interrupted_restore_leaves_nothing(review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the rows loaded left review.toml beside an empty database: the folder opened as an empty
    review, and a second restore into it was refused ("review.toml already exists")."""
    import reviewkit.services.archive as archive_service

    archive = _archive(review, tmp_path)

    def interrupted(*_args: object) -> int:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(archive_service, "load_tables", interrupted)
        restore_review(archive, tmp_path / "copy", database_url="local")
    assert not (tmp_path / "copy").exists()
    copy = restore_review(archive, tmp_path / "copy", database_url="local")  # the retry is not refused
    copy.engine.dispose()


def test_a_failed_restore_takes_its_schema_out_of_a_database_it_was_given(review: Review, tmp_path: Path) -> None:
    """Rows the database refused (two reviewers of one name) left the schema in the empty database given
    (a PostgreSQL database, or an empty file in the folder): a retry with an archive of an older revision
    was then refused for the revision. The database is left as empty as it was given."""
    from sqlalchemy import create_engine, inspect

    from reviewkit.store.db import DB_FILE

    archive = _archive(review, tmp_path)
    data = json.loads(archive.read_text(encoding="utf-8"))
    bad = dict(data["tables"]["reviewer"][0], id=max(r["id"] for r in data["tables"]["reviewer"]) + 1)
    data["tables"]["reviewer"].append(bad)  # the same name twice: only the database's unique index refuses it
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    scratch = None
    if review.engine.dialect.name == "sqlite":
        (tmp_path / "copy").mkdir()
        (tmp_path / "copy" / DB_FILE).touch()  # an empty file restore was given
        url, given = f"sqlite:///{tmp_path / 'copy' / DB_FILE}", "local"
    else:
        from tests.conftest import _pg_scratch_database
        scratch = _pg_scratch_database()
        url = given = next(scratch)
    try:
        with pytest.raises(ReviewkitError, match="the archive's rows do not load"):
            restore_review(broken, tmp_path / "copy", database_url=given)
        engine = create_engine(url)
        assert inspect(engine).get_table_names() == []
        engine.dispose()
        data["schema"] = "0003"  # an older archive restores into it now
        del data["tables"]["reviewer"][-1], data["tables"]["run_note"]
        older = tmp_path / "older.json"
        older.write_text(json.dumps(data), encoding="utf-8")
        restore_review(older, tmp_path / "copy", database_url=given).engine.dispose()
    finally:
        if scratch is not None:
            scratch.close()


def test_the_expected_kinds_come_from_the_sqlmodel_tables() -> None:
    kinds = column_kinds()
    assert set(kinds) == {t.name for t in metadata.sorted_tables}
    for table in metadata.sorted_tables:
        assert set(kinds[table.name]) == set(table.c.keys())
    record = kinds["record"]
    assert (record["authors"].kind, record["title"].kind, record["year"].kind) == ("texts", "text", "whole")
    assert record["year"].nullable and not record["title"].nullable and not record["id"].nullable
    assert (record["extra"].kind, record["created_at"].kind) == ("object", "timestamp")
    assert kinds["duplicate_pair"]["score"].kind == "number" and kinds["study_report"]["is_main_report"].kind == "flag"


def test_a_clean_archive_restores_identically(review: Review, tmp_path: Path) -> None:
    """An archive of either database passes the typed checks and restores (into the copy's own SQLite file:
    the review's PostgreSQL database is not empty) to the same rows."""
    archive = _archive(review, tmp_path)
    copy = restore_review(archive, tmp_path / "copy", database_url="local")
    try:
        assert review_archive(copy)["tables"] == json.loads(archive.read_text(encoding="utf-8"))["tables"]
    finally:
        copy.engine.dispose()


def test_a_server_that_does_not_answer_is_named_not_blamed_on_the_archive(
        review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIEWKIT_DATABASE_URL", raising=False)
    archive = _archive(review, tmp_path, protocol_url=UNREACHABLE)
    with pytest.raises(ReviewkitError) as refused:
        restore_review(archive, tmp_path / "copy")
    message = str(refused.value)
    assert "cannot connect to the database postgresql+psycopg://nobody@127.0.0.1:1/nowhere" in message
    assert "do not load" not in message and "[SQL" not in message
    assert not (tmp_path / "copy").exists()


def test_a_postgresql_reviews_archive_restores_into_a_local_file(
        review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--database-url local`: the restored review.toml drops database_url, the rows land in the folder's file."""
    monkeypatch.delenv("REVIEWKIT_DATABASE_URL", raising=False)
    archive = _archive(review, tmp_path, protocol_url=UNREACHABLE)
    copy = restore_review(archive, tmp_path / "copy", database_url="local")
    try:
        assert copy.engine.dialect.name == "sqlite" and (tmp_path / "copy" / "reviewkit.db").is_file()
        assert "database_url" not in (tmp_path / "copy" / "review.toml").read_text(encoding="utf-8")
        assert review_status(copy).ta.in_progress == review_status(review).ta.in_progress == 1
    finally:
        copy.engine.dispose()
    reopened = open_review(tmp_path / "copy")
    reopened.engine.dispose()


def test_a_malformed_database_url_leaves_nothing_and_hides_the_password(
        review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It left FOLDER/review.toml behind (a retry was then refused as "already exists") and printed the password."""
    monkeypatch.delenv("REVIEWKIT_DATABASE_URL", raising=False)
    archive = _archive(review, tmp_path)
    with pytest.raises(ReviewkitError) as refused:
        restore_review(archive, tmp_path / "copy", database_url="postgresql://u:secret@h:abc/db")
    assert "secret" not in str(refused.value)
    assert not (tmp_path / "copy").exists()

"""Tests where `restore --database-url` puts the review when REVIEWKIT_DATABASE_URL is also set: the option
the user typed wins (the environment's database silently took the review, and on PostgreSQL a non-empty one
refused it as "not empty"), and the user is warned that the variable will still send `reviewkit -C FOLDER`
to its own database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from reviewkit.cli import cli
from reviewkit.services import screen
from reviewkit.services.archive import review_archive
from reviewkit.services.project import DATABASE_URL_ENV, Review, open_review
from reviewkit.services.status import review_status
from tests.factories import add_records


@pytest.fixture
def archive(review: Review, tmp_path: Path) -> Path:
    """The review with one record alice included at title/abstract (in progress: it takes two screeners), exported whole."""
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include")
    out = tmp_path / "archive.json"
    out.write_text(json.dumps(review_archive(review)), encoding="utf-8")
    return out


@pytest.fixture
def elsewhere(review: Review, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the review's kind, for `--database-url URL`."""
    if review.engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'elsewhere.db'}"
        return
    from tests.conftest import _pg_scratch_database
    yield from _pg_scratch_database()


def _restore(archive: Path, folder: Path, *option: str) -> Result:
    return CliRunner().invoke(cli, ["restore", str(archive), str(folder), *option])


def _opened_without_env(folder: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many records the restored review shows once the variable is unset (its review.toml decides)."""
    monkeypatch.delenv(DATABASE_URL_ENV)
    copy = open_review(folder)
    try:
        return review_status(copy).ta.in_progress
    finally:
        copy.engine.dispose()


def test_database_url_local_wins_over_the_environment_and_warns(
        review: Review, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decoy = tmp_path / "decoy.db"
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{decoy}")
    result = _restore(archive, tmp_path / "copy", "--database-url", "local")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "copy" / "reviewkit.db").is_file()
    assert not decoy.exists()  # the environment's database was not touched, not even given a schema
    assert result.stderr.startswith(f"warning: {DATABASE_URL_ENV} is set")
    assert str(decoy) in result.stderr and str(tmp_path / "copy" / "reviewkit.db") in result.stderr
    assert _opened_without_env(tmp_path / "copy", monkeypatch) == 1


def test_database_url_given_wins_over_the_environment_and_warns(
        review: Review, archive: Path, elsewhere: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment names the archived review's own database, which holds rows: the review goes to the URL."""
    monkeypatch.setenv(DATABASE_URL_ENV, review.engine.url.render_as_string(hide_password=False))
    result = _restore(archive, tmp_path / "copy", "--database-url", elsewhere)
    assert result.exit_code == 0, result.output
    assert f'database_url = "{elsewhere}"' in (tmp_path / "copy" / "review.toml").read_text(encoding="utf-8")
    assert f"warning: {DATABASE_URL_ENV} is set" in result.stderr
    assert review.database in result.stderr  # the database the variable will open instead
    assert review_status(review).ta.in_progress == 1  # the original is as it was
    assert _opened_without_env(tmp_path / "copy", monkeypatch) == 1


def test_no_warning_when_the_environment_names_the_target(
        review: Review, archive: Path, elsewhere: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, elsewhere)
    result = _restore(archive, tmp_path / "copy", "--database-url", elsewhere)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    copy = open_review(tmp_path / "copy")  # the variable still set: it finds the restored rows
    try:
        assert review_status(copy).ta.in_progress == 1
    finally:
        copy.engine.dispose()


def test_without_database_url_the_environment_still_decides(
        review: Review, archive: Path, elsewhere: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing typed on the command line: the variable overrides the archived protocol, as it does on open."""
    monkeypatch.setenv(DATABASE_URL_ENV, elsewhere)
    result = _restore(archive, tmp_path / "copy")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    copy = open_review(tmp_path / "copy")
    try:
        assert copy.engine.url.database == make_url(elsewhere).database
        assert review_status(copy).ta.in_progress == 1
    finally:
        copy.engine.dispose()



def test_a_database_url_of_another_kind_is_blamed_on_the_option(archive: Path, tmp_path: Path) -> None:
    """`--database-url mysql://…` is refused naming the option, not the archive's protocol at line 1 (where
    the URL was put), without repeating the URL (it may hold a password), and leaves no folder behind."""
    folder = tmp_path / "copy"
    result = _restore(archive, folder, "--database-url", "mysql://me:secret@host/review")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --database-url: reviewkit keeps a review in PostgreSQL or in the "
                                    "folder's SQLite file, not in 'mysql'")
    assert "secret" not in result.stderr and "(protocol)" not in result.stderr
    assert not folder.exists()

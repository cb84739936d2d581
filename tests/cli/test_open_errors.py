"""Tests for a review whose database cannot be opened, from the shell: one `error:` line, no traceback, no TUI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services.project import DATABASE_URL_ENV, init_review

JUNK = b"These bytes were never a database. " * 200


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A closed SQLite review folder."""
    path = tmp_path / "review"
    init_review(path).engine.dispose()
    return path


@pytest.fixture(autouse=True)
def no_tui(monkeypatch: pytest.MonkeyPatch) -> None:
    """The TUI must not be built for a review that did not open (and never takes over the test's terminal)."""
    import reviewkit.tui.app

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the TUI was started on a review that did not open")

    monkeypatch.setattr(reviewkit.tui.app, "make_app", refuse)


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


@pytest.mark.parametrize("command", [[], ["status"]], ids=["tui", "status"])
def test_a_junk_database_is_one_line_and_stays_as_it_was(folder: Path, command: list[str]) -> None:
    """`reviewkit` (the TUI) and `reviewkit status` name the file; the file is not touched."""
    database = folder / "reviewkit.db"
    database.write_bytes(JUNK)
    line = _one_error_line(CliRunner().invoke(cli, ["-C", str(folder), *command]))
    assert line.startswith(f"error: not a reviewkit database or damaged: {database.resolve()} (file is not a database)")
    assert database.read_bytes() == JUNK


@pytest.mark.parametrize("command", [[], ["status"]], ids=["tui", "status"])
def test_a_refused_postgresql_connection_is_one_line(folder: Path, command: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listening at the URL: the URL is named without its password (it was a traceback)."""
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://reviewer:s3cret-pw@127.0.0.1:1/review")
    line = _one_error_line(CliRunner().invoke(cli, ["-C", str(folder), *command]))
    assert line.startswith("error: cannot connect to the database postgresql+psycopg://reviewer:***@127.0.0.1:1/review:")
    assert "Connection refused" in line and "s3cret-pw" not in line


@pytest.mark.parametrize("command", [[], ["status"], ["--reviewer", "alice", "backup", "bk"],
                                     ["import", "--source", "PubMed", "x.ris"]],
                         ids=["tui", "status", "backup", "import"])
def test_a_missing_database_is_one_line_and_not_created(folder: Path, command: list[str], tmp_path: Path) -> None:
    """`rm reviewkit.db; reviewkit status` printed "Records 0" and made a new, empty database that `import`
    then filled: every command refuses, naming the file and how to get the review back, and creates nothing."""
    database = folder / "reviewkit.db"
    database.unlink()
    before = sorted(p.name for p in folder.iterdir())
    ris = tmp_path / "x.ris"
    ris.write_text("TY  - JOUR\nTI  - A trial\nER  - \n", encoding="utf-8")
    args = [str(ris) if a == "x.ris" else str(tmp_path / a) if a == "bk" else a for a in command]
    line = _one_error_line(CliRunner().invoke(cli, ["-C", str(folder), *args]))
    assert line == (f"error: the review's database is missing: {database.resolve()} does not exist (restore it "
                    "from a backup (`reviewkit restore`, see README) or run `reviewkit init` in a new folder)")
    assert sorted(p.name for p in folder.iterdir()) == before and not (tmp_path / "bk").exists()

"""Tests for `reviewkit init`, `status`, `--version` and how user errors are printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from reviewkit import __version__
from reviewkit.cli import cli


def test_version() -> None:
    """--version prints the package version."""
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_init_then_status_json(tmp_path: Path) -> None:
    """init creates review.toml and the database; status --json reports zero counts for a new review."""
    runner = CliRunner()
    folder = tmp_path / "ad"
    result = runner.invoke(cli, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "review.toml").exists() and (folder / "reviewkit.db").exists()
    result = runner.invoke(cli, ["-C", str(folder), "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "baricitinib" in data["title"].lower()
    assert data["identified"] == 0 and data["records_screened"] == 0
    assert set(data["title_abstract"]) == {"unscreened", "in_progress", "conflict", "included", "excluded"}


def test_init_refuses_a_database_left_without_its_protocol(tmp_path: Path) -> None:
    """A reviewkit.db copied into (or left in) a folder without review.toml belongs to another review: init
    refuses rather than start the new review with its records, and writes no review.toml."""
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "old")]).exit_code == 0
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "reviewkit.db").write_bytes((tmp_path / "old" / "reviewkit.db").read_bytes())
    result = runner.invoke(cli, ["init", str(folder)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {folder / 'reviewkit.db'} already exists, without a review.toml")
    assert not (folder / "review.toml").exists()


def test_status_table_lists_stages(tmp_path: Path) -> None:
    """Plain status prints each PRISMA stage by name."""
    runner = CliRunner()
    runner.invoke(cli, ["init", str(tmp_path / "r")])
    out = runner.invoke(cli, ["-C", str(tmp_path / "r"), "status"]).output
    for stage in ("Identified", "Duplicates removed", "Records screened", "Title/abstract", "Full text",
                  "Studies included"):
        assert stage in out


def test_init_from_a_given_protocol(tmp_path: Path) -> None:
    """init --protocol copies that protocol."""
    proto = tmp_path / "p.toml"
    text = (Path(__file__).resolve().parents[2] / "protocols" / "baricitinib-ad.toml").read_text()
    proto.write_text(text.replace("title = \"Baricitinib", "title = \"My copy of Baricitinib"))
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "r"), "--protocol", str(proto)])
    assert result.exit_code == 0, result.output
    assert "My copy" in (tmp_path / "r" / "review.toml").read_text()


def test_init_refuses_bad_protocol_and_creates_nothing(tmp_path: Path) -> None:
    """A bad protocol is refused with its line, and no review folder is left behind."""
    proto = tmp_path / "bad.toml"
    proto.write_text('title = "x"\nbogus = 1\n')
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "r"), "--protocol", str(proto)])
    assert result.exit_code == 1
    assert "unknown key 'bogus'" in result.output and "line 2" in result.output
    assert not (tmp_path / "r").exists()


def test_init_refuses_existing_review(tmp_path: Path) -> None:
    """init never overwrites an existing review."""
    runner = CliRunner()
    runner.invoke(cli, ["init", str(tmp_path / "r")])
    result = runner.invoke(cli, ["init", str(tmp_path / "r")])
    assert result.exit_code == 1 and "already exists" in result.output


def test_user_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    """A user error prints one line on stderr and exits 1: no traceback (real process)."""
    proc = subprocess.run(
        [sys.executable, "-m", "reviewkit", "-C", str(tmp_path / "nope"), "status"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: no review here")


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`reviewkit … | head -1`: the reader closes the pipe after one line while more than a pipe's buffer
    (64 KiB) is still to be written (the demo's audit trail is about 100 KiB). The command stops quietly with
    the shell's SIGPIPE status, 141, and prints no "error: Broken pipe"."""
    folder = tmp_path / "demo"
    assert CliRunner().invoke(cli, ["demo", str(folder)]).exit_code == 0
    proc = subprocess.Popen([sys.executable, "-m", "reviewkit", "-C", str(folder), "--reviewer", "alice", "audit"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""

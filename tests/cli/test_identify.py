"""Tests for `reviewkit import`: a forced format that reads nothing is an error that records nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services.project import Review
from reviewkit.services.status import review_status

CSV = Path(__file__).resolve().parents[2] / "fixtures" / "references" / "asreview" / "embase.csv"


def test_wrong_forced_format_is_refused_and_the_right_import_works_after(review: Review, tmp_path: Path) -> None:
    """--format bibtex on a CSV reads no records: exit 1 naming the file; the file is not 'already imported'."""
    runner = CliRunner()
    result = runner.invoke(cli, ["-C", str(review.folder), "import", "--format", "bibtex", str(CSV)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {CSV}: no records read as bibtex") and "--format" in result.stderr
    assert review_status(review).identified == 0
    result = runner.invoke(cli, ["-C", str(review.folder), "import", str(CSV)])
    assert result.exit_code == 0, result.output
    assert "6 records" in result.output


def test_forced_format_on_an_empty_file_is_an_empty_import(review: Review, tmp_path: Path) -> None:
    """An empty file has no records in any format: that stays a 0-record import, not an error."""
    empty = tmp_path / "empty.bib"
    empty.write_text("\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", "--format", "bibtex", str(empty)])
    assert result.exit_code == 0, result.output
    assert "0 records" in result.output


def test_forced_csv_with_only_a_header_is_an_empty_import(review: Review, tmp_path: Path) -> None:
    """A search exported with no hits (a header line, no rows) imports as 0 records with --format csv,
    as it does when the format is detected."""
    header_only = tmp_path / "nothing.csv"
    header_only.write_text("Title,Authors,Year,DOI\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", "--format", "csv", str(header_only)])
    assert result.exit_code == 0, result.output
    assert "0 records" in result.output

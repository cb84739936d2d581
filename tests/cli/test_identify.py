"""Tests for `reviewkit import`: a forced format that reads nothing is an error that records nothing."""

from __future__ import annotations

import json
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


def test_two_empty_exports_both_import(review: Review, tmp_path: Path) -> None:
    """Two searches with no hits give byte-identical empty files: the second is not refused as the first one
    "already imported" (a file with no records cannot bring them twice)."""
    for name in ("pubmed-none.ris", "embase-none.ris"):
        (tmp_path / name).write_text("", encoding="utf-8")
        result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", "--format", "ris", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "0 records" in result.output


def test_a_refused_file_does_not_keep_the_others_out(review: Review, tmp_path: Path) -> None:
    """import A BAD C: A and C are imported, BAD is named with its error, and the command ends saying which
    file was left out (exit 1), so fixing BAD and importing it alone completes the set."""
    a, bad, c = tmp_path / "a.ris", tmp_path / "bad.ris", tmp_path / "c.ris"
    a.write_text("TY  - JOUR\nTI  - First paper\nER  - \n", encoding="utf-8")
    bad.write_text("TY  - JOUR\nTI  - Unclosed\nTY  - JOUR\nTI  - Next\nER  - \n", encoding="utf-8")
    c.write_text("TY  - JOUR\nTI  - Third paper\nER  - \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", str(a), str(bad), str(c)])
    assert result.exit_code == 1
    assert "a.ris: 1 record from" in result.stdout and "c.ris: 1 record from" in result.stdout
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"error: {bad}") and errors[-1].startswith("error: 1 of 3 files not imported: bad.ris (")
    assert review_status(review).identified == 2
    bad.write_text("TY  - JOUR\nTI  - Unclosed\nER  - \n", encoding="utf-8")
    again = CliRunner().invoke(cli, ["-C", str(review.folder), "import", str(bad)])
    assert again.exit_code == 0, again.output
    assert review_status(review).identified == 3


def test_import_lists_the_notes_after_its_summary(review: Review, tmp_path: Path) -> None:
    """Records with a year that is no year, or a stray line after TY, are imported and said: the count, the
    first ten with file, line and field, then how many more."""
    path = tmp_path / "notes.ris"
    records = ["TY  - JOUR\nexported 2024-01-01\nTI  - Stray line after TY\nPY  - 2020\nER  - \n"]
    records += [f"TY  - JOUR\nTI  - Paper {i}\nPY  - in press\nER  - \n" for i in range(11)]
    path.write_text("".join(records), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("notes.ris: 12 records from")
    assert lines[1] == ("  12 notes on notes.ris: the records are stored as read, each keeping the file's "
                        "text in its raw record")
    assert lines[2] == (f"  note: {path}, line 2: untagged text 'exported 2024-01-01' after TY is not part of "
                        "any field; kept in the record's raw text")
    assert lines[3] == f"  note: {path}, line 8, field PY: 'in press' is not a year; the record is stored without a year"
    assert sum(line.startswith("  note: ") for line in lines) == 10
    assert lines[-1] == "  ... and 2 more notes (reviewkit sources --run 1 lists them all)"
    assert review_status(review).identified == 12

    # Later, in another process: the run keeps every note, and `sources` says so.
    listing = CliRunner().invoke(cli, ["-C", str(review.folder), "sources"])
    assert listing.exit_code == 0, listing.output
    (run_line,) = [line for line in listing.stdout.splitlines() if line.startswith("  run 1 ")]
    assert run_line.endswith("import notes: notes.ris  complete; 12 stored, 12 new; 12 notes")
    shown = CliRunner().invoke(cli, ["-C", str(review.folder), "sources", "--run", "1"])
    assert shown.exit_code == 0, shown.output
    kept = [line for line in shown.stdout.splitlines() if line.startswith("  note: ")]
    assert kept[:10] == lines[2:12] and len(kept) == 12
    assert kept[-1] == f"  note: {path}, line 48, field PY: 'in press' is not a year; the record is stored without a year"
    as_json = json.loads(CliRunner().invoke(cli, ["-C", str(review.folder), "sources", "--run", "1", "--json"]).stdout)
    assert as_json["run"]["notes"] == 12 and as_json["notes"] == [line.removeprefix("  note: ") for line in kept]


def test_sources_refuses_a_run_the_review_does_not_have(review: Review) -> None:
    """--run with an unknown id: exit 1 naming it, and how to see the runs."""
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "sources", "--run", "7"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no run 7 in this review (reviewkit sources lists the runs)"


def test_sources_lists_each_source_and_run_with_its_counts(review: Review, tmp_path: Path) -> None:
    """Two imports: each source with its records and runs, each run newest first; a clean run says no notes."""
    runner = CliRunner()
    assert runner.invoke(cli, ["-C", str(review.folder), "import", str(CSV), "--source", "Embase"]).exit_code == 0
    clean = tmp_path / "clean.ris"
    clean.write_text("TY  - JOUR\nTI  - A paper\nPY  - 2020\nER  - \n", encoding="utf-8")
    assert runner.invoke(cli, ["-C", str(review.folder), "import", str(clean), "--source", "Scopus"]).exit_code == 0
    result = runner.invoke(cli, ["-C", str(review.folder), "sources", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_name = {s["name"]: s for s in data["sources"]}
    assert (by_name["Embase"]["records"], by_name["Scopus"]["records"]) == (6, 1)
    assert [(r["id"], r["source"], r["record_count"], r["notes"]) for r in data["runs"]] == [
        (2, "Scopus", 1, 0), (1, "Embase", 6, 0)]
    text = runner.invoke(cli, ["-C", str(review.folder), "sources", "--run", "2"]).stdout
    assert "  0 notes" in text.splitlines() and "note: " not in text


def test_import_says_a_cut_off_empty_last_ris_record_was_skipped(review: Review, tmp_path: Path) -> None:
    """A RIS file ending with a TY line alone: the summary counts the records before it and no empty record
    skipped, and the note says the file ends with an empty record at that line, skipped as the file looks cut
    short (the note said it was kept as read, and the summary that an empty record was skipped)."""
    path = tmp_path / "cut.ris"
    path.write_text("TY  - JOUR\nTI  - First paper\nER  - \n\nTY  - JOUR\nTI  - Second paper\nER  - \n\n"
                    "TY  - JOUR\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cut.ris: 2 records from") and "skipped" not in lines[0]
    assert lines[2] == (f"  note: {path}, line 9, field TY: the file ends with an empty record (this TY line and "
                        "nothing after it); it was skipped, as the file looks cut short (export it again if "
                        "records may be missing)")
    assert len(lines) == 3 and review_status(review).identified == 2


def test_import_without_notes_prints_only_its_summary(review: Review, tmp_path: Path) -> None:
    """A clean file: one line, no notes heading."""
    path = tmp_path / "clean.ris"
    path.write_text("TY  - JOUR\nTI  - A long title\nthat wraps\nPY  - 2020\nER  - \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", str(path)])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and "note" not in result.stdout

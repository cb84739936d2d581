"""Tests for decisions CSV export and import (all rows or none)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.errors import ParseError
from reviewkit.services import screen
from reviewkit.services.decisions_io import export_decisions, import_decisions
from reviewkit.services.project import Review
from tests.factories import add_records

HEADER = "record,reviewer,stage,decision,reason,note,time\n"


def _records(review: Review) -> list[int]:
    return add_records(review, [
        Record(title="A", pmid="31000001", doi="10.1000/a", source_id="WOS:1"),
        Record(title="B", pmid="31000002", source_id="WOS:2"),
    ])


def test_export_then_import_into_another_review(review: Review, tmp_path: Path) -> None:
    """Exported decisions re-import elsewhere with the same reviewer, stage, decision, note and time."""
    a, b = _records(review)
    screen.record_decision(review, "alice", a, "ta", "include", note="RCT")
    screen.record_decision(review, "alice", b, "ta", "exclude")
    screen.record_decision(review, "alice", b, "ta", "maybe")  # a change of mind: only the latest goes
    out = tmp_path / "d.csv"
    assert export_decisions(review, out) == 2
    rows = list(csv.DictReader(out.open()))
    assert [(r["record"], r["reviewer"], r["decision"], r["note"]) for r in rows] == [
        (str(a), "alice", "include", "RCT"), (str(b), "alice", "maybe", "")]
    assert export_decisions(review, tmp_path / "h.csv", history=True) == 3

    # the same file, moved to bob, imports into the review by record id
    text = out.read_text().replace(",alice,", ",bob,")
    (tmp_path / "bob.csv").write_text(text)
    assert import_decisions(review, tmp_path / "bob.csv") == 2
    assert screen.record_card(review, "bob", a, "ta").own.note == "RCT"  # type: ignore[union-attr]
    assert screen.record_card(review, "bob", a, "ta").own.at.isoformat() == rows[0]["time"]  # type: ignore[union-attr]


def test_import_by_pmid_doi_and_source_id(review: Review, tmp_path: Path) -> None:
    """Records can be named by PMID, DOI (any case, URL form) or the source file's own id."""
    a, b = _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + "31000001,alice,ta,include,,,\nhttps://doi.org/10.1000/A,bob,ta,exclude,,,\n"
                 "WOS:2,alice,ta,exclude,,,\n")
    assert import_decisions(review, f) == 3
    assert screen.record_decision(review, "bob", b, "ta", "exclude").outcome == "excluded"
    assert screen.list_conflicts(review, "carol", "ta")[0].record_id == a


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("99999999,alice,ta,include,,,", "unknown record '99999999'"),
        ("31000001,zoe,ta,include,,,", "unknown reviewer 'zoe'"),
        ("31000001,alice,tx,include,,,", "unknown stage 'tx'"),
        ("31000001,alice,ta,yes,,,", "unknown decision 'yes'"),
        ("31000001,alice,ft,exclude,Boring,,", "unknown exclusion reason 'Boring'"),
        ("31000001,alice,ta,include,,,yesterday", "is not ISO 8601"),
    ],
)
def test_bad_row_names_its_line_and_stores_nothing(
    review: Review, tmp_path: Path, row: str, message: str
) -> None:
    """A bad row is reported with its line; the good rows before it are not stored either."""
    _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + "31000002,alice,ta,include,,,\n" + row + "\n")
    with pytest.raises(ParseError) as err:
        import_decisions(review, f)
    assert message in str(err.value) and "line 3" in str(err.value)
    assert export_decisions(review, tmp_path / "after.csv") == 0


def test_missing_column_refused(review: Review, tmp_path: Path) -> None:
    """A file without the required columns is refused on line 1."""
    f = tmp_path / "d.csv"
    f.write_text("id,who\n1,alice\n")
    with pytest.raises(ParseError, match="line 1: missing column"):
        import_decisions(review, f)


def test_conflicts_cli_json(review: Review) -> None:
    """`reviewkit conflicts --json` lists the conflict with both decisions for the adjudicator."""
    a, _ = _records(review)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "bob", a, "ta", "exclude", note="not an RCT")
    runner = CliRunner()
    result = runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "conflicts", "--json"])
    assert result.exit_code == 0, result.output
    (c,) = json.loads(result.output)
    assert c["record"] == a and {d["reviewer"] for d in c["decisions"]} == {"alice", "bob"}
    denied = runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "bob", "conflicts"])
    assert denied.exit_code == 1 and "not an adjudicator or lead" in denied.output


def test_import_cannot_change_a_decision_after_adjudication(review: Review, tmp_path: Path) -> None:
    """A row changing alice's decision on an adjudicated record is refused with its line and nothing
    from the file is stored; the same decision again (an export re-imported) is accepted."""
    a, b = _records(review)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "bob", a, "ta", "exclude")
    screen.resolve_conflict(review, "carol", a, "ta", "include")
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{b},alice,ta,include,,,\n{a},alice,ta,exclude,,,\n")
    with pytest.raises(ParseError, match=r"line 3: record \d+ has been adjudicated at title/abstract") as info:
        import_decisions(review, f)
    assert "include, not exclude" in str(info.value) and "nothing was imported" in str(info.value)
    assert screen.record_card(review, "alice", b, "ta").own is None  # line 2 was not stored either
    f.write_text(HEADER + f"{a},alice,ta,include,,,\n{b},alice,ta,include,,,\n")
    assert import_decisions(review, f) == 2

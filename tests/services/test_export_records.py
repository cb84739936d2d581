"""Tests for exporting the records at a stage as RIS or CSV (a reference manager re-reads them)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen
from reviewkit.services.export_records import export_records, records_at
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review, init_review
from reviewkit.sources.formats import read_records
from tests.factories import add_records


def _screened(review: Review) -> tuple[int, int]:
    keep, drop = add_records(review, [
        Record(title="Baricitinib for atopic dermatitis: BREEZE-AD1", authors=("Simpson, Eric L",), year=2020,
               journal="British Journal of Dermatology", volume="183", issue="2", pages="242-255",
               doi="10.1111/bjd.18898", nct_ids=("NCT03334396",), abstract="BACKGROUND: x\nMETHODS: y"),
        Record(title="A review of JAK inhibitors", year=2021),
    ])
    for who in ("alice", "bob"):
        screen.record_decision(review, who, keep, "ta", "include")
        screen.record_decision(review, who, drop, "ta", "exclude")
    for who in ("alice", "bob"):
        screen.record_decision(review, who, keep, "ft", "include")
    return keep, drop


def test_included_reports_round_trip_through_ris(review: Review, tmp_path: Path) -> None:
    """The included report, written as RIS, reads back with its title, authors, pages, DOI and NCT."""
    keep, drop = _screened(review)
    assert records_at(review, "included") == [keep] and records_at(review, "excluded") == [drop]
    out = tmp_path / "included.ris"
    assert export_records(review, out, "included") == 1
    (back,) = list(read_records(out))
    assert (back.title, back.authors, back.pages, back.doi, back.nct_ids, back.source_id) == (
        "Baricitinib for atopic dermatitis: BREEZE-AD1", ("Simpson, Eric L",), "242-255", "10.1111/bjd.18898",
        ("NCT03334396",), str(keep))
    other = init_review(tmp_path / "other")
    assert import_file(other, out).records == 1


def test_csv_and_bad_suffix(review: Review, tmp_path: Path) -> None:
    """CSV carries one row per record; an unknown suffix is refused."""
    _screened(review)
    out = tmp_path / "all.csv"
    assert export_records(review, out, "all") == 2
    assert [r["title"] for r in csv.DictReader(out.open())][1] == "A review of JAK inhibitors"
    with pytest.raises(ReviewkitError, match="use .ris or .csv"):
        export_records(review, tmp_path / "x.docx", "all")

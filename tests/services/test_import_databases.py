"""Tests that an export covering several databases (EBSCOhost: MEDLINE and CINAHL at once) credits each record
to the database its DB field names, in PRISMA's identification box (the whole file was credited to the
first record's database: "MEDLINE (n = 3)")."""

from __future__ import annotations

from pathlib import Path

from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from reviewkit.services.runs import source_overview
from reviewkit.services.status import review_status


def _ris(path: Path, *records: tuple[str, str]) -> Path:
    path.write_text("".join(f"TY  - JOUR\nDB  - {db}\nTI  - {title}\nAU  - Author, A\nPY  - 2021\nER  - \n\n"
                            for db, title in records), encoding="utf-8")
    return path


_EBSCO = (("MEDLINE", "First record about baricitinib and itch"),
          ("CINAHL", "Second record about nursing care on JAK inhibitors"),
          ("CINAHL", "Third record about adherence to oral therapy"))


def test_a_multi_database_export_counts_each_database(review: Review, tmp_path: Path) -> None:
    summary = import_file(review, _ris(tmp_path / "ebsco.ris", *_EBSCO))
    assert summary.source == "MEDLINE + CINAHL"
    counts = prisma_counts(review).counts
    assert counts.databases == {"MEDLINE": 1, "CINAHL": 2}
    assert counts.records_identified == counts.records_screened == 3
    assert review_status(review).identified_by_source == {"MEDLINE": 1, "CINAHL": 2}
    (source,) = [s for s in source_overview(review) if s.runs]
    assert (source.name, source.records) == ("MEDLINE + CINAHL", 3)  # the sources screen lists the run whole


def test_a_named_or_single_database_export_keeps_one_name(review: Review, tmp_path: Path) -> None:
    """--source names the whole file, as before; a file of one database is named after it."""
    import_file(review, _ris(tmp_path / "a.ris", *_EBSCO), source="EBSCOhost")
    import_file(review, _ris(tmp_path / "b.ris", ("Embase", "An Embase record on baricitinib")))
    assert prisma_counts(review).counts.databases == {"EBSCOhost": 3, "Embase": 1}


def test_an_export_naming_many_databases_is_named_by_the_first_few(review: Review, tmp_path: Path) -> None:
    """A DB field holding something else on each of 150 records (a vendor's per-record note): the run's name,
    all 150 joined, was over 4,000 characters, which PostgreSQL's index refused, so nothing was imported.
    The name now lists the first few and how many more; each record still counts under its own."""
    records = [(f"Vendor note {i:03d} on record {i * 7919 % 1000:03d}", f"Record {i} about baricitinib")
               for i in range(150)]
    summary = import_file(review, _ris(tmp_path / "many.ris", *records))
    names = summary.source.split(" + ")
    assert names[:-1] == [db for db, _ in records[:len(names) - 1]]
    assert names[-1] == f"{150 - (len(names) - 1)} more" and len(summary.source) <= 220
    counts = prisma_counts(review).counts
    assert counts.records_identified == 150 and len(counts.databases) == 150

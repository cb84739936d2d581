"""EndNote XML reader: Zotero and Mendeley exports, style runs, hostile or broken XML refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def test_mendeley_accession_is_the_pmid() -> None:
    """Mendeley puts the PMID in accession-num; the DOI in electronic-resource-num."""
    records = list(read_records(REFS / "asysd_spaniels" / "mendeley_export.xml"))
    first = records[0]
    assert first.pmid == "35319117"
    assert first.doi == "10.1111/jvim.16404"
    assert first.authors == ("Rotter, Carina", "Whittaker, Danielle", "Rusbridge, Clare")
    assert first.source_type == "Journal Article"
    assert [r.nct_ids for r in records if r.nct_ids] == [("NCT00712660",)]


def test_zotero_endnote_xml_matches_zotero_csv() -> None:
    """Zotero's EndNote XML and CSV of one library agree on title, year, DOI and journal."""
    xml = list(read_records(REFS / "asysd_spaniels" / "zotero_export.xml"))
    csv = list(read_records(REFS / "asysd_spaniels" / "zotero_export.csv"))
    assert len(xml) == len(csv) == 1233
    for a, b in zip(xml, csv, strict=True):
        assert (a.title, a.year, a.doi, a.volume) == (b.title, b.year, b.doi, b.volume)
    assert xml[0].journal_abbrev == "J Vet Intern Med"
    assert xml[0].keywords[0] == "*Dog Diseases/diagnostic imaging"


def test_style_runs_and_carriage_returns(tmp_path: Path) -> None:
    """Text split over <style> runs is joined; &#xD; line breaks survive in the abstract."""
    path = tmp_path / "x.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><xml><records><record><rec-number>7</rec-number>'
        '<ref-type name="Journal Article">17</ref-type><titles><title><style face="normal">Bari</style>'
        '<style face="italic">citinib</style> trial</title></titles>'
        "<abstract>First line.&#xD;Second line.</abstract>"
        "<electronic-resource-num>https://doi.org/10.1000/XYZ</electronic-resource-num>"
        "</record></records></xml>"
    )
    record = next(read_records(path))
    assert record.title == "Baricitinib trial"
    assert record.abstract == "First line.\nSecond line."
    assert record.doi == "10.1000/xyz"
    assert record.source_id == "7"


def test_dtd_and_entities_are_refused(tmp_path: Path) -> None:
    """An entity-expansion ("billion laughs") file is refused before any expansion."""
    path = tmp_path / "evil.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<xml><records><record><titles><title>&b;</title></titles></record></records></xml>"
    )
    with pytest.raises(ParseError, match="DTD"):
        list(read_records(path, format="endnote_xml"))


def test_truncated_xml_names_file_and_line(tmp_path: Path) -> None:
    """A real export cut in half is not well-formed: ParseError with the line."""
    data = (REFS / "asysd_spaniels" / "zotero_export.xml").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError) as info:
        list(read_records(path))
    assert info.value.file == str(path)
    assert info.value.line is not None and info.value.line >= 1


def test_endnote_group_author_comma_is_dropped(tmp_path: Path) -> None:
    """EndNote users type a group author with a trailing comma ("World Health Organization,"); the
    name is kept without it, persons keep theirs."""
    path = tmp_path / "corp.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><xml><records><record><rec-number>1</rec-number>'
        "<contributors><authors><author>World Health Organization,</author><author>Smith, J.</author>"
        "</authors></contributors><titles><title>T</title></titles></record></records></xml>"
    )
    assert next(read_records(path)).authors == ("World Health Organization", "Smith, J.")

"""Web of Science tagged and EndNote tagged readers: fields, quirks and malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def test_wos_tagged_fields() -> None:
    """AF full names, PM pmid, DI doi, UT accession, ID keywords split on ";", BP/EP pages."""
    first, second = read_records(REFS / "rispy" / "example_wos.ris")
    assert first.authors[:2] == ("Parkes-Loach, PS", "Majeed, AP")
    assert first.pmid == "15170338" and second.pmid == "15170339"
    assert first.source_id == "WOS:000221807500019"
    assert first.doi == "10.1021/bi049798f"
    assert first.journal == "BIOCHEMISTRY"
    assert first.title.startswith("Interactions stabilizing the structure of the core light-harvesting complex")
    assert "CHEMICALLY SYNTHESIZED POLYPEPTIDES" in first.keywords
    assert "AMINO-ACID-SEQUENCE" in first.keywords
    assert first.pages == "7003-7016"


def test_zoological_record_emails_are_stripped_from_authors() -> None:
    """Zoological Record appends "(e-mail)" to an author; the name is kept without it."""
    first = next(read_records(REFS / "synthesisr" / "zoorec.txt"))
    assert first.authors[0] == "Stillman, Andrew N."
    assert first.journal == "Condor"
    assert first.year == 2019


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI A\nER\nTI stray\nEF\n", 6),
        ("FN Clarivate Analytics Web of Science\nPT J\nTI A\nPT J\nER\nEF\n", 4),
        ("FN Clarivate Analytics Web of Science\nPT J\nTI A\nnot a tag line\nER\n", 4),
        ("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI truncated here\n", 4),
    ],
)
def test_malformed_wos_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    """A tag outside a record, an unterminated record or a junk line is refused with its line."""
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="wos"))
    assert info.value.file == str(path)
    assert info.value.line == line


def test_endnote_tagged_records() -> None:
    """Blank-line separated %-tagged blocks; %B is the journal of an article; %A in order."""
    records = list(read_records(REFS / "colrev" / "ais_endnote_tagged.enw"))
    first = records[0]
    assert first.authors == ("Guo, Wenbo", "Straub, Detmar W.", "Zhang, Pengzhu", "Cai, Zhao")
    assert first.journal == "Management Information Systems Quarterly"
    assert (first.volume, first.issue, first.pages, first.year) == ("45", "3", "1309-1348", 2021)
    assert records[3].authors[2] == "Osório, Gerardo"


def test_endnote_tagged_junk_line_refused(tmp_path: Path) -> None:
    """A block that starts with an untagged line is not EndNote tagged text."""
    path = tmp_path / "bad.enw"
    path.write_text("%0 Journal Article\n%T A\n\nstray words\n%T B\n")
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="endnote_tagged"))
    assert info.value.line == 4


def test_endnote_tagged_group_author_comma_is_dropped(tmp_path: Path) -> None:
    """"%A World Health Organization," is EndNote's mark of a group author, not part of its name."""
    path = tmp_path / "corp.enw"
    path.write_text("%0 Journal Article\n%A World Health Organization,\n%A Smith, J.\n%T T\n%D 2020\n")
    assert next(read_records(path)).authors == ("World Health Organization", "Smith, J.")

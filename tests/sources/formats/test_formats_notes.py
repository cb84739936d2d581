"""Parse notes: a year field with no readable year and a stray line after a RIS/EndNote code field are
stored as read (nothing lost) and said, naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.sources.formats import ParseNote, read_records

_PUBMED_ARTICLE = (
    "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version=\"1\">4321</PMID><Article><Journal>"
    "<JournalIssue><PubDate><MedlineDate>{date}</MedlineDate></PubDate></JournalIssue><Title>J</Title>"
    "</Journal><ArticleTitle>A trial</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
    "</PubmedArticleSet>\n"
)
_ENDNOTE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><xml><records><record><rec-number>7</rec-number>'
    "<titles><title>A trial</title></titles><dates><year>{date}</year></dates></record></records></xml>\n"
)

#: (file name, text with {date} where the year goes, line of the year field, field as named in the note)
YEAR_CASES = {
    "ris": ("a.ris", "TY  - JOUR\nTI  - A trial\nAU  - Smith, J\nPY  - {date}\nER  - \n", 4, "PY"),
    "endnote_tagged": ("a.enw", "%0 Journal Article\n%T A trial\n%D {date}\n%A Smith, J\n", 3, "%D"),
    "medline": ("a.nbib", "PMID- 1\nTI  - A trial\nDP  - {date}\nSO  - J. {date}.\n", 3, "DP"),
    "wos": ("a.txt", "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI A trial\nPY {date}\nER\n\nEF\n",
            5, "PY"),
    "bibtex": ("a.bib", "@article{smith,\n  title = {A trial},\n  author = {Smith, J},\n"
                        "  year = {{date}},\n}\n", 4, "year"),
    "csv": ("a.csv", "Title,Authors,Year\nFirst trial,\"Smith, J\",2020\nA trial,\"Smith, J\",{date}\n",
            3, "Year"),
    "pubmed_xml": ("a.xml", _PUBMED_ARTICLE, None, "PubDate/MedlineDate"),
    "endnote_xml": ("a.xml", _ENDNOTE_XML, None, "dates/year"),
}


def _write(tmp_path: Path, fmt: str, date: str) -> Path:
    name, text, _line, _field = YEAR_CASES[fmt]
    path = tmp_path / name
    path.write_text(text.replace("{date}", date), encoding="utf-8")
    return path


def _read(path: Path, fmt: str) -> tuple[list, list[ParseNote]]:
    notes: list[ParseNote] = []
    return list(read_records(path, format=fmt, notes=notes)), notes


@pytest.mark.parametrize("fmt", list(YEAR_CASES))
def test_a_year_field_with_no_year_is_stored_without_one_and_noted(tmp_path: Path, fmt: str) -> None:
    """"in press" as the year: the record is still read (its raw text keeps the words), with no year, and
    one note names the file, the line of the year field and the field."""
    path = _write(tmp_path, fmt, "in press")
    records, notes = _read(path, fmt)
    record = records[-1]
    assert record.title == "A trial" and record.year is None
    assert "in press" in record.raw
    assert len(notes) == 1
    note = notes[0]
    _name, _text, line, field = YEAR_CASES[fmt]
    assert (note.file, note.line, note.field) == (str(path), line, field)
    assert "'in press' is not a year; the record is stored without a year" in str(note)
    where = f"{path}, line {line}, field {field}: " if line else f"{path}, "
    assert str(note).startswith(where)


def test_xml_notes_name_the_record_as_there_is_no_line(tmp_path: Path) -> None:
    """The XML readers know no line: the note names the article by its PMID, the record by its rec-number."""
    _records, notes = _read(_write(tmp_path, "pubmed_xml", "Winter"), "pubmed_xml")
    assert str(notes[0]).endswith("the article with PMID 4321 (record 1), field PubDate/MedlineDate: "
                                  "'Winter' is not a year; the record is stored without a year")
    _records, notes = _read(_write(tmp_path, "endnote_xml", "n.d."), "endnote_xml")
    assert "record 1 (rec-number 7), field dates/year: 'n.d.' is not a year" in str(notes[0])


@pytest.mark.parametrize("fmt", list(YEAR_CASES))
@pytest.mark.parametrize(("date", "year"), [("2021", 2021), ("Spring 2019", 2019), ("///", None)])
def test_a_readable_or_empty_year_gives_no_note(tmp_path: Path, fmt: str, date: str, year: int | None) -> None:
    """A year is read as before; "///" (an empty date as some exporters write it) is no year and no note."""
    records, notes = _read(_write(tmp_path, fmt, date), fmt)
    assert records[-1].year == year
    assert notes == []


def test_a_year_read_from_another_field_gives_no_note(tmp_path: Path) -> None:
    """RIS PY "in press" with a DA holding the date: the record has its year, so nothing is said."""
    path = tmp_path / "da.ris"
    path.write_text("TY  - JOUR\nTI  - A\nPY  - in press\nDA  - 2022/03/01\nER  - \n", encoding="utf-8")
    records, notes = _read(path, "ris")
    assert records[0].year == 2022 and notes == []


def test_without_a_notes_list_records_are_read_as_before(tmp_path: Path) -> None:
    """`notes` is optional: the same records come back when no list is passed."""
    path = _write(tmp_path, "ris", "in press")
    assert list(read_records(path)) == _read(path, "ris")[0]


@pytest.mark.parametrize("tag", ["TY", "PY", "DA", "DO", "VL", "IS", "SP", "EP", "ID", "AN"])
def test_ris_untagged_line_after_a_code_field_is_not_folded_into_it(tmp_path: Path, tag: str) -> None:
    """A stray line after TY, PY, DO ... leaves the field as written; the line stays in the raw text and
    a note names its line."""
    values = {"TY": "JOUR", "PY": "2020", "DA": "2020/05/01", "DO": "10.1000/abc", "VL": "12", "IS": "3",
              "SP": "100", "EP": "110", "ID": "12345", "AN": "WOS:0001"}
    # Every code field, the stray line just after `tag`'s.
    lines = [f"{t}  - {v}" + ("\nsee the journal's site" if t == tag else "") for t, v in values.items()]
    path = tmp_path / "stray.ris"
    path.write_text("\n".join(lines) + "\nTI  - A trial\nER  - \n", encoding="utf-8")
    records, notes = _read(path, "ris")
    record = records[0]
    assert record.source_type == "JOUR"
    assert record.year == 2020 and record.doi == "10.1000/abc"
    assert (record.volume, record.issue, record.pages) == ("12", "3", "100-110")
    assert record.source_id == "12345" and record.extra["accession"] == "WOS:0001"
    assert record.title == "A trial"
    assert "see the journal's site" in record.raw
    line = record.raw.splitlines().index("see the journal's site") + 1
    assert [(n.line, n.field) for n in notes] == [(line, "")]
    assert str(notes[0]) == (f"{path}, line {line}: untagged text \"see the journal's site\" after {tag} is "
                             "not part of any field; kept in the record's raw text")


def test_ris_text_fields_still_continue_with_no_note(tmp_path: Path) -> None:
    """Wrapped TI, T1, AB, N2 and N1 lines join their field; untagged lines after KW/SN are more values."""
    path = tmp_path / "wrapped.ris"
    path.write_text(
        "TY  - JOUR\nTI  - A long title\nthat wraps\nAB  - First sentence.\nSecond sentence.\n"
        "N1  - A note\ngoing on\nKW  - one\ntwo\nSN  - 1234-5678\n9780000000000\nER  - \n"
        "TY  - JOUR\nT1  - Another\ntitle\nN2  - Ovid abstract\nwrapped\nER  - \n",
        encoding="utf-8",
    )
    records, notes = _read(path, "ris")
    assert notes == []
    first, second = records
    assert first.title == "A long title that wraps"
    assert first.abstract == "First sentence.\nSecond sentence."
    assert first.extra["notes"] == ["A note\ngoing on"]
    assert first.keywords == ("one", "two")
    assert first.issn == "1234-5678"
    assert second.title == "Another title" and second.abstract == "Ovid abstract\nwrapped"


def test_endnote_tagged_stray_line_after_the_type_is_noted_and_abstracts_still_wrap(tmp_path: Path) -> None:
    """%0 Journal Article then an untagged line: the type stays "Journal Article"; %X still wraps."""
    path = tmp_path / "stray.enw"
    path.write_text("%0 Journal Article\nexported by someone\n%T A trial\n%X First line\nsecond line\n%D 2020\n",
                    encoding="utf-8")
    records, notes = _read(path, "endnote_tagged")
    record = records[0]
    assert record.source_type == "Journal Article"
    assert record.abstract == "First line\nsecond line"
    assert "exported by someone" in record.raw
    assert [str(n) for n in notes] == [
        f"{path}, line 2: untagged text 'exported by someone' after %0 is not part of any field; "
        "kept in the record's raw text"
    ]


def test_an_empty_code_field_takes_the_next_line_as_its_value(tmp_path: Path) -> None:
    """"DO  -" with the DOI wrapped onto the next line (and EndNote's "%R" so) reads that line as the value."""
    path = tmp_path / "wrapped.ris"
    path.write_text("TY  - JOUR\nTI  - A trial\nDO  -\n10.1000/abc\nER  - \n", encoding="utf-8")
    records, notes = _read(path, "ris")
    assert records[0].doi == "10.1000/abc" and notes == []
    path = tmp_path / "wrapped.enw"
    path.write_text("%0 Journal Article\n%T A trial\n%R\n10.1000/abc\n%D 2020\n", encoding="utf-8")
    records, notes = _read(path, "endnote_tagged")
    assert records[0].doi == "10.1000/abc" and notes == []

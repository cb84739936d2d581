"""NUL characters: one rule for every text reader (RIS, MEDLINE, CSV, BibTeX, WoS, EndNote tagged).

A NUL inside an otherwise-text file is refused with a ParseError naming the file and the line
(and the column in the message), never imported with the NUL silently dropped: dropping bytes
alters the data, and PostgreSQL cannot store a NUL. No real export in fixtures/ holds one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"

#: format -> a real export of that format (LF line ends, ASCII or UTF-8).
REAL = {
    "ris": REFS / "rispy" / "example_full.ris",
    "medline": REFS / "entrez_biopython" / "medline_pubmed_result2.txt",
    "csv": REFS / "colrev" / "pubmed_export_chatbot.csv",
    "bibtex": REFS / "bibtexparser" / "multiple_entries_and_comments.bib",
    "wos": REFS / "synthesisr" / "WoS_ciw_example.ciw",
    "endnote_tagged": REFS / "colrev" / "ais_endnote_tagged.enw",
}


def _with_nul(source: Path, target: Path) -> int:
    """Copy `source` to `target` with a NUL inside a line halfway through; return that line (1-based)."""
    lines = source.read_bytes().split(b"\n")
    index = len(lines) // 2
    while len(lines[index]) < 8 or not lines[index][:4].isascii():  # an ASCII start: no character is cut
        index += 1
    lines[index] = lines[index][:4] + b"\x00" + lines[index][4:]
    target.write_bytes(b"\n".join(lines))
    return index + 1


@pytest.mark.parametrize("fmt", sorted(REAL))
@pytest.mark.parametrize("detect", [False, True], ids=["named", "detected"])
def test_nul_in_a_real_export_is_refused_with_file_and_line(tmp_path: Path, fmt: str, detect: bool) -> None:
    """Every text reader refuses a NUL the same way: ParseError, the file, the line, the column."""
    source = REAL[fmt]
    assert list(read_records(source, format=fmt)), "the export reads without the NUL"
    path = tmp_path / f"damaged{source.suffix}"
    line = _with_nul(source, path)
    with pytest.raises(ParseError) as info:
        list(read_records(path, format=None if detect else fmt))
    error = info.value
    assert error.file == str(path)
    assert error.line == line
    assert f"{path}, line {line}: a NUL character" in str(error)
    assert "column 5" in str(error)


@pytest.mark.parametrize(
    ("fmt", "text", "line"),
    [
        ("ris", "TY  - JOUR\nTI  - A title\nAB  - An ab\x00stract\nER  - \n", 3),
        ("medline", "PMID- 1\nTI  - A title\nAB  - An ab\x00stract\n", 3),
        ("csv", 'title,abstract\n"A title","An ab\x00stract"\n', 2),
        ("bibtex", "@article{k,\n  title = {A title},\n  abstract = {An ab\x00stract},\n}\n", 3),
        ("wos", "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI A title\nAB An ab\x00stract\nER\nEF\n", 5),
        ("endnote_tagged", "%0 Journal Article\n%T A title\n%X An ab\x00stract\n", 3),
    ],
)
def test_nul_in_a_small_file_names_its_line(tmp_path: Path, fmt: str, text: str, line: int) -> None:
    """The same message for each format, at the line the NUL is on."""
    path = tmp_path / "nul.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match="NUL character") as info:
        list(read_records(path, format=fmt))
    assert (info.value.file, info.value.line) == (str(path), line)


def test_nul_inside_a_multiline_csv_field_names_the_physical_line(tmp_path: Path) -> None:
    """A quoted CSV field spanning lines: the error names the line the NUL is on, not the row's first."""
    path = tmp_path / "x.csv"
    path.write_text('title,abstract\n"A","line one\nline two\nline\x00 three"\n', encoding="utf-8")
    with pytest.raises(ParseError, match="NUL") as info:
        list(read_records(path))
    assert info.value.line == 4


def test_nul_in_the_csv_header_is_refused_on_line_1(tmp_path: Path) -> None:
    """The header line is checked like any other."""
    path = tmp_path / "x.csv"
    path.write_text('title,d\x00oi\n"A",10.1/a\n', encoding="utf-8")
    with pytest.raises(ParseError, match="NUL") as info:
        list(read_records(path, format="csv"))
    assert info.value.line == 1


def test_utf16_files_hold_nul_bytes_but_no_nul_characters(tmp_path: Path) -> None:
    """The rule is about decoded characters: a UTF-16 export (a NUL byte in every ASCII character) reads."""
    path = tmp_path / "x.csv"
    path.write_bytes('title,doi\n"A",10.1/a\n'.encode("utf-16"))
    assert [r.title for r in read_records(path)] == ["A"]


def test_other_control_characters_in_csv_are_kept(tmp_path: Path) -> None:
    """Only NUL is refused in CSV: a real export (fixtures/screening, Nagtegaal 2019) has U+0001 for '='."""
    path = tmp_path / "x.csv"
    path.write_text('title,abstract\n"A","randomized (n \x01 74)"\n', encoding="utf-8")
    assert [r.abstract for r in read_records(path)] == ["randomized (n \x01 74)"]

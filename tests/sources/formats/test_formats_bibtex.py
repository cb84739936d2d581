"""BibTeX reader: macros, LaTeX, names, real-export quirks, and failed blocks refused with a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records
from reviewkit.sources.formats.bibtex import split_names

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def test_string_macros_concatenate_across_blocks() -> None:
    """`author = jean # " " # cesar` resolves @string macros defined in earlier blocks."""
    record = next(read_records(REFS / "bibtexparser" / "article_with_strings.bib"))
    assert record.authors == ("César, Jean",)
    assert record.journal == "Nice Journal"
    assert record.source_id == "Cesar2013"


def test_latex_accents_and_multiline_values() -> None:
    """{\\'e}-style accents decode to Unicode; a keyword list splits on commas."""
    record = next(read_records(REFS / "bibtexparser" / "traps.bib"))
    assert "érudit" in record.abstract
    assert record.keywords == ("keyword1", "keyword2")
    assert record.pages == "12-23"


def test_scopus_bibtex_with_repeated_field_is_read() -> None:
    """Scopus repeats funding_details in one entry; the entry still imports, authors split on "and"."""
    first = next(read_records(REFS / "synthesisr" / "Scopus_bib_example.bib"))
    assert first.authors[:3] == ("Li, W.", "Dou, Z.", "Cui, L.")
    assert first.doi == "10.1080/20964129.2020.1722034"
    assert first.keywords[:2] == ("Environmental factors", "Lake Taihu")


def test_zotero_bibtex_matches_zotero_ris() -> None:
    """The same Zotero library as BibTeX and RIS gives the same titles, years and first authors."""
    bib = list(read_records(REFS / "asysd_spaniels" / "zotero_export.bib"))
    ris = list(read_records(REFS / "asysd_spaniels" / "zotero_export.ris"))
    assert [r.year for r in bib] == [r.year for r in ris]
    assert [r.first_author for r in bib[:50]] == [r.first_author for r in ris[:50]]
    same_title = sum(a.title.rstrip(".") == b.title.rstrip(".") for a, b in zip(bib, ris, strict=True))
    assert same_title >= 950


def test_split_names_forms() -> None:
    """"First Last", "von Last, First", "Last, Jr, First" and {{Corporate}} names."""
    assert split_names("Jean Cesar and van Beethoven, Ludwig and {{World Health Organization}}") == (
        "Cesar, Jean", "van Beethoven, Ludwig", "World Health Organization",
    )
    assert split_names("Smith, Jr, John AND others") == ("Smith Jr, John",)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("@article{ok, title={Fine}}\n\n@article{broken, title = {no closing brace\n\n@article{next, title={B}}\n", 3),
        ("@article{ok, title={Fine}}\n@article{bad, title {A}, year=2000}\n", 2),
    ],
)
def test_failed_block_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    """A block bibtexparser cannot parse is a ParseError at that block's line."""
    path = tmp_path / "bad.bib"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="bibtex"))
    assert info.value.file == str(path)
    assert info.value.line == line


def test_failed_block_says_why_once(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The error gives bibtexparser's reason and where it stopped; the library prints nothing itself."""
    path = tmp_path / "cut.bib"
    path.write_text("@article{a1,\n  title = {Good},\n  year = {2020}\n}\n\n"
                    "@article{b2,\n  title = {Broken {brace,\n  year = 2020\n}\n")
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="bibtex"))
    assert info.value.line == 6
    assert "Unexpectedly reached end of file (reading stopped at line 9)" in str(info.value)
    out, err = capfd.readouterr()
    assert out == "" and err == ""

"""CSV reader: known export columns, column_map, identifiers hidden in other columns, strict rows."""

from __future__ import annotations

import csv as std_csv
from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import detect_format, read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def test_embase_source_and_openurl() -> None:
    """Embase "Source" gives journal, volume, issue and pages; the OpenURL link gives the DOI."""
    first = next(read_records(REFS / "asreview" / "embase.csv"))
    assert first.journal == "Endoscopic Ultrasound"
    assert (first.year, first.volume, first.issue, first.pages) == (2014, "3", "3", "152-160")
    assert first.doi == "10.4103/2303-9027.138783"
    assert first.authors == ("Liu, R.", "Adler, D.G.")


def test_pubmed_csv_citation_and_authors() -> None:
    """PubMed CSV: "Lim SM" authors, PMCID column, volume/issue/pages from the Citation column."""
    records = list(read_records(REFS / "colrev" / "pubmed_export_chatbot.csv"))
    first, second = records[0], records[1]
    assert first.authors == ("Lim, SM", "Shiau, CWC", "Cheng, LJ", "Lau, Y")
    assert (first.volume, first.issue, first.pages) == ("53", "2", "334-347")
    assert first.journal == "Behav Ther"
    assert second.pmcid == "PMC8669585"


def test_ieee_given_name_first_authors() -> None:
    """IEEE writes "Joseph Rottman, Erran Carmel"; names come out surname first."""
    first = next(read_records(REFS / "colrev" / "ieee_export.csv"))
    assert first.authors == ("Rottman, Joseph", "Carmel, Erran", "Lacity, Mary")
    assert first.journal == "Computer"


def test_zotero_csv_pmid_from_extra_and_nct_in_abstract() -> None:
    """Zotero keeps "PMID: ..." in Extra; an NCT number in the abstract is found."""
    records = list(read_records(REFS / "asysd_spaniels" / "zotero_export.csv"))
    first = records[0]
    assert first.pmid == "35319117" and first.pmcid == "PMC9151451"
    assert first.source_id == "ACSRAG7N"
    assert first.journal_abbrev == "J Vet Intern Med"
    assert first.abstract.split("\n")[1].startswith("OBJECTIVES:")
    with_nct = [r for r in records if r.nct_ids]
    assert [r.nct_ids for r in with_nct] == [("NCT00712660",)]


def test_column_map_for_unknown_headers(tmp_path: Path) -> None:
    """column_map names columns the reader does not know; other columns land in extra."""
    path = tmp_path / "mine.csv"
    path.write_text(
        "Ref,Headline,Writers,When,Registry\n"
        "r1,Baricitinib in COVID-19,\"Kalil AC, Patterson TF\",2021,NCT04401579\n"
    )
    assert detect_format(path) == "csv"  # by extension; no known header
    record = next(read_records(
        path, column_map={"title": "Headline", "authors": "Writers", "year": "When", "source_id": "Ref"}
    ))
    assert record.title == "Baricitinib in COVID-19"
    assert record.authors == ("Kalil, AC", "Patterson, TF")
    assert record.year == 2021 and record.source_id == "r1"
    assert record.nct_ids == ("NCT04401579",)
    assert record.extra["columns"] == {"Registry": "NCT04401579"}


def test_column_map_naming_a_missing_column(tmp_path: Path) -> None:
    """A column_map entry for a column the file lacks is refused, listing the columns it has."""
    path = tmp_path / "mine.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ParseError, match="Headline"):
        list(read_records(path, column_map={"title": "Headline"}))


def test_semicolon_and_tab_delimiters(tmp_path: Path) -> None:
    """The delimiter is read off the header line."""
    for delimiter in (";", "\t"):
        path = tmp_path / "x.csv"
        path.write_text(f"title{delimiter}doi\nA, B{delimiter}10.1000/x\n")
        record = next(read_records(path))
        assert record.title == "A, B" and record.doi == "10.1000/x"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('title,doi\n"A",10.1/a\n"B",10.1/b,extra\n', 3),
        ('title,doi\n"A",10.1/a\n"B"\n', 3),
        ('title,doi\n"A",10.1/a\n"B with "stray" quote",10.1/b\n', 3),
        ('title,doi\n"A",10.1/a\n"never closed,10.1/b\n', 3),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    """A row of the wrong width or with broken quoting is refused with its line."""
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        list(read_records(path))
    assert info.value.file == str(path)
    assert info.value.line == line


def test_multiline_field_keeps_row_numbering(tmp_path: Path) -> None:
    """A quoted field with a line break is one row; the error after it names the right line."""
    path = tmp_path / "x.csv"
    path.write_text('title,abstract\n"A","line one\nline two"\n"B","x",oops\n')
    with pytest.raises(ParseError) as info:
        list(read_records(path))
    assert info.value.line == 4


def test_no_known_column_without_map(tmp_path: Path) -> None:
    """A table with no bibliographic column needs column_map; the message says so."""
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ParseError, match="--map"):
        list(read_records(path))


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    """Title,Abstract,Title: which column holds the title would be a guess (and the other's values would be
    lost among the record's extra columns), so the header is refused naming both positions."""
    path = tmp_path / "twice.csv"
    path.write_text("Title,Abstract, title \nA,abstract,B\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"the header names column 'title' twice \(columns 1 and 3\)") as caught:
        list(read_records(path))
    assert caught.value.line == 1


def test_map_naming_two_columns_for_one_field_is_refused() -> None:
    """--map title=A,title=B is refused, not settled by whichever came last; the same pair twice is fine."""
    from reviewkit.cli.identify import parse_map
    from reviewkit.errors import ReviewkitError

    with pytest.raises(ReviewkitError, match="--map names two columns for title: 'A' and 'B'"):
        parse_map("title=A,title=B")
    assert parse_map("title=A, title=A") == {"title": "A"}


def test_embase_comma_separated_index_terms_split() -> None:
    """Embase lists its terms with commas ("cyst (diagnosis, surgery), human"): one term each, not one
    keyword holding the whole cell; commas inside parentheses stay."""
    path = REFS / "asreview" / "embase.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        cells = [row["keywords"] for row in std_csv.DictReader(fh)]
    for record, cell in zip(read_records(path), cells, strict=True):
        assert len(record.keywords) > 1
        assert ", ".join(record.keywords) == cell.strip()  # nothing lost or reordered
        assert all(term.count("(") == term.count(")") for term in record.keywords)
    assert any("(" in term and "," in term for r in read_records(path) for term in r.keywords)


def test_ieee_numeric_character_references_are_decoded() -> None:
    """IEEE Xplore writes "Solvers&#x0027;"; the abstract reads "Solvers'" (the raw row keeps the file's text)."""
    records = list(read_records(REFS / "colrev" / "ieee_export.csv"))
    second = records[1]
    assert "&#x0027;" in second.raw
    assert "&#" not in second.abstract and "Solvers' sustained" in second.abstract


def test_pubmed_csv_final_full_stop_is_not_an_initial(tmp_path: Path) -> None:
    """PubMed ends its author list with "."; Embase's "Liu R., Adler D.G." keeps its initials' full stops."""
    path = tmp_path / "pm.csv"
    path.write_text('Title,Authors\nT1,"Xu L, Chow JCL."\nT2,"Liu R., Adler D.G."\nT3,"Cole, Lynette K."\n',
                    encoding="utf-8")
    first, second, third = read_records(path)
    assert first.authors == ("Xu, L", "Chow, JCL")
    assert second.authors == ("Liu, R.", "Adler, D.G.")
    assert third.authors == ("Cole, Lynette K.",)  # one "Surname, Given" name: its initial keeps its stop


WOS_TAB = (
    "PT\tAU\tAF\tTI\tSO\tDE\tID\tAB\tLA\tDT\tSN\tJ9\tJI\tPY\tVL\tIS\tBP\tEP\tDI\tUT\tPM\t\n"
    "J\tSmith, J; Doe, A\tSmith, John; Doe, Anne\tA WoS title\tJOURNAL OF STUFF\tkw1; kw2\tplus1; plus2\t"
    "An abstract.\tEnglish\tArticle\t1234-5678\tJ STUFF\tJ. Stuff\t2020\t12\t3\t100\t110\t10.1000/WOS\t"
    "WOS:000123456700001\t32222222\t\n"
)


def test_web_of_science_tab_delimited_export(tmp_path: Path) -> None:
    """WoS "Tab delimited file" (savedrecs.txt) heads columns with field tags: detected and mapped
    (ID is Keywords Plus there, not the record id)."""
    path = tmp_path / "savedrecs.txt"
    path.write_bytes(b"\xef\xbb\xbf" + WOS_TAB.encode())
    assert detect_format(path) == "csv"
    record = next(read_records(path))
    assert record.title == "A WoS title"
    assert record.authors == ("Smith, John", "Doe, Anne")
    assert (record.year, record.volume, record.issue, record.pages) == (2020, "12", "3", "100-110")
    assert (record.doi, record.pmid, record.source_id) == ("10.1000/wos", "32222222", "WOS:000123456700001")
    assert (record.journal, record.journal_abbrev, record.keywords) == ("JOURNAL OF STUFF", "J. Stuff", ("kw1", "kw2"))
    assert record.source_db == "Web of Science"

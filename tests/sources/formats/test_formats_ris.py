"""RIS reader: exporter quirks mapped onto Record fields, and malformed files refused with file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records
from reviewkit.sources.formats.detect import detect_format
from reviewkit.sources.formats.notes import ParseNote

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def _read(name: str) -> list:
    return list(read_records(REFS / name))


def test_scopus_c2_is_the_pmid_and_sn_loses_its_annotation() -> None:
    """Scopus writes the PMID in C2 (formats.md §1.2); DB Scopus does not stop it being read."""
    records = _read("asreview/scopus.ris")
    second = records[1]
    assert second.title.startswith("Hypothesis: Mechanism of irritable bowel syndrome")
    assert second.pmid == "31421429"
    assert second.source_db == "Scopus"
    assert all("(ISSN)" not in r.issn for r in records)


def test_ovid_psycinfo_numbering_trailing_tag_and_nct() -> None:
    """Ovid's "1." lines are skipped, NL after ER stays with its record, the NCT in N2 is found."""
    records = _read("asreview/ovid_psycinfo.ris")
    first = records[0]
    assert first.authors[:2] == ("Trindade, Ines A", "Irons, Chris")
    assert first.abstract.startswith("Considering that self-criticism")  # N2 is Ovid's abstract
    assert first.journal == "Clinical Psychology & Psychotherapy"
    assert first.pages == ""  # "SP  - No" / "EP  - Specified"
    assert "NL  - Clin Psychol Psychother" in first.raw
    assert first.source_id == "2019-65183-001"
    assert first.pmid is None  # a PsycINFO accession, not a PMID
    trial = records[5]
    assert trial.title.startswith("Psychological outcomes of a cognitive behavioral therapy")
    assert trial.nct_ids == ("NCT02265588",)


def test_endnote_export_pmid_in_an_and_trailing_id() -> None:
    """PubMed records exported by EndNote keep the PMID in AN; ID is the library record number."""
    first = _read("asreview/pubmed_endnote.txt")[0]
    assert first.pmid == "21553931"
    assert first.authors[0] == "Abdel-Tawab, M."
    assert first.pages == "349-369"


def test_endnote_kw_continuation_lines_are_separate_keywords() -> None:
    """Unindented lines after KW are further keywords (Rayyan/EndNote quirk)."""
    first = _read("asreview/ris_issue_992.txt")[0]
    assert first.keywords[:4] == (
        "Health Facility Administration", "Joint Commission", "Standards", "Medication Errors"
    )
    assert first.title == "Overcoming Medication Reconciliation Challenges"
    assert first.journal == "Joint Commission Perspectives on Patient Safety"


def test_wos_ris_with_cr_line_ends() -> None:
    """The WoS RIS export with bare CR line ends still splits AD, WE and AN into their own fields."""
    first = _read("asysd_spaniels/wos_test.ris")[0]
    assert first.source_id == "WOS:000082252000006"
    assert first.journal_abbrev == "Vet. Comp. Orthop. Traumatol."
    assert first.pages == "134-137"
    assert first.extra["accession"] == "WOS:000082252000006"


def test_glued_tags_on_one_line_are_split(tmp_path: Path) -> None:
    """"...AustraliaPU  - ..." (two tags on one physical line) yields both fields."""
    path = tmp_path / "glued.ris"
    path.write_text(
        "TY  - JOUR\nTI  - A title\nAD  - Univ Sydney, AustraliaPU  - ELSEVIER\n"
        "SN  - 1234-5678AN  - WOS:000000000000001\nER  - \n"
    )
    record = _read_path(path)[0]
    assert record.source_id == "WOS:000000000000001"
    assert record.issn == "1234-5678"
    assert "PU  - ELSEVIER" in record.raw


def _read_path(path: Path) -> list:
    return list(read_records(path))


def test_doi_url_and_multiline_abstract(tmp_path: Path) -> None:
    """DO given as a URL is normalised; wrapped abstract lines join; a structured abstract splits."""
    path = tmp_path / "x.ris"
    path.write_text(
        "TY  - JOUR\nTI  - T\nAB  - BACKGROUND: One. METHODS: Two.\n  RESULTS: Three.\n"
        "DO  - https://doi.org/10.1000/ABC.1\nER  - \n"
    )
    record = _read_path(path)[0]
    assert record.doi == "10.1000/abc.1"
    assert record.abstract == "BACKGROUND: One.\nMETHODS: Two.\nRESULTS: Three."


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("TY  - JOUR\nTI  - A\nER  - \nAU  - Stray, A\n", None, "ER"),
        ("AU  - Before, TY\nTY  - JOUR\nER  - \n", 1, "outside a record"),
        ("TY  - JOUR\nTI  - A\nTY  - JOUR\nTI  - B\nER  - \n", 3, "before the record opened at line 1"),
        ("PMID- 1\nOWN - NLM\nTI  - A MEDLINE file read as RIS\n", 3, "RIS tag TI outside a record"),
        ("TY  - JOUR\nTI  - A\x00\x01binary\nER  - \n", 2, "binary"),
        ("just some notes\nnothing else\n", 1, "no RIS record"),
    ],
)
def test_malformed_ris_names_file_and_line(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    """Each kind of malformed RIS raises ParseError with the file name, the line and the reason."""
    path = tmp_path / "bad.ris"
    path.write_text(text)
    if line is None:
        # A tag after ER belongs to the record just closed (Ovid NL); only a second ER is an error.
        path.write_text(text + "ER  - \n")
        line, words = 5, "second ER"
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="ris"))
    assert info.value.file == str(path)
    assert info.value.line == line
    assert words in str(info.value)


def test_records_stream_before_a_late_error(tmp_path: Path) -> None:
    """Records are yielded as read; the error comes when the bad record is reached."""
    good = (REFS / "rispy" / "example_full.ris").read_text()
    path = tmp_path / "late.ris"
    path.write_text(good + "\nTY  - JOUR\nTI  - not closed\nTY  - JOUR\nER  - \n")
    iterator = read_records(path)
    assert next(iterator).title == "Title of reference"
    with pytest.raises(ParseError):
        list(iterator)


def test_ebsco_journal_is_jf_not_the_translated_t2() -> None:
    """EBSCO puts a translated title in T2 and the journal in JF/JO; the DOI sits in L3."""
    last = list(read_records(REFS / "synthesisr" / "ASP_ris_example.ris"))[-1]
    assert last.title.startswith("2ZGK-6 型可调宽窄行高速水稻插秧机设计与试验")
    assert last.journal == "Transactions of the Chinese Society of Agricultural Engineering"
    assert last.journal_abbrev == ""
    assert last.doi == "10.11975/j.issn.1002-6819.2016.21.005"
    assert last.source_db == "Academic Search Premier"


def test_pubmed_and_pmc_links_give_identifiers() -> None:
    """Space-separated URLs on one UR line are split; PubMed and PMC links give PMID and PMCID."""
    last = list(read_records(REFS / "synthesisr" / "citesource_issue_24.ris"))[-1]
    assert last.title == "Systematic map of conservation psychology"
    assert (last.pmid, last.pmcid) == ("33245809", "PMC7756398")
    assert last.url == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC7756398"


def test_group_authors_are_kept_as_written(tmp_path: Path) -> None:
    """A group author whose first word is in capitals is no "Initials Surname" person name."""
    path = tmp_path / "groups.ris"
    path.write_text("TY  - JOUR\nTI  - T\nAU  - WHO Collaborating Group\nAU  - GBD 2019 Diseases Collaborators\n"
                    "AU  - R. L. Whistler\nAU  - Lim SM\nAU  - World Health Organization,\nER  - \n",
                    encoding="utf-8")
    record = next(read_records(path))
    assert record.authors == ("WHO Collaborating Group", "GBD 2019 Diseases Collaborators", "Whistler, R. L.",
                              "Lim, SM", "World Health Organization")  # EndNote's group-author comma dropped


def test_tag_without_a_space_after_the_hyphen(tmp_path: Path) -> None:
    """"TY  -JOUR" is still a tag line: the record was lost and its ER refused as outside a record."""
    path = tmp_path / "tight.ris"
    path.write_text("TY  -JOUR\nTI  -Tight title\nPY  -2020\nER  -\n", encoding="utf-8")
    record = next(read_records(path))
    assert (record.source_type, record.title, record.year) == ("JOUR", "Tight title", 2020)


def test_embase_c5_is_the_medline_pmid() -> None:
    """Embase.com RIS puts the PMID of a record also in MEDLINE in C5 (it was lost: no exact-ID match
    with the PubMed records of the same studies); records without C5 get none."""
    records = _read("asreview/embase.ris")
    with_c5 = 0
    for record in records:
        found = re.search(r"^C5  - (\d+)\s*$", record.raw, re.MULTILINE)
        assert record.pmid == (found.group(1) if found else None)
        with_c5 += found is not None
    assert 0 < with_c5 < len(records)


def _fields(records: list) -> list[tuple]:
    """What a user sees of each record (the raw text aside, which keeps the file's own spacing)."""
    return [(r.source_type, r.title, r.authors, r.year, r.journal, r.volume, r.issue, r.pages, r.doi, r.pmid,
             r.abstract, r.keywords, r.language, r.issn) for r in records]


def test_a_last_record_without_er_is_kept_with_a_note(tmp_path: Path) -> None:
    """A real export whose last "ER  -" line is missing (a copy cut short, a tool that omits it) was refused
    whole ("not closed with ER"): every record is now kept, the last one as read, with a note naming the
    file, the line and that its ER was missing."""
    real = REFS / "asreview" / "pubmed_zotero.ris"
    text = real.read_text(encoding="utf-8")
    cut = text.rstrip()
    assert cut.endswith("ER  -")
    path = tmp_path / "no_last_er.ris"
    path.write_text(cut[: -len("ER  -")], encoding="utf-8")
    notes: list[ParseNote] = []
    records = list(read_records(path, notes=notes))
    assert _fields(records) == _fields(_read("asreview/pubmed_zotero.ris"))
    kept = cut[: -len("ER  -")].rstrip().splitlines()
    last_line = len(kept)
    start = max(i for i, line in enumerate(kept, 1) if line.startswith("TY  - "))
    assert notes == [ParseNote(str(path), last_line, "ER",
                               f"the record opened at line {start} has no 'ER  - ' line at the end of the file; "
                               "it is kept as read (if the file was cut short, check its last fields)")]
    assert _fields(list(read_records(path))) == _fields(records)  # no notes list: the same records


def test_a_lone_record_without_er_is_kept(tmp_path: Path) -> None:
    """One record and no ER at all (a record copied from a web page) is a record, noted."""
    path = tmp_path / "one.ris"
    path.write_text("TY  - JOUR\nTI  - Copied by hand\nAU  - Smith, J\nPY  - 2019\n\n", encoding="utf-8")
    notes: list[ParseNote] = []
    (record,) = read_records(path, notes=notes)
    assert (record.title, record.authors, record.year) == ("Copied by hand", ("Smith, J",), 2019)
    assert [(n.line, n.field) for n in notes] == [(4, "ER")]


@pytest.mark.parametrize("tail", ["TY  - JOUR\n", "TY  - JOUR", "TY  - \n\n\n", "TY - JOUR\n"],
                         ids=["TY line", "no line end", "empty TY, blank lines", "spaced TY"])
def test_a_file_cut_after_its_last_ty_line_skips_that_empty_record(tmp_path: Path, tail: str) -> None:
    """A real export cut short just after a record's TY line: the records before it are read as from the whole
    file, and the empty one is no record (it was kept, with a note that it was "kept as read"); a note names the
    file and the TY line and says why it was skipped."""
    text = (REFS / "asreview" / "pubmed_zotero.ris").read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    path = tmp_path / "cut.ris"
    path.write_text(text + tail, encoding="utf-8")
    notes: list[ParseNote] = []
    records = list(read_records(path, notes=notes))
    assert _fields(records) == _fields(_read("asreview/pubmed_zotero.ris"))
    ty_line = len(text.splitlines()) + 1
    assert notes == [ParseNote(str(path), ty_line, "TY",
                               "the file ends with an empty record (this TY line and nothing after it); it was "
                               "skipped, as the file looks cut short (export it again if records may be missing)")]
    assert _fields(list(read_records(path))) == _fields(records)  # no notes list: the same records


def test_a_file_of_only_a_ty_line_is_refused(tmp_path: Path) -> None:
    """Nothing but a TY line: no record to import, and a file cut short; refused naming the line."""
    path = tmp_path / "only.ris"
    path.write_text("\nTY  - JOUR\n", encoding="utf-8")
    with pytest.raises(ParseError) as info:
        list(read_records(path))
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert "only a TY line" in str(info.value) and "cut short" in str(info.value)


@pytest.mark.parametrize("spacing", [" - ", "\t- ", " -", "\t-", " \t- ", "   - "],
                         ids=["one space", "tab", "one space, none after", "tab, none after", "space tab",
                              "three spaces"])
def test_tags_spaced_otherwise_are_read_as_ris(tmp_path: Path, spacing: str) -> None:
    """"TY - JOUR" (one space before the hyphen), a tab, or no space after it: the same records as the real
    export they were respaced from. Before, the file was "unrecognised" and, with --format ris, had "no RIS
    record"."""
    text = (REFS / "asreview" / "pubmed_zotero.ris").read_text(encoding="utf-8")
    respaced = re.sub(r"^([A-Z][A-Z0-9])  - ?", lambda m: m.group(1) + spacing, text, flags=re.MULTILINE)
    assert not re.search(r"^[A-Z][A-Z0-9]  - ", respaced, flags=re.MULTILINE)
    path = tmp_path / "respaced.txt"
    path.write_text(respaced, encoding="utf-8")
    assert detect_format(path) == "ris"
    notes: list[ParseNote] = []
    assert _fields(list(read_records(path, notes=notes))) == _fields(_read("asreview/pubmed_zotero.ris"))
    assert notes == []


def test_abstract_lines_that_look_like_tags_stay_in_the_abstract(tmp_path: Path) -> None:
    """A wrapped abstract line starting "US - based" or "AU - " is text in a record spaced "XY  - "; in a
    record spaced "XY - " only the RIS tags are tags, so "US - based" and "HR - 0.8" stay text there too."""
    path = tmp_path / "abstracts.ris"
    path.write_text(
        "TY  - JOUR\nTI  - Two spaces\nAB  - Adults in a\nUS - based cohort had\nAU - like lines and\n"
        "HR - 0.8 for death.\nPY  - 2020\nER  - \n\n"
        "TY - JOUR\nTI - One space\nAB - Adults in a\nUS - based cohort had a\nHR - 0.8 for death.\n"
        "PY - 2021\nER - \n", encoding="utf-8")
    first, second = read_records(path)
    assert first.abstract == "Adults in a\nUS - based cohort had\nAU - like lines and\nHR - 0.8 for death."
    assert first.authors == () and first.year == 2020
    assert second.abstract == "Adults in a\nUS - based cohort had a\nHR - 0.8 for death."
    assert (second.title, second.year) == ("One space", 2021)

"""MEDLINE/.nbib reader: tags mapped onto Record fields, structured abstracts, malformed lines refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def test_biopython_medline_fields() -> None:
    """FAU authors, TA/JT journals, AID doi, PMC, MeSH, PT and pages expanded from "616-7"."""
    records = list(read_records(REFS / "entrez_biopython" / "medline_pubmed_result2.txt"))
    first, second = records[0], records[1]
    assert first.authors[:2] == ("Casbon, James A", "Crooks, Gavin E")
    assert first.journal == "BMC bioinformatics"
    assert first.journal_abbrev == "BMC Bioinformatics"
    assert first.pmcid == "PMC1373603"
    assert first.doi == "10.1186/1471-2105-7-10"
    assert first.source_id == first.pmid == "16403221"
    assert "*Database Management Systems" in first.mesh_terms
    assert first.publication_types == ("Evaluation Studies", "Journal Article")
    assert first.language == "eng"
    assert second.pages == "616-617"
    assert records[2].pages == "1453-1454"


def test_keywords_lose_the_major_topic_star_and_mesh_headings_keep_theirs() -> None:
    """A real export: PubMed stars the keywords it marks as major topics ("OT  - *Plant diversity"); the keyword
    is stored as its text, as the PubMed XML reader and every other format give it. MH lines keep their stars
    and qualifiers, which the PubMed XML reader writes alike."""
    records = {r.pmid: r for r in read_records(REFS / "entrez_synthesisr" / "PubMed_medline_example.nbib")}
    record = records["30868313"]
    assert record.keywords == ("Agri-environment Schemes", "Plant diversity", "Soil nutrients", "Weed management",
                               "Wildflower strips")
    assert record.mesh_terms[-2:] == ("*Poaceae", "*Soil") and "Grassland" in record.mesh_terms


def test_structured_abstract_keeps_section_labels_on_lines() -> None:
    """"BACKGROUND: ... RESULTS: ..." becomes one labelled section per line."""
    first = next(read_records(REFS / "entrez_biopython" / "medline_pubmed_result2.txt"))
    lines = first.abstract.split("\n")
    assert lines[0].startswith("BACKGROUND: Benchmarking algorithms")
    assert [line.split(":")[0] for line in lines] == ["BACKGROUND", "RESULTS", "CONCLUSION"]


def test_continuation_lines_join_with_one_space() -> None:
    """A title wrapped over two lines reads as one line."""
    first = next(read_records(REFS / "entrez_synthesisr" / "PubMed_medline_example.nbib"))
    assert first.title == (
        "Differences in nitrate and phosphorus export between wooded and grassed riparian zones "
        "from farmland to receiving waterways under varying rainfall conditions."
    )
    assert first.doi == "10.1016/j.scitotenv.2017.04.075"  # from LID ... [doi]
    assert first.issn == "1879-1026"


def test_secondary_id_nct_is_found(tmp_path: Path) -> None:
    """An SI "ClinicalTrials.gov/NCT..." and an NCT in the abstract both land in nct_ids."""
    original = (REFS / "entrez_biopython" / "medline_pubmed_result1.txt").read_text()
    text = original.replace("PMID- 12230038\n", "PMID- 12230038\nSI  - ClinicalTrials.gov/NCT01234567\n")
    text = text.replace("AB  - ", "AB  - Registered as nct 07654321. ", 1)
    path = tmp_path / "si.nbib"
    path.write_text(text)
    record = next(read_records(path))
    assert record.nct_ids == ("NCT01234567", "NCT07654321")
    assert record.extra["secondary_ids"] == ["ClinicalTrials.gov/NCT01234567"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("PMID- 1\nTI  - A title\nthis line is junk\n", 3),
        ("      continuation before any tag\nPMID- 1\n", 1),
        ("PMID- 1\nTI- squeezed tag\n", 2),
        ("PMID- 1\nTI  - A title\n\nAB  - the rest of the record after a stray blank line\n", 4),
    ],
)
def test_malformed_medline_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    """Junk where a tag should be raises ParseError naming the file and the line."""
    path = tmp_path / "bad.nbib"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="medline"))
    assert info.value.file == str(path)
    assert info.value.line == line


def test_a_file_cut_off_mid_record_is_refused(tmp_path: Path) -> None:
    """Half of a real PubMed export: its last record stops before SO, which the others have, so the
    file is refused at that record's first line; a whole file, or a lone record without SO, is read."""
    whole = REFS / "entrez_synthesisr" / "PubMed_medline_example.nbib"
    lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "cut.nbib"
    cut.write_text("".join(lines[: len(lines) // 2]) + "\n", encoding="utf-8")
    with pytest.raises(ParseError, match="has no SO .source. line.*cut off") as info:
        list(read_records(cut, format="medline"))
    starts = [i for i, line in enumerate(lines[: len(lines) // 2], start=1) if line.startswith("PMID-")]
    assert info.value.line == starts[-1]
    assert len(list(read_records(whole, format="medline"))) == 3
    lone = tmp_path / "lone.nbib"
    lone.write_text("PMID- 1\nTI  - A record without a source line\n", encoding="utf-8")
    assert [r.title for r in read_records(lone, format="medline")] == ["A record without a source line"]


def test_group_author_keeps_its_place_in_the_author_list(tmp_path: Path) -> None:
    """A CN (group) author listed between persons stays there, as PubMed lists it (it was moved last)."""
    path = tmp_path / "cn.nbib"
    path.write_text("PMID- 1\nTI  - T\nFAU - Smith, John\nAU  - Smith J\nCN  - RECOVERY Collaborative Group\n"
                    "FAU - Doe, Ann\nAU  - Doe A\nSO  - J. 2020;1:1.\n", encoding="utf-8")
    record = next(read_records(path))
    assert record.authors == ("Smith, John", "RECOVERY Collaborative Group", "Doe, Ann")

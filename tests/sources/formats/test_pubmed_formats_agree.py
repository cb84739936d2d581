"""One PubMed record read from its MEDLINE (.nbib) form and from its PubMed XML form gives the same fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.domain.records import Record
from reviewkit.sources.formats import read_records

BIOPYTHON = Path(__file__).resolve().parents[3] / "fixtures" / "references" / "entrez_biopython"
#: The fields a review uses of a record; the raw text, format and source type say which file it came from.
FIELDS = ("title", "abstract", "authors", "year", "journal", "journal_abbrev", "volume", "issue", "pages", "doi",
          "pmid", "pmcid", "nct_ids", "publication_types", "keywords", "mesh_terms", "language", "issn", "url",
          "source_id", "source_db")


def _pair(tmp_path: Path, edit_xml: tuple[str, str] = ("", ""), edit_medline: tuple[str, str] = ("", "")
          ) -> tuple[Record, Record]:
    """The record of PMID 11748933 as PubMed XML (pubmed2.xml) and as MEDLINE, each with one edit made."""
    xml = (BIOPYTHON / "pubmed2.xml").read_text(encoding="utf-8").replace(*edit_xml)
    medline = (BIOPYTHON / "pubmed2_11748933_as_medline.nbib").read_text(encoding="utf-8").replace(*edit_medline)
    (tmp_path / "a.xml").write_text(xml, encoding="utf-8")
    (tmp_path / "a.nbib").write_text(medline, encoding="utf-8")
    from_xml = next(r for r in read_records(tmp_path / "a.xml") if r.pmid == "11748933")
    (from_medline,) = read_records(tmp_path / "a.nbib")
    return from_xml, from_medline


def _fields(record: Record) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS}


def test_one_record_reads_alike_from_medline_and_from_xml(tmp_path: Path) -> None:
    """The XML kept MedlinePgn as printed ("244-55") where the MEDLINE reader wrote the end page out
    ("244-255"); the MEDLINE record had no PubMed link and no citation status; the XML kept only each MeSH
    heading's descriptor ("Sea Bream") where MEDLINE's MH line has its qualifiers and major-topic stars."""
    from_xml, from_medline = _pair(tmp_path)
    assert _fields(from_medline) == _fields(from_xml)
    assert (from_xml.pages, from_xml.language, from_xml.year, from_xml.doi) == (
        "244-255", "eng", 2001, "10.1006/cryo.2001.2328")
    assert from_xml.authors[0] == "Taddei, A R" and len(from_xml.authors) == 8
    assert from_medline.extra["status"] == from_xml.extra["status"] == "MEDLINE"
    assert len(from_xml.mesh_terms) == 11
    assert {"Animals", "Sea Bream/*anatomy & histology/physiology", "Semen Preservation/adverse effects/*methods",
            "*Sperm Motility"} <= set(from_xml.mesh_terms)


@pytest.mark.parametrize(("xml_heading", "mh_line"), [
    # A major descriptor with a qualifier: both marks kept, each where PubMed puts it.
    ('<DescriptorName UI="D013081" MajorTopicYN="Y">Sperm Motility</DescriptorName>'
     '<QualifierName UI="Q000502" MajorTopicYN="N">physiology</QualifierName>'
     '<QualifierName UI="Q000187" MajorTopicYN="Y">drug effects</QualifierName>',
     "*Sperm Motility/physiology/*drug effects"),
    # No MajorTopicYN attribute (older files): no star.
    ("<DescriptorName>Sperm Motility</DescriptorName><QualifierName>physiology</QualifierName>",
     "Sperm Motility/physiology"),
], ids=["major descriptor and qualifier", "no major-topic attribute"])
def test_a_mesh_heading_is_stored_alike(tmp_path: Path, xml_heading: str, mh_line: str) -> None:
    real = '<DescriptorName UI="D013081" MajorTopicYN="Y">Sperm Motility</DescriptorName>'
    from_xml, from_medline = _pair(tmp_path, (real, xml_heading), ("MH  - *Sperm Motility", f"MH  - {mh_line}"))
    assert mh_line in from_xml.mesh_terms
    assert from_xml.mesh_terms == from_medline.mesh_terms


def test_keywords_are_stored_alike(tmp_path: Path) -> None:
    """MEDLINE stars a keyword PubMed marks a major topic ("OT  - *Sea bream"); the XML gives its text alone,
    as every other format gives keywords: both store "Sea bream". A keyword given twice is kept once."""
    keywords = ('<KeywordList Owner="NOTNLM"><Keyword MajorTopicYN="Y">Sea bream</Keyword>'
                '<Keyword MajorTopicYN="N">sperm ultrastructure</Keyword>'
                '<Keyword MajorTopicYN="N">Sea bream</Keyword></KeywordList>')
    from_xml, from_medline = _pair(
        tmp_path, ("</MeshHeadingList>", f"</MeshHeadingList>{keywords}"),
        ("EDAT-", "OTO - NOTNLM\nOT  - *Sea bream\nOT  - sperm ultrastructure\nOT  - Sea bream\nEDAT-"))
    assert from_xml.keywords == from_medline.keywords == ("Sea bream", "sperm ultrastructure")


@pytest.mark.parametrize(("xml_pages", "medline_pages", "pages"), [
    ("<StartPage>1058</StartPage><EndPage>1064</EndPage><MedlinePgn>1058-64</MedlinePgn>", "1058-64", "1058-1064"),
    ("<MedlinePgn>e5082</MedlinePgn>", "e5082", "e5082"),
    ("<MedlinePgn>1116-1122</MedlinePgn>", "1116-1122", "1116-1122"),
    # No MedlinePgn: StartPage and EndPage, which MEDLINE's PG writes as one range.
    ("<StartPage>244</StartPage><EndPage>255</EndPage>", "244-55", "244-255"),
    ("<StartPage>1034</StartPage>", "1034", "1034"),
], ids=["abbreviated", "e-page", "full range", "start and end only", "start only"])
def test_pages_agree_in_every_form(tmp_path: Path, xml_pages: str, medline_pages: str, pages: str) -> None:
    real = "<StartPage>244</StartPage><EndPage>255</EndPage><MedlinePgn>244-55</MedlinePgn>"
    from_xml, from_medline = _pair(tmp_path, (real, xml_pages), ("PG  - 244-55", f"PG  - {medline_pages}"))
    assert from_xml.pages == from_medline.pages == pages


def test_several_languages_are_stored_alike(tmp_path: Path) -> None:
    """Two languages: the XML reader joined them ("eng; ita"), the MEDLINE reader kept the first LA only."""
    from_xml, from_medline = _pair(
        tmp_path, ("<Language>eng</Language>", "<Language>eng</Language><Language>ita</Language>"),
        ("LA  - eng\n", "LA  - eng\nLA  - ita\n"))
    assert from_xml.language == from_medline.language == "eng; ita"

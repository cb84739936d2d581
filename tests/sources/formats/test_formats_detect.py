"""Format detection from content: wrong extensions still work, unknown content names the file and fix."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import detect_format, read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("entrez_synthesisr/PubMed_medline_example.nbib", "medline"),
        ("asreview/scopus.ris", "ris"),
        ("asreview/_baseline.ris", "ris"),  # BOM + CRLF
        ("synthesisr/WoS_txt_example.txt", "wos"),
        ("synthesisr/zoorec.txt", "wos"),  # BOM
        ("asysd_spaniels/zotero_export.xml", "endnote_xml"),
        ("asysd_spaniels/mendeley_export.xml", "endnote_xml"),  # no line breaks at all
        ("bibtexparser/comments_percentage.bib", "bibtex"),
        ("colrev/pubmed_export_chatbot.csv", "csv"),
        ("asysd_spaniels/zotero_export.csv", "csv"),  # BOM
        ("colrev/ais_endnote_tagged.enw", "endnote_tagged"),
        ("entrez_biopython/pubmed1.xml", "pubmed_xml"),
        ("entrez_biopython/pubmed4.xml", "pubmed_xml"),
    ],
)
def test_detected_under_a_misleading_extension(tmp_path: Path, name: str, fmt: str) -> None:
    """Each real file is recognised even when renamed to .dat (content, not extension, decides)."""
    copy = tmp_path / "export.dat"
    shutil.copyfile(REFS / name, copy)
    assert detect_format(copy) == fmt
    assert detect_format(REFS / name) == fmt


def test_medline_named_ris_reads_as_medline(tmp_path: Path) -> None:
    """A PubMed .nbib saved as .ris reads as MEDLINE, with every record."""
    copy = tmp_path / "pubmed.ris"
    shutil.copyfile(REFS / "entrez_biopython" / "medline_pubmed_result2.txt", copy)
    assert [r.pmid for r in read_records(copy)] == ["16403221", "16377612", "14871861", "14630660"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"Lorem ipsum dolor sit amet\nconsectetur adipiscing\n", "unrecognised"),
        (b"<html><body>Not found</body></html>", "unrecognised"),
    ],
)
def test_unknown_content_names_file_and_fix(tmp_path: Path, content: bytes, words: str) -> None:
    """Unrecognised content is a ParseError naming the file and the formats to export instead."""
    path = tmp_path / "mystery.txt"
    path.write_bytes(content)
    with pytest.raises(ParseError) as info:
        detect_format(path)
    assert info.value.file == str(path)
    assert words in str(info.value)
    assert "RIS" in str(info.value) and "MEDLINE" in str(info.value)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    """A missing path and an unknown format name are ParseErrors, not tracebacks."""
    with pytest.raises(ParseError, match="no such file"):
        detect_format(tmp_path / "absent.ris")
    with pytest.raises(ParseError, match="unknown format"):
        read_records(REFS / "asreview" / "scopus.ris", format="marc")


@pytest.mark.skipif(
    importlib.util.find_spec("reviewkit.sources.formats.pubmed_xml") is None,
    reason="pubmed_xml.py (another engineer's module) is not there yet",
)
def test_pubmed_xml_is_dispatched() -> None:
    """read_records hands PubmedArticleSet files to pubmed_xml.iter_pubmed_xml."""
    records = list(read_records(REFS / "entrez_biopython" / "pubmed1.xml"))
    assert len(records) == 2
    assert all(r.pmid for r in records)

"""Tests for iter_pubmed_xml on real efetch files, edge-case snippets, hostile and broken input."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from reviewkit.domain.records import Record
from reviewkit.errors import ParseError
from reviewkit.sources.formats.pubmed_xml import iter_pubmed_xml

ENTREZ = Path(__file__).resolve().parents[3] / "fixtures" / "entrez"


def read(name: str) -> list[Record]:
    """All records of a fixture file."""
    with (ENTREZ / name).open("rb") as stream:
        return list(iter_pubmed_xml(stream, file=name))


def parse_bytes(data: bytes) -> list[Record]:
    return list(iter_pubmed_xml(io.BytesIO(data), file="snippet.xml"))


def article_set(*articles: str) -> bytes:
    """A PubmedArticleSet with efetch's real XML declaration and DOCTYPE line."""
    return (
        '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
        '1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
        f"<PubmedArticleSet>{''.join(articles)}</PubmedArticleSet>"
    ).encode()


@pytest.mark.parametrize(("name", "count"), [
    ("pubmed1.xml", 2), ("pubmed2.xml", 2), ("pubmed4.xml", 1), ("pubmed5.xml", 1),
    ("pubmed6.xml", 1), ("pubmed7.xml", 1), ("pubmed-29768149.xml", 1),
])
def test_real_files_record_counts(name: str, count: int) -> None:
    """Every real efetch file (DTDs 2018–2025, compact and indented) yields one record per article."""
    records = read(name)
    assert len(records) == count
    assert all(r.format == "pubmed_xml" and r.source_id == r.pmid and r.pmid for r in records)


def test_rct_record_fields() -> None:
    """The NEJM trial record: citation fields, structured abstract, NCT from DataBankList."""
    (r,) = read("pubmed-29768149.xml")
    assert r.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert r.authors[:2] == ("O'Byrne, Paul M", "FitzGerald, J Mark")
    assert (r.year, r.volume, r.issue, r.pages) == (2018, "378", "20", "1865-1876")
    assert (r.journal, r.journal_abbrev) == ("The New England journal of medicine", "N Engl J Med")
    assert (r.doi, r.pmid, r.nct_ids) == ("10.1056/nejmoa1715274", "29768149", ("NCT02149199",))
    assert "Randomized Controlled Trial" in r.publication_types
    assert "Asthma" in r.mesh_terms and r.language == "eng"
    assert r.abstract.startswith("BACKGROUND: In patients with mild asthma")
    assert "\nMETHODS: We conducted a 52-week, double-blind trial" in r.abstract
    assert r.url == "https://pubmed.ncbi.nlm.nih.gov/29768149/" and r.extra["status"] == "MEDLINE"


def test_pmcid_keywords_and_labels() -> None:
    """pubmed4: PMC id and DOI from ArticleIdList/ELocationID, OBJECTIVE label, keywords."""
    (r,) = read("pubmed4.xml")
    assert (r.pmid, r.pmcid, r.doi) == ("27797938", "PMC5442267", "10.1136/gutjnl-2016-312510")
    assert r.abstract.startswith("OBJECTIVE: Telomere shortening")
    assert r.keywords == ("PANCREATIC CANCER",) and r.year == 2017


def test_inner_markup_is_flattened() -> None:
    """<sub>, <i> and MathML inside the abstract become plain text."""
    (r,) = read("pubmed6.xml")
    assert '"Minimum Lactate Equivalent" (LEmin)' in r.abstract
    assert "(P = 0.71; ES: 0.08)" in r.abstract
    assert r.title.startswith('A "Blood Relationship" Between')
    assert (r.pages, r.issue, r.extra["status"]) == ("1034", "", "PubMed-not-MEDLINE")


def test_compact_file_fields() -> None:
    """pubmed1: no abstract, keywords and MeSH; second article keeps its DOI."""
    first, second = read("pubmed1.xml")
    assert (first.pmid, first.abstract, first.authors) == ("12091962", "", ("Olivero, J Michael",))
    assert first.keywords == ("Health Care and Public Health", "Legal Approach")
    assert (second.pmid, second.doi, second.year) == ("9997", "10.1016/0005-2795(76)90109-4", 1976)


def test_raw_is_the_article_xml() -> None:
    """raw holds the whole article element, parseable on its own."""
    first, _ = read("pubmed2.xml")
    element = fromstring(first.raw)
    assert element.tag == "PubmedArticle"
    assert element.findtext("MedlineCitation/PMID") == "11748933"


def test_edge_cases_in_one_article() -> None:
    """CollectiveName, ValidYN="N", MedlineDate, invalid ELocationID, cited references' ids."""
    xml = article_set(
        "<PubmedArticle><MedlineCitation Status=\"Publisher\"><PMID Version=\"1\">100</PMID>"
        "<Article><Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate>"
        "</PubDate></JournalIssue><Title>J</Title></Journal>"
        "<ArticleTitle>A <i>trial</i> of NCT 01234567 in H<sub>2</sub>O.</ArticleTitle>"
        "<ELocationID EIdType=\"doi\" ValidYN=\"N\">10.9999/wrong</ELocationID>"
        "<AuthorList CompleteYN=\"N\"><Author><LastName>Smith</LastName><Initials>J</Initials>"
        "</Author><Author ValidYN=\"N\"><LastName>Wrong</LastName></Author>"
        "<Author><CollectiveName>The STUDY Group</CollectiveName></Author></AuthorList>"
        "</Article></MedlineCitation><PubmedData><ArticleIdList>"
        "<ArticleId IdType=\"doi\">10.1000/Right</ArticleId></ArticleIdList>"
        "<ReferenceList><Reference><ArticleIdList><ArticleId IdType=\"pmc\">PMC1</ArticleId>"
        "</ArticleIdList></Reference></ReferenceList></PubmedData></PubmedArticle>"
    )
    (r,) = parse_bytes(xml)
    assert r.title == "A trial of NCT 01234567 in H2O."
    assert r.authors == ("Smith, J", "The STUDY Group")
    assert (r.year, r.doi, r.pmcid, r.nct_ids) == (1998, "10.1000/right", None, ("NCT01234567",))
    assert r.extra["author_list_complete"] is False


def test_book_article() -> None:
    """A PubmedBookArticle (GeneReviews-style chapter) becomes a record too."""
    xml = article_set(
        "<PubmedBookArticle><BookDocument><PMID Version=\"1\">20301295</PMID>"
        "<ArticleIdList><ArticleId IdType=\"bookaccession\">NBK1116</ArticleId></ArticleIdList>"
        "<Book><Publisher><PublisherName>University of Washington, Seattle</PublisherName>"
        "</Publisher><BookTitle>GeneReviews</BookTitle><PubDate><Year>1993</Year></PubDate>"
        "<AuthorList Type=\"editors\"><Author><LastName>Adam</LastName><ForeName>Margaret P"
        "</ForeName></Author></AuthorList></Book><ArticleTitle>Phelan-McDermid Syndrome"
        "</ArticleTitle><Language>eng</Language><AuthorList Type=\"authors\"><Author>"
        "<LastName>Phelan</LastName><ForeName>Katy</ForeName></Author></AuthorList>"
        "<Abstract><AbstractText Label=\"SUMMARY\">Clinical characteristics.</AbstractText>"
        "</Abstract></BookDocument></PubmedBookArticle>"
    )
    (r,) = parse_bytes(xml)
    assert (r.pmid, r.title, r.journal, r.year) == ("20301295", "Phelan-McDermid Syndrome",
                                                     "GeneReviews", 1993)
    assert r.authors == ("Phelan, Katy",) and r.abstract == "SUMMARY: Clinical characteristics."
    assert r.source_type == "PubmedBookArticle"


def test_error_element_is_a_parse_error() -> None:
    """An E-utilities <ERROR> body is reported with its message."""
    xml = b'<?xml version="1.0"?>\n<eFetchResult><ERROR>Cannot retrieve history data</ERROR></eFetchResult>'
    with pytest.raises(ParseError, match="Cannot retrieve history data"):
        parse_bytes(xml)


def test_html_body_is_refused() -> None:
    """A non-XML answer (the HTML/ASN.1 page of pubmed3.html) is not PubMed XML."""
    with pytest.raises(ParseError, match="not PubMed XML.*<html>"):
        read("pubmed3.html")


def test_truncated_file_names_the_line() -> None:
    """A file cut mid-article: ParseError with the file and expat's line number."""
    data = (ENTREZ / "pubmed4.xml").read_bytes()[:20_000]
    with pytest.raises(ParseError) as caught:
        list(iter_pubmed_xml(io.BytesIO(data), file="cut.xml"))
    assert caught.value.file == "cut.xml" and caught.value.line is not None
    assert caught.value.line > 100 and str(caught.value).startswith(f"cut.xml, line {caught.value.line}")


def test_empty_input() -> None:
    """Zero bytes is an error, not an empty import."""
    with pytest.raises(ParseError, match="malformed XML"):
        parse_bytes(b"")


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE PubmedArticleSet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    '<!DOCTYPE PubmedArticleSet [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
])
def test_entity_definitions_are_refused(doctype: str) -> None:
    """Entity expansion (billion laughs) and external entities are refused."""
    xml = f'<?xml version="1.0"?>{doctype}<PubmedArticleSet>&b;&x;</PubmedArticleSet>'.encode()
    with pytest.raises(ParseError, match="refused XML entity"):
        parse_bytes(xml)


class _Generated(io.RawIOBase):
    """A byte stream of `n` small articles produced on demand (never all in memory)."""

    def __init__(self, n: int) -> None:
        self._chunks = self._produce(n)
        self._pending = b""

    @staticmethod
    def _produce(n: int) -> Iterator[bytes]:
        yield b"<PubmedArticleSet>"
        for i in range(1, n + 1):
            yield (
                f"<PubmedArticle><MedlineCitation><PMID>{i}</PMID><Article><ArticleTitle>Title {i}"
                f"</ArticleTitle><Abstract><AbstractText>{'word ' * 60}</AbstractText></Abstract>"
                "</Article></MedlineCitation></PubmedArticle>\n"
            ).encode()
        yield b"</PubmedArticleSet>"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def test_memory_stays_flat_while_streaming() -> None:
    """1,500 articles (~630 KB of XML) parse within 400 KB: no whole tree is ever built.

    (The peak measured is ~150-175 KB whether 1,000 or 3,000 articles are read.)
    """
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_pubmed_xml(io.BufferedReader(_Generated(1_500)), file="big.xml"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1_500
    assert peak < 400_000

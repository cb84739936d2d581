"""Tests for iter_pubmed_xml on real efetch files, edge-case snippets, hostile and broken input."""

from __future__ import annotations

import io
import re
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from reviewkit.domain.records import Record
from reviewkit.errors import ParseError
from reviewkit.sources.formats import pubmed_xml
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
    # Each MeSH heading as its MEDLINE MH line reads: qualifiers after "/", a major topic starred.
    assert "Asthma/*drug therapy" in r.mesh_terms and "Humans" in r.mesh_terms and r.language == "eng"
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


# Speed-ups kept honest: raw sliced from the input, subtrees never read, the C parser's guard ----

FILES = ["pubmed1.xml", "pubmed2.xml", "pubmed4.xml", "pubmed5.xml", "pubmed6.xml", "pubmed7.xml",
         "pubmed-29768149.xml"]
ARTICLE_TEXT = re.compile(rb"<(PubmedArticle|PubmedBookArticle)>.*?</\1>", re.DOTALL)


class _Trickle(io.RawIOBase):
    """A byte stream handing out `size` bytes per read, so reads end anywhere inside a tag."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data, self._size, self._pos = data, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data[self._pos:self._pos + min(self._size, len(buffer))]
        buffer[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def _without_raw(records: list[Record]) -> list[Record]:
    return [replace(r, raw="") for r in records]


def _no_tostring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the reader re-serialises an article instead of slicing the input."""

    def refuse(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("the article was re-serialised, not sliced from the input")

    monkeypatch.setattr(pubmed_xml, "tostring", refuse)


@pytest.mark.parametrize("name", FILES)
def test_raw_is_the_article_text_as_in_the_file(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """raw is the exact text of each article in the file (compact and indented efetch files)."""
    _no_tostring(monkeypatch)
    expected = [m.group(0).decode("utf-8") for m in ARTICLE_TEXT.finditer((ENTREZ / name).read_bytes())]
    assert [r.raw for r in read(name)] == expected


@pytest.mark.parametrize("size", [1, 7, 19, 20, 4096])
def test_reads_ending_anywhere_give_the_same_records(size: int) -> None:
    """Short reads splitting tags (even the close tags the input is cut at) change no record, raw included."""
    indented = ARTICLE_TEXT.search((ENTREZ / "pubmed4.xml").read_bytes())
    assert indented is not None
    head = (ENTREZ / "pubmed2.xml").read_bytes().rsplit(b"</PubmedArticleSet>", 1)[0]
    data = head + indented.group(0) + b"\n</PubmedArticleSet>\n"
    whole = parse_bytes(data)
    trickled = list(iter_pubmed_xml(_Trickle(data, size), file="trickle.xml"))  # type: ignore[arg-type]
    assert len(whole) == 3 and trickled == whole and [r.raw for r in trickled] == [r.raw for r in whole]


def test_close_tag_across_two_blocks_is_still_sliced(monkeypatch: pytest.MonkeyPatch) -> None:
    """An article whose close tag straddles the reader's block boundary still gets its exact text."""
    _no_tostring(monkeypatch)
    article = ARTICLE_TEXT.search((ENTREZ / "pubmed1.xml").read_bytes())
    assert article is not None
    head = b"<PubmedArticleSet>\n"
    for shift in (1, 8, 15):
        padding = b" " * (pubmed_xml._BLOCK - len(head) - len(article.group(0)) + shift)
        records = parse_bytes(head + padding + article.group(0) * 2 + b"</PubmedArticleSet>")
        assert [r.raw for r in records] == [article.group(0).decode()] * 2


def test_tag_like_text_in_comments_and_cdata_falls_back_to_serialising() -> None:
    """Article tags inside comments or CDATA cannot fool the slicing: raw is still that article alone."""
    xml = article_set(
        "<!-- <PubmedArticle> between articles -->"
        "<PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>One"
        "<!-- </PubmedArticle> --></ArticleTitle></Article></MedlineCitation></PubmedArticle>",
        "<PubmedArticle><MedlineCitation><PMID>2</PMID><Article><ArticleTitle>"
        "<![CDATA[<PubmedArticle></PubmedArticle>]]>Two</ArticleTitle></Article></MedlineCitation>"
        "</PubmedArticle>",
        "<PubmedArticle><MedlineCitation><PMID>3</PMID><Article><ArticleTitle>Three</ArticleTitle>"
        "</Article></MedlineCitation></PubmedArticle >",  # a close tag the input is not cut at
        "<PubmedArticle><MedlineCitation><PMID>4</PMID><Article><ArticleTitle>Four</ArticleTitle>"
        "</Article></MedlineCitation></PubmedArticle>",
    )
    records = parse_bytes(xml)
    assert [(r.pmid, r.title) for r in records] == [
        ("1", "One"), ("2", "<PubmedArticle></PubmedArticle>Two"), ("3", "Three"), ("4", "Four")]
    for record in records:
        element = fromstring(record.raw)
        assert element.tag == "PubmedArticle"
        assert element.findtext("MedlineCitation/PMID") == record.pmid
    assert records[3].raw.startswith("<PubmedArticle><MedlineCitation><PMID>4<")


@pytest.mark.parametrize("encoding", ["utf-16", "iso-8859-1", "windows-1252"])
def test_other_encodings_give_the_same_records(encoding: str) -> None:
    """Files declaring another encoding read as their UTF-8 twin; raw is the same article."""
    body = (ENTREZ / "pubmed5.xml").read_text(encoding="utf-8")
    body = body.encode(encoding, errors="xmlcharrefreplace").decode(encoding)  # what the encoding can hold
    twin = parse_bytes(body.encode("utf-8"))
    declared = body.replace('<?xml version="1.0" ?>', f'<?xml version="1.0" encoding="{encoding}"?>', 1)
    assert declared != body
    records = parse_bytes(declared.encode(encoding))
    assert _without_raw(records) == _without_raw(twin)
    assert [fromstring(r.raw).findtext("MedlineCitation/PMID") for r in records] == [twin[0].pmid]


def test_reference_list_and_history_do_not_leak_into_fields() -> None:
    """Ids, dates and corrections inside ReferenceList and History never replace the article's own."""
    xml = article_set(
        "<PubmedArticle><MedlineCitation Status=\"MEDLINE\"><PMID Version=\"1\">500</PMID>"
        "<Article><Journal><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue>"
        "<Title>J</Title></Journal><ArticleTitle>Own title</ArticleTitle>"
        "<Abstract><AbstractText Label=\"AIM\">First.</AbstractText><AbstractText>Second.</AbstractText>"
        "</Abstract><Language>eng</Language><Language>fre</Language></Article>"
        "<CommentsCorrectionsList><CommentsCorrections RefType=\"Cites\"><PMID>7</PMID>"
        "</CommentsCorrections><CommentsCorrections RefType=\"ErratumIn\"><PMID>8</PMID>"
        "</CommentsCorrections></CommentsCorrectionsList>"
        "<MeshHeadingList><MeshHeading><DescriptorName>Asthma</DescriptorName><QualifierName>therapy"
        "</QualifierName></MeshHeading><MeshHeading><DescriptorName>Humans</DescriptorName>"
        "</MeshHeading></MeshHeadingList>"
        "<KeywordList Owner=\"NOTNLM\"><Keyword>alpha</Keyword></KeywordList>"
        "<KeywordList Owner=\"NLM\"><Keyword>beta</Keyword></KeywordList></MedlineCitation>"
        "<PubmedData><History><PubMedPubDate PubStatus=\"received\"><Year>1999</Year></PubMedPubDate>"
        "</History><ReferenceList><Reference><Citation>Cited 2001.</Citation><ArticleIdList>"
        "<ArticleId IdType=\"doi\">10.1000/cited</ArticleId><ArticleId IdType=\"pmc\">PMC9</ArticleId>"
        "</ArticleIdList></Reference></ReferenceList><ArticleIdList><ArticleId IdType=\"pubmed\">500"
        "</ArticleId><ArticleId IdType=\"doi\">10.1000/own</ArticleId><ArticleId IdType=\"pmc\">PMC5"
        "</ArticleId></ArticleIdList></PubmedData></PubmedArticle>"
    )
    (r,) = parse_bytes(xml)
    assert (r.pmid, r.doi, r.pmcid, r.year, r.title) == ("500", "10.1000/own", "PMC5", 2020, "Own title")
    assert r.abstract == "AIM: First.\nSecond." and r.language == "eng; fre"
    assert r.keywords == ("alpha", "beta") and r.mesh_terms == ("Asthma/therapy", "Humans")
    assert r.extra["comments_corrections"] == [{"type": "ErratumIn", "pmid": "8"}]


def test_nct_ids_from_databank_title_and_abstract_in_order() -> None:
    """NCT numbers come from the ClinicalTrials.gov data bank, then title, then abstract, any case."""
    xml = article_set(
        "<PubmedArticle><MedlineCitation><PMID>9</PMID><Article><ArticleTitle>nct 00000002 trial"
        "</ArticleTitle><Abstract><AbstractText>Registered: NCT00000003, NCT00000001.</AbstractText>"
        "</Abstract><DataBankList><DataBank><DataBankName>ClinicalTrials.gov</DataBankName>"
        "<AccessionNumberList><AccessionNumber>NCT00000001</AccessionNumber></AccessionNumberList>"
        "</DataBank><DataBank><DataBankName>ISRCTN</DataBankName><AccessionNumberList>"
        "<AccessionNumber>ISRCTN1</AccessionNumber></AccessionNumberList></DataBank></DataBankList>"
        "</Article></MedlineCitation></PubmedArticle>"
    )
    (r,) = parse_bytes(xml)
    assert r.nct_ids == ("NCT00000001", "NCT00000002", "NCT00000003")
    assert r.extra["databanks"] == {"isrctn": ["ISRCTN1"]}


def test_entity_definitions_split_across_reads_are_refused() -> None:
    """The prolog guard reads the input as it arrives: a declaration cut between reads is still refused."""
    xml = b'<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [<!ENTITY a "x">]><PubmedArticleSet>&a;</PubmedArticleSet>'
    with pytest.raises(ParseError, match="refused XML entity"):
        list(iter_pubmed_xml(_Trickle(xml, 3), file="split.xml"))  # type: ignore[arg-type]


def test_internal_subset_without_entities_is_accepted() -> None:
    """As before, a DOCTYPE with an internal subset is fine as long as it declares no entity."""
    xml = (b'<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [<!ELEMENT PubmedArticleSet ANY>'
           b"<!-- <!ENTITY no 'comment'> -->]><PubmedArticleSet><PubmedArticle><MedlineCitation>"
           b"<PMID>3</PMID></MedlineCitation></PubmedArticle></PubmedArticleSet>")
    assert [r.pmid for r in parse_bytes(xml)] == ["3"]


def test_malformed_prolog_names_the_line() -> None:
    """A broken DOCTYPE (caught by the prolog guard) is malformed XML with its line, like any other break."""
    xml = b'<?xml version="1.0"?>\n\n<!DOCTYPE PubmedArticleSet [<!ELEMENT>]>\n<PubmedArticleSet/>'
    with pytest.raises(ParseError, match="malformed XML") as caught:
        parse_bytes(xml)
    assert caught.value.line == 3


def test_deep_nesting_is_refused() -> None:
    """Elements nested past MAX_DEPTH are refused before the article is read."""
    depth = pubmed_xml.MAX_DEPTH + 5
    xml = article_set(f"<PubmedArticle>{'<i>' * depth}x{'</i>' * depth}</PubmedArticle>")
    with pytest.raises(ParseError, match="nested more than"):
        parse_bytes(xml)


def test_one_byte_reads_without_declaration_still_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    """No XML declaration (UTF-8 by default) and one byte per read: raw is still sliced, exactly."""
    _no_tostring(monkeypatch)
    article = ARTICLE_TEXT.search((ENTREZ / "pubmed6.xml").read_bytes())
    assert article is not None
    data = b"<PubmedArticleSet>" + article.group(0) + b"</PubmedArticleSet>"
    (r,) = iter_pubmed_xml(_Trickle(data, 1), file="bytes.xml")  # type: ignore[arg-type]
    assert r.raw == article.group(0).decode("utf-8") and r.title.startswith('A "Blood Relationship"')

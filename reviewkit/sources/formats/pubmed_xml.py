"""Provides iter_pubmed_xml, a streaming, entity-safe reader of PubMed XML (efetch PubmedArticleSet)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from xml.etree.ElementTree import Element, tostring
from xml.etree.ElementTree import ParseError as XMLParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from reviewkit.domain.records import (
    Record,
    find_nct_ids,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    parse_year,
)
from reviewkit.errors import ParseError

__all__ = ["iter_pubmed_xml", "PUBMED_ROOT"]

PUBMED_ROOT = "PubmedArticleSet"
_ARTICLE_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_CTGOV_BANK = "clinicaltrials.gov"
_SPACE_RE = re.compile(r"\s+")
_POSITION_RE = re.compile(r": line \d+, column \d+$")


def iter_pubmed_xml(stream: BinaryIO, *, file: str) -> Iterator[Record]:
    """Yield one Record per PubmedArticle / PubmedBookArticle in a PubMed XML stream.

    Parsing is incremental: each article element is cleared once read, so memory stays flat
    for a 100,000-record file. The DOCTYPE line efetch writes is accepted, but entity
    definitions (billion laughs, external entities) are refused. Raises ParseError naming the
    file and line for malformed XML, a body that is not PubMed XML, or an E-utilities <ERROR>.
    """
    open_elements: list[Element] = []  # the path from the root to the current element
    seen_root = False
    try:
        for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=False):
            if event == "start":
                if not seen_root and elem.tag not in (PUBMED_ROOT, "eFetchResult"):
                    raise ParseError(
                        f"not PubMed XML: the document starts with <{elem.tag}>, "
                        f"expected <{PUBMED_ROOT}>",
                        file=file,
                        hint="fetch or export the records as PubMed XML, retmode=xml",
                    )
                seen_root = True
                open_elements.append(elem)
                continue
            open_elements.pop()
            if elem.tag == "ERROR":
                message = _text(elem) or "(no message)"
                raise ParseError(
                    f"the E-utilities response reports an error: {message}", file=file
                )
            if elem.tag in _ARTICLE_TAGS:
                yield _article_record(elem)
                # Detach the finished article so the tree never grows past one record.
                elem.clear()
                if open_elements:
                    open_elements[-1].remove(elem)
    except XMLParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        message = _POSITION_RE.sub("", str(exc.msg))  # the line goes into ParseError.where
        raise ParseError(f"malformed XML: {message}", file=file, line=line) from exc
    except DefusedXmlException as exc:
        raise ParseError(
            f"refused XML entity definitions or external entities ({exc})", file=file,
            hint="PubMed XML never defines entities; the file may be hostile or corrupted",
        ) from exc
    if not seen_root:
        raise ParseError("empty document: no XML element found", file=file, line=1)


def _text(elem: Element | None) -> str:
    """Element text with inner markup (<i>, <sup>, MathML) flattened and white space collapsed."""
    if elem is None:
        return ""
    return _SPACE_RE.sub(" ", "".join(elem.itertext())).strip()


def _texts(parent: Element | None, path: str) -> tuple[str, ...]:
    """The non-empty texts of every element at path under parent, in document order."""
    if parent is None:
        return ()
    return tuple(t for t in (_text(e) for e in parent.iterfind(path)) if t)


def _article_record(elem: Element) -> Record:
    """Build a Record from one PubmedArticle or PubmedBookArticle element."""
    fields = _book_fields(elem) if elem.tag == "PubmedBookArticle" else _journal_fields(elem)
    title, abstract = fields["title"], fields["abstract"]
    pmid = fields["pmid"]
    elem.tail = None  # the newline after the element belongs to the file, not the record
    return Record(
        **{k: v for k, v in fields.items() if k not in {"databanks"}},
        nct_ids=find_nct_ids(*fields["databanks"].get(_CTGOV_BANK, ()), title, abstract),
        source_type=elem.tag,
        source_id=pmid or "",
        source_db="PubMed",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
        raw=tostring(elem, encoding="unicode"),
        format="pubmed_xml",
    )


def _journal_fields(elem: Element) -> dict[str, Any]:
    """The Record fields of a journal article (MedlineCitation + PubmedData)."""
    citation = elem.find("MedlineCitation")
    article = citation.find("Article") if citation is not None else None
    journal = article.find("Journal") if article is not None else None
    issue = journal.find("JournalIssue") if journal is not None else None
    id_list = elem.find("PubmedData/ArticleIdList")  # direct child only: not cited references
    extra: dict[str, Any] = {}
    if citation is not None and citation.get("Status"):
        extra["status"] = citation.get("Status")
    vernacular = _text(article.find("VernacularTitle")) if article is not None else ""
    if vernacular:
        extra["vernacular_title"] = vernacular
    corrections = _corrections(citation)
    if corrections:
        extra["comments_corrections"] = corrections
    databanks = _databanks(article)
    others = {name: list(acc) for name, acc in databanks.items() if name != _CTGOV_BANK}
    if others:
        extra["databanks"] = others
    authors, complete = _authors(article.find("AuthorList") if article is not None else None)
    if not complete:
        extra["author_list_complete"] = False
    return {
        "title": _text(article.find("ArticleTitle")) if article is not None else "",
        "abstract": _abstract(article),
        "authors": authors,
        "year": _journal_year(issue, article),
        "journal": _text(journal.find("Title")) if journal is not None else "",
        "journal_abbrev": _journal_abbrev(journal, citation),
        "volume": _text(issue.find("Volume")) if issue is not None else "",
        "issue": _text(issue.find("Issue")) if issue is not None else "",
        "pages": _pages(article),
        "doi": _doi(article, id_list),
        "pmid": normalise_pmid(_text(citation.find("PMID")) if citation is not None else None),
        "pmcid": _article_id(id_list, "pmc", normalise_pmcid),
        "publication_types": _texts(article, "PublicationTypeList/PublicationType"),
        "keywords": _texts(citation, "KeywordList/Keyword"),
        "mesh_terms": _texts(citation, "MeshHeadingList/MeshHeading/DescriptorName"),
        "language": "; ".join(_texts(article, "Language")),
        "issn": _text(journal.find("ISSN")) if journal is not None else "",
        "databanks": databanks,
        "extra": extra,
    }


def _book_fields(elem: Element) -> dict[str, Any]:
    """The Record fields of a book or book chapter (BookDocument + PubmedBookData)."""
    doc = elem.find("BookDocument")
    book = doc.find("Book") if doc is not None else None
    id_list = doc.find("ArticleIdList") if doc is not None else None
    book_title = _text(book.find("BookTitle")) if book is not None else ""
    chapter_title = _text(doc.find("ArticleTitle")) if doc is not None else ""
    author_list = None
    if doc is not None:
        # Books list authors and editors separately; editors are not the chapter's authors.
        for candidate in doc.iterfind("AuthorList"):
            if candidate.get("Type", "authors") == "authors":
                author_list = candidate
                break
    authors, _complete = _authors(author_list)
    year = parse_year(_text(book.find("PubDate/Year"))) if book is not None else None
    if year is None and book is not None:
        year = parse_year(_text(book.find("PubDate/MedlineDate")))
    extra: dict[str, Any] = {}
    if book is not None and _text(book.find("Publisher/PublisherName")):
        extra["publisher"] = _text(book.find("Publisher/PublisherName"))
    return {
        "title": chapter_title or book_title,
        "abstract": _abstract(doc),
        "authors": authors,
        "year": year,
        # A chapter's container is its book; a whole book has none.
        "journal": book_title if chapter_title else "",
        "journal_abbrev": "",
        "volume": _text(book.find("Volume")) if book is not None else "",
        "issue": "",
        "pages": "",
        "doi": _article_id(id_list, "doi", normalise_doi),
        "pmid": normalise_pmid(_text(doc.find("PMID")) if doc is not None else None),
        "pmcid": _article_id(id_list, "pmc", normalise_pmcid),
        "publication_types": _texts(doc, "PublicationType"),
        "keywords": _texts(doc, "KeywordList/Keyword"),
        "mesh_terms": (),
        "language": "; ".join(_texts(doc, "Language")),
        "issn": "",
        "databanks": {},
        "extra": extra,
    }


def _abstract(parent: Element | None) -> str:
    """Abstract text; structured abstracts keep their printed labels ("METHODS: ...")."""
    if parent is None:
        return ""
    parts: list[str] = []
    for node in parent.iterfind("Abstract/AbstractText"):
        text = _text(node)
        label = (node.get("Label") or "").strip()
        if label and text:
            parts.append(f"{label}: {text}")
        elif text:
            parts.append(text)
    return "\n".join(parts)


def _authors(author_list: Element | None) -> tuple[tuple[str, ...], bool]:
    """Authors in order as "Surname, ForeName" (Initials when no fore name) or a group name.

    Returns the names and whether PubMed marks the list complete (CompleteYN="N" means cut).
    """
    if author_list is None:
        return (), True
    names: list[str] = []
    for author in author_list.iterfind("Author"):
        if author.get("ValidYN", "Y") == "N":
            continue  # PubMed keeps invalid (corrected-away) names for the record; they are not authors
        collective = _text(author.find("CollectiveName"))
        last = _text(author.find("LastName"))
        given = _text(author.find("ForeName")) or _text(author.find("Initials"))
        if last:
            names.append(f"{last}, {given}" if given else last)
        elif collective:
            names.append(collective)
    return tuple(names), author_list.get("CompleteYN", "Y") != "N"


def _journal_year(issue: Element | None, article: Element | None) -> int | None:
    """PubDate Year, else the first year in MedlineDate, else the electronic ArticleDate."""
    if issue is not None:
        year = parse_year(_text(issue.find("PubDate/Year"))) or parse_year(
            _text(issue.find("PubDate/MedlineDate"))
        )
        if year:
            return year
    if article is not None:
        return parse_year(_text(article.find("ArticleDate/Year")))
    return None


def _journal_abbrev(journal: Element | None, citation: Element | None) -> str:
    """ISOAbbreviation, falling back to the NLM title abbreviation (MedlineTA)."""
    abbrev = _text(journal.find("ISOAbbreviation")) if journal is not None else ""
    if not abbrev and citation is not None:
        abbrev = _text(citation.find("MedlineJournalInfo/MedlineTA"))
    return abbrev


def _pages(article: Element | None) -> str:
    """MedlinePgn as printed ("1058-64" stays abbreviated), else StartPage-EndPage."""
    if article is None:
        return ""
    pages = _text(article.find("Pagination/MedlinePgn"))
    if pages:
        return pages
    start = _text(article.find("Pagination/StartPage"))
    end = _text(article.find("Pagination/EndPage"))
    return f"{start}-{end}" if start and end else start


def _doi(article: Element | None, id_list: Element | None) -> str | None:
    """The DOI from a valid ELocationID, else from the article's own ArticleIdList."""
    if article is not None:
        for loc in article.iterfind("ELocationID"):
            if loc.get("EIdType") == "doi" and loc.get("ValidYN", "Y") != "N":
                doi = normalise_doi(_text(loc))
                if doi:
                    return doi
    return _article_id(id_list, "doi", normalise_doi)


def _article_id(
    id_list: Element | None, id_type: str, normalise: Callable[[str | None], str | None]
) -> str | None:
    """The first ArticleId of the given IdType, normalised; None when absent."""
    if id_list is None:
        return None
    for node in id_list.iterfind("ArticleId"):
        if node.get("IdType") == id_type:
            value = normalise(_text(node))
            if value:
                return value
    return None


def _databanks(article: Element | None) -> dict[str, tuple[str, ...]]:
    """Accession numbers per data bank (lower-cased name), e.g. clinicaltrials.gov → NCT ids."""
    banks: dict[str, tuple[str, ...]] = {}
    if article is None:
        return banks
    for bank in article.iterfind("DataBankList/DataBank"):
        name = _text(bank.find("DataBankName")).lower()
        if name:
            banks[name] = banks.get(name, ()) + _texts(bank, "AccessionNumberList/AccessionNumber")
    return banks


def _corrections(citation: Element | None) -> list[dict[str, str]]:
    """Retraction, erratum and similar links (RefType + PMID), so screening can flag them."""
    if citation is None:
        return []
    links: list[dict[str, str]] = []
    for node in citation.iterfind("CommentsCorrectionsList/CommentsCorrections"):
        ref_type = node.get("RefType", "")
        if ref_type.startswith(("Retraction", "Erratum", "ExpressionOfConcern", "Update")):
            links.append({"type": ref_type, "pmid": _text(node.find("PMID"))})
    return links

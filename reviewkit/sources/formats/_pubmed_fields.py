"""Provides article_record: the Record of one parsed PubmedArticle or PubmedBookArticle element.

The streaming reader (pubmed_xml.py) hands over each finished article. Lookups here walk direct
children with find/findall, which ElementTree's C accelerator answers in C; paths such as
"PubDate/Year" (and every iterfind) would go through ElementPath in Python instead. Only the
elements that become fields are visited: ReferenceList, History and the other PubmedData lists
are never walked (the C tree builder still builds them; it cannot skip a subtree).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

from reviewkit.domain.records import (
    Record,
    find_nct_ids,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    parse_year,
)
from reviewkit.sources.formats._common import normalise_pages, unique

__all__ = ["article_record", "text", "year_texts"]

_CTGOV_BANK = "clinicaltrials.gov"
#: Titles and abstracts without these letters (in any case) cannot hold an NCT number, so the
#: costlier NCT pattern (records._NCT_RE, case-insensitive with word boundaries) is skipped.
_NCT_HINT = re.compile("nct", re.IGNORECASE)
_CORRECTION_TYPES = ("Retraction", "Erratum", "ExpressionOfConcern", "Update")


def article_record(elem: Element, raw: str) -> Record:
    """Build a Record from one PubmedArticle or PubmedBookArticle element and its XML text."""
    fields = _book_fields(elem) if elem.tag == "PubmedBookArticle" else _journal_fields(elem)
    title, abstract = fields["title"], fields["abstract"]
    pmid = fields["pmid"]
    databanks = fields.pop("databanks")
    hinted = [t for t in (title, abstract) if _NCT_HINT.search(t)]
    return Record(
        **fields,
        nct_ids=find_nct_ids(*databanks.get(_CTGOV_BANK, ()), *hinted),
        source_type=elem.tag,
        source_id=pmid or "",
        source_db="PubMed",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
        raw=raw,
        format="pubmed_xml",
    )


def text(elem: Element | None) -> str:
    """Element text with inner markup (<i>, <sup>, MathML) flattened and white space collapsed."""
    if elem is None:
        return ""
    if len(elem):  # inner markup: its text and tails, in order
        value: str | None = "".join(elem.itertext())
    else:
        value = elem.text
    # split() and strip() use the same white space as the regex \s: runs become one space.
    return " ".join(value.split()) if value else ""


def _all(parent: Element | None, *path: str) -> list[Element]:
    """Every element at the child path under parent, in document order (iterfind("A/B") in C)."""
    if parent is None:
        return []
    level = parent.findall(path[0])
    for tag in path[1:]:
        level = [child for node in level for child in node.findall(tag)]
    return level


def _first(parent: Element | None, *path: str) -> Element | None:
    """The first element at the child path under parent (find("A/B")), or None."""
    found = _all(parent, *path)
    return found[0] if found else None


def _texts(parent: Element | None, *path: str) -> tuple[str, ...]:
    """The non-empty texts of every element at the child path under parent, in document order."""
    return tuple(t for t in map(text, _all(parent, *path)) if t)


def _journal_fields(elem: Element) -> dict[str, Any]:
    """The Record fields of a journal article (MedlineCitation + PubmedData)."""
    citation = elem.find("MedlineCitation")
    article = citation.find("Article") if citation is not None else None
    journal = article.find("Journal") if article is not None else None
    issue = journal.find("JournalIssue") if journal is not None else None
    id_list = _first(elem, "PubmedData", "ArticleIdList")  # direct child only: not cited references
    extra: dict[str, Any] = {}
    if citation is not None and citation.get("Status"):
        extra["status"] = citation.get("Status")
    vernacular = text(article.find("VernacularTitle")) if article is not None else ""
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
        "title": text(article.find("ArticleTitle")) if article is not None else "",
        "abstract": _abstract(article),
        "authors": authors,
        "year": _journal_year(issue, article),
        "journal": text(journal.find("Title")) if journal is not None else "",
        "journal_abbrev": _journal_abbrev(journal, citation),
        "volume": text(issue.find("Volume")) if issue is not None else "",
        "issue": text(issue.find("Issue")) if issue is not None else "",
        "pages": _pages(article),
        "doi": _doi(article, id_list),
        "pmid": normalise_pmid(text(citation.find("PMID")) if citation is not None else None),
        "pmcid": _article_id(id_list, "pmc", normalise_pmcid),
        "publication_types": _texts(article, "PublicationTypeList", "PublicationType"),
        # Each once, as the MEDLINE reader keeps them (it drops an OT or MH value given twice).
        "keywords": unique(_texts(citation, "KeywordList", "Keyword")),
        "mesh_terms": unique(_mesh_headings(citation)),
        "language": "; ".join(_texts(article, "Language")),
        "issn": text(journal.find("ISSN")) if journal is not None else "",
        "databanks": databanks,
        "extra": extra,
    }


def _book_fields(elem: Element) -> dict[str, Any]:
    """The Record fields of a book or book chapter (BookDocument + PubmedBookData)."""
    doc = elem.find("BookDocument")
    book = doc.find("Book") if doc is not None else None
    id_list = doc.find("ArticleIdList") if doc is not None else None
    book_title = text(book.find("BookTitle")) if book is not None else ""
    chapter_title = text(doc.find("ArticleTitle")) if doc is not None else ""
    # Books list authors and editors separately; editors are not the chapter's authors.
    author_list = next((a for a in _all(doc, "AuthorList") if a.get("Type", "authors") == "authors"), None)
    authors, _complete = _authors(author_list)
    year = parse_year(text(_first(book, "PubDate", "Year"))) if book is not None else None
    if year is None and book is not None:
        year = parse_year(text(_first(book, "PubDate", "MedlineDate")))
    extra: dict[str, Any] = {}
    publisher = text(_first(book, "Publisher", "PublisherName"))
    if publisher:
        extra["publisher"] = publisher
    return {
        "title": chapter_title or book_title,
        "abstract": _abstract(doc),
        "authors": authors,
        "year": year,
        # A chapter's container is its book; a whole book has none.
        "journal": book_title if chapter_title else "",
        "journal_abbrev": "",
        "volume": text(book.find("Volume")) if book is not None else "",
        "issue": "",
        "pages": "",
        "doi": _article_id(id_list, "doi", normalise_doi),
        "pmid": normalise_pmid(text(doc.find("PMID")) if doc is not None else None),
        "pmcid": _article_id(id_list, "pmc", normalise_pmcid),
        "publication_types": _texts(doc, "PublicationType"),
        "keywords": _texts(doc, "KeywordList", "Keyword"),
        "mesh_terms": (),
        "language": "; ".join(_texts(doc, "Language")),
        "issn": "",
        "databanks": {},
        "extra": extra,
    }


def _major(elem: Element, name: str) -> str:
    """The name, starred when PubMed marks it a major topic (MajorTopicYN="Y"), as MEDLINE writes it."""
    return f"*{name}" if elem.get("MajorTopicYN") == "Y" else name


def _mesh_headings(citation: Element | None) -> tuple[str, ...]:
    """Each MeshHeading as its MEDLINE MH line reads: "Sea Bream/*anatomy & histology/physiology".

    The descriptor, then each qualifier after a "/", a major topic starred, so one article gives the same
    headings read as PubMed XML and as MEDLINE (only the descriptor was kept here, losing what the
    article says about it and which headings are its main subject).
    """
    headings = []
    for heading in _all(citation, "MeshHeadingList", "MeshHeading"):
        descriptor = heading.find("DescriptorName")
        name = text(descriptor)
        if descriptor is None or not name:
            continue
        parts = [_major(descriptor, name)]
        parts += [_major(q, qualifier) for q in heading.findall("QualifierName") if (qualifier := text(q))]
        headings.append("/".join(parts))
    return tuple(headings)


def _abstract(parent: Element | None) -> str:
    """Abstract text; structured abstracts keep their printed labels ("METHODS: ...")."""
    parts: list[str] = []
    for node in _all(parent, "Abstract", "AbstractText"):
        value = text(node)
        label = (node.get("Label") or "").strip()
        if label and value:
            parts.append(f"{label}: {value}")
        elif value:
            parts.append(value)
    return "\n".join(parts)


def _authors(author_list: Element | None) -> tuple[tuple[str, ...], bool]:
    """Authors in order as "Surname, ForeName" (Initials when no fore name) or a group name.

    Returns the names and whether PubMed marks the list complete (CompleteYN="N" means cut).
    """
    if author_list is None:
        return (), True
    names: list[str] = []
    for author in author_list.findall("Author"):
        if author.get("ValidYN", "Y") == "N":
            continue  # PubMed keeps invalid (corrected-away) names for the record; they are not authors
        last = text(author.find("LastName"))
        if last:
            given = text(author.find("ForeName")) or text(author.find("Initials"))
            names.append(f"{last}, {given}" if given else last)
        else:
            collective = text(author.find("CollectiveName"))
            if collective:
                names.append(collective)
    return tuple(names), author_list.get("CompleteYN", "Y") != "N"


def year_texts(elem: Element) -> list[tuple[str, str]]:
    """The (element path, text) of the dates an article's year is read from, in that order."""
    if elem.tag == "PubmedBookArticle":
        book = _first(elem, "BookDocument", "Book")
        return [("PubDate/" + name, text(_first(book, "PubDate", name))) for name in ("Year", "MedlineDate")]
    article = _first(elem, "MedlineCitation", "Article")
    issue = _first(article, "Journal", "JournalIssue")
    return [("PubDate/Year", text(_first(issue, "PubDate", "Year"))),
            ("PubDate/MedlineDate", text(_first(issue, "PubDate", "MedlineDate"))),
            ("ArticleDate/Year", text(_first(article, "ArticleDate", "Year")))]


def _journal_year(issue: Element | None, article: Element | None) -> int | None:
    """PubDate Year, else the first year in MedlineDate, else the electronic ArticleDate."""
    if issue is not None:
        year = parse_year(text(_first(issue, "PubDate", "Year"))) or parse_year(
            text(_first(issue, "PubDate", "MedlineDate"))
        )
        if year:
            return year
    if article is not None:
        return parse_year(text(_first(article, "ArticleDate", "Year")))
    return None


def _journal_abbrev(journal: Element | None, citation: Element | None) -> str:
    """ISOAbbreviation, falling back to the NLM title abbreviation (MedlineTA)."""
    abbrev = text(journal.find("ISOAbbreviation")) if journal is not None else ""
    if not abbrev and citation is not None:
        abbrev = text(_first(citation, "MedlineJournalInfo", "MedlineTA"))
    return abbrev


def _pages(article: Element | None) -> str:
    """MedlinePgn, else StartPage-EndPage, as "start-end" with the end page written out ("1058-64" is
    "1058-1064"), as the MEDLINE reader has PG, which is MedlinePgn: one record, the same pages either way."""
    pages = text(_first(article, "Pagination", "MedlinePgn"))
    if pages:
        return normalise_pages(pages)
    return normalise_pages(text(_first(article, "Pagination", "StartPage")),
                           text(_first(article, "Pagination", "EndPage")))


def _doi(article: Element | None, id_list: Element | None) -> str | None:
    """The DOI from a valid ELocationID, else from the article's own ArticleIdList."""
    for loc in _all(article, "ELocationID"):
        if loc.get("EIdType") == "doi" and loc.get("ValidYN", "Y") != "N":
            doi = normalise_doi(text(loc))
            if doi:
                return doi
    return _article_id(id_list, "doi", normalise_doi)


def _article_id(
    id_list: Element | None, id_type: str, normalise: Callable[[str | None], str | None]
) -> str | None:
    """The first ArticleId of the given IdType, normalised; None when absent."""
    for node in _all(id_list, "ArticleId"):
        if node.get("IdType") == id_type:
            value = normalise(text(node))
            if value:
                return value
    return None


def _databanks(article: Element | None) -> dict[str, tuple[str, ...]]:
    """Accession numbers per data bank (lower-cased name), e.g. clinicaltrials.gov → NCT ids."""
    banks: dict[str, tuple[str, ...]] = {}
    for bank in _all(article, "DataBankList", "DataBank"):
        name = text(bank.find("DataBankName")).lower()
        if name:
            banks[name] = banks.get(name, ()) + _texts(bank, "AccessionNumberList", "AccessionNumber")
    return banks


def _corrections(citation: Element | None) -> list[dict[str, str]]:
    """Retraction, erratum and similar links (RefType + PMID), so screening can flag them."""
    links: list[dict[str, str]] = []
    for node in _all(citation, "CommentsCorrectionsList", "CommentsCorrections"):
        ref_type = node.get("RefType", "")
        if ref_type.startswith(_CORRECTION_TYPES):
            links.append({"type": ref_type, "pmid": text(node.find("PMID"))})
    return links

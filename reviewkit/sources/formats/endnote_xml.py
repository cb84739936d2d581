"""Provides the EndNote XML reader (EndNote, Zotero and Mendeley "EndNote XML" exports)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from reviewkit.domain.records import Record, normalise_doi, parse_year
from reviewkit.errors import ParseError
from reviewkit.sources.formats._common import (
    build_record,
    normalise_pages,
    unique,
    without_corporate_comma,
)
from reviewkit.sources.formats._text import unknown_xml_encoding
from reviewkit.sources.formats.notes import ParseNote, unreadable_year, year_note

#: Real exports nest under ten levels; deeper nesting would exhaust the recursion reading a record.
MAX_DEPTH = 200

_NON_PUBMED_DB = re.compile(r"embase|scopus|web of science|psycinfo|cinahl|wos", re.IGNORECASE)


def iter_endnote_xml(stream: BinaryIO, *, file: str, notes: list[ParseNote] | None = None) -> Iterator[Record]:
    """Yield one Record per <record>, parsing incrementally and freeing each record once read.

    DTDs and entity declarations are refused (defusedxml), so a hostile file cannot expand
    entities or reach the network; a file that is not well-formed XML is a ParseError. `notes`,
    when given, receives a ParseNote for a record whose year holds text but no year (named by its
    place in the file and its rec-number: the reader knows no line numbers).
    """
    count = 0
    parent: ET.Element | None = None
    seen_root = False
    depth = 0
    try:
        for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            depth += 1 if event == "start" else -1
            if depth > MAX_DEPTH:
                # Reading such a record recurses once per level (itertext, tostring): refuse it first.
                raise ParseError(f"elements nested more than {MAX_DEPTH} deep", file=file,
                                 hint="EndNote XML nests a few levels; the file is damaged or hostile")
            if event == "start":
                if not seen_root:
                    seen_root = True
                    if elem.tag not in ("xml", "records"):
                        raise ParseError(
                            f"not an EndNote XML file: the root element is <{elem.tag}>",
                            file=file, line=1,
                            hint="EndNote XML starts with <xml><records>",
                        )
                if elem.tag == "records":
                    parent = elem
                continue
            if elem.tag != "record":
                continue
            raw = ET.tostring(elem, encoding="unicode")
            count += 1
            record = _to_record(elem, raw)
            if record.year is None and notes is not None:
                _note_year(elem, count, file, notes)
            yield record
            # Free what has been read: the record, and the records list's link to it.
            elem.clear()
            if parent is not None:
                parent.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        raise ParseError(
            f"not well-formed XML (column {column}): {exc.msg if hasattr(exc, 'msg') else exc}",
            file=file, line=line, hint="the file is damaged or truncated; export it again",
        ) from None
    except LookupError as exc:  # expat met an encoding name Python does not know
        raise unknown_xml_encoding(exc, file) from None
    except DefusedXmlException as exc:
        raise ParseError(
            f"refused XML with a DTD or entity declarations ({type(exc).__name__})", file=file,
            hint="EndNote XML exports carry no DTD; export the file again from the reference manager",
        ) from None


def _text(elem: ET.Element | None) -> str:
    """Return all text under an element (values may be split over <style> runs)."""
    if elem is None:
        return ""
    return "".join(elem.itertext()).replace("\r", "\n").strip()


def _texts(elem: ET.Element, path: str) -> list[str]:
    """Return the text of every element at the path, empty ones left out."""
    return [t for t in (_text(e) for e in elem.iterfind(path)) if t]


def _note_year(rec: ET.Element, count: int, file: str, notes: list[ParseNote]) -> None:
    """Note the record's year (else publication date) when it holds text but no year."""
    number = _text(rec.find("rec-number"))
    named = f"record {count}" + (f" (rec-number {number})" if number else "")
    for path in ("dates/year", "dates/pub-dates/date"):
        value = _text(rec.find(path))
        if unreadable_year(value):
            notes.append(year_note(file, None, path, value, record=named))
            return


def _to_record(rec: ET.Element, raw: str) -> Record:
    """Map one <record> onto a Record (formats.md §4)."""
    ref_type = rec.find("ref-type")
    source_type = ""
    if ref_type is not None:
        source_type = ref_type.get("name") or _text(ref_type)
    accession = _text(rec.find("accession-num"))
    remote_db = _text(rec.find("remote-database-name")) + " " + _text(rec.find("remote-database-provider"))
    pmid = None
    if re.fullmatch(r"\d{1,9}", accession) and not _NON_PUBMED_DB.search(remote_db):
        pmid = accession
    notes = _texts(rec, "notes") + _texts(rec, "research-notes")
    if pmid is None:
        match = next((m for n in notes if (m := re.search(r"\bPMID:?\s*(\d{1,9})", n))), None)
        pmid = match.group(1) if match else None
    doi_source = _text(rec.find("electronic-resource-num"))
    urls = _texts(rec, "urls/related-urls/url") + _texts(rec, "urls/web-urls/url")
    doi = normalise_doi(doi_source) or next(
        (normalise_doi(u) for u in urls if "doi.org/" in u.lower()), None
    )
    isbn = _text(rec.find("isbn"))
    extra: dict[str, object] = {}
    if notes:
        extra["notes"] = notes
    if accession:
        extra["accession"] = accession
    caption = _text(rec.find("caption"))
    if caption:
        extra["caption"] = caption
    editors = _texts(rec, "contributors/secondary-authors/author")
    if editors:
        extra["secondary_authors"] = editors
    return build_record(
        raw=raw, format="endnote_xml",
        source_type=source_type,
        title=_text(rec.find("titles/title")),
        abstract=_text(rec.find("abstract")),
        authors=tuple(without_corporate_comma(a) for a in _texts(rec, "contributors/authors/author")),
        year=parse_year(_text(rec.find("dates/year"))) or parse_year(_text(rec.find("dates/pub-dates/date"))),
        journal=_text(rec.find("periodical/full-title")) or _text(rec.find("titles/secondary-title")),
        journal_abbrev=_text(rec.find("periodical/abbr-1")) or _text(rec.find("titles/alt-title")),
        volume=_text(rec.find("volume")),
        issue=_text(rec.find("number")) or _text(rec.find("issue")),
        pages=normalise_pages(_text(rec.find("pages"))),
        doi=doi, pmid=pmid,
        keywords=unique(_texts(rec, "keywords/keyword")),
        language=_text(rec.find("language")),
        issn=isbn.split()[0] if isbn else "",
        url=urls[0] if urls else "",
        source_id=_text(rec.find("rec-number")),
        source_db=_text(rec.find("remote-database-name")),
        extra=extra,
    )

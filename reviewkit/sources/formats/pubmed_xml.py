"""Provides iter_pubmed_xml, a streaming, entity-safe reader of PubMed XML (efetch PubmedArticleSet).

How it stays fast (bench/bench_import.py asks >= 2,000 records/s; its efetch articles average
17 KB and ~270 elements, half of them in CommentsCorrections, History, ReferenceList and grant lists
that no field reads):

* The document goes through ElementTree's C parser and C tree builder. defusedxml's iterparse
  runs the pure-Python ones, which took half the time; its protections are kept by _PrologGuard,
  a small expat parser that reads the prolog (the only place entities can be declared) before
  the C parser sees it, and refuses what defusedxml refuses.
* An article's `raw` is sliced from the input bytes instead of re-serialised with tostring (which
  cost more than parsing). The input is fed in pieces cut just after each article's close tag,
  so an article that ends a piece lies inside the bytes fed since the previous article ended;
  _raw checks that those bytes hold exactly its start and end tags, else falls back to tostring.
* Fields are read with direct-child lookups the C accelerator answers (_pubmed_fields.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, NoReturn
from xml.etree.ElementTree import Element, TreeBuilder, XMLParser, tostring
from xml.etree.ElementTree import ParseError as XMLParseError
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.common import EntitiesForbidden, ExternalReferenceForbidden

from reviewkit.domain.records import Record
from reviewkit.errors import ParseError
from reviewkit.sources.formats._pubmed_fields import article_record, text, year_texts
from reviewkit.sources.formats._text import unknown_xml_encoding
from reviewkit.sources.formats.notes import ParseNote, unreadable_year, year_note

__all__ = ["iter_pubmed_xml", "PUBMED_ROOT"]

PUBMED_ROOT = "PubmedArticleSet"
_ARTICLE_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_POSITION_RE = re.compile(r": line \d+, column \d+$")
#: PubMed XML nests about ten levels; deeper nesting would exhaust the recursion reading an article.
MAX_DEPTH = 200
#: Bytes read from the stream at a time.
_BLOCK = 1 << 16
#: Where the input is cut into pieces: just after an article's close tag.
_CUT_RE = re.compile(rb"</Pubmed(?:Book)?Article>")
#: Bytes held back from a block's end, so that no close tag is ever split between two pieces.
_HOLD = len(b"</PubmedBookArticle>") - 1
#: Anything that may be an article's start or end tag (not PubmedArticleSet, PubmedData, ...).
_TAG_RE = re.compile(rb"</?Pubmed(?:Book)?Article[\s/>]")
#: Bytes kept for slicing one article's raw text; beyond that, the article is re-serialised.
_MAX_PENDING = 64 << 20
_ENCODING_RE = re.compile(rb"""\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
#: An article's start and end tag as bytes, to recognise them in the input.
_TAG_BYTES = {tag: (f"<{tag}>".encode(), f"</{tag}>".encode()) for tag in _ARTICLE_TAGS}
_START, _END = "start", "end"  # the event names the C parser hands back (compared by identity)
_UNKNOWN = "?"  # the input's encoding while its first bytes are still to come
_HEAD = 1024  # bytes an XML declaration may take, at most, to name the encoding


def iter_pubmed_xml(stream: BinaryIO, *, file: str, notes: list[ParseNote] | None = None) -> Iterator[Record]:
    """Yield one Record per PubmedArticle / PubmedBookArticle in a PubMed XML stream.

    Parsing is incremental: each article element is cleared once read, so memory stays flat
    for a 100,000-record file. The DOCTYPE line efetch writes is accepted, but entity
    definitions (billion laughs, external entities) are refused. A record's `raw` is the
    article's XML text as the file has it. Raises ParseError naming the file and line for
    malformed XML, a body that is not PubMed XML, or an E-utilities <ERROR>. `notes`, when given,
    receives a ParseNote for an article whose date holds text but no year (named by its PMID: the
    reader knows no line numbers).
    """
    reader = _Reader(file, notes)
    try:
        for piece, cut in _pieces(stream):
            yield from reader.feed(piece, cut)
        yield from reader.close()
    except XMLParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        message = _POSITION_RE.sub("", str(exc.msg))  # the line goes into ParseError.where
        raise ParseError(f"malformed XML: {message}", file=file, line=line) from exc
    except LookupError as exc:  # expat met an encoding name Python does not know
        raise unknown_xml_encoding(exc, file) from None
    except DefusedXmlException as exc:
        raise ParseError(
            f"refused XML entity definitions or external entities ({exc})", file=file,
            hint="PubMed XML never defines entities; the file may be hostile or corrupted",
        ) from exc
    if not reader.seen_root:
        raise ParseError("empty document: no XML element found", file=file, line=1)


def _pieces(stream: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """The stream's bytes in order as (piece, cut); a cut piece ends just after an article's close tag."""
    carry = b""
    while True:
        block = stream.read(_BLOCK)
        if not block:
            if carry:
                yield carry, False
            return
        data = carry + block if carry else block
        pos = 0
        for match in _CUT_RE.finditer(data):
            yield data[pos:match.end()], True
            pos = match.end()
        keep = max(pos, len(data) - _HOLD)
        if keep > pos:
            yield data[pos:keep], False
        carry = data[keep:]


class _Root(Exception):
    """The guard reached the root element: the prolog, where a DTD could declare entities, is over."""


class _PrologGuard:
    """Refuses what defusedxml refuses (entity declarations, external references) in the prolog.

    Entities can only be declared in the document type declaration, before the root element, and
    the C parser never loads an external DTD; so checking the bytes up to the root start tag,
    before the C parser is given them, keeps billion laughs and XXE out.
    """

    def __init__(self) -> None:
        # The same expat configuration as the C parser (namespaces on), so both read alike.
        self._parser = expat.ParserCreate(None, "}")
        self._parser.EntityDeclHandler = self._entity
        self._parser.UnparsedEntityDeclHandler = self._unparsed_entity
        self._parser.ExternalEntityRefHandler = self._external
        self._parser.StartElementHandler = self._start
        self.done = False

    def check(self, data: bytes) -> None:
        """Read the next bytes of the prolog; raises DefusedXmlException or (malformed) XMLParseError."""
        try:
            self._parser.Parse(data, False)
        except _Root:
            self.done = True
            del self._parser  # no longer needed: frees expat's buffer
        except expat.ExpatError as exc:
            error = XMLParseError(str(exc))
            error.code, error.position = exc.code, (exc.lineno, exc.offset)
            raise error from exc

    @staticmethod
    def _entity(name: str, _parameter: bool, value: str | None, base: str | None,
                system_id: str | None, public_id: str | None, notation: str | None) -> NoReturn:
        raise EntitiesForbidden(name, value, base, system_id, public_id, notation)

    @staticmethod
    def _unparsed_entity(name: str, base: str | None, system_id: str | None,
                         public_id: str | None, notation: str | None) -> NoReturn:
        raise EntitiesForbidden(name, None, base, system_id, public_id, notation)

    @staticmethod
    def _external(context: str, base: str | None, system_id: str | None, public_id: str | None) -> NoReturn:
        raise ExternalReferenceForbidden(context, base, system_id, public_id)

    @staticmethod
    def _start(_name: str, _attributes: object) -> NoReturn:
        raise _Root


class _Reader:
    """Feeds pieces to the C parser and turns each finished article into a Record."""

    def __init__(self, file: str, notes: list[ParseNote] | None = None) -> None:
        self.file = file
        self.notes = notes
        self.articles = 0  # articles read so far
        self.events: list[tuple[str, Element]] = []
        self.parser = XMLParser(target=TreeBuilder())
        # The C parser's own event queue: a private method, so typeshed does not declare it.
        self.parser._setevents(self.events, (_START, _END))  # type: ignore[attr-defined]
        self.guard: _PrologGuard | None = _PrologGuard()
        self.open_elements: list[Element] = []  # the path from the root to the current element
        self.seen_root = False
        # The bytes fed since the last article ended, while they can still give the next one's raw
        # text; `sliceable` turns False when a piece broke that (see _raw) until an article ends cleanly.
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.sliceable = True
        self.encoding: str | None = _UNKNOWN  # how raw slices are decoded; None: always re-serialise
        self.head = b""  # the file's first bytes, until they tell the encoding

    def feed(self, piece: bytes, cut: bool) -> Iterator[Record]:
        """Parse one piece and yield the articles it finished; `cut`: it ends with a close tag."""
        if self.encoding is _UNKNOWN:  # the file's first bytes hold the XML declaration, if any
            self.head += piece[:_HEAD]
            self.encoding = _slice_encoding(self.head)
            if self.encoding is not _UNKNOWN:
                self.head = b""
        if self.guard is not None:
            self.guard.check(piece)
            if self.guard.done:
                self.guard = None
        if self.sliceable:
            self.pending.append(piece)
            self.pending_size += len(piece)
            if self.pending_size > _MAX_PENDING:
                self._reset(sliceable=False)
        try:
            self.parser.feed(piece)
        except XMLParseError:
            # Records and errors (not PubMed XML, <ERROR>) before the break come first, as expat read them.
            yield from self._drain(cut=False)
            raise
        yield from self._drain(cut)

    def close(self) -> Iterator[Record]:
        """Finish the document: a root left open or no root at all is malformed XML."""
        try:
            self.parser.close()
        except XMLParseError:
            yield from self._drain(cut=False)
            raise
        yield from self._drain(cut=False)

    def _drain(self, cut: bool) -> Iterator[Record]:
        """Handle the parser's queued start/end events: depth, root and <ERROR> checks, articles."""
        events = self.events
        if not events:
            return
        if not self.seen_root:
            tag = events[0][1].tag
            if tag not in (PUBMED_ROOT, "eFetchResult"):
                raise ParseError(
                    f"not PubMed XML: the document starts with <{tag}>, expected <{PUBMED_ROOT}>",
                    file=self.file, hint="fetch or export the records as PubMed XML, retmode=xml",
                )
            self.seen_root = True
        last_event, last_elem = events[-1]
        # Only an article whose end tag closes the piece can be sliced (see _raw).
        sliceable_end = last_elem if cut and last_event is _END else None
        open_elements = self.open_elements
        finished = 0
        for event, elem in events:
            if event is _START:
                open_elements.append(elem)
                if len(open_elements) > MAX_DEPTH:
                    # Reading such an article recurses once per level (itertext): refuse it first.
                    raise ParseError(f"elements nested more than {MAX_DEPTH} deep", file=self.file,
                                     hint="PubMed XML nests about ten levels; the file is damaged or hostile")
                continue
            open_elements.pop()
            tag = elem.tag
            if tag in _ARTICLE_TAGS:
                raw = self._raw(elem, elem is sliceable_end and not finished)
                finished += 1
                self.articles += 1
                record = article_record(elem, raw)
                if record.year is None and self.notes is not None:
                    self._note_year(elem, record)
                yield record
                # Detach the finished article so the tree never grows past one record.
                elem.clear()
                if open_elements:
                    open_elements[-1].remove(elem)
            elif tag == "ERROR":
                message = text(elem) or "(no message)"
                raise ParseError(f"the E-utilities response reports an error: {message}", file=self.file)
        events.clear()
        if finished:
            # The next article's bytes start right after this piece only if an article closed it.
            self._reset(sliceable=last_elem.tag in _ARTICLE_TAGS and sliceable_end is not None)

    def _note_year(self, elem: Element, record: Record) -> None:
        """Note the first of the article's dates holding text but no year."""
        assert self.notes is not None
        for path, value in year_texts(elem):
            if unreadable_year(value):
                named = f"the article with PMID {record.pmid}" if record.pmid else "the article"
                self.notes.append(year_note(self.file, None, path, value,
                                            record=f"{named} (record {self.articles})"))
                return

    def _reset(self, *, sliceable: bool) -> None:
        self.pending = []
        self.pending_size = 0
        self.sliceable = sliceable

    def _raw(self, elem: Element, at_piece_end: bool) -> str:
        """The article's XML text: sliced from the input when that is provably exact, else tostring."""
        if at_piece_end and self.sliceable and self.encoding and self.encoding is not _UNKNOWN:
            data = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
            # The pending bytes run from the previous article's end (or the file's start) to this
            # article's end tag. If they hold exactly one start tag and one end tag like its own, those
            # are its own: tag-like text inside comments or CDATA would add a second one.
            tags = list(_TAG_RE.finditer(data))
            start_tag, end_tag = _TAG_BYTES[elem.tag]
            if (len(tags) == 2 and tags[0].group() == start_tag and tags[1].end() == len(data)
                    and data.endswith(end_tag)):
                try:
                    return data[tags[0].start():].decode(self.encoding)
                except UnicodeDecodeError:  # expat has checked the bytes; this is only belt and braces
                    pass
        elem.tail = None  # the newline after the element belongs to the file, not the record
        return tostring(elem, encoding="unicode")


def _slice_encoding(head: bytes) -> str | None:
    """The codec raw slices decode with, from the file's first bytes (XML declaration, BOM).

    None where byte slices are unsafe to decode (UTF-16/32, other encodings); _UNKNOWN while
    the declaration is still incomplete.
    """
    bom = b"\xef\xbb\xbf"
    if bom.startswith(head[:3]) and len(head) < 3 + 5:
        return _UNKNOWN
    if head.startswith(bom):
        head = head[3:]
    if b"\x00" in head[:4] or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16/32: tags are not ASCII bytes
    if not head.startswith(b"<?xml"):
        return _UNKNOWN if b"<?xml".startswith(head) else "utf-8"  # no declaration: XML's default
    end = head.find(b"?>")
    if end < 0:
        return _UNKNOWN if len(head) < _HEAD else None
    match = _ENCODING_RE.search(head, 0, end)
    declared = match.group(1).decode("ascii").lower() if match else "utf-8"
    if declared in {"utf-8", "utf8", "us-ascii", "ascii"}:
        return "utf-8"
    if declared in {"iso-8859-1", "latin-1", "latin1"}:
        return "latin-1"
    return None  # other encodings: re-serialise rather than guess how their bytes slice

"""Provides the BibTeX reader: the file is cut into top-level @ blocks, each parsed by bibtexparser."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, TextIO

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.model import DuplicateFieldKeyBlock, Entry, String
from pylatexenc.latex2text import LatexNodes2Text

from reviewkit.domain.records import Record, normalise_pmcid, parse_year
from reviewkit.errors import ParseError
from reviewkit.sources.formats._common import (
    author_given_first,
    build_record,
    clean,
    normalise_pages,
    unique,
)
from reviewkit.sources.formats._text import numbered_lines
from reviewkit.sources.formats.notes import ParseNote, unreadable_year, year_note

# bibtexparser logs each failed block to stderr by itself; the ParseError below already says what
# went wrong, naming the file and line, so its log is silenced (a library's own NullHandler idiom).
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())
logging.getLogger("bibtexparser").propagate = False

#: An entry, @string, @preamble or @comment opening at the start of a line.
_BLOCK_START = re.compile(r"\s*@\s*[A-Za-z]+\s*[{(]")
_ESCAPED_BRACES = re.compile(r"\\[{}]")
_MAX_BLOCK_LINES = 20_000
#: One converter for the module: building it is the slow part of LaTeX decoding.
_LATEX = LatexNodes2Text()


def _blocks(stream: TextIO, *, file: str) -> Iterator[tuple[int, str]]:
    """Yield (first line, text) of each top-level @ block, so one entry is in memory at a time.

    A block starts at an "@type{" line when the braces before it are balanced, or at any
    "@type{" in column 0 (so an entry missing its closing brace fails alone, and loudly).
    """
    lines: list[str] = []
    start = 0
    depth = 0
    closed = 0  # the line where the block's braces first came back to 0: its end, when they balance
    for number, line in numbered_lines(stream, file=file):
        opens = _BLOCK_START.match(line)
        if opens and (depth <= 0 or line[:1] == "@"):
            if lines:
                yield start, "\n".join(lines)
            lines, start, depth, closed = [], number, 0, 0
        if start:
            lines.append(line)
            if len(lines) > _MAX_BLOCK_LINES:
                raise ParseError(
                    f"the BibTeX entry opened at line {start} never closes",
                    file=file, line=start, hint="a closing brace is missing",
                )
        bare = _ESCAPED_BRACES.sub("", line)
        for char in bare:
            if char not in "{}":
                continue
            depth += 1 if char == "{" else -1
            if depth == 0 and start and not closed:
                closed = number
            elif depth < 0 and start:
                # A closing brace too many ("{Too many}}},"): the entry ended early and the fields
                # after it were silently dropped by the parser.
                where = closed if closed and closed != number else number
                raise ParseError(
                    "a closing brace too many: the braces of the BibTeX entry opened at line "
                    f"{start} close on this line, before the end of the entry",
                    file=file, line=where, hint="remove the extra '}' or add the missing '{'",
                )
    if lines:
        yield start, "\n".join(lines)


def iter_bibtex(stream: TextIO, *, file: str, notes: list[ParseNote] | None = None) -> Iterator[Record]:
    """Yield one Record per BibTeX entry; @string macros carry over to the entries after them.

    A block bibtexparser cannot parse is a ParseError. Two tolerated quirks of real exports:
    a field repeated in one entry (Scopus repeats funding_details; the first value is kept)
    and a citation key used twice (biber's own examples do; both entries are imported).
    `notes`, when given, receives a ParseNote for a year field holding no year ("forthcoming").
    """
    strings: list[String] = []
    for start, text in _blocks(stream, file=file):
        _check_commas(text, start, file=file)
        library = Library(blocks=list(strings))
        bibtexparser.parse_string(text, library=library)
        entries = list(library.entries)
        for failed in library.failed_blocks:
            if isinstance(failed, DuplicateFieldKeyBlock) and isinstance(
                failed.ignore_error_block, Entry
            ):
                entries.append(_unenclosed(failed.ignore_error_block))
                continue
            line = start + (failed.start_line or 0)
            raise ParseError(
                f"BibTeX entry not understood: {_why(failed, text, start)}", file=file, line=line,
                hint="check the braces, quotes and commas of this entry",
            )
        strings = list(library.strings)
        macros = {s.key.lower(): str(s.value).strip('{}"') for s in strings}
        for entry in sorted(entries, key=lambda e: e.start_line or 0):
            record = _to_record(entry, text if len(entries) == 1 else (entry.raw or text), macros)
            if record.year is None and notes is not None:
                _note_year(entry, start, file, notes)
            yield record


#: In an entry's outline (values replaced by V): a value, then the next field with no comma between.
_MISSING_COMMA = re.compile(r"=\s*(?:V|[\w.:/+-]+)(?:\s*#\s*(?:V|[\w.:/+-]+))*\s*([A-Za-z_][\w.:+-]*\s*=)")


def _outline(text: str) -> str | None:
    """The entry's top level with each braced or quoted value replaced by "V", line ends kept.

    None for @comment and @preamble blocks, which hold no fields.
    """
    opens = _BLOCK_START.match(text)
    if not opens:
        return None
    kind = opens.group().strip().lstrip("@").rstrip("{(").strip().lower()
    if kind in ("comment", "preamble"):
        return None
    out = [text[:opens.end()]]
    i, n = opens.end(), len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            out.append(text[i:i + 2])
            i += 2
            continue
        if char in "{\"":
            # A value: skip to its end, nested braces and escapes included.
            depth = 0
            j = i
            while j < n:
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                if (char == "{" and depth == 0) or (char == '"' and c == '"' and j > i and depth == 0):
                    break
                j += 1
            out.append("V" + "\n" * text.count("\n", i, j + 1))
            i = j + 1
            continue
        if char in "})":
            break  # the end of the entry
        out.append(char)
        i += 1
    return "".join(out)


def _check_commas(text: str, start: int, *, file: str) -> None:
    """Refuse two fields with no comma between ("title = {ok}" then "year = {2020}" on the next line).

    bibtexparser reads them as one value ("ok year = 2020"), losing the second field without a word.
    """
    outline = _outline(text)
    if outline is None:
        return
    found = _MISSING_COMMA.search(outline)
    if found:
        line = start + outline.count("\n", 0, found.start(1))
        raise ParseError(
            f"no comma before the field '{found.group(1).rstrip('= ').strip()}' (the value before it "
            "would swallow it)", file=file, line=line,
            hint="separate the fields of a BibTeX entry with commas",
        )


def _why(failed: Any, text: str, start: int) -> str:
    """What bibtexparser found wrong in a block, and on which line of the file it gave up."""
    error = getattr(failed, "error", None)
    reason = getattr(error, "abort_reason", None) or (str(error) if error else "") or type(failed).__name__
    end = getattr(error, "end_index", None)
    if isinstance(end, int):
        reason = f"{reason.rstrip('.')} (reading stopped at line {start + text[:end].count(chr(10))})"
    return reason


def _unenclosed(entry: Entry) -> Entry:
    """Strip the outer braces/quotes the parse stack would have removed (it skips failed blocks)."""
    for item in entry.fields:
        value = str(item.value)
        if len(value) >= 2 and (value[0], value[-1]) in (("{", "}"), ('"', '"')):
            item.value = value[1:-1]
    return entry


def _concatenate(value: str, macros: dict[str, str]) -> str:
    """Resolve `jean # " " # cesar`, which bibtexparser leaves as written, piece by piece."""
    pieces = re.findall(r'\{(?:[^{}]|\{[^{}]*\})*\}|"[^"]*"|[^#\s]+', value)
    out = []
    for piece in pieces:
        if piece[:1] in "{\"":
            out.append(piece[1:-1])
        else:
            out.append(macros.get(piece.lower(), piece))
    return "".join(out)


def _decode(value: str) -> str:
    """Turn LaTeX into text ({\\'e} -> é, \\& -> &); values without a backslash only lose braces."""
    if "\\" in value:
        return _LATEX.latex_to_text(value)
    return value


def _strip_braces(value: str) -> str:
    """Drop the case-protecting braces left in a value ("{COVID}-19" -> "COVID-19")."""
    return value.replace("{", "").replace("}", "")


def split_names(value: str) -> tuple[str, ...]:
    """Split a BibTeX name list on "and" outside braces and return "Surname, Given" names."""
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for token in re.split(r"(\s+and\s+|[{}])", value, flags=re.IGNORECASE):
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth == 0 and re.fullmatch(r"\s+and\s+", token, re.IGNORECASE):
            names.append("".join(current))
            current = []
            continue
        current.append(token)
    names.append("".join(current))
    result = []
    for name in names:
        name = clean(name)
        if not name or name.lower() == "others":
            continue
        if name.startswith("{") and name.endswith("}"):
            result.append(_strip_braces(name))  # {{World Health Organization}}: a corporate name
            continue
        name = _strip_braces(name)
        parts = [p.strip() for p in name.split(",")]
        if len(parts) == 3:  # "von Last, Jr, First"
            result.append(f"{parts[0]} {parts[1]}, {parts[2]}")
        else:
            result.append(author_given_first(name))
    return tuple(result)


def _note_year(entry: Entry, start: int, file: str, notes: list[ParseNote]) -> None:
    """Note the entry's year (else date) field when it holds text but no year; `start` is the line its
    block starts on."""
    for name in ("year", "date"):
        item = next((i for i in entry.fields if i.key.lower() == name and str(i.value).strip()), None)
        if item is None:
            continue
        value = _strip_braces(str(item.value))
        if unreadable_year(value):
            line = start + item.start_line if item.start_line is not None else None
            notes.append(year_note(file, line, item.key, value))
        return


def _to_record(entry: Entry, raw: str, macros: dict[str, str]) -> Record:
    """Map a bibtexparser entry onto a Record (formats.md §3)."""
    fields: dict[str, str] = {}
    for item in entry.fields:  # a field given twice keeps its first value (fields_dict keeps the last)
        fields.setdefault(item.key.lower(), str(item.value))

    def field(*names: str) -> str:
        for name in names:
            value = fields.get(name, "").strip()
            if value:
                if " # " in value or value.startswith("#") or value.endswith("#"):
                    value = _concatenate(value, macros)
                return _decode(value)
        return ""

    def f(*names: str) -> str:
        return _strip_braces(field(*names))

    keywords = re.split(r"\s*[;,]\s*", f("keywords", "keyword", "author_keywords"))
    notes = f("note", "annote", "annotation")
    extra: dict[str, object] = {}
    if notes:
        extra["notes"] = notes
    if fields.get("editor"):
        extra["editors"] = list(split_names(field("editor")))
    return build_record(
        raw=raw, format="bibtex",
        source_type=entry.entry_type.lower(),
        title=f("title"),
        abstract=f("abstract"),
        authors=split_names(field("author")),
        year=parse_year(f("year")) or parse_year(f("date")),
        journal=f("journal", "journaltitle", "booktitle"),
        journal_abbrev=f("journal_abbrev", "shortjournal", "abbrev_source_title", "journalabbrev"),
        volume=f("volume"), issue=f("number", "issue"),
        pages=normalise_pages(f("pages")),
        doi=f("doi") or None,
        pmid=f("pmid") or None,
        pmcid=normalise_pmcid(f("pmcid")),
        publication_types=unique([f("type", "document_type")]),
        keywords=unique(keywords),
        language=f("language", "langid"),
        issn=f("issn"),
        url=f("url"),
        source_id=entry.key,
        source_db=f("source"),
        extra=extra,
    )

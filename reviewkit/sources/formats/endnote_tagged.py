"""Provides the EndNote tagged (.enw, "%0 Journal Article" / "%A Author") reader."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from reviewkit.domain.records import Record, parse_year
from reviewkit.errors import ParseError
from reviewkit.sources.formats._common import (
    TagValues,
    author_surname_first,
    build_record,
    first_doi,
    normalise_pages,
    unique,
)
from reviewkit.sources.formats._text import numbered_lines
from reviewkit.sources.formats.notes import ParseNote, stray_line_note, tagged_year_note

#: "%X value": a percent sign, one character, a space (the value may be empty).
_TAG_RE = re.compile(r"%([0-9A-Za-z@!#$&()*+^~><?\]\[|])(?: (.*))?$")
#: Single-value code fields (type, year, date, volume, issue, pages, DOI, accession, label): an
#: untagged line after one is part of no field, only of the raw text.
_CODE_TAGS = frozenset({"0", "D", "8", "V", "N", "P", "R", "M", "F"})
#: The year fields, in the order the year is read from them.
_YEAR_TAGS = ("D", "8")


def iter_endnote_tagged(
    stream: TextIO, *, file: str, notes: list[ParseNote] | None = None
) -> Iterator[Record]:
    """Yield one Record per blank-line separated block of %-tagged lines.

    An untagged line inside a record continues the field before it (wrapped abstracts), except
    after a single-value code field (%0, %D, %V, %P, %R ...): there it is part of no field, only
    of the raw text. An untagged line before any tag of a record is a ParseError. `notes`, when
    given, receives a ParseNote for each such line and for a year field holding no year.
    """
    fields: list[list[str]] = []
    lines: list[int] = []  # the line of each field
    raw: list[str] = []
    number = 0
    for number, line in numbered_lines(stream, file=file):
        if not line.strip():
            if fields:
                yield _to_record(fields, "\n".join(raw), lines, file, notes)
                fields, lines, raw = [], [], []
            continue
        match = _TAG_RE.match(line)
        if match is None:
            if not fields:
                raise ParseError(
                    f"not an EndNote tagged line: {line[:40]!r}", file=file, line=number,
                    hint="each line starts with % and a tag character, e.g. '%T Title'",
                )
            tag = fields[-1][0]
            if tag not in _CODE_TAGS or not fields[-1][1]:  # an empty code field takes the line as its value
                fields[-1][1] = f"{fields[-1][1]}\n{line.strip()}" if fields[-1][1] else line.strip()
            elif notes is not None:
                notes.append(stray_line_note(file, number, f"%{tag}", line.strip()))
            raw.append(line)
            continue
        fields.append([match.group(1), (match.group(2) or "").strip()])
        lines.append(number)
        raw.append(line)
    if fields:
        yield _to_record(fields, "\n".join(raw), lines, file, notes)


def _to_record(pairs: list[list[str]], raw: str, lines: list[int], file: str,
               notes: list[ParseNote] | None) -> Record:
    """Map %-tags onto a Record (%A author, %T title, %J/%B journal, %D year, %R DOI ...); `lines`
    gives each tag's line, for the notes."""
    tags = TagValues.of(pairs)
    first = tags.first
    year = parse_year(first("D")) or parse_year(first("8"))
    if year is None and notes is not None:
        tagged_year_note(notes, file, pairs, lines, _YEAR_TAGS, prefix="%")

    ref_type = first("0")
    # %B is the secondary title: the journal for an article that has no %J.
    journal = first("J") or (first("B") if ref_type in ("", "Journal Article") else "")
    keywords = [k for value in tags.get("K", []) for k in re.split(r"\n|;", value)]
    accession = first("M")
    return build_record(
        raw=raw, format="endnote_tagged",
        source_type=ref_type,
        title=first("T"), abstract=first("X"),
        authors=tuple(author_surname_first(a) for a in tags.get("A", [])),
        year=year,
        journal=journal, journal_abbrev=first("!"),
        volume=first("V"), issue=first("N"),
        pages=normalise_pages(first("P")),
        doi=first_doi(first("R"), *tags.get("U", [])),
        pmid=accession if re.fullmatch(r"\d{1,9}", accession) else None,
        keywords=unique(keywords),
        language=first("G"), issn=first("@"), url=first("U"),
        source_id=first("F") or accession,
        extra={"notes": tags["Z"]} if "Z" in tags else {},
    )

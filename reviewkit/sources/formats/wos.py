"""Provides the Web of Science "Plain text / Full record" tagged reader (FN ... PT J ... ER ... EF)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from reviewkit.domain.records import Record, parse_year
from reviewkit.errors import ParseError
from reviewkit.sources.formats._common import TagValues, build_record, normalise_pages, unique
from reviewkit.sources.formats._text import numbered_lines
from reviewkit.sources.formats.notes import ParseNote, tagged_year_note

#: "XY value" or a bare "ER"/"EF": a 2-character tag, one space, the value (formats.md §1.4).
_TAG_RE = re.compile(r"([A-Z][A-Z0-9])(?: (.*))?$")
#: Tags whose continuation lines are separate values (one author or reference per line).
_LINE_LISTS = frozenset({"AU", "AF", "CR", "BA", "BF", "ED", "CA", "GP"})
_FILE_TAGS = frozenset({"FN", "VR", "EF"})
#: Zoological Record appends the author's e-mail: "Stillman, Andrew N. (a@b.edu)".
_EMAIL_RE = re.compile(r"\s*\([^()]*@[^()]*\)\s*$")
#: The year field a note names (PD, read when PY is missing, is a date often without a year: "JAN").
_YEAR_TAGS = ("PY",)


def iter_wos(stream: TextIO, *, file: str, notes: list[ParseNote] | None = None) -> Iterator[Record]:
    """Yield one Record per PT ... ER block of a Web of Science tagged export, line by line.

    A tag outside a record, a PT before the previous ER, a record open at the end of the file
    or an unindented line that is not a tag is a ParseError. `notes`, when given, receives a
    ParseNote for a year field (PY) holding no year.
    """
    fields: list[list[str]] = []
    lines: list[int] = []  # the line of each field
    raw: list[str] = []
    start = 0
    number = 0
    seen = False
    for number, line in numbered_lines(stream, file=file):
        if not line.strip():
            continue
        if line.startswith("   ") or line[:1] == "\t":
            if not start:
                raise ParseError("a continuation line outside a record", file=file, line=number)
            text = line.strip()
            tag = fields[-1][0]
            if tag in _LINE_LISTS:
                fields.append([tag, text])
                lines.append(number)
            else:
                fields[-1][1] = f"{fields[-1][1]} {text}" if fields[-1][1] else text
            raw.append(line)
            continue
        match = _TAG_RE.match(line.rstrip())
        if match is None:
            raise ParseError(
                f"not a Web of Science tagged line: {line[:40]!r}", file=file, line=number,
                hint="lines start with a 2-letter tag and one space, or 3 spaces",
            )
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag == "PT":
            if start:
                raise ParseError(
                    f"a new record (PT) starts before the record opened at line {start} ended "
                    "with ER", file=file, line=number,
                )
            start, fields, lines, raw = number, [[tag, value]], [number], [line]
        elif tag == "ER":
            if not start:
                raise ParseError("ER outside a record", file=file, line=number)
            raw.append(line)
            seen = True
            yield _to_record(fields, "\n".join(raw), lines, file, notes)
            start, fields, lines, raw = 0, [], [], []
        elif start:
            fields.append([tag, value])
            lines.append(number)
            raw.append(line)
        elif tag not in _FILE_TAGS:
            raise ParseError(
                f"Web of Science tag {tag} outside a record (no 'PT' line before it)",
                file=file, line=number,
            )
    if start:
        raise ParseError(
            f"the record opened at line {start} does not end with ER", file=file, line=number,
            hint="the file looks truncated; export it again",
        )
    if number and not seen:
        raise ParseError("no Web of Science record (PT ... ER) found", file=file, line=1)


def _to_record(pairs: list[list[str]], raw: str, lines: list[int], file: str,
               notes: list[ParseNote] | None) -> Record:
    """Map one tagged record onto a Record (formats.md §1.4 tag table); `lines` gives each tag's line."""
    tags = TagValues.of(pairs)
    first = tags.first
    year = parse_year(first("PY")) or parse_year(first("PD"))
    if year is None and notes is not None:
        tagged_year_note(notes, file, pairs, lines, _YEAR_TAGS)

    authors = tuple(_EMAIL_RE.sub("", a) for a in tags.get("AF") or tags.get("AU") or [])
    keywords = [k for tag in ("DE", "ID") for v in tags.get(tag, []) for k in v.split(";")]
    extra: dict[str, object] = {}
    if "UT" in tags:
        extra["accession"] = tags["UT"][0]
    if "AR" in tags:
        extra["article_number"] = tags["AR"][0]
    return build_record(
        raw=raw, format="wos",
        source_type=first("PT"),
        title=first("TI"),
        abstract=first("AB"),
        authors=authors,
        year=year,
        journal=first("SO"), journal_abbrev=first("JI", "J9"),
        volume=first("VL"), issue=first("IS"),
        pages=normalise_pages(first("BP"), first("EP")) or first("AR"),
        doi=first("DI") or None, pmid=first("PM") or None,
        publication_types=unique(t for v in tags.get("DT", []) for t in v.split(";")),
        keywords=unique(keywords),
        language=first("LA"),
        issn=first("SN", "EI"),
        source_id=first("UT", "AN"),
        source_db="Web of Science",
        extra=extra,
    )

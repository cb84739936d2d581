"""Provides the MEDLINE / PubMed .nbib reader (PubMed "Citation manager" export, EFetch medline text)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from reviewkit.domain.records import Record, normalise_doi, parse_year
from reviewkit.errors import ParseError
from reviewkit.sources.formats._common import (
    author_surname_first,
    build_record,
    normalise_pages,
    unique,
)
from reviewkit.sources.formats._text import numbered_lines
from reviewkit.sources.formats.notes import ParseNote, tagged_year_note

#: A tag left-justified in 4 characters, then "- " (formats.md §2.1): "PMID- 1", "AU  - x", "AB  -".
_TAG_RE = re.compile(r"[A-Z][A-Z0-9]{1,3}")
#: The year fields, in the order the year is read from them.
_YEAR_TAGS = ("DP", "DEP")


def iter_medline(stream: TextIO, *, file: str, notes: list[ParseNote] | None = None) -> Iterator[Record]:
    """Yield one Record per blank-line separated MEDLINE record, reading line by line.

    A line that is neither a tag line, a continuation (indented) nor blank is a ParseError:
    it would otherwise be dropped or glued onto the wrong field. MEDLINE has no end-of-record
    mark, so a file cut off mid-record would pass as a shorter last record: when every other
    record has its SO (source) line, which PubMed writes near each record's end, and the last one
    lacks it, the file is refused as cut off. `notes`, when given, receives a ParseNote for a year
    field (DP) holding no year.
    """
    fields: list[list[str]] = []
    lines: list[int] = []  # the line of each field
    raw: list[str] = []
    start = 0
    # The last complete record is held back until the next one (or the end) shows it was not the last.
    held: tuple[list[list[str]], str, int, list[int]] | None = None
    all_have_source = True
    before = 0  # records yielded before the held one
    for number, line in numbered_lines(stream, file=file):
        if not line.strip():
            if fields:
                if held is not None:
                    all_have_source &= _has_source(held[0])
                    before += 1
                    yield _to_record(held[0], held[1], held[3], file, notes)
                held = (fields, "\n".join(raw), start, lines)
                fields, lines, raw = [], [], []
            continue
        if line[0] == " ":
            if not fields:
                raise ParseError(
                    "a continuation line (indented) before any MEDLINE tag",
                    file=file, line=number, hint="the record's first line should be 'PMID- ...'",
                )
            text = line.strip()
            fields[-1][1] = f"{fields[-1][1]} {text}" if fields[-1][1] else text
            raw.append(line)
            continue
        tag = line[:4].rstrip()
        if line[4:5] != "-" or line[5:6] not in ("", " ") or not _TAG_RE.fullmatch(tag):
            raise ParseError(
                f"not a MEDLINE line: {line[:40]!r}", file=file, line=number,
                hint="MEDLINE lines start with a tag such as 'PMID- ', 'TI  - ' or 6 spaces",
            )
        if not fields and tag != "PMID":
            # Records open with PMID (formats.md §2.2); anything else here is the tail of a
            # record split by a stray blank line, which would otherwise become two records.
            raise ParseError(
                f"a MEDLINE record starts with {tag!r}, not 'PMID- '", file=file, line=number,
                hint="a blank line inside a record splits it; export the file again",
            )
        if not fields:
            start = number
        fields.append([tag, line[6:].strip()])
        lines.append(number)
        raw.append(line)
    if fields:
        if held is not None:
            all_have_source &= _has_source(held[0])
            before += 1
            yield _to_record(held[0], held[1], held[3], file, notes)
        held = (fields, "\n".join(raw), start, lines)
    if held is not None:
        last, text, first_line, last_lines = held
        if before and all_have_source and not _has_source(last):
            pmid = next((v for t, v in last if t == "PMID"), "?")
            raise ParseError(
                f"the last record (PMID {pmid}) has no SO (source) line, which every other record has: "
                "the file looks cut off", file=file, line=first_line,
                hint="export the file again; nothing from it was imported",
            )
        yield _to_record(last, text, last_lines, file, notes)


def _has_source(fields: list[list[str]]) -> bool:
    return any(tag == "SO" for tag, _ in fields)


def _to_record(pairs: list[list[str]], raw: str, lines: list[int], file: str,
               notes: list[ParseNote] | None) -> Record:
    """Map one MEDLINE record's tags onto a Record (formats.md §2.2); `lines` gives each tag's line."""
    tags: dict[str, list[str]] = {}
    for tag, value in pairs:
        if value:
            tags.setdefault(tag, []).append(value)

    def first(name: str) -> str:
        values = tags.get(name)
        return values[0] if values else ""

    # Group authors (CN) stand where PubMed lists them among the persons, so the order is the file's.
    person = "FAU" if "FAU" in tags else "AU"
    authors = [author_surname_first(v) if t == person else v for t, v in pairs if v and t in (person, "CN")]
    doi = next(
        (normalise_doi(v) for v in tags.get("AID", []) + tags.get("LID", []) if v.endswith("[doi]")),
        None,
    )
    extra: dict[str, object] = {}
    if "STAT" in tags:  # the citation status, as the PubMed XML reader keeps MedlineCitation's Status
        extra["status"] = tags["STAT"][0]
    if "SI" in tags:
        extra["secondary_ids"] = tags["SI"]
    if "TT" in tags:
        extra["original_title"] = tags["TT"][0]
    if "DEP" in tags:
        extra["epub_date"] = tags["DEP"][0]
    issn = first("IS")
    pmid = first("PMID")
    year = parse_year(first("DP")) or parse_year(first("DEP"))
    if year is None and notes is not None:
        tagged_year_note(notes, file, pairs, lines, _YEAR_TAGS)
    return build_record(
        raw=raw, format="medline",
        source_type=first("PT"),
        title=first("TI") or first("BTI"),
        abstract=first("AB"),
        authors=tuple(authors),
        year=year,
        journal=first("JT"), journal_abbrev=first("TA"),
        volume=first("VI"), issue=first("IP"),
        pages=normalise_pages(first("PG")),
        doi=doi,
        pmid=pmid, pmcid=first("PMC"),
        publication_types=unique(tags.get("PT", [])),
        # MEDLINE stars a keyword PubMed marks a major topic ("OT  - *Asthma"); the PubMed XML reader keeps
        # the keyword's text alone, as every other format gives keywords, and so does this one.
        keywords=unique(value.removeprefix("*").strip() for value in tags.get("OT", [])),
        # Each MH line as written ("Sea Bream/*anatomy & histology/physiology"): the PubMed XML reader
        # builds the same text from a MeshHeading's descriptor, qualifiers and major-topic marks.
        mesh_terms=unique(tags.get("MH", [])),
        # Every language, joined as the PubMed XML reader joins its Language elements ("eng; fre").
        language="; ".join(tags.get("LA", [])),
        issn=re.sub(r"\s*\(.*\)$", "", issn),
        source_id=pmid,
        source_db="PubMed",
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
        extra=extra,
    )

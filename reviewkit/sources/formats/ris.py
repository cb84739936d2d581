"""Provides the RIS reader (Scopus, Web of Science, Ovid, EndNote, Zotero, EBSCO, ProQuest ... exports)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from reviewkit.domain.records import Record, normalise_doi, normalise_pmcid, parse_year
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
from reviewkit.sources.formats.notes import (
    ParseNote,
    empty_last_record_note,
    stray_line_note,
    tagged_year_note,
    unclosed_record_note,
)

#: "XY  - value": a 2-character tag, two spaces, a hyphen; the value may be empty ("ER  -").
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_UPPER_DIGIT = _UPPER | frozenset("0123456789")
_AFTER_DASH = frozenset({"", " ", "\t"})
#: Other spacings some tools write between tag and hyphen: one space, a tab, up to three of them
#: ("TY - JOUR", "TY\t- JOUR", "TY -JOUR"). Read only in a record whose TY line is spaced so (see
#: iter_ris) and only for the tags below, as a wrapped abstract line may well start "US - based".
_LOOSE_TAG_RE = re.compile(r"([A-Z][A-Z0-9])[ \t]{1,3}-[ \t]?")
#: The RIS tags (formats.md §1.2, and the exporters' own: Web of Science, Ovid, EBSCO, Embase).
_RIS_TAGS = frozenset({
    "TY", "ER", "A1", "A2", "A3", "A4", "AB", "AD", "AN", "AU", "AV", "BT", "C1", "C2", "C3", "C4", "C5",
    "C6", "C7", "C8", "CA", "CN", "CP", "CT", "CY", "DA", "DB", "DO", "DP", "ED", "EP", "ET", "FU", "ID",
    "IS", "J1", "J2", "J9", "JA", "JF", "JI", "JO", "KW", "L1", "L2", "L3", "L4", "LA", "LB", "LK", "M1",
    "M2", "M3", "N1", "N2", "NL", "NV", "OP", "PA", "PB", "PI", "PP", "PU", "PY", "RI", "RN", "RP", "SE",
    "SN", "SP", "ST", "T1", "T2", "T3", "TA", "TI", "TT", "U1", "U2", "U3", "U4", "U5", "UR", "VL", "VO",
    "WE", "Y1", "Y2",
})
#: Tags known to appear glued onto the end of the previous line in Web of Science RIS exports
#: ("...AustraliaPU  - ..."); only these are split out, so an abstract quoting "XY  - " is safe.
_GLUED_RE = re.compile(r"(?<=\S)(?=(?:AB|AD|AN|AU|C1|C3|C6|C7|DA|DO|EP|ER|FU|IS|J9|JI|KW|LA|N1|PA|PI|PU|PY|SN|SP|T2|TI|U1|U2|UR|VL|WE)  - )")
#: Tags whose untagged continuation lines are further values (EndNote writes extra KW/SN so).
_LIST_CONTINUATION = frozenset({"KW", "SN"})
#: Single-value code fields: an untagged line after one is not part of it (a reference type
#: "JOUR\nsome text" or a DOI with a sentence glued on would be wrong); it stays in the raw text only.
_CODE_TAGS = frozenset({"TY", "PY", "Y1", "DA", "DO", "VL", "IS", "CP", "SP", "EP", "ID", "AN"})
#: The year fields, in the order the year is read from them.
_YEAR_TAGS = ("PY", "Y1", "DA")
_JOURNAL_TYPES = frozenset({"JOUR", "EJOUR", "JFULL", "MGZN", "NEWS", "ABST", "INPR"})
_NON_PUBMED_DB = re.compile(
    r"embase|scopus|web of science|wos|psycinfo|cinahl|eric|proquest|ebsco|academic search|"
    r"cochrane|lens|rayyan|ptsdpubs|ieee|google", re.IGNORECASE,
)
_PMID_IN_TEXT = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.IGNORECASE)
_PUBMED_URL = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/)(\d{1,9})\b")
_PMC_URL = re.compile(r"ncbi\.nlm\.nih\.gov/pmc/articles/(PMC\d+)")


def _split_glued(line: str) -> list[str]:
    """Split a physical line holding several tagged fields (the caller tests for "  - " first)."""
    return _GLUED_RE.split(line)


def _loose_tag(line: str) -> re.Match[str] | None:
    """The tag of a line spaced otherwise than "XY  - " ("TY - JOUR", "AU\t- Smith"), when it is a RIS tag."""
    if line[2:3] not in (" ", "\t") or line[:2] not in _RIS_TAGS:
        return None
    return _LOOSE_TAG_RE.match(line)


def iter_ris(stream: TextIO, *, file: str, notes: list[ParseNote] | None = None) -> Iterator[Record]:
    """Yield one Record per TY ... ER block, reading the stream line by line.

    Text between records (Ovid's "1." numbering, "Record #1 of 2" headers) is skipped, and tags
    after ER but before the next TY (Ovid PsycINFO writes NL there) still belong to the record
    just closed. A tag before the first TY or a TY before the previous ER is a ParseError, because
    records would otherwise be merged or lost. The last record may lack its ER (a copy cut short,
    some tools never write the last one): it is kept, with a note saying so. A file ending with a
    TY line and nothing after it was cut short there: that empty record is skipped, with a note (a
    file holding nothing else is a ParseError).

    A tag line is "XY  - value" (two spaces). A record whose TY line is spaced otherwise ("TY - JOUR",
    "TY\t-JOUR") is read with that spacing for the RIS tags; in a record opened by "TY  - " such a
    line is text, so an abstract line "US - based cohort" stays in the abstract.

    An untagged line inside a record continues the field before it (wrapped titles, abstracts,
    notes; a further value of KW or SN), except after a single-value code field (TY, PY, DO, VL,
    SP ...): there it is part of no field, only of the raw text. `notes`, when given, receives a
    ParseNote for each such line and for a year field holding no year ("PY  - in press").
    """
    fields: list[list[str]] = []  # [tag, value] pairs in file order
    lines: list[int] = []  # the line of each pair
    raw: list[str] = []
    start = 0  # line of the pending record's TY; 0 when there is none
    closed = False  # whether the pending record has had its ER
    number = 0
    records = 0
    content = False
    loose = False  # whether the pending record's TY line is spaced otherwise than "TY  - "
    end = 0  # the pending record's last non-blank line
    for number, physical in numbered_lines(stream, file=file):
        for line in _split_glued(physical) if "  - " in physical[3:] else (physical,):
            # A tag line is "XY  -" then a space or the end: tested by slicing, not a regex, as
            # this runs for every line of a 100,000-record file.
            # The space after the hyphen is sometimes missing ("TY  -JOUR"): still a tag line, or the
            # record's TY would be skipped as text and its other tags refused as outside a record.
            if line[2:5] == "  -" and line[0] in _UPPER and line[1] in _UPPER_DIGIT:
                tag, value = line[:2], (line[6:] if line[5:6] in _AFTER_DASH else line[5:]).strip()
                spaced = False
            elif ((loose or closed or not start) and (found := _loose_tag(line))
                  and (loose or found.group(1) == "TY")):
                tag, value = found.group(1), line[found.end():].strip()
                spaced = True
            else:
                if start and not closed:
                    if line.strip():
                        _continue(fields, lines, line.strip(), number, file, notes)
                        end = number
                    raw.append(line)
                content = content or bool(line.strip())
                continue
            if tag == "TY":
                if start and not closed:
                    raise ParseError(
                        f"a new record (TY) starts before the record opened at line {start} "
                        "was closed with ER", file=file, line=number,
                        hint="each RIS record must end with an 'ER  - ' line",
                    )
                if start:
                    records += 1
                    yield _to_record(fields, "\n".join(raw), lines, file, notes)
                start, closed, fields, lines, raw = number, False, [[tag, value]], [number], [line]
                loose, end = spaced, number
            elif not start:
                raise ParseError(
                    f"RIS tag {tag} outside a record (no 'TY  - ' before it)",
                    file=file, line=number,
                    hint="each RIS record must start with a 'TY  - ' line",
                )
            elif tag == "ER":
                if closed:
                    raise ParseError(
                        f"a second ER for the record opened at line {start}",
                        file=file, line=number, hint="a TY line is missing before this record",
                    )
                closed = True
                raw.append(line)
            else:
                fields.append([tag, value])
                lines.append(number)
                raw.append(line)
                end = number
    if start and not closed and len(fields) == 1 and not any(line.strip() for line in raw[1:]):
        # The file ends with a TY line and nothing after it: the start of a record the copy or the
        # download cut off, not a record of the search. Kept, it was a record of nothing (the import
        # then skipped it as empty, contradicting the note that it was kept).
        if not records:
            raise ParseError(
                "the file holds only a TY line and nothing after it: the start of a record, cut short",
                file=file, line=start, hint="export the file again; nothing from it was imported",
            )
        if notes is not None:
            notes.append(empty_last_record_note(file, start))
    elif start:
        record = _to_record(fields, "\n".join(raw), lines, file, notes)
        if not closed and notes is not None:
            notes.append(unclosed_record_note(file, end, start))
        yield record
    elif content and not records:
        raise ParseError(
            "no RIS record found (no line starts with 'TY  - ')", file=file, line=1,
            hint="check the file is a RIS export, or choose its real format",
        )


def _continue(fields: list[list[str]], lines: list[int], text: str, number: int, file: str,
              notes: list[ParseNote] | None) -> None:
    """Attach an untagged line to the field before it: a new value for KW/SN, more text for a text
    field, nothing for a filled code field (TY, PY, DO ...: the line stays in the raw text, and is
    noted); an empty code field takes it as its value."""
    tag = fields[-1][0]
    if tag in _LIST_CONTINUATION:
        fields.append([tag, text])
        lines.append(number)
    elif tag in _CODE_TAGS and fields[-1][1]:
        # An empty code field ("DO  -" with the DOI on the next line) takes the line as its value.
        if notes is not None:
            notes.append(stray_line_note(file, number, tag, text))
    else:
        fields[-1][1] = f"{fields[-1][1]}\n{text}" if fields[-1][1] else text


def _to_record(pairs: list[list[str]], raw: str, lines: list[int], file: str,
               parse_notes: list[ParseNote] | None) -> Record:
    """Map one record's tag/value pairs onto a Record (formats.md §1.2–1.3); `lines` gives each
    pair's line, for `parse_notes`."""
    tags = TagValues.of(pairs)
    first = tags.first

    ref_type = first("TY").upper()
    db = " ".join(tags.get("DB", []) + tags.get("DP", []))
    journal, abbrev = _journal(tags, ref_type)
    authors = tuple(author_surname_first(v) for t, v in pairs if t in ("AU", "A1") and v)
    notes = tags.get("N1", [])
    # Several URLs may share one UR line, separated by ";" or spaces (Lens, CiteSource).
    urls = [u for value in tags.get("UR", []) for u in re.split(r"[;\s]+", value) if u]
    doi = first_doi(
        *tags.get("DO", []), *(u for u in urls if "doi.org/" in u.lower()), *tags.get("M3", []),
        *tags.get("L3", []),  # EBSCO puts the DOI in L3
        # Only a note that is itself a DOI ("DOI: 10...."): Scopus notes also list cited works.
        *(n for n in notes if n[:4].lower() in ("doi:", "doi ")),
    )
    pmcid = next((normalise_pmcid(v) for v in tags.get("C2", []) if normalise_pmcid(v)), None)
    if pmcid is None:
        pmcid = next((normalise_pmcid(n) for n in notes if "PMCID" in n), None)
    if pmcid is None:
        pmcid = next((m.group(1) for u in urls if (m := _PMC_URL.search(u))), None)
    keywords = unique(tags.get("KW", []))
    extra: dict[str, object] = {}
    if notes:
        extra["notes"] = notes
    if "AN" in tags:
        extra["accession"] = tags["AN"][0]
    if "A2" in tags:
        extra["secondary_authors"] = tags["A2"]
    year = parse_year(first("PY")) or parse_year(first("Y1")) or parse_year(first("DA"))
    if year is None and parse_notes is not None:
        tagged_year_note(parse_notes, file, pairs, lines, _YEAR_TAGS)
    return build_record(
        raw=raw, format="ris",
        source_type=ref_type,
        title=first("TI", "T1", "CT", "BT", "ST"),
        abstract=first("AB", "N2"),
        authors=authors,
        year=year,
        journal=journal, journal_abbrev=abbrev,
        volume=first("VL"), issue=first("IS", "CP"),
        pages=_pages(first("SP"), first("EP")),
        doi=doi, pmid=_pmid(tags, db, notes, urls), pmcid=pmcid,
        keywords=keywords,
        mesh_terms=keywords if "medline" in db.lower() else (),
        publication_types=unique(v for v in tags.get("M3", []) if not normalise_doi(v)),
        language=first("LA"),
        issn=re.sub(r"\s*\((?:ISSN|ISBN|electronic|print)\)", "", first("SN"), flags=re.IGNORECASE),
        url=urls[0] if urls else "",
        source_id=first("ID", "AN"),
        source_db=first("DB"),
        extra=extra,
    )


def _journal(tags: dict[str, list[str]], ref_type: str) -> tuple[str, str]:
    """Pick the full journal title and its abbreviation from T2/JF/JO/J2/JA (formats.md §1.3)."""
    t2 = tags.get("T2", [""])[0]
    jf = tags.get("JF", [""])[0]
    jo = tags.get("JO", [""])[0]
    # JF is unambiguous; T2 is the secondary title, which EBSCO fills with a translated title
    # while the journal sits in JF, so JF wins when both are there.
    full = jf or (t2 if ref_type in _JOURNAL_TYPES else "") or t2
    abbrev = (tags.get("J2") or tags.get("JA") or tags.get("JI") or tags.get("J9") or [""])[0]
    if jo:
        # JO is ambiguous: an abbreviation when a different full title is known, else the title.
        if not full:
            full = jo
        elif not abbrev and jo != full:
            abbrev = jo
    return full, abbrev


def _pages(start: str, end: str) -> str:
    """Return "start-end"; Ovid PsycINFO writes "No" / "Specified" when it has no pages."""
    if start == "No" and end == "Specified":
        return ""
    return normalise_pages(start, end)


def _pmid(tags: dict[str, list[str]], db: str, notes: list[str], urls: list[str]) -> str | None:
    """Return the PMID from AN/ID/C2 when it is 1–9 digits and DB/DP name no other database.

    C2 is taken whatever DB says: Scopus writes the PMID there (a PMCID there is "PMC..." and
    does not match); C5 only from Embase, whose own custom fields mean something else elsewhere.
    """
    for value in tags.get("C2", []):
        if re.fullmatch(r"\d{1,9}", value.strip()):
            return value.strip()
    if "embase" in db.lower():
        # Embase.com writes the MEDLINE PMID of a record also in MEDLINE ("DB  - Medline") in C5.
        for value in tags.get("C5", []):
            if re.fullmatch(r"\d{1,9}", value.strip()):
                return value.strip()
    if not _NON_PUBMED_DB.search(db):
        for tag in ("AN", "ID"):
            for value in tags.get(tag, []):
                digits = re.sub(r"^(?:PMID|pmid)[:\s]*", "", value.strip())
                if re.fullmatch(r"\d{1,9}", digits) and (tag != "ID" or db):
                    return digits
    for text in notes:
        match = _PMID_IN_TEXT.search(text) if "PMID" in text or "pmid" in text else None
        if match:
            return match.group(1)
    for url in urls:  # a PubMed link names the record's own PMID
        match = _PUBMED_URL.search(url)
        if match:
            return match.group(1)
    return None

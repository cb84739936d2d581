"""Provides the CSV reader: exports of Zotero, PubMed, IEEE, Embase, Scopus, ASReview, ASySD and others."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, TextIO
from urllib.parse import unquote

from reviewkit.domain.records import Record, normalise_doi, parse_year
from reviewkit.errors import ParseError
from reviewkit.sources.formats._common import (
    build_record,
    normalise_pages,
    split_author_list,
    unique,
)
from reviewkit.sources.formats._text import NUL, failed_line, nul_error, undecodable
from reviewkit.sources.formats.ctgov_csv import (
    CTGOV,
    CTGOV_COLUMNS,
    is_ctgov_header,
    registry_fields,
)
from reviewkit.sources.formats.notes import ParseNote, unreadable_year, year_note

# Abstracts and reference lists run long; the default 128 KB cell limit refuses real files.
csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))

#: Our field -> the column names real exports use, best first (compared case-insensitively).
COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("id", "record_id", "key", "eid", "accession number", "ut (unique wos id)", "ui", "record id"),
    "title": ("title", "article title", "document title", "primary title"),
    "authors": ("authors", "author", "author(s)", "author names", "author full names"),
    "year": ("year", "publication year", "publication_year", "pubyear", "year published"),
    "journal": ("journal", "source title", "publication title", "journal/book", "publication",
                "journal title", "secondary title", "source"),
    "journal_abbrev": ("journal abbreviation", "abbreviated source title", "journal iso abbreviation",
                       "iso abbreviation"),
    "volume": ("volume",),
    "issue": ("issue", "number"),
    "pages": ("pages", "page range"),
    "start_page": ("page start", "start page"),
    "end_page": ("page end", "end page"),
    "doi": ("doi",),
    "pmid": ("pmid", "pubmed id", "pubmedid", "pubmed_id"),
    "pmcid": ("pmcid", "pmc id"),
    "abstract": ("abstract", "abstract note"),
    "keywords": ("keywords", "author keywords", "manual tags", "index keywords"),
    "mesh_terms": ("mesh terms", "mesh", "mesh headings"),
    "publication_types": ("publication type", "publication types"),
    "language": ("language", "language of original document"),
    "issn": ("issn",),
    "url": ("url", "link"),
    "source_type": ("item type", "document type", "type", "entrytype", "category"),
    "citation": ("citation",),
    "notes": ("notes", "extra", "note"),
}
#: Web of Science's "Tab delimited file" export (savedrecs.txt) heads its columns with the field tags
#: of its plain-text export ("PT AU BA ... TI SO ... UT PM"): our field -> its tags, best first. They
#: are taken before COLUMNS, whose "id" would otherwise read Keywords Plus (ID) as the record's id.
WOS_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("ut",), "title": ("ti",), "authors": ("af", "au"), "journal": ("so",),
    "journal_abbrev": ("ji", "j9"), "year": ("py",), "volume": ("vl",), "issue": ("is",),
    "start_page": ("bp",), "end_page": ("ep",), "doi": ("di",), "pmid": ("pm",), "abstract": ("ab",),
    "keywords": ("de",), "language": ("la",), "issn": ("sn", "ei"), "source_type": ("dt",),
}
#: The tags every Web of Science tab-delimited header starts with.
_WOS_HEADER = frozenset({"pt", "au", "ti", "so"})


def is_wos_header(names: set[str]) -> bool:
    """Whether lower-cased header names are Web of Science's tab-delimited field tags."""
    return names >= _WOS_HEADER and "ut" in names


#: Columns that make a header recognisable as a bibliographic table.
_KEY_FIELDS = ("title", "doi", "pmid", "abstract")
#: Embase "Source": "Cancer (2004) 102:4 (253-258). Date of Publication: 25 Aug 2004".
_EMBASE_SOURCE = re.compile(r"^(?P<journal>.+?) \((?P<year>\d{4})\)(?: (?P<volume>[^:(\s]+)(?::(?P<issue>[^\s(]+))?)?(?: \((?P<pages>[^)]*)\))?")
#: PubMed CSV "Citation": "Behav Ther. 2022 Mar;53(2):334-347. doi: ...".
_PUBMED_CITATION = re.compile(r";(?P<volume>[^(:;]+)?(?:\((?P<issue>[^)]+)\))?:(?P<pages>[^.\s;]+)")
_OPENURL_ID = re.compile(r"[?&]id=(doi|pmid):([^&]+)")
#: A numeric character reference: IEEE Xplore's CSV writes "Solvers&#x0027;" for "Solvers'".
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));")
#: A comma outside parentheses: Embase lists index terms as "article, cyst (diagnosis, surgery), human".
_TERM_COMMA = re.compile(r",\s*(?![^()]*\))")


def _char_refs(value: str) -> str:
    """Replace numeric character references by their characters (named entities such as "&amp;" are
    left alone: "AT&amp;T" could be literal text, "&#x0027;" hardly); invalid code points are kept."""
    if "&#" not in value:
        return value

    def char(match: re.Match[str]) -> str:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group()

    return _CHAR_REF.sub(char, value)


def _terms(value: str) -> list[str]:
    """Split a cell of terms: on ";" (Zotero, Scopus, PubMed), else on commas outside parentheses (Embase)."""
    return re.split(r"\s*;\s*", value) if ";" in value else _TERM_COMMA.split(value)


def sniff_delimiter(line: str) -> str:
    """Return the delimiter of a header line: the most frequent of comma, semicolon and tab."""
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d])


def resolve_columns(
    header: list[str], column_map: Mapping[str, str] | None, *, file: str
) -> dict[str, int]:
    """Return our field -> column index: column_map first, then the known column names.

    A column name used twice is refused: which of the two holds the title is a guess, and the
    second's values would overwrite the first's among the record's other columns.
    """
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").lower()
        if key and key in seen:
            raise ParseError(f"the header names column {name.strip()!r} twice (columns {seen[key] + 1} and {i + 1})",
                             file=file, line=1, hint="rename one of the two columns")
        seen.setdefault(key, i)
    lookup = {name.strip().lstrip("\ufeff").lower(): i for i, name in reversed(list(enumerate(header)))}
    resolved: dict[str, int] = {}
    for field, column in (column_map or {}).items():
        if field not in COLUMNS:
            raise ParseError(
                f"--map names an unknown field {field!r}", file=file,
                hint=f"fields are: {', '.join(sorted(COLUMNS))}",
            )
        index = lookup.get(column.strip().lower())
        if index is None:
            raise ParseError(
                f"--map names a column {column!r} the file does not have", file=file, line=1,
                hint=f"its columns are: {', '.join(header)}",
            )
        resolved[field] = index
    taken = set(resolved.values())
    known = [WOS_COLUMNS] if is_wos_header(set(lookup)) else [CTGOV_COLUMNS] if is_ctgov_header(set(lookup)) else []
    for field, names in (item for columns in (*known, COLUMNS) for item in columns.items()):
        if field in resolved:
            continue
        for name in names:
            index = lookup.get(name)
            if index is not None and index not in taken:
                resolved[field] = index
                taken.add(index)
                break
    if not any(f in resolved for f in _KEY_FIELDS):
        raise ParseError(
            "no title, DOI, PMID or abstract column recognised in the CSV header", file=file, line=1,
            hint="name the columns with --map, e.g. --map \"title=Article Title,year=PY\"",
        )
    return resolved


def iter_csv(
    stream: TextIO, *, file: str, column_map: Mapping[str, str] | None = None,
    notes: list[ParseNote] | None = None,
) -> Iterator[Record]:
    """Yield one Record per data row; the stream must be opened with newline="" (embedded line breaks).

    A row with more or fewer fields than the header (beyond empty trailing ones) is a ParseError,
    as is broken quoting: a shifted row would put authors into titles. So is a NUL character, as in
    every text reader (a line with one is refused, never imported with the NUL dropped).
    `notes`, when given, receives a ParseNote for a year cell holding no year ("TBD").
    """
    try:
        first = stream.readline()
    except UnicodeDecodeError as exc:
        raise undecodable(exc, file=file, line=failed_line(stream, exc, 0)) from None
    if not first.strip():
        raise ParseError("the CSV file is empty or starts with a blank line", file=file, line=1)
    delimiter = sniff_delimiter(first)
    reader = csv.reader(_without_nul(itertools.chain([first], stream), file=file),
                        delimiter=delimiter, strict=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    try:
        header = next(reader)
        columns = resolve_columns(header, column_map, file=file)
        width = len(header)
        year_column = columns.get("year") if notes is not None else None
        names = {h.strip().lstrip("\ufeff").lower() for h in header}
        # ClinicalTrials.gov's download is a register's: its rows are registry records, as its JSON's are.
        source_db = "Web of Science" if is_wos_header(names) else CTGOV if is_ctgov_header(names) else ""
        line = reader.line_num
        for row in reader:
            row_line, line = line + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                if len(row) > width and not any(v.strip() for v in row[width:]):
                    row = row[:width]
                else:
                    raise ParseError(
                        f"row has {len(row)} fields but the header has {width}",
                        file=file, line=row_line,
                        hint="a field with a delimiter or line break inside needs quotes",
                    )
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(row)
            record = _to_record(row, header, columns, buffer.getvalue().rstrip("\n"), source_db)
            if year_column is not None and record.year is None and notes is not None \
                    and unreadable_year(row[year_column]):
                notes.append(year_note(file, row_line, header[year_column].lstrip("\ufeff").strip(), row[year_column]))
            yield record
    except UnicodeDecodeError as exc:
        raise undecodable(exc, file=file, line=failed_line(stream, exc, reader.line_num)) from None
    except csv.Error as exc:
        raise ParseError(f"broken CSV quoting: {exc}", file=file, line=reader.line_num,
                         hint="a quote is not closed or is stray") from None


def _without_nul(lines: Iterator[str], *, file: str) -> Iterator[str]:
    """Pass the physical lines through, refusing the first one holding a NUL with its line number."""
    for number, line in enumerate(lines, start=1):
        if NUL in line:
            raise nul_error(line, file=file, line=number)
        yield line


def _to_record(row: list[str], header: list[str], columns: dict[str, int], raw: str, source_db: str = "") -> Record:
    """Map one row onto a Record; columns not mapped go to extra["columns"] (labels etc.)."""
    def get(field: str) -> str:
        index = columns.get(field)
        return _char_refs(row[index].strip()) if index is not None else ""

    journal, year, volume, issue, pages = get("journal"), get("year"), get("volume"), get("issue"), get("pages")
    embase = _EMBASE_SOURCE.match(journal) if "Date of Publication" in journal else None
    if embase:
        journal = embase.group("journal")
        year = year or embase.group("year")
        volume = volume or (embase.group("volume") or "")
        issue = issue or (embase.group("issue") or "")
        pages = pages or (embase.group("pages") or "")
    citation = _PUBMED_CITATION.search(get("citation"))
    if citation:
        volume = volume or (citation.group("volume") or "").strip()
        issue = issue or (citation.group("issue") or "")
        pages = pages or citation.group("pages")
    doi = normalise_doi(get("doi"))
    pmid = get("pmid")
    for kind, value in _OPENURL_ID.findall(raw):
        if kind == "doi" and not doi:
            doi = normalise_doi(unquote(value))
        elif kind == "pmid" and not pmid:
            pmid = unquote(value)
    notes = get("notes")
    pmcid = get("pmcid")
    if not pmid:  # Zotero keeps "PMID: 35319117  PMCID: PMC9151451" in its Extra column
        match = re.search(r"\bPMID:\s*(\d{1,9})\b", raw)
        pmid = match.group(1) if match else ""
    if not pmcid:
        match = re.search(r"\bPMCID:\s*(PMC\d+)", raw)
        pmcid = match.group(1) if match else ""
    used = set(columns.values())
    extra: dict[str, object] = {
        "columns": {header[i]: v for i, v in enumerate(row) if i not in used and v.strip()}
    }
    if notes:
        extra["notes"] = notes
    fields: dict[str, Any] = dict(
        source_type=get("source_type"),
        title=get("title"), abstract=get("abstract"),
        authors=split_author_list(get("authors")),
        year=parse_year(year),
        journal=journal, journal_abbrev=get("journal_abbrev"),
        volume=volume, issue=issue,
        pages=normalise_pages(pages or get("start_page"), get("end_page") if not pages else None),
        doi=doi, pmid=pmid or None, pmcid=pmcid,
        publication_types=unique(re.split(r"\s*;\s*", get("publication_types"))),
        keywords=unique(_terms(get("keywords"))),
        mesh_terms=unique(_terms(get("mesh_terms"))),
        language=get("language"), issn=get("issn"), url=get("url"),
        source_id=get("source_id"), source_db=source_db,
        extra=extra,
    )
    registry: dict[str, Any] = {}
    if source_db == CTGOV:
        lookup = {name.strip().lstrip("\ufeff").lower(): i for i, name in enumerate(header)}
        registry = registry_fields(lambda name: row[lookup[name]].strip() if name in lookup else "")
    record = build_record(raw=raw, format="csv", **{**fields, **registry})
    # A registry record's NCT number is its own: others the row names (Other IDs) stay in its raw text.
    return replace(record, nct_ids=registry["nct_ids"]) if registry else record

"""Provides Record, the one normalised citation every importer and search returns, and identifier helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

RecordKind = Literal["citation", "registry"]

#: NCT numbers are "NCT" + 8 digits (ClinicalTrials.gov); found in secondary IDs, databank lists,
#: titles and abstracts alike. Lower-case and spaced forms ("nct 01234567") occur in abstracts.
_NCT_RE = re.compile(r"\bNCT\s?(\d{8})\b", re.IGNORECASE)
#: A DOI is "10." + registrant + "/" + suffix; the suffix ends at white space.
_DOI_RE = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_DOI_PREFIXES = re.compile(
    r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/|https?://doi\.org/|doi\.org/)", re.IGNORECASE
)
_PMCID_RE = re.compile(r"\bPMC\s?(\d{1,20})\b", re.IGNORECASE)
#: The longest DOI kept (UTF-8 bytes). Real ones are far shorter; a field of page-long junk that merely
#: starts like one is no DOI, and PostgreSQL refused to index it (2704 bytes at most), failing the whole
#: import there while SQLite took it. The raw text keeps what the file said.
MAX_DOI_BYTES = 1000
#: A PMID has 8 digits today; far more is some other number (the raw text keeps it), not a PMID.
MAX_PMID_DIGITS = 20


def normalise_doi(value: str | None) -> str | None:
    """Return the DOI lower-cased, without a URL or "doi:" prefix and trailing punctuation; None if none.

    DOIs are case-insensitive (DOI Handbook 2.4), so lower case is the canonical comparison form.
    """
    if not value:
        return None
    text = value.strip()
    text = _DOI_PREFIXES.sub("", text)
    match = _DOI_RE.search(text)
    if not match:
        return None
    doi = _strip_trailing(match.group(0))
    # URL-encoded exports ("10.1000%2Fabc") decode to the same DOI.
    doi = doi.replace("%2F", "/").replace("%2f", "/")
    return doi.lower() if len(doi.encode()) <= MAX_DOI_BYTES else None


#: Closing brackets and the opening bracket that makes them part of the DOI.
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _strip_trailing(doi: str) -> str:
    """Cut the punctuation free text puts after a DOI ("(doi: 10.1/x).", "10.1/x;"), but not a closing
    bracket the DOI opened itself: "10.1016/0140-6736(90)" keeps its ")" (it lost it before)."""
    while doi and doi[-1] in ".,;)]}>\"'":
        opening = _PAIRS.get(doi[-1])
        if opening is not None and doi.count(opening) >= doi.count(doi[-1]):
            break
        doi = doi[:-1]
    return doi


def find_nct_ids(*texts: str | None) -> tuple[str, ...]:
    """Return every distinct NCT number in the texts, upper-case, in the order first seen."""
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for match in _NCT_RE.finditer(text):
            seen.setdefault(f"NCT{match.group(1)}", None)
    return tuple(seen)


def normalise_pmcid(value: str | None) -> str | None:
    """Return "PMC" + digits, or None."""
    if not value:
        return None
    match = _PMCID_RE.search(value)
    return f"PMC{match.group(1)}" if match else None


def normalise_pmid(value: str | None) -> str | None:
    """Return the PMID as a digit string, or None when the value holds no PMID."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value.split("[")[0]).lstrip("0")
    return digits if digits and len(digits) <= MAX_PMID_DIGITS else None


_YEAR_RE = re.compile(r"(1[5-9]\d\d|20\d\d|21\d\d)")


def parse_year(value: str | None) -> int | None:
    """Return the first plausible 4-digit year in a date string ("2020/05/12/", "2020///")."""
    if not value:
        return None
    match = _YEAR_RE.search(value)
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class RegistryInfo:
    """What a trial registry record adds to a citation (ClinicalTrials.gov API v2)."""

    nct_id: str
    brief_title: str = ""
    official_title: str = ""
    conditions: tuple[str, ...] = ()
    interventions: tuple[str, ...] = ()
    arms: tuple[str, ...] = ()
    phase: tuple[str, ...] = ()
    status: str = ""
    enrollment: int | None = None
    start_date: str = ""
    completion_date: str = ""
    has_results: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """One normalised citation (or registry record) as an importer or a search returns it.

    The stored record keeps these fields as imported; matching normalises separately
    (domain/dedup.py), so what a reviewer sees is what the source said.
    """

    title: str = ""
    #: Structured abstracts keep their section labels: "BACKGROUND: ...\nMETHODS: ...".
    abstract: str = ""
    #: Authors in order, "Surname, Given" where the source allows it.
    authors: tuple[str, ...] = ()
    year: int | None = None
    journal: str = ""
    journal_abbrev: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    #: Lower case, no URL or "doi:" prefix (normalise_doi).
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    nct_ids: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    mesh_terms: tuple[str, ...] = ()
    language: str = ""
    issn: str = ""
    url: str = ""
    #: The source's own record type ("JOUR", "Journal Article", "article", ...).
    source_type: str = ""
    #: The source file's own id for the record: RIS ID/AN, MEDLINE PMID, the CSV's id column.
    source_id: str = ""
    #: Name of the database the source says the record came from (RIS DB, "PubMed", ...).
    source_db: str = ""
    kind: RecordKind = "citation"
    registry: RegistryInfo | None = None
    #: The raw source text of this record (its RIS block, MEDLINE block, XML element, CSV row, JSON).
    raw: str = ""
    #: Which reader produced it: ris, medline, pubmed_xml, bibtex, csv, endnote_xml, ctgov.
    format: str = ""
    #: Anything else a reader wants to keep (reader-specific; never used for matching).
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def with_identifiers_found(self) -> Record:
        """Return the record with NCT numbers found in title and abstract added to nct_ids."""
        found = find_nct_ids(*self.nct_ids, self.title, self.abstract)
        return self if found == self.nct_ids else replace(self, nct_ids=found)

    @property
    def is_blank(self) -> bool:
        """Whether the record holds nothing at all: every field empty but the source's record type.

        A spreadsheet's row of empty cells, a RIS record of only TY and ER, an EndNote XML record
        of empty elements: importing one would store a permanent record of nothing.
        """
        for name in self.__dataclass_fields__:
            if name in _NOT_CONTENT:
                continue
            value = getattr(self, name)
            if name == "extra":
                if _has_value(value):
                    return False
            elif value not in (None, "", ()):
                return False
        return True

    @property
    def first_author(self) -> str:
        """The first author's surname, or "" (for display: "Simpson 2020")."""
        if not self.authors:
            return ""
        return self.authors[0].split(",")[0].strip()

    @property
    def label(self) -> str:
        """A short human label: first author and year, or the NCT id for registry records."""
        if self.kind == "registry" and self.registry is not None:
            return self.registry.nct_id
        parts = [p for p in (self.first_author, str(self.year) if self.year else "") if p]
        return " ".join(parts) or (self.title[:40] if self.title else "(untitled)")


#: Record fields that say what kind of record it is, not what it holds.
_NOT_CONTENT = frozenset({"source_type", "kind", "raw", "format"})


def _has_value(value: Any) -> bool:
    """Whether a reader's extra value holds anything but empty strings, lists and dicts."""
    if isinstance(value, dict):
        return any(_has_value(v) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(_has_value(v) for v in value)
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None

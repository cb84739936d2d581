"""Provides detect_format: which bibliographic format a file holds, judged from its content."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from reviewkit.errors import Fix, ParseError
from reviewkit.sources.formats._text import read_head
from reviewkit.sources.formats.csv import is_wos_header

#: Every format read_records reads.
FORMATS = ("ris", "medline", "pubmed_xml", "bibtex", "csv", "endnote_xml", "wos", "endnote_tagged")
#: Every format `reviewkit import` reads, as a user knows it: read_records's, and the ClinicalTrials.gov
#: download the import service reads itself (services/identify.py). The --format choices, the import help
#: and the error for a file of no known format are all made from this one list, so none can miss a format.
IMPORT_FORMATS: dict[str, str] = {
    "ris": "RIS", "medline": "MEDLINE (.nbib)", "pubmed_xml": "PubMed XML", "bibtex": "BibTeX", "csv": "CSV",
    "endnote_xml": "EndNote XML", "wos": "Web of Science plain text", "endnote_tagged": "EndNote tagged (.enw)",
    "ctgov_json": "ClinicalTrials.gov JSON",
}

#: "TY  - JOUR", and the spacings the RIS reader also takes ("TY - JOUR", "TY\t- JOUR").
_RIS = re.compile(r"^TY[ \t]{1,3}-", re.MULTILINE)
_MEDLINE = re.compile(r"^PMID- ", re.MULTILINE)
_WOS = re.compile(r"^(?:FN (?:Clarivate|Thomson)|PT [A-Z]\s*$)", re.MULTILINE)
_BIBTEX = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_ENW = re.compile(r"^%[0A-Z] \S", re.MULTILINE)
_CSV_NAMES = ("title", "article title", "document title", "doi", "pmid", "abstract", "authors", "author",
              "nct number")
_EXTENSIONS = {
    ".ris": "ris", ".nbib": "medline", ".medline": "medline", ".bib": "bibtex", ".bibtex": "bibtex",
    ".csv": "csv", ".tsv": "csv", ".ciw": "wos", ".enw": "endnote_tagged",
}


def sniff_format(head: str) -> str | None:
    """Return the format the opening text of a file shows, or None when it shows none."""
    text = head.lstrip()
    if text.startswith("<"):
        if "<PubmedArticleSet" in text or "<PubmedArticle>" in text or "<PubmedBookArticle" in text:
            return "pubmed_xml"
        if re.search(r"<xml>\s*<records>|<records>\s*<record>", text):
            return "endnote_xml"
        return None
    found = [
        (m.start(), name)
        for name, pattern in (("ris", _RIS), ("medline", _MEDLINE), ("wos", _WOS),
                              ("bibtex", _BIBTEX), ("endnote_tagged", _ENW))
        if (m := pattern.search(text))
    ]
    if found:
        return min(found)[1]  # the format whose marker comes first in the file
    first_line = text.splitlines()[0] if text else ""
    try:
        header = next(csv.reader([first_line], delimiter=max(",;\t", key=first_line.count)))
    except (csv.Error, StopIteration):
        return None
    names = {h.strip().lower() for h in header}
    # Web of Science's tab-delimited export names its columns by field tag (PT, AU, TI, SO ... UT).
    if len(header) >= 2 and (names.intersection(_CSV_NAMES) or is_wos_header(names)):
        return "csv"
    return None


def format_names() -> str:
    """Every import format by its usual name: 'RIS, …, EndNote tagged (.enw) or ClinicalTrials.gov JSON'."""
    names = list(IMPORT_FORMATS.values())
    return f"{', '.join(names[:-1])} or {names[-1]}"


def detect_format(path: Path) -> str:
    """Return the format of a file ("ris", "medline", "pubmed_xml", "bibtex", "csv", "endnote_xml",
    "wos" or "endnote_tagged") from its first few KB; the extension only breaks a tie for CSV.

    Raises ParseError naming the file and the formats accepted when the content shows none.
    """
    path = Path(path)
    if not path.is_file():
        raise ParseError("no such file", file=str(path))
    head = read_head(path)
    found = sniff_format(head)
    if found is None and head.strip() and _EXTENSIONS.get(path.suffix.lower()) == "csv":
        found = "csv"  # a CSV whose header we do not know: column_map will name the columns
    if found is None:
        raise ParseError(
            "unrecognised file format" if head.strip() else "the file is empty",
            file=str(path),
            hint=f"export the records as {format_names()}, or name the format with --format",
            fix=Fix("format"),  # the TUI's import window names the format by its own choice, not --format
        )
    return found

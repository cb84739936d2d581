"""Provides writing Records as RIS, the format every reference manager imports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from reviewkit.domain.records import Record

#: RIS types for reviewkit's record kinds (registry entries travel as generic references).
_TYPES = {"citation": "JOUR", "registry": "GEN"}


def _line(tag: str, value: str) -> str:
    # RIS is one field per line: fold any line breaks inside a value.
    return f"{tag}  - {' '.join(value.split())}\n"


def write_ris(records: Iterable[tuple[str, Record]], out: TextIO) -> int:
    """Write (id, record) pairs as RIS; the id goes in ID so a re-import can be matched. Returns the count."""
    n = 0
    for rid, r in records:
        out.write(_line("TY", _TYPES.get(r.kind, "JOUR")))
        out.write(_line("ID", rid))
        if r.title:
            out.write(_line("TI", r.title))
        for author in r.authors:
            out.write(_line("AU", author))
        if r.year:
            out.write(_line("PY", str(r.year)))
        if r.journal:
            out.write(_line("T2", r.journal))
        if r.journal_abbrev:
            out.write(_line("J2", r.journal_abbrev))
        for tag, value in (("VL", r.volume), ("IS", r.issue)):
            if value:
                out.write(_line(tag, value))
        if r.pages:
            start, _, end = r.pages.partition("-")
            out.write(_line("SP", start))
            if end:
                out.write(_line("EP", end))
        if r.doi:
            out.write(_line("DO", r.doi))
        if r.pmid:
            out.write(_line("AN", r.pmid))
            out.write(_line("C2", r.pmid))  # where Scopus and EndNote readers look for the PMID
        if r.abstract:
            out.write(_line("AB", r.abstract))
        for kw in r.keywords:
            out.write(_line("KW", kw))
        for nct in r.nct_ids:
            out.write(_line("N1", f"ClinicalTrials.gov: {nct}"))
        if r.language:
            out.write(_line("LA", r.language))
        if r.url:
            out.write(_line("UR", r.url))
        out.write("ER  - \n\n")
        n += 1
    return n

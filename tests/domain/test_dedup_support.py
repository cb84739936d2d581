"""Provides record builders shared by the dedup tests (no tests of its own)."""

from __future__ import annotations

from dataclasses import replace

from reviewkit.domain.records import Record

BASE = Record(
    title="Baricitinib in patients with moderate-to-severe atopic dermatitis: two phase 3 randomized trials",
    authors=("Simpson, Eric L.", "Lacour, Jean-Philippe", "Spelman, Lynda"),
    year=2020,
    journal="British Journal of Dermatology",
    volume="183",
    issue="2",
    pages="242-255",
    doi="10.1111/bjd.18898",
    pmid="31995838",
    abstract="BACKGROUND: Baricitinib is an oral JAK inhibitor...",
)


def variant(record: Record = BASE, **changes: object) -> Record:
    """The record as another database exports it: upper-case title, ISO journal, initials, short pages."""
    exported = replace(
        record,
        title=record.title.upper().replace(":", " -"),
        journal="Br J Dermatol",
        authors=("Simpson EL", "Lacour JP", "Spelman L"),
        pages="242-55",
        doi=None,
        pmid=None,
        abstract="",
    )
    return replace(exported, **changes)


def other_paper(i: int) -> Record:
    """A clearly different paper (distinct title, authors, venue)."""
    words = ["asthma", "stroke", "cervical", "screening", "insulin", "renal", "lymphoma", "sepsis", "obesity",
             "migraine", "glaucoma", "malaria"]
    return Record(
        title=f"{words[i % 12]} outcomes after {words[(i * 5 + 3) % 12]} therapy in cohort {i}",
        authors=(f"Author{i}, A.",),
        year=1990 + i % 30,
        journal=f"Journal of {words[(i * 7) % 12]}",
        volume=str(i),
        pages=f"{i * 10}-{i * 10 + 5}",
    )

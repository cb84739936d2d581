"""Provides one paper's bibliographic fields for the dedup tests: copies of it merge automatically."""

from __future__ import annotations

from reviewkit.domain.records import Record

TITLE = "Baricitinib in patients with moderate-to-severe atopic dermatitis and inadequate response to topical corticosteroids"
BASE = dict(title=TITLE, authors=("Simpson, Eric L", "Lacour, Jean-Philippe", "Spelman, Lynda"), year=2020,
            journal="British Journal of Dermatology", volume="183", issue="2", pages="242-255")


def copies() -> list[Record]:
    """The same paper three times, each copy fuller than the one before."""
    return [Record(**BASE),  # type: ignore[arg-type]
            Record(**BASE, doi="10.1111/bjd.18898", pmid="31625147"),  # type: ignore[arg-type]
            Record(**BASE, doi="10.1111/bjd.18898", pmid="31625147", abstract="Background: two trials.",  # type: ignore[arg-type]
                   issn="0007-0963", language="eng")]

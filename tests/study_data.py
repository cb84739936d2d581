"""Provides a small review for the study–report link tests: two registered trials, the papers citing them.

BREEZE-AD1 and BREEZE-AD2 are registered (one registry record each). One paper reports both trials but
carries only AD1's NCT number, another trial's paper cites AD1's number in passing, and a secondary
analysis of AD1 carries no NCT number at all: dedup proposes AD1's number for the first two only.
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewkit.domain.records import Record, RegistryInfo
from reviewkit.services import dedup, screen
from reviewkit.services.project import Review
from reviewkit.services.studies import list_studies
from tests.factories import add_records

AD1, AD2 = "NCT03334396", "NCT03334422"


@dataclass(frozen=True)
class StudyData:
    """Record and study ids of the review built by `build`."""

    ad1_registry: int
    ad2_registry: int
    #: The paper of both trials (only AD1's NCT number in its record).
    both_trials: int
    #: Another trial's paper, citing AD1's NCT number in its abstract.
    passing: int
    #: A secondary analysis of AD1 without any NCT number.
    no_nct: int
    ad1: int
    ad2: int


def _registry(nct: str, title: str) -> Record:
    return Record(title=title, kind="registry", registry=RegistryInfo(nct_id=nct, brief_title=title),
                  nct_ids=(nct,), source_id=nct)


def build(review: Review) -> StudyData:
    """The records above, deduplicated by the dedup service (which proposes the study links)."""
    ids = add_records(review, [
        _registry(AD1, "Study of baricitinib monotherapy in moderate to severe atopic dermatitis (BREEZE-AD1)"),
        _registry(AD2, "Second registered monotherapy trial of LY3009104 in eczema (BREEZE-AD2)"),
        Record(title="Baricitinib in patients with moderate-to-severe atopic dermatitis: results from two "
                     "randomized monotherapy phase III trials", authors=("Simpson, E L", "Lacour, J P"), year=2020,
               pmid="32087233", nct_ids=(AD1,), source_id="32087233"),
        Record(title="Tofacitinib ointment for chronic plaque psoriasis: a randomised vehicle-controlled study",
               abstract=f"Unlike the oral JAK inhibitor trials ({AD1}), this study tested an ointment.",
               authors=("Bissonnette, R",), year=2016, pmid="26893257", source_id="26893257"),
        Record(title="Itch and sleep outcomes with baricitinib: a secondary analysis of BREEZE-AD1",
               authors=("Lio, P A",), year=2021, pmid="33990970", source_id="33990970"),
    ])
    dedup.run_dedup(review)
    by_nct = {s.nct_id: s.id for s in list_studies(review)}
    return StudyData(*ids, ad1=by_nct[AD1], ad2=by_nct[AD2])


def include(review: Review, *record_ids: int) -> None:
    """Both screeners include the records at title/abstract and at full text."""
    for stage in ("ta", "ft"):
        for rid in record_ids:
            for who in ("alice", "bob"):
                screen.record_decision(review, who, rid, stage, "include")

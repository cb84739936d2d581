"""Provides the counts at each PRISMA stage as the review stands (for `status` and the dashboard)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reviewkit.domain.screening import Outcome, Stage, resolve
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class StageCounts:
    """Screening outcomes at one stage."""

    unscreened: int = 0
    in_progress: int = 0
    conflict: int = 0
    included: int = 0
    excluded: int = 0

    @property
    def decided(self) -> int:
        """Records whose outcome is settled."""
        return self.included + self.excluded


@dataclass(frozen=True)
class ReviewStatus:
    """The review's counts, stage by stage."""

    title: str
    database: str
    identified_by_source: dict[str, int] = field(default_factory=dict)
    records: int = 0
    duplicates_removed: int = 0
    pending_duplicate_pairs: int = 0
    ta: StageCounts = StageCounts()
    ft: StageCounts = StageCounts()
    studies: int = 0

    @property
    def identified(self) -> int:
        """Records identified across all sources (PRISMA's first box)."""
        return sum(self.identified_by_source.values())

    @property
    def after_dedup(self) -> int:
        """Unique records that go to title/abstract screening."""
        return self.records - self.duplicates_removed

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready form (for `status --json`)."""
        return {
            "title": self.title,
            "database": self.database,
            "identified": self.identified,
            "identified_by_source": self.identified_by_source,
            "records": self.records,
            "duplicates_removed": self.duplicates_removed,
            "pending_duplicate_pairs": self.pending_duplicate_pairs,
            "records_screened": self.after_dedup,
            "title_abstract": _stage_dict(self.ta),
            "full_text": _stage_dict(self.ft),
            "studies": self.studies,
        }


def _stage_dict(counts: StageCounts) -> dict[str, int]:
    return {
        "unscreened": counts.unscreened,
        "in_progress": counts.in_progress,
        "conflict": counts.conflict,
        "included": counts.included,
        "excluded": counts.excluded,
    }


def stage_outcomes(
    session: Session, stage: Stage, candidates: set[int], required: int
) -> dict[int, Outcome]:
    """The outcome of every candidate record at the stage."""
    decisions = queries.current_decisions(session, stage)
    adjudicated = queries.adjudications(session, stage)
    return {
        rid: resolve(decisions.get(rid, {}), required, adjudicated.get(rid)).outcome
        for rid in candidates
    }


def included_studies(session: Session, required: int) -> set[int]:
    """The studies with a report included at full text (PRISMA's "studies included in review")."""
    unique = queries.record_ids(session) - queries.removed_duplicates(session)
    ta = stage_outcomes(session, "ta", unique, required)
    ft = stage_outcomes(session, "ft", {rid for rid, o in ta.items() if o == "included"}, required)
    return queries.studies_of_reports(session, {rid for rid, o in ft.items() if o == "included"})


def review_status(review: Review) -> ReviewStatus:
    """Count records, duplicates and screening outcomes as they stand now."""
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        by_source = queries.identified_by_source(session)
        record_ids = queries.record_ids(session)
        removed = queries.removed_duplicates(session)
        pending_pairs = queries.pending_duplicate_pairs(session)
        unique = record_ids - removed
        ta = stage_outcomes(session, "ta", unique, required)
        ft_candidates = {rid for rid, outcome in ta.items() if outcome == "included"}
        ft = stage_outcomes(session, "ft", ft_candidates, required)
        included_reports = {rid for rid, outcome in ft.items() if outcome == "included"}
        studies = queries.studies_of_reports(session, included_reports)
    return ReviewStatus(
        title=review.protocol.title,
        database=review.database,
        identified_by_source=dict(by_source),
        records=len(record_ids),
        duplicates_removed=len(removed & record_ids),
        pending_duplicate_pairs=int(pending_pairs),
        ta=_count(ta),
        ft=_count(ft),
        studies=len(studies),
    )


def _count(outcomes: dict[int, Outcome]) -> StageCounts:
    tally: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        tally[outcome] += 1
    return StageCounts(**tally)

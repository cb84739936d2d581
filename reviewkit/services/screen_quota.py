"""Provides the screening quota: a record takes new screeners' decisions only until it has its required number.

A record leaves every queue once `screeners_per_record` reviewers have decided it; a further
screener's decision (a queue loaded before the others decided, or an imported row) would turn an
agreement into a conflict, or add a vote no rule counts. Reviewers who have decided it may still
change or undo their own decision. screen.record_decision and the decisions import
(decisions_ledger) both refuse with quota_refusal; each locks the record first (store.screening
lock_records), so two screeners deciding at once cannot both take its last place.
"""

from __future__ import annotations

from collections.abc import Collection

from reviewkit.domain.screening import STAGES, Stage


def quota_refusal(record_id: int, stage: Stage, reviewer_id: int, deciders: Collection[int], required: int) -> str | None:
    """Why `reviewer_id` may not add a decision on the record, given who has a current decision on it
    at `stage` (`deciders`), or None: a new decision once `required` others have decided is refused."""
    if reviewer_id in deciders or len(deciders) < required:
        return None
    noun = "decision" if required == 1 else "decisions"
    return (f"record {record_id} already has its {required} {noun} at {STAGES[stage]}; it takes no further "
            "screener's decision")

"""Provides a screener's queue at a stage (the records awaiting their decision) and their progress through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewkit.domain.screening import resolve
from reviewkit.services.project import Review
from reviewkit.services.screen_state import check_stage, require_reviewer, stage_candidates
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class ScreeningProgress:
    """A reviewer's progress at a stage."""

    mine_done: int
    left: int
    conflicts: int


def _awaiting(session: Session, stage: str, required: int, candidates: set[int] | None = None) -> set[int]:
    """The stage's records that can take a decision: at full text, not those whose report is marked not
    retrieved (PRISMA counts them there; a decision on one is refused)."""
    found = stage_candidates(session, stage, required) if candidates is None else candidates
    return found - store.not_retrieved_ids(session) if stage == "ft" else found


def screening_queue(review: Review, reviewer: str | None, stage: str) -> list[int]:
    """Records awaiting this reviewer's decision at a stage, in import order.

    A record leaves everyone's queue once it has the decisions the protocol asks for, and at full text
    once its report is marked not retrieved (it takes no decision then: `reviewkit full-text` marks it
    retrieved, and it comes back).
    """
    check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = require_reviewer(session, reviewer, "screener")
        candidates = _awaiting(session, stage, required)
        decisions = queries.current_decisions(session, stage)
        adjudicated = queries.adjudications(session, stage)
    return sorted(
        rid for rid in candidates
        if who.id not in decisions.get(rid, {})
        and rid not in adjudicated
        and len(decisions.get(rid, {})) < required
    )


def screening_progress(review: Review, reviewer: str | None, stage: str) -> ScreeningProgress:
    """How many records this reviewer has decided, how many are left, and conflicts waiting."""
    stage = check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = require_reviewer(session, reviewer, "screener")
        candidates = stage_candidates(session, stage, required)
        awaiting = _awaiting(session, stage, required, candidates)
        decisions = queries.current_decisions(session, stage)
        adjudicated = queries.adjudications(session, stage)
    mine = sum(1 for rid in candidates if who.id in decisions.get(rid, {}))
    left = sum(
        1 for rid in awaiting
        if who.id not in decisions.get(rid, {}) and rid not in adjudicated
        and len(decisions.get(rid, {})) < required
    )
    conflicts = sum(
        resolve(decisions.get(rid, {}), required, adjudicated.get(rid), stage=stage).outcome == "conflict"
        for rid in candidates
    )
    return ScreeningProgress(mine, left, conflicts)

"""Provides where a record stands at a screening stage: the stage check, the acting reviewer, the records a stage takes in."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from reviewkit.domain.screening import STAGES, Decision, RecordScreening, Stage, resolve
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.common import acting_reviewer, article
from reviewkit.store import queries
from reviewkit.store import screening as store

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow


def require_reviewer(session: Session, name: str | None, role: str) -> ReviewerRow:
    """The acting reviewer, who must hold `role` (screener, adjudicator, lead)."""
    return acting_reviewer(session, name, role)


def reviewer_in_roles(session: Session, name: str | None, roles: tuple[str, ...]) -> ReviewerRow:
    """The acting reviewer, who must hold one of `roles`."""
    for role in roles:
        try:
            return require_reviewer(session, name, role)
        except PermissionDenied:
            continue
    raise PermissionDenied(f"reviewer '{name}' is not {article(roles[0])} {' or '.join(roles)}")


def check_stage(stage: str) -> Stage:
    """`stage` itself, once known to be a Stage (a ReviewkitError if it is not)."""
    if stage not in STAGES:
        raise ReviewkitError(f"unknown stage '{stage}' (use ta or ft)")
    return cast(Stage, stage)  # one of STAGES' keys, just checked


def stage_candidates(session: Session, stage: str, required: int) -> set[int]:
    """Records that take part in a stage: unique records at title/abstract; those it passed at full text."""
    unique = queries.record_ids(session) - queries.removed_duplicates(session)
    if stage == "ta":
        return unique
    decisions = queries.current_decisions(session, "ta")
    adjudicated = queries.adjudications(session, "ta")
    return {
        rid for rid in unique
        if resolve(decisions.get(rid, {}), required, adjudicated.get(rid), stage="ta").outcome == "included"
    }


def is_candidate(session: Session, record_id: int, stage: str, required: int) -> bool:
    """Whether one record takes part in a stage (as stage_candidates, without reading every record)."""
    if record_id in queries.removed_duplicates(session):
        return False
    return stage == "ta" or record_state(session, record_id, "ta", required).outcome == "included"


def reviewer_decisions(session: Session, record_id: int, stage: str) -> dict[int, Decision]:
    """reviewer id → current decision on one record at a stage."""
    return store.decisions_of(store.decisions_on(session, record_id, stage))


def record_state(session: Session, record_id: int, stage: str, required: int) -> RecordScreening:
    """Where one record stands at a stage: its current decisions and adjudication, resolved."""
    decisions = reviewer_decisions(session, record_id, stage)
    adjudication = store.adjudication_row(session, record_id, stage)
    return resolve(decisions, required, store.stored_decision(adjudication.decision) if adjudication else None,
                   stage=check_stage(stage))

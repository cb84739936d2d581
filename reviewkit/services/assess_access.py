"""Provides who may do what in risk-of-bias assessment (the protocol's roles).

- any reviewer listed in review.toml may assess (up to `assessors_per_study` per study and outcome);
- an assessor answers, overrides and finishes only their own assessment; a finished one is locked
  and may be reopened only while blinding still holds (another assessor has not finished);
- an assessor sees the others' answers only once every independent assessment of that study and
  outcome is finished (the screening blinding rule); leads and adjudicators see them then too, and
  no other reviewer does (nor the disagreements);
- the consensus is recorded by a lead or an adjudicator, or by one assessor together with the
  other (`co_signer`), and only after all independent assessments are finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.assess_view import CONSENSUS_ROLES, all_finished, independent_assessments
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.store import rob as store

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow, RobAssessmentRow


def reviewer(session: Session, name: str | None) -> ReviewerRow:
    # Any reviewer of the protocol may assess; consensus checks its roles itself.
    return acting_reviewer(session, name)


def check_editable(session: Session, who: ReviewerRow, row: RobAssessmentRow) -> None:
    if row.is_consensus:
        if not set(who.roles) & set(CONSENSUS_ROLES):
            raise PermissionDenied(f"{who.name} may not change the consensus (leads and adjudicators may; "
                                   "assessors record it together with record_consensus)")
        return
    if row.assessor_id != who.id:
        raise PermissionDenied(f"assessment {row.id} is not {who.name}'s")
    if store.is_finished(session, row.id):  # type: ignore[arg-type]
        raise ReviewkitError(f"assessment {row.id} is finished",
                             hint=f"reopen it first (`reviewkit rob reopen {row.id}`, or r in the TUI; possible until "
                                  "the other assessors finish); later changes belong in the consensus")


def check_consensus(session: Session, review: Review, who: ReviewerRow, study_id: int, outcome: str,
                    co_signer: str | None = None) -> None:
    """Refuse `who` the consensus of a study's outcome unless the rule allows it: a lead, an adjudicator
    or the assessors together (_check_consensus_actor), once every independent assessment is finished.
    record_consensus and the CSV import (assess_import) both apply it."""
    _check_consensus_actor(session, who, independent_assessments(session, study_id, outcome), co_signer)
    if not all_finished(session, review, study_id, outcome):
        raise consensus_waits(review, study_id, outcome)


def consensus_waits(review: Review, study_id: int, outcome: str) -> ReviewkitError:
    """The refusal of a consensus recorded before every independent assessment is finished (the same
    words wherever it is refused, so where it comes from tells nothing)."""
    return ReviewkitError(f"study {study_id} ({outcome or 'no outcome'}): the consensus waits until "
                          f"{review.protocol.risk_of_bias.assessors_per_study} independent "
                          "assessments are finished")


def _check_consensus_actor(session: Session, who: ReviewerRow, group: list[RobAssessmentRow],
                           co_signer: str | None) -> None:
    if set(who.roles) & set(CONSENSUS_ROLES):
        return
    assessors = {a.assessor_id for a in group}
    if who.id not in assessors:
        raise PermissionDenied(f"{who.name} may not record this consensus (a lead, an adjudicator, or the "
                               "assessors together may)")
    other = reviewer(session, co_signer) if co_signer else None
    if other is None or other.id == who.id or assessors - {who.id} != {other.id}:
        raise PermissionDenied("an assessor records the consensus together with the other assessor(s): "
                               "name them as co-signer")

"""Provides the risk-of-bias reads: stored assessments as a reviewer may see them (blinding applied), study tasks.

Nothing here writes: a view is built by assess_form.py from the stored answers and overrides
(services/assess.py and assess_consensus.py write the rows; assess_access.py says who may).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.assess_form import AssessmentView, build_view
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.services.status import included_studies
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import reviewer_names

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow, RobAssessmentRow, RobJudgementRow

#: Roles that see every finished assessment and may record the consensus on their own.
CONSENSUS_ROLES = ("lead", "adjudicator")


@dataclass(frozen=True)
class MyAssessment:
    """One of the reviewer's own assessments of a study."""

    id: int
    outcome: str
    finished: bool


@dataclass(frozen=True)
class StudyTask:
    """A study to assess, with the reviewer's assessments of it so far and whether a consensus exists."""

    study_id: int
    label: str
    nct_id: str | None
    mine: tuple[MyAssessment, ...]
    consensus_outcomes: tuple[str, ...]
    #: Every outcome someone has assessed independently (names only, never answers): what a
    #: consensus can be opened on.
    assessed_outcomes: tuple[str, ...] = ()
    #: Whether a report of the study is included at full text (risk of bias is for included studies;
    #: the others are listed after them, marked, so a review can start early).
    included: bool = True


def assessment_row(session: Session, assessment_id: int) -> RobAssessmentRow:
    """An assessment by id; an unknown id is an error."""
    row = store.assessment(session, assessment_id)
    if row is None:
        raise ReviewkitError(f"no risk-of-bias assessment {assessment_id}")
    return row


def independent_assessments(session: Session, study_id: int, outcome: str) -> list[RobAssessmentRow]:
    """The assessors' own (non-consensus) assessments of a study's outcome, oldest first."""
    return [a for a in store.assessments(session, study_id=study_id, outcome=outcome) if not a.is_consensus]


def all_finished(session: Session, review: Review, study_id: int, outcome: str) -> bool:
    """True once the protocol's number of independent assessments exist and all are finished."""
    rows = independent_assessments(session, study_id, outcome)
    wanted = review.protocol.risk_of_bias.assessors_per_study
    return len(rows) >= wanted and all(store.is_finished(session, a.id) for a in rows)  # type: ignore[arg-type]


def latest_consensus(session: Session, study_id: int, outcome: str) -> RobAssessmentRow | None:
    """The newest consensus assessment of a study's outcome, if any."""
    found = [a for a in store.assessments(session, study_id=study_id, outcome=outcome) if a.is_consensus]
    return found[-1] if found else None


def load_view(session: Session, row: RobAssessmentRow) -> AssessmentView:
    """An assessment's view, with study label and assessor name; callers check who may see it."""
    assert row.id is not None
    study_row = store.study(session, row.study_id)
    names = reviewer_names(session)
    return build_view(row, study_row.label if study_row else str(row.study_id),
                      names.get(row.assessor_id) if row.assessor_id else None,
                      store.current_answers(session, row.id), store.current_judgements(session, row.id),
                      was_choice=lambda judgement: _was_choice(session, row, judgement))


def _was_choice(session: Session, row: RobAssessmentRow, judgement: RobJudgementRow) -> bool:
    """Whether the RoB 2 escalation was a choice when `judgement` (an overall row) was recorded: the
    assessment rebuilt from the answers stored by then and the judgements recorded before it had two or
    more domains at Some concerns and none High (nothing is stored about it: the history says)."""
    assert row.id is not None and judgement.id is not None
    answers = {a.question: a for a in store.answer_history(session, row.id) if a.created_at <= judgement.created_at}
    earlier = {j.domain: j for j in store.judgement_history(session, row.id) if j.id is not None and j.id < judgement.id}
    return bool(build_view(row, "", None, answers, earlier).concerns)


def is_involved(who: ReviewerRow, group: Sequence[RobAssessmentRow]) -> bool:
    """Whether `who` may see the group's assessments once all are finished: an assessor of it, a lead
    or an adjudicator (other reviewers never see them)."""
    return any(a.assessor_id == who.id for a in group) or bool(set(who.roles) & set(CONSENSUS_ROLES))


def assessment_view(review: Review, viewer: str | None, assessment_id: int) -> AssessmentView:
    """An assessment as `viewer` may see it: their own, the consensus, or another's once blinding ends."""
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, viewer)
        row = assessment_row(session, assessment_id)
        if not row.is_consensus and row.assessor_id != who.id:
            group = independent_assessments(session, row.study_id, row.outcome)
            if not is_involved(who, group):
                raise PermissionDenied(
                    f"{who.name} may not see assessment {assessment_id}: only its study's assessors, leads and "
                    "adjudicators may see another assessor's assessment")
            if not all_finished(session, review, row.study_id, row.outcome):
                raise PermissionDenied(
                    f"{who.name} may not see assessment {assessment_id} until every independent "
                    "assessment of that study and outcome is finished")
        return load_view(session, row)


def studies_to_assess(review: Review, assessor: str | None) -> list[StudyTask]:
    """Every study, with this reviewer's assessments of it (the TUI's list, the CLI's `rob studies`)."""
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, assessor)
        included = included_studies(session, review.protocol.screening.screeners_per_record)
        out = []
        for s in store.studies(session):
            rows = store.assessments(session, study_id=s.id)
            mine = tuple(MyAssessment(a.id, a.outcome, store.is_finished(session, a.id))  # type: ignore[arg-type]
                         for a in rows if a.assessor_id == who.id and not a.is_consensus)
            consensus = tuple(sorted({a.outcome for a in rows if a.is_consensus}))
            assessed = tuple(sorted({a.outcome for a in rows if not a.is_consensus}))
            out.append(StudyTask(s.id, s.label, s.nct_id, mine, consensus, assessed,  # type: ignore[arg-type]
                                 s.id in included))
        return sorted(out, key=lambda t: not t.included)  # stable: included first, each in study order


def all_views(review: Review) -> list[AssessmentView]:
    """Every assessment (independent and consensus), oldest first: for export by the review team."""
    with session_scope(review.engine) as session:
        return [load_view(session, row) for row in store.assessments(session)]

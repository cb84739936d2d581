"""Provides the risk-of-bias writes and reads: studies, assessments, answers and judgements (append-only).

Rows are dated by the review's clock (`store.clock`: the server's on PostgreSQL), as screening rows are:
whether an overall "escalate" was a choice is told from which answers were stored before it
(`services.assess_view`), and assessors on machines whose clocks differ would misorder them.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from reviewkit.store import clock
from reviewkit.store.studies import add_study as add_study
from reviewkit.store.tables import (
    AuditEventRow,
    ReviewerRow,
    RobAnswerRow,
    RobAssessmentRow,
    RobJudgementRow,
    StudyRow,
)

#: rob_judgement.domain of the rows that record an assessment's state (final = "finished" or
#: "open"); the schema has no status column, and a state change is a row like any judgement.
STATUS = "status"


def studies(session: Session) -> list[StudyRow]:
    """Every study, oldest first."""
    return list(session.exec(select(StudyRow).order_by(col(StudyRow.id))))


def study(session: Session, study_id: int, *, lock: bool = False) -> StudyRow | None:
    """The study with this id; `lock`: locked until the transaction ends (PostgreSQL, FOR NO KEY UPDATE
    as store.extraction.study; a SQLite write transaction already holds the database)."""
    return session.get(StudyRow, study_id, with_for_update={"key_share": True} if lock else None)


def assessment(session: Session, assessment_id: int) -> RobAssessmentRow | None:
    """The assessment with this id."""
    return session.get(RobAssessmentRow, assessment_id)


def assessments(session: Session, *, study_id: int | None = None, outcome: str | None = None,
                assessor_id: int | None = None) -> list[RobAssessmentRow]:
    """Assessments, oldest first, optionally of one study, outcome or assessor."""
    query = select(RobAssessmentRow).order_by(col(RobAssessmentRow.id))
    if study_id is not None:
        query = query.where(RobAssessmentRow.study_id == study_id)
    if outcome is not None:
        query = query.where(RobAssessmentRow.outcome == outcome)
    if assessor_id is not None:
        query = query.where(RobAssessmentRow.assessor_id == assessor_id)
    return list(session.exec(query))


def add_assessment(session: Session, *, study_id: int, outcome: str, tool: str, variant: str | None,
                   assessor: ReviewerRow | None, is_consensus: bool, actor: str) -> RobAssessmentRow:
    """Append an assessment of a study's outcome by an assessor (or the consensus) and its audit event."""
    at = clock.now(session)
    row = RobAssessmentRow(study_id=study_id, outcome=outcome, tool=tool, variant=variant,
                           assessor_id=assessor.id if assessor else None, is_consensus=is_consensus, created_at=at)
    session.add(row)
    session.flush()
    session.add(AuditEventRow(
        at=at, actor=actor, entity="rob_assessment", entity_id=row.id, action="start",
        new={"study_id": study_id, "outcome": outcome, "tool": tool, "variant": variant,
             "assessor": assessor.name if assessor else None, "consensus": is_consensus}))
    return row


def current_answers(session: Session, assessment_id: int) -> dict[str, RobAnswerRow]:
    """question → the newest answer row (the current answer; older rows are its history)."""
    rows = session.exec(select(RobAnswerRow).where(RobAnswerRow.assessment_id == assessment_id)
                        .order_by(col(RobAnswerRow.id)))
    return {row.question: row for row in rows}


def answer_history(session: Session, assessment_id: int) -> list[RobAnswerRow]:
    """Every answer row of an assessment, oldest first."""
    return list(session.exec(select(RobAnswerRow).where(RobAnswerRow.assessment_id == assessment_id)
                             .order_by(col(RobAnswerRow.id))))


def add_answer(session: Session, assessment: RobAssessmentRow, question: str, answer: str,
               support: str | None, actor: str) -> RobAnswerRow | None:
    """Append an answer unless it equals the current one (then None); a change is audited old → new."""
    assert assessment.id is not None
    previous = current_answers(session, assessment.id).get(question)
    if previous is not None and previous.answer == answer and (previous.support or None) == (support or None):
        return None
    at = clock.now(session)
    row = RobAnswerRow(assessment_id=assessment.id, question=question, answer=answer, support=support, created_at=at)
    session.add(row)
    session.flush()
    session.add(AuditEventRow(
        at=at, actor=actor, entity="rob_answer", entity_id=row.id, action="change" if previous else "answer",
        old={"assessment_id": assessment.id, "question": question, "answer": previous.answer,
             "support": previous.support} if previous else None,
        new={"assessment_id": assessment.id, "question": question, "answer": answer, "support": support}))
    return row


def current_judgements(session: Session, assessment_id: int) -> dict[str, RobJudgementRow]:
    """domain ("D1"…, "overall", "status") → the newest judgement row."""
    rows = session.exec(select(RobJudgementRow).where(RobJudgementRow.assessment_id == assessment_id)
                        .order_by(col(RobJudgementRow.id)))
    return {row.domain: row for row in rows}


def judgement_history(session: Session, assessment_id: int) -> list[RobJudgementRow]:
    """Every judgement row of an assessment (status rows included), oldest first."""
    return list(session.exec(select(RobJudgementRow).where(RobJudgementRow.assessment_id == assessment_id)
                             .order_by(col(RobJudgementRow.id))))


def add_judgement(session: Session, assessment: RobAssessmentRow, domain: str, *, proposed: str | None,
                  final: str | None, justification: str | None, actor: str, action: str) -> RobJudgementRow:
    """Append a judgement row (an override, a snapshot, a status change) and its audit event."""
    assert assessment.id is not None
    previous = current_judgements(session, assessment.id).get(domain)
    at = clock.now(session)
    row = RobJudgementRow(assessment_id=assessment.id, domain=domain, proposed=proposed, final=final,
                          justification=justification, created_at=at)
    session.add(row)
    session.flush()
    session.add(AuditEventRow(
        at=at, actor=actor, entity="rob_judgement", entity_id=row.id, action=action,
        old={"assessment_id": assessment.id, "domain": domain, "proposed": previous.proposed,
             "final": previous.final, "justification": previous.justification} if previous else None,
        new={"assessment_id": assessment.id, "domain": domain, "proposed": proposed, "final": final,
             "justification": justification}))
    return row


def is_finished(session: Session, assessment_id: int) -> bool:
    """True when the assessment's newest status row says "finished"."""
    row = current_judgements(session, assessment_id).get(STATUS)
    return row is not None and row.final == "finished"

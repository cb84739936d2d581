"""Provides risk-of-bias assessment by one assessor: starting it, answers, overrides, finishing, reopening.

Who may do what is assess_access's rule; the answer and judgement codes are assess_codes'; the
disagreements and the consensus are assess_consensus's, which finishes a consensus with snapshot as
an assessor's own assessment is finished here.

Storage (nothing is deleted): the current answer is the newest rob_answer row per question;
rob_judgement rows are overrides (final + justification), "accept" rows (final empty: back to the
proposal) and, under domain "status", the finished/open marks, since the schema has no status
column. Proposals are never stored: they are recomputed from the answers by the domain algorithms
(services/assess_form.py builds what the form, plots and exports show).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from reviewkit.domain import rob2
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.assess_access import check_editable, reviewer
from reviewkit.services.assess_agreed import refuse_contradicting, shared_answers
from reviewkit.services.assess_codes import check_answer, domain_keys, judgement_code, shown
from reviewkit.services.assess_form import AssessmentView, open_questions
from reviewkit.services.assess_outcomes import study_outcome
from reviewkit.services.assess_study_domains import (
    carry_into,
    consensus_answers,
    refuse_other_consensus,
    spread_answer,
)
from reviewkit.services.assess_view import (
    all_finished,
    assessment_row,
    independent_assessments,
    load_view,
)
from reviewkit.services.project import Review
from reviewkit.store import rob as store
from reviewkit.store.db import retry_conflicts, session_scope
from reviewkit.store.screening import reviewer_names

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import RobAssessmentRow


@retry_conflicts
def start_assessment(review: Review, assessor: str | None, study_id: int, outcome: str = "",
                     variant: str | None = None, *, new_outcome: bool = False) -> AssessmentView:
    """The reviewer's assessment of a study's outcome: the one they started, or a new one.

    RoB 2 is assessed per result, so `outcome` names it, read as the review already spells it
    (assess_outcomes.study_outcome); a new name close to a known one is refused (OutcomeNearMiss)
    unless `new_outcome` says it is a different result. The tool comes from the protocol, and the
    domain 2 variant too unless given.
    """
    rob = review.protocol.risk_of_bias
    outcome = outcome.strip()
    if rob.tool == "rob2":
        variant = rob2.Variant(variant or rob.variant).value
    elif variant:
        raise ReviewkitError("RoB 1 has no variant")
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, assessor)
        # Locked before its assessments are read: on PostgreSQL two starts at once both found a free
        # place, giving a study more assessors than the protocol's, or one assessor two assessments.
        if store.study(session, study_id, lock=True) is None:
            raise ReviewkitError(f"unknown study {study_id}")
        outcome = study_outcome(session, review, study_id, outcome, new_outcome=new_outcome)
        rows = independent_assessments(session, study_id, outcome)
        for row in rows:
            if row.assessor_id == who.id:
                return load_view(session, row)
        if len(rows) >= rob.assessors_per_study:
            names = reviewer_names(session)
            raise ReviewkitError(
                f"study {study_id} ({outcome or 'no outcome'}) already has its {rob.assessors_per_study} "
                f"assessors: {', '.join(names.get(r.assessor_id, '?') for r in rows)}")  # type: ignore[arg-type]
        row = store.add_assessment(session, study_id=study_id, outcome=outcome, tool=rob.tool,
                                   variant=variant if rob.tool == "rob2" else None, assessor=who,
                                   is_consensus=False, actor=who.name)
        carried = carry_into(session, row, who.name)
        view = load_view(session, row)
        return dataclasses.replace(view, notes=(*view.notes, carried)) if carried else view


@retry_conflicts
def answer(review: Review, assessor: str | None, assessment_id: int, question: str, answer: str,
           support: str | None = None) -> AssessmentView:
    """Store an answer (committed at once; a change is a new row) and return the updated view.

    RoB 2: a signalling question ("1.1") and Y/PY/PN/N/NI/NA, checked against the variant and
    the questions that apply; RoB 1: a domain ("D1") and low/high/unclear, with its support text.
    `support` None keeps the support the question has (changing a judgement keeps its "support for
    judgement"); "" removes it.
    """
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, assessor)
        row = assessment_row(session, assessment_id)
        check_editable(session, who, row)
        stored = store.current_answers(session, assessment_id)
        current = {q: a.answer for q, a in stored.items()}
        code = check_answer(row.tool, row.variant, current, question.strip(), answer)
        if support is None and question.strip() in stored:
            support = stored[question.strip()].support
        if row.is_consensus:
            # A lead's direct change of the consensus keeps the assessors' shared answers as
            # record_consensus does; otherwise the next recording would have to undo it.
            refuse_contradicting(row.tool, shared_answers(session, row.study_id, row.outcome),
                                 {question.strip(): code}, f"consensus assessment {row.id}")
            if row.tool == "rob1":  # and, as it does, RoB 1's per-study domains as the study's other consensus
                refuse_other_consensus(consensus_answers(session, row.study_id, row.outcome),
                                       {question.strip(): code}, f"consensus assessment {row.id}")
        spread_answer(session, row, question.strip(), code, (support or "").strip() or None, who.name)
        store.add_answer(session, row, question.strip(), code, (support or "").strip() or None, who.name)
        return _reopen_if_incomplete(session, row, who.name)


@retry_conflicts
def override(review: Review, assessor: str | None, assessment_id: int, domain: str, final: str | None,
             justification: str = "") -> AssessmentView:
    """Replace a domain's (or the overall) proposed judgement; a written justification is required.

    `final=None` goes back to the proposal. RoB 1 domains are judged directly, so only its
    overall summary can be overridden.
    """
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, assessor)
        row = assessment_row(session, assessment_id)
        check_editable(session, who, row)
        domain = domain.strip()
        allowed = ["overall"] if row.tool == "rob1" else [*domain_keys(row.tool), "overall"]
        if domain not in allowed:
            raise ReviewkitError(f"cannot override '{domain}' in a {row.tool} assessment",
                                 hint=f"use {', '.join(allowed)}")
        view = load_view(session, row)
        proposed = view.domain(domain).proposed
        code = None
        if final is not None:
            code = judgement_code(row.tool, final)
            if not justification.strip():
                if code != proposed:
                    raise ReviewkitError(f"{domain}: overriding the proposed judgement ({proposed or 'incomplete'})"
                                         f" with {code} needs a written justification")
                code = None  # choosing the proposal without a reason is accepting it, not pinning it
        store.add_judgement(session, row, domain, proposed=proposed, final=code,
                            justification=justification.strip() or None, actor=who.name,
                            action="override" if code is not None else "accept")
        return _reopen_if_incomplete(session, row, who.name)


def _reopen_if_incomplete(session: Session, row: RobAssessmentRow, actor: str) -> AssessmentView:
    """The view after a lead's direct change of a finished consensus: a change that leaves a domain or the
    overall unjudged, or the RoB 2 escalation choice open, reopens it (a status row "open", audited as
    "reopen", as an assessor's reopening is; nothing is deleted), so plots and summaries, which read
    finished consensuses only, do not show an incomplete judgement as final. It is finished again by
    recording the consensus (`reviewkit rob consensus`) or `reviewkit rob finish`. An assessor's own
    assessment cannot change while finished (check_editable)."""
    view = load_view(session, row)
    if not (row.is_consensus and view.finished):
        return view
    try:
        _check_complete(view, f"consensus assessment {row.id}", consensus=True)
    except ReviewkitError as exc:
        why = exc.message.split(": ", 1)[-1]
        store.add_judgement(session, row, store.STATUS, proposed=None, final="open",
                            justification=f"reopened by a change that left it incomplete: {why}", actor=actor,
                            action="reopen")
        view = load_view(session, row)
        note = (f"consensus assessment {row.id} is reopened (no longer finished): {why}; plots and summaries "
                f"leave it out until it is finished again (`reviewkit rob finish {row.id}` once it is complete, "
                "or `reviewkit rob consensus`)" + (f"; {exc.hint}" if exc.hint else ""))
        return dataclasses.replace(view, notes=(*view.notes, note))
    return view


@retry_conflicts
def finish(review: Review, assessor: str | None, assessment_id: int, *, escalate: bool | None = None,
           reason: str = "") -> AssessmentView:
    """Mark an assessment finished once every domain and the overall are judged (snapshotted).

    RoB 2 with Some concerns in two or more domains and none High: whether that amounts to High
    overall is the assessor's call (rob2.md §7), so finishing waits for it; `escalate` (True: High,
    False: Some concerns) with a written `reason` records it first, in the same transaction, as the
    overall's judgement, the row the TUI's overall override (X) writes.
    """
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, assessor)
        row = assessment_row(session, assessment_id)
        check_editable(session, who, row)
        view = load_view(session, row)
        if escalate is not None:
            _record_escalation(session, row, view, who.name, escalate, reason)
            view = load_view(session, row)
        snapshot(session, row, view, who.name, f"{'consensus ' if row.is_consensus else ''}assessment {row.id}",
                 consensus=row.is_consensus)
        return load_view(session, row)


def _record_escalation(session: Session, row: RobAssessmentRow, view: AssessmentView, actor: str, escalate: bool,
                       reason: str) -> None:
    """Store the RoB 2 escalation choice as the overall's judgement with its reason (refused where there
    is no such choice: RoB 1, or fewer than two domains at Some concerns, or one High)."""
    if row.tool != "rob2":
        raise ReviewkitError(f"assessment {row.id} uses {row.tool}: escalating to High is a RoB 2 choice")
    if not view.concerns:
        raise ReviewkitError(
            f"assessment {row.id}: escalating to High is a choice only when two or more domains are Some "
            f"concerns and none is High (the overall is {shown(view.overall.proposed)} from the domains)",
            hint="leave --escalate out")
    if not reason.strip():
        raise ReviewkitError(f"assessment {row.id}: the choice to escalate (or not) needs a written reason "
                             f"(Some concerns in {', '.join(view.concerns)})", hint='add --reason "..."')
    store.add_judgement(session, row, "overall", proposed=view.overall.proposed,
                        final="high" if escalate else "some_concerns", justification=reason.strip(), actor=actor,
                        action="escalate")


def snapshot(session: Session, row: RobAssessmentRow, view: AssessmentView, actor: str, what: str,
              *, consensus: bool = False) -> None:
    """Mark the assessment finished once complete (_check_complete; `what` names it in a refusal).
    Already finished: nothing is written, so recording a consensus again adds no "finished → finished"
    event."""
    _check_complete(view, what, consensus=consensus)
    if store.is_finished(session, row.id):  # type: ignore[arg-type]
        return
    store.add_judgement(session, row, store.STATUS, proposed=None, final="finished", justification=None,
                        actor=actor, action="finish")


def _check_complete(view: AssessmentView, what: str, *, consensus: bool) -> None:
    """Refuse an assessment that leaves a domain or the overall unjudged, naming every question it may
    still need, or whose RoB 2 escalation choice is open, saying how to make it."""
    missing = [d.key for d in (*view.domains, view.overall) if d.final is None]
    if missing:
        now, later = open_questions(view)
        hint = None
        if now:
            hint = ("settle the answers still open" if consensus else "answer the questions still open") + ": "
            hint += ", ".join(now) + (f" (their answers may also open {', '.join(later)})" if later else "")
        raise ReviewkitError(f"{what} is not complete: no judgement for {', '.join(missing)}", hint=hint)
    if view.escalation_required:
        how = ("--override overall=high:REASON (escalate) or --override overall=some_concerns:REASON (do not); "
               "X on the TUI's consensus screen" if consensus else
               f'`reviewkit rob finish {view.id} --escalate yes|no --reason "..."`, or X in the TUI')
        raise ReviewkitError(f"{what}: Some concerns in {', '.join(view.concerns)} and none High: decide whether "
                             "that amounts to High overall (RoB 2 leaves it to the assessor)", hint=how)


@retry_conflicts
def reopen(review: Review, assessor: str | None, assessment_id: int) -> AssessmentView:
    """Reopen a finished assessment, while the other assessors have not all finished (blinding holds)."""
    with session_scope(review.engine, write=True) as session:
        who = reviewer(session, assessor)
        row = assessment_row(session, assessment_id)
        if row.is_consensus or row.assessor_id != who.id:
            raise PermissionDenied(f"assessment {assessment_id} is not {who.name}'s")
        if not store.is_finished(session, assessment_id):
            return load_view(session, row)
        if all_finished(session, review, row.study_id, row.outcome):
            raise ReviewkitError(f"every assessor of assessment {assessment_id}'s study has finished",
                                 hint="changes now go into the consensus")
        store.add_judgement(session, row, store.STATUS, proposed=None, final="open", justification=None,
                            actor=who.name, action="reopen")
        return load_view(session, row)

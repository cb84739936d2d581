"""Provides risk-of-bias assessment: blind dual assessments, answers, overrides, disagreements, consensus.

Who may do what (the protocol's roles):

- any reviewer listed in review.toml may assess (up to `assessors_per_study` per study and outcome);
- an assessor answers, overrides and finishes only their own assessment; a finished one is locked
  and may be reopened only while blinding still holds (another assessor has not finished);
- an assessor sees the others' answers only once every independent assessment of that study and
  outcome is finished (the screening blinding rule); leads and adjudicators see them then too, and
  no other reviewer does (nor the disagreements);
- the consensus is recorded by a lead or an adjudicator, or by one assessor together with the
  other (`co_signer`), and only after all independent assessments are finished.

Storage (nothing is deleted): the current answer is the newest rob_answer row per question;
rob_judgement rows are overrides (final + justification), "accept" rows (final empty: back to the
proposal) and, under domain "status", the finished/open marks, since the schema has no status
column. Proposals are never stored: they are recomputed from the answers by the domain algorithms
(services/assess_view.py builds what the form, plots and exports show).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reviewkit.domain import rob1, rob2
from reviewkit.domain.rob_common import compare_assessments
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.assess_outcomes import assessed_outcome, study_outcome
from reviewkit.services.assess_view import (
    CONSENSUS_ROLES,
    AssessmentView,
    ConsensusChange,
    DomainView,
    RecordedConsensus,
    StudyDisagreements,
    all_finished,
    assessment_row,
    consensus_changes,
    effective_answers,
    independent_assessments,
    is_involved,
    latest_consensus,
    load_view,
    open_questions,
    rob2_domain,
    to_domain_assessment,
)
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import reviewer_names

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow, RobAssessmentRow


def domain_keys(tool: str) -> list[str]:
    """The domain keys of a tool, in order."""
    return [d.value for d in (rob1.Rob1Domain if tool == "rob1" else rob2.Domain)]


def judgement_code(tool: str, text: str) -> str:
    """A typed judgement ("Some concerns", "high", "?") as the tool's code; unknown ones are errors."""
    if tool == "rob1":
        return rob1.parse_judgement(text).value
    code = text.strip().lower().removesuffix(" risk").replace(" ", "_")
    try:
        return rob2.Judgement(code).value
    except ValueError:
        raise ReviewkitError(f"unknown RoB 2 judgement {text!r}", hint="use low, some concerns or high") from None


def normalise_answers(tool: str, variant: str | None, answers: Mapping[str, str]
                      ) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Answer codes checked as a whole set: (clean codes, [(question, problem)]).

    RoB 2: known question of the variant, an allowed code, and either NA or a question that
    applies given the other answers (NA only where its condition is not met, or "[If applicable]").
    """
    clean: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for qid, raw in answers.items():
        try:
            clean[qid] = answer_code(tool, variant, qid, raw)
        except ReviewkitError as exc:
            problems.append((qid, exc.message.split(": ", 1)[-1]))
    if tool == "rob2":
        for qid, code in clean.items():
            problem = _applies(variant, clean, qid, code)
            if problem:
                problems.append((qid, problem))
    return clean, problems


def answer_code(tool: str, variant: str | None, qid: str, raw: str) -> str:
    """One answer's code, checked against the question's allowed answers (not against the others)."""
    if tool == "rob1":
        if qid not in rob1.Rob1Domain.__members__:
            raise ReviewkitError(f"unknown RoB 1 domain '{qid}' (use D1…D7)")
        return rob1.parse_judgement(raw).value
    domain = rob2_domain(qid)
    if domain is None:
        raise ReviewkitError(f"unknown question '{qid}'")
    return rob2.validate_answers(domain, variant or "assignment", {qid: raw})[qid].value


def _applies(variant: str | None, answers: Mapping[str, str], qid: str, code: str) -> str | None:
    """Why this answer cannot stand given the others, or None. A question's condition reads only
    earlier questions, so its own answer is left out."""
    domain = rob2_domain(qid)
    assert domain is not None
    own = {q: a for q, a in answers.items() if rob2_domain(q) is domain and q != qid}
    shown = {q.id: q for q in rob2.applicable_questions(domain, variant or "assignment", own)}
    question = shown.get(qid)
    if question is None and code != "NA":
        cond = next(q.condition for q in rob2.questions(domain, variant or "assignment") if q.id == qid)
        return f"does not apply given the other answers ({cond}); answer NA or leave it out"
    if question is not None and code == "NA" and not question.if_applicable:
        return f"NA, but its condition is met ({question.condition})"
    return None


def check_answer(tool: str, variant: str | None, current: Mapping[str, str], qid: str, raw: str) -> str:
    """One answer checked against the assessment's current answers; returns its code."""
    code = answer_code(tool, variant, qid, raw)
    if tool == "rob2":
        problem = _applies(variant, current, qid, code)
        if problem:
            raise ReviewkitError(f"{qid}: {problem}")
    return code


def _reviewer(session: Session, name: str | None) -> ReviewerRow:
    # Any reviewer of the protocol may assess; consensus checks its roles itself.
    return acting_reviewer(session, name)


def _may_edit(session: Session, who: ReviewerRow, row: RobAssessmentRow) -> None:
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
        who = _reviewer(session, assessor)
        if store.study(session, study_id) is None:
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
        return load_view(session, row)


def answer(review: Review, assessor: str | None, assessment_id: int, question: str, answer: str,
           support: str | None = None) -> AssessmentView:
    """Store an answer (committed at once; a change is a new row) and return the updated view.

    RoB 2: a signalling question ("1.1") and Y/PY/PN/N/NI/NA, checked against the variant and
    the questions that apply; RoB 1: a domain ("D1") and low/high/unclear, with its support text.
    """
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
        row = assessment_row(session, assessment_id)
        _may_edit(session, who, row)
        current = {q: a.answer for q, a in store.current_answers(session, assessment_id).items()}
        code = check_answer(row.tool, row.variant, current, question.strip(), answer)
        if row.is_consensus:
            # A lead's direct change of the consensus keeps the assessors' shared answers as
            # record_consensus does; otherwise the next recording would have to undo it.
            refuse_contradicting(row.tool, shared_answers(session, row.study_id, row.outcome),
                                 {question.strip(): code}, f"consensus assessment {row.id}")
        store.add_answer(session, row, question.strip(), code, (support or "").strip() or None, who.name)
        return load_view(session, row)


def override(review: Review, assessor: str | None, assessment_id: int, domain: str, final: str | None,
             justification: str = "") -> AssessmentView:
    """Replace a domain's (or the overall) proposed judgement; a written justification is required.

    `final=None` goes back to the proposal. RoB 1 domains are judged directly, so only its
    overall summary can be overridden.
    """
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
        row = assessment_row(session, assessment_id)
        _may_edit(session, who, row)
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
        return load_view(session, row)


def finish(review: Review, assessor: str | None, assessment_id: int, *, escalate: bool | None = None,
           reason: str = "") -> AssessmentView:
    """Mark an assessment finished once every domain and the overall are judged (snapshotted).

    RoB 2 with Some concerns in two or more domains and none High: whether that amounts to High
    overall is the assessor's call (rob2.md §7), so finishing waits for it; `escalate` (True: High,
    False: Some concerns) with a written `reason` records it first, in the same transaction, as the
    overall's judgement, the row the TUI's overall override (X) writes.
    """
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
        row = assessment_row(session, assessment_id)
        _may_edit(session, who, row)
        view = load_view(session, row)
        if escalate is not None:
            _record_escalation(session, row, view, who.name, escalate, reason)
            view = load_view(session, row)
        _snapshot(session, row, view, who.name, f"assessment {row.id}")
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
            f"concerns and none is High (the overall is {_shown(view.overall.proposed)} from the domains)",
            hint="leave --escalate out")
    if not reason.strip():
        raise ReviewkitError(f"assessment {row.id}: the choice to escalate (or not) needs a written reason "
                             f"(Some concerns in {', '.join(view.concerns)})", hint='add --reason "..."')
    store.add_judgement(session, row, "overall", proposed=view.overall.proposed,
                        final="high" if escalate else "some_concerns", justification=reason.strip(), actor=actor,
                        action="escalate")


def _shown(code: str | None) -> str:
    return code.replace("_", " ") if code else "incomplete"


def _snapshot(session: Session, row: RobAssessmentRow, view: AssessmentView, actor: str, what: str,
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


def reopen(review: Review, assessor: str | None, assessment_id: int) -> AssessmentView:
    """Reopen a finished assessment, while the other assessors have not all finished (blinding holds)."""
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
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


def _disagreements(session: Session, review: Review, study_id: int, outcome: str) -> list[StudyDisagreements]:
    if not independent_assessments(session, study_id, outcome):
        raise ReviewkitError(f"study {study_id} has no assessment of {outcome!r}" if outcome
                             else f"study {study_id} has no assessment without an outcome",
                             hint="a consensus follows the assessors' own assessments of that result")
    if not all_finished(session, review, study_id, outcome):
        raise PermissionDenied(f"study {study_id} ({outcome or 'no outcome'}): disagreements are shown once "
                               "every independent assessment is finished")
    views = [load_view(session, a) for a in independent_assessments(session, study_id, outcome)]
    out = []
    for i, a in enumerate(views):
        for b in views[i + 1:]:
            items = compare_assessments(to_domain_assessment(a), to_domain_assessment(b))
            carried, to_decide = _agreed_judgements([a, b])
            reasons = tuple((d.key, _reason(d), _reason(b.domain(d.key)))
                            for d in (*a.domains, a.overall) if d.chosen or b.domain(d.key).chosen)
            out.append(StudyDisagreements(study_id, a.study, outcome, a.assessor or "", b.assessor or "",
                                          tuple(items), tuple(to_decide), tuple(carried), reasons))
    return out


def _reason(d: DomainView) -> str | None:
    return d.justification if d.chosen else None


def disagreements(review: Review, viewer: str | None, study_id: int, outcome: str = "") -> list[StudyDisagreements]:
    """Each pair of assessors' differences, per question and domain, for an assessor of the study, a lead
    or an adjudicator (refused while any assessment is unfinished, and to anyone else). `outcome` is read
    as the study's assessments spell it (assess_outcomes.assessed_outcome)."""
    with session_scope(review.engine) as session:
        who = _reviewer(session, viewer)
        outcome = assessed_outcome(session, study_id, outcome)
        group = independent_assessments(session, study_id, outcome)
        if group and not is_involved(who, group):  # none at all: _disagreements says so
            raise PermissionDenied(f"{who.name} may not see the assessments of study {study_id} "
                                   f"({outcome or 'no outcome'}): only its assessors, leads and adjudicators may")
        return _disagreements(session, review, study_id, outcome)


def all_disagreements(review: Review, viewer: str | None) -> list[StudyDisagreements]:
    """Disagreements of every study and outcome whose independent assessments are all finished and
    that `viewer` may see (as an assessor of it, a lead or an adjudicator)."""
    with session_scope(review.engine) as session:
        who = _reviewer(session, viewer)
        keys = sorted({(a.study_id, a.outcome) for a in store.assessments(session) if not a.is_consensus})
        out: list[StudyDisagreements] = []
        for study_id, outcome in keys:
            if (is_involved(who, independent_assessments(session, study_id, outcome))
                    and all_finished(session, review, study_id, outcome)):
                out.extend(_disagreements(session, review, study_id, outcome))
        return out


def current_consensus(review: Review, viewer: str | None, study_id: int, outcome: str = "") -> AssessmentView | None:
    """The consensus of a study's outcome as recorded so far (None: not yet), where a revision starts
    (record_consensus); anyone on the team may see a consensus."""
    with session_scope(review.engine) as session:
        _reviewer(session, viewer)
        row = latest_consensus(session, study_id, assessed_outcome(session, study_id, outcome))
        return load_view(session, row) if row is not None else None


def record_consensus(review: Review, actor: str | None, study_id: int, outcome: str = "", *,
                     answers: Mapping[str, str] | None = None,
                     overrides: Mapping[str, tuple[str, str]] | None = None,
                     co_signer: str | None = None) -> RecordedConsensus:
    """Record the consensus assessment (is_consensus) that plots and analyses use; one transaction.

    It starts from what the assessors agree on: the answers they share (_agreed) and the judgements
    they recorded with a reason and agree on (_agreed_judgements: an override both made, or one whose
    judgement the other's answers gave, carried with the reasons). The shared answers are fixed: they
    are the assessors', and `answers` settles the others; one that contradicts a shared answer is
    refused (refuse_contradicting: the consensus judges a domain otherwise by overriding it, with a
    reason). `overrides` maps a domain or "overall" to (final, justification); final "accept" takes back
    an override of the consensus's own (back to what the answers give). A domain the assessors judge
    differently where one of them overrode the proposal is refused until `overrides` (or an earlier
    recording of this consensus) judges it: settling the answers would silently drop the override. The
    result must judge every domain, and a RoB 2 escalation choice must be made.

    Recording it again revises the same consensus: it starts from what the earlier recordings decided
    (their answers to the disputed questions, their judgements), so a revision changes only what it is
    given. Nothing is updated in place: each answer or judgement that changes is a new row (the earlier
    one stays as its history, with an audit event naming who and when), one that is unchanged is not
    written again, and the result lists what changed (RecordedConsensus.changes).
    """
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, actor)
        outcome = assessed_outcome(session, study_id, outcome)
        check_consensus(session, review, who, study_id, outcome, co_signer)
        group = independent_assessments(session, study_id, outcome)
        views = [load_view(session, a) for a in group]
        tool, variant = group[0].tool, group[0].variant
        kinds = {(a.tool, a.variant) for a in group}
        if len(kinds) > 1:
            # Question ids mean different things across tools and RoB 2 variants ("2.3" in assignment and
            # in adherence): answers matched by id would be merged as if they were the same question.
            used = "; ".join(f"{v.assessor}: {a.tool}{' ' + a.variant if a.variant else ''}"
                             for a, v in zip(group, views, strict=True))
            raise ReviewkitError(f"the assessments of {views[0].study} / {outcome or '(no outcome)'} use "
                                 f"different tools or variants ({used}): a consensus compares answers to the "
                                 "same questions", hint="an assessor restarts the assessment with the others' "
                                 "tool and variant")
        what = f"the consensus for {views[0].study} / {outcome or '(no outcome)'}"
        agreed = _agreed(views)
        given = _given_answers(tool, variant, answers or {})
        refuse_contradicting(tool, agreed, given, what)
        existing = latest_consensus(session, study_id, outcome)
        before = load_view(session, existing) if existing else None
        # The earlier recordings' answers are the starting point (without them a revision could not even
        # answer a question they opened), then the shared answers for questions the earlier consensus
        # left open. An earlier answer that contradicts a shared one (stored before shared answers were
        # kept fixed) stands: resetting it would change a recorded judgement nobody asked to change.
        earlier = dict(before.answers) if before else {}
        wanted = {**{q: a for q, (a, _) in agreed.items()}, **earlier, **given}
        clean, problems = normalise_answers(tool, variant, wanted)
        # Only an answer given now is refused; a shared or earlier one whose condition the answers given
        # no longer meet lapses, as an assessor's does (effective_answers leaves it out).
        problems = [(q, p) for q, p in problems if q in given]
        if problems:
            raise ReviewkitError("consensus answers: " + "; ".join(f"{q}: {p}" for q, p in problems))
        explicit = _consensus_overrides(tool, overrides or {})
        # What this consensus judged before (an override, or accepting the proposal) stands until changed.
        judged_before = (set(store.current_judgements(session, existing.id)) - {store.STATUS}  # type: ignore[arg-type]
                         if existing else set())
        carry, to_decide = _agreed_judgements(views)
        _refuse_undecided(views, [k for k in to_decide if k not in explicit and k not in judged_before], what)
        _refuse_taken_back(views, [k for k, (final, _) in explicit.items() if final is None and
                                   (k in carry or k in to_decide)], what)
        row = existing or store.add_assessment(
            session, study_id=study_id, outcome=outcome, tool=tool, variant=variant, assessor=who,
            is_consensus=True, actor=who.name)
        stored = store.current_answers(session, row.id)  # type: ignore[arg-type]
        for qid, code in sorted(effective_answers(tool, variant, clean).items()):
            if qid in stored and stored[qid].answer == code:
                continue  # unchanged: no new row, and the support it was stored with stays
            support = agreed[qid][1] if qid in agreed and agreed[qid][0] == code else None
            store.add_answer(session, row, qid, code, support, who.name)
        view = load_view(session, row)
        for key, (final, why, keep_only) in carry.items():
            if key in explicit or key in judged_before:
                continue
            proposed = view.domain(key).proposed
            if keep_only and proposed != final:
                continue  # the assessors kept their proposals; the consensus's own proposal differs
            store.add_judgement(session, row, key, proposed=proposed, final=final, justification=why,
                                actor=who.name, action="override")
            view = load_view(session, row)
        for key, (judged, why) in explicit.items():
            current = view.domain(key)
            if judged is None and not current.chosen:
                continue  # nothing of the consensus's own to take back
            if judged is not None and current.chosen and (current.final, current.justification) == (judged, why):
                continue  # judged so already: a second row would be a change that changes nothing
            store.add_judgement(session, row, key, proposed=current.proposed, final=judged,
                                justification=why or None, actor=who.name,
                                action="override" if judged is not None else "accept")
            view = load_view(session, row)
        _snapshot(session, row, view, who.name, what, consensus=True)
        after = load_view(session, row)
        changes = [_restored(c, agreed) for c in consensus_changes(before, after)] if before else []
        return RecordedConsensus.of(after, revised=before is not None, changes=changes)


def _given_answers(tool: str, variant: str | None, answers: Mapping[str, str]) -> dict[str, str]:
    """The consensus's answers as codes, each checked on its own (the conditions between them are
    checked with the rest of the consensus); every bad one is named."""
    codes: dict[str, str] = {}
    problems: list[str] = []
    for raw_qid, raw in answers.items():
        qid = raw_qid.strip()
        try:
            codes[qid] = answer_code(tool, variant, qid, raw)
        except ReviewkitError as exc:
            problems.append(f"{qid}: {exc.message.split(': ', 1)[-1]}")
    if problems:
        raise ReviewkitError("consensus answers: " + "; ".join(problems))
    return codes


def refuse_contradicting(tool: str, agreed: Mapping[str, tuple[str, str | None]], codes: Mapping[str, str],
                          what: str) -> None:
    """Refuse consensus answers that contradict an answer every assessor gave, naming theirs.

    The shared answers are the assessors' (the consensus settles where they differ); a consensus that
    sees a domain otherwise records that as the domain's judgement with a reason, which keeps both the
    assessors' answers and why the consensus departs from them.

    Not in RoB 1: there the "answers" are the domain judgements themselves, with no algorithm to
    override, so the consensus settles a domain by answering it, as it always could."""
    if tool == "rob1":
        return
    clash = {q: code for q, code in codes.items() if q in agreed and agreed[q][0] != code}
    if not clash:
        return
    said = "; ".join(f"{q}: the assessors both answered {agreed[q][0]}, not {code}" for q, code in clash.items())
    keys = sorted({d.value for q in clash if (d := rob2_domain(q)) is not None})
    how = " ".join(f"--override '{k}=JUDGEMENT:justification'" for k in keys)
    raise ReviewkitError(f"{what}: the consensus keeps the answers the assessors share; {said}",
                         hint=f"leave {', '.join(clash)} out; to judge otherwise than those answers give, override "
                              f"the judgement with a reason: {how}")


def _restored(change: ConsensusChange, agreed: Mapping[str, tuple[str, str | None]]) -> ConsensusChange:
    """A change back to a shared answer was not asked for: the consensus held another answer (stored
    before the shared answers were kept fixed, or by an import). Say why it was made."""
    if change.level == "question" and change.key in agreed and change.after == agreed[change.key][0]:
        return dataclasses.replace(change, note="the answer both assessors gave, which the consensus keeps")
    return change


def _refuse_taken_back(views: list[AssessmentView], keys: list[str], what: str) -> None:
    """Refuse taking back (without a reason) a judgement the assessors recorded with a reason and the
    consensus carries or must decide: the consensus judges those with a reason of its own."""
    if keys:
        raise ReviewkitError(
            f"{what}: {', '.join(keys)} cannot go back to what the answers give without a reason: "
            + "; ".join(f"{k}: " + ", ".join(f"{v.assessor} {_shown(v.domain(k).final)}" for v in views)
                        for k in keys),
            hint="judge each with --override " + " --override ".join(f"'{k}=JUDGEMENT:justification'" for k in keys)
                 + " (the judgement the answers give being one choice)")


def _consensus_overrides(tool: str, overrides: Mapping[str, tuple[str, str]]
                         ) -> dict[str, tuple[str | None, str]]:
    """The consensus's own judgements, checked before anything is written: a known domain, a judgement
    of the tool and a written justification, or "accept" (code None: back to what the answers give)."""
    allowed = ["overall"] if tool == "rob1" else [*domain_keys(tool), "overall"]
    out: dict[str, tuple[str | None, str]] = {}
    for raw_key, (final, why) in overrides.items():
        key = raw_key.strip()
        if key not in allowed:
            raise ReviewkitError(f"cannot override '{key}' in a {tool} assessment", hint=", ".join(allowed))
        if final.strip().lower() == "accept":
            out[key] = (None, "")
            continue
        if not why.strip():
            raise ReviewkitError(f"{key}: a consensus override needs a written justification")
        out[key] = (judgement_code(tool, final), why.strip())
    return out


def _agreed_judgements(views: list[AssessmentView]) -> tuple[dict[str, tuple[str, str, bool]], list[str]]:
    """The assessors' judgements recorded with a reason, as the consensus takes them.

    Returns (carry, to_decide). carry: domain → (final, the reasons, keep_only) where every assessor's
    final judgement is the same and at least one recorded it with a reason; the reasons are joined
    (" / ", each once), so neither assessor's is lost. keep_only: no one overrode, each kept the proposal
    (e.g. "not escalated"): that holds only where the consensus's own answers propose the same.
    to_decide: domains whose final judgements differ where an assessor overrode the proposal.
    Differences that come from the answers alone are settled by settling the answers.
    """
    carry: dict[str, tuple[str, str, bool]] = {}
    to_decide: list[str] = []
    first = views[0]
    for key in [d.key for d in (*first.domains, first.overall)]:
        parts = [v.domain(key) for v in views]
        if not any(p.chosen for p in parts):
            continue
        finals = {p.final for p in parts}
        overridden = any(p.overridden for p in parts)
        if len(finals) == 1 and None not in finals:
            why = " / ".join(dict.fromkeys(p.justification for p in parts if p.chosen))
            carry[key] = (parts[0].final or "", why, not overridden)
        elif overridden:
            to_decide.append(key)
    return carry, to_decide


def _refuse_undecided(views: list[AssessmentView], keys: list[str], what: str) -> None:
    """Refuse a consensus that leaves an overridden, disputed judgement to the answers, naming each
    assessor's judgement and reason."""
    if not keys:
        return
    def said(v: AssessmentView, key: str) -> str:
        d = v.domain(key)
        why = f" ({'override' if d.overridden else 'kept'}: {d.justification})" if d.chosen else " (from the answers)"
        return f"{v.assessor} {_shown(d.final)}{why}"

    details = "; ".join(f"{k}: " + ", ".join(said(v, k) for v in views) for k in keys)
    raise ReviewkitError(
        f"{what}: the assessors judge {', '.join(keys)} differently and an override is among their judgements, "
        f"so the consensus answers cannot settle it: {details}",
        hint="judge each with --override " + " --override ".join(f"'{k}=JUDGEMENT:justification'" for k in keys)
             + ", the judgement the answers give being one choice (its reason is required too); on the TUI's "
               "consensus screen, enter on its row")


def check_consensus(session: Session, review: Review, who: ReviewerRow, study_id: int, outcome: str,
                    co_signer: str | None = None) -> None:
    """Refuse `who` the consensus of a study's outcome unless the rule allows it: a lead, an adjudicator
    or the assessors together (_check_consensus_actor), once every independent assessment is finished.
    record_consensus and the CSV import (assess_io) both apply it."""
    _check_consensus_actor(session, who, independent_assessments(session, study_id, outcome), co_signer)
    if not all_finished(session, review, study_id, outcome):
        raise ReviewkitError(f"study {study_id} ({outcome or 'no outcome'}): the consensus waits until "
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
    other = _reviewer(session, co_signer) if co_signer else None
    if other is None or other.id == who.id or assessors - {who.id} != {other.id}:
        raise PermissionDenied("an assessor records the consensus together with the other assessor(s): "
                               "name them as co-signer")


def shared_answers(session: Session, study_id: int, outcome: str) -> dict[str, tuple[str, str | None]]:
    """question → (answer, support) where every independent assessor of the study's outcome gave the
    same answer: what the consensus keeps (record_consensus, a lead's `answer`, the CSV import)."""
    views = [load_view(session, a) for a in independent_assessments(session, study_id, outcome)]
    return _agreed(views) if views else {}


def _agreed(views: list[AssessmentView]) -> dict[str, tuple[str, str | None]]:
    """question → (answer, support) where every assessor gave the same answer."""
    first, *rest = views
    out: dict[str, tuple[str, str | None]] = {}
    for qid, code in first.answers.items():
        if all(v.answers.get(qid) == code for v in rest):
            supports = [s for v in views if (s := v.supports.get(qid))]
            out[qid] = (code, " / ".join(dict.fromkeys(supports)) or None)
    return out



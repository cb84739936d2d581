"""Provides risk-of-bias assessment: blind dual assessments, answers, overrides, disagreements, consensus.

Who may do what (the protocol's roles):

- any reviewer listed in review.toml may assess (up to `assessors_per_study` per study and outcome);
- an assessor answers, overrides and finishes only their own assessment; a finished one is locked
  and may be reopened only while blinding still holds (another assessor has not finished);
- an assessor sees the others' answers only once every independent assessment of that study and
  outcome is finished (the screening blinding rule); leads and adjudicators see them then too;
- the consensus is recorded by a lead or an adjudicator, or by one assessor together with the
  other (`co_signer`), and only after all independent assessments are finished.

Storage (nothing is deleted): the current answer is the newest rob_answer row per question;
rob_judgement rows are overrides (final + justification), "accept" rows (final empty: back to the
proposal) and, under domain "status", the finished/open marks, since the schema has no status
column. Proposals are never stored: they are recomputed from the answers by the domain algorithms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewkit.domain import rob1, rob2
from reviewkit.domain.rob_common import Disagreement, compare_assessments
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import reviewer_names

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow, RobAnswerRow, RobAssessmentRow, RobJudgementRow

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


@dataclass(frozen=True)
class StudyDisagreements:
    """Where two assessors of one study and outcome differ (questions first, then domains)."""

    study_id: int
    study: str
    outcome: str
    assessor_a: str
    assessor_b: str
    items: tuple[Disagreement, ...]


@dataclass(frozen=True)
class QuestionView:
    """A question the form asks now (RoB 2 signalling question, or a RoB 1 domain), with its answer."""

    id: str
    domain: str
    text: str
    choices: tuple[str, ...]
    condition: str
    answer: str | None
    support: str | None


@dataclass(frozen=True)
class DomainView:
    """A domain's (or the overall) proposed and final judgement; `overridden` when they differ by choice."""

    key: str
    name: str
    proposed: str | None
    final: str | None
    overridden: bool
    justification: str
    unanswered: tuple[str, ...]


@dataclass(frozen=True)
class AssessmentView:
    """One assessment as the form shows it: the questions that apply, in order, and live judgements.

    `answers` holds the answers that count (to questions that apply now); judgement codes are
    RoB 2's low/some_concerns/high or RoB 1's low/high/unclear.
    """

    id: int
    study_id: int
    study: str
    outcome: str
    tool: str
    variant: str | None
    assessor: str | None
    is_consensus: bool
    finished: bool
    questions: tuple[QuestionView, ...]
    answers: Mapping[str, str]
    supports: Mapping[str, str]
    domains: tuple[DomainView, ...]
    overall: DomainView
    #: RoB 2: Some concerns in several domains; escalating to High is the assessor's call (an override).
    escalation_required: bool = False

    def domain(self, key: str) -> DomainView:
        """A domain's view by key ("D1"…, "overall")."""
        for d in (*self.domains, self.overall):
            if d.key == key:
                return d
        raise ReviewkitError(f"no domain '{key}' in a {self.tool} assessment")

    def unanswered(self) -> list[str]:
        """Questions that apply and still lack an answer, in order."""
        return [q.id for q in self.questions if q.answer is None]


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


def _rob2_domain(qid: str) -> rob2.Domain | None:
    key = f"D{qid.split('.')[0]}"
    return rob2.Domain(key) if key in rob2.Domain.__members__ and "." in qid else None


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
    domain = _rob2_domain(qid)
    if domain is None:
        raise ReviewkitError(f"unknown question '{qid}'")
    return rob2.validate_answers(domain, variant or "assignment", {qid: raw})[qid].value


def _applies(variant: str | None, answers: Mapping[str, str], qid: str, code: str) -> str | None:
    """Why this answer cannot stand given the others, or None. A question's condition reads only
    earlier questions, so its own answer is left out."""
    domain = _rob2_domain(qid)
    assert domain is not None
    own = {q: a for q, a in answers.items() if _rob2_domain(q) is domain and q != qid}
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


def effective_answers(tool: str, variant: str | None, answers: Mapping[str, str]) -> dict[str, str]:
    """The answers that count: RoB 2 answers to questions that apply now (NA only where it is an answer)."""
    if tool == "rob1":
        return dict(answers)
    out: dict[str, str] = {}
    for domain in rob2.Domain:
        own = {q: a for q, a in answers.items() if _rob2_domain(q) is domain}
        for q in rob2.applicable_questions(domain, variant or "assignment", own):
            code = own.get(q.id)
            if code is not None and (code != "NA" or q.if_applicable):
                out[q.id] = code
    return out


def build_view(row: RobAssessmentRow, study: str, assessor: str | None, answer_rows: Mapping[str, RobAnswerRow],
               judgement_rows: Mapping[str, RobJudgementRow]) -> AssessmentView:
    """Run the tool's algorithms over the stored answers and overrides (nothing stored is changed)."""
    raw = {q: r.answer for q, r in answer_rows.items()}
    supports = {q: r.support for q, r in answer_rows.items() if r.support}
    # An override always carries its reason; a row without one is not applied (never a silent change).
    over = {d: (j.final, j.justification or "") for d, j in judgement_rows.items()
            if j.final and j.justification and d != store.STATUS}
    status = judgement_rows.get(store.STATUS)
    common: dict[str, Any] = {"id": row.id, "study_id": row.study_id, "study": study, "outcome": row.outcome, "tool": row.tool,
              "variant": row.variant, "assessor": assessor, "is_consensus": row.is_consensus,
              "finished": status is not None and status.final == "finished", "supports": supports}
    if row.tool == "rob1":
        return _rob1_view(raw, supports, over, common)
    variant = rob2.Variant(row.variant or "assignment")
    eff = effective_answers("rob2", variant, raw)
    result = rob2.assess(eff, variant, study=study, result=row.outcome,
                         overrides={d: v for d, v in over.items() if d != "overall"},
                         overall_override=over.get("overall"))
    questions = tuple(
        QuestionView(q.id, q.domain.value, q.text, tuple(a.value for a in q.answers), q.condition,
                     eff.get(q.id), supports.get(q.id))
        for d in rob2.Domain for q in rob2.applicable_questions(d, variant, eff))
    domains = tuple(DomainView(d.domain.value, d.domain.full_name, _v(d.proposed), _v(d.final), d.overridden,
                               d.justification, d.unanswered) for d in result.domains)
    o = result.overall
    overall = DomainView("overall", "Overall risk of bias", _v(o.proposed), _v(o.final), o.overridden,
                         o.justification, ())
    return AssessmentView(questions=questions, answers=eff, domains=domains, overall=overall,
                          escalation_required=o.escalation_required and not o.overridden, **common)  # type: ignore[arg-type]


def _v(j: rob2.Judgement | None) -> str | None:
    return j.value if j else None


def _rob1_view(raw: dict[str, str], supports: dict[str, str], over: Mapping[str, tuple[str, str]],
               common: dict[str, Any]) -> AssessmentView:
    entries = {q: rob1.Rob1Entry(rob1.Rob1Judgement(a), supports.get(q, "")) for q, a in raw.items()}
    summary = over.get("overall")
    result = rob1.assess_rob1(entries, summary_override=summary)  # type: ignore[arg-type]
    choices = tuple(j.value for j in rob1.Rob1Judgement)
    questions = tuple(QuestionView(d.value, d.value, d.full_name, choices, "always", raw.get(d.value),
                                   supports.get(d.value)) for d in rob1.Rob1Domain)
    domains = tuple(DomainView(d.value, d.full_name, raw.get(d.value), raw.get(d.value), False, "",
                               () if d.value in raw else (d.value,)) for d in rob1.Rob1Domain)
    overall = DomainView("overall", "Summary risk of bias", result.proposed.value if result.proposed else None,
                         result.summary.value if result.summary else None, result.overridden,
                         result.justification, tuple(d.key for d in domains if d.final is None))
    return AssessmentView(questions=questions, answers=dict(raw), domains=domains, overall=overall,
                          **common)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Compared:
    """An assessment view in the shape compare_assessments reads."""

    answers: Mapping[str, str]
    values: Mapping[str, str | None]

    def question_answers(self) -> Mapping[str, str]:
        return {} if not self.answers else dict(self.answers)

    def domain_values(self) -> Mapping[str, str | None]:
        return dict(self.values)


def to_domain_assessment(view: AssessmentView) -> _Compared:
    """What rob_common.compare_assessments needs: answers (RoB 2 only) and final judgements."""
    answers = {} if view.tool == "rob1" else dict(view.answers)
    return _Compared(answers, {d.key: d.final for d in (*view.domains, view.overall)})


def _reviewer(session: Session, name: str | None) -> ReviewerRow:
    # Any reviewer of the protocol may assess; consensus checks its roles itself.
    return acting_reviewer(session, name)


def _assessment(session: Session, assessment_id: int) -> RobAssessmentRow:
    row = store.assessment(session, assessment_id)
    if row is None:
        raise ReviewkitError(f"no risk-of-bias assessment {assessment_id}")
    return row


def _independent(session: Session, study_id: int, outcome: str) -> list[RobAssessmentRow]:
    return [a for a in store.assessments(session, study_id=study_id, outcome=outcome) if not a.is_consensus]


def _consensus(session: Session, study_id: int, outcome: str) -> RobAssessmentRow | None:
    found = [a for a in store.assessments(session, study_id=study_id, outcome=outcome) if a.is_consensus]
    return found[-1] if found else None


def _all_finished(session: Session, review: Review, study_id: int, outcome: str) -> bool:
    """True once the protocol's number of independent assessments exist and all are finished."""
    rows = _independent(session, study_id, outcome)
    wanted = review.protocol.risk_of_bias.assessors_per_study
    return len(rows) >= wanted and all(store.is_finished(session, a.id) for a in rows)  # type: ignore[arg-type]


def _may_edit(session: Session, who: ReviewerRow, row: RobAssessmentRow) -> None:
    if row.is_consensus:
        if not set(who.roles) & set(CONSENSUS_ROLES):
            raise PermissionDenied(f"{who.name} may not change the consensus (leads and adjudicators may; "
                                   "assessors record it together with record_consensus)")
        return
    if row.assessor_id != who.id:
        raise PermissionDenied(f"assessment {row.id} is not {who.name}'s")
    if store.is_finished(session, row.id):  # type: ignore[arg-type]
        raise ReviewkitError(f"assessment {row.id} is finished", hint="reopen it first (possible until the "
                             "other assessors finish); later changes belong in the consensus")


def _view(session: Session, row: RobAssessmentRow) -> AssessmentView:
    assert row.id is not None
    study_row = store.study(session, row.study_id)
    names = reviewer_names(session)
    return build_view(row, study_row.label if study_row else str(row.study_id),
                      names.get(row.assessor_id) if row.assessor_id else None,  # type: ignore[arg-type]
                      store.current_answers(session, row.id), store.current_judgements(session, row.id))


def find_study(review: Review, ref: str) -> int:
    """A study's id from its label (or its id as digits); unknown or ambiguous labels are errors."""
    with session_scope(review.engine) as session:
        return _study_id(session, ref)


def _study_id(session: Session, ref: str) -> int:
    ref = ref.strip()
    found = store.studies_labelled(session, ref)
    if len(found) > 1:
        raise ReviewkitError(f"study '{ref}' is ambiguous: ids {[s.id for s in found]}", hint="give the id")
    if found:
        return found[0].id  # type: ignore[return-value]
    if ref.isdigit() and store.study(session, int(ref)) is not None:
        return int(ref)
    raise ReviewkitError(f"unknown study '{ref}'")


def studies_to_assess(review: Review, assessor: str | None) -> list[StudyTask]:
    """Every study, with this reviewer's assessments of it (the TUI's list, the CLI's `rob studies`)."""
    with session_scope(review.engine) as session:
        who = _reviewer(session, assessor)
        out = []
        for s in store.studies(session):
            rows = store.assessments(session, study_id=s.id)
            mine = tuple(MyAssessment(a.id, a.outcome, store.is_finished(session, a.id))  # type: ignore[arg-type]
                         for a in rows if a.assessor_id == who.id and not a.is_consensus)
            consensus = tuple(sorted({a.outcome for a in rows if a.is_consensus}))
            out.append(StudyTask(s.id, s.label, s.nct_id, mine, consensus))  # type: ignore[arg-type]
        return out


def start_assessment(review: Review, assessor: str | None, study_id: int, outcome: str = "",
                     variant: str | None = None) -> AssessmentView:
    """The reviewer's assessment of a study's outcome: the one they started, or a new one.

    RoB 2 is assessed per result, so `outcome` names it; the tool comes from the protocol, and the
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
        rows = _independent(session, study_id, outcome)
        for row in rows:
            if row.assessor_id == who.id:
                return _view(session, row)
        if len(rows) >= rob.assessors_per_study:
            names = reviewer_names(session)
            raise ReviewkitError(
                f"study {study_id} ({outcome or 'no outcome'}) already has its {rob.assessors_per_study} "
                f"assessors: {', '.join(names.get(r.assessor_id, '?') for r in rows)}")  # type: ignore[arg-type]
        row = store.add_assessment(session, study_id=study_id, outcome=outcome, tool=rob.tool,
                                   variant=variant if rob.tool == "rob2" else None, assessor=who,
                                   is_consensus=False, actor=who.name)
        return _view(session, row)


def assessment_view(review: Review, viewer: str | None, assessment_id: int) -> AssessmentView:
    """An assessment as `viewer` may see it: their own, the consensus, or another's once blinding ends."""
    with session_scope(review.engine) as session:
        who = _reviewer(session, viewer)
        row = _assessment(session, assessment_id)
        if not row.is_consensus and row.assessor_id != who.id:
            group = _independent(session, row.study_id, row.outcome)
            involved = any(a.assessor_id == who.id for a in group) or set(who.roles) & set(CONSENSUS_ROLES)
            if not involved or not _all_finished(session, review, row.study_id, row.outcome):
                raise PermissionDenied(
                    f"{who.name} may not see assessment {assessment_id} until every independent "
                    "assessment of that study and outcome is finished")
        return _view(session, row)


def answer(review: Review, assessor: str | None, assessment_id: int, question: str, answer: str,
           support: str | None = None) -> AssessmentView:
    """Store an answer (committed at once; a change is a new row) and return the updated view.

    RoB 2: a signalling question ("1.1") and Y/PY/PN/N/NI/NA, checked against the variant and
    the questions that apply; RoB 1: a domain ("D1") and low/high/unclear, with its support text.
    """
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
        row = _assessment(session, assessment_id)
        _may_edit(session, who, row)
        current = {q: a.answer for q, a in store.current_answers(session, assessment_id).items()}
        code = check_answer(row.tool, row.variant, current, question.strip(), answer)
        store.add_answer(session, row, question.strip(), code, (support or "").strip() or None, who.name)
        return _view(session, row)


def override(review: Review, assessor: str | None, assessment_id: int, domain: str, final: str | None,
             justification: str = "") -> AssessmentView:
    """Replace a domain's (or the overall) proposed judgement; a written justification is required.

    `final=None` goes back to the proposal. RoB 1 domains are judged directly, so only its
    overall summary can be overridden.
    """
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
        row = _assessment(session, assessment_id)
        _may_edit(session, who, row)
        domain = domain.strip()
        allowed = ["overall"] if row.tool == "rob1" else [*domain_keys(row.tool), "overall"]
        if domain not in allowed:
            raise ReviewkitError(f"cannot override '{domain}' in a {row.tool} assessment",
                                 hint=f"use {', '.join(allowed)}")
        view = _view(session, row)
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
        return _view(session, row)


def finish(review: Review, assessor: str | None, assessment_id: int) -> AssessmentView:
    """Mark an assessment finished once every domain and the overall are judged (snapshotted)."""
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
        row = _assessment(session, assessment_id)
        _may_edit(session, who, row)
        view = _view(session, row)
        _snapshot(session, row, view, who.name)
        return _view(session, row)


def _snapshot(session: Session, row: RobAssessmentRow, view: AssessmentView, actor: str) -> None:
    missing = [d.key for d in (*view.domains, view.overall) if d.final is None]
    if missing:
        raise ReviewkitError(f"assessment {row.id} is not complete: no judgement for {', '.join(missing)}",
                             hint="answer the questions still open: " + ", ".join(view.unanswered()))
    store.add_judgement(session, row, store.STATUS, proposed=None, final="finished", justification=None,
                        actor=actor, action="finish")


def reopen(review: Review, assessor: str | None, assessment_id: int) -> AssessmentView:
    """Reopen a finished assessment, while the other assessors have not all finished (blinding holds)."""
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, assessor)
        row = _assessment(session, assessment_id)
        if row.is_consensus or row.assessor_id != who.id:
            raise PermissionDenied(f"assessment {assessment_id} is not {who.name}'s")
        if not store.is_finished(session, assessment_id):
            return _view(session, row)
        if _all_finished(session, review, row.study_id, row.outcome):
            raise ReviewkitError(f"every assessor of assessment {assessment_id}'s study has finished",
                                 hint="changes now go into the consensus")
        store.add_judgement(session, row, store.STATUS, proposed=None, final="open", justification=None,
                            actor=who.name, action="reopen")
        return _view(session, row)


def _disagreements(session: Session, review: Review, study_id: int, outcome: str) -> list[StudyDisagreements]:
    if not _all_finished(session, review, study_id, outcome):
        raise PermissionDenied(f"study {study_id} ({outcome or 'no outcome'}): disagreements are shown once "
                               "every independent assessment is finished")
    views = [_view(session, a) for a in _independent(session, study_id, outcome)]
    out = []
    for i, a in enumerate(views):
        for b in views[i + 1:]:
            items = compare_assessments(to_domain_assessment(a), to_domain_assessment(b))
            out.append(StudyDisagreements(study_id, a.study, outcome, a.assessor or "", b.assessor or "",
                                          tuple(items)))
    return out


def disagreements(review: Review, study_id: int, outcome: str = "") -> list[StudyDisagreements]:
    """Each pair of assessors' differences, per question and domain (refused while any is unfinished)."""
    with session_scope(review.engine) as session:
        return _disagreements(session, review, study_id, outcome.strip())


def all_disagreements(review: Review) -> list[StudyDisagreements]:
    """Disagreements of every study and outcome whose independent assessments are all finished."""
    with session_scope(review.engine) as session:
        keys = sorted({(a.study_id, a.outcome) for a in store.assessments(session) if not a.is_consensus})
        out: list[StudyDisagreements] = []
        for study_id, outcome in keys:
            if _all_finished(session, review, study_id, outcome):
                out.extend(_disagreements(session, review, study_id, outcome))
        return out


def record_consensus(review: Review, actor: str | None, study_id: int, outcome: str = "", *,
                     answers: Mapping[str, str] | None = None,
                     overrides: Mapping[str, tuple[str, str]] | None = None,
                     co_signer: str | None = None) -> AssessmentView:
    """Record the consensus assessment (is_consensus) that plots and analyses use; one transaction.

    It starts from what the assessors agree on; `answers` settles the rest (and may change agreed
    ones), `overrides` maps a domain or "overall" to (final, justification). The result must judge
    every domain. Recording it again appends the changes to the same consensus.
    """
    outcome = outcome.strip()
    with session_scope(review.engine, write=True) as session:
        who = _reviewer(session, actor)
        group = _independent(session, study_id, outcome)
        _check_consensus_actor(session, who, group, co_signer)
        if not _all_finished(session, review, study_id, outcome):
            raise ReviewkitError(f"study {study_id} ({outcome or 'no outcome'}): the consensus waits until "
                                 f"{review.protocol.risk_of_bias.assessors_per_study} independent "
                                 "assessments are finished")
        views = [_view(session, a) for a in group]
        tool, variant = group[0].tool, group[0].variant
        agreed = _agreed(views)
        wanted = {**{q: a for q, (a, _) in agreed.items()}, **{k.strip(): v for k, v in (answers or {}).items()}}
        clean, problems = normalise_answers(tool, variant, wanted)
        if problems:
            raise ReviewkitError("consensus answers: " + "; ".join(f"{q}: {p}" for q, p in problems))
        row = _consensus(session, study_id, outcome) or store.add_assessment(
            session, study_id=study_id, outcome=outcome, tool=tool, variant=variant, assessor=who,
            is_consensus=True, actor=who.name)
        for qid, code in sorted(effective_answers(tool, variant, clean).items()):
            support = agreed[qid][1] if qid in agreed and agreed[qid][0] == code else None
            store.add_answer(session, row, qid, code, support, who.name)
        view = _view(session, row)
        allowed = ["overall"] if tool == "rob1" else [*domain_keys(tool), "overall"]
        for key, (final, why) in (overrides or {}).items():
            if key not in allowed:
                raise ReviewkitError(f"cannot override '{key}' in a {tool} assessment", hint=", ".join(allowed))
            if not why.strip():
                raise ReviewkitError(f"{key}: a consensus override needs a written justification")
            proposed = view.domain(key).proposed
            store.add_judgement(session, row, key, proposed=proposed, final=judgement_code(tool, final),
                                justification=why.strip(),
                                actor=who.name, action="override")
            view = _view(session, row)
        _snapshot(session, row, view, who.name)
        return _view(session, row)


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


def _agreed(views: list[AssessmentView]) -> dict[str, tuple[str, str | None]]:
    """question → (answer, support) where every assessor gave the same answer."""
    first, *rest = views
    out: dict[str, tuple[str, str | None]] = {}
    for qid, code in first.answers.items():
        if all(v.answers.get(qid) == code for v in rest):
            supports = [s for v in views if (s := v.supports.get(qid))]
            out[qid] = (code, " / ".join(dict.fromkeys(supports)) or None)
    return out


@dataclass(frozen=True)
class RobSummaryRow:
    """The consensus judgements of one study's outcome: what plots and forest-plot RoB columns show."""

    study_id: int
    study: str
    outcome: str
    tool: str
    #: Domain key ("D1"…) and "overall" → final judgement code (None: not judged).
    judgements: Mapping[str, str | None]
    overridden: tuple[str, ...]


def rob_summary(review: Review) -> list[RobSummaryRow]:
    """Per study and outcome, the finished consensus assessment's final judgements, in study order."""
    with session_scope(review.engine) as session:
        out = []
        for row in store.assessments(session):
            if not row.is_consensus or not store.is_finished(session, row.id):  # type: ignore[arg-type]
                continue
            latest = _consensus(session, row.study_id, row.outcome)
            if latest is None or latest.id != row.id:
                continue  # an older consensus of the same result
            view = _view(session, row)
            parts = (*view.domains, view.overall)
            out.append(RobSummaryRow(row.study_id, view.study, row.outcome, row.tool,
                                     {d.key: d.final for d in parts}, tuple(d.key for d in parts if d.overridden)))
        return sorted(out, key=lambda r: (r.study_id, r.outcome))


def rob_by_study(review: Review, outcome: str | None = None) -> dict[str, dict[str, str | None]]:
    """study label → {domain: judgement}, the mapping the forest plot's RoB columns take.

    With several assessed outcomes per study, name the one wanted; otherwise each study's only one.
    """
    rows = [r for r in rob_summary(review) if outcome is None or r.outcome == outcome.strip()]
    out: dict[str, dict[str, str | None]] = {}
    for r in rows:
        if r.study in out:
            raise ReviewkitError(f"study {r.study} has several assessed outcomes", hint="name the outcome")
        out[r.study] = dict(r.judgements)
    return out


def all_views(review: Review) -> list[AssessmentView]:
    """Every assessment (independent and consensus), oldest first: for export by the review team."""
    with session_scope(review.engine) as session:
        return [_view(session, row) for row in store.assessments(session)]

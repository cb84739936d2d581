"""Provides the risk-of-bias views: assessments as the form shows them (blinding applied), study tasks, summaries.

Nothing here writes: a view recomputes the proposals from the stored answers with the domain
algorithms and applies the stored overrides (services/assess.py and assess_consensus.py write the
rows; assess_access.py says who may).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from reviewkit.domain import rob1, rob2
from reviewkit.domain.rob_common import Disagreement
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.services.status import included_studies
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import reviewer_names

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow, RobAnswerRow, RobAssessmentRow, RobJudgementRow

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


@dataclass(frozen=True)
class StudyDisagreements:
    """Where two assessors of one study and outcome differ (questions first, then domains)."""

    study_id: int
    study: str
    outcome: str
    assessor_a: str
    assessor_b: str
    items: tuple[Disagreement, ...]
    #: The domains (and "overall") among `items` whose judgements differ where an assessor recorded
    #: theirs with a reason (an override, or the RoB 2 escalation choice): settling the answers does not
    #: settle them, the consensus judges each explicitly (services/assess_consensus.record_consensus).
    to_decide: tuple[str, ...] = ()
    #: The judgements both assessors recorded with a reason and agree on, which the consensus carries:
    #: like `to_decide`, they go back to what the answers give only with a reason of the consensus's own.
    carried: tuple[str, ...] = ()
    #: Domain key → (assessor a's reason, b's reason; None: took the proposal), for the domains either
    #: assessor judged with a reason.
    reasons: tuple[tuple[str, str | None, str | None], ...] = ()

    def reason(self, key: str) -> tuple[str | None, str | None]:
        """Each assessor's reason for a domain's judgement (None: the algorithm's proposal)."""
        return next(((a, b) for k, a, b in self.reasons if k == key), (None, None))


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
    """A domain's (or the overall) proposed and final judgement; `overridden` when they differ by choice.

    `chosen`: the final judgement was recorded with a written reason (`justification`), whether it
    differs from the proposal (an override) or keeps it (e.g. RoB 2's "do not escalate to High").
    """

    key: str
    name: str
    proposed: str | None
    final: str | None
    overridden: bool
    justification: str
    unanswered: tuple[str, ...]
    chosen: bool = False


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
    #: RoB 2: Some concerns in several domains and no overall judgement recorded with a reason yet:
    #: whether that amounts to High is the assessor's call (rob2.md §7), recorded as the overall's
    #: judgement with a reason (High: escalated; Some concerns: not). Finishing waits for it.
    escalation_required: bool = False
    #: RoB 2: the domains at Some concerns when the escalation is a choice (decided or not), else empty.
    concerns: tuple[str, ...] = ()

    def domain(self, key: str) -> DomainView:
        """A domain's view by key ("D1"…, "overall")."""
        for d in (*self.domains, self.overall):
            if d.key == key:
                return d
        raise ReviewkitError(f"no domain '{key}' in a {self.tool} assessment")

    def unanswered(self) -> list[str]:
        """Questions that apply and still lack an answer, in order."""
        return [q.id for q in self.questions if q.answer is None]


@dataclass(frozen=True)
class ConsensusChange:
    """One thing a recording of the consensus changed: an answer (`level` "question"; RoB 1: a domain's
    judgement, its answer) or a judgement (`level` "domain": a RoB 2 domain or the overall), from
    `before` to `after` (codes; None: none), each with the reason it was recorded with ("" for none)."""

    level: Literal["question", "domain"]
    key: str
    before: str | None
    after: str | None
    before_reason: str = ""
    after_reason: str = ""
    #: Why the change was made without being asked for (an agreed answer the consensus had contradicted).
    note: str = ""

    def __str__(self) -> str:
        def side(code: str | None, why: str) -> str:
            shown = code.replace("_", " ") if code else "—"
            return f"{shown} ({why})" if why else shown

        what = self.key if self.level == "question" else f"{self.key} (judgement)"
        text = f"{what}: {side(self.before, self.before_reason)} → {side(self.after, self.after_reason)}"
        return f"{text}; {self.note}" if self.note else text


@dataclass(frozen=True)
class RecordedConsensus(AssessmentView):
    """The consensus as a recording left it (assess_consensus.record_consensus), with what it changed.

    `revised`: the study's outcome had a consensus before this recording; `changes` then lists what the
    recording changed in it (empty: nothing, it stands as before). A first recording has no changes.
    """

    revised: bool = False
    changes: tuple[ConsensusChange, ...] = ()

    @classmethod
    def of(cls, view: AssessmentView, *, revised: bool, changes: Sequence[ConsensusChange]) -> RecordedConsensus:
        """`view` with what the recording changed."""
        return cls(**{f.name: getattr(view, f.name) for f in fields(AssessmentView)}, revised=revised,
                   changes=tuple(changes))


def _question_order(view: AssessmentView) -> list[str]:
    if view.tool == "rob1":
        return [d.value for d in rob1.Rob1Domain]
    return [q.id for d in rob2.Domain for q in rob2.questions(d, view.variant or "assignment")]


def consensus_changes(before: AssessmentView, after: AssessmentView) -> list[ConsensusChange]:
    """What differs between two states of one consensus: the answers that count, in the form's order,
    then each judgement whose final value or recorded reason differs (one the answers changed too, so a
    revision shows what it did to the judgements). RoB 1 domains are their own answers: listed once."""
    out: list[ConsensusChange] = []
    for qid in _question_order(after):
        old, new = before.answers.get(qid), after.answers.get(qid)
        if old != new:
            out.append(ConsensusChange("question", qid, old, new))
    for d in (*after.domains, after.overall):
        if after.tool == "rob1" and d.key != "overall":
            continue
        b = before.domain(d.key)
        old_why, new_why = (b.justification if b.chosen else ""), (d.justification if d.chosen else "")
        if (b.final, old_why) != (d.final, new_why):
            out.append(ConsensusChange("domain", d.key, b.final, d.final, old_why, new_why))
    return out


#: One answer of each kind the RoB 2 conditions tell apart (PY reads as Y, PN as N).
_ANSWER_KINDS = ("Y", "N", "NI", "NA")


def open_questions(view: AssessmentView) -> tuple[list[str], list[str]]:
    """(the questions open now, those their answers may still open): what a refusal to finish names,
    so an assessor or a consensus learns every question it may need, not one round at a time.

    RoB 2 conditions read earlier answers only, so each domain's open question is tried with every
    kind of answer it allows, in turn, collecting the follow-up questions any of them asks."""
    now = view.unanswered()
    if view.tool == "rob1" or not now:
        return now, []
    variant = view.variant or "assignment"
    later: set[str] = set()
    for domain in rob2.Domain:
        own = {q: a for q, a in view.answers.items() if rob2_domain(q) is domain}
        if any(rob2_domain(q) is domain for q in now):
            later |= _reachable(domain, variant, own)
    order = [q.id for d in rob2.Domain for q in rob2.questions(d, variant)]
    return now, [q for q in order if q in later - set(now)]


def _reachable(domain: rob2.Domain, variant: str, answers: dict[str, str]) -> set[str]:
    """Every question of `domain` asked along some way of answering its open questions."""
    shown = rob2.applicable_questions(domain, variant, answers)
    found = {q.id for q in shown}
    first = next((q for q in shown if q.id not in answers), None)
    if first is None:
        return found
    for kind in _ANSWER_KINDS:
        if kind in {a.value for a in first.answers} and (kind != "NA" or first.if_applicable):
            found |= _reachable(domain, variant, {**answers, first.id: kind})
    return found


def rob2_domain(qid: str) -> rob2.Domain | None:
    """The RoB 2 domain of a signalling question ("1.1" → D1); None for anything else."""
    key = f"D{qid.split('.')[0]}"
    return rob2.Domain(key) if key in rob2.Domain.__members__ and "." in qid else None


def effective_answers(tool: str, variant: str | None, answers: Mapping[str, str]) -> dict[str, str]:
    """The answers that count: RoB 2 answers to questions that apply now (NA only where it is an answer)."""
    if tool == "rob1":
        return dict(answers)
    out: dict[str, str] = {}
    for domain in rob2.Domain:
        own = {q: a for q, a in answers.items() if rob2_domain(q) is domain}
        for q in rob2.applicable_questions(domain, variant or "assignment", own):
            code = own.get(q.id)
            if code is not None and (code != "NA" or q.if_applicable):
                out[q.id] = code
    return out


def _stands(row: RobJudgementRow, proposed: str | None) -> bool:
    """Whether a judgement recorded with a reason still applies: one that kept the proposal of its day
    (final = the proposal then, e.g. "not escalated") lapses once the answers change the proposal, or it
    would turn into an override its reason was never written for (Some concerns kept against a High)."""
    return row.proposed is None or row.final != row.proposed or row.proposed == proposed


def build_view(row: RobAssessmentRow, study: str, assessor: str | None, answer_rows: Mapping[str, RobAnswerRow],
               judgement_rows: Mapping[str, RobJudgementRow]) -> AssessmentView:
    """Run the tool's algorithms over the stored answers and overrides (nothing stored is changed)."""
    raw = {q: r.answer for q, r in answer_rows.items()}
    supports = {q: r.support for q, r in answer_rows.items() if r.support}
    # An override always carries its reason; a row without one is not applied (never a silent change).
    rows = {d: j for d, j in judgement_rows.items() if j.final and j.justification and d != store.STATUS}
    status = judgement_rows.get(store.STATUS)
    common: dict[str, Any] = {"id": row.id, "study_id": row.study_id, "study": study, "outcome": row.outcome, "tool": row.tool,
              "variant": row.variant, "assessor": assessor, "is_consensus": row.is_consensus,
              "finished": status is not None and status.final == "finished", "supports": supports}
    if row.tool == "rob1":
        return _rob1_view(raw, supports, rows, common)
    variant = rob2.Variant(row.variant or "assignment")
    eff = effective_answers("rob2", variant, raw)
    # Proposals first (they do not depend on overrides), to tell which recorded judgements still stand.
    plain = {d.domain.value: _v(d.proposed) for d in rob2.assess(eff, variant).domains}
    over = {d: (j.final or "", j.justification or "") for d, j in rows.items()
            if d in plain and _stands(j, plain[d])}
    judged = rob2.assess(eff, variant, overrides=over)
    overall_row = rows.get("overall")
    overall_over = ((overall_row.final or "", overall_row.justification or "")
                    if overall_row is not None and _stands(overall_row, _v(judged.overall.proposed)) else None)
    result = rob2.assess(eff, variant, study=study, result=row.outcome, overrides=over,
                         overall_override=overall_over)
    questions = tuple(
        QuestionView(q.id, q.domain.value, q.text, tuple(a.value for a in q.answers), q.condition,
                     eff.get(q.id), supports.get(q.id))
        for d in rob2.Domain for q in rob2.applicable_questions(d, variant, eff))
    domains = tuple(DomainView(d.domain.value, d.domain.full_name, _v(d.proposed), _v(d.final), d.overridden,
                               over[d.domain.value][1] if d.domain.value in over else "", d.unanswered,
                               d.domain.value in over) for d in result.domains)
    o = result.overall
    overall = DomainView("overall", "Overall risk of bias", _v(o.proposed), _v(o.final), o.overridden,
                         overall_over[1] if overall_over else "", (), overall_over is not None)
    return AssessmentView(questions=questions, answers=eff, domains=domains, overall=overall,
                          escalation_required=o.escalation_required and overall_over is None,
                          concerns=tuple(d.value for d in o.concerns) if o.escalation_required else (), **common)


def _v(j: rob2.Judgement | None) -> str | None:
    return j.value if j else None


def _rob1_view(raw: dict[str, str], supports: dict[str, str], rows: Mapping[str, RobJudgementRow],
               common: dict[str, Any]) -> AssessmentView:
    entries = {q: rob1.Rob1Entry(rob1.Rob1Judgement(a), supports.get(q, "")) for q, a in raw.items()}
    proposed = rob1.assess_rob1(entries).proposed
    row = rows.get("overall")
    summary = ((row.final or "", row.justification or "")
               if row is not None and _stands(row, proposed.value if proposed else None) else None)
    result = rob1.assess_rob1(entries, summary_override=summary)
    choices = tuple(j.value for j in rob1.Rob1Judgement)
    questions = tuple(QuestionView(d.value, d.value, d.full_name, choices, "always", raw.get(d.value),
                                   supports.get(d.value)) for d in rob1.Rob1Domain)
    domains = tuple(DomainView(d.value, d.full_name, raw.get(d.value), raw.get(d.value), False, "",
                               () if d.value in raw else (d.value,)) for d in rob1.Rob1Domain)
    overall = DomainView("overall", "Summary risk of bias", result.proposed.value if result.proposed else None,
                         result.summary.value if result.summary else None, result.overridden,
                         summary[1] if summary else "", tuple(d.key for d in domains if d.final is None),
                         summary is not None)
    return AssessmentView(questions=questions, answers=dict(raw), domains=domains, overall=overall,
                          **common)


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
                      store.current_answers(session, row.id), store.current_judgements(session, row.id))


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
            latest = latest_consensus(session, row.study_id, row.outcome)
            if latest is None or latest.id != row.id:
                continue  # an older consensus of the same result
            view = load_view(session, row)
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
        return [load_view(session, row) for row in store.assessments(session)]

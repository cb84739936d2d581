"""Provides a risk-of-bias assessment as the form shows it: the questions that apply, in order, with their answers, and live judgements.

Nothing here writes: a view recomputes the proposals from the stored answers with the domain
algorithms and applies the stored overrides (services/assess.py and assess_consensus.py write the
rows; assess_access.py says who may; assess_view.py reads them as a reviewer may see them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewkit.domain import rob1, rob2
from reviewkit.errors import ReviewkitError
from reviewkit.store import rob as store

if TYPE_CHECKING:
    from reviewkit.store.tables import RobAnswerRow, RobAssessmentRow, RobJudgementRow


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
    #: What the form, `rob finish` and the TUI should say about the judgements: an escalation choice that
    #: lapsed because the answers no longer leave it a choice; a consensus reopened by an incomplete edit.
    notes: tuple[str, ...] = ()

    def domain(self, key: str) -> DomainView:
        """A domain's view by key ("D1"…, "overall")."""
        for d in (*self.domains, self.overall):
            if d.key == key:
                return d
        raise ReviewkitError(f"no domain '{key}' in a {self.tool} assessment")

    def unanswered(self) -> list[str]:
        """Questions that apply and still lack an answer, in order."""
        return [q.id for q in self.questions if q.answer is None]


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
    # Questions already answered are asked now already: they are not for the answers to open.
    return now, [q for q in order if q in later - set(now) - set(view.answers)]


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
               judgement_rows: Mapping[str, RobJudgementRow], *,
               was_choice: Callable[[RobJudgementRow], bool] | None = None) -> AssessmentView:
    """Run the tool's algorithms over the stored answers and overrides (nothing stored is changed).

    `was_choice` tells whether the RoB 2 escalation was a choice when an overall judgement was recorded
    (assess_view rebuilds it from the history); such a choice, High (escalated) or Some concerns (not),
    stands only while it is still a choice (_escalation_stands), like a kept proposal. Without it, an
    overall judgement stands as any other recorded judgement does (_stands)."""
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
    notes: tuple[str, ...] = ()
    if overall_row is not None and _escalation_shaped(overall_row) and was_choice is not None and was_choice(overall_row):
        stands = judged.overall.escalation_required
        if not stands:
            notes = (_lapsed_escalation(overall_row, judged.overall),)
    else:
        stands = overall_row is not None and _stands(overall_row, _v(judged.overall.proposed))
    overall_over = (overall_row.final or "", overall_row.justification or "") if overall_row is not None and stands else None
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
                          concerns=tuple(d.value for d in o.concerns) if o.escalation_required else (), notes=notes,
                          **common)


def _escalation_shaped(row: RobJudgementRow) -> bool:
    """An overall judgement recorded against a proposed Some concerns as High or Some concerns: the RoB 2
    escalation choice (yes or no) when it was recorded while escalating was a choice."""
    return row.proposed == rob2.Judgement.SOME_CONCERNS.value and row.final in {
        rob2.Judgement.HIGH.value, rob2.Judgement.SOME_CONCERNS.value}


def _lapsed_escalation(row: RobJudgementRow, overall: rob2.OverallDecision) -> str:
    """What happened to an escalation choice that is no longer one, for `rob finish` and the TUI to say."""
    was = "High (escalated)" if row.final == rob2.Judgement.HIGH.value else "Some concerns (not escalated)"
    if overall.proposed is None:
        now = "a domain is not judged"
    elif overall.proposed is rob2.Judgement.HIGH:
        now = "a domain is High, so the overall is High"
    elif overall.proposed is rob2.Judgement.LOW:
        now = "every domain is Low"
    else:
        now = f"only {', '.join(overall.concerns)} is Some concerns"
    given = f", the overall is {_label(_v(overall.proposed))} from the domains" if overall.proposed else ""
    return (f"the escalation choice recorded for the overall, {was}: {row.justification or ''}, no longer applies "
            f"and lapsed ({now}{given}; escalating is a choice only with two or more domains at Some concerns "
            "and none High)")


def _label(code: str | None) -> str:
    return {"low": "Low", "some_concerns": "Some concerns", "high": "High"}.get(code or "", "not judged")


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
    # RoB 1 asks every domain; its "condition" says the unit it is judged for (the per-study ones hold for
    # every outcome of the study: assess_study_domains keeps them alike).
    questions = tuple(QuestionView(d.value, d.value, d.full_name, choices,
                                   "judged per outcome" if d in rob1.PER_OUTCOME else "judged once per study",
                                   raw.get(d.value), supports.get(d.value)) for d in rob1.Rob1Domain)
    domains = tuple(DomainView(d.value, d.full_name, raw.get(d.value), raw.get(d.value), False, "",
                               () if d.value in raw else (d.value,)) for d in rob1.Rob1Domain)
    overall = DomainView("overall", "Summary risk of bias", result.proposed.value if result.proposed else None,
                         result.summary.value if result.summary else None, result.overridden,
                         summary[1] if summary else "", tuple(d.key for d in domains if d.final is None),
                         summary is not None)
    return AssessmentView(questions=questions, answers=dict(raw), domains=domains, overall=overall,
                          **common)

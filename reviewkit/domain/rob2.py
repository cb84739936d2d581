"""Provides Cochrane RoB 2 for individually randomised parallel-group trials: the algorithms."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reviewkit.domain.rob2_questions import (
    NO,
    NO_NI,
    YES,
    YES_NI,
    Answer,
    Answers,
    Direction,
    Domain,
    DomainJudgements,
    Judgement,
    Question,
    Variant,
    questions,
)
from reviewkit.domain.rob_common import Level, RobRow, RobTable, check_weights, decide
from reviewkit.errors import ReviewkitError

__all__ = ["Answer", "Direction", "Domain", "Judgement", "Question", "Variant", "questions"]


def _walk(domain: Domain, variant: Variant, answers: Answers
          ) -> tuple[list[Question], dict[str, Answer | None]]:
    # In question order; a question whose condition fails reads as NA whatever was typed, so
    # later conditions see what the official form would have greyed out.
    eff: dict[str, Answer | None] = {}
    shown: list[Question] = []
    for q in questions(domain, variant):
        if q.applies(eff):
            shown.append(q)
            eff[q.id] = answers.get(q.id)
        else:
            eff[q.id] = Answer.NA
    return shown, eff


def applicable_questions(domain: Domain | str, variant: Variant | str,
                         answers: Mapping[str, Answer | str]) -> list[Question]:
    """The questions a form should ask now, given the answers so far.

    A conditional question appears once its condition is met by the answers given; one whose
    condition depends on an unanswered question is not shown yet. Answers to other domains'
    questions are ignored, so a form may pass everything it holds.
    """
    domain, variant = Domain(domain), Variant(variant)
    own = {q.id for q in questions(domain, variant)}
    return _walk(domain, variant, validate_answers(
        domain, variant, {k: v for k, v in answers.items() if k in own}))[0]


class _Missing(Exception):
    """The algorithm needed an answer that is not there."""


class _Reader:
    def __init__(self, eff: Mapping[str, Answer | None]) -> None:
        self._eff = eff

    def __getitem__(self, qid: str) -> Answer:
        value = self._eff[qid]
        if value is None:
            raise _Missing(qid)
        return value


def _d1(a: _Reader) -> Judgement:
    # rob2.md §2
    if a["1.2"] in NO:
        return Judgement.HIGH
    if a["1.2"] is Answer.NI:
        return Judgement.HIGH if a["1.3"] in YES else Judgement.SOME_CONCERNS
    if a["1.1"] in NO or a["1.3"] in YES:
        return Judgement.SOME_CONCERNS
    return Judgement.LOW


def _d2_assignment(a: _Reader) -> Judgement:
    # rob2.md §3a: part 1 (2.1–2.5) and part 2 (2.6–2.7), then combined.
    if a["2.1"] in NO and a["2.2"] in NO or a["2.3"] in NO:
        part1 = Judgement.LOW
    elif a["2.3"] is Answer.NI or a["2.4"] in NO or a["2.5"] in YES:
        part1 = Judgement.SOME_CONCERNS
    else:
        part1 = Judgement.HIGH
    if a["2.6"] in YES:
        part2 = Judgement.LOW
    else:
        part2 = Judgement.SOME_CONCERNS if a["2.7"] in NO else Judgement.HIGH
    if Judgement.HIGH in (part1, part2):
        return Judgement.HIGH
    return Judgement.LOW if part1 is part2 is Judgement.LOW else Judgement.SOME_CONCERNS


def _d2_adherence(a: _Reader) -> Judgement:
    # rob2.md §3b
    aware = a["2.1"] in YES_NI or a["2.2"] in YES_NI
    problem = aware and a["2.3"] in NO_NI
    if not problem and a["2.4"] in NO | {Answer.NA} and a["2.5"] in NO | {Answer.NA}:
        return Judgement.LOW
    return Judgement.SOME_CONCERNS if a["2.6"] in YES else Judgement.HIGH


def _d3(a: _Reader) -> Judgement:
    # rob2.md §4
    if a["3.1"] in YES or a["3.2"] in YES or a["3.3"] in NO:
        return Judgement.LOW
    return Judgement.SOME_CONCERNS if a["3.4"] in NO else Judgement.HIGH


def _d4(a: _Reader) -> Judgement:
    # rob2.md §5: NI on 4.2 downgrades a Low to Some concerns.
    if a["4.1"] in YES or a["4.2"] in YES:
        return Judgement.HIGH
    if a["4.3"] in NO or a["4.4"] in NO:
        base = Judgement.LOW
    else:
        base = Judgement.SOME_CONCERNS if a["4.5"] in NO else Judgement.HIGH
    if base is Judgement.LOW and a["4.2"] is Answer.NI:
        return Judgement.SOME_CONCERNS
    return base


def _d5(a: _Reader) -> Judgement:
    # rob2.md §6
    if a["5.2"] in YES or a["5.3"] in YES:
        return Judgement.HIGH
    if a["5.2"] in NO and a["5.3"] in NO and a["5.1"] in YES:
        return Judgement.LOW
    return Judgement.SOME_CONCERNS


_ALGORITHMS: dict[tuple[Domain, Variant | None], Callable[[_Reader], Judgement]] = {
    (Domain.D1, None): _d1,
    (Domain.D2, Variant.ASSIGNMENT): _d2_assignment,
    (Domain.D2, Variant.ADHERENCE): _d2_adherence,
    (Domain.D3, None): _d3,
    (Domain.D4, None): _d4,
    (Domain.D5, None): _d5,
}


@dataclass(frozen=True)
class DomainProposal:
    """What the algorithm proposes for one domain of one result.

    `proposed` is None when an answer the algorithm needs is missing (never a guess);
    `unanswered` lists the applicable questions still without an answer; `ignored` the answers
    given to questions whose condition is not met (they do not count).
    """

    domain: Domain
    variant: Variant
    proposed: Judgement | None
    unanswered: tuple[str, ...]
    ignored: tuple[str, ...] = ()

    @property
    def incomplete(self) -> bool:
        """True when the algorithm could not decide."""
        return self.proposed is None


def validate_answers(domain: Domain | str, variant: Variant | str,
                     answers: Mapping[str, Answer | str]) -> dict[str, Answer]:
    """Check ids and answer codes against the domain's questions; ReviewkitError names the bad ones."""
    domain, variant = Domain(domain), Variant(variant)
    known = {q.id: q for q in questions(domain, variant)}
    clean: dict[str, Answer] = {}
    bad: list[str] = []
    for qid, raw in answers.items():
        q = known.get(qid)
        code = str(raw).strip().upper()
        if q is None:
            bad.append(f"unknown question {qid!r} in {domain} ({variant})")
        elif code not in {a.value for a in q.answers}:
            allowed = "/".join(a.value for a in q.answers)
            bad.append(f"{qid}={raw!s} (allowed: {allowed})")
        else:
            clean[qid] = Answer(code)
    if bad:
        raise ReviewkitError("invalid RoB 2 answers: " + "; ".join(bad))
    return clean


def propose_domain(domain: Domain | str, answers: Mapping[str, Answer | str],
                   variant: Variant | str = Variant.ASSIGNMENT) -> DomainProposal:
    """Run the official algorithm of one domain on the answers given (rob2.md §2–§6)."""
    domain, variant = Domain(domain), Variant(variant)
    clean = validate_answers(domain, variant, answers)
    shown, effective = _walk(domain, variant, clean)
    shown_ids = {q.id for q in shown}
    # NA is a real answer only for "[If applicable]" questions; elsewhere, once the condition is
    # met, NA would hide a question the algorithm reads.
    wrong_na = [q.id for q in shown if clean.get(q.id) is Answer.NA and not q.if_applicable]
    if wrong_na:
        raise ReviewkitError(
            f"{domain}: NA given to {', '.join(wrong_na)}, whose condition is met",
            hint="answer Y/PY/PN/N/NI; NA is only for questions whose condition is not met")
    unanswered = tuple(q.id for q in shown if q.id not in clean)
    ignored = tuple(qid for qid, ans in clean.items() if qid not in shown_ids and ans is not Answer.NA)
    algorithm = _ALGORITHMS[(domain, variant if domain is Domain.D2 else None)]
    try:
        proposed: Judgement | None = algorithm(_Reader(effective))
    except _Missing:
        proposed = None
    return DomainProposal(domain, variant, proposed, unanswered, ignored)


def _split(answers: Mapping[str, Answer | str]
           ) -> tuple[dict[Domain, dict[str, Answer | str]], list[str]]:
    grouped: dict[Domain, dict[str, Answer | str]] = {}
    unknown: list[str] = []
    for qid, value in answers.items():
        key = f"D{qid.split('.')[0]}"
        if key in Domain.__members__:
            grouped.setdefault(Domain(key), {})[qid] = value
        else:
            unknown.append(f"unknown question {qid!r}")
    return grouped, unknown


def split_answers(answers: Mapping[str, Answer | str],
                  variant: Variant | str = Variant.ASSIGNMENT) -> dict[Domain, dict[str, Answer]]:
    """Group "1.1"-style answers by domain, checked; one ReviewkitError names every bad id and answer."""
    grouped, problems = _split(answers)
    clean: dict[Domain, dict[str, Answer]] = {}
    for domain, given in grouped.items():
        try:
            clean[domain] = validate_answers(domain, variant, given)
        except ReviewkitError as exc:
            problems.append(exc.message.removeprefix("invalid RoB 2 answers: "))
    if problems:
        raise ReviewkitError("invalid RoB 2 answers: " + "; ".join(problems))
    return clean


@dataclass(frozen=True)
class DomainResult:
    """One domain of an assessed result: the proposal, the final judgement and any override."""

    domain: Domain
    proposed: Judgement | None
    final: Judgement | None
    overridden: bool
    justification: str
    unanswered: tuple[str, ...]
    ignored: tuple[str, ...]
    direction: Direction = Direction.NA


@dataclass(frozen=True)
class OverallDecision:
    """The overall judgement (rob2.md §7).

    With two or more domains at Some concerns and none High, the tool leaves escalation to High
    to the assessor: the documented default is Some concerns (`escalation_required` stays True
    and `escalated` False until decided); `escalate=True` with a reason gives High.
    """

    proposed: Judgement | None
    final: Judgement | None
    concerns: tuple[Domain, ...]
    escalation_required: bool
    escalated: bool
    reason: str
    overridden: bool
    justification: str


def _judged(judgements: DomainJudgements) -> dict[Domain, Judgement | None]:
    # Codes ("some_concerns") read as judgements: the rule below compares by identity.
    return {Domain(k): Judgement(v) if v is not None else None for k, v in judgements.items()}


def propose_overall(judgements: DomainJudgements) -> Judgement | None:
    """Low if all five domains are Low, High if any is High, else Some concerns; None if any is unjudged.

    The "Some concerns in multiple domains" route to High is a judgement, not a count
    (rob2.md §7), so it is left to decide_overall.
    """
    judged = _judged(judgements)
    values = [judged.get(d) for d in Domain]
    if any(v is None for v in values):
        return None
    if Judgement.HIGH in values:
        return Judgement.HIGH
    return Judgement.LOW if all(v is Judgement.LOW for v in values) else Judgement.SOME_CONCERNS


def decide_overall(judgements: DomainJudgements, *,
                   escalate: bool | None = None, reason: str = "",
                   final: Judgement | str | None = None, justification: str = "") -> OverallDecision:
    """Apply the overall rule, the assessor's escalation choice, and any justified override."""
    final = Judgement(final) if final is not None else None
    judged = _judged(judgements)
    proposed = propose_overall(judged)
    concerns = tuple(d for d in Domain if judged.get(d) is Judgement.SOME_CONCERNS)
    required = proposed is Judgement.SOME_CONCERNS and len(concerns) >= 2
    outcome = proposed
    if escalate is not None:
        if not required:
            raise ReviewkitError(
                "overall: escalation to High is a choice only when two or more domains are "
                "Some concerns and none is High")
        if escalate and not reason.strip():
            raise ReviewkitError("overall: escalating to High needs a written reason "
                                 f"(Some concerns in {', '.join(concerns)})")
        outcome = Judgement.HIGH if escalate else proposed
    overridden = final is not None and final is not outcome
    if final is not None and overridden and not justification.strip():
        raise ReviewkitError(f"overall: overriding {outcome.short if outcome else 'incomplete'} "
                             f"with {Judgement(final).short} needs a written justification")
    return OverallDecision(proposed, final if final is not None and overridden else outcome,
                           concerns,
                           required, bool(escalate), reason.strip(), overridden,
                           justification.strip() if overridden else "")


@dataclass(frozen=True)
class Rob2Assessment:
    """A complete RoB 2 assessment of one result (study, outcome, time point, analysis)."""

    study: str
    result: str
    variant: Variant
    answers: Mapping[str, Answer]
    domains: tuple[DomainResult, ...]
    overall: OverallDecision

    def domain(self, domain: Domain | str) -> DomainResult:
        """The result for one domain."""
        return self.domains[list(Domain).index(Domain(domain))]

    def question_answers(self) -> Mapping[str, str]:
        """Answer codes by question id (for consensus comparison)."""
        return {qid: a.value for qid, a in self.answers.items()}

    def domain_values(self) -> Mapping[str, str | None]:
        """Final judgement codes by domain key, plus "overall"."""
        values: dict[str, str | None] = {
            d.domain.value: d.final.value if d.final else None for d in self.domains}
        values["overall"] = self.overall.final.value if self.overall.final else None
        return values


def assess(answers: Mapping[str, Answer | str], variant: Variant | str = Variant.ASSIGNMENT, *,
           study: str = "", result: str = "",
           overrides: Mapping[Domain | str, tuple[Judgement | str, str]] | None = None,
           escalate: bool | None = None, escalation_reason: str = "",
           overall_override: tuple[Judgement | str, str] | None = None,
           directions: Mapping[Domain | str, Direction | str] | None = None) -> Rob2Assessment:
    """Propose every domain's judgement, apply justified overrides, then the overall rule.

    `overrides` maps a domain to (final judgement, justification); a blank justification is a
    ReviewkitError naming the domain. `directions` records the optional predicted direction
    of bias per domain.
    """
    try:
        bias_dirs = {Domain(k): Direction(v) for k, v in (directions or {}).items()}
    except ValueError as exc:
        raise ReviewkitError(f"bad direction of bias: {exc}",
                             hint=", ".join(d.value for d in Direction)) from None
    variant = Variant(variant)
    grouped = split_answers(answers, variant)
    wanted = {Domain(k): (Judgement(j), why) for k, (j, why) in (overrides or {}).items()}
    results: list[DomainResult] = []
    clean: dict[str, Answer] = {}
    for domain in Domain:
        given = grouped.get(domain, {})
        clean.update(given)
        prop = propose_domain(domain, given, variant)
        final, why = wanted.get(domain, (None, ""))
        label = f"{domain} ({domain.full_name})"
        dec = decide(label, prop.proposed, final, why)
        results.append(DomainResult(
            domain, prop.proposed, Judgement(dec.final) if dec.final else None, dec.overridden,
            dec.justification if dec.overridden else "", prop.unanswered, prop.ignored,
            bias_dirs.get(domain, Direction.NA)))
    final_overall, why_overall = overall_override or (None, "")
    overall = decide_overall(
        {r.domain: r.final for r in results}, escalate=escalate, reason=escalation_reason,
        final=Judgement(final_overall) if final_overall else None, justification=why_overall)
    return Rob2Assessment(study, result, variant, clean, tuple(results), overall)


ROB2_LEVELS = (Level("low", "Low risk", "+"), Level("some_concerns", "Some concerns", "−"),
               Level("high", "High risk", "×"))
#: A domain not yet judged (robvis's "?").
ROB2_MISSING = Level("no_information", "No information", "?")


def rob2_table(assessments: Sequence[Rob2Assessment],
               weights: Mapping[str, float] | Sequence[float] | None = None) -> RobTable:
    """Final judgements of several results as a plot-ready table; rows are labelled by study.

    A domain not yet judged shows as "No information" (robvis's "?").
    """
    labels = [a.study + (f" ({a.result})" if a.result else "") for a in assessments]
    rows = tuple(
        RobRow(label, tuple(d.final.value if d.final else None for d in a.domains),
               a.overall.final.value if a.overall.final else None, w)
        for label, a, w in zip(labels, assessments, check_weights(labels, weights), strict=True))
    return RobTable("rob2", tuple(d.value for d in Domain), tuple(d.full_name for d in Domain),
                    ROB2_LEVELS, rows, ROB2_MISSING)

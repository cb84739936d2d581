"""Provides how risk-of-bias assessments differ: where two assessors disagree, and what a recording of the consensus changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

from reviewkit.domain import rob1, rob2
from reviewkit.domain.rob_common import Disagreement
from reviewkit.services.assess_form import AssessmentView


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
    #: Key (a RoB 2 question; a RoB 1 domain, whose answer is its judgement) → (a's support, b's support; None:
    #: none written), for the `items` either wrote one for: what each based the answer on, for the meeting.
    supports: tuple[tuple[str, str | None, str | None], ...] = ()

    def reason(self, key: str) -> tuple[str | None, str | None]:
        """Each assessor's reason for a domain's judgement (None: the algorithm's proposal)."""
        return next(((a, b) for k, a, b in self.reasons if k == key), (None, None))

    def support(self, key: str) -> tuple[str | None, str | None]:
        """Each assessor's support text for a question's answer (None: none written)."""
        return next(((a, b) for k, a, b in self.supports if k == key), (None, None))


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

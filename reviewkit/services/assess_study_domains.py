"""Provides RoB 1's per-study domains: one judgement per study, kept alike in each outcome's assessment.

RoB 1 judges random sequence generation, allocation concealment, selective reporting and other bias
once per study, and only blinding and incomplete outcome data per outcome (Handbook 5.1 Table 8.5.a;
rob1.PER_STUDY). reviewkit stores an assessment per study and outcome, so an assessor assessing two
outcomes of a study would otherwise judge the same per-study domain twice, and could judge it two ways:
the plots and summaries would then show one trial both at low and at high risk of, say, selection bias.
So an assessor's new outcome starts from their per-study judgements of the study (carry_into), a change
of one is made in each of their open assessments of the study (spread_answer), and a change that a
finished one contradicts is refused (reopen that one first). The consensus keeps the same rule across
the study's consensus assessments (consensus_answers).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from reviewkit.domain import rob1
from reviewkit.errors import ReviewkitError
from reviewkit.store import rob as store

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import RobAssessmentRow

PER_STUDY_KEYS: tuple[str, ...] = tuple(d.value for d in rob1.PER_STUDY)


def _name(qid: str) -> str:
    return f"{qid} ({rob1.Rob1Domain(qid).full_name.split(' (')[0]})"  # the name without its bias type


def _outcome(row: RobAssessmentRow) -> str:
    return f"'{row.outcome}'" if row.outcome else "(no outcome)"


def _siblings(session: Session, row: RobAssessmentRow) -> list[RobAssessmentRow]:
    """The assessor's other RoB 1 assessments of the same study (other outcomes), oldest first."""
    return [a for a in store.assessments(session, study_id=row.study_id)
            if a.id != row.id and a.tool == "rob1" and not a.is_consensus and a.assessor_id == row.assessor_id]


def carry_into(session: Session, row: RobAssessmentRow, actor: str) -> str | None:
    """Answer a new assessment's per-study domains as the assessor already judged them for the study (the
    newest answer of each, with its support); returns what to tell the assessor, or None."""
    if row.tool != "rob1" or row.is_consensus:
        return None
    found: dict[str, tuple[str, str | None, RobAssessmentRow]] = {}
    for other in _siblings(session, row):
        for qid, ans in store.current_answers(session, other.id).items():  # type: ignore[arg-type]
            if qid in PER_STUDY_KEYS:
                newest = found.get(qid)
                if newest is None or ans.id > newest[2].id:  # type: ignore[operator]
                    found[qid] = (ans.answer, ans.support, other)
    carried = [qid for qid in PER_STUDY_KEYS if qid in found]
    for qid in carried:
        store.add_answer(session, row, qid, found[qid][0], found[qid][1], actor)
    if not carried:
        return None
    sources = ", ".join(dict.fromkeys(_outcome(found[q][2]) for q in carried))
    return (f"{', '.join(carried)} carried over from your assessment of {sources}: RoB 1 judges them once per study, "
            "so a change to one is made in each of your open assessments of this study")


def spread_answer(session: Session, row: RobAssessmentRow, qid: str, code: str, support: str | None,
                  actor: str) -> None:
    """Make an assessor's answer to a per-study domain in each of their other open assessments of the study;
    refuse it (before anything is written) when a finished one judges the domain otherwise."""
    if row.tool != "rob1" or row.is_consensus or qid not in PER_STUDY_KEYS:
        return
    others = [(o, store.current_answers(session, o.id).get(qid), store.is_finished(session, o.id))  # type: ignore[arg-type]
              for o in _siblings(session, row)]
    clash = [(o, ans.answer) for o, ans, finished in others if finished and ans is not None and ans.answer != code]
    if clash:
        said = "; ".join(f"assessment {o.id} of {_outcome(o)} judges it {judged}" for o, judged in clash)
        raise ReviewkitError(
            f"{_name(qid)} is judged once per study in RoB 1, and your finished {said}, not {code}",
            hint=f"reopen it first (`reviewkit rob reopen {clash[0][0].id}`, or r in the TUI) so the change is made "
                 "in every outcome of the study")
    for other, _, finished in others:
        if not finished:
            store.add_answer(session, other, qid, code, support, actor)


def consensus_answers(session: Session, study_id: int, outcome: str) -> dict[str, tuple[str, str | None, str]]:
    """domain → (judgement, support, outcome) of the per-study domains as the study's other finished RoB 1
    consensus assessments (other outcomes) judged them, the newest consensus first."""
    latest: dict[str, RobAssessmentRow] = {}
    for a in store.assessments(session, study_id=study_id):
        if a.is_consensus and a.tool == "rob1" and a.outcome != outcome:
            latest[a.outcome] = a  # oldest first: the newest consensus of each outcome stays
    out: dict[str, tuple[str, str | None, str]] = {}
    for a in sorted(latest.values(), key=lambda r: r.id or 0, reverse=True):
        if not store.is_finished(session, a.id):  # type: ignore[arg-type]
            continue
        for qid, ans in store.current_answers(session, a.id).items():  # type: ignore[arg-type]
            if qid in PER_STUDY_KEYS and qid not in out:
                out[qid] = (ans.answer, ans.support, a.outcome)
    return out


def refuse_other_consensus(settled: dict[str, tuple[str, str | None, str]], answers: dict[str, str], what: str) -> None:
    """Refuse a consensus whose per-study domain differs from the study's other consensus, naming both."""
    clash = [q for q in PER_STUDY_KEYS if q in answers and q in settled and settled[q][0] != answers[q]]
    if clash:
        said = "; ".join(f"{_name(q)}: {answers[q]} here, {settled[q][0]} in the consensus of "
                         f"{repr(settled[q][2]) if settled[q][2] else '(no outcome)'}" for q in clash)
        raise ReviewkitError(f"{what}: RoB 1 judges {', '.join(clash)} once per study, and the study's other "
                             f"consensus judges otherwise: {said}",
                             hint="give the same judgement, or revise the other outcome's consensus first")


def refuse_unalike(session: Session, study_ids: Iterable[int], where: str) -> None:
    """Refuse (after an import wrote its rows, so nothing of it is kept) a study whose per-study domains an
    assessor, or the consensus, now judges two ways across its outcomes: the rule the answer and consensus
    commands keep, for the rows a file brings."""
    for study_id in study_ids:
        judged: dict[tuple[int | None, bool, str], tuple[str, RobAssessmentRow]] = {}
        latest: dict[tuple[int | None, bool, str], RobAssessmentRow] = {}
        for row in store.assessments(session, study_id=study_id):  # oldest first: the newest of each stays
            if row.tool == "rob1":
                latest[(None if row.is_consensus else row.assessor_id, row.is_consensus, row.outcome)] = row
        for row in latest.values():
            who = None if row.is_consensus else row.assessor_id
            for qid, ans in store.current_answers(session, row.id).items():  # type: ignore[arg-type]
                if qid not in PER_STUDY_KEYS:
                    continue
                seen = judged.setdefault((who, row.is_consensus, qid), (ans.answer, row))
                if seen[0] != ans.answer:
                    whose = "the consensus" if row.is_consensus else "the assessor"
                    raise ReviewkitError(
                        f"{_name(qid)} is judged once per study in RoB 1, but {whose} of study {study_id} "
                        f"would judge it {seen[0]} for {_outcome(seen[1])} and {ans.answer} for {_outcome(row)}",
                        where=where, hint="give the same judgement in every outcome's rows; nothing was imported")

"""Provides what the assessors of a study's outcome agree on, which the consensus keeps.

The answers every assessor gave (shared_answers, agreed_answers) are fixed in the consensus
(refuse_contradicting); the judgements they recorded with a reason and agree on are carried into it
(agreed_judgements).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from reviewkit.errors import ReviewkitError
from reviewkit.services.assess_form import AssessmentView, rob2_domain
from reviewkit.services.assess_view import independent_assessments, load_view

if TYPE_CHECKING:
    from sqlmodel import Session


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


def agreed_judgements(views: list[AssessmentView]) -> tuple[dict[str, tuple[str, str, bool]], list[str]]:
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


def shared_answers(session: Session, study_id: int, outcome: str) -> dict[str, tuple[str, str | None]]:
    """question → (answer, support) where every independent assessor of the study's outcome gave the
    same answer: what the consensus keeps (record_consensus, a lead's `answer`, the CSV import)."""
    views = [load_view(session, a) for a in independent_assessments(session, study_id, outcome)]
    return agreed_answers(views) if views else {}


def agreed_answers(views: list[AssessmentView]) -> dict[str, tuple[str, str | None]]:
    """question → (answer, support) where every assessor gave the same answer."""
    first, *rest = views
    out: dict[str, tuple[str, str | None]] = {}
    for qid, code in first.answers.items():
        if all(v.answers.get(qid) == code for v in rest):
            supports = [s for v in views if (s := v.supports.get(qid))]
            out[qid] = (code, " / ".join(dict.fromkeys(supports)) or None)
    return out

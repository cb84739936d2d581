"""Provides risk-of-bias disagreements and consensus: each pair's differences, the consensus so far, recording it.

Who may see the disagreements and record the consensus is assess_access's rule; what the assessors
agree on, which the consensus keeps, is assess_agreed's; finishing is assess.snapshot, as for an
assessor's own assessment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reviewkit.domain.rob_common import Disagreement, compare_assessments
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.assess import snapshot
from reviewkit.services.assess_access import check_consensus, reviewer
from reviewkit.services.assess_agreed import agreed_answers, agreed_judgements, refuse_contradicting
from reviewkit.services.assess_codes import (
    answer_code,
    domain_keys,
    judgement_code,
    normalise_answers,
    shown,
)
from reviewkit.services.assess_differences import (
    ConsensusChange,
    RecordedConsensus,
    StudyDisagreements,
    consensus_changes,
    to_domain_assessment,
)
from reviewkit.services.assess_form import AssessmentView, DomainView, effective_answers
from reviewkit.services.assess_outcomes import assessed_outcome
from reviewkit.services.assess_study_domains import consensus_answers, refuse_other_consensus
from reviewkit.services.assess_view import (
    all_finished,
    independent_assessments,
    is_involved,
    latest_consensus,
    load_view,
)
from reviewkit.services.project import Review
from reviewkit.store import rob as store
from reviewkit.store.db import retry_conflicts, session_scope

if TYPE_CHECKING:
    from sqlmodel import Session


def _disagreements(session: Session, review: Review, study_id: int, outcome: str, *,
                   listing: bool = False) -> list[StudyDisagreements]:
    """Each pair's differences; a pair on different tools or RoB 2 variants is not compared: refused, or,
    when `listing` every study, listed as that one difference."""
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
            if (a.tool, a.variant) != (b.tool, b.variant):
                if not listing:
                    _refuse_mixed(views, outcome)
                # Not compared: their question numbers mean other questions ("2.3" in assignment and in
                # adherence), so answers matched by id would differ, or agree, by accident.
                kind = [f"{v.tool}{' ' + v.variant if v.variant else ''}" for v in (a, b)]
                out.append(StudyDisagreements(study_id, a.study, outcome, a.assessor or "", b.assessor or "",
                                              (Disagreement("domain", "tool/variant", kind[0], kind[1]),)))
                continue
            items = compare_assessments(to_domain_assessment(a), to_domain_assessment(b))
            carried, to_decide = agreed_judgements([a, b])
            reasons = tuple((d.key, _reason(d), _reason(b.domain(d.key)))
                            for d in (*a.domains, a.overall) if d.chosen or b.domain(d.key).chosen)
            # RoB 2's are on its questions; RoB 1's on its domains, whose answer is the judgement
            supports = tuple((i.key, a.supports.get(i.key) or None, b.supports.get(i.key) or None)
                             for i in items if a.supports.get(i.key) or b.supports.get(i.key))
            out.append(StudyDisagreements(study_id, a.study, outcome, a.assessor or "", b.assessor or "",
                                          tuple(items), tuple(to_decide), tuple(carried), reasons, supports))
    return out


def _reason(d: DomainView) -> str | None:
    return d.justification if d.chosen else None


def disagreements(review: Review, viewer: str | None, study_id: int, outcome: str = "") -> list[StudyDisagreements]:
    """Each pair of assessors' differences, per question and domain, for an assessor of the study, a lead
    or an adjudicator (refused while any assessment is unfinished, and to anyone else). `outcome` is read
    as the study's assessments spell it (assess_outcomes.assessed_outcome)."""
    with session_scope(review.engine) as session:
        who = reviewer(session, viewer)
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
        who = reviewer(session, viewer)
        keys = sorted({(a.study_id, a.outcome) for a in store.assessments(session) if not a.is_consensus})
        out: list[StudyDisagreements] = []
        for study_id, outcome in keys:
            if (is_involved(who, independent_assessments(session, study_id, outcome))
                    and all_finished(session, review, study_id, outcome)):
                out.extend(_disagreements(session, review, study_id, outcome, listing=True))
        return out


def current_consensus(review: Review, viewer: str | None, study_id: int, outcome: str = "") -> AssessmentView | None:
    """The consensus of a study's outcome as recorded so far (None: not yet), where a revision starts
    (record_consensus); anyone on the team may see a consensus."""
    with session_scope(review.engine) as session:
        reviewer(session, viewer)
        row = latest_consensus(session, study_id, assessed_outcome(session, study_id, outcome))
        return load_view(session, row) if row is not None else None


@retry_conflicts
def record_consensus(review: Review, actor: str | None, study_id: int, outcome: str = "", *,
                     answers: Mapping[str, str] | None = None,
                     overrides: Mapping[str, tuple[str, str]] | None = None,
                     co_signer: str | None = None) -> RecordedConsensus:
    """Record the consensus assessment (is_consensus) that plots and analyses use; one transaction.

    It starts from what the assessors agree on: the answers they share (agreed_answers) and the judgements
    they recorded with a reason and agree on (agreed_judgements: an override both made, or one whose
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
        who = reviewer(session, actor)
        # Locked before the consensus is read (as start_assessment): two first recordings at once both
        # found none on PostgreSQL and made two consensus assessments of one result.
        store.study(session, study_id, lock=True)
        outcome = assessed_outcome(session, study_id, outcome)
        check_consensus(session, review, who, study_id, outcome, co_signer)
        group = independent_assessments(session, study_id, outcome)
        views = [load_view(session, a) for a in group]
        tool, variant = group[0].tool, group[0].variant
        # Question ids mean different things across tools and RoB 2 variants ("2.3" in assignment and
        # in adherence): answers matched by id would be merged as if they were the same question.
        _refuse_mixed(views, outcome)
        what = f"the consensus for {views[0].study} / {outcome or '(no outcome)'}"
        agreed = agreed_answers(views)
        given = _given_answers(tool, variant, answers or {})
        refuse_contradicting(tool, agreed, given, what)
        existing = latest_consensus(session, study_id, outcome)
        before = load_view(session, existing) if existing else None
        # The earlier recordings' answers are the starting point (without them a revision could not even
        # answer a question they opened), then the shared answers for questions the earlier consensus
        # left open. An earlier answer that contradicts a shared one (stored before shared answers were
        # kept fixed) stands: resetting it would change a recorded judgement nobody asked to change.
        earlier = dict(before.answers) if before else {}
        # RoB 1's per-study domains: what the study's other outcome's consensus settled comes first, so a
        # domain judged once per study is not settled again (and two ways) for each outcome.
        settled = consensus_answers(session, study_id, outcome) if tool == "rob1" else {}
        wanted = {**{q: a for q, (a, _, _) in settled.items()}, **{q: a for q, (a, _) in agreed.items()},
                  **earlier, **given}
        clean, problems = normalise_answers(tool, variant, wanted)
        # Only an answer given now is refused; a shared or earlier one whose condition the answers given
        # no longer meet lapses, as an assessor's does (effective_answers leaves it out).
        problems = [(q, p) for q, p in problems if q in given]
        if problems:
            raise ReviewkitError("consensus answers: " + "; ".join(f"{q}: {p}" for q, p in problems))
        refuse_other_consensus(settled, clean, what)
        explicit = _consensus_overrides(tool, overrides or {})
        # What this consensus judged before (an override, or accepting the proposal) stands until changed.
        judged_before = (set(store.current_judgements(session, existing.id)) - {store.STATUS}  # type: ignore[arg-type]
                         if existing else set())
        carry, to_decide = agreed_judgements(views)
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
            support = _support(qid, code, agreed, settled, views)
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
        snapshot(session, row, view, who.name, what, consensus=True)
        after = load_view(session, row)
        changes = [_restored(c, agreed) for c in consensus_changes(before, after)] if before else []
        return RecordedConsensus.of(after, revised=before is not None, changes=changes)


def _support(qid: str, code: str, agreed: Mapping[str, tuple[str, str | None]],
             settled: Mapping[str, tuple[str, str | None, str]], views: list[AssessmentView]) -> str | None:
    """The support a consensus answer is stored with: the shared answer's (both assessors' texts), else that
    of the other outcome's consensus it came from, else the texts of the assessors who answered as the
    consensus settled it (RoB 1's "support for judgement": a settled domain kept none before)."""
    if qid in agreed and agreed[qid][0] == code:
        return agreed[qid][1]
    if qid in settled and settled[qid][0] == code:
        return settled[qid][1]
    texts = [f"{v.assessor}: {s}" for v in views if v.answers.get(qid) == code and (s := v.supports.get(qid))]
    return " / ".join(texts) or None


def _refuse_mixed(views: list[AssessmentView], outcome: str) -> None:
    """Refuse comparing assessments of one result made on different tools or RoB 2 variants."""
    if len({(v.tool, v.variant) for v in views}) <= 1:
        return
    used = "; ".join(f"{v.assessor}: {v.tool}{' ' + v.variant if v.variant else ''}" for v in views)
    raise ReviewkitError(f"the assessments of {views[0].study} / {outcome or '(no outcome)'} use "
                         f"different tools or variants ({used}): a consensus compares answers to the "
                         "same questions", hint="an assessor restarts the assessment with the others' "
                         "tool and variant")


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
            + "; ".join(f"{k}: " + ", ".join(f"{v.assessor} {shown(v.domain(k).final)}" for v in views)
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


def _refuse_undecided(views: list[AssessmentView], keys: list[str], what: str) -> None:
    """Refuse a consensus that leaves an overridden, disputed judgement to the answers, naming each
    assessor's judgement and reason."""
    if not keys:
        return
    def said(v: AssessmentView, key: str) -> str:
        d = v.domain(key)
        why = f" ({'override' if d.overridden else 'kept'}: {d.justification})" if d.chosen else " (from the answers)"
        return f"{v.assessor} {shown(d.final)}{why}"

    details = "; ".join(f"{k}: " + ", ".join(said(v, k) for v in views) for k in keys)
    raise ReviewkitError(
        f"{what}: the assessors judge {', '.join(keys)} differently and an override is among their judgements, "
        f"so the consensus answers cannot settle it: {details}",
        hint="judge each with --override " + " --override ".join(f"'{k}=JUDGEMENT:justification'" for k in keys)
             + ", the judgement the answers give being one choice (its reason is required too); on the TUI's "
               "consensus screen, enter on its row")

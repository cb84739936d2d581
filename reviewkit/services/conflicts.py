"""Provides screening conflicts and their adjudication: records in conflict, full-text reason disagreements, the adjudicator's decision."""

from __future__ import annotations

from dataclasses import dataclass

from reviewkit.domain.screening import (
    RecordScreening,
    adjudication_refusal,
    counted_reason,
    is_decision,
    is_reason_dispute,
    resolve,
)
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.screen import did_you_mean_reason, reason_with_exclusion_only
from reviewkit.services.screen_cards import DecisionView, decision_view
from reviewkit.services.screen_full_text import keep_full_text, refuse_not_retrieved
from reviewkit.services.screen_state import (
    check_stage,
    record_state,
    require_reviewer,
    reviewer_decisions,
    reviewer_in_roles,
    stage_candidates,
)
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import retry_conflicts, session_scope


@dataclass(frozen=True)
class Conflict:
    """A record whose reviewers disagree, with every decision and note, for the adjudicator."""

    record_id: int
    title: str
    stage: str
    decisions: tuple[DecisionView, ...]
    #: "inclusion": the decisions disagree on the outcome (list_conflicts); "reason": excluded at full
    #: text by every screener, for different reasons (reason_disagreements).
    kind: str = "inclusion"
    #: For a reason disagreement, the reason PRISMA counts while it stands.
    counted_reason: str | None = None


def list_conflicts(review: Review, actor: str | None, stage: str) -> list[Conflict]:
    """Records in conflict at a stage, with every decision and note (adjudicators and leads only)."""
    stage = check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = reviewer_in_roles(session, actor, ("adjudicator", "lead"))
        del who
        candidates = stage_candidates(session, stage, required)
        names = store.reviewer_names(session)
        out = []
        decisions = queries.current_decisions(session, stage)
        adjudicated = queries.adjudications(session, stage)
        for rid in sorted(candidates):
            if resolve(decisions.get(rid, {}), required, adjudicated.get(rid), stage=stage).outcome != "conflict":
                continue
            row = store.record(session, rid)
            views = tuple(decision_view(r, names) for r in store.decisions_on(session, rid, stage).values())
            out.append(Conflict(rid, row.title if row else "", stage, views))
        return out


def reason_disagreements(review: Review, actor: str | None) -> list[Conflict]:
    """Reports excluded at full text by agreement whose screeners gave different reasons (adjudicators
    and leads only), each with the reason PRISMA counts for it meanwhile.

    They are not inclusion conflicts: the report is excluded whichever reason stands, so it is neither
    counted nor listed as one (list_conflicts). But PRISMA reports one reason per excluded report and
    would otherwise pick the one earlier in the protocol's list without anyone seeing the choice. An
    adjudicated report is settled (PRISMA counts the adjudicator's reason) and is not listed.
    """
    required = review.protocol.screening.screeners_per_record
    order = review.protocol.screening.exclusion_reasons
    out: list[Conflict] = []
    with session_scope(review.engine) as session:
        reviewer_in_roles(session, actor, ("adjudicator", "lead"))
        candidates = stage_candidates(session, "ft", required)
        current = queries.current_decisions_rows(session, "ft")
        adjudicated = queries.adjudications(session, "ft")
        names = store.reviewer_names(session)
        for rid in sorted(candidates - set(adjudicated)):
            rows = current.get(rid, [])
            if len({row.reason for row in rows}) < 2:
                continue  # most reports: no need to add up their decisions
            outcome = resolve({row.reviewer_id: store.stored_decision(row.decision) for row in rows}, required,
                              stage="ft").outcome
            if not is_reason_dispute(outcome, "ft", (row.reason for row in rows)):
                continue
            record = store.record(session, rid)
            out.append(Conflict(rid, record.title if record else "", "ft",
                                tuple(decision_view(row, names) for row in rows), kind="reason",
                                counted_reason=counted_reason((row.reason for row in rows), order)))
    return out


@retry_conflicts
def resolve_conflict(
    review: Review, adjudicator: str | None, record_id: int, stage: str, decision: str, *,
    reason: str | None = None, note: str | None = None,
) -> RecordScreening:
    """The adjudicator's final decision on a record in conflict (adjudicators only).

    Also the reason counted for a report every screener excluded at full text for different reasons
    (domain.screening.is_reason_dispute): an exclusion, with the reason PRISMA is to count.
    """
    stage = check_stage(stage)
    if not is_decision(decision) or decision == "maybe":
        # Not maybe: the adjudicator settles the record; at full text, whether the study is eligible.
        raise ReviewkitError(f"an adjudication is include or exclude, not '{decision}'",
                             hint="the adjudicator settles the record: it goes on (include) or not (exclude)")
    reason_with_exclusion_only(decision, reason)
    reasons = review.protocol.screening.exclusion_reasons
    if stage == "ft" and decision == "exclude" and reason not in reasons:
        # A reason given but not the protocol's is named as such, with the close one ("Revew": "Review").
        given = f": '{reason}' is not one of them{did_you_mean_reason(reason, reasons)}" if reason else ""
        raise ReviewkitError(f"a full-text exclusion needs one of the protocol's reasons{given}",
                             hint="; ".join(reasons))
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine, write=True) as session:
        who = require_reviewer(session, adjudicator, "adjudicator")
        if store.record(session, record_id) is None:
            raise ReviewkitError(f"no record {record_id}")
        rows = store.decisions_on(session, record_id, stage)
        own = resolve(store.decisions_of(rows), required, stage=stage)
        adjudicated = store.adjudication_row(session, record_id, stage) is not None
        refusal = adjudication_refusal(record_id, stage, decision, own.outcome,
                                       (row.reason for row in rows.values()), adjudicated)
        if refusal is not None:
            raise ReviewkitError(refusal)
        if stage == "ta":  # a re-adjudication could take the record out of full text
            keep_full_text(session, record_id,
                           resolve(reviewer_decisions(session, record_id, "ta"), required, decision,
                                   stage="ta"))
        else:
            refuse_not_retrieved(session, record_id)
        store.add_adjudication(session, record_id=record_id, adjudicator=who, stage=stage,
                               decision=decision, reason=reason, note=note)
        return record_state(session, record_id, stage, required)

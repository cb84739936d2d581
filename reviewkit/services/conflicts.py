"""Provides the full-text reason disagreements: reports every screener excluded, for different reasons."""

from __future__ import annotations

from reviewkit.domain.screening import counted_reason, is_reason_dispute, resolve
from reviewkit.services.project import Review
from reviewkit.services.screen import Conflict, decision_view, reviewer_in_roles, stage_candidates
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope


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
            outcome = resolve({row.reviewer_id: row.decision for row in rows}, required,  # type: ignore[misc]
                              stage="ft").outcome
            if not is_reason_dispute(outcome, "ft", (row.reason for row in rows)):
                continue
            record = store.record(session, rid)
            out.append(Conflict(rid, record.title if record else "", "ft",
                                tuple(decision_view(row, names) for row in rows), kind="reason",
                                counted_reason=counted_reason((row.reason for row in rows), order)))
    return out

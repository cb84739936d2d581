"""Provides screening decisions: a screener's blind decision on a record, its change and its undo."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from reviewkit.domain.screening import STAGES, RecordScreening, is_decision, resolve
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.screen_full_text import keep_full_text, refuse_not_retrieved
from reviewkit.services.screen_quota import quota_refusal
from reviewkit.services.screen_state import (
    check_stage,
    is_candidate,
    record_state,
    require_reviewer,
    reviewer_decisions,
)
from reviewkit.store import screening as store
from reviewkit.store.db import retry_conflicts, session_scope, stored_id


@retry_conflicts
def record_decision(
    review: Review, reviewer: str | None, record_id: int, stage: str, decision: str, *,
    reason: str | None = None, note: str | None = None,
) -> RecordScreening:
    """Store a reviewer's decision (committed at once) and return the record's new state.

    A full-text exclusion needs one of the protocol's exclusion reasons. Deciding again
    replaces the reviewer's earlier decision; the earlier row stays, for the audit trail. A new
    decision on a record that already has its required decisions is refused (screen_quota).
    """
    stage = check_stage(stage)
    if not is_decision(decision):
        raise ReviewkitError(f"unknown decision '{decision}' (use include, exclude or maybe)")
    reason_with_exclusion_only(decision, reason)
    reasons = review.protocol.screening.exclusion_reasons
    if stage == "ft" and decision == "exclude":
        if not reason:
            raise ReviewkitError("a full-text exclusion needs a reason", hint="; ".join(reasons))
        if reason not in reasons:
            raise ReviewkitError(f"'{reason}' is not one of the protocol's exclusion reasons"
                                 + did_you_mean_reason(reason, reasons), hint="; ".join(reasons))
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine, write=True) as session:
        who = require_reviewer(session, reviewer, "screener")
        who_id = stored_id(who)
        # Locked before its decisions are read, so two screeners cannot both take its last place.
        if store.record(session, record_id, lock=True) is None:
            raise ReviewkitError(f"no record {record_id}")
        # One record's eligibility, not every record's: the screen writes each key press this way.
        if not is_candidate(session, record_id, stage, required):
            where = "it is a removed duplicate" if stage == "ta" else "it has not passed title/abstract"
            raise ReviewkitError(f"record {record_id} is not up for {STAGES[stage]} screening: {where}")
        # The adjudicator settled the record on the decisions as they stood; a screener changing
        # theirs afterwards would leave an outcome that no longer follows from what is stored.
        if store.adjudication_row(session, record_id, stage) is not None:
            if store.latest_decision(session, record_id, who_id, stage) is None:
                # Neutral for someone who never decided it: "adjudicated" would reveal a conflict.
                raise ReviewkitError(f"record {record_id} is not open for {who.name}'s decision at "
                                     f"{STAGES[stage]}")
            raise ReviewkitError(f"record {record_id} has been adjudicated at {STAGES[stage]}; "
                                 "its decisions are final")
        decisions = reviewer_decisions(session, record_id, stage)
        if (full := quota_refusal(record_id, stage, who_id, decisions, required)) is not None:
            raise ReviewkitError(full)
        if stage == "ta":
            decisions[who_id] = decision
            keep_full_text(session, record_id, resolve(decisions, required, stage="ta"))
        else:
            refuse_not_retrieved(session, record_id)
        store.add_decision(session, record_id=record_id, reviewer=who, stage=stage, decision=decision,
                           reason=reason, note=note)
        return record_state(session, record_id, stage, required)


@retry_conflicts
def undo_decision(review: Review, reviewer: str | None, record_id: int, stage: str) -> RecordScreening:
    """Withdraw the reviewer's current decision (a retraction row; nothing is deleted)."""
    stage = check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine, write=True) as session:
        who = require_reviewer(session, reviewer, "screener")
        assert who.id is not None
        latest = store.latest_decision(session, record_id, who.id, stage)
        if latest is None or latest.decision == "retracted":
            raise ReviewkitError(f"{who.name} has no decision on record {record_id} to undo")
        if store.adjudication_row(session, record_id, stage) is not None:
            raise ReviewkitError(f"record {record_id} has been adjudicated at {STAGES[stage]}; "
                                 "its decisions are final")
        if stage == "ta":
            decisions = reviewer_decisions(session, record_id, "ta")
            decisions.pop(who.id, None)
            keep_full_text(session, record_id, resolve(decisions, required, stage="ta"))
        store.add_decision(session, record_id=record_id, reviewer=who, stage=stage,
                           decision="retracted", reason=None, note=None)
        return record_state(session, record_id, stage, required)


def did_you_mean_reason(reason: str, reasons: Sequence[str]) -> str:
    """"; did you mean 'Review'?" when one of the protocol's `reasons` is close to `reason` (a slip:
    "Revew", "review"; compared without case, difflib), else "": the start of a refusal's advice."""
    folded = {r.casefold(): r for r in reasons}
    close = difflib.get_close_matches(reason.strip().casefold(), list(folded), n=1, cutoff=0.6)
    return f"; did you mean '{folded[close[0]]}'?" if close else ""


def reason_with_exclusion_only(decision: str, reason: str | None) -> None:
    """Refuse a reason given with anything but an exclusion (a decision here, an adjudication in conflicts)."""
    # The rule `decisions import` applies too, so whatever is stored exports and imports again.
    if reason and decision != "exclude":
        raise ReviewkitError(f"a reason goes only with an exclusion, not with {decision}", hint="put the text in the note")

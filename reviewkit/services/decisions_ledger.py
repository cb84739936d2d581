"""Provides the screening state a decisions import checks its rows against, one row after another.

The checks are services/screen.py's: record_decision's (a removed duplicate, a record that has not
passed title/abstract, a decision changed after adjudication, a new screener on a record that has
its decisions), undo_decision's (a decision to undo,
not yet adjudicated) and resolve_conflict's (only a conflict is adjudicated, or re-adjudicated);
and for all three at title/abstract, none that takes a record with full-text decisions out of
full text.
They are made here, in memory, so a file of thousands of rows is not thousands of round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlmodel import Session

from reviewkit.domain.screening import STAGES, Decision, RecordScreening, Stage, resolve
from reviewkit.services.screen import full_text_not_retrieved, full_text_started
from reviewkit.services.screen_quota import quota_refusal
from reviewkit.store import queries
from reviewkit.store import screening as store_screening
from reviewkit.store.tables import ReviewerRow

Role = Literal["screener", "adjudicator"]
ROLES: tuple[Role, ...] = ("screener", "adjudicator")
#: What a screener's undo stores (screen.undo_decision); a history export has such rows.
RETRACTED = "retracted"


@dataclass(frozen=True)
class ImportRow:
    """One row of a decisions file, its fields checked (not yet against the screening state)."""

    line: int
    record_id: int
    reviewer: ReviewerRow
    role: Role
    stage: Stage
    #: A Decision, or RETRACTED (a screener's undo).
    decision: str
    reason: str | None
    note: str | None
    time: datetime | None


class Ledger:
    """The screening state as the file's rows apply one after another."""

    def __init__(self, session: Session, required: int) -> None:
        self.required = required
        self.decisions = {stage: queries.current_decisions(session, stage) for stage in STAGES}
        self.adjudicated = {stage: queries.adjudications(session, stage) for stage in STAGES}
        self.primaries = queries.duplicate_primaries(session)
        self.not_retrieved = store_screening.not_retrieved_ids(session)

    def state(self, record_id: int, stage: Stage) -> RecordScreening:
        return resolve(self.decisions[stage].get(record_id, {}), self.required,
                       self.adjudicated[stage].get(record_id))

    def refusal(self, row: ImportRow) -> str | None:
        """Why the row may not be stored now, or None."""
        return self._refusal(row) or self._full_text_refusal(row)

    def _full_text_refusal(self, row: ImportRow) -> str | None:
        """A title/abstract row that would take a record with full-text decisions out of full text."""
        rid = row.record_id
        if row.stage != "ta" or not (self.decisions["ft"].get(rid) or rid in self.adjudicated["ft"]):
            return None
        decisions = dict(self.decisions["ta"].get(rid, {}))
        adjudication = self.adjudicated["ta"].get(rid)
        if row.role == "adjudicator":
            adjudication = cast(Decision, row.decision)
        elif row.decision == RETRACTED:
            decisions.pop(cast(int, row.reviewer.id), None)
        else:
            decisions[cast(int, row.reviewer.id)] = cast(Decision, row.decision)
        if resolve(decisions, self.required, adjudication).outcome == "included":
            return None
        return full_text_started(rid)

    def _refusal(self, row: ImportRow) -> str | None:
        where = STAGES[row.stage]
        current = self.decisions[row.stage].get(row.record_id, {}).get(cast(int, row.reviewer.id))
        if row.decision == RETRACTED:
            if current is None:
                return f"{row.reviewer.name} has no decision on record {row.record_id} at {where} to undo"
            if row.record_id in self.adjudicated[row.stage]:
                return f"record {row.record_id} has been adjudicated at {where}; its decisions are final"
            return None
        primary = self.primaries.get(row.record_id)
        if primary is not None:
            return (f"record {row.record_id} is not up for {where} screening: it is a removed duplicate of "
                    f"record {primary} (name that record)")
        if row.stage == "ft" and self.state(row.record_id, "ta").outcome != "included":
            return f"record {row.record_id} is not up for {where} screening: it has not passed title/abstract"
        if row.stage == "ft" and row.record_id in self.not_retrieved and row.decision != current:
            return full_text_not_retrieved(row.record_id)
        if row.role == "adjudicator":
            state = self.state(row.record_id, row.stage)
            if state.outcome != "conflict" and not state.adjudicated:
                return f"record {row.record_id} is not in conflict at {where} ({state.outcome})"
            return None
        # The adjudicator settled the record on the decisions as they stood; the same decision again
        # (an export imported again) changes nothing and is allowed.
        if row.record_id not in self.adjudicated[row.stage] or row.decision == current:
            # A new screener once the record has its decisions: refused as record_decision refuses it.
            return quota_refusal(row.record_id, row.stage, cast(int, row.reviewer.id),
                                 self.decisions[row.stage].get(row.record_id, {}), self.required)
        if current is None:
            # Said neutrally: that the record was adjudicated would tell someone who never decided it
            # that others disagreed on it.
            return f"record {row.record_id} is not open for {row.reviewer.name}'s decision at {where}"
        return (f"record {row.record_id} has been adjudicated at {where}; {row.reviewer.name}'s decision on it "
                f"is final ({current}, not {row.decision})")

    def apply(self, row: ImportRow) -> None:
        mine = self.decisions[row.stage].setdefault(row.record_id, {})
        if row.role == "adjudicator":
            self.adjudicated[row.stage][row.record_id] = cast(Decision, row.decision)
        elif row.decision == RETRACTED:
            mine.pop(cast(int, row.reviewer.id), None)
        else:
            mine[cast(int, row.reviewer.id)] = cast(Decision, row.decision)

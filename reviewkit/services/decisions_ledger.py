"""Provides the screening state a decisions import checks its rows against, one row after another.

The checks are services/screen.py's: record_decision's (a removed duplicate, a record that has not
passed title/abstract, a decision changed after adjudication, a new screener on a record that has
its decisions) and undo_decision's (a decision to undo,
not yet adjudicated), and services/conflicts.py's resolve_conflict's (only a conflict is adjudicated,
or re-adjudicated, and a full-text reason dispute by an exclusion: domain.screening.adjudication_refusal);
and for all three at title/abstract, none that takes a record with full-text decisions out of
full text.
They are made here, in memory, so a file of thousands of rows is not thousands of round trips.

A row's time must also keep the review's history replayable: the current decision is the latest
stored row (storage order), while a `--history` export lists rows by time, so a row dated before
what it follows would be current in the one and superseded in the other. Refused, therefore: a
decision older than its reviewer's latest row on that record and stage, an adjudication older than
the decisions it settles (or the adjudication it replaces), and a full-text row dated before its
record passed title/abstract. A row without a time is stored as of now, as the screen stores one;
a row dated later than now (beyond FUTURE_TOLERANCE) is refused too: a decision made after the
import would be stored as current yet listed before it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from sqlmodel import Session

from reviewkit.domain.screening import (
    STAGES,
    Decision,
    RecordScreening,
    Stage,
    adjudication_refusal,
    is_blind_to_others,
    resolve,
)
from reviewkit.services.screen_full_text import full_text_not_retrieved, full_text_started
from reviewkit.services.screen_quota import quota_refusal
from reviewkit.store import queries
from reviewkit.store import screening as store_screening
from reviewkit.store.tables import AdjudicationRow, ReviewerRow, ScreeningDecisionRow

Role = Literal["screener", "adjudicator"]
ROLES: tuple[Role, ...] = ("screener", "adjudicator")
#: What a screener's undo stores (screen.undo_decision); a history export has such rows.
RETRACTED = "retracted"
#: How far past the review's clock (store.clock) a row's time may be: the clock of the machine that wrote
#: it may run a little ahead; more than this is a wrong clock or a wrong date, not skew.
FUTURE_TOLERANCE = timedelta(minutes=5)


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


@dataclass(frozen=True)
class Dated:
    """A stored (or already applied) row as a time check needs it."""

    at: datetime
    #: Its place among rows of the same time in a history export (decisions before adjudications).
    role: Role
    #: The screener's id; None for an adjudication.
    reviewer_id: int | None
    decision: str

    def order(self) -> tuple[datetime, int]:
        """Where a history export puts it (export_decisions sorts by time, role, then storage order)."""
        return self.at, ROLES.index(self.role)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _said(decision: str) -> str:
    return "an undo" if decision == RETRACTED else decision


class Ledger:
    """The screening state as the file's rows apply one after another.

    `decisions` and `adjudications` are every stored row, oldest first (storage order); `now` is the
    time a row without one is stored at.
    """

    def __init__(self, session: Session, required: int, decisions: list[ScreeningDecisionRow],
                 adjudications: list[AdjudicationRow], now: datetime | None = None, *,
                 blinded_importer: int | None = None) -> None:
        self.required = required
        self.now = now or datetime.now(UTC)
        self.decisions: dict[Stage, dict[int, dict[int, Decision]]] = {stage: {} for stage in STAGES}
        self.adjudicated: dict[Stage, dict[int, Decision]] = {stage: {} for stage in STAGES}
        #: record → screener id → the exclusion reason of their current full-text decision.
        self.reasons: dict[int, dict[int, str | None]] = {}
        #: (record, reviewer, stage) → that screener's latest row, an undo included.
        self.latest: dict[tuple[int, int, Stage], Dated] = {}
        #: (record, stage) → the screeners' latest-dated row, and the current adjudication.
        self.latest_decided: dict[tuple[int, Stage], Dated] = {}
        self.adjudication: dict[tuple[int, Stage], Dated] = {}
        #: record → every title/abstract row, in storage order: the state at a full-text row's time.
        self.title_abstract: dict[int, list[Dated]] = defaultdict(list)
        for d in decisions:
            self._apply(d.record_id, cast(Stage, d.stage), "screener", d.reviewer_id, d.decision, d.created_at,
                        d.reason)
        for a in adjudications:
            self._apply(a.record_id, cast(Stage, a.stage), "adjudicator", None, a.decision, a.created_at, a.reason)
        #: A non-lead importer (None: a lead, who sees every decision), and the (record, stage) pairs whose
        #: screening was blinded to them before the import (_blind_before) that their own screener rows in
        #: the file then changed: see _blinded_refusal.
        self.blinded_importer = blinded_importer
        self._before = ({stage: {rid: dict(d) for rid, d in by_record.items()}
                         for stage, by_record in self.decisions.items()},
                        {stage: dict(a) for stage, a in self.adjudicated.items()})
        self.touched_blind: set[tuple[int, Stage]] = set()
        self.primaries = queries.duplicate_primaries(session)
        self.not_retrieved = store_screening.not_retrieved_ids(session)

    def state(self, record_id: int, stage: Stage) -> RecordScreening:
        return resolve(self.decisions[stage].get(record_id, {}), self.required,
                       self.adjudicated[stage].get(record_id), stage=stage)

    def refusal(self, row: ImportRow) -> str | None:
        """Why the row may not be stored now, or None."""
        return self._refusal(row) or self._full_text_refusal(row) or self._time_refusal(row)

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
        if resolve(decisions, self.required, adjudication, stage="ta").outcome == "included":
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
        if (blinded := self._blinded_refusal(row)) is not None:
            return blinded
        if row.stage == "ft" and self.state(row.record_id, "ta").outcome != "included":
            return f"record {row.record_id} is not up for {where} screening: it has not passed title/abstract"
        if row.stage == "ft" and row.record_id in self.not_retrieved and row.decision != current:
            return full_text_not_retrieved(row.record_id)
        if row.role == "adjudicator":
            decisions = self.decisions[row.stage].get(row.record_id, {})
            own = resolve(decisions, self.required, stage=row.stage).outcome
            reasons = self.reasons.get(row.record_id, {}) if row.stage == "ft" else {}
            return adjudication_refusal(row.record_id, row.stage, cast(Decision, row.decision), own,
                                        (reasons.get(r) for r in decisions),
                                        row.record_id in self.adjudicated[row.stage])
        # The adjudicator settled the record on the decisions as they stood; the same decision again
        # (an export imported again) changes nothing and is allowed. At full text the reason is part of
        # it: another reason could end the reason dispute an adjudication settled.
        same = row.decision == current and (
            row.stage == "ta" or self.reasons.get(row.record_id, {}).get(cast(int, row.reviewer.id)) == row.reason)
        if row.record_id not in self.adjudicated[row.stage] or same:
            # A new screener once the record has its decisions: refused as record_decision refuses it.
            return quota_refusal(row.record_id, row.stage, cast(int, row.reviewer.id),
                                 self.decisions[row.stage].get(row.record_id, {}), self.required)
        if current is None:
            # Said neutrally: that the record was adjudicated would tell someone who never decided it
            # that others disagreed on it.
            return f"record {row.record_id} is not open for {row.reviewer.name}'s decision at {where}"
        return (f"record {row.record_id} has been adjudicated at {where}; {row.reviewer.name}'s decision on it "
                f"is final ({current}, not {row.decision})")

    def _blind_before(self, record_id: int, stage: Stage) -> bool:
        """Whether the record's screening at the stage was blinded to the importer before the import
        (domain.screening.is_blind_to_others, the screen's and the export's rule)."""
        decisions, adjudicated = self._before
        current = decisions[stage].get(record_id, {})
        outcome = resolve(current, self.required, adjudicated[stage].get(record_id), stage=stage).outcome
        return is_blind_to_others(current.get(cast(int, self.blinded_importer)), outcome)

    def _blinded_refusal(self, row: ImportRow) -> str | None:
        """A non-lead's row whose check depends on a record their own screener row in this file completed
        while others' decisions on it were blinded to them: a full-text row (does the record pass
        title/abstract?) or their adjudication as a screener who also adjudicates (is it a conflict?). The
        answer depends on those decisions, and the import stores all rows or none: taken or refused (storing
        nothing, their own decision included), the row would tell the importer how the others decided. So
        it is refused in the same words whatever they decided; imported first, the importer's decision
        ends blinding, and the rows that depend on it follow in a second file."""
        if self.blinded_importer is None or self.required < 2 or row.decision == RETRACTED:
            return None
        who, rid = row.reviewer.name, row.record_id
        if row.stage == "ft" and row.role == "screener" and (rid, "ta") in self.touched_blind:
            return (f"record {rid} is not up for full text screening in this file: whether it passes "
                    f"title/abstract depends on decisions still blinded to {who}; import the title/abstract rows "
                    "first, then the full-text rows")
        if row.role == "adjudicator" and (rid, row.stage) in self.touched_blind:
            return (f"record {rid} cannot be adjudicated at {STAGES[row.stage]} in this file: {who}'s own decision "
                    f"on it is in this file, and whether it is in conflict depends on decisions still blinded to "
                    f"{who}; import the decisions first, then the adjudication")
        return None

    def _time_refusal(self, row: ImportRow) -> str | None:
        """A row dated before a row it follows (module docstring): stored, it would be current while a
        `--history` export lists it before that row, so the history would replay into other decisions.
        A row without a time is stored as of now, as the screen stores a decision, and is not checked:
        only a row dated later than now could be after it, and such a row is refused."""
        if row.time is None:
            return None
        at, rid, stage = row.time, row.record_id, row.stage
        if at > self.now + FUTURE_TOLERANCE:
            return (f"the row's time {_when(at)} (record {rid}) is later than now ({_when(self.now)}): a decision "
                    "made after it "
                    "would be stored as current yet listed before it by a --history export (check the clock or "
                    "date of the file's source; give the time the decision was made, or none to store it as of now)")
        where, fix = STAGES[stage], "give a later time, or none to store it as of now"
        if row.role == "adjudicator":
            settled = self.latest_decided.get((rid, stage))
            if settled is not None and at < settled.at:
                return (f"the adjudication's time {_when(at)} is earlier than a decision it settles on record "
                        f"{rid} at {where} ({_said(settled.decision)} at {_when(settled.at)}; {fix})")
            replaced = self.adjudication.get((rid, stage))
            if replaced is not None and at < replaced.at:
                return (f"the adjudication's time {_when(at)} is earlier than record {rid}'s current adjudication "
                        f"at {where} ({replaced.decision} at {_when(replaced.at)}; {fix})")
        else:
            own = self.latest.get((rid, cast(int, row.reviewer.id), stage))
            if own is not None and at < own.at:
                return (f"the row's time {_when(at)} is earlier than {row.reviewer.name}'s latest row on record "
                        f"{rid} at {where} ({_said(own.decision)} at {_when(own.at)}): it would replace a later "
                        f"decision ({fix})")
        if stage == "ft" and row.decision != RETRACTED:
            then = self._title_abstract_at(rid, (at, ROLES.index(row.role)))
            if then != "included":
                # Where the record stood then ("conflict", say) tells of others' title/abstract decisions,
                # not for an importer still blinded to them there (a full-text screener who did not screen it).
                blind = self.blinded_importer is not None and self._blind_before(rid, "ta")
                was = "" if blind else f" (it was {then.replace('_', ' ')} then)"
                return (f"the row's time {_when(at)} is before record {rid} passed title/abstract{was}, so a "
                        f"--history export would replay it too early ({fix}; "
                        "from another review, its --history export has the title/abstract rows in between)")
        return None

    def _title_abstract_at(self, record_id: int, order: tuple[datetime, int]) -> str:
        """The record's title/abstract outcome just before a row placed at `order` in a history export."""
        decisions: dict[int, Decision] = {}
        adjudication: Decision | None = None
        # A stable sort: rows of one time and role stay in storage order, as the export lists them.
        for x in sorted(self.title_abstract.get(record_id, []), key=Dated.order):
            if x.order() > order:
                break
            if x.reviewer_id is None:
                adjudication = cast(Decision, x.decision)
            elif x.decision == RETRACTED:
                decisions.pop(x.reviewer_id, None)
            else:
                decisions[x.reviewer_id] = cast(Decision, x.decision)
        return resolve(decisions, self.required, adjudication, stage="ta").outcome

    def apply(self, row: ImportRow) -> None:
        reviewer_id = None if row.role == "adjudicator" else cast(int, row.reviewer.id)
        if (reviewer_id is not None and reviewer_id == self.blinded_importer
                and self._blind_before(row.record_id, row.stage)):
            self.touched_blind.add((row.record_id, row.stage))
        self._apply(row.record_id, row.stage, row.role, reviewer_id, row.decision, row.time or self.now, row.reason)

    def _apply(self, record_id: int, stage: Stage, role: Role, reviewer_id: int | None, decision: str,
               at: datetime, reason: str | None) -> None:
        dated = Dated(at, role, reviewer_id, decision)
        if stage == "ta":
            self.title_abstract[record_id].append(dated)
        if reviewer_id is None:
            self.adjudicated[stage][record_id] = cast(Decision, decision)
            self.adjudication[(record_id, stage)] = dated
            return
        mine = self.decisions[stage].setdefault(record_id, {})
        if decision == RETRACTED:
            mine.pop(reviewer_id, None)
        else:
            mine[reviewer_id] = cast(Decision, decision)
            if stage == "ft":
                self.reasons.setdefault(record_id, {})[reviewer_id] = reason
        self.latest[(record_id, reviewer_id, stage)] = dated
        settled = self.latest_decided.get((record_id, stage))
        if settled is None or at >= settled.at:
            self.latest_decided[(record_id, stage)] = dated

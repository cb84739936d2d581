"""Provides moving screening decisions between tools: CSV export and an all-or-nothing CSV import.

Blinding and roles hold here as on the screen (services/screen.py): a lead exports and imports
everyone's rows; any other reviewer exports their own rows and others' only on records where
blinding has ended for them, and imports only rows naming themselves. Adjudications travel as rows
too (the reviewer is the adjudicator, `role` says so), so a settled conflict stays settled.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from sqlmodel import Session

from reviewkit.domain.records import normalise_doi
from reviewkit.domain.screening import (
    DECISIONS,
    STAGES,
    Decision,
    RecordScreening,
    Stage,
    is_blind_to_others,
    resolve,
)
from reviewkit.errors import ParseError
from reviewkit.services.common import acting_reviewer, article, read_csv_text
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AdjudicationRow, ReviewerRow, ScreeningDecisionRow

COLUMNS = ("record", "reviewer", "stage", "decision", "reason", "note", "time", "role")
REQUIRED = ("record", "reviewer", "stage", "decision")
Role = Literal["screener", "adjudicator"]
ROLES: tuple[Role, ...] = ("screener", "adjudicator")
#: The only column a line break belongs in; one anywhere else is a quote left open.
_MULTILINE = frozenset({"note"})
_NOTHING = "nothing was imported"

#: Builds the error for the row being read (its line is bound in).
Fail = Callable[[str], ParseError]


# --- export -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One exported row: a screening decision or an adjudication."""

    id: int
    record_id: int
    reviewer_id: int
    role: Role
    stage: str
    decision: str
    reason: str | None
    note: str | None
    at: datetime


def export_decisions(review: Review, path: Path, *, history: bool = False, actor: str | None = None) -> int:
    """Write the decisions and adjudications `actor` may see as CSV; returns rows written.

    Each reviewer's current decision and each record's current adjudication (with `history`, every
    row). A lead gets everyone's; anyone else their own rows plus others' on records where blinding
    has ended for them (domain.screening.is_blind_to_others, as other_decisions applies it).
    """
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, actor)
        names = store.reviewer_names(session)
        lines = [*_decision_lines(store.all_decision_rows(session), history),
                 *_adjudication_lines(queries.adjudication_history(session), history)]
        if "lead" not in who.roles:
            seen = _unblinded(session, cast(int, who.id), required)
            lines = [x for x in lines if x.reviewer_id == who.id or (x.record_id, x.stage) in seen]
    # The order an import applies them in: a stage's decisions before its adjudications, title/abstract
    # before full text, so the file re-imports (each row is checked against the rows above it).
    lines.sort(key=lambda x: (list(STAGES).index(cast(Stage, x.stage)), ROLES.index(x.role), x.id))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for x in lines:
            writer.writerow([x.record_id, names.get(x.reviewer_id, ""), x.stage, x.decision, x.reason or "",
                             x.note or "", x.at.astimezone(UTC).isoformat(), x.role])
    return len(lines)


def _decision_lines(rows: list[ScreeningDecisionRow], history: bool) -> list[_Line]:
    if not history:
        latest: dict[tuple[int, int, str], ScreeningDecisionRow] = {}
        for row in rows:
            latest[(row.record_id, row.reviewer_id, row.stage)] = row
        rows = [r for r in latest.values() if r.decision != "retracted"]
    return [_Line(r.id or 0, r.record_id, r.reviewer_id, "screener", r.stage, r.decision, r.reason, r.note,
                  r.created_at) for r in rows]


def _adjudication_lines(rows: list[AdjudicationRow], history: bool) -> list[_Line]:
    if not history:
        latest: dict[tuple[int, str], AdjudicationRow] = {}
        for row in rows:
            latest[(row.record_id, row.stage)] = row
        rows = list(latest.values())
    return [_Line(r.id or 0, r.record_id, r.adjudicator_id, "adjudicator", r.stage, r.decision, r.reason, r.note,
                  r.created_at) for r in rows]


def _unblinded(session: Session, reviewer_id: int, required: int) -> set[tuple[int, str]]:
    """(record, stage) pairs on which this reviewer may see others' decisions (and the adjudication)."""
    out: set[tuple[int, str]] = set()
    for stage in STAGES:
        adjudicated = queries.adjudications(session, stage)
        for rid, decisions in queries.current_decisions(session, stage).items():
            outcome = resolve(decisions, required, adjudicated.get(rid)).outcome
            if not is_blind_to_others(decisions.get(reviewer_id), outcome):
                out.add((rid, stage))
    return out


# --- reading the file -------------------------------------------------------------------------


def _failer(path: Path, line: int) -> Fail:
    def fail(message: str) -> ParseError:
        return ParseError(message, file=str(path), line=line, hint=_NOTHING)

    return fail


def _read_table(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (line the row starts on, column → value).

    Refused with the line: a NUL (as every text reader refuses it), a missing column, broken
    quoting (strict csv: a quote left open to the end of the file or closed mid-field), and a row
    whose width is not the header's or with a line break outside the note, which is where a quote
    left open swallows the next rows.
    """
    text = read_csv_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise _quoting_error(path, 1, reader.line_num, exc) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ParseError(f"missing column(s): {', '.join(missing)}", file=str(path), line=1,
                         hint=f"columns: {', '.join(COLUMNS)}")
    rows: list[tuple[int, dict[str, str]]] = []
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            raise _quoting_error(path, start, reader.line_num, exc) from None
        if fields is None:
            return rows
        line, start = start, reader.line_num + 1
        if fields:  # csv reads a blank line as []: skipped
            rows.append((line, _row_dict(header, fields, _failer(path, line))))


def _quoting_error(path: Path, start: int, broke: int, exc: csv.Error) -> ParseError:
    if "unexpected end of data" in str(exc):
        message = f"a quote opened in this row is never closed (it runs to the end of the file, line {broke})"
    else:
        message = f"broken CSV quoting ({exc}, on line {broke})"
    return ParseError(message, file=str(path), line=start,
                      hint=f"close the quote or remove the stray one; {_NOTHING}")


def _row_dict(header: list[str], fields: list[str], fail: Fail) -> dict[str, str]:
    if len(fields) != len(header) and not (len(fields) > len(header) and not any(
            f.strip() for f in fields[len(header):])):
        raise fail(f"row has {len(fields)} fields but the header has {len(header)} "
                   "(a field with a comma or line break inside needs quotes; a quote may be left open)")
    row = dict(zip(header, fields, strict=False))
    for column, value in row.items():
        if column not in _MULTILINE and ("\n" in value or "\r" in value):
            raise fail(f"the {column or 'unnamed'} field runs over several lines: a quote in this row is "
                       "left open")
    return row


# --- parsing rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    record_id: int
    reviewer: ReviewerRow
    role: Role
    stage: Stage
    decision: Decision
    reason: str | None
    note: str | None
    time: datetime | None


@dataclass(frozen=True)
class _Context:
    """What reading a row needs: who imports, the team, the records and the protocol's reasons."""

    importer: ReviewerRow
    reviewers: dict[str, ReviewerRow]
    ids: set[int]
    by_identifier: dict[str, set[int]]
    removed: set[int]
    reasons: list[str]

    @classmethod
    def load(cls, session: Session, review: Review, importer: ReviewerRow) -> _Context:
        ids, by_identifier = queries.record_lookup(session)
        reviewers = {name: store.reviewer_by_name(session, name) for name in store.reviewer_names(session).values()}
        return cls(importer, {n: r for n, r in reviewers.items() if r is not None}, ids, by_identifier,
                   queries.removed_duplicates(session), list(review.protocol.screening.exclusion_reasons))


def _parse(raw: dict[str, str], line: int, ctx: _Context, fail: Fail) -> _Row:
    """One row, its fields checked (not yet against the screening state)."""
    def get(column: str) -> str:
        return (raw.get(column) or "").strip()

    rid = _resolve_record(get("record"), ctx.ids, ctx.by_identifier, ctx.removed, fail)
    reviewer = _reviewer(get("reviewer"), ctx, fail)
    role = _role(reviewer, get("role").lower(), fail)
    stage = get("stage")
    if stage not in STAGES:
        raise fail(f"unknown stage '{stage}' (use ta or ft)")
    decision = get("decision").lower()
    if decision not in DECISIONS:
        raise fail(f"unknown decision '{decision}' (use include, exclude or maybe)")
    if role == "adjudicator" and decision not in ("include", "exclude"):
        raise fail("an adjudication is include or exclude")
    reason = get("reason") or None
    if stage == "ft" and decision == "exclude":
        _check_reason(reason, ctx.reasons, fail)
    return _Row(line, rid, reviewer, role, cast(Stage, stage), cast(Decision, decision), reason,
                get("note") or None, _time(raw.get("time"), fail))


def _reviewer(name: str, ctx: _Context, fail: Fail) -> ReviewerRow:
    reviewer = ctx.reviewers.get(name)
    if reviewer is None:
        raise fail(f"unknown reviewer '{name}'")
    # Only a lead may write for others: a screener importing rows "by" a colleague would be deciding
    # for them, and could fill a record's quota to lift blinding.
    if "lead" not in ctx.importer.roles and name != ctx.importer.name:
        raise fail(f"{ctx.importer.name} may import only their own decisions, and this row is {name}'s "
                   "(a lead imports everyone's)")
    return reviewer


def _role(reviewer: ReviewerRow, given: str, fail: Fail) -> Role:
    """The role a row is in: the `role` column when given, else screener, else adjudicator."""
    roles = ", ".join(reviewer.roles) or "none"
    if given:
        if given not in ROLES:
            raise fail(f"unknown role '{given}' (use screener or adjudicator)")
        if given not in reviewer.roles:
            raise fail(f"{reviewer.name} is not {article(given)} {given} (roles: {roles})")
        return cast(Role, given)
    for role in ROLES:
        if role in reviewer.roles:
            return role
    raise fail(f"{reviewer.name} is neither a screener nor an adjudicator (roles: {roles}); "
               "only screening decisions and adjudications are imported")


def _check_reason(reason: str | None, reasons: list[str], fail: Fail) -> None:
    if not reason:
        raise fail(f"a full-text exclusion needs a reason (one of: {'; '.join(reasons)})")
    if reason not in reasons:
        raise fail(f"unknown exclusion reason {reason!r} (the protocol's: {'; '.join(reasons)})")


def _resolve_record(
    value: str, ids: set[int], by_identifier: dict[str, set[int]], removed: set[int], fail: Fail
) -> int:
    """A record named by reviewkit id or by an identifier it was imported with; ambiguity is an error.

    An identifier shared by a duplicate group names the group's primary record.
    """
    if not value:
        raise fail("empty record")
    matches: set[int] = set()
    if value.isdigit() and int(value) in ids:
        matches.add(int(value))
    doi = normalise_doi(value)
    for key in {value, doi or ""} - {""}:
        matches |= by_identifier.get(key, set())
    if not matches:
        raise fail(f"unknown record '{value}' (not a reviewkit id, source id, PMID or DOI)")
    if len(matches) > 1 and len(matches - removed) == 1:
        matches -= removed
    if len(matches) > 1:
        raise fail(f"record '{value}' is ambiguous: it names records {sorted(matches)}")
    return matches.pop()


def _time(value: str | None, fail: Fail) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(f"time {value!r} is not ISO 8601 (2026-01-31T12:00:00+00:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- checking rows against the screening state ------------------------------------------------


class _Ledger:
    """The screening state as the file's rows apply one after another, which each row is checked against.

    The checks are services/screen.py's: record_decision's (a removed duplicate, a record that has not
    passed title/abstract, a decision changed after adjudication) and resolve_conflict's (only a
    conflict is adjudicated, or re-adjudicated). They are made here, in memory, so a file of
    thousands of rows is not thousands of round trips.
    """

    def __init__(self, session: Session, required: int) -> None:
        self.required = required
        self.decisions = {stage: queries.current_decisions(session, stage) for stage in STAGES}
        self.adjudicated = {stage: queries.adjudications(session, stage) for stage in STAGES}
        self.primaries = queries.duplicate_primaries(session)

    def state(self, record_id: int, stage: Stage) -> RecordScreening:
        return resolve(self.decisions[stage].get(record_id, {}), self.required,
                       self.adjudicated[stage].get(record_id))

    def refusal(self, row: _Row) -> str | None:
        """Why the row may not be stored now, or None."""
        where = STAGES[row.stage]
        primary = self.primaries.get(row.record_id)
        if primary is not None:
            return (f"record {row.record_id} is not up for {where} screening: it is a removed duplicate of "
                    f"record {primary} (name that record)")
        if row.stage == "ft" and self.state(row.record_id, "ta").outcome != "included":
            return f"record {row.record_id} is not up for {where} screening: it has not passed title/abstract"
        if row.role == "adjudicator":
            state = self.state(row.record_id, row.stage)
            if state.outcome != "conflict" and not state.adjudicated:
                return f"record {row.record_id} is not in conflict at {where} ({state.outcome})"
            return None
        if row.record_id not in self.adjudicated[row.stage]:
            return None
        # The adjudicator settled the record on the decisions as they stood; the same decision again
        # (an export imported again) changes nothing and is allowed.
        current = self.decisions[row.stage].get(row.record_id, {}).get(cast(int, row.reviewer.id))
        if row.decision == current:
            return None
        if current is None:
            # Said neutrally: that the record was adjudicated would tell someone who never decided it
            # that others disagreed on it.
            return f"record {row.record_id} is not open for {row.reviewer.name}'s decision at {where}"
        return (f"record {row.record_id} has been adjudicated at {where}; {row.reviewer.name}'s decision on it "
                f"is final ({current}, not {row.decision})")

    def apply(self, row: _Row) -> None:
        if row.role == "adjudicator":
            self.adjudicated[row.stage][row.record_id] = row.decision
        else:
            self.decisions[row.stage].setdefault(row.record_id, {})[cast(int, row.reviewer.id)] = row.decision


# --- import -----------------------------------------------------------------------------------


def import_decisions(review: Review, path: Path, *, actor: str | None = None) -> int:
    """Import decisions and adjudications from CSV, as `actor`; returns rows stored.

    Rows apply in file order, each checked against the review's state with the file's earlier rows
    in it. Any bad row is reported with its line and nothing is stored.
    """
    table = _read_table(path)
    with session_scope(review.engine, write=True) as session:
        importer = acting_reviewer(session, actor)
        ctx = _Context.load(session, review, importer)
        ledger = _Ledger(session, review.protocol.screening.screeners_per_record)
        rows: list[_Row] = []
        for line, raw in table:
            fail = _failer(path, line)
            row = _parse(raw, line, ctx, fail)
            refusal = ledger.refusal(row)
            if refusal is not None:
                raise fail(refusal)
            ledger.apply(row)
            rows.append(row)
        _store(session, rows)
    return len(rows)


def _store(session: Session, rows: Iterable[_Row]) -> None:
    for row in rows:
        added: ScreeningDecisionRow | AdjudicationRow
        if row.role == "adjudicator":
            added = store.add_adjudication(session, record_id=row.record_id, adjudicator=row.reviewer,
                                           stage=row.stage, decision=row.decision, reason=row.reason, note=row.note)
        else:
            added = store.add_decision(session, record_id=row.record_id, reviewer=row.reviewer, stage=row.stage,
                                       decision=row.decision, reason=row.reason, note=row.note)
        if row.time is not None:
            added.created_at = row.time
            session.add(added)

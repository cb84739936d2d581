"""Provides reading a decisions CSV and checking each row's fields (not yet against the screening state).

Roles hold here as on the screen (services/screen.py): a lead imports everyone's rows; any other
reviewer imports only rows naming themselves. A row identical to a stored one (an export imported
again) is left out before the reviewer's roles are checked, and before whose row it is: a non-lead's
own export, which holds others' rows where blinding has ended for them, imports back. Of others'
rows only those the importer may see (decisions_export.unblinded) are matched at all (decisions_import's
`present`): any other is refused as before, so whether a row counts as stored tells nothing blinding hides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlmodel import Session

from reviewkit.domain.screening import DECISIONS, STAGES, Stage
from reviewkit.errors import ParseError
from reviewkit.services.common import (
    NOTHING_IMPORTED,
    CsvRow,
    article,
    read_csv_rows,
    read_csv_text,
)
from reviewkit.services.decisions_export import COLUMNS
from reviewkit.services.decisions_ledger import RETRACTED, ROLES, ImportRow, Role
from reviewkit.services.project import Review
from reviewkit.services.screen import did_you_mean_reason
from reviewkit.store import screening as store
from reviewkit.store.tables import ReviewerRow

REQUIRED = ("record", "reviewer", "stage", "decision")
#: The only columns a line break belongs in; one anywhere else is a quote left open.
_MULTILINE = frozenset({"note", "title"})

#: Builds the error for the row being read (its line is bound in).
Fail = Callable[[str], ParseError]
#: Whether an ImportRow is identical to a stored row not yet matched (and matches it if so).
Present = Callable[[ImportRow], bool]


def failer(path: Path, line: int) -> Fail:
    """The Fail for a row of `path` on `line`."""
    def fail(message: str) -> ParseError:
        return ParseError(message, file=str(path), line=line, hint=NOTHING_IMPORTED)

    return fail


def read_rows(path: Path) -> list[CsvRow]:
    """The file's rows; a header of semicolon- or tab-separated names (a spreadsheet's "CSV") says so."""
    try:
        return read_csv_rows(path, REQUIRED, COLUMNS, multiline=_MULTILINE)
    except ParseError as exc:
        if exc.line != 1 or not exc.message.startswith("missing column"):
            raise
        first = read_csv_text(path).split("\n", 1)[0]
        separator = "';'" if ";" in first else "tabs" if "\t" in first else None
        if separator is None:
            raise
        raise ParseError(exc.message, file=str(path), line=1,
                         hint=f"the file looks separated by {separator}: save it as comma-separated CSV; "
                              f"columns: {', '.join(COLUMNS)}") from None


@dataclass(frozen=True)
class RowContext:
    """What checking a row's fields needs: who imports, the team and the protocol's reasons."""

    importer: ReviewerRow
    reviewers: dict[str, ReviewerRow]
    reasons: list[str]

    @classmethod
    def load(cls, session: Session, review: Review, importer: ReviewerRow) -> RowContext:
        reviewers = {name: store.reviewer_by_name(session, name) for name in store.reviewer_names(session).values()}
        return cls(importer, {n: r for n, r in reviewers.items() if r is not None},
                   list(review.protocol.screening.exclusion_reasons))


def parse_row(raw: dict[str, str], line: int, record: int | str, ctx: RowContext, fail: Fail,
              present: Present) -> ImportRow | None:
    """One row, its fields checked (not yet against the screening state); None when it is already stored.

    A non-lead's row naming someone else is None when `present` finds it stored (their own export
    imported back) and refused otherwise, as every such row was, whatever else is wrong with it: its
    other errors would tell of that reviewer's roles."""
    if isinstance(record, str):
        raise fail(record)
    name = (raw.get("reviewer") or "").strip()
    reviewer = _reviewer(name, ctx, fail)
    if "lead" in ctx.importer.roles or name == ctx.importer.name:
        return _fields(raw, line, record, reviewer, ctx, fail, present)
    # Only a lead may write for others: a screener importing rows "by" a colleague would be deciding
    # for them, and could fill a record's quota to lift blinding.
    refusal = fail(f"{ctx.importer.name} may import only their own decisions, and this row is {name}'s "
                   "(a lead imports everyone's)")
    try:
        row = _fields(raw, line, record, reviewer, ctx, fail, present)
    except ParseError:
        raise refusal from None
    if row is not None:
        raise refusal
    return None


def _fields(raw: dict[str, str], line: int, record: int, reviewer: ReviewerRow, ctx: RowContext, fail: Fail,
            present: Present) -> ImportRow | None:
    """parse_row's row of `reviewer`, its fields checked; None when `present` finds it stored."""
    def get(column: str) -> str:
        return (raw.get(column) or "").strip()

    given = get("role").lower()
    if given and given not in ROLES:
        raise fail(f"unknown role '{given}' (use screener or adjudicator)")
    # Stage, decision and role are read without case (a spreadsheet's "TA", "Include").
    stage = get("stage").lower()
    if stage not in STAGES:
        raise fail(f"unknown stage '{stage}' (use ta or ft)")
    decision = get("decision").lower()
    if decision not in (*DECISIONS, RETRACTED):
        raise fail(f"unknown decision '{decision}' (use include, exclude or maybe; {RETRACTED} undoes one)")
    reason = get("reason") or None
    if stage == "ft" and decision == "exclude":
        _check_reason(reason, ctx.reasons, fail)
    note, when = get("note") or None, _time(raw.get("time"), fail)
    # A stored row is left out before the reviewer's roles are checked: a lead's export still imports
    # again after a reviewer left the team (their decisions stand, and still count).
    # (without a time, a row is the same as the reviewer's current decision when it says what that says)
    for role in _roles_to_match(reviewer, given):
        if present(ImportRow(line, record, reviewer, role, cast(Stage, stage), decision, reason, note, when)):
            return None
    role = _role(reviewer, given, fail)
    if role == "adjudicator" and decision not in ("include", "exclude"):
        raise fail("an adjudication is include or exclude")
    if reason and decision != "exclude":
        # As the screening service stores them: a reason is why a record is excluded (required at full
        # text, free text at title/abstract, where adjudicators give one too).
        raise fail(f"a reason goes only with an exclusion, and this row is a {STAGES[cast(Stage, stage)]} "
                   f"{decision} with reason {reason!r} (leave reason empty, or put the text in note)")
    return ImportRow(line, record, reviewer, role, cast(Stage, stage), decision, reason, note, when)


def _reviewer(name: str, ctx: RowContext, fail: Fail) -> ReviewerRow:
    reviewer = ctx.reviewers.get(name)
    if reviewer is None:
        raise fail(f"unknown reviewer '{name}'")
    return reviewer


def _roles_to_match(reviewer: ReviewerRow, given: str) -> tuple[Role, ...]:
    """The roles a row may be a stored row in: the `role` column's; without it, the one _role would
    give; for someone no longer on the team (no roles), either."""
    if given:
        return (cast(Role, given),)
    return next(((r,) for r in ROLES if r in reviewer.roles), ROLES)


def _role(reviewer: ReviewerRow, given: str, fail: Fail) -> Role:
    """The role a row is in: the `role` column when given, else screener, else adjudicator."""
    if not reviewer.roles:
        raise fail(f"{reviewer.name} is no longer on this review's team (review.toml names them no more): "
                   "only their rows already stored import again")
    roles = ", ".join(reviewer.roles)
    if given:
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
        raise fail(f"unknown exclusion reason {reason!r}{did_you_mean_reason(reason, reasons)} "
                   f"(the protocol's: {'; '.join(reasons)})")


def _time(value: str | None, fail: Fail) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(f"time {value!r} is not ISO 8601 (2026-01-31T12:00:00+00:00)") from None
    try:
        # In UTC, as rows are compared and stored: an offset can take a time past year 1 or 9999.
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except OverflowError:
        raise fail(f"time {value!r} is out of range: in UTC it falls before year 1 or after year 9999") from None

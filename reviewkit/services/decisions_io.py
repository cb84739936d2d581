"""Provides moving screening decisions between tools: CSV export and an all-or-nothing CSV import."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlmodel import Session

from reviewkit.domain.records import normalise_doi
from reviewkit.domain.screening import DECISIONS, STAGES, Stage
from reviewkit.errors import ParseError
from reviewkit.services.common import read_csv_rows
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import ReviewerRow, ScreeningDecisionRow

COLUMNS = ("record", "reviewer", "stage", "decision", "reason", "note", "time")


def export_decisions(review: Review, path: Path, *, history: bool = False) -> int:
    """Write each reviewer's current decision (or, with history, every row) as CSV; returns rows written."""
    with session_scope(review.engine) as session:
        names = store.reviewer_names(session)
        rows = store.all_decision_rows(session)
    if not history:
        latest: dict[tuple[int, int, str], ScreeningDecisionRow] = {}
        for row in rows:
            latest[(row.record_id, row.reviewer_id, row.stage)] = row
        rows = [r for r in latest.values() if r.decision != "retracted"]
        rows.sort(key=lambda r: r.id or 0)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([r.record_id, names.get(r.reviewer_id, ""), r.stage, r.decision, r.reason or "",
                             r.note or "", r.created_at.astimezone(UTC).isoformat()])
    return len(rows)


@dataclass(frozen=True)
class _Row:
    line: int
    record_id: int
    reviewer: str
    stage: str
    decision: str
    reason: str | None
    note: str | None
    time: datetime | None


def import_decisions(review: Review, path: Path, *, actor: str | None = None) -> int:
    """Import decisions from CSV; any bad row is reported with its line and nothing is stored."""
    reader = read_csv_rows(path, ("record", "reviewer", "stage", "decision"), COLUMNS)
    reasons = review.protocol.screening.exclusion_reasons
    with session_scope(review.engine, write=True) as session:
        ids, by_identifier = queries.record_lookup(session)
        removed = queries.removed_duplicates(session)
        reviewers = {name: store.reviewer_by_name(session, name) for name in store.reviewer_names(session).values()}
        parsed: list[_Row] = []
        for line, raw in enumerate(reader, start=2):
            def fail(message: str, line: int = line) -> ParseError:
                return ParseError(message, file=str(path), line=line, hint="nothing was imported")

            rid = _resolve_record((raw.get("record") or "").strip(), ids, by_identifier, removed, fail)
            reviewer = (raw.get("reviewer") or "").strip()
            if reviewer not in reviewers:
                raise fail(f"unknown reviewer '{reviewer}'")
            stage = (raw.get("stage") or "").strip()
            if stage not in STAGES:
                raise fail(f"unknown stage '{stage}' (use ta or ft)")
            decision = (raw.get("decision") or "").strip().lower()
            if decision not in DECISIONS:
                raise fail(f"unknown decision '{decision}' (use include, exclude or maybe)")
            reason = (raw.get("reason") or "").strip() or None
            if stage == "ft" and decision == "exclude" and reason not in reasons:
                raise fail(f"unknown exclusion reason {reason!r} (the protocol's: {'; '.join(reasons)})")
            parsed.append(_Row(line, rid, reviewer, stage, decision, reason,
                               (raw.get("note") or "").strip() or None, _time(raw.get("time"), fail)))
        _refuse_changes_after_adjudication(session, parsed, reviewers, path)
        for row in parsed:
            added = store.add_decision(session, record_id=row.record_id, reviewer=reviewers[row.reviewer],  # type: ignore[arg-type]
                                       stage=row.stage, decision=row.decision, reason=row.reason, note=row.note)
            if row.time is not None:
                added.created_at = row.time
                session.add(added)
    return len(parsed)


def _refuse_changes_after_adjudication(
    session: Session, rows: list[_Row], reviewers: dict[str, ReviewerRow | None], path: Path
) -> None:
    """Refuse (naming the line) a row that would change a decision on a record already adjudicated at
    its stage, as the screen refuses it: the adjudication settled the decisions as they stood. A row
    repeating the decision held (an export imported again) is allowed."""
    for stage in {row.stage for row in rows}:
        adjudicated = queries.adjudications(session, stage)
        held = queries.current_decisions(session, stage)
        for row in rows:
            if row.stage != stage or row.record_id not in adjudicated:
                continue
            who = reviewers[row.reviewer]
            assert who is not None and who.id is not None  # checked when the row was read
            mine = held.setdefault(row.record_id, {})
            current = mine.get(who.id)
            if row.decision != current:
                raise ParseError(
                    f"record {row.record_id} has been adjudicated at {STAGES[cast(Stage, stage)]}; {row.reviewer}'s "
                    f"decision on it is final ({current or 'none'}, not {row.decision})",
                    file=str(path), line=row.line, hint="nothing was imported")


def _resolve_record(  # noqa: ANN001
    value: str, ids: set[int], by_identifier: dict[str, set[int]], removed: set[int], fail
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


def _time(value: str | None, fail) -> datetime | None:  # noqa: ANN001
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(f"time {value!r} is not ISO 8601 (2026-01-31T12:00:00+00:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)

"""Provides the decisions CSV export: its columns, and the rows as the export writes them and an import compares.

Blinding and roles hold here as on the screen (services/screen_cards.py): a lead exports everyone's rows;
any other reviewer exports their own rows and others' only on records where blinding has ended for
them (an import takes only rows naming the importer, unless a lead, and leaves out others' rows such an
export shows unchanged: decisions_rows). Adjudications
travel as rows too (the reviewer is the adjudicator, `role` says so), so a settled conflict stays
settled.

Ids differ between reviews (the same files imported in another order), so the export adds each
record's PMID, DOI and title, which an import checks each row's record against, or finds it by
(decisions_ids). A `history` export has every row, undos ("retracted") and superseded decisions
included, in the order they were made (their time, which the import keeps in storage order:
decisions_ledger); an import replays it (decisions_import), so it rebuilds the same current
decisions in a copy of the review with the same records.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlmodel import Session

from reviewkit.domain.screening import STAGES, Stage, is_blind_to_others, resolve
from reviewkit.services.common import acting_reviewer
from reviewkit.services.decisions_ledger import RETRACTED, ROLES, Role
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AdjudicationRow, ScreeningDecisionRow

COLUMNS = ("record", "reviewer", "stage", "decision", "reason", "note", "time", "role")
#: What the export adds after COLUMNS so that another review can check each row's record, or find it.
IDENTITY = ("pmid", "doi", "title")
EXPORT_COLUMNS = (*COLUMNS, *IDENTITY)


@dataclass(frozen=True)
class Line:
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

    def key(self) -> tuple[object, ...]:
        """Every column, text as an import reads it (stripped, empty is none): a row's identity."""
        return (self.role, self.record_id, self.reviewer_id, self.stage, self.decision,
                _as_read(self.reason), _as_read(self.note), self.at.astimezone(UTC))


def _as_read(text: str | None) -> str | None:
    """Text as an import reads it back from the export: the reader takes a carriage return inside a field
    (alone or before a line feed) as a line feed (read_csv_text), so a stored note with one would never
    match its own exported row, and the export would not import back."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip() or None


def export_decisions(review: Review, path: Path, *, history: bool = False, actor: str | None = None) -> int:
    """Write the decisions and adjudications `actor` may see as CSV; returns rows written.

    Each reviewer's current decision and each record's current adjudication (with `history`, every
    row, undos and changes included, which an import replays). A lead gets everyone's; anyone else
    their own rows plus others' on records where blinding has ended for them
    (domain.screening.is_blind_to_others, as other_decisions applies it). Each row ends with its
    record's PMID, DOI and title (IDENTITY), which an import into another review checks.
    """
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, actor)
        names = store.reviewer_names(session)
        lines = [*decision_lines(store.all_decision_rows(session), history),
                 *adjudication_lines(queries.adjudication_history(session), history)]
        if "lead" not in who.roles:
            seen = unblinded(session, cast(int, who.id), required)
            lines = [x for x in lines if x.reviewer_id == who.id or (x.record_id, x.stage) in seen]
        identities = queries.record_identities(session)
    # The order an import applies them in, each row checked against the rows above it. A history
    # in the order things happened (time, then storage order): a title/abstract change after
    # full-text decisions must replay after them. The current state by stage, a stage's decisions
    # before its adjudications, title/abstract before full text: the rows of the state it ends in
    # (screen.record_decision keeps full-text decisions only on records that pass title/abstract).
    if history:
        lines = _history_order(lines)
    else:
        lines.sort(key=lambda x: (list(STAGES).index(cast(Stage, x.stage)), ROLES.index(x.role), x.id))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EXPORT_COLUMNS)
        for x in lines:
            pmid, doi, title = identities.get(x.record_id, (None, None, ""))
            writer.writerow([x.record_id, names.get(x.reviewer_id, ""), x.stage, x.decision, x.reason or "",
                             x.note or "", x.at.astimezone(UTC).isoformat(), x.role, pmid or "", doi or "", title])
    return len(lines)


def _history_order(lines: list[Line]) -> list[Line]:
    """Rows by time, then decisions before adjudications, then storage order (`lines` holds each table's
    rows in storage order). A row is never placed before the row it supersedes (the same reviewer's on
    the record and stage, or the record's adjudication at the stage): storage order decides which row
    is current, and rows stored before the import checked times (decisions_ledger) may be dated earlier."""
    floor: dict[tuple[object, ...], datetime] = {}
    placed: list[tuple[tuple[datetime, int, int], Line]] = []
    for x in lines:
        key = (x.role, x.record_id, x.stage, x.reviewer_id if x.role == "screener" else None)
        at = max(x.at, floor.get(key, x.at))
        floor[key] = at
        placed.append(((at, ROLES.index(x.role), x.id), x))
    return [x for _, x in sorted(placed, key=lambda p: p[0])]


def decision_lines(rows: list[ScreeningDecisionRow], history: bool) -> list[Line]:
    """The decisions as exported rows: every row with `history`, else each reviewer's current one."""
    if not history:
        latest: dict[tuple[int, int, str], ScreeningDecisionRow] = {}
        for row in rows:
            latest[(row.record_id, row.reviewer_id, row.stage)] = row
        rows = [r for r in latest.values() if r.decision != RETRACTED]
    return [Line(r.id or 0, r.record_id, r.reviewer_id, "screener", r.stage, r.decision, r.reason, r.note,
                 r.created_at) for r in rows]


def adjudication_lines(rows: list[AdjudicationRow], history: bool) -> list[Line]:
    """The adjudications as exported rows: every row with `history`, else each record's current one."""
    if not history:
        latest: dict[tuple[int, str], AdjudicationRow] = {}
        for row in rows:
            latest[(row.record_id, row.stage)] = row
        rows = list(latest.values())
    return [Line(r.id or 0, r.record_id, r.adjudicator_id, "adjudicator", r.stage, r.decision, r.reason, r.note,
                 r.created_at) for r in rows]


def unblinded(session: Session, reviewer_id: int, required: int) -> set[tuple[int, str]]:
    """(record, stage) pairs on which this reviewer may see others' decisions (and the adjudication): the
    export's, and an import's (decisions_import: only these rows of others count as already present)."""
    out: set[tuple[int, str]] = set()
    for stage in STAGES:
        adjudicated = queries.adjudications(session, stage)
        for rid, decisions in queries.current_decisions(session, stage).items():
            outcome = resolve(decisions, required, adjudicated.get(rid), stage=stage).outcome
            if not is_blind_to_others(decisions.get(reviewer_id), outcome):
                out.add((rid, stage))
    return out

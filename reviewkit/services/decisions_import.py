"""Provides the all-or-nothing decisions CSV import: rows read and checked, replayed against the review, stored.

Each row's record is found as `--ids` says (decisions_ids), its fields checked (decisions_rows), then
the row checked against the screening state with the file's earlier rows in it (decisions_ledger).
An import leaves out rows identical to a stored one (an export imported again) and counts them,
before the reviewer's roles are checked and before whose row it is: a non-lead's own export, which holds
others' rows where blinding has ended for them, imports back; others' rows they may not see are never
matched, so are refused as before. A `history` export (decisions_export) is replayed, so it
rebuilds the same current decisions in a copy of the review with the same records. Every bad row is
reported, each with its line, and nothing from the file is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlmodel import Session

from reviewkit.errors import ParseError
from reviewkit.services.common import NOTHING_IMPORTED, acting_reviewer, listed
from reviewkit.services.decisions_export import Line, adjudication_lines, decision_lines, unblinded
from reviewkit.services.decisions_ids import Ids, RecordIndex, check_identities, resolve_records
from reviewkit.services.decisions_ledger import RETRACTED, ImportRow, Ledger
from reviewkit.services.decisions_rows import RowContext, failer, parse_row, read_rows
from reviewkit.services.project import Review
from reviewkit.store import clock, queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope
from reviewkit.store.screening_import import Imported, store_imported
from reviewkit.store.tables import ReviewerRow

#: How many refused rows an error lists before "and N more".
_REFUSED_SHOWN = 20


@dataclass(frozen=True)
class DecisionsImport:
    """What an import did: rows stored, and rows left out as identical to a stored row."""

    stored: int
    present: int


def import_decisions(review: Review, path: Path, *, actor: str | None = None, ids: str = "auto") -> DecisionsImport:
    """Import decisions and adjudications from CSV, as `actor`.

    `ids` says what the `record` column holds: "reviewkit" record ids, "source" identifiers the
    records were imported with (source id or accession, PMID, DOI), or "auto": either, a value that
    names two different records being refused (every such line listed), except that a file with the
    exact columns `decisions export` writes is read as reviewkit ids (its own export, imported back).

    A file with pmid, doi or title columns (IDENTITY; the export writes them) is refused when a row's
    record does not match them, every such line listed: another review's ids name other records.
    With `ids` "source" such a file's rows are found by those columns (decisions_ids._by_identity).

    Rows apply in file order, each checked against the review's state with the file's earlier rows
    in it, their times too (decisions_ledger: a row dated before what it follows is refused, so a
    history export lists rows in the order that made the current decisions). A row identical to a
    stored one (record, reviewer, role, stage, decision, reason, note and time) is left out: each
    stored row stands for one such line; a row without a time is left out when it says what the
    reviewer's current decision says (an undo never is). A non-lead's row naming someone else is left
    out so only where their export would show it (decisions_export.unblinded; they exported it), and
    refused otherwise, as every such row was: matched against what they may not see, the difference
    would tell them others' blinded decisions. For the same reason a non-lead's full-text row on a record
    their own title/abstract row in the file completed, while others' decisions on it were blinded to them,
    is refused in words that do not depend on those decisions (decisions_ledger.Ledger._blinded_full_text):
    taken or refused (storing nothing), it would tell them how the others decided. Every bad row is reported with its line
    (_REFUSED_SHOWN of them, then how many more) and nothing is stored. The audit trail names `actor`
    as who stored each row and, in
    its `new`, the reviewer whose row it is and the file.
    """
    table = read_rows(path)
    how = Ids.choose(ids, table)
    with session_scope(review.engine, write=True) as session:
        importer = acting_reviewer(session, actor)
        ctx = RowContext.load(session, review, importer)
        index = RecordIndex.load(session, how)
        records = resolve_records(path, table, index, how)
        if how.identity:
            check_identities(path, table, records, index)
        # Before the screening state is read: a screener deciding one of these records meanwhile
        # would otherwise pass the quota check here and there at once (store.screening.lock_records).
        store.lock_records(session, [r for r in records.values() if isinstance(r, int)])
        # Only rows stored before this import: a file may hold a row twice (history of an earlier
        # double import), and replaying it must store both.
        decisions = store.all_decision_rows(session)
        adjudications = queries.adjudication_history(session)
        # The review's clock (the server's on PostgreSQL), which the rows stored without a time are dated by.
        ledger = Ledger(session, review.protocol.screening.screeners_per_record, decisions, adjudications,
                        now=clock.now(session),
                        blinded_importer=None if "lead" in importer.roles else cast(int, importer.id))
        stored = Counter(x.key() for x in [*decision_lines(decisions, True), *adjudication_lines(adjudications, True)])
        # A row without a time cannot be matched to the stored row it repeats; one that says what the
        # reviewer's (or the record's) current decision already says is taken as that row, so a file
        # without times imported twice adds nothing (it added "include → include" changes).
        current = {x.key()[:4]: x.key()[4:7] for x in [*decision_lines(decisions, False),
                                                      *adjudication_lines(adjudications, False)]}
        # Where a non-lead may see others' rows (as their export shows them), read with the rows above.
        seen = None if "lead" in importer.roles else unblinded(
            session, cast(int, importer.id), review.protocol.screening.screeners_per_record)

        def row_key(row: ImportRow) -> tuple[object, ...]:
            return Line(0, row.record_id, cast(int, row.reviewer.id), row.role, row.stage, row.decision,
                        row.reason, row.note, row.time or ledger.now).key()

        def present(row: ImportRow) -> bool:
            if seen is not None and row.reviewer.id != importer.id and (row.record_id, row.stage) not in seen:
                return False  # not theirs to see: refused as any other's row (decisions_rows.parse_row)
            key = row_key(row)
            if row.time is None:  # an undo is an act, not a state: two undos are two (the second refused)
                return row.decision != RETRACTED and current.get(key[:4]) == key[4:7]
            if stored[key] <= 0:
                return False
            stored[key] -= 1
            return True

        rows: list[ImportRow] = []
        refused: list[tuple[int, str]] = []
        for line, raw in table:
            # Every bad row is reported; a refused row is left out of the state the later rows are
            # checked against, as it would be left out of the review.
            try:
                row = parse_row(raw, line, records[line], ctx, failer(path, line), present)
            except ParseError as exc:
                refused.append((line, exc.message))
                continue
            if row is None:
                continue
            refusal = ledger.refusal(row)
            if refusal is not None:
                refused.append((line, refusal))
                continue
            ledger.apply(row)
            rows.append(row)
            key = row_key(row)
            current[key[:4]] = key[4:7]
        if refused:
            raise _refusal(path, refused)
        _store(session, rows, importer, path.name, ledger.now)
    return DecisionsImport(len(rows), len(table) - len(rows))


def _refusal(path: Path, refused: list[tuple[int, str]]) -> ParseError:
    """The error for the file's bad rows: one as it is; several listed with their lines (the first ones)."""
    first, message = refused[0]
    if len(refused) > 1:
        shown = listed([f"line {line}: {why}" for line, why in refused], _REFUSED_SHOWN)
        message = f"{len(refused)} rows are refused: {shown}"
    return ParseError(message, file=str(path), line=first, hint=NOTHING_IMPORTED)


def _store(session: Session, rows: Iterable[ImportRow], importer: ReviewerRow, source: str, now: datetime) -> None:
    store_imported(session, [Imported(row.record_id, row.reviewer, row.role, row.stage, row.decision, row.reason,
                                      row.note, row.time) for row in rows],
                   actor=importer, imported=source, now=now)

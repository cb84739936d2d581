"""Provides the records at any stage as RIS or CSV, for a reference manager."""

from __future__ import annotations

import csv
from pathlib import Path

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.status import stage_outcomes
from reviewkit.sources.formats.ris_write import write_ris
from reviewkit.store import dedup as store_dedup
from reviewkit.store import queries
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import session_scope

#: Stages a user can export, and what each holds.
STAGES = {
    "all": "every record as imported",
    "unique": "records after deduplication (what title/abstract screening sees)",
    "ta-included": "records that passed title/abstract screening (the full texts to seek)",
    "included": "reports included after full-text screening",
    "excluded": "records excluded at title/abstract or full text",
}


def records_at(review: Review, stage: str) -> list[int]:
    """Ids of the records at a stage."""
    if stage not in STAGES:
        raise ReviewkitError(f"unknown stage '{stage}' (use {', '.join(STAGES)})")
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        ids = queries.record_ids(session)
        if stage == "all":
            return sorted(ids)
        unique = ids - queries.removed_duplicates(session)
        if stage == "unique":
            return sorted(unique)
        ta = stage_outcomes(session, "ta", unique, required)
        passed = {r for r, o in ta.items() if o == "included"}
        ft = stage_outcomes(session, "ft", passed, required)
    if stage == "ta-included":
        return sorted(passed)
    if stage == "included":
        return sorted(r for r, o in ft.items() if o == "included")
    return sorted({r for r, o in ta.items() if o == "excluded"} | {r for r, o in ft.items() if o == "excluded"})


def export_records(review: Review, path: Path, stage: str = "included") -> int:
    """Write the records at a stage to FILE.ris or FILE.csv; returns how many."""
    suffix = path.suffix.lower()
    # Refused before the file is opened, so a wrong name leaves no empty file behind.
    if suffix not in (".ris", ".csv"):
        raise ReviewkitError(f"cannot write '{suffix}' files", where=str(path), hint="use .ris or .csv")
    wanted = set(records_at(review, stage))
    with session_scope(review.engine) as session:
        rows = [r for r in store_dedup.records_with_ids(session) if r.id in wanted]
    pairs = [(str(r.id), row_to_record(r)) for r in rows]
    with path.open("w", encoding="utf-8", newline="") as fh:
        if suffix == ".ris":
            return write_ris(pairs, fh)
        writer = csv.writer(fh)
        writer.writerow(["id", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
                         "nct_ids", "abstract"])
        for rid, r in pairs:
            writer.writerow([rid, r.title, "; ".join(r.authors), r.year or "", r.journal or r.journal_abbrev,
                             r.volume, r.issue, r.pages, r.doi or "", r.pmid or "", "; ".join(r.nct_ids), r.abstract])
    return len(pairs)

"""Tests that a whole-review dump reads every table on one snapshot, so work committed while a lead takes
`export review` cannot leave the archive with rows whose parents it lacks (on PostgreSQL, at READ
COMMITTED, an import committing between the record and record_source reads did: that archive would not
restore)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from reviewkit.services.project import Review
from reviewkit.store.archive import dump_tables
from tests.factories import add_records


def test_an_import_committed_mid_dump_is_wholly_in_or_wholly_out(review: Review) -> None:
    add_records(review, 2)
    fired: list[int] = []

    def import_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Once the dump has read `record` and is about to read `record_source`, another reviewer's import
        # (its own connection and transaction) commits new records with their sources.
        if not fired and "FROM record_source" in statement:
            fired.extend(add_records(review, 3, source="Embase"))

    event.listen(review.engine, "before_cursor_execute", import_meanwhile)
    try:
        tables = dump_tables(review.engine)
    finally:
        event.remove(review.engine, "before_cursor_execute", import_meanwhile)
    assert len(fired) == 3  # the import did commit in the middle of the dump
    records = {row["id"] for row in tables["record"]}
    assert {row["record_id"] for row in tables["record_source"]} <= records
    assert {row["run_id"] for row in tables["record_source"]} <= {row["id"] for row in tables["source_run"]}
    assert len(records) == 2

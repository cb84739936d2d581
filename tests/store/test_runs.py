"""Tests for storing a run's records: text the databases refuse never reaches them."""

from __future__ import annotations

from sqlmodel import select

from reviewkit.domain.records import Record
from reviewkit.services.project import Review
from reviewkit.store import queries
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RecordRow, RecordSourceRow
from tests.factories import add_records


def test_nul_from_an_api_record_is_dropped_the_same_on_every_database(review: Review) -> None:
    """A NUL inside an API record's fields (a `\\u0000` escape in JSON) is dropped before the insert:
    PostgreSQL would refuse the whole run, SQLite would keep a character no citation means."""
    record = Record(title="Baricitinib\x00 in atopic dermatitis", abstract="Phase 3\x00 trial",
                    authors=["Simpson\x00 EL"], keywords=["JAK\x00"], year=2020, source_id="NCT03334396\x00")
    (rid,) = add_records(review, [record], source="ClinicalTrials.gov")
    with session_scope(review.engine) as session:
        row = session.get(RecordRow, rid)
        assert row is not None
        assert (row.title, row.abstract, row.authors, row.keywords) == (
            "Baricitinib in atopic dermatitis", "Phase 3 trial", ["Simpson EL"], ["JAK"])
        source = session.exec(select(RecordSourceRow).where(RecordSourceRow.record_id == rid)).one()
        assert source.source_record_id == "NCT03334396"
        assert "\x00" not in "".join(queries.record_texts(session, {rid}).values())

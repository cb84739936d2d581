"""Tests for storing a run's records: text the databases refuse never reaches them."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from reviewkit.domain.records import Record
from reviewkit.services.identify import import_file
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


def test_a_page_long_doi_or_pmid_imports_the_same_on_every_database(review: Review, tmp_path: Path) -> None:
    """A DO field of 6000 characters that starts like a DOI, and an accession of 4000 digits: before the fix
    PostgreSQL refused the whole import (the DOI index takes 2704 bytes at most) while SQLite took it.
    Neither is an identifier: the records import on both, without them, their raw text kept."""
    junk = "".join(f"{i:04d}" for i in range(1500))
    path = tmp_path / "long.ris"
    path.write_text(f"TY  - JOUR\nTI  - A trial of baricitinib\nDO  - 10.1000/x{junk}\nER  - \n\n"
                    f"TY  - JOUR\nTI  - Another trial\nAN  - {junk[:4000]}\nER  - \n", encoding="utf-8")
    summary = import_file(review, path, actor="alice")
    assert summary.records == 2
    with session_scope(review.engine) as session:
        rows = session.exec(select(RecordRow).order_by(RecordRow.id)).all()  # type: ignore[arg-type]
    assert [(r.title, r.doi, r.pmid) for r in rows] == [("A trial of baricitinib", None, None),
                                                         ("Another trial", None, None)]
    assert junk in rows[0].raw

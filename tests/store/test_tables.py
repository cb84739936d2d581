"""Tests for the store: migrations build the models' schema, and every table round-trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import select

from reviewkit.store import tables as t
from reviewkit.store.db import (
    current_revision,
    head_revision,
    make_engine,
    migrate,
    session_scope,
    table_names,
)


def test_upgrade_to_head_matches_models(database_url: str) -> None:
    """alembic upgrade on an empty database yields exactly the schema the models describe."""
    engine = make_engine(database_url)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diffs == []
    assert set(table_names(engine)) >= {cls.__tablename__ for cls in t.ALL_TABLES}  # type: ignore[attr-defined]
    engine.dispose()


def test_migrate_is_idempotent(database_url: str) -> None:
    """Opening an up-to-date database again changes nothing."""
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def _rows() -> list[t.SQLModel]:
    """One row of every table, linked as a real review links them."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [
        t.ReviewerRow(id=1, name="alice", roles=["screener", "lead"], created_at=when),
        t.SourceRunRow(id=1, kind="search", source="PubMed", query="eczema", total_count=3,
                       record_count=3, status="complete", state={"webenv": "X", "done": [0]},
                       started_at=when, finished_at=when),
        t.RunNoteRow(id=1, run_id=1, position=0, file="pubmed.nbib", line=12, field="DP",
                     message="'in press' is not a year", record=""),
        t.RecordRow(id=1, title="Baricitinib in AD — a trial", abstract="BACKGROUND: ü",
                    authors=["Simpson, Eric L", "Lacour, J-P"], year=2020, doi="10.1/x", pmid="123",
                    nct_ids=["NCT03334396", "NCT03334422"], publication_types=["RCT"],
                    registry_info={}, extra={"k": [1, 2]}, raw="TY  - JOUR", first_run_id=1,
                    created_at=when),
        t.RecordRow(id=2, kind="registry", title="BREEZE-AD1", registry_info={"nct_id": "NCT03334396"},
                    first_run_id=1, created_at=when),
        t.RecordSourceRow(id=1, record_id=1, run_id=1, source_record_id="123", position=0),
        t.DuplicateGroupRow(id=1, primary_record_id=1, created_at=when),
        t.DuplicateMemberRow(id=1, group_id=1, record_id=2, method="fuzzy", score=0.97),
        t.DuplicatePairRow(id=1, record_a_id=1, record_b_id=2, score=0.9, fields={"title": 0.9},
                           created_at=when),
        t.StudyRow(id=1, label="BREEZE-AD1", nct_id="NCT03334396", created_at=when),
        t.StudyReportRow(id=1, study_id=1, record_id=1, status="confirmed", created_at=when),
        t.ScreeningDecisionRow(id=1, record_id=1, reviewer_id=1, stage="ta", decision="include",
                               note="clearly an RCT", created_at=when),
        t.ScreeningDecisionRow(id=2, record_id=1, reviewer_id=1, stage="ta", decision="exclude",
                               supersedes_id=1, created_at=when),
        t.AdjudicationRow(id=1, record_id=1, stage="ta", adjudicator_id=1, decision="include",
                          created_at=when),
        t.FullTextRow(id=1, record_id=1, status="retrieved", location="pdfs/a.pdf", reviewer_id=1,
                      created_at=when),
        t.RobAssessmentRow(id=1, study_id=1, outcome="iga_0_1", tool="rob2", variant="assignment",
                           assessor_id=1, created_at=when),
        t.RobAnswerRow(id=1, assessment_id=1, question="1.1", answer="PY", support="computer",
                       created_at=when),
        t.RobJudgementRow(id=1, assessment_id=1, domain="D1", proposed="low", final="low",
                          created_at=when),
        t.ArmRow(id=1, study_id=1, label="baricitinib 4 mg", dose="4 mg", n_randomised=125,
                 fields={"dose_mg": 4}, created_at=when),
        t.ExtractionValueRow(id=1, study_id=1, arm="baricitinib 4 mg", outcome="iga_0_1",
                             timepoint="week 16", field="events", value="21",
                             converted_from={"se": 1.2}, created_at=when),
        t.ExtractionStatusRow(id=1, study_id=1, extractor_id=1, status="finished", actor="alice", at=when),
        t.AuditEventRow(id=1, at=when, actor="alice", entity="decision", entity_id=2, record_id=1,
                        action="change", old={"decision": "include"}, new={"decision": "exclude"}),
    ]


def test_every_table_round_trips(database_url: str) -> None:
    """Each table's row reads back with every value intact (JSON, Unicode, UTC times)."""
    engine = make_engine(database_url)
    migrate(engine)
    rows = _rows()
    expected = [(type(r), r.model_dump()) for r in rows]
    with session_scope(engine, write=True) as session:
        for row in rows:
            session.add(row)
            session.flush()
    covered = {cls for cls, _ in expected}
    assert covered == set(t.ALL_TABLES)
    with session_scope(engine) as session:
        for cls, values in expected:
            got = session.exec(select(cls).where(cls.id == values["id"])).one()  # type: ignore[attr-defined]
            dumped = got.model_dump()
            for key, value in values.items():
                if isinstance(value, datetime):
                    assert dumped[key].astimezone(UTC) == value, (cls, key)
                else:
                    assert dumped[key] == value, (cls, key)
    engine.dispose()


def test_foreign_keys_are_enforced(database_url: str) -> None:
    """A decision on a record that does not exist is refused, not stored (FKs on in SQLite too)."""
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(database_url)
    migrate(engine)
    with pytest.raises(IntegrityError), session_scope(engine, write=True) as session:
        session.add(t.ScreeningDecisionRow(record_id=999, reviewer_id=999, stage="ta", decision="include"))
        session.flush()
    engine.dispose()


def test_failed_transaction_writes_nothing(database_url: str) -> None:
    """An error inside session_scope rolls the whole transaction back."""
    engine = make_engine(database_url)
    migrate(engine)
    with pytest.raises(RuntimeError), session_scope(engine, write=True) as session:
        session.add(t.ReviewerRow(name="zed", roles=["screener"]))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        assert session.exec(select(t.ReviewerRow)).all() == []
    engine.dispose()


def test_sqlite_settings(tmp_path) -> None:  # noqa: ANN001
    """The SQLite file runs in WAL mode with foreign keys on and a busy timeout."""
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    engine.dispose()

"""Tests that a trial is one study: the unique NCT id, the migration that brings old reviews in line,
and restoring an archive written before it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from reviewkit.cli import cli
from reviewkit.services import extract
from reviewkit.services.archive import review_archive
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import Review, open_review
from reviewkit.store import tables as t
from reviewkit.store.db import current_revision, head_revision, make_engine, migrate

STUDY = t.StudyRow.__table__  # type: ignore[attr-defined]
AUDIT = t.AuditEventRow.__table__  # type: ignore[attr-defined]


def test_the_migration_keeps_one_study_per_trial_and_audits_what_it_changed(database_url: str) -> None:
    """A review written before revision 0002, holding one trial under two studies and an id written
    loosely: the first study keeps the id (canonical), the later one keeps its row but not the id."""
    engine = make_engine(database_url)
    migrate(engine, to="0001")
    with engine.begin() as conn:
        conn.execute(insert(STUDY), [
            {"id": 1, "label": "BREEZE-AD1", "nct_id": "NCT03334396", "created_by": "a"},
            {"id": 2, "label": "JAIY", "nct_id": "nct 03334396", "created_by": "b"},
            {"id": 3, "label": "BREEZE-AD2", "nct_id": "nct03334422", "created_by": "a"},
            {"id": 4, "label": "no registration", "nct_id": None, "created_by": "a"},
            {"id": 5, "label": "nor this", "nct_id": None, "created_by": "a"},
        ])
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.begin() as conn:
        ids = dict(conn.execute(select(STUDY.c.id, STUDY.c.nct_id)).all())
        events = conn.execute(select(AUDIT.c.entity_id, AUDIT.c.action, AUDIT.c.old, AUDIT.c.new)
                              .where(AUDIT.c.entity == "study").order_by(AUDIT.c.entity_id)).all()
    assert ids == {1: "NCT03334396", 2: None, 3: "NCT03334422", 4: None, 5: None}
    assert [tuple(e) for e in events] == [
        (2, "nct_id", {"nct_id": "nct 03334396"}, {"nct_id": None, "same_trial_as_study": 1}),
        (3, "nct_id", {"nct_id": "nct03334422"}, {"nct_id": "NCT03334422"}),
    ]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(STUDY), [{"label": "again", "nct_id": "NCT03334396", "created_by": "c"}])
    engine.dispose()


def _restore(archive: dict, out: Path, folder: Path, review: Review, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    out.write_text(json.dumps(archive), encoding="utf-8")
    if review.engine.dialect.name != "sqlite":  # restore into a second scratch database
        from tests.conftest import _pg_scratch_database
        gen = _pg_scratch_database()
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", next(gen))
        return CliRunner().invoke(cli, ["restore", str(out), str(folder)]), gen
    return CliRunner().invoke(cli, ["restore", str(out), str(folder)]), None


def test_an_archive_from_before_the_unique_id_restores_through_the_migration(
        review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows load into the archive's own schema revision and are then migrated, as the review
    itself would have been: loading them straight into today's schema failed on the second study."""
    extract.create_study(review, "alice", "BREEZE-AD1", nct_id="NCT03334396")
    extract.create_study(review, "alice", "JAIY")
    archive = review_archive(review)
    archive["schema"] = "0001"
    archive["tables"]["study"][1]["nct_id"] = "NCT03334396"
    result, gen = _restore(archive, tmp_path / "old.json", tmp_path / "copy", review, monkeypatch)
    try:
        assert result.exit_code == 0, result.output
        copy = open_review(tmp_path / "copy")
        assert [(s.label, s.nct_id) for s in extract.list_studies(copy)] == [
            ("BREEZE-AD1", "NCT03334396"), ("JAIY", None)]
        (cleared,) = [e for e in audit_trail(copy) if e.entity == "study" and e.action == "nct_id"]
        assert cleared.actor == "reviewkit (schema 0002)" and cleared.old == {"nct_id": "NCT03334396"}
        copy.engine.dispose()
    finally:
        if gen is not None:
            gen.close()


def test_a_restore_that_fails_leaves_nothing_behind(review: Review, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged archive (a report link to a record it does not hold) is refused, and nothing is left:
    no protocol, no database, not the folder it made; the same folder takes a good archive next."""
    extract.create_study(review, "alice", "BREEZE-AD1", nct_id="NCT03334396")
    archive = review_archive(review)
    bad = json.loads(json.dumps(archive))
    bad["tables"]["study_report"] = [{"id": 1, "study_id": 1, "record_id": 999, "status": "confirmed",
                                      "is_main_report": False, "created_by": "x",
                                      "created_at": "2026-11-26T10:00:00+00:00"}]
    folder = tmp_path / "copy"
    result, gen = _restore(bad, tmp_path / "bad.json", folder, review, monkeypatch)
    try:
        assert result.exit_code == 1
        assert "bad.json" in result.output  # the row that fails, named before anything is written
        assert "table study_report, row 1: record_id 999 names no row of table record" in result.output
        assert not folder.exists()  # the folder it made goes too
        if gen is not None:  # the same (still empty) database takes the good archive
            result = CliRunner().invoke(cli, ["restore", str(_write(tmp_path / "ok.json", archive)), str(folder)])
        else:
            result, _ = _restore(archive, tmp_path / "ok.json", folder, review, monkeypatch)
        assert result.exit_code == 0, result.output
        copy = open_review(folder)
        assert [s.label for s in extract.list_studies(copy)] == ["BREEZE-AD1"]
        copy.engine.dispose()
    finally:
        if gen is not None:
            gen.close()


def _write(path: Path, archive: dict) -> Path:
    path.write_text(json.dumps(archive), encoding="utf-8")
    return path

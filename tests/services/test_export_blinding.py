"""Tests that the whole-database backup, the RoB export and the extraction table keep blinding:
a lead gets everything; anyone else what the app already shows them; strangers and dropped reviewers nothing."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import assess, assess_consensus, extract
from reviewkit.services.assess_export import export_rob
from reviewkit.services.backup import backup_review
from reviewkit.services.extract_consensus import record_consensus
from reviewkit.services.extract_io import export_table, extraction_rows
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import upsert_reviewers
from tests.extraction_required import fill_required

#: alice leads, carol adjudicates; bob, dave and erin only screen (erin assesses and extracts nothing).
TEAM = {"alice": ["screener", "lead"], "bob": ["screener"], "carol": ["adjudicator"], "dave": ["screener"],
        "erin": ["screener"]}
JUDGED = {f"D{i}": "low" for i in range(1, 8)}  # RoB 1, the example protocol's tool


@pytest.fixture
def team(review: Review) -> Review:
    """The example review (on each database) with the team above."""
    with session_scope(review.engine, write=True) as session:
        upsert_reviewers(session, TEAM)
    return review


def drop(review: Review, name: str) -> None:
    """Take `name` off the team, as removing them from review.toml does."""
    with session_scope(review.engine, write=True) as session:
        upsert_reviewers(session, {k: v for k, v in TEAM.items() if k != name})


def _refused_to_strangers(team: Review, export: Callable[..., object], out: Path) -> None:
    """No reviewer, an unknown one, and dave once dropped from the team: each export is refused, and no
    file is written."""
    with pytest.raises(ReviewkitError, match="no reviewer given"):
        export(team, out, actor=None)
    with pytest.raises(ReviewkitError, match="unknown reviewer 'zed'"):
        export(team, out, actor="zed")
    drop(team, "dave")
    with pytest.raises(PermissionDenied, match="'dave' is no longer on this review's team"):
        export(team, out, actor="dave")
    assert not out.exists()


def add_study(review: Review, label: str = "BREEZE-AD1") -> int:
    with session_scope(review.engine, write=True) as s:
        row = rob_store.add_study(s, label, actor="test")
        assert row.id is not None
        return row.id


def rob_rows(review: Review, actor: str, path: Path) -> set[tuple[str, str]]:
    """(assessor, consensus yes/no) of every row of `actor`'s RoB export."""
    export_rob(review, path, actor=actor)
    with path.open(newline="", encoding="utf-8") as fh:
        return {(r["assessor"], r["consensus"]) for r in csv.DictReader(fh)}


# --- backup ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bob", "carol"])
def test_a_non_leads_backup_is_refused_and_writes_nothing(team: Review, tmp_path: Path, name: str) -> None:
    """A screener or an adjudicator may not copy the database (it holds everyone's blinded work): refused
    on either database, with no folder, protocol copy or .db file left behind."""
    base = tmp_path / "out"
    for target in (base / "snap", base / "deep" / "copy.db"):
        with pytest.raises(PermissionDenied, match=f"'{name}' is not a lead"):
            backup_review(team, target, actor=name)
    assert not base.exists()


def test_backup_refuses_strangers_and_dropped_reviewers(team: Review, tmp_path: Path) -> None:
    """No reviewer, an unknown one or a lead dropped from review.toml: refused, nothing written."""
    base = tmp_path / "out"
    with pytest.raises(ReviewkitError, match="no reviewer given"):
        backup_review(team, base / "a", actor=None)
    with pytest.raises(ReviewkitError, match="unknown reviewer 'zed'"):
        backup_review(team, base / "b", actor="zed")
    drop(team, "alice")
    with pytest.raises(PermissionDenied, match="no longer on this review's team"):
        backup_review(team, base / "c", actor="alice")
    assert not base.exists()


def test_a_leads_backup_is_made(team: Review, tmp_path: Path) -> None:
    """The lead gets the copy on SQLite (and pg_dump guidance on PostgreSQL, where no file is copied)."""
    if team.engine.dialect.name != "sqlite":
        with pytest.raises(ReviewkitError, match="pg_dump"):
            backup_review(team, tmp_path / "snap", actor="alice")
        return
    target = backup_review(team, tmp_path / "snap", actor="alice")
    assert target.is_file() and (tmp_path / "snap" / "review.toml").is_file()


def test_an_existing_backup_is_refused_before_the_protocol_is_copied(team: Review, tmp_path: Path) -> None:
    """Backing up into a folder that already holds a database leaves its review.toml as it was."""
    if team.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL reviews are backed up with pg_dump")
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "reviewkit.db").write_bytes(b"an older backup")
    (folder / "review.toml").write_text("# the older backup's protocol\n", encoding="utf-8")
    with pytest.raises(ReviewkitError, match="already exists"):
        backup_review(team, folder, actor="alice")
    assert (folder / "review.toml").read_text(encoding="utf-8") == "# the older backup's protocol\n"


# --- risk of bias ------------------------------------------------------------------------------

def test_rob_export_releases_others_assessments_only_when_the_app_does(team: Review, tmp_path: Path) -> None:
    """bob finished, dave not: bob, the adjudicator and erin see none of dave's answers (nor erin bob's);
    the lead sees both. Once dave finishes, bob and carol see both; erin, who assesses nothing and holds
    no role that sees assessments, only ever gets the consensus."""
    sid = add_study(team)
    bob = assess.start_assessment(team, "bob", sid).id
    for qid, code in JUDGED.items():
        assess.answer(team, "bob", bob, qid, code)
    assess.finish(team, "bob", bob)
    dave = assess.start_assessment(team, "dave", sid).id
    assess.answer(team, "dave", dave, "D1", "high", support="dave's unfinished reading")
    out = tmp_path / "rob.csv"
    assert rob_rows(team, "bob", out) == {("bob", "no")}
    assert "dave's unfinished reading" not in out.read_text(encoding="utf-8")
    assert rob_rows(team, "carol", out) == set()
    assert rob_rows(team, "erin", out) == set()
    assert rob_rows(team, "dave", out) == {("dave", "no")}
    assert rob_rows(team, "alice", out) == {("bob", "no"), ("dave", "no")}
    for qid, code in JUDGED.items():
        assess.answer(team, "dave", dave, qid, code)
    assess.finish(team, "dave", dave)
    assert rob_rows(team, "bob", out) == {("bob", "no"), ("dave", "no")}
    assert rob_rows(team, "carol", out) == {("bob", "no"), ("dave", "no")}
    assert rob_rows(team, "erin", out) == set()
    assess_consensus.record_consensus(team, "alice", sid)
    assert rob_rows(team, "erin", out) == {("alice", "yes")}
    assert rob_rows(team, "bob", out) == {("bob", "no"), ("dave", "no"), ("alice", "yes")}


def test_rob_export_refuses_strangers_and_dropped_reviewers(team: Review, tmp_path: Path) -> None:
    """No reviewer, an unknown one or one dropped from the team: refused, and no file is written."""
    sid = add_study(team)
    assess.start_assessment(team, "dave", sid)
    _refused_to_strangers(team, export_rob, tmp_path / "rob.csv")


# --- extraction --------------------------------------------------------------------------------

def fill_extraction(review: Review, extractors: tuple[str, ...] = ("bob", "dave")) -> int:
    """bob and dave (or `extractors`) extract one study independently (different events in the placebo arm)."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1", nct_id="NCT03334396").id
    for who in extractors:
        extract_placebo(review, who, sid)
    return sid


def extract_placebo(review: Review, who: str, sid: int) -> None:
    """`who` extracts the placebo arm: bob counts 12 events, dave 13."""
    events = {"bob": "12", "dave": "13"}[who]
    extract.set_value(review, who, sid, "trial_name", "BREEZE-AD1")
    extract.set_arm(review, who, sid, "Placebo", intervention="placebo", n_randomised=249)
    extract.set_value(review, who, sid, "events", events, arm="Placebo", outcome="iga_0_1")
    extract.set_value(review, who, sid, "total", "249", arm="Placebo", outcome="iga_0_1")


def authors(review: Review, actor: str) -> set[tuple[str, str, str]]:
    """(extractor, consensus, placebo events) of `actor`'s extraction table."""
    return {(r["extractor"], r["consensus"], r["events"]) for r in extraction_rows(review, actor)}


def test_extraction_table_releases_others_values_only_where_the_comparison_is_open(team: Review,
                                                                                   tmp_path: Path) -> None:
    """The table holds every extractor's values: the lead and the adjudicator get them all; an extractor
    only their own until the study has its two finished extractions, then both (as `extract differences`
    shows them); a bystander none, and after consensus everyone the consensus."""
    sid = fill_extraction(team, ("bob",))
    assert authors(team, "alice") == authors(team, "carol") == authors(team, "bob") == {("bob", "no", "12")}
    assert authors(team, "dave") == authors(team, "erin") == set()
    extract_placebo(team, "dave", sid)
    fill_required(team, "bob", sid)
    finish_extraction(team, "bob", sid)
    assert authors(team, "bob") == {("bob", "no", "12")} and authors(team, "dave") == {("dave", "no", "13")}
    fill_required(team, "dave", sid)
    finish_extraction(team, "dave", sid)
    both = {("bob", "no", "12"), ("dave", "no", "13")}
    for who in ("alice", "carol", "bob", "dave"):
        assert authors(team, who) == both, who
    assert authors(team, "erin") == set()
    record_consensus(team, "alice", sid, take={"value|Placebo|iga_0_1|week 16|events": "bob"})
    assert authors(team, "bob") == {*both, ("alice", "yes", "12")}
    assert authors(team, "erin") == {("alice", "yes", "12")}
    out = tmp_path / "table.csv"
    assert export_table(team, out, actor="erin") == 1
    assert "13" not in {r["events"] for r in csv.DictReader(out.open(newline="", encoding="utf-8"))}


def test_extraction_export_refuses_strangers_and_dropped_reviewers(team: Review, tmp_path: Path) -> None:
    """No reviewer, an unknown one or one dropped from the team: refused, and no file is written."""
    fill_extraction(team)
    _refused_to_strangers(team, export_table, tmp_path / "table.xlsx")

"""Tests for extraction's finished state: the comparison waits for finished extractions (the leak where one
typed value opened it is closed), a finished extraction is locked, reopening works only until the
comparison opens, the migration marks already-compared extractions finished, and the CLI and TUI keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from reviewkit.cli import cli
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import extract
from reviewkit.services.audit import audit_trail
from reviewkit.services.extract_consensus import (
    compare_extractions,
    open_comparisons,
    record_consensus,
)
from reviewkit.services.extract_convert import convert
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import extraction_rows
from reviewkit.services.extract_status import finish_extraction, reopen_extraction
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store import tables as t
from reviewkit.store.db import current_revision, head_revision, make_engine, migrate, session_scope
from reviewkit.store.screening import upsert_reviewers
from tests.extraction_required import fill_required
from tests.extraction_team import EVENTS, TEAM, extract_as, with_team

HEADER = "study,arm,outcome,timepoint,extractor,consensus,intervention,n_randomised,events,total\n"


@pytest.fixture
def team(review: Review) -> Review:
    """The example review (two extractors per study, on each database) with the extraction team."""
    return with_team(review)


def seen_in_table(review: Review, actor: str) -> set[tuple[str, str]]:
    """(extractor, events) of the independent rows in `actor`'s extraction table."""
    return {(r["extractor"], r["events"]) for r in extraction_rows(review, actor)
            if r["consensus"] == "no" and r["events"]}


def test_one_typed_value_no_longer_opens_the_comparison(team: Review) -> None:
    """bob extracted and finished; dave types one value. Before, the comparison opened then, showing bob
    dave's half-entered extraction and dave bob's whole one. Now neither sees the other's, anywhere."""
    sid = extract.create_study(team, "alice", "BREEZE-AD1").id
    extract_as(team, "bob", sid, "12")
    assert finish_extraction(team, "bob", sid).changed
    extract.set_value(team, "dave", sid, "trial_name", "BREEZE-AD1")
    with pytest.raises(PermissionDenied, match=r"waits until every independent extraction of it \(at least 2\) "
                                               "is finished") as bobs:
        compare_extractions(team, "bob", sid)
    with pytest.raises(PermissionDenied, match="finish your own extraction first") as daves:
        compare_extractions(team, "dave", sid)
    # neither is told who else extracts, what they entered, nor how many have finished
    assert "dave" not in str(bobs.value) and "bob" not in str(daves.value)
    assert not {"12", "1 of"} & {*str(bobs.value).split(), *str(daves.value).split()}
    assert open_comparisons(team, "bob") == open_comparisons(team, "dave") == []
    assert seen_in_table(team, "bob") == {("bob", "12")}
    assert seen_in_table(team, "dave") == set()
    assert [(s.finished, s.mine_finished, s.finished_by, s.compare_open)
            for s in extract.list_studies(team, "dave")] == [(1, False, (), False)]


def test_both_finished_open_the_comparison_and_the_consensus_to_both(team: Review) -> None:
    """Consensus is refused to an extractor until both have finished; then both compare, and record it."""
    sid = extract.create_study(team, "alice", "BREEZE-AD1").id
    extract_as(team, "bob", sid, "12")
    extract_as(team, "dave", sid, "13")
    with pytest.raises(PermissionDenied, match="bob may not write study .*'s consensus"):
        extract.set_value(team, "bob", sid, "trial_name", "BREEZE-AD1", consensus=True)
    finish_extraction(team, "bob", sid)
    with pytest.raises(PermissionDenied, match="waits until every independent extraction"):
        record_consensus(team, "bob", sid, take={EVENTS: "bob"})
    with pytest.raises(PermissionDenied, match="finish your own extraction first"):
        record_consensus(team, "dave", sid, take={EVENTS: "bob"})
    assert extract.study_form(team, "alice", sid, consensus=True).values == ()
    finish_extraction(team, "dave", sid)
    for who in ("bob", "dave"):
        assert compare_extractions(team, who, sid).extractors == ("bob", "dave")
        assert seen_in_table(team, who) == {("bob", "12"), ("dave", "13")}
    (bob_view,) = extract.list_studies(team, "bob")
    assert (bob_view.finished, bob_view.mine_finished, bob_view.finished_by, bob_view.compare_open) == (
        2, True, (), True)
    (alice_view,) = extract.list_studies(team, "alice")  # a lead: who finished, by name
    assert alice_view.finished_by == ("bob", "dave") and not alice_view.mine_finished
    assert record_consensus(team, "dave", sid, take={EVENTS: "bob"}).unresolved == ()


def test_a_lead_or_an_adjudicator_compares_before_anyone_finished(team: Review) -> None:
    """alice and carol compare at any time, as before."""
    sid = extract.create_study(team, "alice", "BREEZE-AD1").id
    extract_as(team, "bob", sid, "12")
    for who in ("alice", "carol"):
        assert compare_extractions(team, who, sid).extractors == ("bob",)
    with pytest.raises(PermissionDenied, match="only its extractors, leads and adjudicators"):
        compare_extractions(team, "erin", sid)


def test_a_finished_extraction_is_locked_and_reopens_only_until_the_comparison_opens(team: Review) -> None:
    """Every write path into bob's finished extraction is refused (an unchanged value passes); he reopens
    it, changes it and finishes again; once dave has finished too, nobody can reopen and changes are
    refused with where they go instead."""
    sid = extract.create_study(team, "alice", "BREEZE-AD1").id
    extract_as(team, "bob", sid, "12")
    for field, value in (("n", "120"), ("mean", "-3"), ("se", "0.5")):
        extract.set_value(team, "bob", sid, field, value, arm="Placebo", outcome="dlqi_change")
    finish_extraction(team, "bob", sid)
    assert extract.study_form(team, "bob", sid).finished
    locked = "bob's extraction of study .* is finished; reopen it first"
    for write in (lambda: extract.set_value(team, "bob", sid, "events", "14", arm="Placebo", outcome="iga_0_1"),
                  lambda: extract.set_value(team, "bob", sid, "country", "Japan"),
                  lambda: extract.set_arm(team, "bob", sid, "Baricitinib 4 mg"),
                  lambda: extract.remove_arm(team, "bob", sid, "Placebo"),
                  lambda: convert(team, "bob", sid, arm="Placebo", outcome="dlqi_change")):
        with pytest.raises(ReviewkitError, match=locked):
            write()
    assert extract.set_value(team, "bob", sid, "events", "12", arm="Placebo", outcome="iga_0_1").value == "12"
    again = finish_extraction(team, "bob", sid)
    assert not again.changed and again.study.mine_finished
    assert len([e for e in audit_trail(team) if e.entity == "extraction_status"]) == 1
    assert reopen_extraction(team, "bob", sid).changed
    assert not extract.study_form(team, "bob", sid).finished
    extract.set_value(team, "bob", sid, "events", "14", arm="Placebo", outcome="iga_0_1")
    finish_extraction(team, "bob", sid)
    extract_as(team, "dave", sid, "13")
    finish_extraction(team, "dave", sid)
    for who in ("bob", "dave"):
        with pytest.raises(ReviewkitError, match=f"{who}'s extraction of study .* cannot be reopened: its "
                                                 "comparison is open"):
            reopen_extraction(team, who, sid)
    with pytest.raises(ReviewkitError, match="finished and compared; changes go into the consensus"):
        extract.set_value(team, "dave", sid, "events", "15", arm="Placebo", outcome="iga_0_1")
    assert extract.study_form(team, "bob", sid).stats("Placebo", "iga_0_1", "week 16")["events"] == "14"
    events = [(e.actor, e.action, e.new["status"]) for e in audit_trail(team) if e.entity == "extraction_status"]
    assert events == [("bob", "finish", "finished"), ("bob", "reopen", "open"), ("bob", "finish", "finished"),
                      ("dave", "finish", "finished")]


def test_only_a_study_s_extractors_finish_it(team: Review) -> None:
    """erin has no rows of the study, the consensus is no extraction of her own: refused, nothing stored."""
    sid = extract.create_study(team, "alice", "BREEZE-AD1").id
    for who in ("bob", "dave"):
        extract_as(team, who, sid, "12")
        finish_extraction(team, who, sid)
    extract.set_value(team, "carol", sid, "trial_name", "BREEZE-AD1", consensus=True)
    for who in ("erin", "carol"):
        with pytest.raises(ReviewkitError, match=f"{who} has no extraction of study {sid}"):
            finish_extraction(team, who, sid)
        with pytest.raises(ReviewkitError, match=f"{who} has no extraction of study {sid}"):
            reopen_extraction(team, who, sid)
    with pytest.raises(ReviewkitError, match="no study 99"):
        finish_extraction(team, "bob", 99)
    assert [e.actor for e in audit_trail(team) if e.entity == "extraction_status"] == ["bob", "dave"]


def test_an_import_into_a_finished_extraction_is_refused_with_its_line(team: Review, tmp_path: Path) -> None:
    """A changed count for bob's finished extraction is refused on its line (even from a lead), nothing
    stored; the very same table again is fine."""
    sid = extract.create_study(team, "alice", "S1").id
    same = tmp_path / "same.csv"
    same.write_text(HEADER + "S1,Placebo,iga_0_1,week 16,bob,no,placebo,249,12,249\n", encoding="utf-8")
    assert import_table(team, same, actor="bob").values == 2
    fill_required(team, "bob", sid)
    finish_extraction(team, "bob", sid)
    changed = tmp_path / "changed.csv"
    changed.write_text(HEADER + "S1,Placebo,iga_0_1,week 16,bob,no,placebo,249,12,249\n"
                       "S1,Placebo,iga_0_1,week 16,bob,no,placebo,249,13,249\n", encoding="utf-8")
    for actor in ("bob", "alice"):
        with pytest.raises(ReviewkitError, match="line 3, events: bob's extraction of study .* is finished; "
                                                 "reopen it first") as refused:
            import_table(team, changed, actor=actor)
        assert "line 2" not in str(refused.value)
    assert import_table(team, same, actor="bob").values == 2
    assert extract.study_form(team, "bob", sid).stats("Placebo", "iga_0_1", "week 16")["events"] == "12"


def test_the_migration_finishes_the_extractions_of_studies_with_a_consensus(database_url: str) -> None:
    """A review written before revision 0003: study 1 has bob's and dave's extractions and a consensus,
    study 2 only theirs. bob's and dave's extractions of study 1 are finished, each with an audit event;
    study 2's stay open."""
    engine = make_engine(database_url)
    migrate(engine, to="0002")
    with session_scope(engine, write=True) as session:
        upsert_reviewers(session, TEAM)
        ids = {r.name: r.id for r in session.exec(select(t.ReviewerRow))}
        for sid in (1, 2):
            session.add(t.StudyRow(id=sid, label=f"S{sid}"))
        session.flush()
        for sid in (1, 2):
            for who in ("bob", "dave"):
                session.add(t.ArmRow(study_id=sid, label="Placebo", extractor_id=ids[who]))
                session.add(t.ExtractionValueRow(study_id=sid, field="country", value="Japan",
                                                 extractor_id=ids[who]))
        session.add(t.ExtractionValueRow(study_id=1, field="country", value="Japan", extractor_id=ids["carol"],
                                         is_consensus=True))
    migrate(engine)
    with session_scope(engine) as session:
        assert store.finished_by_study(session) == {1: {ids["bob"], ids["dave"]}}
        rows = list(session.exec(select(t.ExtractionStatusRow)))
        events = list(session.exec(select(t.AuditEventRow).where(t.AuditEventRow.entity == "extraction_status")))
    assert current_revision(engine) == head_revision()  # through 0003 and every revision after it
    assert {(r.study_id, r.status, r.actor) for r in rows} == {(1, "finished", "reviewkit (schema 0003)")}
    assert sorted((e.actor, e.entity_id, e.action, e.new["extractor"], e.new["status"]) for e in events) == sorted(
        ("reviewkit (schema 0003)", r.id, "finish", "bob" if r.extractor_id == ids["bob"] else "dave", "finished")
        for r in rows)
    engine.dispose()


def run(folder: Path, *args: str, reviewer: str | None = None) -> tuple[int, str, str]:
    """Invoke `reviewkit extract` on a review folder; exit code, stdout, stderr."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    result = CliRunner().invoke(cli, [*pre, "extract", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_finish_reopen_and_studies(review: Review) -> None:
    """`extract finish` / `reopen` take an id or a label and print the new state; `extract studies` shows
    bob (not a lead) counts only, alice (the lead) the names; a refusal is one line and exit status 1.
    (The CLI reads the team from review.toml: alice leads, bob screens.)"""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract_as(review, "bob", sid, "12")
    extract_as(review, "alice", sid, "13")
    code, out, err = run(review.folder, "finish", "BREEZE-AD1", reviewer="alice")
    assert code == 0, err
    # alice leads: she may compare now, bob (an extractor) once both are finished
    assert out.strip() == (f"Your extraction of study {sid} (BREEZE-AD1) is finished; 1 of 2 extractions "
                           "finished; the comparison is open to leads and adjudicators, who may always compare "
                           f"(`reviewkit extract differences --study {sid}`); to its extractors once every one "
                           "is finished")
    code, out, _ = run(review.folder, "finish", str(sid), reviewer="alice")
    assert code == 0 and "is already finished" in out
    code, out, _ = run(review.folder, "studies", reviewer="bob")
    assert out.strip() == f"{sid}\tBREEZE-AD1\t\t0 reports\tmine not finished\t1 of 2 finished"
    code, out, _ = run(review.folder, "reopen", "BREEZE-AD1", reviewer="alice")
    assert code == 0 and "is open again; 0 of 2 extractions finished" in out
    for who in ("bob", "alice"):
        code, out, _ = run(review.folder, "finish", str(sid), reviewer=who)
    assert "is finished; the comparison is open" in out
    code, out, _ = run(review.folder, "studies", reviewer="bob")
    assert out.strip().endswith("\tmine finished\t2 of 2 finished; comparison open")
    code, out, _ = run(review.folder, "studies", reviewer="alice")
    assert out.strip().endswith("\tmine finished\t2 of 2 finished (alice, bob); comparison open")
    code, out, _ = run(review.folder, "studies")
    assert out.strip() == f"{sid}\tBREEZE-AD1\t\t0 reports"
    code, out, err = run(review.folder, "reopen", str(sid), reviewer="bob")
    assert code == 1 and out == "" and "cannot be reopened: its comparison is open" in err
    code, _, err = run(review.folder, "finish", "nope", reviewer="bob")
    assert code == 1 and "no study 'nope'" in err
    code, _, err = run(review.folder, "finish", str(sid))
    assert code == 1 and "no reviewer given" in err


async def test_tui_f_finishes_the_study_shown(team: Review) -> None:
    """On an 80×24 terminal, f on bob's form finishes his extraction: a notice, "finished" in the status
    line and ✓ in the study list; his next edit is refused with the reason."""
    from textual.widgets import DataTable, Input

    from reviewkit.tui.app import make_app
    from reviewkit.tui.screens.extraction import ExtractionScreen
    from tests.tui.rendered import screen_lines
    from tests.tui.test_extraction_form import _settle, _text

    sid = extract.create_study(team, "alice", "BREEZE-AD1").id
    extract_as(team, "bob", sid, "12")
    app = make_app(team, reviewer="bob")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ExtractionScreen(team, "bob"))
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ExtractionScreen)
        assert "open (f: finish)" in _text(screen, "#extraction-status")
        screen.query_one("#study-list", DataTable).focus()
        await pilot.press("f")
        await _settle(app, pilot)
        assert extract.study_form(team, "bob", sid).finished
        assert any("is finished; the comparison opens once every independent extraction of it (at least 2) is "
               "finished" in str(n.message) for n in app._notifications)
        assert "— finished" in _text(screen, "#extraction-status")
        assert str(screen.query_one("#study-list", DataTable).get_row_at(0)[0]) == f"{sid} ✓"
        assert len(screen_lines(app)) == 24
        await pilot.press("f")  # again: nothing changes, and it says so
        await _settle(app, pilot)
        assert any("is already finished" in str(n.message) for n in app._notifications)
        screen.query_one("#field-country", Input).focus()  # a change to the finished extraction: refused
        await pilot.press(*"Japan", "enter")
        await _settle(app, pilot)
        assert "finished; reopen it first" in _text(screen, "#problem-country")
        assert "country" not in extract.study_form(team, "bob", sid).study_fields()

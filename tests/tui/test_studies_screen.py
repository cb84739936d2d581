"""Pilot tests for the studies screen: reports with their link status, y/n/m/l/r stored by the service."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from reviewkit.services import studies
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import Review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.studies import StudiesScreen
from tests.study_data import StudyData, build
from tests.tui.rendered import footer_once, line_with

SIZE = (80, 24)


async def settle(pilot: Pilot[None], app: ReviewkitApp) -> None:
    """Wait until every worker is done and every queued change is stored and reloaded."""
    for _ in range(50):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        queued = isinstance(screen, StudiesScreen) and any(True for _ in screen._writes.unsaved())
        if not queued and not any(w.is_running for w in app.workers):
            return


async def open_studies(pilot: Pilot[None], app: ReviewkitApp) -> StudiesScreen:
    """The studies screen, opened from the dashboard's key and loaded."""
    await settle(pilot, app)
    await pilot.press("t")
    await settle(pilot, app)
    assert isinstance(app.screen, StudiesScreen)
    return app.screen


def report_row(screen: StudiesScreen, record_id: int) -> list[str]:
    """The cells of a record's row in the reports table."""
    table = screen.query_one("#studies-reports", DataTable)
    return [str(c) for c in table.get_row(str(record_id))]


async def to_report(pilot: Pilot[None], screen: StudiesScreen, record_id: int) -> None:
    """Move the reports table's cursor to the record (enter on a study focuses its reports)."""
    table = screen.query_one("#studies-reports", DataTable)
    if not table.has_focus:
        await pilot.press("enter")
    table.move_cursor(row=table.get_row_index(str(record_id)))
    await pilot.pause()


async def test_reject_a_proposal_with_n_at_80_by_24(review: Review) -> None:
    """n rejects the highlighted proposal: the table says rejected, and so does the database (by alice);
    the footer keeps Help and Quit on 80 columns."""
    data: StudyData = build(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)
        assert "4 links proposed" in line_with(app, "studies")
        assert report_row(screen, data.passing)[1] == "proposed"
        await to_report(pilot, screen, data.passing)
        await pilot.press("n")
        await settle(pilot, app)
        assert report_row(screen, data.passing)[1] == "rejected"
        assert "3 links proposed" in line_with(app, "studies")
        assert screen.query_one("#studies-reports", DataTable).cursor_row == \
            screen.query_one("#studies-reports", DataTable).get_row_index(str(data.passing))
        assert studies.study_view(review, data.ad1).reports[data.passing] == "rejected"
        assert [(e.action, e.actor, e.record_id) for e in audit_trail(review) if e.entity == "study_report"] == [
            ("rejected", "alice", data.passing)]
        await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, DashboardScreen)


async def test_rename_with_r(review: Review) -> None:
    """r asks for the selected study's name (holding the current one); enter stores it."""
    data = build(review)
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        old = studies.study_view(review, data.ad1).label
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal)
        prompt = app.screen.query_one("#prompt-input", Input)
        assert prompt.value == old
        prompt.value = "BREEZE-AD1"
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is screen
        listing = screen.query_one("#studies-list", DataTable)
        assert str(listing.get_row(str(data.ad1))[1]) == "BREEZE-AD1"
        assert studies.study_view(review, data.ad1).label == "BREEZE-AD1"
        assert [(e.action, e.actor, e.old) for e in audit_trail(review) if e.entity == "study" and e.action != "create"] == [
            ("rename", "bob", {"label": old})]


async def test_link_by_id_and_mark_main(review: Review) -> None:
    """l links a record typed by id (the paper of both trials, to AD2); m makes the highlighted report the
    main one; y on the study list picks no report (it moves to the reports first)."""
    data = build(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        screen.query_one("#studies-list", DataTable).move_cursor(row=1)  # AD2
        await pilot.pause()
        assert screen.current_study() is not None and screen.current_study().id == data.ad2  # type: ignore[union-attr]
        await pilot.press("y")  # from the study list: focuses the reports, stores nothing
        await settle(pilot, app)
        assert [e for e in audit_trail(review) if e.entity == "study_report"] == []
        assert screen.query_one("#studies-reports", DataTable).has_focus
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*str(data.both_trials), "enter")
        await settle(pilot, app)
        assert report_row(screen, data.both_trials)[1] == "confirmed"
        await to_report(pilot, screen, data.both_trials)
        await pilot.press("m")
        await settle(pilot, app)
        assert report_row(screen, data.both_trials)[1:3] == ["confirmed", "main"]
        view = studies.study_view(review, data.ad2)
        assert (view.main_report, view.reports[data.both_trials]) == (data.both_trials, "confirmed")


async def test_a_refusal_is_shown_and_nothing_changes(review: Review) -> None:
    """With no reviewer set, y is refused by the service: the reason is shown, the status stays."""
    data = build(review)
    app = make_app(review, reviewer=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await to_report(pilot, screen, data.passing)
        await pilot.press("y")
        await settle(pilot, app)
        assert any("Not saved: no reviewer given" in str(n.message) for n in app._notifications)
        assert report_row(screen, data.passing)[1] == "proposed"
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("x", "enter")
        await settle(pilot, app)
        assert any("'x' is not a record id" in str(n.message) for n in app._notifications)
    assert studies.study_view(review, data.ad1).reports[data.passing] == "proposed"


async def test_add_a_study_by_its_nct_id_with_a(review: Review) -> None:
    """a asks for a new study's label or NCT id (a second trial whose registry record was not found), as
    `studies add` does; the study is listed with its NCT id, ready for l to link its reports."""
    build(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal)
        app.screen.query_one("#prompt-input", Input).value = "NCT09999999"
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is screen
        (added,) = [v for v in studies.list_studies(review) if v.nct_id == "NCT09999999"]
        listing = screen.query_one("#studies-list", DataTable)
        assert [str(c) for c in listing.get_row(str(added.id))][1:3] == ["NCT09999999", "NCT09999999"]

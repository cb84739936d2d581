"""Pilot tests for the studies screen: reports with their link status, y/n/m/l/r stored by the service."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
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
from tests.tui.rendered import footer_once, line_with, lines_once

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


async def reject_report(pilot: Pilot[None], app: ReviewkitApp, screen: StudiesScreen, record_id: int) -> None:
    """Move to the record's report and reject its link with n, and wait until it is stored and reloaded."""
    await to_report(pilot, screen, record_id)
    await pilot.press("n")
    await settle(pilot, app)


async def answer_prompt(pilot: Pilot[None], app: ReviewkitApp, key: str, text: str) -> None:
    """Press the key that asks for a line of text (a, l), answer it with `text` and wait for the change."""
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(app.screen, TextPromptModal)
    app.screen.query_one("#prompt-input", Input).value = text
    await pilot.press("enter")
    await settle(pilot, app)


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
        await reject_report(pilot, app, screen, data.passing)
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


async def test_refusals_name_the_screen_keys_not_cli_commands(review: Review) -> None:
    """m on a rejected report, and l with an id no record has, are refused with the fix in this screen's keys:
    the service's hints name `reviewkit studies link` and `reviewkit dedup export`, which the CLI keeps."""
    data = build(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await reject_report(pilot, app, screen, data.passing)
        await to_report(pilot, screen, data.passing)
        await pilot.press("m")
        await settle(pilot, app)
        screen.query_one("#studies-list", DataTable).focus()
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("9", "9", "9", "9", "enter")
        await settle(pilot, app)
        errors = [str(n.message) for n in app._notifications if n.severity == "error"]
    assert errors == [
        f"Not saved: record {data.passing} was rejected as a report of study {data.ad1} "
        f"({studies.study_view(review, data.ad1).label}), so it cannot be its main report (to link it: select "
        f"study {data.ad1}, press l and give record {data.passing})",
        "Not saved: no record 9999 (a record's id is its Record #N on the screening screen's card)"]
    assert studies.study_view(review, data.ad1).reports[data.passing] == "rejected"


async def test_add_a_study_by_its_nct_id_with_a(review: Review) -> None:
    """a asks for a new study's label or NCT id (a second trial whose registry record was not found), as
    `studies add` does; the study is listed with its NCT id, ready for l to link its reports."""
    build(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await answer_prompt(pilot, app, "a", "NCT09999999")
        assert app.screen is screen
        (added,) = [v for v in studies.list_studies(review) if v.nct_id == "NCT09999999"]
        listing = screen.query_one("#studies-list", DataTable)
        assert [str(c) for c in listing.get_row(str(added.id))][1:3] == ["NCT09999999", "NCT09999999"]


@pytest.mark.parametrize("typed", ["²", "99999999999999999999", "2147483648", "0"])
async def test_l_refuses_what_is_no_record_id(review: Review, typed: str) -> None:
    """l with text that is no record id ("²" passed str.isdigit and int() closed the app; a number past
    PostgreSQL's integer column reached the database) is refused in a notice naming it; nothing is
    stored, the screen stays and the list keeps the focus."""
    data = build(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await answer_prompt(pilot, app, "l", typed)
        assert app.screen is screen
        assert screen.query_one("#studies-list", DataTable).has_focus
        (error,) = [str(n.message) for n in app._notifications if n.severity == "error"]
        assert error == f"Not linked: {typed!r} is not a record id (a whole number from 1 to 2147483647)"
    assert [e for e in audit_trail(review) if e.entity == "study_report"] == []
    assert studies.study_view(review, data.ad1).reports == {data.ad1_registry: "proposed",
                                                            data.both_trials: "proposed", data.passing: "proposed"}


async def test_a_moves_to_the_new_study_so_l_links_to_it(review: Review) -> None:
    """After a adds a study the list's cursor is on it, so l links the record to the new study (not the one
    highlighted before); moving a report from one study to another (n, then l) leaves the counts the list
    shows equal to the service's, and the rejected link stays, marked rejected."""
    data = build(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await reject_report(pilot, app, screen, data.passing)
        screen.query_one("#studies-list", DataTable).focus()
        await answer_prompt(pilot, app, "a", "Tofacitinib ointment trial")
        (added,) = [v for v in studies.list_studies(review) if v.label == "Tofacitinib ointment trial"]
        assert screen.current_study() is not None and screen.current_study().id == added.id  # type: ignore[union-attr]
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal)
        await pilot.press(*str(data.passing), "enter")
        await settle(pilot, app)
        assert studies.study_view(review, added.id).reports == {data.passing: "confirmed"}
        assert studies.study_view(review, data.ad1).reports[data.passing] == "rejected"
        listing = screen.query_one("#studies-list", DataTable)
        for view in studies.list_studies(review):
            assert [str(c) for c in listing.get_row(str(view.id))][3:] == [str(view.report_count),
                                                                            str(view.proposed or "")]
        assert report_row(screen, data.passing)[1] == "confirmed"
        waiting = sum(v.proposed for v in studies.list_studies(review))
        assert f"{waiting} links proposed" in line_with(app, "studies")


async def test_an_empty_review_keys_say_what_is_missing(review: Review) -> None:
    """With no records and no studies the screen says how studies come; y, n, m, l and r say there is
    nothing to act on, and nothing is stored."""
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        assert "No studies yet" in line_with(app, "No studies yet")
        for key in ("y", "n", "m", "l", "r", "enter", "tab"):
            await pilot.press(key)
            await settle(pilot, app)
            assert app.screen is screen, key
        warnings = [str(n.message) for n in app._notifications if n.severity == "warning"]
        assert "No report to act on: l links a record to the study" in warnings
        assert {"No study to link a record to", "No study to rename"} <= set(warnings)
    assert studies.list_studies(review) == []
    assert audit_trail(review) == []


async def test_a_study_label_of_the_longest_length_keeps_the_columns_and_footer(review: Review) -> None:
    """A study renamed to the longest label kept (600 characters, with brackets) is cut with "…" on an
    80-column terminal: its NCT id and counts stay on screen, and the footer keeps Help and Quit."""
    data = build(review)
    long = ("[b]BREEZE-AD1[/b] " + "extended label " * 50)[:600]
    studies.rename_study(review, "alice", data.ad1, long)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        row = await lines_once(pilot, app, lambda lines: any("[b]BREEZE-AD1[/b]" in line for line in lines))
        (line,) = [line for line in row if "[b]BREEZE-AD1[/b]" in line]
        assert "…" in line and "NCT03334396" in line and line.split()[-2:] == ["3", "3"]
        assert str(screen.query_one("#studies-list", DataTable).get_row(str(data.ad1))[1]) == long
        await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)


async def test_a_reload_overtaken_by_a_newer_one_is_not_shown(review: Review,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The reload after a change, still reading when a second change is stored and reloaded, is dropped:
    its links, read before the second change, no longer stand (shown, "confirmed" went back to "proposed")."""
    data = build(review)
    entered, release = threading.Event(), threading.Event()
    calls = 0
    listing = studies.list_studies

    def slow_second(*args: Any, **kwargs: Any) -> list[studies.StudyView]:
        nonlocal calls
        calls += 1
        views = listing(*args, **kwargs)
        if calls == 2:  # the reload after the first change: read, then held
            entered.set()
            release.wait(10)
        return views

    monkeypatch.setattr(studies, "list_studies", slow_second)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_studies(pilot, app)
        await to_report(pilot, screen, data.passing)
        await pilot.press("n")
        assert await asyncio.to_thread(entered.wait, 10)
        await to_report(pilot, screen, data.both_trials)
        await pilot.press("y")
        for _ in range(200):  # the second change's reload lands (it is not held)
            await pilot.pause()
            if report_row(screen, data.both_trials)[1] == "confirmed":
                break
        assert report_row(screen, data.both_trials)[1] == "confirmed"
        release.set()
        await settle(pilot, app)
        assert report_row(screen, data.both_trials)[1] == "confirmed"
        assert report_row(screen, data.passing)[1] == "rejected"

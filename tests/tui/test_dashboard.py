"""Pilot tests for the TUI shell: the dashboard and the help screen."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.worker import WorkerFailed

from reviewkit.domain.records import Record
from reviewkit.services.project import Review
from reviewkit.services.status import ReviewStatus, StageCounts, review_status
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.screens.dashboard import DashboardScreen, stage_rows, wrap_detail
from reviewkit.tui.screens.help import HelpScreen
from reviewkit.tui.screens.screening import ScreeningScreen
from tests.factories import add_records
from tests.tui.rendered import footer_once, line_with, screen_lines


def _cells(table: DataTable[str]) -> dict[str, list[str]]:
    return {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)}


async def test_dashboard_shows_title_and_live_counts(review: Review) -> None:
    """The dashboard shows the review's title and counts; new records appear on refresh."""
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        title = screen.query_one("#review-title", Static)
        assert "Baricitinib" in str(title.render())
        rows = _cells(screen.query_one("#stages", DataTable))
        assert rows["Identified"][1] == "0"
        add_records(review, 2, source="PubMed")
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = _cells(screen.query_one("#stages", DataTable))
        assert rows["Identified"][1] == "2"
        assert "PubMed 2" in rows["Identified"][2]
        assert rows["Records screened"][1] == "2"


async def test_an_unknown_reviewer_is_told_at_once(review: Review) -> None:
    """--reviewer dave (not in review.toml) is named on the dashboard with the reviewers it lists."""
    for name, expected in (("dave", "reviewer: dave (not in review.toml, which lists alice, bob, carol)"),
                           ("bob", "reviewer: bob ")):
        app = make_app(review, reviewer=name)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert expected in str(app.screen.query_one("#reviewer", Static).render())


async def test_help_lists_keys_and_closes(review: Review) -> None:
    """? opens a help screen listing the keys; escape closes it; q quits."""
    app = make_app(review)
    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).render())
        assert "Refresh" in text and "Quit" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_prisma_screen_shows_the_flow(review: Review) -> None:
    """p opens the PRISMA counts; undecided records are reported as making them not final, and why."""
    from reviewkit.services import screen
    from reviewkit.tui.screens.prisma import PrismaScreen

    a, b = add_records(review, 2, source="PubMed")
    for who in ("alice", "bob"):
        screen.record_decision(review, who, a, "ta", "exclude")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PrismaScreen)
        text = str(app.screen.query_one("#prisma-text", Static).render())
        assert "PubMed (n = 2)" in text and "Records screened (n = 2)" in text
        assert "Records excluded (n = 1)" in text
        assert "not final" in text and "waits for a title/abstract decision" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_every_key_shows_on_80_columns_and_the_table_header_lines_up(review: Review) -> None:
    """On 80×24 the footer keeps Help and Quit and the key line names every stage's key; at 160 columns
    the stage table's header stands above its columns."""
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)
        keys = " ".join(line.strip() for line in screen_lines(app)[:-1])  # the key line wraps between words
        for key, what in [("i", "Sources"), ("d", "Duplicates"), ("t", "Studies"), ("s", "Screen titles/abstracts"),
                          ("f", "Screen full texts"), ("c", "Conflicts"), ("b", "Risk of bias"),
                          ("a", "Agreement"), ("x", "Extraction"), ("p", "PRISMA flow")]:
            assert f"{key} {what}" in keys
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 24)) as pilot:
        await app.workers.wait_for_complete()
        await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)
        header, row = line_with(app, "Stage"), line_with(app, "Identified")
        assert header.index("Count") == row.index(" 0 ") + 1 and header.index("Detail") == row.index("none yet")


async def _stages_fitted(app: ReviewkitApp, pilot: Pilot[None]) -> DataTable[Any]:
    """The stage table once its rows are in and measured (Textual measures them when idle: asserting
    before that raced it)."""
    await app.workers.wait_for_complete()
    table = app.screen.query_one("#stages", DataTable)
    for _ in range(50):
        await pilot.pause()
        detail = table.ordered_columns[2]
        widest = max((cell_len(line) for i in range(table.row_count)
                      for line in str(table.get_row_at(i)[2]).splitlines()), default=0)
        if table.row_count == 6 and detail.content_width == max(widest, len("Detail")):
            return table
    raise AssertionError("the stage table was never filled and measured")


async def _fitted_dashboard(app: ReviewkitApp, pilot: Pilot[None]) -> DashboardScreen:
    """The dashboard once its first counts are shown and measured."""
    await _stages_fitted(app, pilot)
    assert isinstance(app.screen, DashboardScreen)
    return app.screen


def _words(text: str) -> list[str]:
    return re.findall(r"[^\s·,]+", text)


async def test_every_detail_shows_whole_on_80_columns_and_follows_a_resize(review: Review) -> None:
    """On 80×24 each stage's detail is shown whole inside the screen, wrapped under its Detail heading
    (the screening counts ran past the 80th column); a wider terminal puts each on one line again."""
    for source in ("PubMed", "Embase", "ClinicalTrials.gov", "Web of Science"):
        add_records(review, [Record(title=f"Trial from {source}", source_id=f"{source}-1")], source=source)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _stages_fitted(app, pilot)
        assert table.virtual_size.width <= table.scrollable_content_region.width  # nothing to scroll to
        assert table.region.right <= 80
        lines = screen_lines(app)
        top = next(i for i, line in enumerate(lines) if "Stage" in line and "Detail" in line)
        left = lines[top].index("Detail")
        y = top + 1
        for (stage, count, detail), row in zip(stage_rows(review_status(review)), table.ordered_rows, strict=True):
            shown = lines[y:y + row.height]
            assert shown[0][:left].split() == [*stage.split(), count]
            assert _words(" ".join(line[left:] for line in shown)) == _words(detail), stage
            assert all(not line[:left].strip() for line in shown[1:])  # continuation lines: Detail only
            y += row.height
        assert y - top - 1 > table.row_count  # some details did need a second line
        assert "Web of Science 1" in " ".join(lines)

        await pilot.resize_terminal(160, 24)
        table = await _stages_fitted(app, pilot)
        assert [row.height for row in table.ordered_rows] == [1] * 6
        for stage, count, detail in stage_rows(review_status(review)):
            assert line_with(app, stage).split() == [*stage.split(), count, *detail.split()]


def test_the_full_text_row_says_how_many_conflicts_a_maybe_made() -> None:
    """As `status` does: the full-text conflicts only a maybe made are counted in the detail, when there are any."""
    def detail(conflicts: int, from_maybe: int) -> str:
        status = ReviewStatus("t", "sqlite://", ft=StageCounts(conflict=conflicts, conflict_from_maybe=from_maybe))
        return dict((stage, d) for stage, _, d in stage_rows(status))["Full text included"]

    assert "conflicts 4 (2 from a maybe) · in progress 0" in detail(4, 2)
    assert "conflicts 4 · in progress 0" in detail(4, 0)


def test_details_wrap_between_their_items() -> None:
    """A line breaks after a comma or at a " · " (dropped), never inside "in progress 0"; an item longer
    than a line breaks between its words."""
    screening = "excluded 5 · conflicts 0 · in progress 12 · not started 0"
    assert wrap_detail(screening, 41) == ["excluded 5 · conflicts 0 · in progress 12", "not started 0"]
    assert wrap_detail(screening, 40) == ["excluded 5 · conflicts 0", "in progress 12 · not started 0"]
    assert wrap_detail(screening, 80) == [screening]
    assert wrap_detail("ClinicalTrials.gov 6, Embase 4, PubMed 10", 38) == ["ClinicalTrials.gov 6, Embase 4,", "PubMed 10"]
    assert wrap_detail("Cochrane Central Register 3, PubMed 1", 16) == ["Cochrane Central", "Register 3,", "PubMed 1"]
    assert wrap_detail("", 20) == [""]


async def _refreshed(app: ReviewkitApp, pilot: Pilot[None]) -> DataTable[Any]:
    """What the 5-second timer does, without waiting for it; the table once refilled and measured."""
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    screen._refresh_if_shown()
    return await _stages_fitted(app, pilot)


async def test_the_cursor_stays_on_the_row_the_user_moved_to_across_refreshes(review: Review) -> None:
    """The counts refresh every few seconds: the stage the user moved the cursor to stays selected
    (the refill put the cursor back on Identified), and the new counts still show."""
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _stages_fitted(app, pilot)
        assert table.has_focus and table.cursor_row == 0
        await pilot.press("down", "down", "down")
        await pilot.pause()
        assert str(table.get_row_at(table.cursor_row)[0]) == "Title/abstract included"
        add_records(review, 2, source="PubMed")
        table = await _refreshed(app, pilot)
        assert _cells(table)["Identified"][1] == "2"
        assert table.cursor_row == 3 and str(table.get_row_at(3)[0]) == "Title/abstract included"
        await pilot.press("down")  # and the cursor moves on from there
        await pilot.pause()
        assert str(table.get_row_at(table.cursor_row)[0]) == "Full text included"


async def test_a_scrolled_stage_table_stays_scrolled_across_refreshes(review: Review) -> None:
    """On a terminal too short for the wrapped stages the table scrolls: a refresh keeps the cursor on
    the stage the user moved to and the rows around it where they were (it scrolled back to the top)."""
    for source in ("PubMed", "Embase", "ClinicalTrials.gov", "Web of Science"):
        add_records(review, [Record(title=f"Trial from {source}", source_id=f"{source}-1")], source=source)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(40, 12)) as pilot:
        table = await _stages_fitted(app, pilot)
        await pilot.press("down", "down", "down", "down", "down")
        await pilot.pause()
        assert table.cursor_row == 5 and table.scroll_y > 0  # Studies included, scrolled into view
        scrolled = table.scroll_offset
        table = await _refreshed(app, pilot)
        assert table.cursor_row == 5 and table.scroll_offset == scrolled
        # Back up to Records screened: the table stays scrolled (Identified's lines off the top), and
        # stays so after the refresh rather than scrolling just far enough to show the cursor's row.
        await pilot.press("up", "up", "up")
        await pilot.pause()
        scrolled = table.scroll_offset
        assert table.cursor_row == 2 and scrolled.y > 0
        table = await _refreshed(app, pilot)
        assert table.cursor_row == 2 and table.scroll_offset == scrolled


async def test_a_failing_refresh_is_told_once_and_the_next_success_clears_it(review: Review,
                                                                            monkeypatch: Any) -> None:
    """The database lost mid-session: the refresh says why (it failed silently, leaving old counts that
    looked current), once however often it retries, and again only after a refresh has worked."""
    import reviewkit.tui.screens.dashboard as dashboard
    from reviewkit.errors import ReviewkitError

    real = dashboard.review_status
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await _stages_fitted(app, pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)

        def failed() -> list[str]:
            return [str(n.message) for n in app._notifications if "could not be refreshed" in str(n.message)]

        def gone(_: Review) -> Any:
            raise ReviewkitError("not a reviewkit database or damaged: reviewkit.db")

        async def refresh() -> None:
            screen.action_refresh()
            with suppress(WorkerFailed):  # the failed worker is what is being tested
                await app.workers.wait_for_complete()
            await pilot.pause()

        monkeypatch.setattr(dashboard, "review_status", gone)
        for _ in range(3):
            await refresh()
        assert failed() == ["The counts could not be refreshed: not a reviewkit database or damaged: reviewkit.db"]
        monkeypatch.setattr(dashboard, "review_status", real)
        await refresh()
        monkeypatch.setattr(dashboard, "review_status", gone)
        await refresh()
        assert len(failed()) == 2


async def test_a_planned_analysis_that_cannot_run_is_told_in_the_tui(review: Review) -> None:
    """The CLI's warning line is hidden behind the TUI's screen: the app says it on opening; a healthy
    protocol says nothing."""
    from reviewkit.services.project import open_review

    healthy = make_app(review, reviewer="alice")
    async with healthy.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not [n for n in healthy._notifications if "cannot run" in str(n.message)]
    path = review.folder / "review.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"', 1), encoding="utf-8")
    broken = make_app(open_review(review.folder), reviewer="alice")
    async with broken.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        told = [str(n.message) for n in broken._notifications if "cannot run" in str(n.message)]
        assert told == ["1 planned analysis in review.toml cannot run; see reviewkit protocol check"]


async def test_a_short_terminal_keeps_the_title_keys_and_footer_and_scrolls_the_stages(review: Review) -> None:
    """At 80×16 the whole screen scrolled (the key line and part of the stage table fell off): the stage
    table now takes the height left and scrolls inside it, the title takes one line (cut with "…"), and
    the title, reviewer line, key line and footer all show; 80×24 and 160×48 keep the table compact."""
    for source in ("PubMed", "Embase", "ClinicalTrials.gov", "Web of Science"):
        add_records(review, [Record(title=f"Trial from {source}", source_id=f"{source}-1")], source=source)
    for size in ((80, 16), (80, 12), (80, 24), (160, 48)):
        app = make_app(review, reviewer="alice")
        async with app.run_test(size=size) as pilot:
            table = await _stages_fitted(app, pilot)
            await pilot.pause()
            screen = app.screen
            assert screen.max_scroll_y == 0, size
            lines = screen_lines(app)
            assert "Baricitinib for moderate-to-severe atopic dermatitis" in lines[1 if size[1] < 21 else 2]
            if size[0] == 80 and size[1] < 21:
                assert lines[1].rstrip().endswith("…")  # one line, cut
            assert "reviewer: alice" in " ".join(lines)
            keys = " ".join(line.strip() for line in lines[:-1])
            for key in ("i Sources", "s Screen titles/abstracts", "x Extraction", "p PRISMA flow"):
                assert key in keys, (size, key)
            await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)
            assert "Stage" in line_with(app, "Count")
            key_line = screen.query_one("#stage-keys")
            assert table.region.bottom <= key_line.region.y <= table.region.bottom + 1  # right below it
            if size[1] >= 24:
                assert table.max_scroll_y == 0, size  # every stage shows, the table no taller than its rows
                continue
            assert table.max_scroll_y > 0
            await pilot.press(*["down"] * 5)
            await pilot.pause()
            assert table.cursor_row == 5 and "Studies included" in " ".join(screen_lines(app)), size
            assert screen.max_scroll_y == 0


async def test_the_stage_table_refits_when_the_terminal_shrinks(review: Review) -> None:
    """Shrinking the terminal, on the dashboard or under another screen, refits the stage table."""
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await _stages_fitted(app, pilot)
        await pilot.resize_terminal(80, 16)
        await pilot.pause()
        await pilot.pause()
        assert app.screen.max_scroll_y == 0 and "p PRISMA flow" in " ".join(x.strip() for x in screen_lines(app))
        await pilot.press("p")  # the PRISMA screen on top while the terminal grows and shrinks again
        await pilot.pause()
        await pilot.resize_terminal(80, 40)
        await pilot.pause()
        await pilot.resize_terminal(80, 14)
        await pilot.pause()
        await pilot.press("escape")
        await _stages_fitted(app, pilot)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.max_scroll_y == 0 and "p PRISMA flow" in " ".join(x.strip() for x in screen_lines(app))
        await footer_once(pilot, app, lambda footer: "? Help" in footer)


def test_the_reviewer_line_names_the_reviews_own_file_briefly(review: Review) -> None:
    """The review's SQLite file by its name, a server by its URL without driver or password (the full
    sqlite:////home/... URL wrapped the line at 80 columns)."""
    from reviewkit.tui.screens.dashboard import database_label

    label = database_label(review)
    if review.engine.url.get_backend_name() == "sqlite":
        assert label == f"{Path(review.engine.url.database or '').name} (SQLite)"
    else:
        assert label.startswith("postgresql://") and "+psycopg" not in label


def _counts_shown(table: DataTable[Any]) -> dict[str, str]:
    """Each stage's count as the dashboard shows it."""
    return {stage: cells[1] for stage, cells in _cells(table).items()}


def _counts_of(status: dict[str, Any]) -> dict[str, str]:
    """The same counts, read from `reviewkit status --json`."""
    return {"Identified": str(status["identified"]), "Duplicates removed": str(status["duplicates_removed"]),
            "Records screened": str(status["records_screened"]),
            "Title/abstract included": str(status["title_abstract"]["included"]),
            "Full text included": str(status["full_text"]["included"]), "Studies included": str(status["studies"])}


def _status_counts(review: Review) -> dict[str, str]:
    """The counts `reviewkit status --json` prints for the review."""
    from click.testing import CliRunner

    from reviewkit.cli import cli

    result = CliRunner().invoke(cli, ["-C", str(review.folder), "status", "--json"])
    assert result.exit_code == 0, result.output
    return _counts_of(json.loads(result.stdout))


async def _included_once(pilot: Pilot[None], table: DataTable[Any], included: str) -> dict[str, str]:
    """The counts shown once title/abstract included reads `included` (or at the deadline, for the caller
    to assert on)."""
    for _ in range(400):  # a deadline, not a timing: each pause lets the timer's refresh land
        await pilot.pause(0.05)
        if table.row_count and _counts_shown(table)["Title/abstract included"] == included:
            break
    return _counts_shown(table)


@pytest.fixture
def elsewhere(review: Review) -> Iterator[Review]:
    """The same review opened again, as another reviewer's process would: its own engine, its own connections."""
    from reviewkit.services.project import open_review

    other = open_review(review.folder)
    yield other
    other.engine.dispose()


async def test_counts_follow_decisions_another_process_writes(review: Review, elsewhere: Review,
                                                              monkeypatch: Any) -> None:
    """Two reviewers screen in other processes (here: another connection to the same database, through
    the services) while the dashboard is open: its counts follow within a refresh, with no key pressed,
    and are the counts `reviewkit status --json` prints."""
    import reviewkit.tui.screens.dashboard as dashboard
    from reviewkit.services.screen import record_decision

    monkeypatch.setattr(dashboard, "REFRESH_SECONDS", 0.2)  # the 5-second timer, without waiting for it
    ids = add_records(review, 3)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#stages", DataTable)
        assert (await _included_once(pilot, table, "0"))["Records screened"] == "3"
        for rid in ids[:2]:
            for who in ("alice", "bob"):
                record_decision(elsewhere, who, rid, "ta", "include")
        shown = await _included_once(pilot, table, "2")
        assert shown["Title/abstract included"] == "2"
        assert "in progress 0" in _cells(table)["Title/abstract included"][2]
        assert "not started 1" in _cells(table)["Title/abstract included"][2]
    assert shown == _status_counts(review)


async def test_a_refresh_over_a_locked_database_says_the_counts_could_not_be_read(review: Review,
                                                                                 monkeypatch: Any) -> None:
    """A refresh that meets the database locked past the wait is told as a read's failure: the shared
    wording of a failed transaction said "nothing was stored", which a refresh never meant to do."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    import reviewkit.tui.screens.dashboard as dashboard
    from reviewkit.store.db import BUSY_TIMEOUT_MS, transaction_error

    class LockTimeout(Exception):
        """PostgreSQL's lock_timeout, as psycopg raises it (its SQLSTATE)."""

        sqlstate = "55P03"

    wait = f"{BUSY_TIMEOUT_MS / 1000:g} s"
    if review.engine.dialect.name == "sqlite":
        orig: Exception = sqlite3.OperationalError("database is locked")
        cause = f"the database {review.engine.url.database} stayed locked by another process for {wait} (database is locked)"
    else:
        orig, cause = LockTimeout("canceling statement due to lock timeout"), (
            f"another reviewkit process held what was to be read for {wait}")

    def locked(_: Review) -> Any:
        raise transaction_error(review.engine, OperationalError("SELECT", {}, orig))

    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _fitted_dashboard(app, pilot)
        monkeypatch.setattr(dashboard, "review_status", locked)
        screen.action_refresh()
        with suppress(WorkerFailed):  # the failed worker is what is being tested
            await app.workers.wait_for_complete()
        await pilot.pause()
        (told,) = [str(n.message) for n in app._notifications if "could not be refreshed" in str(n.message)]
    assert told == f"The counts could not be refreshed: {cause}, so they could not be read (the next refresh tries again)"


async def test_a_slow_refresh_is_not_cancelled_by_the_next_tick(review: Review, monkeypatch: Any) -> None:
    """A refresh slower than the 5-second timer (a large review, a busy server, a database locked for a
    while) was cancelled by the next tick and its counts dropped, every time: the counts never showed and a
    thread per tick queried on. The ticks now wait for it, and its counts show."""
    import threading

    import reviewkit.tui.screens.dashboard as dashboard

    real = dashboard.review_status
    release = threading.Event()
    started: list[int] = []

    def slow(r: Review) -> ReviewStatus:
        started.append(1)
        assert release.wait(60)
        return real(r)

    add_records(review, 2)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _fitted_dashboard(app, pilot)
        monkeypatch.setattr(dashboard, "review_status", slow)
        add_records(review, 1)
        for _ in range(3):  # three ticks while the first refresh still counts
            screen._refresh_if_shown()
            await pilot.pause()
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(started) == 1
        assert _counts_shown(screen.query_one("#stages", DataTable))["Identified"] == "3"


async def test_counts_follow_a_protocol_replaced_underneath(review: Review, elsewhere: Review,
                                                            monkeypatch: Any) -> None:
    """A lead raises screeners_per_record from 2 to 3 with `protocol replace` while the dashboard is open:
    the records two screeners included are in progress again, as `reviewkit status --json` says (the
    dashboard kept counting them included, under the protocol it opened with). It says so once, and a screen
    opened after it works under the new protocol (they kept the old one until reviewkit was opened again);
    a review.toml left broken mid-edit keeps the counts coming."""
    import reviewkit.tui.screens.dashboard as dashboard
    from reviewkit.services.protocol_edit import update_protocol
    from reviewkit.services.screen import record_decision

    monkeypatch.setattr(dashboard, "REFRESH_SECONDS", 0.2)
    ids = add_records(review, 3)
    for rid in ids[:2]:
        for who in ("alice", "bob"):
            record_decision(review, who, rid, "ta", "include")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#stages", DataTable)
        assert (await _included_once(pilot, table, "2"))["Title/abstract included"] == "2"
        text = review.protocol_path.read_text(encoding="utf-8")
        assert "screeners_per_record = 2" in text
        raised = text.replace("screeners_per_record = 2", "screeners_per_record = 3").replace(
            'role = "adjudicator"', 'roles = ["screener", "adjudicator"]')
        updated = update_protocol(elsewhere, "alice", raised)
        shown = await _included_once(pilot, table, "0")
        assert shown["Title/abstract included"] == "0"
        assert "in progress 2" in _cells(table)["Title/abstract included"][2]
        for _ in range(100):  # the notice is posted to the app with the counts
            told = [str(n.message) for n in app._notifications if "changed since reviewkit opened" in str(n.message)]
            if told:
                break
            await pilot.pause(0.05)
        assert told == ["review.toml changed since reviewkit opened: the counts follow it, and so does every "
                        "screen opened from now on"]
        assert shown == _status_counts(review)
        await pilot.press("s")  # the title/abstract screen, opened after the change
        for _ in range(100):
            if isinstance(app.screen, ScreeningScreen):
                break
            await pilot.pause(0.05)
        assert app.screen.review.protocol.screening.screeners_per_record == 3
        await pilot.press("escape")
        await pilot.pause()
        review.protocol_path.write_text(raised + "\n[screening\n", encoding="utf-8")  # a lead mid-edit
        record_decision(updated, "carol", ids[0], "ta", "include")
        assert (await _included_once(pilot, table, "1"))["Title/abstract included"] == "1"
        assert not [n for n in app._notifications if "could not be refreshed" in str(n.message)]


async def test_a_refresh_keeps_the_reread_protocol_on_the_ui_thread(review: Review, monkeypatch: Any) -> None:
    """A refresh after review.toml changed keeps the protocol it counted under, and does so on the UI
    thread: the refresh's worker thread set the screen's attributes itself, racing the UI thread that
    reads them (Textual screens are not thread-safe). A review.toml broken mid-edit is remembered as seen
    (not parsed again at every tick) while the last protocol that loaded is kept."""
    import threading

    from reviewkit.services.screen import record_decision
    from reviewkit.tui.screens.dashboard import _file_signature

    ui_thread = threading.get_ident()
    set_on: list[tuple[str, int]] = []

    def recorded(name: str) -> property:
        """An attribute of the screen that records which thread sets it."""
        def get(screen: DashboardScreen) -> Any:
            return screen.__dict__[name]

        def put(screen: DashboardScreen, value: Any) -> None:
            set_on.append((name, threading.get_ident()))
            screen.__dict__[name] = value

        return property(get, put)

    for name in ("_protocol_seen", "_counted"):
        monkeypatch.setattr(DashboardScreen, name, recorded(name), raising=False)
    ids = add_records(review, 1)
    for who in ("alice", "bob"):
        record_decision(review, who, ids[0], "ta", "include")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _fitted_dashboard(app, pilot)
        assert _counts_shown(screen.query_one("#stages", DataTable))["Title/abstract included"] == "1"
        text = review.protocol_path.read_text(encoding="utf-8")
        raised = text.replace("screeners_per_record = 2", "screeners_per_record = 3").replace(
            'role = "adjudicator"', 'roles = ["screener", "adjudicator"]')
        assert raised != text
        review.protocol_path.write_text(raised, encoding="utf-8")
        set_on.clear()
        screen.action_refresh()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert {name for name, _ in set_on} == {"_protocol_seen", "_counted"}
        assert {thread for _, thread in set_on} == {ui_thread}
        assert screen._protocol_seen == _file_signature(review.protocol_path)
        assert screen._counted.protocol.screening.screeners_per_record == 3
        assert screen.review.protocol.screening.screeners_per_record == 2  # the other screens' protocol
        assert _counts_shown(screen.query_one("#stages", DataTable))["Title/abstract included"] == "0"
        review.protocol_path.write_text(raised + "\n[screening\n", encoding="utf-8")  # a lead mid-edit
        set_on.clear()
        screen.action_refresh()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert {thread for _, thread in set_on} == {ui_thread}
        assert screen._protocol_seen == _file_signature(review.protocol_path)
        assert screen._counted.protocol.screening.screeners_per_record == 3
        assert _counts_shown(screen.query_one("#stages", DataTable))["Title/abstract included"] == "0"

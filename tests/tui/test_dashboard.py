"""Pilot tests for the TUI shell: the dashboard and the help screen."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from reviewkit.services.project import Review
from reviewkit.tui.app import make_app
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.help import HelpScreen
from tests.factories import add_records
from tests.tui.rendered import footer_line, line_with, screen_lines


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
    """p opens the PRISMA counts; undecided records are reported as not adding up yet."""
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
        assert "do not add up yet" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_every_key_shows_on_80_columns_and_the_table_header_lines_up(review: Review) -> None:
    """On 80×24 the footer keeps Help and Quit and the key line names every stage's key; at 160 columns
    the stage table's header stands above its columns."""
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "? Help" in footer_line(app) and "q Quit" in footer_line(app)
        keys = " ".join(screen_lines(app)[:-1])
        for key, what in [("i", "Sources"), ("d", "Duplicates"), ("s", "Screen titles/abstracts"),
                          ("f", "Screen full texts"), ("c", "Conflicts"), ("b", "Risk of bias"),
                          ("a", "Agreement"), ("x", "Extraction"), ("p", "PRISMA flow")]:
            assert f"{key} {what}" in keys
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "? Help" in footer_line(app) and "q Quit" in footer_line(app)
        header, row = line_with(app, "Stage"), line_with(app, "Identified")
        assert header.index("Count") == row.index(" 0 ") + 1 and header.index("Detail") == row.index("none yet")

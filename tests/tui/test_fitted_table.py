"""Tests for FittedTable: columns fit their content after refills, squeezed columns share the width."""

from __future__ import annotations

from textual.app import App, ComposeResult

from reviewkit.tui.widgets.fitted_table import FittedTable, clipped, share_widths
from tests.tui.rendered import line_with, narrow_columns


class _TableApp(App[None]):
    """A table alone on the screen, squeezing its Title column."""

    def compose(self) -> ComposeResult:
        table = FittedTable(id="t", squeeze=["title"])
        table.add_column("Title", key="title")
        table.add_columns("Code", "State")
        yield table


def test_share_widths_keeps_short_columns_whole() -> None:
    """A column under its fair share keeps its width; the rest is split; nothing goes under the minimum."""
    assert share_widths([7, 90], 60) == [7, 53]
    assert share_widths([40, 90], 60) == [30, 30]
    assert share_widths([5, 5], 60) == [5, 5]
    assert share_widths([50, 50], 12, minimum=10) == [10, 10]


async def test_refilled_rows_widen_and_narrow_their_columns() -> None:
    """Rows replaced while shown are drawn at their own widths (Textual kept header-wide ones)."""
    app = _TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(FittedTable)
        table.add_row("short", "A", "open")
        await pilot.pause()
        table.clear()
        table.add_row("short", "NCT01234567", "finished")
        await pilot.pause()
        assert line_with(app, "short").split() == ["short", "NCT01234567", "finished"]
        assert narrow_columns(table) == []
        table.clear()
        table.add_row("short", "B", "open")
        await pilot.pause()
        assert line_with(app, "Title").split() == ["Title", "Code", "State"]
        assert line_with(app, "Title").index("State") == line_with(app, "short").index("open")
        assert line_with(app, "Title").index("State") < len("Title  NCT01234567")  # narrowed again


async def test_long_titles_give_way_to_the_other_columns_and_come_back() -> None:
    """A long title is cut with "…" so Code and State stay on screen; a wider terminal shows it whole."""
    title = "A randomised, double-blind, placebo-controlled phase 3 trial of baricitinib in atopic dermatitis"
    app = _TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(FittedTable)
        table.add_row(clipped(title), "NCT03334396", "open")
        await pilot.pause()
        row = line_with(app, "A randomised")
        assert row.split()[-2:] == ["NCT03334396", "open"] and "…" in row
        await pilot.resize_terminal(160, 10)
        await pilot.pause()
        assert title in line_with(app, "A randomised")

"""Test helpers: what the terminal shows (the screen's lines, the footer) and whether table columns fit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable


def screen_lines(app: App[Any]) -> list[str]:
    """The top screen as the terminal shows it, one string per line (modals drawn over the screen below)."""
    # The compositor's strips are exactly what the driver writes to the terminal.
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


def footer_line(app: App[Any]) -> str:
    """The bottom line: the footer's keys."""
    return screen_lines(app)[-1]


def line_with(app: App[Any], text: str) -> str:
    """The first shown line containing `text` (AssertionError when none does)."""
    found = [line for line in screen_lines(app) if text in line]
    assert found, f"{text!r} is not on screen"
    return found[0]


async def lines_once(pilot: Pilot[Any], app: App[Any], shown: Callable[[list[str]], bool],
                     timeout: float = 10.0) -> list[str]:
    """The screen's lines once `shown` holds for them (AssertionError with the screen after `timeout` s).

    A frame is drawn when Textual is next idle: under load (CI runs both databases' suites on 2 cores)
    that can come after the workers a test waited for, so a test reading the screen waits for what it
    expects rather than racing the compositor.
    """
    for _ in range(int(timeout / 0.05)):
        lines = screen_lines(app)
        if shown(lines):
            return lines
        await pilot.pause(0.05)
    lines = screen_lines(app)
    assert shown(lines), "\n".join(lines)
    return lines


def narrow_columns(table: DataTable[Any]) -> list[str]:
    """Columns drawn narrower than their widest cell or label (empty when every column fits)."""
    narrow = []
    for index, column in enumerate(table.ordered_columns):
        cells = [str(table.get_row_at(row)[index]) for row in range(table.row_count)]
        widest = max([len(column.label.plain), *map(len, cells)])
        if column.get_render_width(table) - 2 * table.cell_padding < widest:
            narrow.append(column.label.plain)
    return narrow


async def footer_once(pilot: Pilot[Any], app: App[Any], shown: Callable[[str], bool], timeout: float = 10.0) -> str:
    """The footer line once `shown` holds for it (as lines_once: a footer redrawn after a focus change
    was read blank under load)."""
    return (await lines_once(pilot, app, lambda lines: shown(lines[-1]), timeout))[-1]


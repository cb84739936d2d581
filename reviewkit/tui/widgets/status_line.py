"""Provides the screening screen's progress line, packed into as few lines as its width needs."""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Static


def pack_parts(parts: list[str], width: int) -> list[str]:
    """The parts joined by " · " in lines of at most `width` cells, a line breaking only between parts
    (and dropping their " · "); a part longer than a line has one to itself. `width` 0 (not laid out
    yet): one line."""
    lines: list[str] = []
    for part in parts:
        if lines and (not width or cell_len(lines[-1]) + 3 + cell_len(part) <= width):
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines


class StatusLine(Static):
    """The progress line, packed into as few lines as its width needs, at most MAX_LINES (an 80-column
    terminal cut the single line at "conflicts waiting 0 · record", losing the position, the reviewer's
    decision and the stopping aid). Each part is (long, short): the short forms are used when the long
    ones would take more than MAX_LINES lines."""

    MAX_LINES = 3

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own parameter name
        super().__init__("", id=id, markup=False)
        self._parts: list[tuple[str, str]] = []
        self._drawn_at = -1

    def show(self, parts: list[tuple[str, str]]) -> None:
        """Show these parts."""
        self._parts = parts
        self._draw()

    def on_resize(self) -> None:
        """Repack the parts for the new width."""
        if self.content_region.width != self._drawn_at:
            self._draw()

    def _draw(self) -> None:
        width = self._drawn_at = self.content_region.width
        lines = pack_parts([long for long, _ in self._parts], width)
        if len(lines) > self.MAX_LINES:
            lines = pack_parts([short for _, short in self._parts], width)
        # Content, not markup: a search's text is the user's. A layout pass only when the height is to
        # change (measured, not remembered: a layout asked for while one runs may not take effect).
        self.update(Content("\n".join(lines)), layout=min(len(lines), self.MAX_LINES) != self.size.height)

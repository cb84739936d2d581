"""Provides FittedTable: a DataTable whose columns keep fitting their content, long ones squeezed to its width."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text, TextType
from textual import events
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import Column, ColumnKey, RowKey

from reviewkit.tui.plain import plain

#: A squeezed column never gets narrower than this (a few words stay readable).
MIN_SQUEEZED = 10


def clipped(text: str) -> Text:
    """A cell that ends in "…" when its column is squeezed (and is never read as markup)."""
    return Text(text, overflow="ellipsis", no_wrap=True, end="")


def share_widths(natural: Sequence[int], room: int, minimum: int = MIN_SQUEEZED) -> list[int]:
    """Widths for columns sharing `room` cells: a column narrower than its fair share keeps its width,
    the others split what is left evenly, none below `minimum` (the table then scrolls)."""
    widths = [0] * len(natural)
    left, count = room, len(natural)
    for i in sorted(range(len(natural)), key=lambda i: natural[i]):
        widths[i] = min(natural[i], max(minimum, left // count))
        left -= widths[i]
        count -= 1
    return widths


class FittedTable(DataTable[Any]):
    """A DataTable whose columns fit their content after rows are replaced or cells change.

    Textual 8 measures new cells when idle but keeps the rows it already rendered at the old widths
    (its render caches are keyed on an update counter the measuring does not bump): a table refilled
    while shown kept header-wide columns ("D1 (  Low r  Hig") until the terminal was resized. Columns
    named in `squeeze` (long titles, question texts) share whatever width the others leave, so the
    short columns after them stay on screen; give their cells as `clipped(...)` to end cut text in "…".

    A str cell or label is shown as it is: DataTable reads a str as Rich markup, and a title, a name or
    a value typed with "[adults]" lost it ("[/i]" crashed the app). Give a Text for a styled cell.
    """

    DEFAULT_CSS = """
    FittedTable.-squeeze { width: 1fr; }
    """

    def __init__(self, *, squeeze: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cleared = False
        self.squeeze(squeeze)

    def squeeze(self, keys: Iterable[str]) -> None:
        """Name the columns that give way (for columns known only once the rows come: one per assessor)."""
        self._squeeze = set(keys)
        # A squeezing table takes its container's width (an auto-width table would size itself to
        # the squeezed columns and never widen them again).
        self.set_class(bool(self._squeeze), "-squeeze")

    def add_column(self, label: TextType, *, width: int | None = None, key: str | None = None,
                   default: Any | None = None) -> ColumnKey:
        """Add a column; a str label is shown as it is (not read as markup)."""
        return super().add_column(_literal(label), width=width, key=key, default=default)

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: TextType | None = None) -> RowKey:
        """Add a row; str cells (and label) are shown as they are (not read as markup), wrapped as
        DataTable wraps a str: only in a row taller than one line."""
        return super().add_row(*(_literal(cell, no_wrap=height == 1) for cell in cells), height=height, key=key,
                               label=None if label is None else _literal(label))

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any, *,
                    update_width: bool = False) -> None:
        """Change a cell; a str is shown as it is (not read as markup)."""
        row = self.rows.get(RowKey(row_key) if isinstance(row_key, str) else row_key)
        no_wrap = row is None or row.height == 1
        super().update_cell(row_key, column_key, _literal(value, no_wrap=no_wrap), update_width=update_width)

    def clear(self, columns: bool = False) -> FittedTable:
        """Clear the rows; the columns' widths then follow the new rows (narrower ones too)."""
        super().clear(columns)
        self._cleared = True
        return self

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Overrides DataTable's idle-time measuring (private in Textual 8; see the class docstring):
        # drop the rows rendered before the widths were known, then squeeze to the table's width.
        if self._cleared:
            # Every row came since the clear, so all are measured now: start from the labels.
            # Resetting in clear() instead would draw header-wide columns until this runs.
            self._cleared = False
            for column in self.columns.values():
                column.content_width = column.label.cell_len
        self._update_count += 1
        super()._update_dimensions(new_rows)
        self._refit()

    def _on_resize(self, _: events.Resize) -> None:
        # Runs before DataTable's own resize handler, which then drops the rendered rows.
        self._refit()

    def _refit(self) -> None:
        if self._fit_squeezed():
            widths = sum(column.get_render_width(self) for column in self.columns.values())
            self.virtual_size = Size(widths + self._row_label_column_width, self.virtual_size.height)
            self._update_count += 1
        self.refresh()

    def _fit_squeezed(self) -> bool:
        """Set the squeezed columns' widths to share the room left; True when any changed."""
        squeezed = [c for c in self.ordered_columns if c.key.value in self._squeeze]
        if not squeezed or self.content_region.width <= 0:
            return False
        available = self.content_region.width
        if self.virtual_size.height > self.content_region.height:
            available -= self.scrollbar_size_vertical  # the rows will scroll: leave room for the bar
        fixed = sum(c.get_render_width(self) for c in self.ordered_columns if c not in squeezed)
        room = available - fixed - self._row_label_column_width - 2 * self.cell_padding * len(squeezed)
        widths = share_widths([c.content_width for c in squeezed], room)
        return any([_set_width(column, width) for column, width in zip(squeezed, widths, strict=True)])


def _literal(value: Any, *, no_wrap: bool | None = None) -> Any:
    """A str as plain Text (what DataTable would have read as markup); anything else as it is."""
    return plain(value, no_wrap=no_wrap) if isinstance(value, str) else value


def _set_width(column: Column, width: int) -> bool:
    """Fit the column to its content when `width` holds it, else fix it at `width`; True when it changed."""
    auto = width >= column.content_width
    changed = column.auto_width != auto or (not auto and column.width != width)
    column.auto_width = auto
    if not auto:
        column.width = width
    return changed

"""Provides TextForest: a forest plot drawn in characters, and the pure layout that turns its numbers into lines.

The layout takes numbers the pooling already computed (each study's effect, CI and weight, the pooled
row) and only places them: it computes no statistics and reads no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from reviewkit.render.axis import effect_ticks

#: The plot area never gets narrower than this (the lines then run past the widget's width and are cut).
MIN_PLOT = 11
#: A label never takes more than this share of the width (longer ones end in "…").
LABEL_SHARE = 0.3

STUDY_MARK = "■"
POOLED_MARK = "◆"
CI_LINE = "─"
NULL_LINE = "│"
NULL_CROSSED = "┼"
CLIPPED_LEFT = "◀"
CLIPPED_RIGHT = "▶"


@dataclass(frozen=True)
class ForestRow:
    """One line of the forest: a study (or the pooled result) with its effect and CI on the natural scale."""

    label: str
    effect: float | None
    lower: float | None
    upper: float | None
    #: Its weight in percent (None for a study left out of the pooling).
    weight: float | None = None
    #: The pooled row: drawn as a diamond across its CI.
    pooled: bool = False


@dataclass(frozen=True)
class ForestAxis:
    """The effect axis: its limits, log or linear, and the values it labels."""

    lower: float
    upper: float
    log: bool
    ticks: tuple[float, ...]

    @property
    def null(self) -> float:
        """The line of no effect: 1 for a ratio, 0 otherwise."""
        return 1.0 if self.log else 0.0

    def _scale(self, value: float) -> float:
        return math.log(value) if self.log else value

    def column(self, value: float, width: int) -> int:
        """The column (0 to width − 1) of `value`; −1 left of the axis, `width` right of it (and −1 for a
        value that is not a number, which no comparison places)."""
        if math.isnan(value) or self.log and value <= 0:
            return -1
        if value < self.lower:
            return -1
        if value > self.upper:
            return width
        lo, hi = self._scale(self.lower), self._scale(self.upper)
        return round((self._scale(value) - lo) / (hi - lo) * (width - 1))


def choose_axis(rows: Sequence[ForestRow], ratio: bool) -> ForestAxis:
    """The axis the forest plot file would use for these rows: for a ratio the narrowest of RevMan's
    scales that holds every interval (the widest, clipping, when none does); otherwise symmetric
    about 0, out to a round number beyond the widest interval."""
    ticks = effect_ticks((b for r in rows for b in (r.lower, r.upper) if b is not None), ratio)
    return ForestAxis(ticks[0], ticks[-1], ratio, tuple(ticks) if ratio else (ticks[0], 0.0, ticks[-1]))


def plot_cells(row: ForestRow, axis: ForestAxis, width: int) -> str:
    """The plot area of one row: the CI as a line with the effect marked (a diamond across the CI for the
    pooled row), the line of no effect, and an arrow at an edge the CI runs past."""
    cells = [" "] * width
    null = axis.column(axis.null, width)
    if 0 <= null < width:
        cells[null] = NULL_LINE
    if row.effect is None or row.lower is None or row.upper is None:
        return "".join(cells)
    start, end = axis.column(row.lower, width), axis.column(row.upper, width)
    if end < 0 or start >= width:  # the whole interval lies beyond one edge
        cells[0 if end < 0 else width - 1] = CLIPPED_LEFT if end < 0 else CLIPPED_RIGHT
        return "".join(cells)
    # An interval that only reaches the line of no effect's column, without crossing the line, stops
    # beside it: drawn across it, a CI of 1.08 to 5.08 would read as one that includes 1.
    if row.lower > axis.null and start <= null:
        start = null + 1
    if row.upper < axis.null and end >= null:
        end = null - 1
    first, last = max(start, 0), min(end, width - 1)
    for at in range(first, last + 1):
        if row.pooled:
            cells[at] = POOLED_MARK
        else:
            cells[at] = NULL_CROSSED if at == null else CI_LINE
    if not row.pooled:
        mark = axis.column(row.effect, width)
        if 0 <= mark < width:
            cells[mark] = STUDY_MARK
    if start < 0:
        cells[0] = CLIPPED_LEFT
    if end >= width:
        cells[width - 1] = CLIPPED_RIGHT
    return "".join(cells)


def tick_labels(axis: ForestAxis, width: int) -> str:
    """The axis's values, each centred on its column, those that would overlap a previous one left out."""
    line = [" "] * width
    taken = -1
    for tick in axis.ticks:
        text = f"{tick:g}"
        at = min(max(axis.column(tick, width) - len(text) // 2, 0), width - len(text))
        if at <= taken or at < 0:
            continue
        line[at:at + len(text)] = list(text)
        taken = at + len(text)
    return "".join(line)


def number(value: float | None) -> str:
    """An effect or a CI limit as `reviewkit analyze` prints them (two decimals)."""
    return "" if value is None else f"{value:.2f}"


def ci_text(row: ForestRow) -> str:
    """"1.97 to 2.98", or "Not estimable" (as the forest plot file says) for a study left out."""
    if row.effect is None or row.lower is None or row.upper is None:
        return "Not estimable"
    return f"{number(row.lower)} to {number(row.upper)}"


def _clip(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    out = ""
    for ch in text:
        if cell_len(out + ch) > width - 1:
            break
        out += ch
    return out + "…" + " " * (width - 1 - cell_len(out))


def forest_lines(rows: Sequence[ForestRow], *, measure: str, ratio: bool, width: int, level: float = 0.95,
                 axis: ForestAxis | None = None) -> list[str]:
    """The forest as lines of at most `width` cells (more when `width` leaves the plot less than
    MIN_PLOT): a header with the axis's values, then one line per row: label, effect, CI, weight, plot.

    The axis is log for a ratio measure, linear otherwise; `axis` overrides the one chosen from the rows.
    """
    if not rows:
        return []
    axis = axis or choose_axis(rows, ratio)
    effects = [number(r.effect) for r in rows]
    cis = [ci_text(r) for r in rows]
    weights = ["" if r.weight is None else f"{r.weight:.1f}%" for r in rows]
    ci_head = f"{level * 100:g}% CI"
    e_w = max(len(measure), *map(len, effects))
    c_w = max(len(ci_head), *map(len, cis))
    w_w = max(len("Weight"), *map(len, weights))
    fixed = e_w + c_w + w_w + 2 + 1 + 1 + 2  # the gaps between the columns and before the plot
    longest = max(cell_len("Study"), *(cell_len(r.label) for r in rows))
    label_w = max(min(longest, int(width * LABEL_SHARE), width - fixed - MIN_PLOT), min(longest, 8))
    plot_w = max(MIN_PLOT, width - fixed - label_w)
    lines = [f"{_clip('Study', label_w)}  {measure:>{e_w}} {ci_head:<{c_w}} {'Weight':>{w_w}}  "
             + tick_labels(axis, plot_w)]
    for row, effect, ci, weight in zip(rows, effects, cis, weights, strict=True):
        lines.append(f"{_clip(row.label, label_w)}  {effect:>{e_w}} {ci:<{c_w}} {weight:>{w_w}}  "
                     + plot_cells(row, axis, plot_w))
    return [line.rstrip() for line in lines]


class TextForest(Widget):
    """A forest plot in characters, laid out again for the widget's width whenever it changes."""

    DEFAULT_CSS = """
    TextForest { height: auto; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: tuple[ForestRow, ...] = ()
        self._measure = ""
        self._ratio = False
        self._level = 0.95

    @property
    def rows(self) -> tuple[ForestRow, ...]:
        """The rows shown (for tests and the screen)."""
        return self._rows

    def show(self, rows: Sequence[ForestRow], *, measure: str, ratio: bool, level: float = 0.95) -> None:
        """Replace the rows; an empty list hides the plot."""
        self._rows = tuple(rows)
        self._measure, self._ratio, self._level = measure, ratio, level
        self.display = bool(self._rows)
        self.refresh(layout=True)

    def lines(self, width: int | None = None) -> list[str]:
        """The lines as drawn at `width` (the widget's own width by default)."""
        return forest_lines(self._rows, measure=self._measure, ratio=self._ratio, level=self._level,
                            width=width or self.content_size.width or 80)

    def render(self) -> Text:
        """The lines, never wrapped (a narrow terminal cuts them instead)."""
        return Text("\n".join(self.lines()), no_wrap=True, overflow="crop", end="")

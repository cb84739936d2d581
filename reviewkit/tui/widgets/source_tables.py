"""Provides the tables of the sources screen: each source with its last run, and every run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from reviewkit.services.runs import RunView, SourceView
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped

#: Queries and file names are cut to this many characters in a cell (the full text is in review.toml).
WIDE = 36
_STATUS_STYLE = {"complete": "green", "running": "yellow", "failed": "bold red", "abandoned": "dim"}


def when(moment: datetime | None) -> str:
    """A run's time, to the minute, in UTC as stored."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def cut(text: str | None, width: int = WIDE) -> str:
    """One line of at most `width` characters."""
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def status_text(status: str | None) -> Text:
    """A run status, coloured."""
    return Text(status or "never run", style=_STATUS_STYLE.get(status or "", "dim"))


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


class _NarrowingTable(FittedTable):
    """A table with a narrow form (some columns left out) for terminals under 120 columns."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.narrow = False

    def on_mount(self) -> None:
        """Set the columns."""
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._add_columns()

    def _add_columns(self) -> None:
        raise NotImplementedError

    def _refill(self) -> None:
        raise NotImplementedError

    def set_narrow(self, narrow: bool) -> None:
        """Show the narrow columns (or all of them), keeping the rows and the cursor."""
        if narrow != self.narrow:
            row = self.cursor_row
            self.narrow = narrow
            self.clear(columns=True)
            self._add_columns()
            self._refill()
            if self.row_count:
                self.move_cursor(row=min(row, self.row_count - 1))


class SourceTable(_NarrowingTable):
    """One row per source: what it searches or imports, its last run, the records it identified.

    Refilled as runs progress, so a FittedTable: its columns keep fitting the new counts and statuses.
    Narrow (`set_narrow`), it leaves out the kind and the query or file (`source_detail` says them for
    the highlighted source): with them its counts were cut on an 80-column terminal.
    """

    def __init__(self, **kwargs: Any) -> None:
        # The names and queries give way (cut with "…") to the dates, statuses and counts.
        super().__init__(squeeze=["source", "what"], **kwargs)
        self.sources: list[SourceView] = []

    def _add_columns(self) -> None:
        self.add_column("Source", key="source")
        if not self.narrow:
            self.add_column("Kind", key="kind")
            self.add_column("Query or file", key="what")
        self.add_columns("Last run", "Status", "Found", "Stored", "New", "Identified")

    def _refill(self) -> None:
        self.show(self.sources)

    def show(self, sources: list[SourceView]) -> None:
        """Replace the rows, keeping the cursor where it was."""
        self.sources = sources
        row = self.cursor_row
        self.clear()
        for s in sources:
            last = s.last
            what = [] if self.narrow else [s.kind, clipped(cut(_what(s)))]
            self.add_row(
                clipped(s.name), *what, when(last.started_at if last else None),
                status_text(last.status if last else None),
                _count(last.total_count if last else None), _count(last.record_count if last else None),
                _count(last.new_record_count if last else None), str(s.records), key=s.name,
            )
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))


def _what(source: SourceView) -> str:
    # The latest run's file when it was an import; the protocol's query otherwise.
    last = source.last
    return last.what if last and last.kind == "import" else source.query or (last.what if last else "")


def source_detail(source: SourceView) -> str:
    """What the narrow table leaves out, for one source: its kind and its query or file, in full."""
    return " · ".join(part for part in (source.name, source.kind, " ".join(_what(source).split())) if part)


class RunTable(_NarrowingTable):
    """Every import and search run, newest first, with its counts and any error.

    Narrow (`set_narrow`), it leaves out the kind, the file or query, who ran it and the error
    (`run_detail` says them for the highlighted run): with them its counts were cut at 80 columns.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(squeeze=["source", "what", "error"], **kwargs)
        self.runs: list[RunView] = []

    def _add_columns(self) -> None:
        self.add_columns("Run", "Started")
        self.add_column("Source", key="source")
        if not self.narrow:
            self.add_column("Kind", key="kind")
            self.add_column("File or query", key="what")
        self.add_columns("Status", "Found", "Stored", "New", "Notes")
        if not self.narrow:
            self.add_column("By", key="by")
            self.add_column("Error", key="error")

    def _refill(self) -> None:
        self.show(self.runs)

    def show(self, runs: list[RunView]) -> None:
        """Replace the rows."""
        self.runs = runs
        self.clear()
        for r in runs:
            what = [] if self.narrow else [r.kind, clipped(cut(r.what, 36))]
            by = [] if self.narrow else [r.started_by or "", clipped(cut(r.error, 60))]
            self.add_row(
                str(r.id), when(r.started_at), clipped(r.source), *what, status_text(r.status),
                _count(r.total_count), str(r.record_count), str(r.new_record_count),
                Text(str(r.notes), style="yellow") if r.notes else "", *by, key=str(r.id),
            )


def run_detail(run: RunView) -> str:
    """What the narrow table leaves out, for one run: its kind, who ran it, any error, its file or query."""
    by = f" by {run.started_by}" if run.started_by else ""
    error = f" · error: {' '.join(run.error.split())}" if run.error else ""
    return f"Run {run.id}: {run.kind}{by}{error} · {' '.join(run.what.split())}"

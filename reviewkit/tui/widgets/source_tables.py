"""Provides the tables of the sources screen: each source with its last run, and every run."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from reviewkit.services.runs import RunView, SourceView
from reviewkit.tui.widgets.fitted_table import FittedTable

#: Queries and file names are cut to this many characters in a cell (the full text is in review.toml).
WIDE = 36
_STATUS_STYLE = {"complete": "green", "running": "yellow", "failed": "bold red"}


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


class SourceTable(FittedTable):
    """One row per source: what it searches or imports, its last run, the records it identified.

    Refilled as runs progress, so a FittedTable: its columns keep fitting the new counts and statuses.
    """

    def on_mount(self) -> None:
        """Set the columns."""
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns("Source", "Kind", "Query or file", "Last run", "Status", "Found", "Stored", "New",
                         "Identified")

    def show(self, sources: list[SourceView]) -> None:
        """Replace the rows, keeping the cursor where it was."""
        row = self.cursor_row
        self.clear()
        for s in sources:
            last = s.last
            # The latest run's file when it was an import; the protocol's query otherwise.
            what = last.what if last and last.kind == "import" else s.query or (last.what if last else "")
            self.add_row(
                s.name, s.kind, cut(what), when(last.started_at if last else None),
                status_text(last.status if last else None),
                _count(last.total_count if last else None), _count(last.record_count if last else None),
                _count(last.new_record_count if last else None), str(s.records), key=s.name,
            )
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))


class RunTable(FittedTable):
    """Every import and search run, newest first, with its counts and any error."""

    def on_mount(self) -> None:
        """Set the columns."""
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns("Run", "Started", "Source", "Kind", "File or query", "Status", "Found", "Stored", "New",
                         "By", "Error")

    def show(self, runs: list[RunView]) -> None:
        """Replace the rows."""
        self.clear()
        for r in runs:
            self.add_row(
                str(r.id), when(r.started_at), r.source, r.kind, cut(r.what, 36), status_text(r.status),
                _count(r.total_count), str(r.record_count), str(r.new_record_count), r.started_by or "",
                cut(r.error, 60), key=str(r.id),
            )

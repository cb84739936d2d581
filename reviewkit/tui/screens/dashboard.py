"""Provides the dashboard: the review's title and the PRISMA stages with their live counts."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from reviewkit.services.project import Review
from reviewkit.services.status import ReviewStatus, review_status

#: How often the counts refresh while the dashboard is shown (other reviewers work meanwhile).
REFRESH_SECONDS = 5.0


class DashboardScreen(Screen[None]):
    """The review at a glance: identification, dedup, screening and inclusion counts."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "refresh", "Refresh")]

    class StatusLoaded(Message):
        """Posted by the worker when fresh counts are in."""

        def __init__(self, status: ReviewStatus) -> None:
            super().__init__()
            self.status = status

    def __init__(self, review: Review, *, reviewer: str | None = None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.status: ReviewStatus | None = None

    def compose(self) -> ComposeResult:
        """Title, who is working, the stage table."""
        yield Header()
        yield Static(self.review.protocol.title, id="review-title")
        who = f"reviewer: {self.reviewer}" if self.reviewer else "reviewer: (not set; use --reviewer)"
        yield Static(f"{who}    database: {self.review.database}", id="reviewer")
        table: DataTable[str] = DataTable(id="stages", cursor_type="row", zebra_stripes=True)
        table.add_columns("Stage", "Count", "Detail")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        """Load the counts now and every few seconds."""
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self.action_refresh)

    def action_refresh(self) -> None:
        """Reload the counts in a worker thread (the UI stays responsive)."""
        self._load_status()

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def _load_status(self) -> None:
        self.post_message(self.StatusLoaded(review_status(self.review)))

    def on_dashboard_screen_status_loaded(self, message: StatusLoaded) -> None:
        """Show the new counts."""
        self.status = message.status
        table = self.query_one("#stages", DataTable)
        table.clear()
        for row in stage_rows(message.status):
            table.add_row(*row)


def stage_rows(s: ReviewStatus) -> list[tuple[str, str, str]]:
    """The dashboard's rows: PRISMA stage, count, detail."""
    sources = ", ".join(f"{k} {v}" for k, v in sorted(s.identified_by_source.items())) or "none yet"
    ta, ft = s.ta, s.ft
    return [
        ("Identified", str(s.identified), sources),
        ("Duplicates removed", str(s.duplicates_removed),
         f"{s.pending_duplicate_pairs} pairs to check" if s.pending_duplicate_pairs else ""),
        ("Records screened", str(s.after_dedup), ""),
        ("Title/abstract included", str(ta.included),
         f"excluded {ta.excluded} · conflicts {ta.conflict} · in progress {ta.in_progress} · "
         f"not started {ta.unscreened}"),
        ("Full text included", str(ft.included),
         f"excluded {ft.excluded} · conflicts {ft.conflict} · in progress {ft.in_progress} · "
         f"not started {ft.unscreened}"),
        ("Studies included", str(s.studies), ""),
    ]

"""Provides the dashboard: the review's title and the PRISMA stages with their live counts."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker

from reviewkit.services.project import Review
from reviewkit.services.status import ReviewStatus, review_status
from reviewkit.tui.screens.conflicts import ConflictsScreen
from reviewkit.tui.screens.dedup import DedupScreen
from reviewkit.tui.screens.rob import RobScreen
from reviewkit.tui.screens.screening import ScreeningScreen
from reviewkit.tui.screens.sources import SourcesScreen
from reviewkit.tui.widgets.fitted_table import FittedTable

#: How often the counts refresh while the dashboard is shown (other reviewers work meanwhile).
REFRESH_SECONDS = 5.0

#: The keys that open each stage's screen, in the pipeline's order.
STAGE_BINDINGS: list[Binding] = [
    Binding("i", "sources", "Sources", show=False),
    Binding("d", "duplicates", "Duplicates", show=False),
    Binding("s", "screening('ta')", "Screen titles/abstracts", show=False),
    Binding("f", "screening('ft')", "Screen full texts", show=False),
    Binding("c", "conflicts", "Conflicts", show=False),
    Binding("a", "agreement", "Agreement", show=False),
    Binding("b", "risk_of_bias", "Risk of bias", show=False),
    Binding("x", "extraction", "Extraction", show=False),
    Binding("p", "prisma", "PRISMA flow", show=False),
]


def stage_keys_text() -> str:
    """The key line: each stage's key and what it opens."""
    return " · ".join(f"[b]{b.key}[/b] {b.description}" for b in STAGE_BINDINGS)


class DashboardScreen(Screen[None]):
    """The review at a glance: identification, dedup, screening and inclusion counts."""

    # The stage keys, in the pipeline's order, are listed by the key line below the stages (it wraps);
    # in the footer they pushed Help and Quit off any terminal narrower than 170 columns.
    BINDINGS: ClassVar[list[BindingType]] = [
        *STAGE_BINDINGS,
        Binding("r", "refresh", "Refresh"),
    ]

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
        names = [r.name for r in self.review.protocol.reviewers]
        if not self.reviewer:
            who = "reviewer: (not set; use --reviewer)"
        elif self.reviewer not in names:
            # Said here, before any screen refuses them one by one.
            who = f"reviewer: {self.reviewer} (not in review.toml, which lists {', '.join(names)})"
        else:
            who = f"reviewer: {self.reviewer}"
        yield Static(f"{who}    database: {self.review.database}", id="reviewer")
        # Refilled every few seconds: a FittedTable keeps its header and columns as wide as the counts.
        table = FittedTable(id="stages", cursor_type="row", zebra_stripes=True)
        table.add_columns("Stage", "Count", "Detail")
        yield table
        yield Static(stage_keys_text(), id="stage-keys")
        yield Footer()

    def on_mount(self) -> None:
        """Load the counts now and every few seconds."""
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self._refresh_if_shown)

    def _refresh_if_shown(self) -> None:
        # Under a stage's screen the counts would be recomputed unseen, slowing that screen down;
        # they are reloaded on coming back instead.
        if self.is_current:
            self.action_refresh()

    def on_screen_resume(self) -> None:
        """Coming back from a stage's screen, show the counts it changed."""
        self.action_refresh()

    def action_screening(self, stage: str) -> None:
        """Open the screening screen at a stage (ta or ft)."""
        self.app.push_screen(ScreeningScreen(self.review, stage, self.reviewer))

    def action_conflicts(self) -> None:
        """Open the adjudicator's conflicts screen (a lead may look; screeners never see it)."""
        roles = next((set(r.roles) for r in self.review.protocol.reviewers if r.name == self.reviewer), set())
        if not roles & {"adjudicator", "lead"}:
            self.notify(f"Conflicts are for adjudicators and leads; {self.reviewer or 'no reviewer'} is neither",
                        severity="warning")
            return
        self.app.push_screen(ConflictsScreen(self.review, self.reviewer))

    def action_duplicates(self) -> None:
        """Open the duplicates screen: the uncertain pairs to check."""
        self.app.push_screen(DedupScreen(self.review, self.reviewer))

    def action_sources(self) -> None:
        """Open the sources screen: searches and imports with their runs."""
        self.app.push_screen(SourcesScreen(self.review, self.reviewer))

    def action_risk_of_bias(self) -> None:
        """Open the risk-of-bias assessments."""
        self.app.push_screen(RobScreen(self.review, self.reviewer))

    def action_agreement(self) -> None:
        """Open the agreement between reviewers (kappa, CI, % agreement)."""
        from reviewkit.tui.screens.agreement import AgreementScreen

        self.app.push_screen(AgreementScreen(self.review, self.reviewer))

    def action_prisma(self) -> None:
        """Open the PRISMA flow counts."""
        from reviewkit.tui.screens.prisma import PrismaScreen

        self.app.push_screen(PrismaScreen(self.review))

    def action_extraction(self) -> None:
        """Open the data-extraction form."""
        from reviewkit.tui.screens.extraction import ExtractionScreen

        self.app.push_screen(ExtractionScreen(self.review, self.reviewer))

    def action_refresh(self) -> None:
        """Reload the counts in a worker thread (the UI stays responsive)."""
        self._load_status()

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def _load_status(self) -> None:
        status = review_status(self.review)
        # A newer refresh supersedes this one (exclusive=True cancels it, but the thread runs on):
        # posting its older counts after the newer ones would show stale numbers.
        if not get_current_worker().is_cancelled:
            self.post_message(self.StatusLoaded(status))

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

"""Provides the dashboard: the review's title and the PRISMA stages with their live counts."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Offset
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.widgets.data_table import RowKey
from textual.worker import Worker, WorkerState, get_current_worker

from reviewkit.errors import ReviewkitError, TransactionFailed
from reviewkit.protocol import load_protocol
from reviewkit.services.project import Review
from reviewkit.services.status import ReviewStatus, review_status
from reviewkit.tui import messages as msg
from reviewkit.tui.screens.conflicts import ConflictsScreen
from reviewkit.tui.screens.dedup import DedupScreen
from reviewkit.tui.screens.rob import RobScreen
from reviewkit.tui.screens.screening import ScreeningScreen
from reviewkit.tui.screens.sources import SourcesScreen
from reviewkit.tui.widgets.fitted_table import FittedTable
from reviewkit.wording import counted

#: How often the counts refresh while the dashboard is shown (other reviewers work meanwhile).
REFRESH_SECONDS = 5.0
#: The stage table's height on the shortest terminal: its header and two rows.
MIN_STAGES_HEIGHT = 3

#: The keys that open each stage's screen, in the pipeline's order.
STAGE_BINDINGS: list[Binding] = [
    Binding("i", "sources", "Sources", show=False),
    Binding("d", "duplicates", "Duplicates", show=False),
    Binding("t", "studies", "Studies", show=False),
    Binding("s", "screening('ta')", "Screen titles/abstracts", show=False),
    Binding("f", "screening('ft')", "Screen full texts", show=False),
    Binding("c", "conflicts", "Conflicts", show=False),
    Binding("a", "agreement", "Agreement", show=False),
    Binding("b", "risk_of_bias", "Risk of bias", show=False),
    Binding("x", "extraction", "Extraction", show=False),
    Binding("n", "analysis", "Analysis", show=False),
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

    #: Shorter than this, the title takes one line and the stage table loses its margins (see app.tcss):
    #: the title, the reviewer line, the key line and the footer then still fit 80×16.
    SHORT_BELOW = 21
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_BELOW, "-tall")]

    class StatusLoaded(Message):
        """Posted by the worker when fresh counts are in, with the review.toml they were counted under
        (`protocol_seen`, `counted`: see _counted_review), for the handler to keep; `protocol_changed`:
        that review.toml changed since the app opened."""

        def __init__(self, status: ReviewStatus, *, protocol_seen: tuple[int, int] | None, counted: Review,
                     protocol_changed: bool = False) -> None:
            super().__init__()
            self.status = status
            self.protocol_seen = protocol_seen
            self.counted = counted
            self.protocol_changed = protocol_changed

    def __init__(self, review: Review, *, reviewer: str | None = None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.status: ReviewStatus | None = None
        #: Why the last refresh failed (None once one succeeds), so a lasting failure is told once.
        self._failed: str | None = None
        #: The refresh in flight (None before the first).
        self._loading: Worker[None] | None = None
        #: review.toml as last read for the counts: its (mtime, size), and the review under the protocol
        #: it holds (see _counted_review). Set on the UI thread only, from the refresh's StatusLoaded.
        self._protocol_seen = _file_signature(review.protocol_path)
        self._counted = review
        #: The change of review.toml was told (once).
        self._told_protocol_changed = False

    def compose(self) -> ComposeResult:
        """Title, who is working, the stage table."""
        yield Header()
        # The review's title, the reviewer's name and the database's path are shown as they are.
        yield Static(self.review.protocol.title, id="review-title", markup=False)
        yield Static(self._who_line(self.review), id="reviewer", markup=False)
        # Refilled every few seconds: a FittedTable keeps its header and columns as wide as the counts.
        yield StageTable(id="stages", cursor_type="row", zebra_stripes=True)
        yield Static(stage_keys_text(), id="stage-keys")
        yield Footer()

    def on_mount(self) -> None:
        """Load the counts now and every few seconds."""
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self._refresh_if_shown)

    def _refresh_if_shown(self) -> None:
        # Under a stage's screen the counts would be recomputed unseen, slowing that screen down;
        # they are reloaded on coming back instead.
        # Nor while the last refresh still counts: on a large review or a slow server a refresh taking
        # longer than the interval was cancelled by the next (its counts dropped) every time, so the
        # counts never showed and the abandoned threads piled up on the database.
        if self.is_current and (self._loading is None or self._loading.is_finished):
            self.action_refresh()

    def on_counts_changed(self, _: msg.CountsChanged) -> None:
        """A decision landed after its screen closed: show it now, not at the next interval."""
        if self.is_current:
            self.action_refresh()

    def on_screen_resume(self) -> None:
        """Coming back from a stage's screen, show the counts it changed (and fit a terminal resized
        meanwhile)."""
        self.action_refresh()
        self.call_after_refresh(self._fit_stages)

    def on_resize(self) -> None:
        """Fit the stage table to the new height, once the other lines are laid out at the new size."""
        self.call_after_refresh(self._fit_stages)

    def _fit_stages(self) -> None:
        """Bound the stage table to the height that the header, title, reviewer line, key line and footer
        leave it; its rows scroll inside it. (A `1fr` height would do it too, but would stretch the table
        down to the key line on a tall terminal.)"""
        table = self.query_one(StageTable)
        others = [self.query_one(Header), self.query_one("#review-title"), self.query_one("#reviewer"),
                  self.query_one("#stage-keys"), self.query_one(Footer)]
        used = sum(w.outer_size.height + w.styles.margin.height for w in others)
        fit = max(MIN_STAGES_HEIGHT, self.size.height - used - table.styles.margin.height)
        if table.styles.max_height is None or table.styles.max_height.value != fit:
            table.styles.max_height = fit

    def _who_line(self, review: Review) -> str:
        """Who is working, as `review`'s protocol names the team, and where the database is."""
        names = [r.name for r in review.protocol.reviewers]
        if not self.reviewer:
            who = "reviewer: (not set; use --reviewer)"
        elif self.reviewer not in names:
            # Said here, before any screen refuses them one by one.
            who = f"reviewer: {self.reviewer} (not in review.toml, which lists {', '.join(names)})"
        else:
            who = f"reviewer: {self.reviewer}"
        return f"{who}    database: {database_label(review)}"

    def action_screening(self, stage: str) -> None:
        """Open the screening screen at a stage (ta or ft)."""
        self.app.push_screen(ScreeningScreen(self._counted, stage, self.reviewer))

    def action_conflicts(self) -> None:
        """Open the adjudicator's conflicts screen (a lead may look; screeners never see it)."""
        roles = next((set(r.roles) for r in self._counted.protocol.reviewers if r.name == self.reviewer), set())
        if not self.reviewer:
            self.notify("Conflicts are for adjudicators and leads, and no reviewer is set: start reviewkit "
                        "with --reviewer NAME (or set reviewer in your user config)", severity="warning",
                        markup=False)
            return
        if not roles & {"adjudicator", "lead"}:
            self.notify(f"Conflicts are for adjudicators and leads; {self.reviewer} is neither",
                        severity="warning", markup=False)
            return
        # Title/abstract first; full text when only it has conflicts waiting (its list would otherwise
        # open on "No conflicts at title/abstract." while the dashboard counts some).
        counts = self.status
        stage = "ft" if counts is not None and not counts.ta.conflict and counts.ft.conflict else "ta"
        self.app.push_screen(ConflictsScreen(self._counted, self.reviewer, stage=stage))

    def action_duplicates(self) -> None:
        """Open the duplicates screen: the uncertain pairs to check."""
        self.app.push_screen(DedupScreen(self._counted, self.reviewer))

    def action_studies(self) -> None:
        """Open the studies screen: the study–report links to confirm or reject."""
        from reviewkit.tui.screens.studies import StudiesScreen

        self.app.push_screen(StudiesScreen(self._counted, self.reviewer))

    def action_sources(self) -> None:
        """Open the sources screen: searches and imports with their runs."""
        self.app.push_screen(SourcesScreen(self._counted, self.reviewer))

    def action_risk_of_bias(self) -> None:
        """Open the risk-of-bias assessments."""
        self.app.push_screen(RobScreen(self._counted, self.reviewer))

    def action_agreement(self) -> None:
        """Open the agreement between reviewers (kappa, CI, % agreement)."""
        from reviewkit.tui.screens.agreement import AgreementScreen

        self.app.push_screen(AgreementScreen(self._counted, self.reviewer))

    def action_prisma(self) -> None:
        """Open the PRISMA flow counts."""
        from reviewkit.tui.screens.prisma import PrismaScreen

        self.app.push_screen(PrismaScreen(self._counted))

    def action_analysis(self) -> None:
        """Open the meta-analyses: anyone may, as anyone may run `reviewkit analyze`."""
        from reviewkit.tui.screens.analysis import AnalysisScreen

        self.app.push_screen(AnalysisScreen(self._counted))

    def action_extraction(self) -> None:
        """Open the data-extraction form."""
        from reviewkit.tui.screens.extraction import ExtractionScreen

        self.app.push_screen(ExtractionScreen(self._counted, self.reviewer))

    def action_refresh(self) -> None:
        """Reload the counts in a worker thread (the UI stays responsive)."""
        # The worker is handed the protocol as last read rather than reading (or setting) the screen's
        # attributes from its thread: only the UI thread changes the screen, in the StatusLoaded handler.
        self._loading = self._load_status(self._protocol_seen, self._counted)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def _load_status(self, protocol_seen: tuple[int, int] | None, counted: Review) -> None:
        seen, review = _counted_review(self.review, protocol_seen, counted)
        status = review_status(review)
        # A newer refresh supersedes this one (exclusive=True cancels it, but the thread runs on):
        # posting its older counts after the newer ones would show stale numbers.
        if not get_current_worker().is_cancelled:
            self.post_message(self.StatusLoaded(status, protocol_seen=seen, counted=review,
                                                protocol_changed=review.protocol != self.review.protocol))

    def on_dashboard_screen_status_loaded(self, message: StatusLoaded) -> None:
        """Show the new counts and keep the review.toml they were counted under (and say once that it
        changed under the app)."""
        self.status = message.status
        self._protocol_seen = message.protocol_seen
        if message.counted.protocol != self._counted.protocol:
            # The screens opened from here on are given this review (see the action_ methods), as a new
            # process would be; the header follows it too.
            self.query_one("#review-title", Static).update(message.counted.protocol.title)
            self.query_one("#reviewer", Static).update(self._who_line(message.counted))
        self._counted = message.counted
        self._failed = None
        self.query_one(StageTable).show(stage_rows(message.status))
        if message.protocol_changed and not self._told_protocol_changed:
            self._told_protocol_changed = True
            self.notify(f"{self.review.protocol_path.name} changed since reviewkit opened: the counts follow "
                        "it, and so does every screen opened from now on", severity="warning", timeout=15,
                        markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A refresh that fails (the database gone or damaged mid-session) says so, once per new reason:
        the counts would otherwise just stop moving and be taken as current."""
        if event.worker.group != "dashboard" or event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        # A refresh stores nothing: a database failure's "nothing was stored", said for a change, misled here.
        reason = (f"{error.cause}, so they could not be read (the next refresh tries again)"
                  if isinstance(error, TransactionFailed) else str(error))
        if reason != self._failed:
            self._failed = reason
            self.notify(f"The counts could not be refreshed: {reason}", severity="error", timeout=10, markup=False)


def _counted_review(review: Review, seen_before: tuple[int, int] | None,
                    counted: Review) -> tuple[tuple[int, int] | None, Review]:
    """review.toml's signature now, and the review under its protocol as the file now holds it (read
    again only when the signature differs from `seen_before`, the one `counted` was read at). The counts
    depend on it (screeners per record): after `protocol replace` by another process they kept the
    protocol the app opened with, and disagreed with `reviewkit status`. A file that does not load (a lead
    mid-edit) keeps the last protocol that did (`counted`), and is not parsed again until it changes.
    Runs in the refresh's thread: it changes nothing, the caller keeps what it returns."""
    seen = _file_signature(review.protocol_path)
    if seen != seen_before:
        with suppress(ReviewkitError, OSError):
            protocol = load_protocol(review.protocol_path, lenient_analyses=True)
            counted = dataclasses.replace(review, protocol=protocol)
    return seen, counted


def _file_signature(path: Path) -> tuple[int, int] | None:
    """When the file last changed and its size (None: it cannot be read), to notice a replaced protocol
    without parsing it at every refresh."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


def database_label(review: Review) -> str:
    """The database as the reviewer line names it: the review's own SQLite file by its name, another
    file by its path, a server by its URL without driver or password. The full URL of a file deep in a
    home folder wrapped the line and pushed the stage table down."""
    url = review.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        inside = path.parent.resolve() == review.folder.resolve()
        return f"{path.name if inside else path} (SQLite)"
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def stage_rows(s: ReviewStatus) -> list[tuple[str, str, str]]:
    """The dashboard's rows: PRISMA stage, count, detail."""
    sources = ", ".join(f"{k} {v}" for k, v in sorted(s.identified_by_source.items())) or "none yet"
    ta, ft = s.ta, s.ft
    removed = [f"{counted(s.pending_duplicate_pairs, 'pair')} to check"] if s.pending_duplicate_pairs else []
    removed += [f"{s.removed_other_methods} via other methods"] if s.removed_other_methods else []
    return [
        ("Identified", str(s.identified), sources),
        ("Duplicates removed", str(s.duplicates_removed), " · ".join(removed)),
        ("Records screened", str(s.after_dedup),
         f"{s.screened_other_methods} via other methods" if s.screened_other_methods else ""),
        ("Title/abstract included", str(ta.included),
         f"excluded {ta.excluded}"
         + (f" ({s.ta_excluded_other_methods} via other methods: not sought)" if s.ta_excluded_other_methods else "")
         + f" · conflicts {ta.conflict} · in progress {ta.in_progress} · "
         f"not started {ta.unscreened}"),
        ("Full text included", str(ft.included),
         f"excluded {ft.excluded} · conflicts {ft.conflict}"
         + (f" ({ft.conflict_from_maybe} from a maybe)" if ft.conflict_from_maybe else "")
         + f" · in progress {ft.in_progress} · "
         f"not started {ft.unscreened}" + (f" · not retrieved {ft.not_retrieved}" if ft.not_retrieved else "")),
        ("Studies included", str(s.studies), ""),
    ]


#: Where a detail may break between its items: after a comma (which stays) or at a " · " (which goes).
_ITEM_BREAK = re.compile(r"((?<=,) | · )")
#: The Detail column never wraps narrower than this (the table then scrolls sideways instead).
MIN_DETAIL_WIDTH = 16


def wrap_detail(detail: str, width: int) -> list[str]:
    """The detail in lines of at most `width` cells, broken between its items ("PubMed 10", "excluded 5")
    rather than inside one; an item longer than a line is broken between its words."""
    parts = _ITEM_BREAK.split(detail)
    lines: list[str] = []
    for item, joiner in zip(parts[::2], ["", *parts[1::2]], strict=True):
        if lines and cell_len(lines[-1] + joiner + item) <= width:
            lines[-1] += joiner + item
        else:
            lines.extend(textwrap.wrap(item, width) or [item])
    return lines or [""]


class StageTable(FittedTable):
    """The stage table, its Detail column wrapped to the width the table leaves it (on an 80-column
    terminal the screening details ran past the edge), and rewrapped when the table's width changes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_columns("Stage", "Count", "Detail")
        self._rows: list[tuple[str, str, str]] = []
        self._wrapped_at = 0
        #: Where the table was scrolled before a refill: restored when the new rows are measured.
        self._scroll_back: Offset | None = None

    def show(self, rows: list[tuple[str, str, str]]) -> None:
        """Replace the rows (stage, count, detail)."""
        self._rows = rows
        self._fill()

    def detail_width(self) -> int:
        """The cells the Detail column's text may take: what Stage and Count leave of the table's width
        (inside its vertical scrollbar, which rows taller than the screen bring)."""
        pad = 2 * self.cell_padding
        fixed = sum(max(cell_len(label), *(cell_len(row[i]) for row in self._rows)) + pad
                    for i, label in enumerate(("Stage", "Count")))
        room = self.scrollable_content_region.width - fixed - pad
        return max(MIN_DETAIL_WIDTH, room)

    def _fill(self) -> None:
        # Before the first layout the width is unknown (0): the rows go in unwrapped, and are
        # wrapped on the resize that follows.
        self._wrapped_at = self.scrollable_content_region.width
        width = self.detail_width() if self._wrapped_at else None
        # clear() puts the cursor back on the first row and scrolls to the top: every refresh took a
        # reviewer who had moved down to a stage back to Identified. The rows are the same stages in
        # the same order, so the same index (and offset) is kept.
        row, self._scroll_back = self.cursor_row, self.scroll_offset
        self.clear()
        for stage, count, detail in self._rows:
            lines = wrap_detail(detail, width) if width else [detail]
            # Text, not markup: a source's name is the user's text.
            self.add_row(stage, count, Text("\n".join(lines), end=""), height=len(lines))
        if self._rows:
            self.move_cursor(row=min(row, len(self._rows) - 1), scroll=False)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        # The offset can only be restored once the new rows are measured: before, the scrollable
        # size is not known and scrolling would stop short of it.
        if self._scroll_back is not None:
            self.scroll_to(self._scroll_back.x, self._scroll_back.y, animate=False, immediate=True)
            self._scroll_back = None

    def on_resize(self, _: events.Resize) -> None:
        """Rewrap the details to the new width (a scrollbar coming or going changes it too)."""
        if self._rows and self.scrollable_content_region.width != self._wrapped_at:
            self._fill()

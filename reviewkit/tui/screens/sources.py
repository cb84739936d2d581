"""Provides the sources screen: each source with its last run; searches and imports run from here with progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from reviewkit.errors import ReviewkitError
from reviewkit.services import runs, search
from reviewkit.services.identify import import_file, notes_heading
from reviewkit.services.project import Review
from reviewkit.services.runs import RunView, SourceView
from reviewkit.sources.formats.detect import format_names
from reviewkit.tui.messages import ScreenMessage
from reviewkit.tui.modals.import_file import ImportFileModal, ImportRequest
from reviewkit.tui.modals.text_view import TextViewModal
from reviewkit.tui.widgets.source_tables import RunTable, SourceTable, run_detail, source_detail
from reviewkit.wording import counted

Progress = Callable[..., None]
#: How many of an import's notes its message lists (a notification is small; the CLI lists ten).
_NOTES_SHOWN = 3


class _Cancelled(Exception):
    """Raised from a progress callback to stop a service when its worker was cancelled."""

    def __init__(self) -> None:
        # The search service stores this text as the failed run's error.
        super().__init__("cancelled by the user")


def import_refusal(exc: ReviewkitError, request: ImportRequest) -> str:
    """The import service's refusal, its fix said in the import window's terms: the service's hint names the
    CLI's --format, which the window offers as its Format choice."""
    if exc.fix is None or exc.fix.action != "format":
        return str(exc)
    if request.format is None:
        return exc.with_hint(f"export the records as {format_names()}, or choose the file's format under Format "
                             "in the import window (m)")
    return exc.with_hint("check the Format chosen in the import window (m), or leave it at \"From the file's "
                         "content\" to detect it")


class SourcesScreen(Screen[None]):
    """The review's sources: p searches PubMed, t ClinicalTrials.gov, m imports a file; escape cancels."""

    # Refresh and escape are left out of the footer (? lists them; the status line says escape cancels a
    # running job), as is the command palette (ctrl+p still opens it): with them the footer was cut at
    # 80 columns before Help and Quit.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "search('pubmed')", "Search PubMed"),
        Binding("t", "search('ctgov')", "Search ClinicalTrials.gov"),
        Binding("m", "import_file", "Import"),
        Binding("n", "notes", "Notes"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("escape", "back", "Back / cancel", show=False),
    ]

    #: Below this width the tables leave out their long columns (kind, query or file, who, error) and a
    #: line under each says them for the highlighted row: with them the counts were cut at 80 columns.
    NARROW_BELOW = 120
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    DEFAULT_CSS = """
    SourcesScreen .sources-detail { display: none; height: 1; margin: 0 2; color: $text-muted;
                                    text-wrap: nowrap; text-overflow: ellipsis; }
    SourcesScreen.-narrow .sources-detail { display: block; }
    """

    class SourcesLoaded(ScreenMessage):
        """The sources and every run, fresh from the store."""

        def __init__(self, sources: list[SourceView], runs: list[RunView]) -> None:
            super().__init__()
            self.sources = sources
            self.runs = runs

    class JobProgressed(ScreenMessage):
        """A search or import has `done` records (of `total`, when the service knows it)."""

        def __init__(self, done: int, total: int | None) -> None:
            super().__init__()
            self.done = done
            self.total = total

    class JobFinished(ScreenMessage):
        """A search or import ended: `text` says what it did, or why it stopped when `failed`."""

        def __init__(self, text: str, *, failed: bool = False, cancelled: bool = False,
                     noted: bool = False) -> None:
            super().__init__()
            self.text = text
            self.failed = failed
            self.cancelled = cancelled
            #: The job finished, but with notes about some records (shown as a warning, for longer).
            self.noted = noted

    def __init__(self, review: Review, reviewer: str | None = None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self._job: Worker[None] | None = None
        self._job_label = ""
        self.sources: list[SourceView] = []
        self.runs: list[RunView] = []

    def compose(self) -> ComposeResult:
        """The sources, the job in progress, every run."""
        yield Header()
        # The status and the job line name the file being imported: shown as they are.
        yield Static("", id="sources-status", markup=False)
        yield SourceTable(id="source-list")
        yield Static("", id="source-detail", classes="sources-detail", markup=False)
        with Horizontal(id="sources-job"):
            yield Label("", id="sources-job-label", markup=False)
            yield ProgressBar(id="sources-progress", show_eta=False)
        yield Static("[b]Runs[/b], newest first", id="runs-title")
        yield RunTable(id="run-list")
        yield Static("", id="run-detail", classes="sources-detail", markup=False)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        """Load the sources and runs."""
        self.sub_title = "Sources"
        self.action_refresh()

    def on_resize(self) -> None:
        """Across the breakpoint the tables change their columns."""
        # Screen's own resize handler, which sets the breakpoint's class, runs after this one.
        self.call_later(self._fit_width)

    def _fit_width(self) -> None:
        narrow = self.has_class("-narrow")
        self.query_one("#source-list", SourceTable).set_narrow(narrow)
        self.query_one("#run-list", RunTable).set_narrow(narrow)
        self._show_details()

    # -- workers: each calls one service and posts a message -----------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="sources-load")
    def _load(self) -> None:
        try:
            loaded = self.SourcesLoaded(runs.source_overview(self.review), runs.source_runs(self.review))
        except ReviewkitError as exc:
            # A database that failed the read (PostgreSQL gone, SQLite damaged): said as such, not as the
            # worker's "_load: …" (r tries again).
            self.app.call_from_thread(self.notify, f"Sources not loaded: {exc} (r loads them again)",
                                      severity="error", timeout=15, markup=False)
            return
        # A newer load (a job finished, r pressed) cancelled this one, whose thread ran on: its runs, read
        # earlier, arriving after the newer load's would be shown as they no longer stand.
        if not get_current_worker().is_cancelled:
            self.post_message(loaded)

    def _progress(self) -> Progress:
        worker = get_current_worker()

        def progress(done: int, total: int | None = None) -> None:
            # The services have no cancel of their own; raising here ends a search as a failed run
            # (resumable) and rolls an import back whole.
            if worker.is_cancelled:
                raise _Cancelled
            self.post_message(self.JobProgressed(done, total))

        return progress

    @work(thread=True, exclusive=True, exit_on_error=False, group="sources-job")
    def _search(self, which: str) -> None:
        service = search.search_pubmed if which == "pubmed" else search.search_ctgov
        name = search.PUBMED if which == "pubmed" else search.CTGOV
        try:
            s = service(self.review, actor=self.reviewer, progress=self._progress(), tell_retry=self._retrying)
        except _Cancelled:
            self.post_message(self.JobFinished(f"{name} search cancelled: the batches stored so far are kept, "
                                               f"and the next search resumes it", failed=True, cancelled=True))
        except ReviewkitError as exc:  # NetworkError, ParseError and a refusal all name what went wrong
            self.post_message(self.JobFinished(f"{name} search failed: {exc}", failed=True))
        else:
            resumed = " (resumed)" if s.resumed else ""
            notes = "".join(f"\n{note}" for note in s.notes)
            self.post_message(self.JobFinished(
                f"{name}{resumed}: {s.count} found, {s.stored} stored, {s.new} new{notes}"))

    def _retrying(self, text: str) -> None:
        # From the search's worker thread: a service's retry, said so a long Retry-After wait is no mystery.
        self.app.call_from_thread(self.notify, text, severity="warning", timeout=10, markup=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sources-job")
    def _import(self, request: ImportRequest) -> None:
        try:
            s = import_file(self.review, request.path, source=request.source, format=request.format,
                            actor=self.reviewer, progress=self._progress())
        except _Cancelled:
            self.post_message(self.JobFinished(f"Import of {request.path.name} cancelled: nothing was stored",
                                               failed=True, cancelled=True))
        except ReviewkitError as exc:
            self.post_message(self.JobFinished(f"Import failed: {import_refusal(exc, request)}", failed=True))
        except OSError as exc:
            # The file could not be read (no permission, a disk error, removed meanwhile): the worker's
            # bare "_import: [Errno 13] ..." said neither that the import failed nor that nothing was kept.
            self.post_message(self.JobFinished(
                f"Import failed: {exc.filename or request.path}: {exc.strerror or exc}; nothing was stored",
                failed=True))
        else:
            notes = "".join(f"\n{note}" for note in s.notes[:_NOTES_SHOWN])
            if len(s.notes) > _NOTES_SHOWN:
                notes += f"\n... and {len(s.notes) - _NOTES_SHOWN} more (n on its run lists them all)"
            self.post_message(self.JobFinished(
                f"Imported {counted(s.records, 'record')} from {s.file} ({s.format}) as {s.source}"
                + (f"; {counted(s.skipped, 'empty record')} skipped" if s.skipped else "")
                + (f"\n{notes_heading(s)}{notes}" if s.notes else ""), noted=bool(s.notes)))

    # -- message handlers ----------------------------------------------------------------------------

    def on_sources_screen_sources_loaded(self, message: SourcesLoaded) -> None:
        """Show the sources and runs."""
        self.sources, self.runs = message.sources, message.runs
        self.query_one("#source-list", SourceTable).show(message.sources)
        self.query_one("#run-list", RunTable).show(message.runs)
        self._update_status()
        self._show_details()

    @on(DataTable.RowHighlighted, "#source-list")
    @on(DataTable.RowHighlighted, "#run-list")
    def _row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_details()

    def on_sources_screen_job_progressed(self, message: JobProgressed) -> None:
        """Move the progress bar and say how far the job is."""
        self.query_one("#sources-progress", ProgressBar).update(total=message.total, progress=message.done)
        # "3 of 1 records" never happens, but "1 records" would: the noun follows the last number said.
        last = message.total if message.total is not None else message.done
        of = f"{message.done} of " if message.total is not None else ""
        self.query_one("#sources-job-label", Label).update(f"{self._job_label}: {of}{counted(last, 'record')}")

    def on_sources_screen_job_finished(self, message: JobFinished) -> None:
        """Say what the job did (or why it stopped) and show the runs as they are now."""
        self._end_job()
        if message.cancelled:
            self.notify(message.text, severity="warning", markup=False)
        elif message.failed:
            self.notify(message.text, severity="error", timeout=15, markup=False)
        elif message.noted:
            self.notify(message.text, severity="warning", timeout=30, markup=False)
        else:
            self.notify(message.text, markup=False)
        self.action_refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected error in a worker is shown as a message, not a traceback."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "sources-job":
            self._end_job()
            self.action_refresh()
        self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", timeout=15, markup=False)

    # -- helpers -------------------------------------------------------------------------------------

    def _start_job(self, label: str) -> bool:
        if self._job is not None:
            self.notify(f"{self._job_label} is running; escape cancels it", severity="warning", markup=False)
            return False
        self._job_label = label
        self.query_one("#sources-job", Horizontal).add_class("running")
        self.query_one("#sources-job-label", Label).update(f"{label}…")
        self.query_one("#sources-progress", ProgressBar).update(total=None, progress=0)
        self._update_status()
        return True

    def _end_job(self) -> None:
        self._job = None
        self.query_one("#sources-job", Horizontal).remove_class("running")
        self._update_status()

    def _show_details(self) -> None:
        """Under each table (narrow only), what its columns leave out for the highlighted row."""
        sources, runs = self.query_one("#source-list", SourceTable), self.query_one("#run-list", RunTable)
        name, run_id = _highlighted(sources), _highlighted(runs)
        source = next((s for s in self.sources if s.name == name), None)
        run = next((r for r in self.runs if str(r.id) == run_id), None)
        self.query_one("#source-detail", Static).update(source_detail(source) if source else "")
        self.query_one("#run-detail", Static).update(run_detail(run) if run else "")

    def _update_status(self) -> None:
        job = f" · {self._job_label} running (escape cancels)" if self._job is not None else ""
        searched = sum(1 for s in self.sources if s.last is not None)
        self.query_one("#sources-status", Static).update(
            f"{counted(len(self.sources), 'source')}, {searched} with runs · {counted(len(self.runs), 'run')}{job}")

    # -- actions -------------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Reload the sources and runs."""
        self._load()

    def action_search(self, which: str) -> None:
        """Run (or resume) the protocol's PubMed or ClinicalTrials.gov search in a worker."""
        spec = self.review.protocol.sources.pubmed if which == "pubmed" else self.review.protocol.sources.ctgov
        name = search.PUBMED if which == "pubmed" else search.CTGOV
        if spec is None:
            self.notify(f"{self.review.protocol_path}: the protocol has no {name} search",
                        severity="error", markup=False)
            return
        if self._start_job(f"Searching {name}"):
            self._job = self._search(which)
            self._update_status()

    def action_import_file(self) -> None:
        """Ask for a file (and a source name), then import it in a worker."""
        if self._job is not None:
            self.notify(f"{self._job_label} is running; escape cancels it", severity="warning", markup=False)
            return

        def asked(request: ImportRequest | None) -> None:
            if request is not None and self._start_job(f"Importing {request.path.name}"):
                self._job = self._import(request)
                self._update_status()

        self.app.push_screen(ImportFileModal(self.review.folder), asked)

    def action_notes(self) -> None:
        """Show every note the highlighted run keeps (records it stored with a problem)."""
        run_id = _highlighted(self.query_one("#run-list", RunTable))
        run = next((r for r in self.runs if str(r.id) == run_id), None)
        if run is None:
            self.notify("No run to show: import a file (m) or search (p, t) first", markup=False)
            return
        if not run.notes:
            self.notify(f"Run {run.id} ({run.what}) keeps no notes: every record read cleanly", markup=False)
            return
        self._notes(run)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sources-notes")
    def _notes(self, run: RunView) -> None:
        try:
            notes = runs.run_notes(self.review, run.id)
        except ReviewkitError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        title = (f"Run {run.id}, {run.kind} of {run.source} ({' '.join(run.what.split())}): "
                 f"{len(notes)} note{'' if len(notes) == 1 else 's'}; the records are stored as read")
        self.app.call_from_thread(self.app.push_screen, TextViewModal(title, notes))

    def action_back(self) -> None:
        """Cancel the running search or import; otherwise (or pressed again) back to the dashboard."""
        if self._job is not None and not self._job.is_cancelled:
            self._job.cancel()
            self.query_one("#sources-job-label", Label).update(f"{self._job_label}: cancelling…")
            return
        self.dismiss(None)


def _highlighted(table: DataTable[Any]) -> str | None:
    """The key of the row under the table's cursor (None when it has no rows)."""
    if not table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

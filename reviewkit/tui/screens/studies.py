"""Provides the studies screen: each study's reports with their link status, confirmed, rejected or added."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from reviewkit.errors import ReviewkitError
from reviewkit.services import studies
from reviewkit.services.project import Review
from reviewkit.services.studies import StudyView
from reviewkit.tui.messages import ScreenMessage
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.tui.write_queue import WriteQueue

WriteKind = Literal["confirm", "reject", "main", "link", "rename", "add"]

#: The keys, listed below the tables: in the footer they pushed Help and Quit off an 80-column terminal.
KEYS_TEXT = ("[b]tab[/b]/[b]enter[/b] reports · [b]y[/b] confirm · [b]n[/b] reject · [b]m[/b] main report · "
             "[b]l[/b] link a record · [b]a[/b] add a study · [b]r[/b] rename study · [b]esc[/b] back")
#: The largest record id, PostgreSQL's integer column (the CLI's ROW_ID): a longer number typed for `l`
#: reached the database, which refused it in its own words ("Python int too large to convert to SQLite INTEGER").
MAX_RECORD_ID = 2**31 - 1


def refusal_text(exc: ReviewkitError) -> str:
    """The service's refusal with its fix in this screen's keys: its hint names a CLI command
    ("reviewkit studies link 1 4") where the user of the app presses `l`."""
    fix = exc.fix
    if fix is None:
        return str(exc)
    ids = fix.ids
    if fix.action == "link" and len(ids) == 2:
        return exc.with_hint(f"to link it: select study {ids[0]}, press l and give record {ids[1]}")
    if fix.action == "list":
        return exc.with_hint("the lists here show the studies and their reports as they now stand")
    if fix.action == "record_ids":
        return exc.with_hint("a record's id is its Record #N on the screening screen's card")
    return str(exc)


def typed_record_id(text: str) -> int | None:
    """The record id typed (ASCII digits, 1 to MAX_RECORD_ID), or None when the text is no record id.

    str.isdigit alone let "²" through to int(), whose ValueError closed the app.
    """
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_RECORD_ID else None


@dataclass(frozen=True)
class _Write:
    """A change to store; changes go one at a time in the order they were made."""

    kind: WriteKind
    study_id: int
    record_id: int = 0
    text: str = ""


class StudiesScreen(Screen[None]):
    """Check the study–report links dedup proposed: confirm or reject them, add links, mark the main report."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "set_status(True)", "Confirm"),
        Binding("n", "set_status(False)", "Reject"),
        Binding("m", "main", "Main report", show=False),
        Binding("l", "link", "Link a record", show=False),
        Binding("a", "add", "Add a study", show=False),
        Binding("r", "rename", "Rename study", show=False),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    StudiesScreen #studies-status { padding: 0 2; height: auto; background: $boost; }
    StudiesScreen #studies-list { margin: 0 1; height: auto; max-height: 40%; }
    StudiesScreen #studies-reports { margin: 1 1 0 1; height: 1fr; }
    StudiesScreen #studies-keys { padding: 0 2; height: auto; color: $text-muted; }
    """

    class Loaded(ScreenMessage):
        """Every study with its links (or, with `error`, the service's refusal)."""

        def __init__(self, views: list[StudyView], error: str | None = None) -> None:
            super().__init__()
            self.views = views
            self.error = error

    class WriteDone(ScreenMessage):
        """A change is stored (`summary` says what it did) or refused (`error`); `added`: the study it made."""

        def __init__(self, write: _Write, summary: str = "", error: str | None = None,
                     added: int | None = None) -> None:
            super().__init__()
            self.write = write
            self.summary = summary
            self.error = error
            self.added = added

    def __init__(self, review: Review, reviewer: str | None = None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.views: list[StudyView] = []
        # every change stored: show the links as they now stand
        self._writes: WriteQueue[_Write] = WriteQueue(self._save, leave=lambda: self.dismiss(None), idle=self._load)
        #: The study whose reports are in the lower table.
        self._shown: int | None = None
        #: A study `a` added: the next refill moves the list's cursor to it (else `l` next, as the prompt's
        #: hint says, linked the record to the study highlighted before, not the new one).
        self._select: int | None = None

    @property
    def write_queue(self) -> WriteQueue[_Write]:
        """The changes not stored yet (the app waits for them before it quits)."""
        return self._writes

    def compose(self) -> ComposeResult:
        """Status line, the studies, the selected study's reports, the keys."""
        yield Header()
        yield Static("Loading…", id="studies-status", markup=False)  # or the service's refusal
        listing = FittedTable(id="studies-list", cursor_type="row", zebra_stripes=True, squeeze=["study"])
        listing.add_column("ID")
        listing.add_column("Study", key="study")
        listing.add_columns("NCT", "Reports", "Proposed")
        yield listing
        reports = FittedTable(id="studies-reports", cursor_type="row", zebra_stripes=True, squeeze=["title"])
        reports.add_columns("Record", "Status", "Main", "Report", "PMID")
        reports.add_column("Title", key="title")
        yield reports
        yield Static(KEYS_TEXT, id="studies-keys")
        yield Footer()

    def on_mount(self) -> None:
        """Load the studies."""
        self.sub_title = "Studies and their reports"
        self.query_one("#studies-list", FittedTable).focus()
        self._load()

    # -- workers: each calls the studies service and posts a message ---------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="studies-load")
    def _load(self) -> None:
        try:
            loaded = self.Loaded(studies.list_studies(self.review))
        except ReviewkitError as exc:
            loaded = self.Loaded([], refusal_text(exc))
        # A newer load (after a change was stored) cancelled this one, whose thread ran on: its links, read
        # before the change, arriving after the newer load's would be shown as they no longer stand.
        if not get_current_worker().is_cancelled:
            self.post_message(loaded)

    @work(thread=True, exclusive=True, exit_on_error=False, group="studies-write")
    def _save(self, write: _Write) -> None:
        added: int | None = None
        try:
            if write.kind == "rename":
                old = studies.rename_study(self.review, self.reviewer, write.study_id, write.text)
                summary = studies.rename_summary(write.study_id, old, write.text)
            elif write.kind == "main":
                summary = studies.set_main_report(self.review, self.reviewer, write.study_id,
                                                  write.record_id).summary()
            elif write.kind == "add":
                added, summary = studies.new_study(self.review, self.reviewer, write.text)
            elif write.kind == "link":
                summary = studies.link_report(self.review, self.reviewer, write.study_id, write.record_id).summary()
            else:
                summary = studies.set_report_link(self.review, self.reviewer, write.study_id, write.record_id,
                                                  write.kind == "confirm").summary()
        except ReviewkitError as exc:
            self.post_message(self.WriteDone(write, error=refusal_text(exc)))
        else:
            self.post_message(self.WriteDone(write, summary, added=added))

    # -- message handlers ----------------------------------------------------------------------------

    def on_studies_screen_loaded(self, message: Loaded) -> None:
        """Refill both tables, keeping the study and the report that were selected."""
        status = self.query_one("#studies-status", Static)
        if message.error is not None:
            status.update(f"error: {message.error}")
            return
        study, record = self.current_study(), self._current_record()
        wanted = self._select if self._select is not None else study.id if study is not None else None
        if any(v.id == self._select for v in message.views):
            self._select = None
        self.views = message.views
        listing = self.query_one("#studies-list", FittedTable)
        listing.clear()
        for v in self.views:
            listing.add_row(str(v.id), clipped(v.label), v.nct_id or "", str(v.report_count), str(v.proposed or ""),
                            key=str(v.id))
        row = next((i for i, v in enumerate(self.views) if v.id == wanted), 0)
        if self.views:
            listing.move_cursor(row=row)
        self._show_reports(record)
        waiting = sum(v.proposed for v in self.views)
        status.update(f"{len(self.views)} stud{'y' if len(self.views) == 1 else 'ies'} · {waiting} link"
                      f"{'' if waiting == 1 else 's'} proposed, waiting for a reviewer · proposals count in "
                      "PRISMA until rejected" if self.views else
                      "No studies yet: dedup proposes them from NCT numbers, a adds one (l links a record once one exists).")

    def on_studies_screen_write_done(self, message: WriteDone) -> None:
        """Say what the change did, or why it was refused; then the next change (or a reload)."""
        if message.error is not None:
            self.notify(f"Not saved: {message.error}", severity="error", timeout=10, markup=False)
        else:
            self.notify(message.summary, markup=False)
            if message.added is not None:
                self._select = message.added
        self._writes.done(failed=message.error is not None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected error in a worker is shown, not swallowed."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "studies-write":
            self._writes.done(failed=True)
        self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", markup=False)

    @on(DataTable.RowHighlighted, "#studies-list")
    def _study_highlighted(self, _: DataTable.RowHighlighted) -> None:
        # A refill moves the cursor too: the reports it just showed (cursor kept) stay as they are.
        study = self.current_study()
        if study is None or study.id != self._shown:
            self._show_reports(None)

    @on(DataTable.RowSelected, "#studies-list")
    def _study_chosen(self, _: DataTable.RowSelected) -> None:
        self.query_one("#studies-reports", FittedTable).focus()

    # -- showing -------------------------------------------------------------------------------------

    def _show_reports(self, keep: int | None) -> None:
        """The selected study's reports; the cursor stays on record `keep` when it is still listed."""
        table = self.query_one("#studies-reports", FittedTable)
        table.clear()
        view = self.current_study()
        self._shown = view.id if view else None
        if view is None:
            return
        for r in view.links:
            dup = f" (removed duplicate of {r.duplicate_of})" if r.duplicate_of is not None else ""
            table.add_row(str(r.record_id), r.status, "main" if r.main else "", r.label, r.pmid or "",
                          clipped(r.title + dup), key=str(r.record_id))
        row = next((i for i, r in enumerate(view.links) if r.record_id == keep), 0)
        if view.links:
            table.move_cursor(row=row)

    def current_study(self) -> StudyView | None:
        """The study under the list's cursor."""
        listing = self.query_one("#studies-list", FittedTable)
        if not self.views or not listing.row_count:
            return None
        key = listing.coordinate_to_cell_key(listing.cursor_coordinate).row_key.value
        return next((v for v in self.views if str(v.id) == key), None)

    def _current_record(self) -> int | None:
        table = self.query_one("#studies-reports", FittedTable)
        if not table.row_count:
            return None
        return int(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    # -- actions -------------------------------------------------------------------------------------

    def _chosen_report(self) -> tuple[int, int] | None:
        """(study, record) of the report under the cursor; from the study list, the reports get the focus
        first, so a key never acts on a report the reviewer did not pick."""
        study = self.current_study()
        reports = self.query_one("#studies-reports", FittedTable)
        if study is None or not study.links:
            self.notify("No report to act on: l links a record to the study", severity="warning", markup=False)
            return None
        if not reports.has_focus:
            reports.focus()
            self.notify("Pick the report (↑/↓), then press the key again", markup=False)
            return None
        record = self._current_record()
        return None if record is None else (study.id, record)

    def action_set_status(self, confirmed: bool) -> None:
        """Confirm (y) or reject (n) the highlighted report's link to the study."""
        chosen = self._chosen_report()
        if chosen is not None:
            self._writes.put(_Write("confirm" if confirmed else "reject", *chosen))

    def action_main(self) -> None:
        """Mark the highlighted report as the study's main report."""
        chosen = self._chosen_report()
        if chosen is not None:
            self._writes.put(_Write("main", *chosen))

    def action_rename(self) -> None:
        """Rename the selected study (a text prompt holding its name)."""
        study = self.current_study()
        if study is None:
            self.notify("No study to rename", severity="warning", markup=False)
            return

        def named(text: str | None) -> None:
            if text is not None:
                self._writes.put(_Write("rename", study.id, text=text))

        self.app.push_screen(TextPromptModal(f"New name for study {study.id} ({study.nct_id or 'no NCT id'})",
                                             value=study.label), named)

    def action_link(self) -> None:
        """Link a record, by its id, to the selected study as a confirmed report."""
        study = self.current_study()
        if study is None:
            self.notify("No study to link a record to", severity="warning", markup=False)
            return

        def given(text: str | None) -> None:
            if text is None or not text.strip():
                return
            record_id = typed_record_id(text)
            if record_id is None:
                self.notify(f"Not linked: {text.strip()!r} is not a record id (a whole number from 1 to "
                            f"{MAX_RECORD_ID})", severity="error", markup=False)
                return
            self._writes.put(_Write("link", study.id, record_id))

        self.app.push_screen(TextPromptModal(f"Record id to link to study {study.id} ({study.label})",
                                             placeholder="e.g. 42"), given)

    def action_add(self) -> None:
        """Add a study by its label or NCT id (a trial of a paper whose registry record was not found); link
        its reports with `l` once it is listed."""
        def given(text: str | None) -> None:
            if text is not None and text.strip():
                self._writes.put(_Write("add", 0, text=text.strip()))

        self.app.push_screen(TextPromptModal("New study: its label, or its NCT id", placeholder="e.g. NCT03334422"),
                             given)

    def action_back(self) -> None:
        """Back to the dashboard once every change is stored."""
        self._writes.leave()

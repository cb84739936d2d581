"""Provides the conflicts screen: the adjudicator sees the record and its split decisions side by side, and settles them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from rich import box
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from reviewkit.domain.screening import STAGES, RecordScreening
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen_cards
from reviewkit.services.conflicts import (
    Conflict,
    list_conflicts,
    reason_disagreements,
    resolve_conflict,
)
from reviewkit.services.project import Review
from reviewkit.services.screen_cards import RecordCard
from reviewkit.tui import messages as msg
from reviewkit.tui.modals.choice import Choice, ChoiceModal, no_option_offered
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.plain import plain
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.tui.widgets.record_card import RecordCardView
from reviewkit.tui.write_queue import WriteQueue


@dataclass(frozen=True)
class _Adjudication:
    """An adjudication to store, of the conflict shown when its key was pressed; stored one at a time,
    in the order made."""

    conflict: Conflict
    stage: str
    decision: str
    reason: str | None
    note: str | None


class Adjudicated(msg.ScreenMessage):
    """An adjudication is stored (`state`), or was refused or failed (`error`)."""

    def __init__(self, write: _Adjudication, state: RecordScreening | None, error: str | None = None) -> None:
        super().__init__()
        self.write = write
        self.state = state
        self.error = error


class ConflictsScreen(Screen[None]):
    """Records whose screeners disagree, at title/abstract or full text, for adjudicators (leads may look)."""

    # Refresh is left out of the footer (? lists it), as is the command palette (ctrl+p still opens
    # it): with them the footer was cut at 80 columns before Help and Quit.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "resolve('include')", "Include"),
        Binding("e", "resolve('exclude')", "Exclude"),
        Binding("n", "note", "Note"),
        Binding("t", "switch_stage", "T/A ↔ full text"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("escape", "back", "Dashboard"),
    ]

    #: Below this width the decisions go above the record instead of beside it (see app.tcss): beside
    #: it on an 80-column terminal they had 30 columns, and showed "inclu…", "exclu…" and cut notes.
    STACK_BELOW = 120
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (STACK_BELOW, "-wide")]

    def __init__(self, review: Review, actor: str | None, stage: str = "ta") -> None:
        super().__init__()
        self.review = review
        self.actor = actor
        self.stage = stage
        self.conflicts: list[Conflict] = []
        self._notes: dict[int, str] = {}
        eligibility = review.protocol.eligibility
        self._include = tuple(eligibility.include_keywords)
        self._exclude = tuple(eligibility.exclude_keywords)
        #: Records read since the list was (re)loaded: going back to a conflict needs no database.
        self._cards: dict[int, RecordCard] = {}
        #: The record on the card and the stage it was shown at (None: no record on it).
        self._card_shown: tuple[int, str] | None = None
        #: The form the decisions table was last drawn in (see decisions_table).
        self._shown_stacked: bool | None = None
        roles = next((set(r.roles) for r in review.protocol.reviewers if r.name == actor), set())
        #: Adjudicators settle conflicts; a lead (or anyone else) only looks, so the settling keys
        #: are not offered (the service refuses them anyway).
        self._may_settle = "adjudicator" in roles
        #: Adjudications go one at a time, in order, and the list moves on at once (as on the screening
        #: and duplicates screens): each key acts on the conflict shown when it was pressed. Once all
        #: are stored the list is read again (others settle conflicts too).
        self._writes: WriteQueue[_Adjudication] = WriteQueue(
            self._resolve, leave=lambda: self.dismiss(None), idle=lambda: self._load(self.stage))
        #: (stage, record) adjudicated here, stored or on their way: a list read meanwhile may still hold them.
        self._settled: set[tuple[str, int]] = set()

    @property
    def write_queue(self) -> WriteQueue[_Adjudication]:
        """The adjudications not stored yet (the app waits for them before it quits)."""
        return self._writes

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Include, exclude and note are the adjudicator's keys."""
        if action in ("resolve", "note"):
            return self._may_settle
        return True

    def compose(self) -> ComposeResult:
        """What is shown: the list of conflicts; the selected one's record beside both sides of it."""
        yield Header()
        yield Static("Loading conflicts…", id="conflicts-status", markup=False)  # or the service's refusal
        # The title gives way (cut with "…") so that the decisions stay on screen beside it.
        table = FittedTable(id="conflict-list", cursor_type="row", zebra_stripes=True, squeeze=["title"])
        table.add_column("Record")
        table.add_column("Title", key="title")
        table.add_column("Decisions")
        yield table
        with Horizontal(id="conflict-body"):
            with VerticalScroll(id="conflict-card-scroll"):
                yield RecordCardView(id="conflict-card")
            yield Static("", id="conflict-detail")
        yield Footer(show_command_palette=False)

    @property
    def card_view(self) -> RecordCardView:
        """The record card of the selected conflict."""
        return self.query_one("#conflict-card", RecordCardView)

    def on_mount(self) -> None:
        """Load the conflicts."""
        self.action_refresh()

    @work(thread=True, exclusive=True, exit_on_error=False, group="conflicts")
    def _load(self, stage: str) -> None:
        try:
            found = list_conflicts(self.review, self.actor, stage)
            if stage == "ft":  # then the exclusions whose reasons differ: the adjudicator picks the one counted
                found += reason_disagreements(self.review, self.actor)
            self.post_message(msg.ConflictsLoaded(stage, found))
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("conflicts", str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="conflicts-card")
    def _fetch_card(self, record_id: int, stage: str) -> None:
        # The screening screen's own read of a record for display.
        try:
            cards = screen_cards.record_cards(self.review, self.actor, [record_id], stage)
        except ReviewkitError as exc:
            self.post_message(msg.CardFailed(record_id, str(exc)))
            return
        self.post_message(msg.CardsLoaded(cards, [record_id]))

    # Not exclusive: a worker cancelled before it ran would lose its adjudication (the queue runs one at a time).
    @work(thread=True, exit_on_error=False, group="conflicts-resolve")
    def _resolve(self, write: _Adjudication) -> None:
        try:
            state = resolve_conflict(self.review, self.actor, write.conflict.record_id, write.stage, write.decision,
                                     reason=write.reason, note=write.note)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the adjudicator must see it was not saved
            self.post_message(Adjudicated(write, None, str(exc)))
            return
        self.post_message(Adjudicated(write, state))

    def on_conflicts_loaded(self, message: msg.ConflictsLoaded) -> None:
        """List the conflicts."""
        if message.stage != self.stage:
            return
        selected, table = self._selected(), self.query_one("#conflict-list", DataTable)
        # Those adjudicated here meanwhile stay off the list (it may have been read before they were stored).
        self.conflicts = [c for c in message.conflicts if (message.stage, c.record_id) not in self._settled]
        self._cards.clear()
        # The cursor stays on the conflict it was on, or else on the same row.
        keep = selected.record_id if selected is not None else None
        self._show_list(next((i for i, c in enumerate(self.conflicts) if c.record_id == keep), table.cursor_row))

    def _show_list(self, row: int) -> None:
        """The status line and the list of conflicts, the cursor on `row` (within the list)."""
        where = STAGES[self.stage]  # type: ignore[index]
        disputes = sum(c.kind == "reason" for c in self.conflicts)
        inclusion = len(self.conflicts) - disputes
        status = f"Conflicts at {where}: {inclusion}." if inclusion else f"No conflicts at {where}."
        if disputes:
            status += f" Excluded for different reasons: {disputes}" + (
                " (e picks the reason counted)." if self._may_settle else ".")
        if not self._may_settle:
            status += " (view only: an adjudicator settles them)"
        self.query_one("#conflicts-status", Static).update(status)
        table = self.query_one("#conflict-list", DataTable)
        table.display = True
        table.clear()
        for c in self.conflicts:
            summary = " · ".join(f"{d.reviewer}: {d.reason if c.kind == 'reason' else d.decision}" for d in c.decisions)
            table.add_row(str(c.record_id), clipped(c.title), summary, key=str(c.record_id))
        if self.conflicts:
            table.move_cursor(row=max(0, min(row, len(self.conflicts) - 1)), animate=False)
        table.focus()
        self._show_detail()

    def on_cards_loaded(self, message: msg.CardsLoaded) -> None:
        """Keep the record; show it if its conflict is still the selected one."""
        for card in message.cards:
            # The decisions are in the table beside the card: the card shows the record only.
            self._cards[card.id] = replace(card, own=None, others=None)
        conflict = self._selected()
        if conflict is not None and conflict.record_id in message.asked and conflict.record_id not in self._cards:
            self._card_shown = None
            self.card_view.show_message(f"Record {conflict.record_id} no longer exists.")
            return
        self._show_card()

    def on_card_failed(self, message: msg.CardFailed) -> None:
        """Say on the card why the record is not shown (if its conflict is still the selected one)."""
        conflict = self._selected()
        if conflict is not None and conflict.record_id == message.record_id:
            self._card_shown = None
            self.card_view.show_message(f"Record {message.record_id} cannot be shown: {message.error}")

    def on_adjudicated(self, message: Adjudicated) -> None:
        """Confirm; a refused or failed adjudication is said and its conflict comes back, selected. Then the
        next write (the list is read again once all are stored)."""
        write = message.write
        rid = write.conflict.record_id
        if message.state is not None:
            self.notify(f"Record {rid}: {message.state.outcome}", markup=False)
            if self._notes.get(rid) == write.note:  # else a note written since waits for another try
                self._notes.pop(rid, None)
        else:
            self.notify(f"Record {rid} was not adjudicated: {message.error}", severity="error", markup=False)
            self._settled.discard((write.stage, rid))
            table = self.query_one("#conflict-list", DataTable)
            if write.stage == self.stage and table.display and all(c.record_id != rid for c in self.conflicts):
                row = min(table.cursor_row, len(self.conflicts))
                self.conflicts.insert(row, write.conflict)
                self._show_list(row)
        self._writes.done(failed=message.state is None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected error in a worker is shown, not swallowed (the write queue goes on)."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "conflicts-resolve":
            self._writes.done(failed=True)
        self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", markup=False)

    def on_service_failed(self, message: msg.ServiceFailed) -> None:
        """A refusal to list (not an adjudicator or lead) replaces the list; others are notified."""
        if message.what == "conflicts":
            self.query_one("#conflicts-status", Static).update(message.error)
            self.query_one("#conflict-list", DataTable).display = False
            self.query_one("#conflict-detail", Static).update("")
            self._show_card()
        else:
            self.notify(message.error, severity="error", markup=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Show the highlighted conflict's record and decisions."""
        self._show_detail()

    def _selected(self) -> Conflict | None:
        table = self.query_one("#conflict-list", DataTable)
        if not self.conflicts or not table.display:
            return None
        return self.conflicts[min(table.cursor_row, len(self.conflicts) - 1)]

    def _show_detail(self) -> None:
        conflict = self._selected()
        detail = self.query_one("#conflict-detail", Static)
        self._shown_stacked = self._stacked
        self._show_card()
        if conflict is None:
            detail.update("")
            return
        detail.update(decisions_table(conflict, self._notes.get(conflict.record_id), stacked=self._stacked))

    @property
    def _stacked(self) -> bool:
        """Whether the decisions are shown above the record (a narrow terminal) rather than beside it."""
        return self.has_class("-narrow")

    def on_resize(self) -> None:
        """Across the breakpoint the decisions table changes its form."""
        # Screen's own resize handler, which sets the breakpoint's class, runs after this one.
        self.call_later(self._restack)

    def _restack(self) -> None:
        if self._shown_stacked is not None and self._shown_stacked != self._stacked:
            self._show_detail()

    def _show_card(self) -> None:
        """The selected conflict's record as the screening screen shows it, read once and then kept."""
        conflict = self._selected()
        view = self.card_view
        if conflict is None:
            self._card_shown = None
            view.show_message("")
            return
        shown = (conflict.record_id, self.stage)
        if self._card_shown == shown:
            return
        card = self._cards.get(conflict.record_id)
        if card is None:
            # A message, not a record, is on the card now: coming back to the record shown before
            # must draw it again.
            self._card_shown = None
            view.show_message(f"Loading record {conflict.record_id}…")
            self._fetch_card(conflict.record_id, self.stage)
            return
        self._card_shown = shown
        view.show(card, self._include, self._exclude, stage=self.stage)
        self.query_one("#conflict-card-scroll", VerticalScroll).scroll_home(animate=False)

    def action_resolve(self, decision: str) -> None:
        """Settle the selected conflict (a full-text exclusion asks for the reason)."""
        conflict = self._selected()
        if conflict is None:
            self.notify("No conflict selected", severity="warning", markup=False)
            return
        rid = conflict.record_id
        if conflict.kind == "reason" and decision != "exclude":
            self.notify(f"Every screener excluded record {rid}: e picks the reason PRISMA counts",
                        severity="warning", markup=False)
            return
        if decision == "exclude" and self.stage == "ft":
            def chosen(choice: Choice | None) -> None:
                if choice is not None:
                    self._settle(conflict, "exclude", choice.option, choice.text)

            self.app.push_screen(ChoiceModal(f"Why exclude record {rid}?",
                                             self.review.protocol.screening.exclusion_reasons,
                                             text=self._notes.get(rid, ""), option_for_text=no_option_offered),
                                 chosen)
            return
        self._settle(conflict, decision, None, self._notes.get(rid))

    def _settle(self, conflict: Conflict, decision: str, reason: str | None, note: str | None) -> None:
        """Queue the adjudication and move on to the next conflict at once (the write follows in a worker)."""
        rid = conflict.record_id
        self._settled.add((self.stage, rid))
        self._writes.put(_Adjudication(conflict, self.stage, decision, reason, note))
        index = next((i for i, c in enumerate(self.conflicts) if c.record_id == rid), None)
        if index is None:  # the list was read again meanwhile without it
            return
        table = self.query_one("#conflict-list", DataTable)
        row = table.cursor_row - (index < table.cursor_row)
        del self.conflicts[index]
        self._show_list(row)

    def action_note(self) -> None:
        """A note that goes with the adjudication of the selected conflict."""
        conflict = self._selected()
        if conflict is None:
            return
        rid = conflict.record_id

        def written(text: str | None) -> None:
            if text is not None:
                self._notes[rid] = text.strip()
                self._show_detail()

        self.app.push_screen(TextPromptModal(f"Adjudication note on record {rid}",
                                             value=self._notes.get(rid, "")), written)

    def action_switch_stage(self) -> None:
        """Between title/abstract and full-text conflicts."""
        self.stage = "ft" if self.stage == "ta" else "ta"
        self.action_refresh()

    def action_refresh(self) -> None:
        """Reload the conflicts."""
        self.sub_title = f"Conflicts: {STAGES[self.stage]}"  # type: ignore[index]
        self._load(self.stage)

    def action_back(self) -> None:
        """Back to the dashboard once every adjudication is stored."""
        self._writes.leave()


def decisions_table(conflict: Conflict, note: str | None, *, stacked: bool = False) -> Table:
    """The reviewers' decisions side by side: one column each.

    `stacked` (the table above the record on a narrow terminal) leaves out the title, which the
    record's card just below shows, and the lines between rows, so that the record keeps some room.
    Every text in it is shown as it is (`plain`): a rich Table reads a str as markup, and a title or a
    note with "[/i]" in it crashed the adjudicator's screen.
    """
    title = None if stacked else plain(conflict.title, style="table.title")
    table = Table(title=title, title_justify="left", caption_justify="left", expand=True,
                  box=box.SIMPLE_HEAD if stacked else box.HEAVY_HEAD, show_edge=not stacked, show_lines=not stacked)
    table.add_column("", width=8, no_wrap=True)
    # A column is never narrower than its reviewer's name or decision ("inclu…" was unreadable);
    # a word longer than the column (a URL in a note) is folded onto the next line, not cut.
    for d in conflict.decisions:
        table.add_column(plain(d.reviewer), min_width=max(len(d.reviewer), len(d.decision)), overflow="fold")
    table.add_row("decision", *(plain(d.decision) for d in conflict.decisions))
    table.add_row("reason", *(plain(d.reason or "") for d in conflict.decisions))
    table.add_row("note", *(plain(d.note or "") for d in conflict.decisions))
    table.add_row("when", *(f"{d.at:%Y-%m-%d %H:%M}" for d in conflict.decisions))
    if note:
        table.caption = plain(f"Your note: {note}", style="table.caption")
    return table

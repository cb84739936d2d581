"""Provides the conflicts screen: the adjudicator sees the record and its split decisions side by side, and settles them."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich import box
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from reviewkit.domain.screening import STAGES
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
from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.tui.widgets.record_card import RecordCardView


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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Include, exclude and note are the adjudicator's keys."""
        if action in ("resolve", "note"):
            return self._may_settle
        return True

    def compose(self) -> ComposeResult:
        """What is shown: the list of conflicts; the selected one's record beside both sides of it."""
        yield Header()
        yield Static("Loading conflicts…", id="conflicts-status")
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

    @work(thread=True, exclusive=True, exit_on_error=False, group="conflicts-resolve")
    def _resolve(self, record_id: int, decision: str, reason: str | None, note: str | None) -> None:
        try:
            state = resolve_conflict(self.review, self.actor, record_id, self.stage, decision,
                                     reason=reason, note=note)
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("resolve", str(exc)))
            return
        self.post_message(msg.ConflictResolved(record_id, state))

    def on_conflicts_loaded(self, message: msg.ConflictsLoaded) -> None:
        """List the conflicts."""
        if message.stage != self.stage:
            return
        self.conflicts = message.conflicts
        self._cards.clear()
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

    def on_conflict_resolved(self, message: msg.ConflictResolved) -> None:
        """Confirm and reload the list (the resolved record leaves it)."""
        self.notify(f"Record {message.record_id}: {message.state.outcome}")
        self._notes.pop(message.record_id, None)
        self.action_refresh()

    def on_service_failed(self, message: msg.ServiceFailed) -> None:
        """A refusal to list (not an adjudicator or lead) replaces the list; others are notified."""
        if message.what == "conflicts":
            self.query_one("#conflicts-status", Static).update(message.error)
            self.query_one("#conflict-list", DataTable).display = False
            self.query_one("#conflict-detail", Static).update("")
            self._show_card()
        else:
            self.notify(message.error, severity="error")

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
            self.notify("No conflict selected", severity="warning")
            return
        rid = conflict.record_id
        if conflict.kind == "reason" and decision != "exclude":
            self.notify(f"Every screener excluded record {rid}: e picks the reason PRISMA counts", severity="warning")
            return
        if decision == "exclude" and self.stage == "ft":
            def chosen(choice: Choice | None) -> None:
                if choice is not None:
                    self._resolve(rid, "exclude", choice.option, choice.text)

            self.app.push_screen(ChoiceModal(f"Why exclude record {rid}?",
                                             self.review.protocol.screening.exclusion_reasons,
                                             text=self._notes.get(rid, "")), chosen)
            return
        self._resolve(rid, decision, None, self._notes.get(rid))

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
        """Back to the dashboard."""
        self.dismiss(None)


def decisions_table(conflict: Conflict, note: str | None, *, stacked: bool = False) -> Table:
    """The reviewers' decisions side by side: one column each.

    `stacked` (the table above the record on a narrow terminal) leaves out the title, which the
    record's card just below shows, and the lines between rows, so that the record keeps some room.
    """
    table = Table(title=None if stacked else conflict.title, title_justify="left", caption_justify="left",
                  expand=True, box=box.SIMPLE_HEAD if stacked else box.HEAVY_HEAD, show_edge=not stacked,
                  show_lines=not stacked)
    table.add_column("", width=8, no_wrap=True)
    # A column is never narrower than its reviewer's name or decision ("inclu…" was unreadable);
    # a word longer than the column (a URL in a note) is folded onto the next line, not cut.
    for d in conflict.decisions:
        table.add_column(d.reviewer, min_width=max(len(d.reviewer), len(d.decision)), overflow="fold")
    table.add_row("decision", *(d.decision for d in conflict.decisions))
    table.add_row("reason", *(d.reason or "" for d in conflict.decisions))
    table.add_row("note", *(d.note or "" for d in conflict.decisions))
    table.add_row("when", *(f"{d.at:%Y-%m-%d %H:%M}" for d in conflict.decisions))
    if note:
        table.caption = f"Your note: {note}"
    return table

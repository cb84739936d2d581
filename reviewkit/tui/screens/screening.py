"""Provides the screening screen: one record at a time, decided with single keys, at title/abstract or full text."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import ClassVar

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

from reviewkit.config import UserConfig, load_user_config
from reviewkit.domain.prioritise import RETRAIN_EVERY
from reviewkit.domain.screening import STAGES
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen as screening
from reviewkit.services.prioritise import prioritised_queue
from reviewkit.services.project import Review
from reviewkit.services.screen import FULL_TEXT_STATUSES, ScreeningProgress
from reviewkit.tui import messages as msg
from reviewkit.tui.decision_log import DecisionLog
from reviewkit.tui.decision_queue import DecisionQueue, Write
from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.record_queue import RecordQueue
from reviewkit.tui.viewer import open_in_viewer, resolve_location
from reviewkit.tui.widgets.criteria_panel import CriteriaPanel
from reviewkit.tui.widgets.record_card import RecordCardView, full_text_wording

#: Other reviewers work meanwhile; their conflicts show up in the progress line this often.
PROGRESS_REFRESH_SECONDS = 30.0
#: The counts are read again this long after the last write landed. Not after every write: at 50,000
#: records a count takes some 100 ms of CPU, which a worker run at each key would take from the keys
#: (target: 50 ms from a key to the next record; a key pressed during a recount measured 85 ms at p95).
#: The screen's own tally keeps its counts exact meanwhile; the recount brings in others' decisions, so
#: it waits for a pause longer than a fast title screener's (one record a second or two).
RECOUNT_AFTER_WRITES_SECONDS = 3.0
NO_REVIEWER = "No reviewer set: start reviewkit with --reviewer NAME (or set reviewer in your user config)."

#: Each binding's id is the action name a user remaps in the user config: [keys] include = "y".
SCREENING_BINDINGS: list[BindingType] = [
    Binding("i", "decide('include')", "Include", id="include"),
    Binding("e", "decide('exclude')", "Exclude", id="exclude"),
    Binding("m", "decide('maybe')", "Maybe", id="maybe"),
    Binding("u", "undo", "Undo", id="undo"),
    Binding("n", "note", "Note", id="note"),
    # Moving, searching, the criteria and leaving are left out of the footer (? lists every key):
    # with them it was cut at 80 columns before Help and Quit.
    Binding("j,down", "next", "Next", id="next", show=False),
    Binding("k,up", "previous", "Previous", id="previous", show=False),
    Binding("slash", "search", "Search", key_display="/", id="search", show=False),
    Binding("t", "toggle_criteria", "Criteria", id="criteria", show=False),
    Binding("o", "open_full_text", "Open", id="open_full_text"),
    Binding("f", "full_text_status", "Full text", id="full_text_status"),
    Binding("pagedown", "scroll_card(1)", "Scroll down", show=False),
    Binding("pageup", "scroll_card(-1)", "Scroll up", show=False),
    Binding("escape", "back", "Dashboard", id="back", show=False),
]


def checked_keymap(keys: dict[str, str], reserved: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The user's [keys] that can apply, in Textual's key names ("?" → question_mark), and why each of the
    others is refused: no such action on this screen (a typo was ignored silently), no key, or a key the
    app answers on every screen (`reserved`: the screen's binding would take q from Quit or ? from Help
    without a word). A refused action keeps its default key."""
    actions = {b.id: b for b in SCREENING_BINDINGS if isinstance(b, Binding) and b.id}
    keymap: dict[str, str] = {}
    refused: list[str] = []
    for action, value in keys.items():
        binding = actions.get(action)
        if binding is None:
            refused.append(f'{action} = "{value}": no such action (the actions: {", ".join(actions)})')
            continue
        # As Textual reads a BINDINGS key: its keymap takes "?" as is, a key no key press ever matches.
        typed = [k.strip() for k in value.split(",") if k.strip()]
        wanted = textual_key_names(typed)
        own = {k.strip() for k in binding.key.split(",")}
        taken = [f"{t} is the app's key for {reserved[k]}" for t, k in zip(typed, wanted, strict=True)
                 if k in reserved and k not in own]
        if not wanted or taken:
            why = "; ".join(taken) if taken else "no key given"
            refused.append(f'{action} = "{value}": {why}; {binding.description} keeps {binding.key_display or binding.key}')
            continue
        keymap[action] = ",".join(wanted)
    return keymap, refused


def textual_key_names(typed: list[str]) -> list[str]:
    """The keys as Textual names them in a binding ("?" → "question_mark", "+" → "plus"), through
    Textual's public `Binding.make_bindings`, which splits and normalises a binding's key list."""
    if not typed:
        return []
    return [b.key for b in Binding.make_bindings([Binding(",".join(typed), "noop")])]


def keymap_clashes(keys: dict[str, str]) -> list[str]:
    """Screen actions that a user's remapping leaves without a key ("Exclude (e)").

    Textual's keymap drops such a binding silently, so the screen says so.
    """
    taken = {k.strip() for action, value in keys.items() for k in value.split(",")
             if any(isinstance(b, Binding) and b.id == action for b in SCREENING_BINDINGS)}
    # A binding without an id (scrolling) cannot be remapped back, so it counts too.
    return [f"{b.description} ({b.key})" for b in SCREENING_BINDINGS
            if isinstance(b, Binding) and b.id not in keys
            and any(k.strip() in taken for k in b.key.split(","))]


def pack_parts(parts: list[str], width: int) -> list[str]:
    """The parts joined by " · " in lines of at most `width` cells, a line breaking only between parts
    (and dropping their " · "); a part longer than a line has one to itself. `width` 0 (not laid out
    yet): one line."""
    lines: list[str] = []
    for part in parts:
        if lines and (not width or cell_len(lines[-1]) + 3 + cell_len(part) <= width):
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines


class StatusLine(Static):
    """The progress line, packed into as few lines as its width needs, at most MAX_LINES (an 80-column
    terminal cut the single line at "conflicts waiting 0 · record", losing the position, the reviewer's
    decision and the stopping aid). Each part is (long, short): the short forms are used when the long
    ones would take more than MAX_LINES lines."""

    MAX_LINES = 3

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own parameter name
        super().__init__("", id=id)
        self._parts: list[tuple[str, str]] = []
        self._drawn_at = -1

    def show(self, parts: list[tuple[str, str]]) -> None:
        """Show these parts."""
        self._parts = parts
        self._draw()

    def on_resize(self) -> None:
        """Repack the parts for the new width."""
        if self.content_region.width != self._drawn_at:
            self._draw()

    def _draw(self) -> None:
        width = self._drawn_at = self.content_region.width
        lines = pack_parts([long for long, _ in self._parts], width)
        if len(lines) > self.MAX_LINES:
            lines = pack_parts([short for _, short in self._parts], width)
        # Content, not markup: a search's text is the user's. A layout pass only when the height is to
        # change (measured, not remembered: a layout asked for while one runs may not take effect).
        self.update(Content("\n".join(lines)), layout=min(len(lines), self.MAX_LINES) != self.size.height)


class ProgressCounted(msg.ScreenMessage):
    """The counts as read by the worker, with how many writes had landed when it was asked
    (`asked_at`): a count read while a write was landing may or may not include it."""

    def __init__(self, progress: ScreeningProgress, asked_at: int) -> None:
        super().__init__()
        self.progress = progress
        self.asked_at = asked_at


class ScreeningScreen(Screen[None]):
    """Screen a queue of records as the app's reviewer: include, exclude, maybe, undo, notes, search."""

    BINDINGS: ClassVar[list[BindingType]] = SCREENING_BINDINGS

    def __init__(
        self, review: Review, stage: str, reviewer: str | None, *, config: UserConfig | None = None,
        opener: Callable[[str], None] = open_in_viewer,
    ) -> None:
        super().__init__()
        self.review = review
        self.stage = stage
        self.reviewer = reviewer
        self._opener = opener
        self._config_error: str | None = None
        self._config_warning: str | None = None
        try:
            config = config if config is not None else load_user_config()
        except ReviewkitError as exc:
            config, self._config_error = UserConfig(), str(exc)
        # Remapped keys apply to this screen only, from [keys] in the user config.
        from reviewkit.tui.app import reserved_keys  # the app imports this screen

        keymap, refused = checked_keymap(config.keys, reserved_keys())
        where = str(config.path) if config.path else "your user config"
        if refused:
            self._config_warning = f"{where}: [keys] ignored, default keys kept: {' · '.join(refused)}"
        lost = keymap_clashes(keymap)
        if lost:
            self._config_error = f"[keys] in {where} takes the key of: {', '.join(lost)}"
        self._bindings.apply_keymap(keymap)
        eligibility = review.protocol.eligibility
        self._include = tuple(eligibility.include_keywords)
        self._exclude = tuple(eligibility.exclude_keywords)
        self.queue = RecordQueue()
        self._counted = False
        self._fetching = False
        self.decisions = DecisionLog()
        self._writes = DecisionQueue(self._write)
        #: Order the queue by predicted relevance (the protocol's screening.prioritise), retrained
        #: from this reviewer's own decisions every RETRAIN_EVERY decisions.
        self.prioritise = review.protocol.screening.prioritise
        self._since_retrain = 0
        #: The stopping aid's parts for the progress line: (long, short) each.
        self._stopping: list[tuple[str, str]] = []
        #: The recount waiting for the writes to stop (see RECOUNT_AFTER_WRITES_SECONDS).
        self._recount: Timer | None = None

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Progress line, the record card with the criteria beside it, the keys."""
        yield Header()
        yield StatusLine(id="screening-status")
        with Horizontal(id="screening-body"):
            # Not focusable: up/down belong to the queue, not to scrolling the card.
            with VerticalScroll(id="card-scroll", can_focus=False):
                yield RecordCardView(id="record-card")
            yield CriteriaPanel(self.review.protocol.eligibility, id="criteria")
        yield Footer(show_command_palette=False)

    @property
    def card_view(self) -> RecordCardView:
        """The record card widget."""
        return self.query_one("#record-card", RecordCardView)

    def on_mount(self) -> None:
        """Load the queue and the counts (or say why not)."""
        self.sub_title = f"Screening {STAGES[self.stage]}"  # type: ignore[index]
        if self._config_error:
            self.notify(self._config_error, severity="error")
        if self._config_warning:
            self.notify(self._config_warning, severity="warning", timeout=15)
        if not self.reviewer:
            self.card_view.show_message(NO_REVIEWER)
            return
        self.card_view.show_message("Loading your queue…")
        self._load_queue()
        self.set_interval(PROGRESS_REFRESH_SECONDS, self._load_progress)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Full-text keys exist at the full-text stage only."""
        if action in ("open_full_text", "full_text_status"):
            return self.stage == "ft"
        return True

    # -- workers: each calls one service and posts a message -----------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-queue")
    def _load_queue(self) -> None:
        try:
            if self.prioritise:
                ranked = prioritised_queue(self.review, self.reviewer, self.stage)
                self.post_message(msg.QueueLoaded(list(ranked.order)))
                self.post_message(msg.PriorityUpdated(ranked))
            else:
                self.post_message(msg.QueueLoaded(screening.screening_queue(self.review, self.reviewer, self.stage)))
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("queue", str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-rank")
    def _retrain(self) -> None:
        # A failure leaves the current order; the next retraining tries again.
        with suppress(ReviewkitError):
            self.post_message(msg.PriorityUpdated(prioritised_queue(self.review, self.reviewer, self.stage)))

    def _load_progress(self) -> None:
        """Count again (in a worker), noting which writes the count can be trusted to include."""
        self._count_progress(self.decisions.landed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-progress")
    def _count_progress(self, asked_at: int) -> None:
        # A refusal is left to the queue worker, which reports the same one.
        with suppress(ReviewkitError):
            self.post_message(ProgressCounted(
                screening.screening_progress(self.review, self.reviewer, self.stage), asked_at))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-cards")
    def _fetch_cards(self, ids: list[int]) -> None:
        try:
            cards = screening.record_cards(self.review, self.reviewer, ids, self.stage)
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("cards", str(exc)))
            cards = []
        self.post_message(msg.CardsLoaded(cards, ids))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-search")
    def _search(self, text: str) -> None:
        self.post_message(msg.SearchFinished(text, screening.matching_records(self.review, text)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-full-text")
    def _set_full_text(self, record_id: int, status: str, text: str | None) -> None:
        location, note = (text, None) if status == "retrieved" else (None, text)
        try:
            screening.set_full_text(self.review, self.reviewer, record_id, status, location=location, note=note)
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("full text", str(exc)))
            return
        self.post_message(msg.FullTextSaved(record_id, status))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-open")
    def _open(self, location: str) -> None:
        try:
            self._opener(resolve_location(location, self.review.folder))
        except (OSError, ReviewkitError) as exc:
            self.post_message(msg.ServiceFailed("open", f"could not open {location}: {exc}"))

    def _write(self, write: Write) -> None:
        """Run by the decision queue's worker thread, one write at a time, in order."""
        try:
            if write.decision is None:
                state = screening.undo_decision(self.review, self.reviewer, write.record_id, self.stage)
            else:
                state = screening.record_decision(self.review, self.reviewer, write.record_id, self.stage,
                                                  write.decision, reason=write.reason, note=write.note)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the user must see it was not saved
            self.post_message(msg.DecisionFailed(write.record_id, write.decision, str(exc), undo=write.undo))
        else:
            self.post_message(msg.DecisionRecorded(write.record_id, write.decision, state, undo=write.undo))

    # -- message handlers ----------------------------------------------------------------------------

    def on_queue_loaded(self, message: msg.QueueLoaded) -> None:
        """Start at the first record of the queue."""
        self.queue.load(message.ids)
        self._show_current()
        if not message.ids:
            self._load_progress()

    def on_progress_counted(self, message: ProgressCounted) -> None:
        """Take the fresh counts, unless a write landed (or is on its way) since they were asked for:
        they may miss it, and the log has counted it already. The recount after that write follows."""
        if message.asked_at != self.decisions.landed or self.decisions.in_flight:
            return
        self.decisions.progress = message.progress
        self._update_status()

    def _recount_soon(self) -> None:
        """Count again once the writes stop: others' decisions, and what this screen's log cannot see
        (a conflict another screener made meanwhile, settled by mine), show within a second."""
        if self._recount is None:
            self._recount = self.set_timer(RECOUNT_AFTER_WRITES_SECONDS, self._recount_now)
        else:
            self._recount.reset()

    def _recount_now(self) -> None:
        self._recount = None
        if not self.decisions.in_flight:  # else the write still on its way asks again when it lands
            self._load_progress()

    def on_cards_loaded(self, message: msg.CardsLoaded) -> None:
        """Keep the cards; show the current one if it was waiting."""
        self._fetching = False
        self.queue.keep(message.cards)
        current = self.queue.current
        if current is not None and self.card_view.record_id != current and current in self.queue.cards:
            self._show_current()
        else:
            self._prefetch()

    def on_decision_recorded(self, message: msg.DecisionRecorded) -> None:
        """Adjust the counts; the record's card is re-read so it shows the stored decision."""
        self.decisions.recorded(message.record_id, message.decision, message.state.outcome, undo=message.undo)
        self._refresh_card(message.record_id)
        self._recount_soon()
        if self.prioritise:
            self._since_retrain += 1
            if self._since_retrain >= RETRAIN_EVERY:
                self._since_retrain = 0
                self._retrain()

    def on_priority_updated(self, message: msg.PriorityUpdated) -> None:
        """Re-rank the records ahead of the cursor; show the stopping aid."""
        ranked = message.queue
        self.queue.reorder_ahead(list(ranked.order))
        stop = ranked.stopping
        parts = [("relevance order", "relevance order") if ranked.fitted else
                 ("import order (ranking starts after an include and an exclude)", "import order (not ranked yet)"),
                 (f"{stop.since_last_relevant} irrelevant since the last relevant",
                  f"{stop.since_last_relevant} irrelevant in a row")]
        if stop.recall_lower_bound is not None:
            parts.append((f"recall ≥ {stop.recall_lower_bound:.0%} (95% confidence)",
                          f"recall ≥ {stop.recall_lower_bound:.0%}"))
        self._stopping = parts
        self._update_status()
        self._prefetch()

    def on_decision_failed(self, message: msg.DecisionFailed) -> None:
        """Say so; the record goes back to undecided (or to what the database holds)."""
        self.decisions.failed(message.record_id, message.decision, undo=message.undo)
        what = "Undo" if message.undo or message.decision is None else f"Decision '{message.decision}'"
        self.notify(f"{what} on record {message.record_id} was not saved: {message.error}", severity="error")
        self._refresh_card(message.record_id)
        self._recount_soon()

    def on_search_finished(self, message: msg.SearchFinished) -> None:
        """Narrow the queue to the records that match."""
        if not self.queue.narrow(message.text, message.ids):
            self.notify(f"No record in your queue mentions '{message.text}'", severity="warning")
            return
        self._show_current()

    def on_full_text_saved(self, message: msg.FullTextSaved) -> None:
        """Confirm and show the new status."""
        self.notify(f"Full text of record {message.record_id}: {full_text_wording(message.status)}")
        self._refresh_card(message.record_id)

    def on_service_failed(self, message: msg.ServiceFailed) -> None:
        """Show the service's message; a refused queue replaces the card."""
        if message.what == "queue":
            self.card_view.show_message(message.error)
        else:
            self.notify(message.error, severity="error")
        if message.what == "cards":
            self._fetching = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected error in a worker is shown, not swallowed."""
        if event.state == WorkerState.ERROR:
            if event.worker.group == "screening-cards":
                self._fetching = False
            self.notify(f"{event.worker.name}: {event.worker.error}", severity="error")

    # -- showing -------------------------------------------------------------------------------------

    def _show_current(self) -> None:
        rid = self.queue.current
        view = self.card_view
        left = view.record_id
        if rid is None:
            if self.queue.loaded:
                view.show_message(self._end_message())
        elif rid in self.queue.cards:
            view.show(self.queue.cards[rid], self._include, self._exclude, stage=self.stage)
            if not self._counted:
                # Counted once the first record is up, so that opening is not kept waiting by the count.
                self._counted = True
                self._load_progress()
            self.query_one("#card-scroll", VerticalScroll).scroll_home(animate=False)
        else:
            view.show_message(f"Loading record {rid}…")
        if left is not None and left != rid and left in self.decisions.notes:
            # Kept, but only stored with a decision: a screener moving on may think it saved.
            self.notify(f"Your note on record {left} is not saved yet: it waits for your decision on that "
                        "record", severity="warning")
        self._update_status()
        self._prefetch()

    def _end_message(self) -> str:
        """What the card says past the end of the queue, with the keys as the user has them."""
        where = STAGES[self.stage]  # type: ignore[index]
        nxt, back, leave = self._key("next"), self._key("previous"), self._key("back")
        if not self.queue.ids:
            # Opened with nothing waiting: there is nothing behind to go back to either.
            return (f"Nothing waits for you at {where}: every record up for it has your decision. Press "
                    f"{leave} for the dashboard (reviewkit decisions export lists your decisions).")
        waiting = len(self.queue.undecided(self.decisions.mine))
        if waiting:
            # Skipped with next, or undone and left: behind the cursor, where "no more records" hid them.
            end = (f"End of the records matching the search in your {where} queue, but {waiting} of them"
                   if self.queue.filter else f"End of your {where} queue, but {waiting} of its records")
            return (f"{end} still {'waits' if waiting == 1 else 'wait'} for your decision (skipped or "
                    f"undone). Press {nxt} to go to the first, {back} to go back, {leave} for the dashboard.")
        if self.queue.filter:
            return (f"No more records matching the search in your {where} queue. Press {self._key('search')} "
                    f"and an empty search for the whole queue, {back} to go back, {leave} for the dashboard.")
        return f"No more records in your {where} queue. Press {back} to go back, {leave} for the dashboard."

    def _key(self, action: str) -> str:
        """The first key of a screen action as the user has it (remapped in [keys] or not), as the
        footer shows keys."""
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                if binding.id == action:
                    return self.app.get_key_display(binding)
        return action

    def _prefetch(self) -> None:
        # One fetch at a time: the next starts when its cards are in, from wherever the reviewer is then.
        if self._fetching:
            return
        wanted = self.queue.wanted()
        if wanted:
            self._fetching = True
            self._fetch_cards(wanted)

    def _refresh_card(self, record_id: int) -> None:
        self.queue.cards.pop(record_id, None)
        if record_id == self.queue.current:
            self._show_current()
        else:
            self._update_status()
            self._prefetch()

    def _update_status(self) -> None:
        parts = [f"{STAGES[self.stage]} · {self.reviewer or 'no reviewer'}"]  # type: ignore[index]
        parts += self.decisions.status(self.queue.current)
        if self.queue.ids:
            parts.append(self.queue.position())
        self.query_one("#screening-status", StatusLine).show([(p, p) for p in parts] + self._stopping)

    # -- actions -------------------------------------------------------------------------------------

    def _shown_id(self) -> int | None:
        """The record on screen, or None (with a word to the user) while it is still loading."""
        rid = self.queue.current
        if rid is None or self.card_view.record_id != rid:
            self.notify("No record on screen yet", severity="warning")
            return None
        return rid

    def action_decide(self, decision: str) -> None:
        """Decide on the record on screen and move to the next one at once (the write follows in a worker)."""
        rid = self._shown_id()
        if rid is None:
            return
        if decision == "exclude" and self.stage == "ft":
            reasons = self.review.protocol.screening.exclusion_reasons

            def chosen(choice: Choice | None) -> None:
                if choice is not None:
                    self.decisions.notes.pop(rid, None)
                    self._commit(rid, "exclude", choice.option, choice.text)

            self.app.push_screen(ChoiceModal(f"Why exclude record {rid}?", reasons,
                                             text=self.decisions.notes.get(rid, "")), chosen)
            return
        self._commit(rid, decision, None, self.decisions.notes.pop(rid, None))

    def _commit(self, rid: int, decision: str, reason: str | None, note: str | None) -> None:
        card = self.queue.cards.get(rid)
        own = card.own if card is not None else None
        if card is not None:
            self.decisions.seen(rid, card.outcome)
        self.decisions.made(rid, decision, reason, note,
                            before=(own.decision, own.reason, own.note) if own is not None else None)
        if rid == self.queue.current:
            if self.queue.advance(self.decisions.mine):
                waiting = len(self.queue.undecided(self.decisions.mine))
                end = "the records matching the search" if self.queue.filter else "the queue"
                self.notify(f"End of {end}: back to the {waiting} record{'s' if waiting > 1 else ''} "
                            "still waiting for your decision (skipped or undone)")
            self._show_current()
        # The next record is painted first and the write starts right after, so that the
        # writer thread does not compete with that frame; the app (not this screen) holds the
        # callback, so leaving the screen at once still stores the decision.
        self.app.call_after_refresh(self._writes.put, self.app, Write(rid, decision, reason, note))

    def action_undo(self) -> None:
        """Take back my last decision made here (back to the one it replaced, or to undecided) and go
        back to that record."""
        undone = self.decisions.undoing()
        if undone is None:
            self.notify("Nothing to undo: no decision made in this session", severity="warning")
            return
        rid, before = undone
        card = self.queue.cards.get(rid)
        if card is not None:
            self.decisions.seen(rid, card.outcome)
        write = Write(rid, None, None, None, undo=True) if before is None else Write(rid, *before, undo=True)
        # Through the same deferral as decisions, so an undo never overtakes the decision it undoes.
        self.app.call_after_refresh(self._writes.put, self.app, write)
        self.queue.go_to(rid)
        self._show_current()

    def action_note(self) -> None:
        """Write a note; it goes with the next decision on this record."""
        rid = self._shown_id()
        if rid is None:
            return
        card = self.queue.cards.get(rid)
        earlier = self.decisions.notes.get(rid) or (card.own.note if card and card.own else None) or ""

        def written(text: str | None) -> None:
            if text is None:
                return
            if text.strip():
                self.decisions.notes[rid] = text.strip()
            else:
                self.decisions.notes.pop(rid, None)
            self._update_status()

        self.app.push_screen(TextPromptModal(f"Note on record {rid} (saved with your next decision on it)",
                                             value=earlier), written)

    def action_next(self) -> None:
        """The next record in the queue; past its end, the first record still waiting for my decision."""
        if self.queue.move(1) or (self.queue.current is None
                                  and self.queue.to_first_undecided(self.decisions.mine) is not None):
            self._show_current()

    def action_previous(self) -> None:
        """The previous record in the queue."""
        if self.queue.move(-1):
            self._show_current()

    def action_search(self) -> None:
        """Narrow the queue to records whose title or abstract contains a text (empty: the whole queue)."""
        def asked(text: str | None) -> None:
            if text is None:
                return
            if text.strip():
                self._search(text.strip())
                return
            self.queue.widen(skip=set(self.decisions.mine))
            self._show_current()

        self.app.push_screen(TextPromptModal("Search titles and abstracts (empty: show the whole queue)",
                                             value=self.queue.filter), asked)

    def action_toggle_criteria(self) -> None:
        """Show or hide the eligibility criteria."""
        panel = self.query_one("#criteria", CriteriaPanel)
        panel.display = not panel.display

    def action_scroll_card(self, pages: int) -> None:
        """Scroll a long abstract."""
        scroll = self.query_one("#card-scroll", VerticalScroll)
        (scroll.scroll_page_down if pages > 0 else scroll.scroll_page_up)(animate=False)

    def action_open_full_text(self) -> None:
        """Open the record's PDF or URL with the system viewer."""
        rid = self._shown_id()
        if rid is None:
            return
        location = self.queue.cards[rid].full_text_location
        if not location:
            self.notify("No full text recorded for this record: press f to say where it is", severity="warning")
            return
        self._open(location)

    def action_full_text_status(self) -> None:
        """Record whether the full text was sought, retrieved (and where) or not retrieved."""
        rid = self._shown_id()
        if rid is None:
            return

        def chosen(choice: Choice | None) -> None:
            if choice is not None:
                self._set_full_text(rid, choice.option, choice.text)

        labels = ["sought", "retrieved (type its path or URL below)", "not retrieved"]
        self.app.push_screen(ChoiceModal(f"Full text of record {rid}", FULL_TEXT_STATUSES, labels=labels,
                                         text_label="Path or URL (retrieved) or a note",
                                         text_required_for=["retrieved"]), chosen)

    def action_back(self) -> None:
        """Back to the dashboard (decisions still being written finish in the background); with notes
        not yet stored, ask first."""
        self.leave(lambda: self.dismiss(None), "Leave")

    @property
    def unsaved_notes(self) -> list[int]:
        """The records with a note written here and no decision yet to store it with."""
        return sorted(self.decisions.notes)

    def leave(self, go: Callable[[], object], verb: str) -> None:
        """Run `go` (back to the dashboard, or quit the app: `verb` says which), after asking when
        notes would be dropped."""
        pending = self.unsaved_notes
        if not pending:
            go()
            return
        # A note is stored with a decision (a decision row carries it): one without a decision has no
        # row to go on, and this screen's memory of it ends with the screen.
        first = pending[0]
        named = ", ".join(str(r) for r in pending[:5]) + (f" and {len(pending) - 5} more" if len(pending) > 5 else "")
        whose = f"note on record {named} is" if len(pending) == 1 else f"notes on records {named} are"

        def chosen(choice: Choice | None) -> None:
            if choice is None:  # escape: as if back had not been pressed
                return
            if choice.option == "leave":
                go()
            elif first in self.queue.all_ids:
                self.queue.go_to(first)
                self._show_current()

        self.app.push_screen(ChoiceModal(
            f"Your {whose} not saved: a note is stored with your next decision on its record.",
            ["stay", "leave"],
            labels=[f"Stay and go to record {first} to decide on it", f"{verb}, dropping the note" +
                    ("s" if len(pending) > 1 else "")], text_label=None), chosen)

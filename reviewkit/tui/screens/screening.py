"""Provides the screening screen: one record at a time, decided with single keys, at title/abstract or full text."""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message_pump import MessagePump
from textual.timer import Timer
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from reviewkit.config import UserConfig, load_user_config
from reviewkit.domain.prioritise import RETRAIN_EVERY
from reviewkit.domain.screening import STAGES
from reviewkit.domain.stopping import StoppingEstimate
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen as screening
from reviewkit.services import screen_cards, screen_queue
from reviewkit.services.prioritise import PrioritisedQueue, prioritised_queue, stopping_aid
from reviewkit.services.project import Review
from reviewkit.services.screen_queue import ScreeningProgress
from reviewkit.tui import messages as msg
from reviewkit.tui.decision_log import DecisionLog
from reviewkit.tui.decision_queue import DecisionQueue, Write
from reviewkit.tui.modals.choice import Choice, ChoiceModal, no_option_offered
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.record_queue import RecordQueue
from reviewkit.tui.screening_keys import SCREENING_BINDINGS, user_keymap
from reviewkit.tui.screening_wording import back_to_waiting, end_message, stopping_parts
from reviewkit.tui.screens.screening_full_text import FullTextKeys
from reviewkit.tui.screens.screening_notes import NoteKeys
from reviewkit.tui.viewer import open_in_viewer
from reviewkit.tui.widgets.criteria_panel import CriteriaPanel
from reviewkit.tui.widgets.record_card import RecordCardView
from reviewkit.tui.widgets.status_line import StatusLine

#: Other reviewers work meanwhile; their conflicts show up in the progress line this often.
PROGRESS_REFRESH_SECONDS = 30.0
#: The counts are read again this long after the last write landed. Not after every write: at 50,000
#: records a count takes some 100 ms of CPU, which a worker run at each key would take from the keys
#: (target: 50 ms from a key to the next record; a key pressed during a recount measured 85 ms at p95).
#: The screen's own tally keeps its counts exact meanwhile; the recount brings in others' decisions, so
#: it waits for a pause longer than a fast title screener's (one record a second or two).
RECOUNT_AFTER_WRITES_SECONDS = 3.0
NO_REVIEWER = "No reviewer set: start reviewkit with --reviewer NAME (or set reviewer in your user config)."



#: The screening screens holding objects frozen out of garbage collection (see freeze_long_lived).
_FREEZE_HOLDERS: set[int] = set()


def freeze_long_lived(holder: object) -> None:
    """Leave what the process holds now (the app, its imports, the queue, the ranker) out of later
    garbage collections, until `holder` lets go (release_frozen). A full collection walks every tracked
    object, ~200,000 here: 150–350 ms in which no key is answered, and with prioritise on (scikit-learn
    loaded, the features built) three fell within 150 key presses at 20,000 records. Frozen, a full
    collection walks only what came after."""
    _FREEZE_HOLDERS.add(id(holder))
    gc.freeze()


def release_frozen(holder: object) -> None:
    """Put the frozen objects back in reach of the collector once no screening screen holds them. Frozen
    for good, whatever became garbage in a reference cycle (a left screen's widgets, a test's app) would
    never be freed: gc.freeze is process-wide."""
    if id(holder) in _FREEZE_HOLDERS:
        _FREEZE_HOLDERS.discard(id(holder))
        if not _FREEZE_HOLDERS:
            gc.unfreeze()


class ProgressCounted(msg.ScreenMessage):
    """The counts as read by the worker, with how many writes had landed when it was asked
    (`asked_at`): a count read while a write was landing may or may not include it. With prioritise
    on, the stopping aid read with them."""

    def __init__(
        self, progress: ScreeningProgress, asked_at: int, stopping: StoppingEstimate | None = None,
    ) -> None:
        super().__init__()
        self.progress = progress
        self.asked_at = asked_at
        self.stopping = stopping


class ScreeningScreen(NoteKeys, FullTextKeys):
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
        try:
            config = config if config is not None else load_user_config()
        except ReviewkitError as exc:
            config, self._config_error = UserConfig(), str(exc)
        # Remapped keys apply to this screen only, from [keys] in the user config.
        from reviewkit.tui.app import reserved_keys  # the app imports this screen

        keymap, self._config_warning, lost = user_keymap(config, reserved_keys())
        if lost:
            self._config_error = lost
        self._bindings.apply_keymap(keymap)
        eligibility = review.protocol.eligibility
        self._include = tuple(eligibility.include_keywords)
        self._exclude = tuple(eligibility.exclude_keywords)
        self.queue = RecordQueue()
        self._counted = False
        self._fetching = False
        self.decisions = DecisionLog()
        self._writes = DecisionQueue(self._write)
        #: The dashboard below, told when a decision lands after this screen was left (set on mount).
        self._dashboard: MessagePump | None = None
        #: Order the queue by predicted relevance (the protocol's screening.prioritise), retrained
        #: from this reviewer's own decisions every RETRAIN_EVERY decisions.
        self.prioritise = review.protocol.screening.prioritise
        self._since_retrain = 0
        #: The latest ranking, the latest reading of the stopping aid (a retraining's, or the one read
        #: with the counts) and how many writes had landed when it was read, and the stopping aid's
        #: parts for the progress line: (long, short) each.
        self._ranked: PrioritisedQueue | None = None
        self._stop: StoppingEstimate | None = None
        self._stop_at = -1
        self._stopping: list[tuple[str, str]] = []
        #: The recount waiting for the writes to stop (see RECOUNT_AFTER_WRITES_SECONDS).
        self._recount: Timer | None = None
        self._full_text_writing = {}

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
        # The dashboard opens this screen, so it is imported here, not at the top.
        from reviewkit.tui.screens.dashboard import DashboardScreen
        self._dashboard = next((s for s in self.app.screen_stack if isinstance(s, DashboardScreen)), None)
        self.sub_title = f"Screening {STAGES[self.stage]}"  # type: ignore[index]
        if self._config_error:
            self.notify(self._config_error, severity="error", markup=False)
        if self._config_warning:
            self.notify(self._config_warning, severity="warning", timeout=15, markup=False)
        if not self.reviewer:
            self.card_view.show_message(NO_REVIEWER)
            return
        self.card_view.show_message("Loading your queue…")
        self._load_queue()
        self.set_interval(PROGRESS_REFRESH_SECONDS, self._load_progress)

    def on_unmount(self) -> None:
        """Left (or the app closed): what was frozen for this screen's keys is collectable again."""
        release_frozen(self)

    # -- workers: each calls one service and posts a message -----------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-queue")
    def _load_queue(self) -> None:
        try:
            self.post_message(msg.QueueLoaded(screen_queue.screening_queue(self.review, self.reviewer, self.stage)))
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("queue", str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-rank")
    def _retrain(self, asked_at: int) -> None:
        # A failure leaves the current order; the next retraining tries again.
        with suppress(ReviewkitError):
            self.post_message(msg.PriorityUpdated(prioritised_queue(self.review, self.reviewer, self.stage),
                                                  asked_at))

    def _load_progress(self) -> None:
        """Count again (in a worker), noting which writes the count can be trusted to include."""
        self._count_progress(self.decisions.landed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-progress")
    def _count_progress(self, asked_at: int) -> None:
        # A refusal is left to the queue worker, which reports the same one.
        with suppress(ReviewkitError):
            progress = screen_queue.screening_progress(self.review, self.reviewer, self.stage)
            # The stopping aid moves with every decision, not only with each retraining: it is read
            # with the counts (after the writes pause), a fraction of a retraining's work.
            stopping = (stopping_aid(self.review, self.reviewer, self.stage, left=progress.left)
                        if self.prioritise else None)
            self.post_message(ProgressCounted(progress, asked_at, stopping))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-cards")
    def _fetch_cards(self, ids: list[int]) -> None:
        try:
            cards = screen_cards.record_cards(self.review, self.reviewer, ids, self.stage)
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("cards", str(exc)))
            cards = []
        self.post_message(msg.CardsLoaded(cards, ids))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-search")
    def _search(self, text: str) -> None:
        self.post_message(msg.SearchFinished(text, screen_cards.matching_records(self.review, text)))

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
            if not self.is_attached:
                self._tell_dashboard()

    def _tell_dashboard(self) -> None:
        """The screen was left before this write landed: the dashboard's counts, reloaded on coming back,
        may miss it. A detached screen has no app to ask, so the dashboard was noted on mount
        (post_message is thread-safe)."""
        if self._dashboard is not None:
            self._dashboard.post_message(msg.CountsChanged())

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
        if message.stopping is not None:
            self._show_stopping(message.stopping, message.asked_at)
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
                self._retrain(self.decisions.landed)

    def on_priority_updated(self, message: msg.PriorityUpdated) -> None:
        """Re-rank the records ahead of the cursor; show the stopping aid."""
        self.queue.reorder_ahead(list(message.queue.order))
        if self._ranked is None:
            freeze_long_lived(self)  # scikit-learn and the ranking's features are in memory now
        self._ranked = message.queue
        self._show_stopping(message.queue.stopping, message.asked_at)
        self._update_status()
        self._prefetch()

    def _show_stopping(self, stop: StoppingEstimate, asked_at: int) -> None:
        """Put the stopping aid on the progress line beside the latest ranking's order, unless a later
        reading is there already: a retraining (slower) can come back after the recount that followed it."""
        if asked_at >= self._stop_at:
            self._stop, self._stop_at = stop, asked_at
        if self._ranked is not None and self._stop is not None:
            self._stopping = stopping_parts(replace(self._ranked, stopping=self._stop))

    def on_decision_failed(self, message: msg.DecisionFailed) -> None:
        """Say so; the record goes back to undecided (or to what the database holds)."""
        self.decisions.failed(message.record_id, message.decision, undo=message.undo)
        what = "Undo" if message.undo or message.decision is None else f"Decision '{message.decision}'"
        self.notify(f"{what} on record {message.record_id} was not saved: {message.error}",
                    severity="error", markup=False)
        self._refresh_card(message.record_id)
        self._recount_soon()

    def on_search_finished(self, message: msg.SearchFinished) -> None:
        """Narrow the queue to the records that match."""
        if not self.queue.narrow(message.text, message.ids):
            self.notify(f"No record in your queue mentions '{message.text}'", severity="warning", markup=False)
            return
        self._show_current()

    def on_service_failed(self, message: msg.ServiceFailed) -> None:
        """Show the service's message; a refused queue replaces the card."""
        if message.what == "queue":
            self.card_view.show_message(message.error)
        else:
            self.notify(message.error, severity="error", markup=False)
        if message.what == "cards":
            self._fetching = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected error in a worker is shown, not swallowed."""
        if event.state == WorkerState.ERROR:
            if event.worker.group == "screening-cards":
                self._fetching = False
            self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", markup=False)

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
                freeze_long_lived(self)
                if self.prioritise:
                    # Ranked then too: the TF-IDF features take seconds to build at tens of thousands of
                    # records (~5 s at 20,000; once per process), and the screen waited for them before
                    # showing any record. The first record is the queue's; the ones after it take the
                    # ranking's order when it comes (reorder_ahead never moves the record on screen).
                    # After the next refresh: started at once, its thread took the GIL from the first frame.
                    self.call_after_refresh(self._retrain, self.decisions.landed)
            self.query_one("#card-scroll", VerticalScroll).scroll_home(animate=False)
        else:
            view.show_message(f"Loading record {rid}…")
        if left is not None and left != rid and self.decisions.notes.get(left):
            # Kept, but only stored with a decision: a screener moving on may think it saved.
            self.notify(f"Your note on record {left} is not saved yet: it waits for your decision on that "
                        "record", severity="warning", markup=False)
        self._update_status()
        self._prefetch()

    def _end_message(self) -> str:
        """What the card says past the end of the queue, with the keys as the user has them."""
        return end_message(STAGES[self.stage], self.queue, self.decisions.mine, self._key)  # type: ignore[index]

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

    def _leave_queue(self, record_id: int) -> None:
        """A report marked not retrieved takes no decision (README): out of the queue, on to the next
        record waiting if it was on screen, one fewer left. `reviewkit full-text RECORD retrieved` brings
        it back with the next queue loaded."""
        on_screen = record_id == self.queue.current
        went_round = on_screen and self.queue.advance(self.decisions.mine)
        self.queue.drop(record_id)
        if went_round:
            self.notify(back_to_waiting(self.queue, self.decisions.mine), markup=False)
        if self.decisions.notes.get(record_id):
            self.notify(f"Your note on record {record_id} was not saved: it takes no decision now",
                        severity="warning", markup=False)
        self.decisions.left_queue(record_id)
        if on_screen:
            self._show_current()
        else:  # the reviewer had moved on: the record shown stays as it is
            self._update_status()
            self._prefetch()
        self._recount_soon()

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
            self.notify("No record on screen yet", severity="warning", markup=False)
            return None
        return rid

    def action_decide(self, decision: str) -> None:
        """Decide on the record on screen and move to the next one at once (the write follows in a worker)."""
        rid = self._shown_id()
        if rid is None or (self.stage == "ft" and self.refused_not_retrieved(rid)):
            return
        if decision == "exclude" and self.stage == "ft":
            reasons = self.review.protocol.screening.exclusion_reasons

            def chosen(choice: Choice | None) -> None:
                if choice is not None:
                    self.decisions.notes.pop(rid, None)
                    self._commit(rid, "exclude", choice.option, choice.text)

            # Her note, kept with the exclusion unless she edits it here. A note typed and entered before a
            # reason is picked asks for the reason (the first one was stored, on no choice of hers).
            self.app.push_screen(ChoiceModal(f"Why exclude record {rid}?", reasons, text=self.own_note(rid),
                                             option_for_text=no_option_offered), chosen)
            return
        self._commit(rid, decision, None, self.take_note(rid))

    def _commit(self, rid: int, decision: str, reason: str | None, note: str | None) -> None:
        card = self.queue.cards.get(rid)
        own = card.own if card is not None else None
        if card is not None:
            self.decisions.seen(rid, card.outcome)
        self.decisions.made(rid, decision, reason, note,
                            before=(own.decision, own.reason, own.note) if own is not None else None)
        if rid == self.queue.current:
            if self.queue.advance(self.decisions.mine):
                self.notify(back_to_waiting(self.queue, self.decisions.mine), markup=False)
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
            self.notify("Nothing to undo: no decision made in this session", severity="warning", markup=False)
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

"""Provides the screening screen's full-text keys: open a record's PDF or URL, record its full-text status."""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.screen import Screen

from reviewkit.errors import ReviewkitError
from reviewkit.services import screen_full_text
from reviewkit.services.project import Review
from reviewkit.services.screen_full_text import FULL_TEXT_STATUSES, full_text_not_retrieved
from reviewkit.tui import messages as msg
from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.record_queue import RecordQueue
from reviewkit.tui.viewer import CORRECT_LOCATION
from reviewkit.tui.widgets.record_card import full_text_wording


class FullTextKeys(Screen[None]):
    """The full-text keys of the screening screen (ScreeningScreen, which sets the attributes below and
    says which record is on screen): o opens the record's full text, f records its status.

    A report marked not retrieved leaves the queue (it takes no full-text decision until it is marked
    retrieved; the service refuses one), and a decision key on one, marked so elsewhere, is refused here.
    """

    review: Review
    reviewer: str | None
    stage: str
    queue: RecordQueue
    _opener: Callable[[str], None]
    #: record → the status being stored for it (f chosen, its write not answered yet).
    _full_text_writing: dict[int, str]

    def _shown_id(self) -> int | None:
        """The record on screen, or None (with a word to the user) while it is still loading."""
        raise NotImplementedError

    def _refresh_card(self, record_id: int) -> None:
        """Read the record's card again."""
        raise NotImplementedError

    def _key(self, action: str) -> str:
        """The key of a screen action as the user has it ([keys] in the user config may remap it)."""
        raise NotImplementedError

    def _leave_queue(self, record_id: int) -> None:
        """Take a record that takes no decision now out of the queue, moving on if it is on screen."""
        raise NotImplementedError

    def refused_not_retrieved(self, record_id: int) -> bool:
        """Refuse, at once and said why, a decision on a record whose full text is marked not retrieved
        (or being marked so): the screen moved on and then said "not saved" when the service refused it."""
        card = self.queue.cards.get(record_id)
        if (self._full_text_writing.get(record_id) != "not_retrieved"
                and (card is None or card.full_text_status != "not_retrieved")):
            return False
        why = full_text_not_retrieved(record_id)
        self.notify(f"{why[0].upper()}{why[1:]}: press {self._key('full_text_status')} to record where it is, or "
                    f"{self._key('next')} for the next record", severity="error", markup=False)
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Full-text keys exist at the full-text stage only."""
        if action in ("open_full_text", "full_text_status"):
            return self.stage == "ft"
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-full-text")
    def _set_full_text(self, record_id: int, status: str, text: str | None) -> None:
        location, note = (text, None) if status == "retrieved" else (None, text)
        try:
            stored = screen_full_text.set_full_text(self.review, self.reviewer, record_id, status,
                                                    location=location, note=note)
        except ReviewkitError as exc:
            self.post_message(msg.FullTextRefused(record_id, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - answered either way, or its record's decisions stay refused
            self.post_message(msg.FullTextRefused(record_id, f"Full text of record {record_id} was not saved: {exc}"))
            return
        self.post_message(msg.FullTextSaved(record_id, status, screen_full_text.missing_file(self.review, stored)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="screening-open")
    def _open(self, location: str, status_key: str) -> None:
        try:
            self._opener(screen_full_text.resolve_location(location, self.review.folder))
        except ReviewkitError as exc:
            # A wrong location is put right with the status key, named as the user has it.
            fix = f" (press {status_key} to record where it is)" if exc.fix == CORRECT_LOCATION else ""
            self.post_message(msg.ServiceFailed("open", f"could not open {location}: {exc}{fix}"))
        except OSError as exc:
            self.post_message(msg.ServiceFailed("open", f"could not open {location}: {exc}"))

    def on_full_text_saved(self, message: msg.FullTextSaved) -> None:
        """Confirm and show the new status; a report not retrieved leaves the queue."""
        self._full_text_writing.pop(message.record_id, None)
        self.notify(f"Full text of record {message.record_id}: {full_text_wording(message.status)}", markup=False)
        if message.missing is not None:
            # Stored all the same (the PDF may be put there later), but said now, not when o finds nothing.
            self.notify(f"No file at {message.missing} yet (a relative path is taken from the review folder)",
                        severity="warning", markup=False)
        if message.status == "not_retrieved":
            self._leave_queue(message.record_id)
        else:
            self._refresh_card(message.record_id)

    def on_full_text_refused(self, message: msg.FullTextRefused) -> None:
        """Say why; the record stays as it was."""
        self._full_text_writing.pop(message.record_id, None)
        self.notify(message.error, severity="error", markup=False)

    def action_open_full_text(self) -> None:
        """Open the record's PDF or URL with the system viewer."""
        rid = self._shown_id()
        if rid is None:
            return
        location = self.queue.cards[rid].full_text_location
        if not location:
            # The key as remapped: "press f" was said to a user whose f did nothing here.
            self.notify(f"No full text recorded for this record: press {self._key('full_text_status')} "
                        "to say where it is",
                        severity="warning", markup=False)
            return
        self._open(location, self._key("full_text_status"))

    def action_full_text_status(self) -> None:
        """Record whether the full text was sought, retrieved (and where) or not retrieved."""
        rid = self._shown_id()
        if rid is None:
            return

        def chosen(choice: Choice | None) -> None:
            if choice is not None:
                self._full_text_writing[rid] = choice.option
                self._set_full_text(rid, choice.option, choice.text)

        def likely(text: str) -> str | None:
            # Typed then entered with no status picked, a path was stored as a note on "sought" (the
            # first status); now the picker asks, offering "retrieved" for what reads as a location.
            return "retrieved" if screen_full_text.looks_like_location(text, self.review.folder) else None

        labels = ["sought", "retrieved (type its path or URL below)", "not retrieved"]
        self.app.push_screen(ChoiceModal(f"Full text of record {rid}", FULL_TEXT_STATUSES, labels=labels,
                                         text_label="Path or URL (retrieved) or a note",
                                         text_required_for=["retrieved"], option_for_text=likely), chosen)

"""Provides the screening screen's notes: n writes one, stored with the next decision on its record,
and leaving with notes not yet stored asks first."""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen

from reviewkit.tui.decision_log import DecisionLog
from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.record_queue import RecordQueue


class NoteKeys(Screen[None]):
    """The notes of the screening screen (ScreeningScreen, which sets the attributes below, says which
    record is on screen and shows it): a note waits in `decisions.notes` for a decision on its record."""

    queue: RecordQueue
    decisions: DecisionLog

    def _shown_id(self) -> int | None:
        """The record on screen, or None (with a word to the user) while it is still loading."""
        raise NotImplementedError

    def _show_current(self) -> None:
        """Show the queue's current record."""
        raise NotImplementedError

    def _update_status(self) -> None:
        """Show the progress line again."""
        raise NotImplementedError

    def action_note(self) -> None:
        """Write a note; it goes with the next decision on this record."""
        rid = self._shown_id()
        if rid is None:
            return
        earlier = self.own_note(rid)

        def written(text: str | None) -> None:
            if text is None:
                return
            if text.strip():
                self.decisions.notes[rid] = text.strip()
            elif self._decided_note(rid):
                self.decisions.notes[rid] = ""  # her note cleared: it goes with her next decision too
            else:
                self.decisions.notes.pop(rid, None)
            self._update_status()

        self.app.push_screen(TextPromptModal(f"Note on record {rid} (saved with your next decision on it)",
                                             value=earlier), written)

    def _decided_note(self, rid: int) -> str | None:
        """The note of her decision on the record: as made here (ahead of the card), else as stored."""
        if rid in self.decisions.held:
            held = self.decisions.held[rid]
            return held[2] if held is not None else None
        card = self.queue.cards.get(rid)
        return card.own.note if card is not None and card.own is not None else None

    def own_note(self, rid: int) -> str:
        """Her note on the record as it stands, as the note prompt shows it: written here and waiting
        for a decision ("": cleared), else the note of her decision."""
        if rid in self.decisions.notes:
            return self.decisions.notes[rid]
        return self._decided_note(rid) or ""

    def take_note(self, rid: int) -> str | None:
        """The note to store with a decision on the record now: a changed decision keeps her note unless
        she edited it."""
        note = self.own_note(rid)
        self.decisions.notes.pop(rid, None)
        return note or None

    def action_back(self) -> None:
        """Back to the dashboard (decisions still being written finish in the background); with notes
        not yet stored, ask first."""
        self.leave(lambda: self.dismiss(None), "Leave")

    @property
    def unsaved_notes(self) -> list[int]:
        """The records with a note written here and no decision yet to store it with."""
        return sorted(rid for rid, note in self.decisions.notes.items() if note)

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

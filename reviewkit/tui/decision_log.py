"""Provides the decision log of the screening screen: decisions shown at once, counted, noted and undone in order."""

from __future__ import annotations

from collections import Counter

from reviewkit.services.screen import ScreeningProgress


class DecisionLog:
    """What the reviewer did on this screen, ahead of (and then confirmed by) the database.

    A decision shows the moment it is made; `unsaved` counts its writes still in flight.
    Progress counts follow confirmed writes, so the line stays right without re-counting
    the whole review after every key.
    """

    def __init__(self) -> None:
        self.progress: ScreeningProgress | None = None
        #: record → my decision as made here (dropped again if the write fails).
        self.mine: dict[int, str] = {}
        self.unsaved: Counter[int] = Counter()
        #: Records decided here, newest last: what u undoes.
        self.undo_stack: list[int] = []
        #: Records with a stored decision of mine made here (counted in progress).
        self.stored: set[int] = set()
        #: Notes waiting for the next decision on their record.
        self.notes: dict[int, str] = {}

    def made(self, record_id: int, decision: str) -> None:
        """A decision was made (its write is queued)."""
        self.mine[record_id] = decision
        self.undo_stack.append(record_id)
        self.unsaved[record_id] += 1

    def undoing(self) -> int | None:
        """Take the last decision back (its undo is queued); the record, or None if there is none."""
        if not self.undo_stack:
            return None
        record_id = self.undo_stack.pop()
        self.mine.pop(record_id, None)
        self.unsaved[record_id] += 1
        return record_id

    def _landed(self, record_id: int) -> None:
        self.unsaved[record_id] -= 1
        self.unsaved += Counter()  # drops records with nothing in flight

    def recorded(self, record_id: int, decision: str | None, outcome: str) -> None:
        """The database has the decision (None: the undo); counts follow."""
        self._landed(record_id)
        p = self.progress
        if decision is None and record_id in self.stored:
            self.stored.discard(record_id)
            if p is not None:
                self.progress = ScreeningProgress(p.mine_done - 1, p.left + 1, p.conflicts)
        elif decision is not None and record_id not in self.stored:
            self.stored.add(record_id)
            if p is not None:
                self.progress = ScreeningProgress(p.mine_done + 1, p.left - 1,
                                                  p.conflicts + (outcome == "conflict"))

    def failed(self, record_id: int, decision: str | None) -> None:
        """The database refused: the record is not marked decided."""
        self._landed(record_id)
        if decision is None:
            return
        if self.mine.get(record_id) == decision:
            del self.mine[record_id]
        if record_id in self.undo_stack:
            del self.undo_stack[len(self.undo_stack) - 1 - self.undo_stack[::-1].index(record_id)]

    def status(self, record_id: int | None) -> list[str]:
        """Progress-line parts: counts, and my decision and note on the record shown."""
        parts = []
        if self.progress is not None:
            p = self.progress
            parts.append(f"done {p.mine_done} · left {p.left} · conflicts waiting {p.conflicts}")
        if record_id in self.mine:
            saving = " (saving…)" if self.unsaved[record_id] else ""
            parts.append(f"you: {self.mine[record_id]}{saving}")
        if record_id in self.notes:
            parts.append("note ready")
        return parts

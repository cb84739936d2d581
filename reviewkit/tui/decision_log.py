"""Provides the decision log of the screening screen: decisions shown at once, counted, noted and undone in order."""

from __future__ import annotations

from collections import Counter

from reviewkit.services.screen_queue import ScreeningProgress

#: A decision as made: (decision, reason, note).
Made = tuple[str, str | None, str | None]


class DecisionLog:
    """What the reviewer did on this screen, ahead of (and then confirmed by) the database.

    A decision shows the moment it is made; `unsaved` counts its writes still in flight.
    Progress counts follow confirmed writes, so the line stays right without re-counting
    the whole review after every key; the screen still re-counts once the writes stop (others'
    decisions change the conflicts too), and `landed` tells it whether a count read meanwhile
    missed a write.
    """

    def __init__(self) -> None:
        self.progress: ScreeningProgress | None = None
        #: record → my decision as made here (dropped again if the write fails).
        self.mine: dict[int, str] = {}
        #: record → my decision with its reason and note as made or undone here (None: withdrawn here):
        #: what an undo restores. Ahead of the card, whose own decision is re-read only once stored.
        self.held: dict[int, Made | None] = {}
        self.unsaved: Counter[int] = Counter()
        #: Decisions made here, newest last, each with the decision it replaced (None: none): what u
        #: undoes. A change of mind undone goes back to the earlier decision, not to undecided.
        self.undo_stack: list[tuple[int, Made | None]] = []
        #: Records with a stored decision of mine made here (counted in progress).
        self.stored: set[int] = set()
        #: Undos sent and not yet answered, per record in order: (restored, what was held before).
        self._undoing: dict[int, list[tuple[Made | None, Made | None]]] = {}
        #: Notes waiting for the next decision on their record.
        self.notes: dict[int, str] = {}
        #: record → its outcome as last seen (a card, or the state a write returned): whether it was
        #: a conflict before a write, so that the write's outcome moves the conflicts count both ways.
        self.outcomes: dict[int, str] = {}
        #: Writes answered so far (stored or refused).
        self.landed = 0

    @property
    def in_flight(self) -> int:
        """Writes (decisions and undos) made here that the database has not answered yet."""
        return sum(self.unsaved.values())

    def seen(self, record_id: int, outcome: str) -> None:
        """A card of the record, read with this outcome. Taken unless a write of mine on it is still
        in flight: the card may predate that write, whose answer will tell."""
        if not self.unsaved[record_id]:
            self.outcomes[record_id] = outcome

    def made(self, record_id: int, decision: str, reason: str | None = None, note: str | None = None,
             *, before: Made | None = None) -> None:
        """A decision was made (its write is queued); `before` is the decision it replaces, if the
        reviewer held one that this log did not see made (from an earlier session)."""
        if record_id in self.held:
            before = self.held[record_id]
        self.mine[record_id] = decision
        self.held[record_id] = (decision, reason, note)
        self.undo_stack.append((record_id, before))
        self.unsaved[record_id] += 1

    def undoing(self) -> tuple[int, Made | None] | None:
        """Take the last decision back (its undo is queued): the record and the decision to restore
        (None: withdraw mine), or None if there is nothing to undo."""
        if not self.undo_stack:
            return None
        record_id, before = self.undo_stack.pop()
        undone = self.held.get(record_id)
        # Kept until the database answers: a refused undo puts everything back as it was.
        self._undoing.setdefault(record_id, []).append((before, undone))
        if before is None and undone is not None and undone[2] and record_id not in self.notes:
            # Undoing the decision does not take back the note typed for it: it waits for the next one.
            self.notes[record_id] = undone[2]
        if before is None:
            self.mine.pop(record_id, None)
        else:
            self.mine[record_id] = before[0]
        self.held[record_id] = before
        self.unsaved[record_id] += 1
        return record_id, before

    def _landed(self, record_id: int) -> None:
        self.landed += 1
        self.unsaved[record_id] -= 1
        self.unsaved += Counter()  # drops records with nothing in flight

    def left_queue(self, record_id: int) -> None:
        """A record left the queue without my decision (its full text marked not retrieved): one fewer
        left. Counted with the writes answered, so that a count read before it landed is not taken."""
        self.landed += 1
        self.notes.pop(record_id, None)  # it takes no decision for the note to go with
        p = self.progress
        if p is not None and record_id not in self.stored:
            self.progress = ScreeningProgress(p.mine_done, max(p.left - 1, 0), p.conflicts)

    def recorded(self, record_id: int, decision: str | None, outcome: str, *, undo: bool = False) -> None:
        """The database has the decision (None: withdrawn by an undo); counts follow."""
        self._landed(record_id)
        if undo and self._undoing.get(record_id):
            self._undoing[record_id].pop(0)
        # An undo or a change of mind can settle a conflict as well as make one: the count follows
        # the record's outcome before and after the write (before: unknown counts as no conflict).
        was, self.outcomes[record_id] = self.outcomes.get(record_id), outcome
        conflicts = (outcome == "conflict") - (was == "conflict")
        done = 0
        if decision is None and record_id in self.stored:
            self.stored.discard(record_id)
            done = -1
        elif decision is not None and record_id not in self.stored:
            self.stored.add(record_id)
            done = 1
        p = self.progress
        if p is not None:
            self.progress = ScreeningProgress(p.mine_done + done, p.left - done, max(p.conflicts + conflicts, 0))

    def failed(self, record_id: int, decision: str | None, *, undo: bool = False) -> None:
        """The database refused: a refused decision is not shown as mine (the card is re-read)."""
        self._landed(record_id)
        if undo:
            if self._undoing.get(record_id):
                # The undo did not happen: the decision it took back is mine again, undoable again.
                restored, held = self._undoing[record_id].pop(0)
                self.undo_stack.append((record_id, restored))
                if held is not None and held[2] and self.notes.get(record_id) == held[2]:
                    del self.notes[record_id]  # back with its decision, not pending as well
                self.held[record_id] = held
                if held is None:
                    self.mine.pop(record_id, None)
                else:
                    self.mine[record_id] = held[0]
            return
        if decision is None:
            return
        before: Made | None = None
        for i in range(len(self.undo_stack) - 1, -1, -1):
            if self.undo_stack[i][0] == record_id:
                before = self.undo_stack.pop(i)[1]
                break
        if self.mine.get(record_id) == decision:  # no later decision on the record since
            refused = self.held.get(record_id)
            if refused is not None and refused[2] and record_id not in self.notes:
                # The note typed for it was not stored either: it waits for the next decision.
                self.notes[record_id] = refused[2]
            # Back to what the reviewer held before (the card, re-read now, shows what is stored).
            self.held[record_id] = before
            if before is None:
                del self.mine[record_id]
            else:
                self.mine[record_id] = before[0]

    def status(self, record_id: int | None) -> list[str]:
        """Progress-line parts: counts, and my decision and note on the record shown."""
        parts = []
        if self.progress is not None:
            p = self.progress
            parts.append(f"done {p.mine_done} · left {p.left} · conflicts waiting {p.conflicts}")
        if record_id in self.mine:
            saving = " (saving…)" if self.unsaved[record_id] else ""
            parts.append(f"you: {self.mine[record_id]}{saving}")
        if record_id in self.notes and self.notes[record_id]:  # (empty: her note cleared, with her next decision)
            parts.append("note ready")
        return parts

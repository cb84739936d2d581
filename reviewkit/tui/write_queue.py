"""Provides the one-at-a-time queue a screen's writes go through (dedup verdicts, study-link changes)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

W = TypeVar("W")


class WriteQueue(Generic[W]):
    """Writes stored one at a time, in the order given: an undo must land after the confirm it
    undoes, and the screen stays responsive while a worker stores each one.

    `save` starts a worker for one write; the screen calls `done()` when that worker has
    reported (stored, refused or failed). `idle` runs when the last write is stored, unless the
    screen is leaving, when `leave` runs instead (a screen leaves only once everything is stored).
    """

    # The callbacks' results are ignored: save and idle start workers, leave dismisses the screen.
    def __init__(self, save: Callable[[W], object], *, leave: Callable[[], object],
                 idle: Callable[[], object] | None = None) -> None:
        self._save, self._leave, self._idle = save, leave, idle
        self._waiting: deque[W] = deque()
        #: The write being stored now.
        self.saving: W | None = None
        self._leaving = False

    def put(self, write: W) -> None:
        """Store `write` after those already given."""
        self._waiting.append(write)
        self._next()

    def done(self) -> None:
        """The write being stored has been reported: go on with the next."""
        self.saving = None
        self._next()

    def leave(self) -> None:
        """Leave once every write is stored (at once when none is waiting)."""
        self._leaving = True
        self._next()

    def unsaved(self) -> Iterator[W]:
        """The writes not stored yet: the one being stored, then those waiting."""
        if self.saving is not None:
            yield self.saving
        yield from self._waiting

    def _next(self) -> None:
        if self.saving is not None:
            return
        if self._waiting:
            self.saving = self._waiting.popleft()
            self._save(self.saving)
        elif self._leaving:
            self._leave()
        elif self._idle is not None:
            self._idle()

"""Provides the one-at-a-time queue a screen's writes go through (dedup verdicts, study-link changes)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

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
        #: Run (with whether every write was stored) once nothing is left to store: see `flush`.
        self._flushed: list[Callable[[bool], object]] = []
        #: Whether a write failed while a flush waited.
        self._failed = False

    @property
    def pending(self) -> int:
        """How many writes are not stored yet (the one being stored included)."""
        return len(self._waiting) + (self.saving is not None)

    def put(self, write: W) -> None:
        """Store `write` after those already given."""
        self._waiting.append(write)
        self._next()

    def done(self, *, failed: bool = False) -> None:
        """The write being stored has been reported (`failed`: refused or failed): go on with the next."""
        self.saving = None
        # Only a failure a flush waits through counts: one reported before it was asked for is not its concern.
        self._failed = self._failed or (failed and bool(self._flushed))
        self._next()

    def leave(self) -> None:
        """Leave once every write is stored (at once when none is waiting)."""
        self._leaving = True
        self._next()

    def flush(self, then: Callable[[bool], object]) -> None:
        """Run `then` once every write given (so far and meanwhile) has been reported, with whether all of
        them were stored (the app quits only then: a write still waiting would be lost with the screen)."""
        self._flushed.append(then)
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
            return
        if self._flushed:
            flushed, self._flushed = self._flushed, []
            stored, self._failed = not self._failed, False
            for then in flushed:
                then(stored)
        if self._leaving:
            self._leave()
        elif self._idle is not None:
            self._idle()


@runtime_checkable
class SavesWrites(Protocol):
    """A screen whose writes go through a WriteQueue: the app waits for them before it quits."""

    @property
    def write_queue(self) -> WriteQueue[Any]:
        """The screen's queue of writes."""

"""Provides the decision queue: screening writes run one at a time, in the order they were made, off the UI thread."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import App


@dataclass(frozen=True)
class Write:
    """A decision to store. An undo (`undo`) restores the decision held before the one undone, or
    withdraws the reviewer's decision (decision None) when there was none."""

    record_id: int
    decision: str | None
    reason: str | None
    note: str | None
    undo: bool = False


class DecisionQueue:
    """Hands writes to one thread worker at a time, which drains them in order.

    Why not one exclusive worker per decision: an exclusive worker cancels the one before it,
    and a cancelled worker that had not started would lose a decision. Why the app runs the
    worker: a screen's workers are cancelled when it closes, and a decision made just before
    leaving must still be stored.
    """

    def __init__(self, write: Callable[[Write], None]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._pending: deque[Write] = deque()
        self._running = False

    def put(self, app: App[object], item: Write) -> None:
        """Queue a write; start the worker unless one is draining the queue already."""
        with self._lock:
            self._pending.append(item)
            if self._running:
                return
            self._running = True
        app.run_worker(self._drain, thread=True, group="screening-writes", exit_on_error=False,
                       name="saving decisions")

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                item = self._pending.popleft()
            self._write(item)

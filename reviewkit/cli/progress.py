"""Provides the CLI's progress display for long work (import, search, dedup)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class ProgressDisplay:
    """`display(done, total=None)` moves the bar; `display.say(text)` prints a line above it."""

    def __init__(self, bar: Progress, task: TaskID, console: Console) -> None:
        self._bar, self._task, self._console = bar, task, console

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self._bar.update(self._task, total=total)
        self._bar.update(self._task, completed=done)

    def say(self, text: str) -> None:
        """A line on stderr, above the bar while it shows (and also when stderr is no terminal: a
        retry's wait is worth knowing in a log too); user text, never read as markup."""
        self._console.print(text, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[ProgressDisplay]:
    """A progress bar on stderr, silent when stderr is no terminal; yields its `ProgressDisplay`."""
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal,
    ) as bar:
        yield ProgressDisplay(bar, bar.add_task(label, total=total), console)

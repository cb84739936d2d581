"""Provides a read-only modal of lines to scroll through (a run's notes), closed with escape or enter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class TextViewModal(ModalScreen[None]):
    """A title and lines of text, shown as given (file names and quoted record text, never markup)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    TextViewModal { align: center middle; }
    TextViewModal > Vertical { width: 100; max-width: 100%; height: auto; max-height: 90%; border: round $accent;
                               padding: 1 2; background: $surface; }
    TextViewModal VerticalScroll { height: auto; max-height: 100%; }
    TextViewModal Label { width: 100%; margin-bottom: 1; }
    TextViewModal #text-view-hint { color: $text-muted; margin: 1 0 0 0; }
    """

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self._title = title
        self._lines = list(lines)

    def compose(self) -> ComposeResult:
        """The title, the lines (scrolling), how to close."""
        with Vertical(id="text-view-box"):
            yield Label(self._title, markup=False)
            with VerticalScroll(id="text-view-lines"):
                yield Static("\n".join(self._lines), id="text-view-body", markup=False)
            yield Label("escape closes · arrows and page keys scroll", id="text-view-hint", markup=False)

    def on_mount(self) -> None:
        """Focus the lines, so the arrow and page keys scroll them."""
        self.query_one("#text-view-lines", VerticalScroll).focus()

    def action_close(self) -> None:
        """Back to the screen that opened it."""
        self.dismiss(None)

"""Provides a one-line text prompt (a note, a search) as a modal that returns the text or None."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class TextPromptModal(ModalScreen[str | None]):
    """Asks for one line of text: enter returns it (possibly empty), escape returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    TextPromptModal { align: center middle; }
    TextPromptModal > Vertical { width: 70; height: auto; border: round $accent; padding: 1 2; background: $surface; }
    TextPromptModal Label { margin-bottom: 1; }
    """

    def __init__(self, title: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        """A title and an input."""
        with Vertical():
            yield Label(self._title)
            yield Input(value=self._value, placeholder=self._placeholder, id="prompt-input")

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)

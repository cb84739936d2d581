"""Provides a one-line text prompt (a note, a search, a CI's level) as a modal that returns the text or None."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class TextPromptModal(ModalScreen[str | None]):
    """Asks for one line of text: enter returns it (possibly empty), escape returns None.

    With `check` (text → why it will not do, or None), the problem shows under the input as typed and
    enter returns nothing until it is fixed: the caller then gets only text it can use.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    TextPromptModal { align: center middle; }
    TextPromptModal > Vertical { width: 70; height: auto; border: round $accent; padding: 1 2; background: $surface; }
    TextPromptModal Label { margin-bottom: 1; }
    TextPromptModal #prompt-problem { color: $error; height: auto; }
    """

    def __init__(self, title: str, *, value: str = "", placeholder: str = "",
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._placeholder = placeholder
        self._check = check

    def compose(self) -> ComposeResult:
        """A title, an input and (with a check) the line saying what is wrong with it (shown as given,
        never read as markup: both may quote what the user typed)."""
        with Vertical():
            yield Label(self._title, markup=False)
            yield Input(value=self._value, placeholder=self._placeholder, id="prompt-input")
            if self._check is not None:
                yield Static("", id="prompt-problem", markup=False)

    def _problem(self, text: str) -> str | None:
        if self._check is None:
            return None
        problem = self._check(text)
        self.query_one("#prompt-problem", Static).update(problem or "")
        return problem

    @on(Input.Changed, "#prompt-input")
    def _changed(self, event: Input.Changed) -> None:
        self._problem(event.value)

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._problem(event.value) is None:
            self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)

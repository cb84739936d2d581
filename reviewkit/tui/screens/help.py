"""Provides the help screen: the keys of the screen below and of the app."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from reviewkit.tui.plain import marked


class HelpScreen(ModalScreen[None]):
    """Lists every key that works on the screen it was opened from."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, bindings: dict[str, Any]) -> None:
        super().__init__()
        self._lines = help_lines(bindings)

    def compose(self) -> ComposeResult:
        """A box of key → action lines."""
        with VerticalScroll(id="help-box"):
            yield Static(Content.from_markup("[b]Keys[/b]\n\n") + Content("\n").join(self._lines), id="help-text")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        """Close the help."""
        self.dismiss(None)


def help_lines(bindings: dict[str, Any]) -> list[Content]:
    """One line per distinct key: its display and description (a key remapped in the user config as
    typed, never read as markup)."""
    lines = []
    for key, active in bindings.items():
        binding = active.binding
        if not binding.description:
            continue
        shown = binding.key_display or key
        lines.append(marked("  [b]$key[/b] $description", key=f"{shown:<10}", description=binding.description))
    return lines

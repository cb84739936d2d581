"""Provides the extraction grid's cell editor: which cell is edited, the value typed, what is wrong with it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static


class CellEditor(Horizontal):
    """One line under the outcome grid; the screen validates and stores what is typed (Input events)."""

    DEFAULT_CSS = """
    CellEditor { height: 3; }
    CellEditor #cell-label { width: 44; padding: 1 1; }
    CellEditor #cell-input { width: 24; }
    CellEditor #cell-problem { width: 1fr; color: $error; padding: 1 1; }
    """

    def compose(self) -> ComposeResult:
        """The cell's name, the input, the problem line."""
        # Both name an arm and an outcome, and the problem quotes the value typed: shown as they are.
        yield Label("", id="cell-label", markup=False)
        yield Input(id="cell-input", placeholder="select a cell and press enter")
        yield Static("", id="cell-problem", markup=False)

    @property
    def input(self) -> Input:
        """The value being typed."""
        return self.query_one("#cell-input", Input)

    def open(self, cell: str, value: str) -> None:
        """Start editing a cell (named as shown) from its stored value."""
        self.query_one("#cell-label", Label).update(cell)
        self.input.value = value
        self.problem("")
        self.input.focus()

    def close(self) -> None:
        """Drop the edit: nothing named, nothing typed, nothing wrong."""
        self.query_one("#cell-label", Label).update("")
        self.input.value = ""
        self.problem("")

    def problem(self, text: str) -> None:
        """Say what is wrong with the value (empty: nothing)."""
        self.query_one("#cell-problem", Static).update(text)

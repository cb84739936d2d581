"""Provides the PRISMA screen: the flow's counts as they stand, box by box, and what does not add up yet."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_summary


class PrismaScreen(Screen[None]):
    """The PRISMA 2020 flow from live counts (`reviewkit prisma` draws the diagram)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh", "Refresh"),
    ]

    class Loaded(Message):
        """Posted by the worker with the flow's text."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review

    def compose(self) -> ComposeResult:
        """The flow's text, scrollable."""
        yield Header()
        with VerticalScroll():
            # Plain text naming the review's sources and exclusion reasons: shown as it is.
            yield Static("Counting…", id="prisma-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Count now."""
        self.sub_title = "PRISMA 2020 flow"
        self.action_refresh()

    def action_refresh(self) -> None:
        """Recount in a worker thread."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="prisma")
    def _load(self) -> None:
        try:
            text = prisma_summary(self.review)
        except ReviewkitError as exc:
            text = f"error: {exc}"
        self.post_message(self.Loaded(text))

    def on_prisma_screen_loaded(self, message: Loaded) -> None:
        """Show the counts."""
        self.query_one("#prisma-text", Static).update(message.text)

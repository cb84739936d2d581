"""Provides ReviewkitApp, the Textual shell that opens a review on its dashboard, and its factory."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from reviewkit.services.project import Review
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.help import HelpScreen
from reviewkit.tui.screens.screening import ScreeningScreen
from reviewkit.tui.write_queue import SavesWrites

#: The app's own keys, answered on every screen (after the screen's own, which would shadow them).
APP_BINDINGS: list[BindingType] = [
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit", "Quit"),
]


def reserved_keys() -> dict[str, str]:
    """The keys a user's remapping ([keys] in the user config) must not give a screen's action, with
    what they do: the app's (Help, Quit), Textual's (ctrl+q, ctrl+c, the command palette's ctrl+p,
    tab and shift+tab between fields) and escape, every screen's way back and every dialog's cancel."""
    keys = {"escape": "Back"}
    for binding in Binding.make_bindings([*App.BINDINGS, *Screen.BINDINGS, *APP_BINDINGS]):
        keys[binding.key] = binding.description or binding.action
    keys[ReviewkitApp.COMMAND_PALETTE_BINDING] = "Command palette"
    return keys


class ReviewkitApp(App[None]):
    """The reviewkit terminal UI: a dashboard of the PRISMA stages and a screen per stage."""

    CSS_PATH = "app.tcss"
    TITLE = "reviewkit"
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS

    def __init__(self, review: Review, *, reviewer: str | None = None, stage: str | None = None) -> None:
        super().__init__()
        self.review = review
        #: Who is using the app; screens act as this reviewer.
        self.reviewer = reviewer
        #: A screening stage (ta, ft) to open straight away, above the dashboard.
        self.start_stage = stage
        self.sub_title = review.protocol.title
        #: Quit was asked for and waits for the screens' writes to be stored ("waiting"), and asked again
        #: ("warned": once more quits without them).
        self._quitting: str | None = None

    def on_mount(self) -> None:
        """Open on the dashboard (and on the screening screen when asked)."""
        self.push_screen(DashboardScreen(self.review, reviewer=self.reviewer))
        problems = self.review.protocol.analysis_problems
        if problems:
            # the CLI's stderr line is hidden behind the TUI's screen: say it here too
            self.notify(f"{len(problems)} planned {'analysis' if len(problems) == 1 else 'analyses'} in review.toml "
                        "cannot run; see reviewkit protocol check", severity="warning", timeout=10, markup=False)
        if self.start_stage:
            self.push_screen(ScreeningScreen(self.review, self.start_stage, self.reviewer))

    async def action_quit(self) -> None:
        """Quit; where the screening screen holds notes not yet stored (they go with a decision), ask
        first, as leaving it for the dashboard does."""
        holding = [s for s in self.screen_stack if isinstance(s, ScreeningScreen) and s.unsaved_notes]
        if not holding:
            self._exit_when_saved()
        elif holding[-1] is self.screen:
            holding[-1].leave(self._exit_when_saved, "Quit")
        else:
            self.notify("Notes on the screening screen are not saved yet: go back to it (escape) to decide "
                        "on their records, or to quit from there.", severity="warning", markup=False)

    def _exit_when_saved(self) -> None:
        """Exit once every screen's writes (verdicts, adjudications, links) are stored: a screen's
        workers end with the app, and a write still waiting in its queue would be lost unsaid.
        (The screening screen's decisions are written by the app's own worker, which finishes them.)"""
        queues = [s.write_queue for s in self.screen_stack if isinstance(s, SavesWrites) and s.write_queue.pending]
        if not queues:
            self.exit()
            return
        count = sum(q.pending for q in queues)
        if self._quitting == "warned":  # asked three times: the user quits knowingly
            self.exit()
            return
        if self._quitting == "waiting":
            self._quitting = "warned"
            self.notify(f"Still saving {count} change{'s' if count != 1 else ''}: quitting once stored "
                        "(quit again to leave without them)", severity="warning", markup=False)
            return
        self._quitting = "waiting"
        self.notify(f"Saving {count} change{'s' if count != 1 else ''}… quitting once stored", markup=False)
        waiting = len(queues)
        every_stored = True

        def flushed(stored: bool) -> None:
            nonlocal waiting, every_stored
            waiting -= 1
            every_stored = every_stored and stored
            if waiting:
                return
            self._quitting = None
            if every_stored:
                self.exit()
            else:  # the refusal is on screen (the change is back to decide again): the user sees it
                self.notify("Not quitting: a change was not saved (see above)", severity="error", markup=False)

        for queue in queues:
            queue.flush(flushed)

    def action_help(self) -> None:
        """Show the keys of the current screen and the app."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen.active_bindings))


def make_app(review: Review, *, reviewer: str | None = None, stage: str | None = None) -> ReviewkitApp:
    """Build the app; the CLI and the tests build it the same way."""
    return ReviewkitApp(review, reviewer=reviewer, stage=stage)

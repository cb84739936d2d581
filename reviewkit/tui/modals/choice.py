"""Provides a pick-one modal with a line of text (an exclusion reason and note, a full-text status and location)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList

#: The box's height, at most, in percent of the screen's.
MAX_BOX_HEIGHT = 90
#: The options' height (with their border), at most and, when the screen is short, at least.
MAX_OPTIONS_HEIGHT = 16
MIN_OPTIONS_HEIGHT = 4
#: The list's keys that move its highlight: an option the user moved to is one picked.
MOVES = frozenset({"up", "down", "home", "end", "pageup", "pagedown"})


@dataclass(frozen=True)
class Choice:
    """What the user picked, and the text typed with it (None when left empty)."""

    option: str
    text: str | None


def short_label(label: str) -> str:
    """An option's label without its explanation ("retrieved (type its path…)" → "retrieved")
    or who chose it ("Low risk — alice" → "Low risk"), to name it in a hint."""
    return label.split(" (", 1)[0].split(" — ", 1)[0]


def no_option_offered(_text: str) -> None:
    """An `option_for_text` that offers none: enter in the text field asks for an option, the highlight
    left where it is (an exclusion's note says nothing of which reason it goes with)."""
    return None


class ChoiceModal(ModalScreen[Choice | None]):
    """Pick one option (arrows then enter, or its number); the text field below goes with it.

    A number picks its option as soon as no longer number could follow it: with 12 options, 2 picks
    the second at once, 1 waits for a second digit (12) or enter (the first).

    Options listed in `text_required_for` are refused until the text is filled in.

    With `option_for_text`, enter in the text field before the user has picked an option does not take
    the first one: it asks which option goes with the text, highlighting the one `option_for_text` names
    for it (None: the highlight stays), so that one more enter takes it. Typed and entered, a full
    text's path was stored as the first status's note ("sought"), not as where the PDF is.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    # The options' max-height is set to what the box leaves them (see _fit_options).
    DEFAULT_CSS = f"""
    ChoiceModal {{ align: center middle; }}
    ChoiceModal > Vertical {{ width: 72; max-width: 100%; height: auto; max-height: {MAX_BOX_HEIGHT}%; border: round $accent; padding: 1 2; background: $surface; }}
    ChoiceModal OptionList {{ height: auto; max-height: {MAX_OPTIONS_HEIGHT}; margin-bottom: 1; }}
    /* Full width, so a long title or hint wraps inside the box instead of being cut at its edge. */
    ChoiceModal Label {{ width: 100%; }}
    ChoiceModal #choice-hint {{ color: $text-muted; }}
    """

    def __init__(
        self, title: str, options: Sequence[str], *, text_label: str | None = "Note (optional)",
        text_required_for: Sequence[str] = (), labels: Sequence[str] | None = None, text: str = "",
        option_for_text: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self._text = text
        self._title = title
        self._options = list(options)
        self._labels = list(labels) if labels is not None else self._options
        self._text_label = text_label
        self._required = set(text_required_for)
        #: The digits typed so far of an option's number that a further digit could still lengthen.
        self._typed = ""
        self._option_for_text = option_for_text
        #: Whether the highlighted option is one the user moved to (arrows, a number, or the option
        #: a refusal asked the text for), not the first one the list starts on.
        self._picked = False

    def compose(self) -> ComposeResult:
        """The title, the numbered options, the text field (all shown as given: a title or an option
        quotes what the user typed, an outcome name or an exclusion reason, never read as markup)."""
        with Vertical(id="choice-box"):
            yield Label(self._title, markup=False)
            yield OptionList(*(f"{i}. {label}" for i, label in enumerate(self._labels, 1)), id="choice-options",
                             markup=False)
            if self._text_label is not None:  # None: a plain pick, nothing to type
                yield Label(self._text_label, id="choice-hint", markup=False)
                yield Input(value=self._text, id="choice-text")

    def on_mount(self) -> None:
        """Start on the first option."""
        options = self.query_one("#choice-options", OptionList)
        options.highlighted = 0
        options.focus()

    def on_resize(self) -> None:
        """Fit the options to the new height (once the box's other parts are laid out at the new width)."""
        self.call_after_refresh(self._fit_options)

    def _fit_options(self) -> None:
        """Bound the options' height to what the box leaves them: with many options (16 exclusion reasons
        on 80×24) the list pushed the text field below the box, and what was typed after tab went unseen.
        The options scroll instead, and the title, the hint and the text field always show."""
        box = self.query_one("#choice-box", Vertical)
        options = self.query_one("#choice-options", OptionList)
        room = self.size.height * MAX_BOX_HEIGHT // 100 - box.styles.gutter.height - options.styles.margin.height
        others = sum(w.outer_size.height + w.styles.margin.height for w in box.children if w is not options)
        fit = max(MIN_OPTIONS_HEIGHT, min(MAX_OPTIONS_HEIGHT, room - others))
        if options.styles.max_height is None or options.styles.max_height.value != fit:
            options.styles.max_height = fit

    def on_key(self, event: events.Key) -> None:
        """A digit picks that option (when the list has focus), or highlights it while a further digit
        could make a longer number: with 12 reasons, "1" then "2" had picked the first reason at once,
        stored as the exclusion's reason, and the "2" went on to the screen below."""
        key = event.character
        options = self.query_one("#choice-options", OptionList)
        if options.has_focus and event.key in MOVES:
            self._picked = True
        if not (key and key.isascii() and key.isdigit() and options.has_focus):
            self._typed = ""
            return
        typed, self._typed = self._typed + key, ""
        number = int(typed)
        event.stop()
        if not 1 <= number <= len(self._options):
            return  # no such option (0, or 15 of 12): nothing picked, the digits start again
        if number * 10 > len(self._options):
            self._choose(number - 1)
            return
        self._typed = typed
        self._picked = True
        options.highlighted = number - 1

    @on(OptionList.OptionSelected, "#choice-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    @on(Input.Submitted, "#choice-text")
    def _submitted(self) -> None:
        options = self.query_one("#choice-options", OptionList)
        text = self.query_one("#choice-text", Input).value.strip()
        if self._option_for_text is not None and text and not self._picked:
            self._ask_option(options, self._option_for_text(text))
            return
        if options.highlighted is not None:
            self._choose(options.highlighted)

    def _ask_option(self, options: OptionList, likely: str | None) -> None:
        """Ask which option the typed text goes with, the `likely` one highlighted."""
        if likely in self._options:
            options.highlighted = self._options.index(likely)
        self.query_one("#choice-hint", Label).update(
            f"{self._text_label} — which option goes with it? enter takes the highlighted one, "
            "or press its number")
        self.call_after_refresh(self._fit_options)  # the longer hint may take another line
        options.focus()

    def _choose(self, index: int) -> None:
        option = self._options[index]
        if self._text_label is None:
            self.dismiss(Choice(option, None))
            return
        text = self.query_one("#choice-text", Input).value.strip() or None
        if option in self._required and not text:
            self.query_one("#choice-hint", Label).update(f"{self._text_label} — needed for "
                                                         f"'{short_label(self._labels[index])}'")
            self.call_after_refresh(self._fit_options)  # the longer hint may take another line
            self.query_one("#choice-text", Input).focus()
            self.query_one("#choice-options", OptionList).highlighted = index
            self._picked = True  # the enter after the text is typed takes this option
            return
        self.dismiss(Choice(option, text))

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)

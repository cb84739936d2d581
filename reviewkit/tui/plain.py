"""Provides user text shown as typed: Textual and Rich read square brackets in a str as markup.

A title, a note, an outcome or arm name, a search, a file path or a service's message quoting any of
them may hold "[adults]" (Textual drops it: a style tag), "[ITT]" (dropped too: Textual's markup takes
upper-case tags as well) or "[/i]" (MarkupError: the app exits with a traceback). So text that is not
ours is never handed to a widget as a markup str:

- a Static or Label whose text is plain throughout is built with `markup=False`, and every
  `notify()` passes `markup=False` (tests/tui/test_plain_text.py checks the notifies);
- a DataTable cell or column label goes in as `plain(...)` (FittedTable does it for every str), as does
  every str in a rich Table;
- where our own markup goes around user text ("[b]study[/b] · outcome"), `marked()` puts the user's
  text into the template as variables, inserted literally. Not `escape()`: neither Rich's nor
  Textual's escapes "[ITT]", which Textual's markup still swallows.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content


def plain(text: str, *, style: str = "", no_wrap: bool | None = None) -> Text:
    """`text` as it is (never read as markup): a DataTable cell or column label, a rich Table's title,
    column or cell. (A rich Table styles a str title or caption itself: give a Text its `style`.)"""
    return Text(text, style=style, no_wrap=no_wrap)


def marked(template: str, **values: str) -> Content:
    """Our markup with the user's text in it as given: `marked("[b]$study[/b] · $outcome", study=...,
    outcome=...)`. Only `template` is read as markup; each `$name` takes its value literally."""
    return Content.from_markup(template, **values)

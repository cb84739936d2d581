"""Provides the criteria panel: the protocol's inclusion and exclusion criteria beside the record."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from reviewkit.protocol import Eligibility


class CriteriaPanel(Static):
    """The eligibility criteria as two lists; the screen shows or hides it."""

    DEFAULT_CSS = """
    CriteriaPanel { width: 40; height: 1fr; border-left: solid $accent; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, eligibility: Eligibility, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(criteria_text(eligibility), id=id)


def criteria_text(eligibility: Eligibility) -> Text:
    """Inclusion then exclusion criteria, one bullet each."""
    out = Text()
    out.append("Include\n", style="bold")
    for item in eligibility.inclusion:
        out.append(f" + {item}\n")
    if eligibility.exclusion:
        out.append("\nExclude\n", style="bold")
        for item in eligibility.exclusion:
            out.append(f" - {item}\n")
    return out

"""Provides the record card: a record's citation, identifiers and structured abstract, keywords highlighted."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from reviewkit.domain.highlight import highlight
from reviewkit.services.screen_cards import DecisionView, RecordCard

#: Structured abstracts keep their section labels as "BACKGROUND: ..." at the start of a line.
_LABEL = re.compile(r"^([A-Z][A-Z0-9 ,/&()-]{1,40}):", re.MULTILINE)
#: Long author lists are cut as citation styles do.
MAX_AUTHORS = 6


class RecordCardView(Static):
    """Shows one RecordCard; `record_id` is the record on screen (None while loading or empty)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-card--title", "record-card--include", "record-card--exclude", "record-card--label",
        "record-card--muted", "record-card--decision",
    }
    DEFAULT_CSS = """
    RecordCardView { padding: 0 1; width: 1fr; }
    RecordCardView > .record-card--title { text-style: bold; }
    RecordCardView > .record-card--include { background: $success 40%; text-style: bold; }
    RecordCardView > .record-card--exclude { background: $error 45%; text-style: bold underline; }
    RecordCardView > .record-card--label { text-style: bold; color: $accent; }
    RecordCardView > .record-card--muted { color: $text-muted; }
    RecordCardView > .record-card--decision { text-style: bold; color: $warning; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own parameter name
        super().__init__("", id=id, markup=False)  # records and messages quoting them: never markup
        self.record_id: int | None = None

    def show(self, card: RecordCard, include: Sequence[str], exclude: Sequence[str], *, stage: str) -> None:
        """Show a card (its keywords highlighted)."""
        self.record_id = card.id
        self.update(self.render_card(card, include, exclude, stage=stage))

    def show_message(self, message: str) -> None:
        """Show a line of text instead of a record (loading, queue finished, an error)."""
        self.record_id = None
        self.update(Text(message))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"record-card--{name}", partial=True)

    def render_card(self, card: RecordCard, include: Sequence[str], exclude: Sequence[str], *, stage: str) -> Text:
        """The card as rich text."""
        muted = self._style("muted")
        out = Text()
        out.append_text(self._highlighted(card.title or "(no title)", include, exclude, self._style("title")))
        out.append("\n")
        authors = list(card.authors[:MAX_AUTHORS]) + (["et al."] if len(card.authors) > MAX_AUTHORS else [])
        if authors:
            out.append(", ".join(authors) + "\n")
        out.append(citation_line(card) + "\n", style=muted)
        # The record's own id first: dialogs ("Why exclude record 8?") and `reviewkit full-text ID` name it.
        out.append(" · ".join(p for p in (f"Record #{card.id}", identifier_line(card)) if p) + "\n", style=muted)
        if card.publication_types:
            out.append("Type: " + "; ".join(card.publication_types) + "\n", style=muted)
        if stage == "ft":
            where = f" ({card.full_text_location})" if card.full_text_location else ""
            out.append(f"Full text: {full_text_wording(card.full_text_status)}{where}\n", style=muted)
        out.append("\n")
        abstract = self._highlighted(card.abstract or "(no abstract)", include, exclude, Style())
        for match in _LABEL.finditer(abstract.plain):
            abstract.stylize(self._style("label"), match.start(1), match.end(1) + 1)
        out.append_text(abstract)
        out.append("\n")
        decision = self._style("decision")
        if card.own is not None:
            out.append("\nYour decision: ", style=decision)
            out.append(decision_text(card.own))
        if card.others is not None:
            for other in card.others:
                out.append(f"\n{other.reviewer}: ", style=decision)
                out.append(decision_text(other))
        return out

    def _highlighted(self, text: str, include: Sequence[str], exclude: Sequence[str], base: Style) -> Text:
        rich = Text(text, style=base)
        styles = {"include": self._style("include"), "exclude": self._style("exclude")}
        for start, end, kind in highlight(text, include, exclude):
            rich.stylize(styles[kind], start, end)
        return rich


def citation_line(card: RecordCard) -> str:
    """Journal. Year;Volume(Issue):Pages, leaving out what is missing."""
    where = card.journal or ""
    detail = str(card.year) if card.year else ""
    if card.volume:
        detail += f";{card.volume}"
    if card.issue:
        detail += f"({card.issue})"
    if card.pages:
        detail += f":{card.pages}"
    return ". ".join(p for p in (where, detail.lstrip(";")) if p) or "(no journal)"


#: A full-text status as stored (the CLI's words) → as said to a screener.
FULL_TEXT_WORDING = {"sought": "sought", "retrieved": "retrieved", "not_retrieved": "not retrieved"}


def full_text_wording(status: str | None) -> str:
    """A full-text status in words ("not_retrieved" → "not retrieved"; none yet: "not sought yet")."""
    if status is None:
        return "not sought yet"
    return FULL_TEXT_WORDING.get(status, status.replace("_", " "))


def identifier_line(card: RecordCard) -> str:
    """PMID, DOI and NCT ids, as far as the record has them."""
    parts = []
    if card.pmid:
        parts.append(f"PMID {card.pmid}")
    if card.doi:
        parts.append(f"DOI {card.doi}")
    parts.extend(card.nct_ids)
    return " · ".join(parts)


def decision_text(view: DecisionView) -> str:
    """A decision with its reason and note."""
    text = view.decision
    if view.reason:
        text += f" ({view.reason})"
    if view.note:
        text += f": {view.note}"
    return text

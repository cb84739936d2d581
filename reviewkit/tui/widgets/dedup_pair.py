"""Provides the side-by-side view of an uncertain duplicate pair, its differing words highlighted."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from reviewkit.domain.records import Record
from reviewkit.services.dedup import PairView

#: Words one record has and the other lacks; the colour differs from the record text around them.
DIFF_STYLE = "bold black on yellow"
#: A field one record leaves empty.
MISSING = Text("—", style="dim italic")
_WORD = re.compile(r"\S+")
_PUNCT = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class PairField:
    """A row of the comparison: its label, how to read it from a record, its similarity keys."""

    label: str
    value: Callable[[Record], str]
    #: Keys of the evidence's per-field similarities shown on this row.
    evidence: tuple[str, ...] = ()


def _vip(r: Record) -> str:
    issue = f"({r.issue})" if r.issue else ""
    pages = f":{r.pages}" if r.pages else ""
    return f"{r.volume}{issue}{pages}".strip()


PAIR_FIELDS: tuple[PairField, ...] = (
    PairField("Title", lambda r: r.title, ("title",)),
    PairField("Authors", lambda r: "; ".join(r.authors), ("authors",)),
    PairField("Year", lambda r: str(r.year) if r.year is not None else "", ("year",)),
    PairField("Journal", lambda r: r.journal or r.journal_abbrev, ("journal",)),
    PairField("Vol(issue):pages", _vip, ("volume", "pages")),
    PairField("DOI", lambda r: r.doi or "", ("doi",)),
    PairField("PMID", lambda r: r.pmid or "", ("pmid",)),
    PairField("NCT", lambda r: ", ".join(r.nct_ids), ("nct",)),
    PairField("Source type", lambda r: r.source_type or r.kind),
)


def _key(word: str) -> str:
    # Case and punctuation alone do not make words differ ("Trial:" and "trial" are the same word).
    return _PUNCT.sub("", word.casefold()) or word


def diff_words(a: str, b: str) -> tuple[Text, Text, list[str], list[str]]:
    """Both texts with the words the other lacks highlighted, and those words (of a, of b)."""
    wa, wb = _WORD.findall(a), _WORD.findall(b)
    matcher = difflib.SequenceMatcher(a=[_key(w) for w in wa], b=[_key(w) for w in wb], autojunk=False)
    same_a: set[int] = set()
    same_b: set[int] = set()
    for block in matcher.get_matching_blocks():
        same_a.update(range(block.a, block.a + block.size))
        same_b.update(range(block.b, block.b + block.size))
    text_a, only_a = _styled(wa, same_a)
    text_b, only_b = _styled(wb, same_b)
    return text_a, text_b, only_a, only_b


def _styled(words: list[str], same: set[int]) -> tuple[Text, list[str]]:
    text = Text()
    differing = []
    for i, word in enumerate(words):
        if i:
            text.append(" ")
        if i in same:
            text.append(word)
        else:
            text.append(word, style=DIFF_STYLE)
            differing.append(word)
    return text, differing


def _similarity(keys: tuple[str, ...], fields: Mapping[str, Any]) -> Text:
    shown = [(k, float(fields[k])) for k in keys if k in fields]
    if not shown:
        return Text("")
    text = Text()
    for i, (key, value) in enumerate(shown):
        if i:
            text.append(" ")
        prefix = f"{key} " if len(keys) > 1 else ""
        text.append(f"{prefix}{value:.2f}", style="green" if value >= 0.95 else "yellow" if value >= 0.5 else "red")
    return text


class DedupPairView(Static):
    """Two records of a pair in columns: each differing word highlighted, each field's similarity beside."""

    DEFAULT_CSS = """
    DedupPairView { height: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)  # records' fields: never markup
        #: The pair on show (None while a message is shown instead).
        self.pair_id: int | None = None
        #: Field label → the highlighted words of record A and of record B (fields that differ only).
        self.highlighted: dict[str, tuple[list[str], list[str]]] = {}

    def show_message(self, text: str) -> None:
        """Show a line of text instead of a pair."""
        self.pair_id = None
        self.highlighted = {}
        self.update(Text(text))

    def show(self, pair: PairView, evidence: Mapping[str, Any]) -> None:
        """Show a pair with the evidence from services.dedup.pair_evidence."""
        self.pair_id = pair.id
        self.highlighted = {}
        fields: Mapping[str, Any] = evidence.get("fields") or pair.fields
        table = Table(expand=True, show_lines=True, header_style="bold")
        table.add_column("Field", style="bold", no_wrap=True, width=17)
        table.add_column(f"Record {pair.a_id}", ratio=1)
        table.add_column(f"Record {pair.b_id}", ratio=1)
        table.add_column("Similarity", no_wrap=True, width=19)
        for spec in PAIR_FIELDS:
            a, b = spec.value(pair.a), spec.value(pair.b)
            if not a and not b:
                continue
            if a and b:
                text_a, text_b, only_a, only_b = diff_words(a, b)
                if only_a or only_b:
                    self.highlighted[spec.label] = (only_a, only_b)
            else:
                text_a, text_b = (Text(a) if a else MISSING), (Text(b) if b else MISSING)
            table.add_row(spec.label, text_a, text_b, _similarity(spec.evidence, fields))
        score = float(evidence.get("score", pair.score))
        reason = str(evidence.get("reason") or "")
        summary = Text.assemble(("Score ", "bold"), (f"{score:.3f}", "bold"),
                                (f"   {reason}" if reason else "", "italic"))
        parts: list[RenderableType] = [summary, table]
        self.update(Group(*parts))

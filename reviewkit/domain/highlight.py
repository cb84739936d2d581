"""Provides keyword highlighting: non-overlapping spans of inclusion and exclusion keywords in a text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["include", "exclude"]

#: A keyword boundary is any non-word character or the text's edge. Python's \w is Unicode-aware,
#: so "naïve" and "Müller" are whole words and "é" is never a boundary.
_BEFORE = r"(?<!\w)"
_AFTER = r"(?!\w)"


@dataclass(frozen=True, slots=True)
class Span:
    """A highlighted stretch of text: text[start:end] matched a keyword of `kind`."""

    start: int
    end: int
    kind: Kind

    def as_tuple(self) -> tuple[int, int, Kind]:
        """Return (start, end, kind), the shape the TUI styles."""
        return (self.start, self.end, self.kind)


def keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """Compile one keyword or phrase to a case-insensitive, whole-word pattern; None if blank.

    Words of a phrase match across any run of white space or hyphens ("double blind" finds
    "double-blind" and a line-broken "double\\nblind"). A trailing "*" on a word matches any word
    ending ("random*" finds "random", "randomised", "randomized"); other characters are literal.
    """
    words = [w for w in re.split(r"[\s\-]+", keyword.strip()) if w]
    if not words:
        return None
    parts = []
    for word in words:
        stem, star = (word[:-1], True) if word.endswith("*") else (word, False)
        if not stem:
            return None
        parts.append(re.escape(stem) + (r"\w*" if star else ""))
    body = r"[\s\-]+".join(parts)
    return re.compile(_BEFORE + body + _AFTER, re.IGNORECASE)


def _candidates(text: str, keywords: Iterable[str], kind: Kind) -> list[tuple[int, int, Kind]]:
    found: list[tuple[int, int, Kind]] = []
    for keyword in keywords:
        pattern = keyword_pattern(keyword)
        if pattern is None:
            continue
        found.extend((m.start(), m.end(), kind) for m in pattern.finditer(text) if m.end() > m.start())
    return found


def highlight(
    text: str, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[tuple[int, int, Kind]]:
    """Return non-overlapping (start, end, kind) spans of the keywords in `text`, in text order.

    Where matches overlap, the longest wins, then the earliest ("randomised controlled trial"
    as an include beats "trial" as an exclude), so a phrase is never cut into pieces. When an
    inclusion and an exclusion keyword match exactly the same span, "exclude" wins: a reason to
    drop a record is the one a screener must not miss.
    """
    candidates = _candidates(text, include, "include") + _candidates(text, exclude, "exclude")
    # Longest first, then leftmost, then exclude before include.
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0], c[2] != "exclude"))
    taken: list[tuple[int, int, Kind]] = []
    for start, end, kind in candidates:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, kind))
    return sorted(taken)


def highlight_spans(
    text: str, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[Span]:
    """Return the same spans as `highlight`, as Span objects."""
    return [Span(s, e, k) for s, e, k in highlight(text, include, exclude)]

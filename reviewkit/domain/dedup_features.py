"""Provides the matching forms of a record list and the blocking that picks candidate pairs near-linearly."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from reviewkit.domain.dedup_rules import RecordFlags, record_flags
from reviewkit.domain.normalise import (
    author_keys,
    fold,
    journal_tokens,
    normalise_pages,
    title_info,
)
from reviewkit.domain.records import Record, normalise_doi, normalise_pmcid, normalise_pmid

_VOLUME_RE = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One record's matching forms; the stored record is left as imported."""

    title: str
    title_numbers: tuple[str, ...]
    translated: bool
    flags: RecordFlags
    authors: tuple[str, ...]
    #: Folded surnames joined by spaces (what author similarity compares).
    surnames: str
    #: Every folded word of every author name, sorted: survives surname/given-name mix-ups.
    author_words: str
    year: int | None
    journal: tuple[str, ...]
    volume: str
    #: The issue's first number ("" when none): only to spot volume/issue/pages shifted one field.
    issue: str
    pages: str
    first_page: str
    last_page: str
    doi: str
    pmid: str
    pmcid: str
    nct_ids: tuple[str, ...]


def prepare(record: Record) -> Prepared:
    """Return the matching forms of one record."""
    info = title_info(record.title)
    authors = author_keys(record.authors)
    volume_text = record.volume or ""
    # "1)" is what is left of "64(Suppl 1)" in some exports: no volume, rather than volume 1.
    if volume_text.count(")") != volume_text.count("("):
        volume_text = ""
    volume_match = _VOLUME_RE.search(volume_text)
    pages = normalise_pages(record.pages)
    return Prepared(
        title=info.text,
        title_numbers=info.numbers,
        translated=info.translated,
        flags=record_flags(record, info),
        authors=authors,
        surnames=" ".join(a.split(" ", 1)[0] for a in authors),
        author_words=" ".join(sorted(fold(" ".join(record.authors)).split())),
        year=record.year,
        journal=journal_tokens(record.journal or record.journal_abbrev),
        volume=volume_match.group(0).lstrip("0") if volume_match else "",
        issue=_issue_number(record.issue),
        pages=pages,
        first_page=pages.split("-", 1)[0],
        last_page=pages.split("-", 1)[-1],
        doi=normalise_doi(record.doi) or "",
        pmid=normalise_pmid(record.pmid) or "",
        pmcid=normalise_pmcid(record.pmcid) or "",
        nct_ids=record.nct_ids if record.kind == "registry" else (),
    )


def _issue_number(issue: str | None) -> str:
    """The issue as a bare number ("9" from "9" or "09"); "" for none or a supplement ("Suppl. 1")."""
    text = (issue or "").strip()
    return text.lstrip("0") if text.isdigit() else ""


def _codes(keys: Sequence[str]) -> np.ndarray:
    """Integer code per key (equal keys, equal codes); -1 for an empty key."""
    seen: dict[str, int] = {}
    out = np.fromiter((seen.setdefault(k, len(seen)) if k else -1 for k in keys), dtype=np.int64, count=len(keys))
    return out


def _window_pairs(order: np.ndarray, window: int, codes: np.ndarray | None = None) -> list[np.ndarray]:
    """Pairs of records at most `window` apart in `order` (sorted neighbourhood), as [a, b] arrays.

    With `codes`, only neighbours sharing a non-empty code pair up: an exact-key block of up to
    window + 1 records, without the quadratic cost of a huge block.
    """
    out = []
    for k in range(1, min(window, len(order) - 1) + 1):
        a, b = order[:-k], order[k:]
        if codes is not None:
            keep = (codes[a] == codes[b]) & (codes[a] >= 0)
            a, b = a[keep], b[keep]
        out.append(np.stack([a, b]))
    return out


def candidate_pairs(prepared: Sequence[Prepared], window: int = 8) -> np.ndarray:
    """Return candidate pairs (2 x m int array, a < b, unique) from several blocking passes.

    Passes: sorted neighbourhood on the title and on the reversed title (a change at either end
    still leaves the other end adjacent), and exact-key blocks on DOI, PMID, PMCID, NCT (registry
    records), volume + first page, and first author + first page (translated or missing titles).
    """
    n = len(prepared)
    if n < 2:
        return np.zeros((2, 0), dtype=np.int64)
    titles = [p.title.replace(" ", "") for p in prepared]
    # Among identical titles ("Editorial", a recurring column) the first author and year keep each
    # paper's copies next to each other, within the window.
    tails = [f"|{p.surnames.split(' ', 1)[0]}|{p.year or ''}" for p in prepared]
    chunks: list[np.ndarray] = []
    for keys in ([t + x for t, x in zip(titles, tails, strict=True)],
                 [t[::-1] + x for t, x in zip(titles, tails, strict=True)]):
        order = np.array(sorted(range(n), key=keys.__getitem__), dtype=np.int64)
        order = order[np.fromiter((bool(titles[i]) for i in order), dtype=bool, count=n)]
        chunks += _window_pairs(order, window)
    exact_keys = _exact_keys(prepared) + (
        [f"{p.surnames.split(' ', 1)[0]}|{p.first_page}" if p.surnames and p.first_page else "" for p in prepared],
    )
    for keys in exact_keys:
        codes = _codes(keys)
        order = np.argsort(codes, kind="stable")
        chunks += _window_pairs(order, window, codes)
    pairs = np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), dtype=np.int64)
    lo, hi = np.minimum(pairs[0], pairs[1]), np.maximum(pairs[0], pairs[1])
    keep = lo != hi
    flat = np.unique(lo[keep] * n + hi[keep])
    return np.stack([flat // n, flat % n])


def _exact_keys(prepared: Sequence[Prepared]) -> tuple[list[str], ...]:
    return (
        [p.doi for p in prepared],
        [p.pmid for p in prepared],
        [p.pmcid for p in prepared],
        [p.nct_ids[0] if p.nct_ids else "" for p in prepared],
        [f"{p.volume}|{p.first_page}" if p.volume and p.first_page else "" for p in prepared],
    )


def shared_key(prepared: Sequence[Prepared], pairs: np.ndarray) -> np.ndarray:
    """Mask of candidate pairs sharing an identifier or volume + first page (their titles may differ)."""
    out = np.zeros(pairs.shape[1], dtype=bool)
    for keys in _exact_keys(prepared):
        codes = _codes(keys)
        out |= (codes[pairs[0]] == codes[pairs[1]]) & (codes[pairs[0]] >= 0)
    return out


def title_similarity(prepared: Sequence[Prepared], pairs: np.ndarray) -> np.ndarray:
    """Normalised Indel similarity (0-1) of the titles of each candidate pair, computed in C on all cores."""
    if pairs.shape[1] == 0:
        return np.zeros(0)
    titles = [p.title for p in prepared]
    left = [titles[i] for i in pairs[0]]
    right = [titles[i] for i in pairs[1]]
    return process.cpdist(left, right, scorer=fuzz.ratio, workers=-1, dtype=np.float32) / 100.0


def abstract_text(record: Record) -> str:
    """The folded abstract start, for the side-by-side view (abstracts are truncated differently by sources)."""
    return fold(record.abstract[:300])

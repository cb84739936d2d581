"""Provides the PubMed search plan (SearchPlan, DateSlice) and FetchedBatch: what a search stores to resume."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from reviewkit.domain.records import Record

__all__ = ["MAX_BATCH", "PUBMED_WINDOW", "DateSlice", "FetchedBatch", "SearchPlan"]

#: PubMed's esearch/efetch cannot reach past position 9,999 of one result set (entrez.md §2).
PUBMED_WINDOW = 9_999
MAX_BATCH = 500


@dataclass(frozen=True)
class DateSlice:
    """One part of a search small enough to page through: an Entrez-date range and its history set."""

    mindate: str  # YYYY/MM/DD, inclusive; "" when the search is not sliced
    maxdate: str
    count: int  # as planned; it fixes the slice's offsets, so it stays when the slice is renewed
    webenv: str
    query_key: str
    #: True once the history set expired: the slice is then fetched by PMID (its current PMID
    #: list less those the run already stored), never again by offset.
    by_id: bool = False

    @property
    def fetchable(self) -> int:
        """How many of its records PubMed will hand out (a one-day slice may exceed the window)."""
        return min(self.count, PUBMED_WINDOW)


@dataclass(frozen=True)
class SearchPlan:
    """A PubMed search as run: what to store in the search log and how to fetch (and resume) it.

    `count` and `translation` are PubMed's own, for the PRISMA search report; `slices` are the
    history-server sets fetch_batches walks through, in order.
    """

    query: str
    translation: str
    count: int
    searched_at: str
    mindate: str | None = None
    maxdate: str | None = None
    datetype: str = "pdat"
    slices: tuple[DateSlice, ...] = ()
    batch_size: int = MAX_BATCH
    translation_set: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def fetchable(self) -> int:
        """Records fetch_batches will request in total (sum over slices)."""
        return sum(s.fetchable for s in self.slices)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict the store can keep; from_dict reads it back."""
        data = asdict(self)
        data["version"] = 1
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchPlan:
        """Rebuild a plan stored with to_dict."""
        values = {k: v for k, v in data.items() if k != "version"}
        values["slices"] = tuple(DateSlice(**s) for s in values.get("slices", ()))
        values["translation_set"] = tuple(tuple(p) for p in values.get("translation_set", ()))
        for key in ("warnings", "notes"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


@dataclass(frozen=True)
class FetchedBatch:
    """One fully parsed efetch batch. Store it, then resume later from `next_offset`.

    `plan` is the plan as it stands after this batch: it differs from the one passed in when an
    expired history set had to be searched again (see `notes`), and should replace it in the store.
    """

    offset: int
    next_offset: int
    records: tuple[Record, ...]
    plan: SearchPlan
    notes: tuple[str, ...] = field(default=())

"""Provides deduplication over the review: automatic merges, the human queue, undo, studies, export."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from reviewkit.domain.dedup import (
    AUTO_THRESHOLD,
    REVIEW_THRESHOLD,
    completeness,
    explain,
    find_duplicates,
)
from reviewkit.domain.records import Record
from reviewkit.domain.studies import propose_studies
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.store import dedup as store
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import session_scope

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class DedupSummary:
    """What a dedup run did."""

    records: int
    groups_created: int
    records_merged: int
    pairs_queued: int
    pairs_waiting: int
    studies_proposed: int


@dataclass(frozen=True)
class PairView:
    """An uncertain pair for the human check: both records and the evidence."""

    id: int
    score: float
    a: Record
    b: Record
    a_id: int
    b_id: int
    fields: dict[str, Any]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, i: int) -> int:
        self.parent.setdefault(i, i)
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(b)] = self.find(a)


def run_dedup(
    review: Review, *, actor: str | None = None, auto_only: bool = False, threshold: float | None = None,
    progress: Progress | None = None,
) -> DedupSummary:
    """Find duplicates among all records; merge sure pairs, queue uncertain ones, propose studies.

    Earlier human judgements hold: a pair a human rejected, or records a human un-merged, are
    not merged again; records already grouped stay grouped, and new matches join their group.
    """
    auto_threshold = threshold if threshold is not None else AUTO_THRESHOLD
    if not 0 < auto_threshold <= 1:
        raise ReviewkitError(f"--threshold must be in (0, 1], not {auto_threshold}")
    who = actor or "dedup"
    with session_scope(review.engine) as session:
        rows = store.records_with_ids(session)
        # Rows read from the database always have their primary key (`int | None` is for new rows).
        ids = cast(list[int], [r.id for r in rows])
        records = [row_to_record(r) for r in rows]
    result = find_duplicates(records, auto_threshold=auto_threshold,
                             review_threshold=min(REVIEW_THRESHOLD, auto_threshold), progress=progress)
    with session_scope(review.engine, write=True) as session:
        rejected = store.rejected_pairs(session)
        for members in store.undone_member_sets(session):
            rejected |= {(min(x, y), max(x, y)) for x in members for y in members if x < y}
        live = store.live_groups(session)
        uf = _UnionFind()
        how: dict[int, tuple[str, float | None]] = {}
        for primary, grouped in live.values():
            for m in grouped:
                uf.union(primary, m)
        for pair in result.auto_pairs:
            a, b = ids[pair.a], ids[pair.b]
            if (min(a, b), max(a, b)) in rejected:
                continue
            uf.union(a, b)
            how.setdefault(b, (pair.reason or "fuzzy", pair.score))
            how.setdefault(a, (pair.reason or "fuzzy", pair.score))
        clusters: dict[int, set[int]] = {}
        for rid in list(uf.parent):
            clusters.setdefault(uf.find(rid), set()).add(rid)
        by_id = dict(zip(ids, records, strict=True))
        created = merged = 0
        member_of = {m: gid for gid, (_, members) in live.items() for m in members}
        for members in clusters.values():
            if len(members) < 2:
                continue
            old = {member_of[m] for m in members if m in member_of}
            if len(old) == 1 and set(live[next(iter(old))][1]) == members:
                continue  # already exactly this group
            for gid in old:  # superseded by the larger group
                store.undo_group(session, gid, who, reason="joined a larger group")
            primary = max(members, key=lambda i: (completeness(by_id[i]), -i))
            store.add_group(session, primary, [(m, *how.get(m, ("kept", None))) for m in sorted(members)], who)
            created += 1
            merged += len(members) - 1
        queued = 0
        if not auto_only:
            for pair in result.uncertain_pairs:
                a, b = ids[pair.a], ids[pair.b]
                if (min(a, b), max(a, b)) in rejected or uf.find(a) == uf.find(b):
                    continue
                queued += store.add_pair(session, a, b, pair.score, dict(pair.fields))
        waiting = len(store.pairs(session, "pending"))
        proposed = _propose_studies(session, ids, records, who)
    return DedupSummary(len(records), created, merged, queued, waiting, proposed)


def _propose_studies(session: Any, ids: list[int], records: list[Record], actor: str) -> int:
    """Registry records and the papers citing their NCT numbers, as reports of one study each."""
    removed = set()
    for primary, members in store.live_groups(session).values():
        removed |= {m for m in members if m != primary}
    keep = [i for i, rid in enumerate(ids) if rid not in removed]
    proposals = propose_studies([records[i] for i in keep])
    added = 0
    for p in proposals:
        report_ids = [ids[keep[i]] for i in p.report_indexes]
        registry = [records[keep[i]] for i in p.registry_indexes]
        label = (registry[0].registry.brief_title if registry and registry[0].registry else "") or p.nct_id
        added += store.add_study_links(session, p.nct_id, label, report_ids, actor)
    return added


def pending_pairs(review: Review) -> list[PairView]:
    """The uncertain pairs waiting for a human, best first, with both records."""
    with session_scope(review.engine) as session:
        rows = store.pairs(session, "pending")
        records = {r.id: r for r in store.records_with_ids(session)}
        return [
            PairView(p.id, p.score, row_to_record(records[p.record_a_id]), row_to_record(records[p.record_b_id]),  # type: ignore[arg-type]
                     p.record_a_id, p.record_b_id, dict(p.fields))
            for p in rows
        ]


def pair_evidence(view: PairView) -> dict[str, object]:
    """Field by field similarities and the normalised forms, for a side-by-side view."""
    return explain(view.a, view.b)


def decide_pair(review: Review, actor: str | None, pair_id: int, duplicate: bool) -> None:
    """A human's verdict on a pair: confirmed pairs join one group (never deleting anything)."""
    who = actor or "reviewer"
    with session_scope(review.engine, write=True) as session:
        pair = store.decide_pair(session, pair_id, "confirmed" if duplicate else "rejected", who)
        if pair is None:
            raise ReviewkitError(f"no duplicate pair {pair_id}")
        if not duplicate:
            return
        live = store.live_groups(session)
        member_of = {m: gid for gid, (_, members) in live.items() for m in members}
        members = {pair.record_a_id, pair.record_b_id}
        for rid in (pair.record_a_id, pair.record_b_id):
            if rid in member_of:
                members |= set(live[member_of[rid]][1])
        for gid in {member_of[r] for r in (pair.record_a_id, pair.record_b_id) if r in member_of}:
            store.undo_group(session, gid, who, reason="joined by a confirmed pair")
        rows = {r.id: r for r in store.records_with_ids(session) if r.id in members}
        primary = max(members, key=lambda i: (completeness(row_to_record(rows[i])), -i))
        store.add_group(session, primary, [(m, "human", pair.score) for m in sorted(members)], who)


def undo_merge(review: Review, actor: str | None, group_id: int) -> None:
    """Undo a wrong merge: the group is marked undone and its records count separately again."""
    with session_scope(review.engine, write=True) as session:
        if store.undo_group(session, group_id, actor or "reviewer", reason="undo") is None:
            raise ReviewkitError(f"no live duplicate group {group_id}")


def group_of(review: Review, record_id: int) -> int | None:
    """The live duplicate group a record belongs to, if any."""
    with session_scope(review.engine) as session:
        for gid, (_, members) in store.live_groups(session).items():
            if record_id in members:
                return gid
    return None


def export_dedup(review: Review, path: Path) -> int:
    """One row per record: id, group, primary or not, and the identifiers it was imported with."""
    with session_scope(review.engine) as session:
        rows = store.records_with_ids(session)
        groups = store.live_groups(session)
        source_ids = store.first_source_ids(session)
    group_of_record = {m: (gid, primary) for gid, (primary, members) in groups.items() for m in members}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record", "group", "primary", "source_id", "pmid", "doi", "title"])
        for r in rows:
            gid, primary = group_of_record.get(r.id, (None, r.id))  # type: ignore[arg-type]
            writer.writerow([r.id, gid if gid is not None else "", "yes" if primary == r.id else "no",
                             source_ids.get(r.id, ""), r.pmid or "", r.doi or "", r.title])  # type: ignore[arg-type]
    return len(rows)

"""Provides deduplication over the review: automatic merges, the human queue, undo, reopen, studies, export."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from reviewkit.domain.dedup import (
    AUTO_THRESHOLD,
    NOT_SCREENED,
    REVIEW_THRESHOLD,
    CandidatePair,
    ScreeningProgress,
    also_screened,
    choose_primary,
    explain,
    find_duplicates,
)
from reviewkit.domain.records import Record
from reviewkit.domain.studies import propose_studies
from reviewkit.errors import ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.dedup_refusals import (
    already_decided,
    member_of_group,
    merged_already,
    not_reopened,
)
from reviewkit.services.project import Review
from reviewkit.services.studies import carry_links_to_primary
from reviewkit.store import dedup as store
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import GROUPS_LOCK, lock_transaction, retry_conflicts, session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import DuplicatePairRow

Progress = Callable[[int, int | None], None]
#: Who the audit trail names for an automatic run that no reviewer started.
SYSTEM_ACTOR = "dedup"


@dataclass(frozen=True)
class DedupSummary:
    """What a dedup run did."""

    records: int
    #: New duplicate groups (a group that took in new records or another group is not counted).
    groups_created: int
    #: Records this run made removed duplicates (those removed before, in a group it grew, not counted).
    records_merged: int
    pairs_queued: int
    pairs_waiting: int
    studies_proposed: int
    #: Live groups whose removed records carry screening decisions too (those stop counting), one line each.
    screened_twice: tuple[str, ...] = ()
    #: Study links carried over from removed duplicates to their group's primary record.
    links_carried: int = 0
    #: Study links of a removed duplicate that disagree with its primary record's (left for a reviewer).
    link_conflicts: tuple[str, ...] = ()
    #: Groups made before screening reached a member, now keeping that member (re-made, audited).
    primaries_changed: int = 0

    def notes(self) -> list[str]:
        """What a lead should look at after the run, one line each (none when all is plain)."""
        out = []
        if self.primaries_changed:
            out.append(f"{self.primaries_changed} group{'s' if self.primaries_changed != 1 else ''} now keep"
                       f"{'' if self.primaries_changed != 1 else 's'} the record screening reached as primary")
        if self.screened_twice:
            out.append(f"{len(self.screened_twice)} merged group{'s hold' if len(self.screened_twice) != 1 else ' holds'}"
                       f" decisions on more than one record: {'; '.join(self.screened_twice)}")
        if self.links_carried:
            out.append(f"{self.links_carried} study link change{'s' if self.links_carried != 1 else ''} carried over "
                       "from removed duplicates to their primary records")
        out += [f"study link conflict: {c}" for c in self.link_conflicts]
        return out


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
        #: root → the records of its cluster (a record alone has no entry).
        self.members: dict[int, set[int]] = {}

    def find(self, i: int) -> int:
        self.parent.setdefault(i, i)
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def cluster(self, i: int) -> set[int]:
        root = self.find(i)
        return self.members.get(root, {root})

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.members[ra] = self.cluster(ra) | self.members.pop(rb, {rb})
            self.parent[rb] = ra


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
    with session_scope(review.engine) as session:
        # A run someone names is theirs, so the name must be a reviewer of this review.
        who = acting_reviewer(session, actor).name if actor else SYSTEM_ACTOR
        rows = store.records_with_ids(session)
        # Rows read from the database always have their primary key (`int | None` is for new rows).
        ids = cast(list[int], [r.id for r in rows])
        records = [row_to_record(r) for r in rows]
        screened = store.screening_progress(session)
    result = find_duplicates(records, auto_threshold=auto_threshold,
                             review_threshold=min(REVIEW_THRESHOLD, auto_threshold), progress=progress,
                             screened={i: screened[rid] for i, rid in enumerate(ids) if rid in screened})
    with session_scope(review.engine, write=True) as session:
        lock_transaction(session, GROUPS_LOCK)  # merges and undoes groups it reads (see _merge_pair)
        screened = store.screening_progress(session)  # as it stands now, for the primaries chosen below
        rejected = store.rejected_pairs(session)
        for members in store.undone_member_sets(session):
            rejected |= {(min(x, y), max(x, y)) for x in members for y in members if x < y}
        live = store.live_groups(session)
        by_id = dict(zip(ids, records, strict=True))
        # A group another run made meanwhile may hold records imported after this run read them: their
        # primary is chosen among all members, so read those records too.
        unseen = {m for _, grouped in live.values() for m in grouped} - by_id.keys()
        by_id |= {rid: row_to_record(row) for rid, row in store.linked_records(session, unseen).items()}
        uf = _UnionFind()
        how: dict[int, tuple[str, float | None]] = {}
        for primary, grouped in live.values():
            for m in grouped:
                uf.union(primary, m)
        apart: dict[int, set[int]] = {}
        for x, y in rejected:
            apart.setdefault(x, set()).add(y)
            apart.setdefault(y, set()).add(x)
        # Sure pairs a human's verdict keeps apart through a third record (A and C rejected or un-merged,
        # B a copy of both): B joins one side (the best pair first), the other pair waits for a human.
        held: list[tuple[int, int, CandidatePair]] = []
        for pair in result.auto_pairs:
            a, b = ids[pair.a], ids[pair.b]
            if (min(a, b), max(a, b)) in rejected:
                continue
            other = uf.cluster(b)
            if apart and uf.find(a) != uf.find(b) and any(apart.get(x, set()) & other for x in uf.cluster(a)):
                held.append((a, b, pair))
                continue
            uf.union(a, b)
            how.setdefault(b, (pair.reason or "fuzzy", pair.score))
            how.setdefault(a, (pair.reason or "fuzzy", pair.score))
        clusters: dict[int, set[int]] = {}
        for rid in list(uf.parent):
            clusters.setdefault(uf.find(rid), set()).add(rid)
        created = merged = carried = changed = 0
        conflicts: list[str] = []
        member_of = {m: gid for gid, (_, members) in live.items() for m in members}
        for members in clusters.values():
            if len(members) < 2:
                continue
            old = {member_of[m] for m in members if m in member_of}
            primary = choose_primary(members, by_id.__getitem__, screened)
            if len(old) == 1 and set(live[next(iter(old))][1]) == members:
                kept = live[next(iter(old))][0]
                # Already exactly this group: its primary stays unless screening never reached it while
                # another member was screened. A primary with decisions keeps its place even when another
                # member has more (an undo or a change of mind must not hand the group to the other copy).
                if (screened.get(kept, NOT_SCREENED) != NOT_SCREENED
                        or screened.get(primary, NOT_SCREENED) <= screened.get(kept, NOT_SCREENED)):
                    continue
                # An older group kept a record screening had not reached: the screened one takes over.
                reason = f"primary re-chosen: record {primary} carries screening decisions"
                changed += 1
            else:
                reason = "joined a larger group"
                # Counted as the run changed them: a group that grew is no new group, and its members
                # removed before are not merged again.
                created += not old
                merged += len(members) - 1 - sum(len(live[gid][1]) - 1 for gid in old)
            group = store.add_group(session, primary, [(m, *how.get(m, ("kept", None))) for m in sorted(members)], who)
            for gid in old:  # superseded by the new group, which an undo of it brings back (dedup_undo)
                store.undo_group(session, gid, who, reason=reason, superseded_by=group.id)
            n, why = carry_links_to_primary(session, primary, sorted(members - {primary}), who, group.id)
            carried, conflicts = carried + n, conflicts + why
        # One held pair (the best) per two clusters: confirming it joins them whole.
        best_held: dict[tuple[int, int], tuple[int, int, CandidatePair]] = {}
        for a, b, pair in held:
            best_held.setdefault((min(uf.find(a), uf.find(b)), max(uf.find(a), uf.find(b))), (a, b, pair))
        queued = 0
        if not auto_only:
            for a, b, pair in [*((ids[p.a], ids[p.b], p) for p in result.uncertain_pairs), *best_held.values()]:
                if (min(a, b), max(a, b)) in rejected or uf.find(a) == uf.find(b):
                    continue
                queued += store.add_pair(session, a, b, pair.score, dict(pair.fields))
        waiting = store.open_pair_count(session)
        proposed = _propose_studies(session, ids, records, who)
        twice = _screened_twice(store.live_groups(session), screened)
    return DedupSummary(len(records), created, merged, queued, waiting, proposed, twice, carried, tuple(conflicts),
                        changed)


def _screened_twice(live: dict[int, tuple[int, list[int]]], screened: dict[int, ScreeningProgress]
                    ) -> tuple[str, ...]:
    """One line per live group whose removed records carry screening decisions too."""
    out = []
    for gid, (primary, members) in live.items():
        others = also_screened(primary, members, screened)
        if others:
            out.append(f"group {gid} keeps record {primary}, decisions also on record{'s' if len(others) > 1 else ''} "
                       + ", ".join(map(str, others)))
    return tuple(out)


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
        rows = store.open_pairs(session)  # none whose records are merged already
        records = {r.id: r for r in store.records_with_ids(session)}
        return [
            PairView(p.id, p.score, row_to_record(records[p.record_a_id]), row_to_record(records[p.record_b_id]),  # type: ignore[arg-type]
                     p.record_a_id, p.record_b_id, dict(p.fields))
            for p in rows
        ]


def pair_evidence(view: PairView) -> dict[str, object]:
    """Field by field similarities and the normalised forms, for a side-by-side view."""
    return explain(view.a, view.b)


@dataclass(frozen=True)
class PairDecision:
    """What a human's verdict on a pair did."""

    pair_id: int
    status: str
    record_a: int
    record_b: int
    #: The live group that holds both records after a confirmation; None after a rejection or a reopen.
    group_id: int | None
    #: False: nothing was changed (the records were merged already, through other pairs).
    changed: bool = True
    #: After a merge: the record the group keeps, and the other members carrying screening decisions too.
    primary: int | None = None
    also_screened: tuple[int, ...] = ()
    #: Records this merge joined that a human had kept apart (a rejected pair, an undone merge), through
    #: the groups either record was in: a deliberate verdict stands, but it is said.
    kept_apart: tuple[tuple[int, int], ...] = ()

    def notes(self) -> list[str]:
        """What a lead may want to look at after the verdict (the CLI and the TUI say it alike)."""
        out = []
        if self.kept_apart:
            shown = ", ".join(f"{x} and {y}" for x, y in self.kept_apart[:3])
            more = f" (and {len(self.kept_apart) - 3} more pairs)" if len(self.kept_apart) > 3 else ""
            out.append(f"group {self.group_id} now joins records {shown}{more}, which a reviewer had kept apart "
                       f"(a rejected pair or an undone merge); if that was right, reviewkit dedup undo "
                       f"{self.group_id} splits it again")
        if self.also_screened:
            others = ", ".join(map(str, self.also_screened))
            out.append(f"group {self.group_id} keeps record {self.primary}; the screening decisions on record"
                       f"{'s' if len(self.also_screened) > 1 else ''} {others} no longer count (a lead may want "
                       "to look)")
        return out


@retry_conflicts
def decide_pair(review: Review, actor: str | None, pair_id: int, duplicate: bool) -> PairDecision:
    """A human's verdict on a waiting pair: confirmed pairs join one group (never deleting anything).

    Only a pair still pending is decided: a verdict stands once given, and the way to split a
    wrong merge is `undo_merge` of its group (so the audit trail reads confirm, then undo, rather
    than a rejection that silently left the records merged); a wrong rejection is taken back
    with `reopen_pair`, which puts the pair back in the queue.
    """
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor).name
        # Locked, so a second verdict given at the same moment waits and then reads this one.
        pair = store.pair(session, pair_id, lock=True)
        if pair is None:
            raise ReviewkitError(f"no duplicate pair {pair_id}", hint="list them with `reviewkit dedup pairs`")
        lock_transaction(session, GROUPS_LOCK)
        live = store.live_groups(session)
        member_of = member_of_group(live)
        if pair.status != "pending":
            raise already_decided(pair, member_of, duplicate)
        a, b = pair.record_a_id, pair.record_b_id
        together = member_of.get(a) if a in member_of and member_of.get(a) == member_of.get(b) else None
        if together is not None:  # merged meanwhile, through other pairs or an automatic merge
            if duplicate:
                return PairDecision(pair_id, pair.status, a, b, together, changed=False)
            raise merged_already(pair, together)
        status = "confirmed" if duplicate else "rejected"
        store.decide_pair(session, pair_id, status, who)
        if not duplicate:
            return PairDecision(pair_id, status, a, b, None)
        apart = _kept_apart(session, set(live[member_of[a]][1]) if a in member_of else {a},
                            set(live[member_of[b]][1]) if b in member_of else {b}, (min(a, b), max(a, b)))
        group, primary, others = _merge_pair(session, pair, live, who)
        return PairDecision(pair_id, status, a, b, group, primary=primary, also_screened=others, kept_apart=apart)


def _kept_apart(session: Session, side_a: set[int], side_b: set[int], itself: tuple[int, int]
                ) -> tuple[tuple[int, int], ...]:
    """Pairs across the two sides of a merge that a human kept apart, as `run_dedup` reads them (rejected
    pairs, undone groups); the confirmed pair itself is left out (reopened and confirmed again on purpose)."""
    found = {(x, y) for x, y in store.rejected_pairs(session)
             if (x in side_a and y in side_b) or (x in side_b and y in side_a)}
    for members in store.undone_member_sets(session):
        found |= {(min(x, y), max(x, y)) for x in members & side_a for y in members & side_b}
    return tuple(sorted(found - {itself}))


@retry_conflicts
def reopen_pair(review: Review, actor: str | None, pair_id: int) -> PairDecision:
    """Take back a wrong rejection, or an undo of a confirmed pair's merge: the pair waits for a human
    again, to be confirmed or rejected.

    The verdict taken back stays in the audit trail (its own event and the reopen's `old`). A confirmed
    pair whose records are still merged is split with `undo_merge` of its group instead, so a merge is
    never left standing under a pair that reads as undecided.
    """
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor).name
        pair = store.pair(session, pair_id, lock=True)  # as in decide_pair: one reopen per rejection
        if pair is None:
            raise ReviewkitError(f"no duplicate pair {pair_id}", hint="list them with `reviewkit dedup pairs`")
        if pair.status == "pending":
            raise ReviewkitError(f"pair {pair_id} is not decided: it is already waiting for a verdict, "
                                 "nothing to reopen", hint=f"reviewkit dedup confirm {pair_id} or reject {pair_id}")
        if pair.status != "rejected":
            lock_transaction(session, GROUPS_LOCK)  # the records' groups are read to decide (see _merge_pair)
            member_of = member_of_group(store.live_groups(session))
            a, b = pair.record_a_id, pair.record_b_id
            # A confirmed pair whose merge was undone is apart again: reopening it is how an undo made by
            # mistake is taken back (confirm it again), as the automatic merges will not redo it.
            if a in member_of and member_of.get(a) == member_of.get(b):
                raise not_reopened(pair, member_of)
        store.reopen_pair(session, pair_id, who)
        return PairDecision(pair_id, "pending", pair.record_a_id, pair.record_b_id, None)


def _merge_pair(session: Session, pair: DuplicatePairRow, live: dict[int, tuple[int, list[int]]], who: str
                ) -> tuple[int, int, tuple[int, ...]]:
    """Put both records of a confirmed pair in one live group (with their groups' members): its id, its
    primary (chosen as dedup chooses it, study links carried over to it) and the other screened members.

    The caller holds GROUPS_LOCK from before it read `live`: the groups a merge depends on include
    ones another transaction may be creating (pairs 1–2 and 2–3 confirmed at once), which no row
    lock covers, so every writer of groups (run_dedup, decide_pair, undo_merge) queues on it.
    """
    a, b = pair.record_a_id, pair.record_b_id
    member_of = member_of_group(live)
    members = {a, b}
    old = {member_of[r] for r in (a, b) if r in member_of}
    for gid in old:
        members |= set(live[gid][1])
    rows = store.linked_records(session, members)  # the members only: a review may hold 100,000 records
    screened = store.screening_progress(session, sorted(members))
    primary = choose_primary(members, lambda i: row_to_record(rows[i]), screened)
    group = store.add_group(session, primary, [(m, "human", pair.score) for m in sorted(members)], who)
    assert group.id is not None  # flushed by add_group
    for gid in old:  # an undo of the new group brings these back (dedup_undo)
        store.undo_group(session, gid, who, reason="joined by a confirmed pair", superseded_by=group.id)
    carry_links_to_primary(session, primary, sorted(members - {primary}), who, group.id)
    return group.id, primary, tuple(also_screened(primary, members, screened))


def group_of(review: Review, record_id: int) -> int | None:
    """The live duplicate group a record belongs to, if any."""
    with session_scope(review.engine) as session:
        for gid, (_, members) in store.live_groups(session).items():
            if record_id in members:
                return gid
    return None


def export_dedup(review: Review, path: Path) -> int:
    """One row per record as CSV: id, group, primary or not, and the identifiers it was imported with."""
    if path.suffix.lower() != ".csv":
        raise ReviewkitError("the dedup table is CSV", where=str(path), hint="name a .csv file")
    with session_scope(review.engine) as session:
        # Groups before records: on PostgreSQL each read sees what was committed by then, and a group's
        # records are committed before it, so every member (its primary too) is among the rows written.
        groups = store.live_groups(session)
        rows = store.records_with_ids(session)
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

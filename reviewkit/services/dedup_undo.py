"""Provides undo_merge: a wrong merge taken back, and the groups it had taken in brought back.

A group made by a confirmed pair (or a dedup run) takes in the groups its records were in: an automatic
merge of records 2 and 3, then a human confirming 1 and 3, gives one group of 1, 2 and 3, and the group of 2
and 3 is marked undone (superseded). Undoing the larger group says the human's merge was wrong, not the
automatic one: without bringing it back, 2 and 3 would count as two records again, and no later run would
merge them (an undone group's records are kept apart from then on).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from reviewkit.domain.dedup import choose_primary
from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.services.studies import carry_links_to_primary, take_back_carried_links
from reviewkit.store import dedup as store
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import GROUPS_LOCK, lock_transaction, retry_conflicts, session_scope
from reviewkit.store.tables import RecordRow

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class UndoneMerge:
    """The undone group's records, the groups brought back (new group id → its records), and the confirmed
    pairs whose records are apart again (a human said "duplicate"; the pair still reads confirmed until
    reopened, so the caller can offer `reviewkit dedup reopen`)."""

    members: list[int]
    restored: dict[int, list[int]]
    confirmed_apart: list[int]

    @property
    def apart(self) -> list[int]:
        """The records that count separately again (in no group brought back)."""
        kept = {r for members in self.restored.values() for r in members}
        return [r for r in self.members if r not in kept]


@retry_conflicts
def undo_merge(review: Review, actor: str | None, group_id: int) -> UndoneMerge:
    """Undo a wrong merge: the group is marked undone and its records count separately again, except that
    the groups it took in when it was made (store.undo_group's superseded_by) stand again, each as a new
    group (audited as restored from the old one). Nothing is deleted; a later dedup run does not merge the
    undone group's records again beyond what is brought back.
    """
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor).name
        lock_transaction(session, GROUPS_LOCK)  # as every writer of groups (services.dedup._merge_pair)
        live = store.live_groups(session).get(group_id)
        if live is None or store.undo_group(session, group_id, who, reason="undo") is None:
            raise ReviewkitError(f"no live duplicate group {group_id}",
                                 hint="`reviewkit dedup export FILE.csv` lists the groups")
        members = live[1]
        # The study links the merge gave the primary go back with it (a wrong merge undone must not
        # leave a record nobody confirmed as a confirmed report, counted in PRISMA).
        take_back_carried_links(session, group_id, who)
        restored: dict[int, list[int]] = {}
        for old in _taken_in(session, group_id, set(members), set()):
            rows = store.group_members(session, old)
            ids = {m.record_id for m in rows}
            if ids & {r for v in restored.values() for r in v}:
                continue
            records = store.linked_records(session, ids)
            screened = store.screening_progress(session, sorted(ids))
            primary = choose_primary(ids, partial(_record, records), screened)
            group = store.add_group(session, primary, [(m.record_id, m.method, m.score) for m in rows], who,
                                    restored_from=old)
            assert group.id is not None  # flushed by add_group
            carry_links_to_primary(session, primary, sorted(ids - {primary}), who, group.id)
            restored[group.id] = sorted(ids)
        together = [set(v) for v in restored.values()]
        inside = set(members)
        apart = [p.id for p in store.pairs(session, "confirmed")
                 if p.id is not None and {p.record_a_id, p.record_b_id} <= inside
                 and not any({p.record_a_id, p.record_b_id} <= t for t in together)]
        return UndoneMerge(members, restored, sorted(apart))


def _taken_in(session: Session, group_id: int, members: set[int], seen: set[int]) -> list[int]:
    """The smaller groups `group_id` stands for having taken in: those its making superseded, and, through a
    group of the same records (its primary re-chosen by a run) or a group it was restored from, theirs."""
    if group_id in seen:
        return []
    seen.add(group_id)
    found: list[int] = []
    for old in store.superseded_groups(session, group_id, members):
        ids = {m.record_id for m in store.group_members(session, old)}
        if not ids <= members:
            continue
        # The same records under another primary is this merge itself: what it took in is what counts.
        found += _taken_in(session, old, members, seen) if len(ids) >= len(members) else [old]
    earlier = store.restored_from(session, group_id)
    if earlier is not None:
        found += _taken_in(session, earlier, members, seen)
    return found


def _record(rows: dict[int, RecordRow], record_id: int) -> Record:
    return row_to_record(rows[record_id])

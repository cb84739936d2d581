"""Provides the refusals of a verdict on a duplicate pair that would not do what it says, each naming what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.errors import ReviewkitError

if TYPE_CHECKING:
    from reviewkit.store.tables import DuplicatePairRow


def not_reopened(pair: DuplicatePairRow, member_of: dict[int, int]) -> ReviewkitError:
    """The refusal to reopen a confirmed pair whose records are merged, pointing at the undo of its merge."""
    a, b = pair.record_a_id, pair.record_b_id
    by = f" by {pair.decided_by}" if pair.decided_by else ""
    group = member_of[a]
    return ReviewkitError(f"pair {pair.id} is confirmed{by}: records {a} and {b} are merged in group {group}; "
                          "a pair is reopened once its records are apart",
                          hint=f"to split a wrong merge: reviewkit dedup undo {group}")


def member_of_group(live: dict[int, tuple[int, list[int]]]) -> dict[int, int]:
    """record id → its live group."""
    return {m: gid for gid, (_, members) in live.items() for m in members}


def already_decided(pair: DuplicatePairRow, member_of: dict[int, int], duplicate: bool) -> ReviewkitError:
    """The refusal of a second verdict, pointing at what to do instead."""
    a, b = pair.record_a_id, pair.record_b_id
    by = f" by {pair.decided_by}" if pair.decided_by else ""
    group = member_of.get(a) if member_of.get(a) == member_of.get(b) else None
    if pair.status == "rejected":
        return ReviewkitError(f"pair {pair.id} is already rejected{by}: records {a} and {b} stay apart",
                              hint=f"if the rejection was wrong: reviewkit dedup reopen {pair.id}")
    if group is None:
        # The pair still reads as confirmed, so a verdict is refused; reopening it is how the undo is
        # taken back (confirm it again) or the pair decided anew.
        return ReviewkitError(f"pair {pair.id} is already confirmed{by}, and its merge has since been undone: "
                              f"records {a} and {b} are apart",
                              hint=f"to decide it again: reviewkit dedup reopen {pair.id}, then "
                                   f"reviewkit dedup {'confirm' if duplicate else 'reject'} {pair.id}")
    if duplicate:
        return ReviewkitError(f"pair {pair.id} is already confirmed (group {group})")
    return ReviewkitError(f"pair {pair.id} is already confirmed{by}: records {a} and {b} are merged in group {group}",
                          hint=f"to split a wrong merge: reviewkit dedup undo {group}")


class MergedAlready(ReviewkitError):
    """A rejection of a pair whose records are already in one live group: the pair has no question left,
    so a queue drops it rather than offer it again."""


def merged_already(pair: DuplicatePairRow, group: int) -> ReviewkitError:
    """The refusal to reject a pair whose records are already in one live group: it would not split them."""
    return MergedAlready(f"pair {pair.id}: records {pair.record_a_id} and {pair.record_b_id} are already merged in "
                          f"duplicate group {group} (through other pairs or an automatic merge), so a rejection "
                          "would not keep them apart; nothing changed",
                          hint=f"to split the group: reviewkit dedup undo {group}")

"""Tests for pairs whose two records are already in one group: nothing left to decide, and no rejection.

Three copies of one paper make three uncertain pairs. Confirming two of them merges all three, so
the third asks about records already merged: it leaves every queue and count, confirming it changes
nothing (and says so), and rejecting it is refused, pointing at `dedup undo` (a rejection would
read "stay apart" while they stay merged).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services import dedup
from reviewkit.services.audit import audit_trail
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from reviewkit.store import dedup as store
from reviewkit.store.db import session_scope
from tests.factories import PAIR_TITLE, add_records


def three_copies(review: Review) -> tuple[list[int], dict[frozenset[int], int]]:
    """Three title-only copies (no automatic merge): their ids, and pair id by its two records."""
    ids = add_records(review, [Record(title=PAIR_TITLE) for _ in range(3)])
    dedup.run_dedup(review)
    pairs = {frozenset((p.a_id, p.b_id)): p.id for p in dedup.pending_pairs(review)}
    assert len(pairs) == 3
    return ids, pairs


def waiting(review: Review) -> int:
    with session_scope(review.engine) as session:
        return store.open_pair_count(session)


def merge_two(review: Review) -> tuple[list[int], int, int]:
    """Pairs a–b and a–c confirmed: the ids, the live group and the b–c pair left pending."""
    (a, b, c), pairs = three_copies(review)
    dedup.decide_pair(review, "alice", pairs[frozenset((a, b))], True)
    group = dedup.decide_pair(review, "alice", pairs[frozenset((a, c))], True).group_id
    assert group is not None and dedup.group_of(review, b) == dedup.group_of(review, c) == group
    return [a, b, c], group, pairs[frozenset((b, c))]


def test_a_pair_inside_one_group_leaves_the_queue_and_the_counts(review: Review) -> None:
    """The queue (the TUI's too), the run's "waiting" and the status count leave the b–c pair out."""
    _, group, _ = merge_two(review)
    assert dedup.pending_pairs(review) == []
    assert waiting(review) == 0
    assert review_status(review).pending_duplicate_pairs == 0
    assert dedup.run_dedup(review).pairs_waiting == 0
    # Once the group is undone, the pair is a real question again.
    (a, b, c) = undo_merge(review, "alice", group).members
    assert [{p.a_id, p.b_id} for p in dedup.pending_pairs(review)] == [{b, c}]
    assert waiting(review) == 1
    assert review_status(review).pending_duplicate_pairs == 1


def test_confirming_it_changes_nothing_and_says_so(review: Review) -> None:
    """Confirming the b–c pair is a no-op: no verdict, no merge written, the same group reported."""
    (_, b, c), group, bc = merge_two(review)
    events = len(audit_trail(review))
    done = dedup.decide_pair(review, "bob", bc, True)
    assert (done.changed, done.group_id, done.status) == (False, group, "pending")
    assert len(audit_trail(review)) == events
    assert dedup.group_of(review, b) == dedup.group_of(review, c) == group


def test_rejecting_it_is_refused_naming_the_group_and_the_undo(review: Review) -> None:
    """A rejection would not keep b and c apart: refused, nothing written, the way to split named."""
    (_, b, c), group, bc = merge_two(review)
    events = len(audit_trail(review))
    with pytest.raises(ReviewkitError, match=rf"pair {bc}: records {b} and {c} are already merged in duplicate "
                                             rf"group {group} .*dedup undo {group}"):
        dedup.decide_pair(review, "bob", bc, False)
    assert len(audit_trail(review)) == events
    assert dedup.group_of(review, b) == dedup.group_of(review, c) == group
    with session_scope(review.engine) as session:
        assert store.pair(session, bc).status == "pending"  # type: ignore[union-attr]


def test_the_cli_says_so(review: Review, tmp_path: Path) -> None:
    """`dedup confirm` prints that nothing changed; `dedup reject` fails with the group and `dedup undo`."""
    (_, b, c), group, bc = merge_two(review)
    pre = ["-C", str(review.folder), "--reviewer", "alice", "dedup"]
    result = CliRunner().invoke(cli, [*pre, "confirm", str(bc)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"pair {bc}: records {b} and {c} are already merged in group {group}; nothing changed"
    result = CliRunner().invoke(cli, [*pre, "reject", str(bc)])
    assert result.exit_code == 1
    assert f"already merged in duplicate group {group}" in result.output
    assert f"reviewkit dedup undo {group}" in result.output
    assert "rejected" not in result.output
    result = CliRunner().invoke(cli, [*pre])
    assert "(0 waiting)" in result.output, result.output

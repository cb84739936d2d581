"""Tests for reopening a rejected duplicate pair: back in the queue, history kept, dedup re-runs leave it waiting."""

from __future__ import annotations

import pytest
from sqlmodel import select

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import dedup
from reviewkit.services.audit import audit_trail
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.screening import upsert_reviewers
from reviewkit.store.tables import DuplicatePairRow
from tests.factories import uncertain_pair


@pytest.fixture
def pair(review: Review) -> dedup.PairView:
    return uncertain_pair(review)


def _pair_events(review: Review) -> list[tuple[str, str]]:
    return [(e.action, e.actor) for e in audit_trail(review) if e.entity == "duplicate_pair"]


def test_a_wrong_rejection_is_reopened_and_then_confirmed(review: Review, pair: dedup.PairView) -> None:
    """reject → reopen puts the pair back in the queue; a confirm then merges its records."""
    dedup.decide_pair(review, "bob", pair.id, False)
    assert dedup.pending_pairs(review) == []
    done = dedup.reopen_pair(review, "alice", pair.id)
    assert (done.pair_id, done.status, done.group_id) == (pair.id, "pending", None)
    assert [p.id for p in dedup.pending_pairs(review)] == [pair.id]
    merged = dedup.decide_pair(review, "alice", pair.id, True)
    assert merged.group_id is not None
    assert dedup.group_of(review, pair.a_id) == dedup.group_of(review, pair.b_id) == merged.group_id


def test_the_rejection_stays_in_the_history(review: Review, pair: dedup.PairView) -> None:
    """The audit trail reads rejected, reopen (naming the verdict it took back), confirmed; the row is kept."""
    dedup.decide_pair(review, "bob", pair.id, False)
    dedup.reopen_pair(review, "alice", pair.id)
    dedup.decide_pair(review, "alice", pair.id, True)
    assert _pair_events(review) == [("rejected", "bob"), ("reopen", "alice"), ("confirmed", "alice")]
    reopen = next(e for e in audit_trail(review) if e.action == "reopen")
    assert reopen.entity_id == pair.id
    assert (reopen.old["status"], reopen.old["decided_by"]) == ("rejected", "bob")
    assert reopen.old["decided_at"]
    assert reopen.new == {"status": "pending", "records": [pair.a_id, pair.b_id]}
    with session_scope(review.engine) as session:
        rows = session.exec(select(DuplicatePairRow)).all()
    assert [(r.id, r.status, r.decided_by) for r in rows] == [(pair.id, "confirmed", "alice")]


def test_a_dedup_rerun_leaves_the_reopened_pair_waiting(review: Review, pair: dedup.PairView) -> None:
    """A later run neither treats the pair as rejected nor queues it a second time."""
    dedup.decide_pair(review, "bob", pair.id, False)
    dedup.reopen_pair(review, "alice", pair.id)
    summary = dedup.run_dedup(review)
    assert (summary.pairs_queued, summary.pairs_waiting, summary.groups_created) == (0, 1, 0)
    assert [p.id for p in dedup.pending_pairs(review)] == [pair.id]
    assert dedup.group_of(review, pair.a_id) is None
    assert _pair_events(review) == [("rejected", "bob"), ("reopen", "alice")]


def test_a_waiting_pair_has_nothing_to_reopen(review: Review, pair: dedup.PairView) -> None:
    """Reopening a pending pair is refused and writes nothing."""
    with pytest.raises(ReviewkitError, match=f"pair {pair.id} is not decided.*nothing to reopen"):
        dedup.reopen_pair(review, "alice", pair.id)
    assert _pair_events(review) == []


def test_a_confirmed_pair_is_not_reopened_but_undone(review: Review, pair: dedup.PairView) -> None:
    """A confirmed pair points at `dedup undo GROUP`; the merge and the verdict stay."""
    group = dedup.decide_pair(review, "bob", pair.id, True).group_id
    with pytest.raises(ReviewkitError, match=f"confirmed by bob: records .* merged in group {group}.*"):
        dedup.reopen_pair(review, "alice", pair.id)
    assert dedup.group_of(review, pair.a_id) == group
    assert _pair_events(review) == [("confirmed", "bob")]
    assert dedup.pending_pairs(review) == []


def test_an_undone_merge_is_taken_back_by_reopening_its_pair(review: Review, pair: dedup.PairView) -> None:
    """Once its merge is undone the pair's records are apart, and a dedup run never merges them again: an
    undo made by mistake had no way back. Reopening the pair puts it in the queue, and confirming merges."""
    group = dedup.decide_pair(review, "bob", pair.id, True).group_id
    undo_merge(review, "alice", group)  # type: ignore[arg-type]
    assert dedup.run_dedup(review).groups_created == 0
    dedup.reopen_pair(review, "alice", pair.id)
    assert [p.id for p in dedup.pending_pairs(review)] == [pair.id]
    again = dedup.decide_pair(review, "bob", pair.id, True)
    assert again.group_id not in (None, group) and dedup.group_of(review, pair.b_id) == again.group_id
    assert _pair_events(review) == [("confirmed", "bob"), ("reopen", "alice"), ("confirmed", "bob")]


def test_a_rejected_pair_points_at_reopen(review: Review, pair: dedup.PairView) -> None:
    """A second verdict on a rejected pair is refused, naming the way to take the rejection back."""
    dedup.decide_pair(review, "bob", pair.id, False)
    with pytest.raises(ReviewkitError, match=f"reviewkit dedup reopen {pair.id}"):
        dedup.decide_pair(review, "alice", pair.id, True)


def test_reopen_needs_a_reviewer_on_the_team(review: Review, pair: dedup.PairView) -> None:
    """As for a verdict: no name, an unknown name and a reviewer dropped from the team are refused."""
    dedup.decide_pair(review, "bob", pair.id, False)
    with pytest.raises(ReviewkitError, match="no reviewer given"):
        dedup.reopen_pair(review, None, pair.id)
    with pytest.raises(ReviewkitError, match="unknown reviewer 'zed'"):
        dedup.reopen_pair(review, "zed", pair.id)
    with session_scope(review.engine, write=True) as session:  # bob dropped from review.toml
        upsert_reviewers(session, {"alice": ["screener", "lead"], "carol": ["adjudicator"]})
    with pytest.raises(PermissionDenied, match="'bob' is no longer on this review's team"):
        dedup.reopen_pair(review, "bob", pair.id)
    assert dedup.pending_pairs(review) == []
    assert _pair_events(review) == [("rejected", "bob")]


def test_an_unknown_pair_is_named(review: Review) -> None:
    """A pair that does not exist is refused by its id."""
    with pytest.raises(ReviewkitError, match="no duplicate pair 99"):
        dedup.reopen_pair(review, "alice", 99)

"""Pilot test for the duplicates screen's undo after a confirmation that merged nothing."""

from __future__ import annotations

from reviewkit.domain.records import Record
from reviewkit.services import dedup
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.store import dedup as store
from reviewkit.store.db import session_scope
from reviewkit.tui.app import make_app
from tests.factories import PAIR_TITLE, add_records
from tests.tui.test_dedup_screen import SIZE, open_dedup, remember_notices, settle, status


async def test_undo_skips_a_confirmation_that_merged_nothing(review: Review) -> None:
    """Three copies: y on pairs 1–2 and 1–3 merges all three, so y on 2–3 changes nothing (and says so). u then
    undoes the last merge made here, 1–3's, whose pair is back to check. It undid "2–3", which was 1–3's
    merge, and left pair 1–3 confirmed with its records apart (in no list), saying records 2 and 3 were apart."""
    one, two, three = add_records(review, [Record(title=PAIR_TITLE) for _ in range(3)])
    dedup.run_dedup(review)
    assert [{p.a_id, p.b_id} for p in dedup.pending_pairs(review)] == [{one, two}, {one, three}, {two, three}]
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        notices = remember_notices(app)
        await open_dedup(pilot, app)
        await pilot.press("y", "y")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert any(f"{two} and {three} were already merged" in n and "nothing changed" in n for n in notices)
        await pilot.press("u")
        await settle(pilot)
        assert any(f"records {one} and {three} count separately again" in n for n in notices)
        assert "1 pair left" in status(app)
    group = dedup.group_of(review, one)
    assert group is not None and dedup.group_of(review, two) == group and dedup.group_of(review, three) is None
    with session_scope(review.engine) as session:
        status_of = {(p.record_a_id, p.record_b_id): p.status for p in store.pairs(session)}
    # Every pair is decided with its verdict standing, or waits: none is confirmed with its records apart.
    assert status_of[(one, three)] == "pending" and status_of[(one, two)] == "confirmed"


async def test_undo_leaves_a_merge_made_since_by_someone_else(review: Review) -> None:
    """y on pair 1–2; elsewhere that merge is undone and 1 merged with 3. u then refuses (1 and 2 are not
    merged now) instead of undoing the group of 1 and 3, which nobody here made."""
    one, two, three = add_records(review, [Record(title=PAIR_TITLE) for _ in range(3)])
    dedup.run_dedup(review)
    pairs = {frozenset((p.a_id, p.b_id)): p.id for p in dedup.pending_pairs(review)}
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        notices = remember_notices(app)
        await open_dedup(pilot, app)
        await pilot.press("y")  # the first pair: 1–2
        await settle(pilot)
        undo_merge(review, "bob", dedup.group_of(review, one))  # type: ignore[arg-type]
        dedup.decide_pair(review, "bob", pairs[frozenset((one, three))], True)
        theirs = dedup.group_of(review, one)
        await pilot.press("u")
        await settle(pilot)
        assert any(f"records {one} and {two} are not merged now" in n for n in notices)
    assert theirs is not None and dedup.group_of(review, three) == theirs

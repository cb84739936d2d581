"""Pilot tests for a screener's note across a change of decision, and two wordings: the queue position past
its end, and the conflicts key without a reviewer."""

from __future__ import annotations

from reviewkit.services import screen, screen_cards
from reviewkit.services.conflicts import list_conflicts
from reviewkit.services.project import Review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens.dashboard import DashboardScreen
from tests.factories import add_records
from tests.tui.test_screening import (
    SIZE,
    _pass_title_abstract,
    settle,
    shown,
    status_text,
    write_note,
)


def notes_of(app: ReviewkitApp) -> list[str]:
    """The notifications shown so far."""
    return [str(n.message) for n in app._notifications]


def _own(review: Review, rid: int, stage: str = "ta") -> tuple[str, str | None, str | None]:
    own = screen_cards.record_card(review, "alice", rid, stage).own
    assert own is not None
    return own.decision, own.reason, own.note


async def test_a_changed_decision_keeps_the_note(review: Review) -> None:
    """n, a note, i; then back (k) and e: the exclusion carries her note (it used to be stored without
    one, while the note prompt still showed it as hers); the adjudicator sees it."""
    a, _ = add_records(review, 2)
    screen.record_decision(review, "bob", a, "ta", "include")
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await write_note(pilot, "population is children")
        await pilot.press("i")
        await settle(pilot)
        assert _own(review, a) == ("include", None, "population is children")
        await pilot.press("k", "e")  # at once, before the card is read again
        await settle(pilot)
        assert _own(review, a) == ("exclude", None, "population is children")
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("m")  # once the card is read again too
        await settle(pilot)
        assert _own(review, a) == ("maybe", None, "population is children")
        await pilot.press("k", "e")
        await settle(pilot)
    (conflict,) = list_conflicts(review, "carol", "ta")
    assert [(d.reviewer, d.note) for d in conflict.decisions] == [("bob", None), ("alice", "population is children")]


async def test_a_note_cleared_is_cleared_with_the_next_decision(review: Review) -> None:
    """Editing the note away (an empty note) is what goes with the changed decision."""
    a, _ = add_records(review, 2)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await write_note(pilot, "children")
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+u", "enter")  # the prompt held her note: deleted
        await pilot.pause()
        assert "note ready" not in status_text(app)
        await pilot.press("e")
        await settle(pilot)
    assert _own(review, a) == ("exclude", None, None)


async def test_the_full_text_exclusion_dialog_keeps_her_note(review: Review) -> None:
    """At full text, a note and i, then back and e: the reason dialog holds her note, stored with the
    exclusion as it is."""
    a, _ = _pass_title_abstract(review, 2)
    app = make_app(review, reviewer="alice", stage="ft")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await write_note(pilot, "dose unclear")
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("k", "e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("1")
        await settle(pilot)
    assert _own(review, a, "ft") == ("exclude", "Animal study", "dose unclear")


async def test_past_the_end_the_progress_line_says_so(review: Review) -> None:
    """Past the last record no record is shown: the line said "2 of 2 in queue" as if the last still were."""
    add_records(review, 2)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "1 of 2 in queue" in status_text(app)
        await pilot.press("i", "e")
        await settle(pilot)
        assert shown(app).queue.current is None
        assert "2 of 2 in queue" not in status_text(app) and "end of queue (2 records)" in status_text(app)


async def test_the_conflicts_key_without_a_reviewer_says_how_to_set_one(review: Review) -> None:
    """Not "no reviewer is neither": the notice says no reviewer is set, and how to set one."""
    app = make_app(review, reviewer=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        (notice,) = notes_of(app)
        assert "is neither" not in notice and "no reviewer is set" in notice and "--reviewer NAME" in notice

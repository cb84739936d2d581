"""Pilot tests for the conflicts screen: who may see it, both sides shown, adjudication stored."""

from __future__ import annotations

from rich.console import Console
from textual.widgets import DataTable, Static

from reviewkit.services import screen
from reviewkit.services.project import Review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens.conflicts import ConflictsScreen, decisions_table
from tests.factories import add_records
from tests.tui.test_screening import SIZE, settle


def _conflict(review: Review, stage: str = "ta") -> int:
    (rid,) = add_records(review, 1)
    if stage == "ft":
        for who in ("alice", "bob"):
            screen.record_decision(review, who, rid, "ta", "include")
    screen.record_decision(review, "alice", rid, stage, "include", note="looks randomised")
    reason = "Review" if stage == "ft" else None
    screen.record_decision(review, "bob", rid, stage, "exclude", reason=reason, note="a narrative review")
    return rid


def _text(app: ReviewkitApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_carol_sees_both_sides_and_resolves(review: Review) -> None:
    """The adjudicator opens conflicts from the dashboard, sees both decisions and notes, and includes."""
    rid = _conflict(review)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        assert app.screen.query_one("#conflict-list", DataTable).row_count == 1
        assert "Conflicts at title/abstract: 1" in _text(app, "#conflicts-status")
        assert app.screen.query_one("#conflict-detail", Static).size.height > 0
        assert [(d.reviewer, d.note) for d in app.screen.conflicts[0].decisions] == [
            ("alice", "looks randomised"), ("bob", "a narrative review")]
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"RCT per methods", "enter")
        await pilot.press("i")
        await settle(pilot)
        assert "No conflicts at title/abstract." in _text(app, "#conflicts-status")
    assert screen.list_conflicts(review, "carol", "ta") == []
    assert screen.record_card(review, "alice", rid, "ta").outcome == "included"


async def test_side_by_side_table_shows_both_notes(review: Review) -> None:
    """The detail pane puts each reviewer's decision and note in its own column."""
    _conflict(review)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ConflictsScreen(review, "carol"))
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen)
        console = Console(width=100, record=True)
        console.print(decisions_table(app.screen.conflicts[0], None))
        out = console.export_text()
        line = next(row for row in out.splitlines() if "note" in row)
        assert "looks randomised" in line and "a narrative review" in line


async def test_screeners_are_refused(review: Review) -> None:
    """A plain screener sees why the conflicts are not shown to them."""
    _conflict(review)
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ConflictsScreen(review, "bob"))
        await settle(pilot)
        assert "is not a adjudicator or lead" in _text(app, "#conflicts-status")
        assert not app.screen.query_one("#conflict-list", DataTable).display


async def test_full_text_exclusion_needs_a_reason(review: Review) -> None:
    """At full text, excluding a conflict asks for the protocol reason, stored with the adjudication."""
    rid = _conflict(review, "ft")
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ConflictsScreen(review, "carol"))
        await settle(pilot)
        assert "No conflicts at title/abstract." in _text(app, "#conflicts-status")
        await pilot.press("t")
        await settle(pilot)
        assert "Conflicts at full text: 1" in _text(app, "#conflicts-status")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("6")
        await settle(pilot)
        assert "No conflicts at full text." in _text(app, "#conflicts-status")
    assert screen.record_card(review, "alice", rid, "ft").outcome == "excluded"

"""Pilot tests for the conflicts screen: who may see it, both sides shown, adjudication stored."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rich.console import Console
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import DataTable, Label, Static

from reviewkit.domain.records import Record
from reviewkit.services import screen, screen_cards
from reviewkit.services.conflicts import list_conflicts
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from reviewkit.store import screening as screening_store
from reviewkit.store.db import session_scope
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens.conflicts import ConflictsScreen, decisions_table
from tests.factories import add_records
from tests.tui.rendered import footer_line, line_with, screen_lines
from tests.tui.test_screening import SIZE, settle, write_note


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


def _two_conflicts(review: Review) -> list[int]:
    """Two records with structured abstracts, each split between alice and bob at title/abstract."""
    records = [
        Record(title="Baricitinib versus placebo in adults with atopic dermatitis",
               abstract="BACKGROUND: JAK inhibition.\nMETHODS: randomised, placebo-controlled.",
               authors=["Simpson EL"], journal="Br J Dermatol", year=2020, pmid="32000001",
               doi="10.1111/bjd.1", source_id="a"),
        Record(title="Tofacitinib in murine psoriasis", abstract="OBJECTIVE: skin plaques in mice.",
               authors=["Lacour JP"], journal="J Invest Dermatol", year=2019, nct_ids=["NCT01234567"],
               source_id="b"),
    ]
    ids = add_records(review, records)
    for rid in ids:
        screen.record_decision(review, "alice", rid, "ta", "include")
        screen.record_decision(review, "bob", rid, "ta", "exclude")
    return ids


def _card(app: ReviewkitApp) -> str:
    assert isinstance(app.screen, ConflictsScreen)
    return str(app.screen.card_view.render())


async def _open_conflicts(pilot: Pilot[None], app: ReviewkitApp, actor: str) -> ConflictsScreen:
    await app.push_screen(ConflictsScreen(app.review, actor))
    await settle(pilot)
    assert isinstance(app.screen, ConflictsScreen)
    return app.screen


async def test_selected_conflicts_record_is_shown_and_follows_the_selection(review: Review) -> None:
    """The card beside the decisions shows the selected record as screening does; moving the cursor changes it."""
    first, second = _two_conflicts(review)
    app = make_app(review, reviewer="alice")  # a lead (who may look) and a screener
    async with app.run_test(size=SIZE) as pilot:
        conflicts = await _open_conflicts(pilot, app, "alice")
        assert conflicts.card_view.record_id == first
        text = _card(app)
        for part in ("Baricitinib versus placebo in adults with atopic dermatitis", "Simpson EL",
                     "Br J Dermatol. 2020", "PMID 32000001", "DOI 10.1111/bjd.1",
                     "BACKGROUND: JAK inhibition.", "METHODS: randomised, placebo-controlled."):
            assert part in text
        # The decisions stay in the table beside it, not repeated on the card.
        assert "Your decision" not in text and "bob:" not in text
        await pilot.press("down")
        await settle(pilot)
        assert conflicts.card_view.record_id == second
        text = _card(app)
        assert "Tofacitinib in murine psoriasis" in text and "OBJECTIVE: skin plaques in mice." in text
        assert "NCT01234567" in text and "Baricitinib versus placebo" not in text
        await pilot.press("up")
        await pilot.pause()
        assert conflicts.card_view.record_id == first  # read once: shown again without a worker
        assert "Baricitinib versus placebo" in _card(app)


async def test_coming_back_before_a_card_arrives_shows_the_record_again(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Down to a record whose card is still loading, then back up: the first record is drawn again."""
    first, second = _two_conflicts(review)
    release = threading.Event()
    read_cards = screen_cards.record_cards

    def slow_for_second(*args: Any, **kwargs: Any) -> list[screen_cards.RecordCard]:
        if list(args[2]) == [second]:
            release.wait(10)
        return read_cards(*args, **kwargs)

    monkeypatch.setattr(screen_cards, "record_cards", slow_for_second)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        conflicts = await _open_conflicts(pilot, app, "alice")
        assert conflicts.card_view.record_id == first
        await pilot.press("down")
        await pilot.pause()
        assert f"Loading record {second}" in _card(app)
        await pilot.press("up")
        await pilot.pause()
        release.set()
        await settle(pilot)
        assert "Baricitinib versus placebo" in _card(app)
        assert "Loading" not in _card(app)


async def test_card_highlights_the_protocols_keywords(review: Review) -> None:
    """Inclusion and exclusion keywords are styled on the conflict's card, in two colours."""
    _two_conflicts(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        conflicts = await _open_conflicts(pilot, app, "alice")
        await pilot.press("down")
        await settle(pilot)
        rich = conflicts.card_view.render()
        assert isinstance(rich, Content)
        styles = {rich.plain[s.start:s.end]: s.style for s in rich.spans}
        assert styles["Tofacitinib in murine psoriasis"] != styles["murine"]
        assert styles["murine"] == styles["psoriasis"] == styles["mice"]
        await pilot.press("up")
        await settle(pilot)
        rich = conflicts.card_view.render()
        assert isinstance(rich, Content)
        styles = {rich.plain[s.start:s.end]: s.style for s in rich.spans}
        assert styles["Baricitinib"] == styles["placebo"] != styles["BACKGROUND:"]


async def test_adjudicator_who_does_not_screen_sees_the_record(review: Review) -> None:
    """carol (adjudicator, not a screener) sees the selected conflict's record too."""
    _two_conflicts(review)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        await _open_conflicts(pilot, app, "carol")
        assert "Baricitinib versus placebo in adults with atopic dermatitis" in _card(app)


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
    assert list_conflicts(review, "carol", "ta") == []
    assert screen_cards.record_card(review, "alice", rid, "ta").outcome == "included"


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
        assert "is not an adjudicator or lead" in _text(app, "#conflicts-status")
        assert not app.screen.query_one("#conflict-list", DataTable).display


async def test_a_screener_is_not_taken_to_the_conflicts_screen(review: Review) -> None:
    """bob (a screener) presses c on the dashboard: a warning, and he stays on the dashboard."""
    _conflict(review)
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = type(app.screen)
        await pilot.press("c")
        await settle(pilot)
        assert type(app.screen) is before and not isinstance(app.screen, ConflictsScreen)
        assert any("adjudicators and leads" in str(n.message) for n in app._notifications)


async def test_c_opens_full_text_when_only_full_text_has_conflicts(review: Review) -> None:
    """The dashboard counted a full-text conflict, c opened "No conflicts at title/abstract."."""
    _conflict(review, "ft")
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dashboard = app.screen
        for _ in range(50):  # the counts arrive from a worker
            if getattr(dashboard, "status", None) is not None:
                break
            await pilot.pause(0.1)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConflictsScreen) and app.screen.stage == "ft"
        assert _text(app, "#conflicts-status") == "Conflicts at full text: 1."


async def test_a_lead_looks_but_only_an_adjudicator_settles(review: Review) -> None:
    """alice (lead, not adjudicator) sees the conflicts marked view only, without the settling keys;
    carol (adjudicator) has them."""
    _conflict(review)
    for who, may_settle in (("alice", False), ("carol", True)):
        app = make_app(review, reviewer=who)
        async with app.run_test(size=SIZE) as pilot:
            conflicts = await _open_conflicts(pilot, app, who)
            assert ("view only" in _text(app, "#conflicts-status")) is not may_settle
            keys = {key for key, b in app.screen.active_bindings.items() if b.enabled}
            assert ({"i", "e", "n"} <= keys) is may_settle
            if not may_settle:
                await pilot.press("i")
                await settle(pilot)
                assert list_conflicts(review, "carol", "ta")  # nothing settled
            assert conflicts.conflicts


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
    assert screen_cards.record_card(review, "alice", rid, "ft").outcome == "excluded"


async def test_an_adjudicator_s_note_entered_before_a_reason_asks_for_the_reason(review: Review) -> None:
    """The adjudicator's note typed and entered in the reason picker stored the first reason, not chosen;
    now the picker asks for the reason, and the one pressed then is stored with the note."""
    rid = _conflict(review, "ft")
    reasons = review.protocol.screening.exclusion_reasons
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ConflictsScreen(review, "carol", stage="ft"))
        await settle(pilot)
        await pilot.press("e", "tab", *"a review of trials", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        assert "which option goes with it?" in str(app.screen.query_one("#choice-hint", Label).render())
        await pilot.press("2")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceModal)
    with session_scope(review.engine) as session:
        row = screening_store.adjudication_row(session, rid, "ft")
        assert row is not None and (row.decision, row.reason, row.note) == ("exclude", reasons[1], "a review of trials")


async def test_different_full_text_reasons_are_listed_and_e_picks_the_one_counted(review: Review) -> None:
    """Both screeners excluded the report, for different reasons: listed after the conflicts, `i` is
    refused (it is out either way), `e` stores the reason PRISMA counts."""
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, "ta", "include")
    screen.record_decision(review, "alice", rid, "ft", "exclude", reason="Animal study")
    screen.record_decision(review, "bob", rid, "ft", "exclude", reason="Review")
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ConflictsScreen(review, "carol", stage="ft"))
        await settle(pilot)
        assert _text(app, "#conflicts-status").startswith(
            "No conflicts at full text. Excluded for different reasons: 1 (e picks the reason counted).")
        row = line_with(app, "alice: Animal study")
        assert "bob: Review" in row  # the reasons, not "exclude" twice
        await pilot.press("i")
        await settle(pilot)
        assert "e picks the reason PRISMA counts" in " ".join(str(n.message) for n in app._notifications)
        assert "Excluded for different reasons: 1" in _text(app, "#conflicts-status")  # nothing stored
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("6")  # the sixth reason in the protocol's list: "Review"
        await settle(pilot)
        assert _text(app, "#conflicts-status") == "No conflicts at full text."
    assert prisma_counts(review).counts.reports_excluded == {"Review": 1}


async def test_decisions_notes_and_footer_are_readable_at_80_and_160_columns(review: Review) -> None:
    """At 80×24 the decisions went beside the record in 30 columns ("inclu…", "exclu…", notes cut to
    "hospi…"), the list's Decisions column was off-screen and the footer lost Help and Quit: the
    decisions now stack above the record, whole, and at 160×48 they stay beside it."""
    (rid,) = add_records(review, [Record(
        title="Baricitinib versus placebo in adults with moderate-to-severe atopic dermatitis: a randomised trial",
        abstract="BACKGROUND: JAK inhibition.", source_id="a")])
    notes = {"alice": "looks randomised and placebo-controlled in hospital outpatients",
             "bob": "a narrative review of hospital cases, no primary data"}
    screen.record_decision(review, "alice", rid, "ta", "include", note=notes["alice"])
    screen.record_decision(review, "bob", rid, "ta", "exclude", note=notes["bob"])
    for size in ((80, 24), (160, 48)):
        app = make_app(review, reviewer="carol")
        async with app.run_test(size=size) as pilot:
            await _open_conflicts(pilot, app, "carol")
            lines = screen_lines(app)
            shown = " ".join(lines)
            list_row = line_with(app, "alice: include · bob: exclude")  # the list's Decisions column
            assert list_row.startswith("   1 ") and "Baricitinib" in list_row
            assert "Decisions" in line_with(app, "Record")
            names = line_with(app, "alice")
            assert "bob" in names
            decision = line_with(app, "decision")
            assert "include" in decision and "exclude" in decision and "…" not in decision
            for note in notes.values():
                for word in note.split():
                    assert word in shown, (size, word)
            assert "…" not in " ".join(line for line in lines if "note" in line)
            assert "Your decision" not in shown and "BACKGROUND: JAK inhibition." in shown  # the card too
            footer = footer_line(app)
            for key in ("i Include", "e Exclude", "n Note", "t T/A ↔ full text", "esc Dashboard",
                        "? Help", "q Quit"):
                assert key in footer, (size, key, footer)
            await write_note(pilot, "agree with bob after reading the methods")
            assert "Your note: agree with bob after reading the methods" in line_with(app, "Your note"), size
            await pilot.press("question_mark")
            await pilot.pause()
            # off the footer, still listed in help
            assert "Refresh" in "\n".join(line.plain for line in app.screen._lines)


async def test_the_decisions_change_form_across_the_breakpoint(review: Review) -> None:
    """Widening an 80-column terminal puts the decisions beside the record again, with the title
    above them; narrowing it stacks them again."""
    _conflict(review)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=(80, 24)) as pilot:
        conflicts = await _open_conflicts(pilot, app, "carol")
        detail = conflicts.query_one("#conflict-detail", Static)
        card = conflicts.query_one("#conflict-card-scroll")
        assert detail.region.bottom <= card.region.y  # above the record
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        await pilot.pause()
        assert detail.region.x >= card.region.right  # beside it
        assert "┃ alice" in line_with(app, "┃ alice")  # the side-by-side table with its box
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert detail.region.bottom <= card.region.y
        assert "┃" not in " ".join(screen_lines(app))

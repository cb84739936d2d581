"""Pilot tests for full-text screening by keyboard: the reason picker's numbers past 9, what o and f
say when the full text's file is not where it was recorded, the status picker with text typed before a
status, and a report marked not retrieved leaving the queue."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Label, OptionList

from reviewkit.errors import ReviewkitError
from reviewkit.services import screen_cards, screen_full_text, screen_queue
from reviewkit.services.project import Review, open_review
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.record_queue import RecordQueue
from reviewkit.tui.screens.screening import ScreeningScreen
from reviewkit.tui.viewer import CORRECT_LOCATION
from tests.tui.test_screening import (
    SIZE,
    _pass_title_abstract,
    card_text,
    open_screening,
    settle,
    shown,
    status_text,
)
from tests.tui.test_screening_queue_end import notes_of, wait_until

REASONS = [f"Reason {i}" for i in range(1, 13)]


def _with_reasons(review: Review, reasons: list[str]) -> Review:
    path = review.folder / "review.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("exclusion_reasons = [")
    end = text.index("]", start) + 1
    path.write_text(text[:start] + f"exclusion_reasons = {reasons!r}".replace("'", '"') + text[end:], encoding="utf-8")
    return open_review(review.folder)


def _reason(review: Review, rid: int) -> str | None:
    own = screen_cards.record_card(review, "alice", rid, "ft").own
    return own.reason if own is not None else None


async def test_a_two_digit_reason_number_picks_that_reason(review: Review) -> None:
    """With 12 reasons, typing 12 stored reason 1: the first digit picked at once, and the 2 went on to
    the screen. Now 1 waits for a second digit (12) or enter (reason 1); 3 cannot start a longer number
    (there are not 30 reasons) and picks at once; 0 and 19 pick nothing."""
    review = _with_reasons(review, REASONS)
    a, b, c, d = _pass_title_abstract(review, 4)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screening(pilot, app, "ft")
        await pilot.press("e", "1", "2")
        await settle(pilot)
        assert shown(app).card_view.record_id == b
        await pilot.press("e", "3")
        await settle(pilot)
        await pilot.press("e", "0", "1", "9")  # nothing yet: 0 is no reason, nor 19
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("1", "enter")
        await settle(pilot)
        await pilot.press("e", "1", "1")
        await settle(pilot)
    assert [_reason(review, rid) for rid in (a, b, c, d)] == ["Reason 12", "Reason 3", "Reason 1", "Reason 11"]
    review.engine.dispose()


async def test_up_to_nine_reasons_a_digit_still_picks_at_once(review: Review) -> None:
    (rid,) = _pass_title_abstract(review, 1)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        await pilot.press("e", "1")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceModal)
    assert _reason(review, rid) == "Animal study"


async def test_a_missing_file_is_said_when_recorded_and_when_opened(review: Review,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """f with a path where no file is warns at once (stored all the same: the PDF may come later); o on it
    says where it looked and which key puts it right."""
    _pass_title_abstract(review, 1)
    notes: list[tuple[str, str]] = []
    monkeypatch.setattr(ScreeningScreen, "notify",
                        lambda self, message, severity="information", **kw: notes.append((severity, message)))

    def opener(location: str) -> None:
        raise ReviewkitError(f"no file at {location}", fix=CORRECT_LOCATION)

    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft", opener=opener)
        await pilot.press("f", "tab", *"pdfs/a b.pdf", "shift+tab", "2")
        await settle(pilot)
        missing = review.folder / "pdfs" / "a b.pdf"
        assert ("warning", f"No file at {missing} yet (a relative path is taken from the review folder)") in notes
        await pilot.press("o")
        await settle(pilot)
    assert notes[-1] == ("error", f"could not open pdfs/a b.pdf: no file at {missing} (press f to record where it is)")


def _full_text(review: Review, rid: int) -> tuple[str, str | None, str | None] | None:
    """The record's stored full-text status: (status, location, note)."""
    with session_scope(review.engine) as session:
        row = store.latest_full_text(session, rid)
        return (row.status, row.location, row.note) if row is not None else None


def _picker(app: ReviewkitApp) -> tuple[int | None, str]:
    """The status picker's highlighted option and its hint."""
    assert isinstance(app.screen, ChoiceModal)
    return (app.screen.query_one("#choice-options", OptionList).highlighted,
            str(app.screen.query_one("#choice-hint", Label).render()))


async def test_a_path_typed_before_a_status_is_asked_about_and_offered_as_retrieved(review: Review) -> None:
    """f, tab, a path, enter stored "sought" (the first status) with the path as its note. Now enter asks
    which status goes with the text, offering retrieved, and one more enter stores it there."""
    a, b = _pass_title_abstract(review, 2)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        await pilot.press("f", "tab", *"pdfs/a.pdf", "enter")
        await settle(pilot)
        highlighted, hint = _picker(app)
        assert highlighted == 1 and "which option goes with it?" in hint
        assert _full_text(review, a) is None  # nothing stored on the first enter
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceModal)
        await pilot.press("j", "f", "tab", *"https://doi.org/10.1000/xyz", "enter", "enter")
        await settle(pilot)
    assert _full_text(review, a) == ("retrieved", "pdfs/a.pdf", None)
    assert _full_text(review, b) == ("retrieved", "https://doi.org/10.1000/xyz", None)


async def test_a_note_typed_before_a_status_keeps_the_status_picked(review: Review) -> None:
    """A note typed and entered before a status is asked about too, with nothing offered (the highlight
    stays on sought); the status picked then, or picked before the note, takes the note."""
    a, b, c = _pass_title_abstract(review, 3)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        await pilot.press("f", "tab", *"asked the library/author", "enter")
        await settle(pilot)
        assert _picker(app)[0] == 0
        await pilot.press("1")  # sought, with the note
        await settle(pilot)
        await pilot.press("j", "f", "down", "down", "tab", *"publisher paywall", "enter")  # picked first
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceModal)
        await wait_until(pilot, lambda: _full_text(review, b) is not None, lambda: str(_full_text(review, b)))
        await pilot.press("f", "tab", *"papers/c.pdf", "enter", "1")  # offered retrieved, sought taken
        await settle(pilot)
    assert _full_text(review, a) == ("sought", None, "asked the library/author")
    assert _full_text(review, b) == ("not_retrieved", None, "publisher paywall")
    assert _full_text(review, c) == ("sought", None, "papers/c.pdf")


async def test_a_report_marked_not_retrieved_leaves_the_queue(review: Review) -> None:
    """f, not retrieved: the card stayed and a decision on it moved on, "not saved". Now the report leaves
    the queue (README): the next record comes up and one fewer is left; the next decision is on it."""
    a, b, c = _pass_title_abstract(review, 3)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        await wait_until(pilot, lambda: "left 3" in status_text(app), lambda: status_text(app))
        await pilot.press("f", "3")
        await wait_until(pilot, lambda: shown(app).card_view.record_id == b, lambda: card_text(app))
        assert "done 0 · left 2" in status_text(app) and "1 of 2 in queue" in status_text(app)
        assert f"Full text of record {a}: not retrieved" in notes_of(app)
        await pilot.press("k")  # nothing behind: the report is out of the queue
        await settle(pilot)
        assert shown(app).card_view.record_id == b
        await pilot.press("i")
        await settle(pilot)
        assert shown(app).card_view.record_id == c
        await wait_until(pilot, lambda: "done 1 · left 1" in status_text(app), lambda: status_text(app))
        assert not any("not saved" in note for note in notes_of(app))
    assert screen_cards.record_card(review, "alice", a, "ft").own is None
    assert screen_queue.screening_queue(review, "alice", "ft") == [c]


async def test_a_decision_on_a_report_not_retrieved_is_refused_at_once(review: Review) -> None:
    """A card read after someone marked its report not retrieved: i is refused on the spot, said why
    and how to go on, and the card stays; nothing is stored."""
    a, b = _pass_title_abstract(review, 2)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        screen_full_text.set_full_text(review, "bob", b, "not_retrieved", note="no library access")
        shown(app).queue.cards.pop(b, None)  # read afresh when reached, as a card not fetched yet is
        await pilot.press("j")
        await wait_until(pilot, lambda: "Full text: not retrieved" in card_text(app), lambda: card_text(app))
        assert "not_retrieved" not in card_text(app)
        await pilot.press("i")
        await settle(pilot)
        assert shown(app).card_view.record_id == b
        assert notes_of(app)[-1] == (f"Record {b}'s full text is marked not retrieved; record it as retrieved "
                                     "(with its file or URL) before deciding on it: press f to record where "
                                     "it is, or j for the next record")
    assert screen_cards.record_card(review, "alice", b, "ft").own is None


async def test_a_decision_while_not_retrieved_is_being_stored_is_refused(
        review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """f, not retrieved, then i before the status is stored: refused at once (it had moved on, and the
    decision raced the status); once stored, the report leaves the queue."""
    a, b = _pass_title_abstract(review, 2)
    release = threading.Event()
    stored = screen_full_text.set_full_text

    def slow(*args: object, **kw: object) -> str | None:
        release.wait(10)
        return stored(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(screen_full_text, "set_full_text", slow)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        await pilot.press("f", "3", "i")
        await pilot.pause()
        assert shown(app).card_view.record_id == a
        assert "marked not retrieved" in notes_of(app)[-1]
        release.set()
        await wait_until(pilot, lambda: shown(app).card_view.record_id == b, lambda: card_text(app))
    assert screen_cards.record_card(review, "alice", a, "ft").own is None
    assert _full_text(review, a) == ("not_retrieved", None, None)


def test_a_dropped_record_leaves_the_queue_and_the_search_with_the_cursor_in_place() -> None:
    """drop takes a record out of the whole queue and of the search narrowing it; the cursor stays on
    the record it was on, or, on the dropped one, goes to the one that followed it."""
    queue = RecordQueue()
    queue.load([1, 2, 3, 4, 5])
    queue.move(3)  # on 4
    queue.drop(2)
    assert (queue.ids, queue.current) == ([1, 3, 4, 5], 4)
    assert queue.narrow("trial", {3, 4, 5})
    queue.drop(3)  # on screen (first of the search): the next one comes up
    assert (queue.ids, queue.current, queue.all_ids) == ([4, 5], 4, [1, 4, 5])
    queue.move(1)
    queue.drop(5)  # the last: past the end
    assert (queue.ids, queue.current) == ([4], None)
    queue.widen()
    assert queue.all_ids == queue.ids == [1, 4]


async def test_a_note_entered_before_a_reason_asks_for_the_reason(review: Review) -> None:
    """e, tab, a note, enter stored the first reason, which the screener never chose, as the exclusion's
    reason, PRISMA's count of it included. Now enter asks which reason goes with the note (nothing stored
    yet), and the reason picked then takes the note."""
    a, _ = _pass_title_abstract(review, 2)
    reasons = review.protocol.screening.exclusion_reasons
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        await pilot.press("e", "tab", *"an editorial", "enter")
        await settle(pilot)
        highlighted, hint = _picker(app)
        assert highlighted == 0 and "which option goes with it?" in hint
        assert _reason(review, a) is None
        await pilot.press("3")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceModal)
    own = screen_cards.record_card(review, "alice", a, "ft").own
    assert own is not None and (own.reason, own.note) == (reasons[2], "an editorial")

"""Pilot tests for the screening screen's end of queue, conflicts count, record id, full-text wording and notes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from reviewkit.config import UserConfig
from reviewkit.services import screen, screen_cards, screen_queue
from reviewkit.services.project import Review
from reviewkit.services.screen_queue import ScreeningProgress
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.decision_log import DecisionLog
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens import screening as screening_module
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.screening import ProgressCounted
from tests.factories import add_records
from tests.tui.rendered import screen_lines
from tests.tui.test_screening import (
    SIZE,
    _pass_title_abstract,
    card_text,
    open_screening,
    settle,
    shown,
    status_text,
    write_note,
)


async def wait_until(pilot: Pilot[None], holds: Callable[[], bool], what: Callable[[], str], seconds: float = 10) -> None:
    """Pause until `holds()` (a worker's message handled and its frame drawn), failing with `what()`
    after `seconds`: a fixed number of pauses read the screen too early on a loaded CI machine."""
    for _ in range(int(seconds / 0.02)):
        if holds():
            return
        await pilot.pause(0.02)
    assert holds(), what()


def notes_of(app: ReviewkitApp) -> list[str]:
    """The notifications shown so far."""
    return [str(n.message) for n in app._notifications]


@pytest.fixture
def no_recount(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recount after writes put off beyond the test: what shows comes from the screen's own log."""
    monkeypatch.setattr(screening_module, "RECOUNT_AFTER_WRITES_SECONDS", 600.0)


async def test_records_undone_behind_the_cursor_come_back_at_the_end(review: Review, no_recount: None) -> None:
    """The reported sequence on 10 records: i e m, u u u, j j j, then i seven times. The 7th decision
    used to end on "No more records" with three records undecided behind the cursor; it now goes back
    to the first of them and says so, and the queue ends only once they are decided."""
    ids = add_records(review, 10)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i", "e", "m", "u", "u", "u")
        await settle(pilot)
        assert shown(app).queue.current == ids[0]
        await pilot.press("j", "j", "j", *"i" * 7)
        await settle(pilot)
        assert shown(app).card_view.record_id == ids[0], card_text(app)
        assert any("back to the 3 records still waiting for your decision" in n for n in notes_of(app))
        assert "left 3" in status_text(app)
        await pilot.press("e", "e")
        await settle(pilot)
        assert shown(app).card_view.record_id == ids[2]  # on to the next undecided, not past it
        await pilot.press("i")
        await settle(pilot)
        assert "No more records in your title/abstract queue" in card_text(app)
        assert "left 0" in status_text(app)
    assert screen_queue.screening_queue(review, "alice", "ta") == []


async def test_past_the_end_the_card_counts_the_undecided_and_next_goes_to_them(review: Review) -> None:
    """j past the last record: the card says how many records still wait and names the keys as the user
    has them (next remapped to space); that key goes to the first record still waiting."""
    ids = add_records(review, 3)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, config=UserConfig(keys={"next": "space"}))
        await pilot.press("space", "i", "space")  # skip the 1st, include the 2nd, past the 3rd
        await settle(pilot)
        assert shown(app).queue.current is None
        text = card_text(app)
        assert "but 2 of its records still wait for your decision" in text, text
        assert "Press space to go to the first, k to go back, esc for the dashboard" in text, text
        await pilot.press("space")
        await settle(pilot)
        assert shown(app).card_view.record_id == ids[0]


async def test_the_end_message_fits_80_by_24(review: Review) -> None:
    """At 80x24 the end-of-queue message is shown whole, inside the card."""
    add_records(review, 2)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screening(pilot, app)
        await pilot.press("j", "j")
        await settle(pilot)

        def card_column() -> str:
            """The card's side of the screen (the criteria panel is beside it), its lines joined."""
            return " ".join(" ".join(line.split("│")[0].split()) for line in screen_lines(app))

        await wait_until(pilot, lambda: "dashboard." in card_column(), lambda: "\n".join(screen_lines(app)))
        assert ("End of your title/abstract queue, but 2 of its records still wait for your decision "
                "(skipped or undone). Press j to go to the first, k to go back, esc for the dashboard.") in card_column()


async def test_conflicts_count_follows_a_change_of_mind_and_undo(review: Review, no_recount: None) -> None:
    """bob excluded record a. alice's include makes a conflict (1); going back and excluding settles it
    (0); u restores the include (1); u again withdraws it (0): each right after the write, without the
    periodic refresh (put off here)."""
    a, _ = add_records(review, 2)
    screen.record_decision(review, "bob", a, "ta", "exclude")
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "conflicts waiting 0" in status_text(app)
        for keys, conflicts in ((("i",), 1), (("k", "e"), 0), (("u",), 1), (("u",), 0)):
            await pilot.press(*keys)
            await settle(pilot)
            assert f"conflicts waiting {conflicts}" in status_text(app), (keys, status_text(app))
            assert screen_queue.screening_progress(review, "alice", "ta").conflicts == conflicts  # the truth


async def test_a_conflict_made_by_another_screener_shows_after_my_next_write(
    review: Review, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """alice includes a; bob then excludes it (a conflict alice's screen did not make). Her next
    decision is followed by a recount, so the line shows it well before the 30-second refresh."""
    monkeypatch.setattr(screening_module, "RECOUNT_AFTER_WRITES_SECONDS", 0.05)
    a, _, _ = add_records(review, 3)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        screen.record_decision(review, "bob", a, "ta", "exclude")
        assert "conflicts waiting 0" in status_text(app)
        await pilot.press("i")
        await wait_until(pilot, lambda: "conflicts waiting 1" in status_text(app), lambda: status_text(app))
        assert "done 2 · left 1" in status_text(app)


async def test_a_count_read_while_a_write_landed_is_not_taken(review: Review, no_recount: None) -> None:
    """A count asked for before a write landed may miss it: it is dropped, not shown over the log's."""
    add_records(review, 2)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        page = shown(app)
        assert "done 1 · left 1" in status_text(app)
        page.post_message(ProgressCounted(ScreeningProgress(0, 2, 0), page.decisions.landed - 1))
        await pilot.pause()
        assert "done 1 · left 1" in status_text(app)
        page.post_message(ProgressCounted(ScreeningProgress(1, 1, 5), page.decisions.landed))
        await wait_until(pilot, lambda: "conflicts waiting 5" in status_text(app), lambda: status_text(app))


def test_the_log_counts_conflicts_both_ways() -> None:
    """The conflicts count follows the outcome a write returns against the one seen before it."""
    log = DecisionLog()
    log.progress = ScreeningProgress(0, 2, 3)
    log.seen(1, "in_progress")
    log.made(1, "include")
    log.recorded(1, "include", "conflict")
    assert log.progress == ScreeningProgress(1, 1, 4)
    log.made(1, "exclude")
    log.recorded(1, "exclude", "excluded")
    assert log.progress == ScreeningProgress(1, 1, 3)
    log.seen(2, "conflict")  # a card showing a conflict alice is part of (she decided it earlier)
    log.made(2, "include")
    log.recorded(2, "include", "included")
    assert log.progress is not None and log.progress.conflicts == 2


async def test_the_card_shows_the_record_id_and_the_position_reads_as_one(review: Review) -> None:
    """The card names the record's id (#N, as dialogs and `reviewkit full-text ID` do); the progress line
    gives the queue position as "2 of 3 in queue", not "record 2/3"."""
    ids = add_records(review, 3)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        assert f"Record #{ids[1]} · PMID 1001" in card_text(app)
        assert "2 of 3 in queue" in status_text(app) and "record 2/3" not in status_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert f"record {ids[1]}" in str(app.screen.query_one("Label").render())  # the same id as the card


async def test_full_text_not_retrieved_is_worded(review: Review) -> None:
    """f, not retrieved: the notification says "not retrieved", never not_retrieved; the report leaves
    the queue, and the end of it says why nothing waits (the card's wording: test_full_text_keys)."""
    (rid,) = _pass_title_abstract(review, 1)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app, "ft")
        assert "Full text: not sought yet" in card_text(app)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("3")
        await settle(pilot)
        await wait_until(pilot, lambda: "Nothing waits for you" in card_text(app), lambda: card_text(app))
        assert "has your decision or its full text marked not retrieved" in card_text(app)
        assert f"Full text of record {rid}: not retrieved" in notes_of(app)
        assert not any("not_retrieved" in note for note in notes_of(app))
    assert screen_cards.record_card(review, "alice", rid, "ft").full_text_status == "not_retrieved"


async def test_a_note_without_a_decision_is_not_dropped_silently(review: Review) -> None:
    """n then j: a warning that the note waits for a decision; escape asks before leaving: stay goes
    back to the record (note ready), and the note goes with the decision made there; a second note left
    undecided is dropped only when the screener picks leave."""
    a, b, _ = add_records(review, 3)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screening(pilot, app)
        await write_note(pilot, "check dose")
        await pilot.press("j")
        await settle(pilot)
        assert any(f"note on record {a} is not saved yet" in n for n in notes_of(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal), lambda: repr(app.screen))
        await wait_until(pilot, lambda: "Leave, dropping the note" in " ".join(screen_lines(app)),
                         lambda: "\n".join(screen_lines(app)))
        assert f"Your note on record {a} is not saved" in " ".join(screen_lines(app))
        await pilot.press("1")  # stay
        await settle(pilot)
        assert shown(app).card_view.record_id == a and "note ready" in status_text(app)
        await pilot.press("i")
        await settle(pilot)
        assert shown(app).card_view.record_id == b
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"later", "enter", "escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal), lambda: repr(app.screen))
        await pilot.press("escape")  # cancels the question: still screening
        await pilot.pause()
        assert shown(app).card_view.record_id == b
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal), lambda: repr(app.screen))
        await pilot.press("2")  # leave
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), lambda: repr(app.screen))
        await settle(pilot)
    own_a = screen_cards.record_card(review, "alice", a, "ta").own
    assert own_a is not None and (own_a.decision, own_a.note) == ("include", "check dose")
    assert screen_cards.record_card(review, "alice", b, "ta").own is None


async def test_quitting_with_a_note_not_saved_asks_first(review: Review) -> None:
    """q quit the app at once, dropping a note written before its decision; now it asks as escape
    does: stay keeps the app and the note, quit exits."""
    a, _ = add_records(review, 2)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screening(pilot, app)
        await write_note(pilot, "check dose")
        await pilot.press("q")
        await wait_until(pilot, lambda: "Quit, dropping the note" in " ".join(screen_lines(app)),
                         lambda: "\n".join(screen_lines(app)))
        await pilot.press("1")  # stay
        await settle(pilot)
        assert app.is_running and shown(app).card_view.record_id == a and "note ready" in status_text(app)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceModal), lambda: repr(app.screen))
        await pilot.press("2")  # quit
        await wait_until(pilot, lambda: not app.is_running, lambda: repr(app.screen))
    assert screen_cards.record_card(review, "alice", a, "ta").own is None  # nothing stored without a decision


async def test_leaving_without_notes_asks_nothing(review: Review) -> None:
    """escape with no note waiting goes straight back to the dashboard."""
    add_records(review, 1)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_screening(pilot, app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), lambda: repr(app.screen))


async def test_an_undone_or_refused_decision_keeps_its_note(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """A note typed, then i, then u: the note waits again (note ready) and goes with the next decision.
    A refused decision gives its note back too."""
    a, _ = add_records(review, 2)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"small sample", "enter", "i", "u")
        await settle(pilot)
        assert shown(app).card_view.record_id == a and "note ready" in status_text(app)
        stored = screen.record_decision
        monkeypatch.setattr(screen, "record_decision", _refuse)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert shown(app).card_view.record_id == a and "note ready" in status_text(app)
        monkeypatch.setattr(screen, "record_decision", stored)
        await pilot.press("e")
        await settle(pilot)
    own_a = screen_cards.record_card(review, "alice", a, "ta").own
    assert own_a is not None and (own_a.decision, own_a.note) == ("exclude", "small sample")


def _refuse(*args: object, **kw: object) -> None:
    from reviewkit.errors import ReviewkitError

    raise ReviewkitError("database is read-only")


def test_the_queue_advances_to_the_next_undecided_and_goes_round() -> None:
    """After a decision the cursor skips records already decided, goes round to the first undecided
    one past the last, and ends past the end only when every record is decided."""
    from reviewkit.tui.record_queue import RecordQueue

    queue = RecordQueue()
    queue.load([1, 2, 3, 4])
    queue.index = 1  # on 2, just decided; 3 was decided earlier
    assert not queue.advance({2, 3}) and queue.current == 4
    assert queue.advance({2, 3, 4}) and queue.current == 1
    assert not queue.advance({1, 2, 3, 4}) and queue.current is None
    assert queue.undecided({1, 3}) == [2, 4]
    assert queue.to_first_undecided({1}) == 2 and queue.current == 2
    assert queue.to_first_undecided({1, 2, 3, 4}) is None and queue.current == 2

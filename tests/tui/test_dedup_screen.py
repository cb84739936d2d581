"""Pilot tests for the duplicates screen: pairs side by side, verdicts stored, undo, running dedup."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from reviewkit.domain.records import Record
from reviewkit.services import dedup
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.dedup import DedupScreen
from tests.factories import add_records
from tests.tui.rendered import footer_line, screen_lines

SIZE = (140, 45)
T1 = "Baricitinib for moderate atopic dermatitis: results of a phase 3 randomised trial"
T2 = "Oral Janus kinase inhibition in adults with chronic hand eczema: a multicentre study"
T3 = "Topical ruxolitinib cream for vitiligo in adolescents and adults over one year"


def _uncertain_pairs(review: Review) -> list[int]:
    """Three pairs that look alike but not surely: a changed title word, a year apart, another co-author."""
    return add_records(review, [
        Record(title=T1, authors=("Simpson, E",), year=2020, journal="Br J Dermatol", volume="183"),
        Record(title=T1.replace("moderate", "severe"), authors=("Simpson, E",), year=2020,
               journal="Br J Dermatol", volume="183"),
        Record(title=T2, authors=("Reich, K", "Doe, J"), year=2019),
        Record(title=T2, authors=("Reich, K", "Doe, J"), year=2020),
        Record(title=T3, authors=("Rosmarin, D", "Pandya, A"), year=2022),
        Record(title=T3, authors=("Rosmarin, D", "Harris, J"), year=2022),
    ])


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their messages land."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown(app: ReviewkitApp) -> DedupScreen:
    """The duplicates screen on top."""
    assert isinstance(app.screen, DedupScreen)
    return app.screen


def plain(app: ReviewkitApp) -> str:
    """The pair view as plain text, rendered as the terminal shows it."""
    console = Console(width=SIZE[0], file=io.StringIO(), color_system=None)
    console.print(shown(app).pair_view.content)
    return console.file.getvalue()  # type: ignore[attr-defined]


def status(app: ReviewkitApp) -> str:
    """The count line."""
    return str(shown(app).query_one("#dedup-status", Static).render())


def remember_notices(app: ReviewkitApp) -> list[str]:
    """Every notification the app shows from now on, in order (still shown as well)."""
    notices: list[str] = []
    original = app.notify

    def remember(message: str, **kwargs: object) -> None:
        notices.append(message)
        original(message, **kwargs)  # type: ignore[arg-type]

    app.notify = remember  # type: ignore[method-assign]
    return notices


async def open_dedup(pilot: Pilot[None], app: ReviewkitApp) -> DedupScreen:
    """Open the screen from the dashboard's key and wait for the queue."""
    await settle(pilot)
    await pilot.press("d")
    await settle(pilot)
    return shown(app)


async def test_pair_shown_side_by_side_with_differences(review: Review) -> None:
    """The pair's records are in columns with the differing words highlighted and the count left."""
    ids = _uncertain_pairs(review)
    dedup.run_dedup(review)
    assert len(dedup.pending_pairs(review)) == 3
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dedup(pilot, app)
        assert "3 pairs left to check" in status(app)
        view = screen.pair_view
        first = dedup.pending_pairs(review)[0]
        assert view.pair_id == first.id
        text = plain(app)
        assert f"Record {first.a_id}" in text and f"Record {first.b_id}" in text and "Score" in text
        changed_title = {ids[0], ids[1]} == {first.a_id, first.b_id}
        if changed_title:
            only_a, only_b = view.highlighted["Title"]
            assert sorted(only_a + only_b) == ["moderate", "severe"]
        else:
            assert view.highlighted  # some field differs, and it is marked
        assert "Journal" not in view.highlighted  # the same journal is not marked


async def test_verdicts_stored_count_decreases_and_undo(review: Review) -> None:
    """y merges the pair, n keeps it apart, s skips; the count drops; u undoes the merge; the dashboard follows."""
    _uncertain_pairs(review)
    dedup.run_dedup(review)
    pending = dedup.pending_pairs(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dedup(pilot, app)
        first = screen.pair_view.pair_id
        await pilot.press("s")  # skipped: still to check, at the end
        assert "3 pairs left" in status(app) and screen.pair_view.pair_id != first
        confirmed = next(p for p in pending if p.id == screen.pair_view.pair_id)
        await pilot.press("y")
        assert "2 pairs left" in status(app)
        rejected = next(p for p in pending if p.id == screen.pair_view.pair_id)
        await pilot.press("n")
        await settle(pilot)
        assert "1 pair left" in status(app) and screen.pair_view.pair_id == first
        group = dedup.group_of(review, confirmed.a_id)
        assert group is not None and dedup.group_of(review, confirmed.b_id) == group
        assert dedup.group_of(review, rejected.a_id) is None
        assert [p.id for p in dedup.pending_pairs(review)] == [first]
        await pilot.press("escape")
        await settle(pilot)
        table = app.screen.query_one("#stages", DataTable)
        removed = next(table.get_row_at(i) for i in range(table.row_count)
                       if str(table.get_row_at(i)[0]) == "Duplicates removed")
        assert str(removed[1]) == "1"
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("u")  # nothing confirmed on this visit
        await settle(pilot)
        assert dedup.group_of(review, confirmed.a_id) == group
        last = next(p for p in pending if p.id == first)
        await pilot.press("y")
        await settle(pilot)
        assert dedup.group_of(review, last.a_id) is not None
        await pilot.press("u")
        await settle(pilot)
        assert dedup.group_of(review, last.a_id) is None  # the merge confirmed on this visit is undone
        assert dedup.group_of(review, confirmed.a_id) == group
        assert [p.id for p in dedup.pending_pairs(review)] == [last.id]  # back to check, not in limbo
        assert "1 pair left" in status(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_run_dedup_from_screen_with_progress(review: Review) -> None:
    """r runs dedup in a worker with progress, then shows the queue it made."""
    _uncertain_pairs(review)
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_dedup(pilot, app)
        assert "0 pairs left" in status(app) and screen.pair_view.pair_id is None
        await pilot.press("r")
        await settle(pilot)
        assert any(isinstance(m, DedupScreen.DedupProgressed) for m in seen)
        finished = [m for m in seen if isinstance(m, DedupScreen.DedupFinished)]
        assert finished and finished[-1].summary is not None and finished[-1].summary.pairs_queued == 3
        assert "3 pairs left to check" in status(app)
        assert screen.pair_view.pair_id == dedup.pending_pairs(review)[0].id


async def test_refused_undo_is_an_error_notice(review: Review) -> None:
    """u on a merge someone else undid meanwhile says so in an error notice; nothing else changes."""
    _uncertain_pairs(review)
    dedup.run_dedup(review)
    seen: list[Message] = []
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_dedup(pilot, app)
        pair = next(p for p in dedup.pending_pairs(review) if p.id == screen.pair_view.pair_id)
        await pilot.press("y")
        await settle(pilot)
        undo_merge(review, "bob", dedup.group_of(review, pair.a_id))  # type: ignore[arg-type]
        await pilot.press("u")
        await settle(pilot)
        errors = [m.notification.message for m in seen
                  if isinstance(m, Notify) and m.notification.severity == "error"]
        assert len(set(errors)) == 1 and "are not merged now" in errors[0]
        assert "2 pairs left" in status(app)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_footer_keeps_help_and_quit(review: Review, size: tuple[int, int]) -> None:
    """The footer's keys end with Help and Quit at 80×24 too (Run dedup and the palette pushed them off
    the screen); r still runs dedup and ? still lists it."""
    _uncertain_pairs(review)
    dedup.run_dedup(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=size) as pilot:
        await open_dedup(pilot, app)
        footer = footer_line(app).rstrip()
        assert footer.endswith("? Help q Quit")
        for key in ("y Duplicate", "n Not duplicate", "s Skip", "u Undo merge", "esc Back / cancel"):
            assert key in footer
        assert "3 pairs left to check" in screen_lines(app)[1]
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Run dedup" in str(app.screen.query_one("#help-text", Static).content)  # all of it: the box scrolls
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("r")
        await settle(pilot)
        assert "3 pairs left to check" in status(app)
        assert footer_line(app).rstrip().endswith("? Help q Quit")


async def test_a_pair_merged_meanwhile_is_dropped_not_offered_again(review: Review) -> None:
    """Three copies of one paper: y on two of their pairs merges all three, so n on the third is refused (its
    records are merged already). Before, the refused pair went back to the front of the queue and n kept
    bouncing off it; now it leaves the queue, with the reason said."""
    from tests.factories import PAIR_TITLE

    add_records(review, [Record(title=PAIR_TITLE) for _ in range(3)])
    dedup.run_dedup(review)
    assert len(dedup.pending_pairs(review)) == 3
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        notices = remember_notices(app)
        await open_dedup(pilot, app)
        await pilot.press("y")
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert "0 pairs left" in status(app)
        assert any("already merged in duplicate group" in n for n in notices)
    assert dedup.pending_pairs(review) == []

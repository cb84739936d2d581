"""Pilot tests for writes the screens queue: adjudications move on at once and land in order, quitting
waits for every screen's writes, and an undone merge puts its pair back to check.

A service call is held by a gate until the test releases it: keys pressed meanwhile meet a write still
on its way (as on a PostgreSQL server over a network), without any timing in the test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Static

from reviewkit.errors import ReviewkitError
from reviewkit.services import dedup, screen, screen_cards
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AdjudicationRow, AuditEventRow
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.screens import conflicts as conflicts_module
from reviewkit.tui.screens.conflicts import ConflictsScreen
from reviewkit.tui.screens.dedup import DedupScreen
from tests.factories import add_records
from tests.tui.test_dedup_screen import _uncertain_pairs, open_dedup, status
from tests.tui.test_screening import SIZE, settle


class Gate:
    """Stands for a service call: each call waits until the test opens the gate, then runs `real`
    (or raises what `refuse` returns for its arguments)."""

    def __init__(self, real: Callable[..., Any], refuse: Callable[..., Exception | None] = lambda *a: None) -> None:
        self.real, self.refuse = real, refuse
        self.opened = threading.Event()
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(args)
        assert self.opened.wait(30), "the gate was never opened"
        error = self.refuse(*args)
        if error is not None:
            raise error
        return self.real(*args, **kwargs)


def notes_of(app: ReviewkitApp) -> list[str]:
    """The notifications shown so far."""
    return [str(n.message) for n in app._notifications]


async def until(pilot: Pilot[None], holds: Callable[[], bool], rounds: int = 500) -> bool:
    """Let the app run until `holds()` (a worker's message handled), at most `rounds` short pauses."""
    for _ in range(rounds):
        if holds():
            return True
        await asyncio.sleep(0.02)
    return holds()


def _conflicts(review: Review, n: int) -> list[int]:
    ids = add_records(review, n)
    for rid in ids:
        screen.record_decision(review, "alice", rid, "ta", "include")
        screen.record_decision(review, "bob", rid, "ta", "exclude")
    return ids


def _adjudications(review: Review) -> list[tuple[int, str]]:
    with session_scope(review.engine) as session:
        rows = session.exec(select(AdjudicationRow).order_by(col(AdjudicationRow.id))).all()
        return [(r.record_id, r.decision) for r in rows]


async def _open_conflicts(pilot: Pilot[None], app: ReviewkitApp) -> ConflictsScreen:
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    assert isinstance(app.screen, ConflictsScreen)
    return app.screen


def _selected(screen: ConflictsScreen) -> int | None:
    conflict = screen._selected()
    return conflict.record_id if conflict is not None else None


async def test_a_second_key_acts_on_the_next_conflict_while_the_first_is_saving(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """i then e: include this one, exclude the next. The first adjudication is still on its way when e
    comes; e used to settle the same record again (include, then exclude) and leave the next untouched."""
    ids = _conflicts(review, 3)
    gate = Gate(conflicts_module.resolve_conflict)
    monkeypatch.setattr(conflicts_module, "resolve_conflict", gate)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        try:
            shown = await _open_conflicts(pilot, app)
            assert _selected(shown) == ids[0]
            await pilot.press("i")
            assert _selected(shown) == ids[1]  # on at once: the write follows
            await pilot.press("e")
            assert _selected(shown) == ids[2]
            assert [c.record_id for c in shown.conflicts] == [ids[2]]
        finally:
            gate.opened.set()
        await settle(pilot)
        assert _selected(shown) == ids[2]
        assert "Conflicts at title/abstract: 1" in str(shown.query_one("#conflicts-status", Static).render())
    assert [args[2] for args in gate.calls] == ids[:2]  # one write each, in the order made
    assert _adjudications(review) == [(ids[0], "include"), (ids[1], "exclude")]
    assert [screen_cards.record_card(review, "alice", r, "ta").outcome for r in ids] == [
        "included", "excluded", "conflict"]


async def test_a_refused_adjudication_is_said_and_its_conflict_comes_back(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list moves on at once; when the write is refused the adjudicator is told, and the conflict is
    back in the list, selected; the next adjudication is stored all the same."""
    ids = _conflicts(review, 3)
    gate = Gate(conflicts_module.resolve_conflict,
                refuse=lambda _review, _actor, rid, *a: ReviewkitError("the server went away") if rid == ids[0]
                else None)
    monkeypatch.setattr(conflicts_module, "resolve_conflict", gate)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        try:
            shown = await _open_conflicts(pilot, app)
            await pilot.press("i")
            assert _selected(shown) == ids[1]
            await pilot.press("e")
        finally:
            gate.opened.set()
        await settle(pilot)
        assert any(f"Record {ids[0]}" in n and "the server went away" in n for n in notes_of(app))
        assert _selected(shown) == ids[0]
        assert sorted(c.record_id for c in shown.conflicts) == [ids[0], ids[2]]
    assert _adjudications(review) == [(ids[1], "exclude")]


async def test_quit_waits_for_the_duplicates_verdicts_not_yet_stored(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """y, y, q: the screen shows both pairs done at once; quitting waits (saying so) until both are stored."""
    _uncertain_pairs(review)
    dedup.run_dedup(review)
    gate = Gate(dedup.decide_pair)
    monkeypatch.setattr(dedup, "decide_pair", gate)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        try:
            shown = await open_dedup(pilot, app)
            first, second, third = (p.id for p, _ in shown._queue)
            await pilot.press("y", "y")
            assert "1 pair left" in status(app)
            await pilot.press("q")
            assert app.return_code is None  # still running: two verdicts to store
            assert any(n.startswith("Saving 2 changes") for n in notes_of(app))
        finally:
            gate.opened.set()
        assert await until(pilot, lambda: app.return_code is not None)
    assert [p.id for p in dedup.pending_pairs(review)] == [third]
    assert [args[2] for args in gate.calls] == [first, second]


async def test_quit_waits_for_the_adjudications_not_yet_stored(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """i, e, ctrl+q on the conflicts screen: both adjudications are stored before the app ends."""
    ids = _conflicts(review, 2)
    gate = Gate(conflicts_module.resolve_conflict)
    monkeypatch.setattr(conflicts_module, "resolve_conflict", gate)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=SIZE) as pilot:
        try:
            await _open_conflicts(pilot, app)
            await pilot.press("i", "e", "ctrl+q")
            assert app.return_code is None
        finally:
            gate.opened.set()
        assert await until(pilot, lambda: app.return_code is not None)
    assert _adjudications(review) == [(ids[0], "include"), (ids[1], "exclude")]


async def test_a_write_refused_while_quitting_keeps_the_app_open(
    review: Review, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal is on screen with its pair back to decide: the app does not quit over it."""
    _uncertain_pairs(review)
    dedup.run_dedup(review)
    gate = Gate(dedup.decide_pair, refuse=lambda *a: ReviewkitError("the server went away"))
    monkeypatch.setattr(dedup, "decide_pair", gate)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        try:
            shown = await open_dedup(pilot, app)
            pair = shown.pair_view.pair_id
            await pilot.press("y", "q")
        finally:
            gate.opened.set()
        assert await until(pilot, lambda: any(n.startswith("Not quitting") for n in notes_of(app)))
        await settle(pilot)
        assert app.return_code is None and isinstance(app.screen, DedupScreen)
        assert shown.pair_view.pair_id == pair and "3 pairs left" in status(app)


async def test_undoing_a_merge_puts_its_pair_back_to_check(review: Review) -> None:
    """y by mistake, then u: the merge is undone and the pair waits for a verdict again (a reopen, in the
    audit trail), shown at once; n then keeps it apart."""
    _uncertain_pairs(review)
    dedup.run_dedup(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        shown = await open_dedup(pilot, app)
        pair = next(p for p in dedup.pending_pairs(review) if p.id == shown.pair_view.pair_id)
        await pilot.press("y")
        await settle(pilot)
        assert dedup.group_of(review, pair.a_id) is not None and "2 pairs left" in status(app)
        await pilot.press("u")
        await settle(pilot)
        assert dedup.group_of(review, pair.a_id) is None
        assert pair.id in [p.id for p in dedup.pending_pairs(review)]
        assert shown.pair_view.pair_id == pair.id and "3 pairs left" in status(app)
        assert any("back to check" in n for n in notes_of(app))
        await pilot.press("n")
        await settle(pilot)
    assert pair.id not in [p.id for p in dedup.pending_pairs(review)]
    assert dedup.group_of(review, pair.a_id) is None
    with session_scope(review.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEventRow).where(
            AuditEventRow.entity == "duplicate_pair", AuditEventRow.entity_id == pair.id).order_by(
            col(AuditEventRow.id)))]
    assert "reopen" in actions


async def test_a_decision_landing_after_leaving_shows_on_the_dashboard(review: Review,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """i then escape while the write is still on its way: the dashboard reloaded its counts on coming back,
    before the write landed, and showed them stale until its next interval; it now reloads once it lands."""
    from reviewkit.tui.screens import dashboard as dashboard_module
    from reviewkit.tui.screens.dashboard import DashboardScreen

    monkeypatch.setattr(dashboard_module, "REFRESH_SECONDS", 3600.0)  # no interval refresh to hide it
    add_records(review, 2)
    gate = Gate(screen.record_decision)
    monkeypatch.setattr(screen, "record_decision", gate)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i", "escape")
        board = app.screen
        assert isinstance(board, DashboardScreen)
        loads = [w for w in app.workers if w.group == "dashboard"]
        if loads:
            await app.workers.wait_for_complete(loads)
        await pilot.pause()
        assert board.status is not None and board.status.ta.in_progress == 0  # read before the write landed
        gate.opened.set()
        assert await until(pilot, lambda: board.status is not None and board.status.ta.in_progress == 1)

"""Pilot tests for the extraction screen's changes made faster than they are stored: each lands, in the
order made; a reload does not overwrite a box being typed in; leaving or finishing waits for them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from reviewkit.services import extract
from reviewkit.services.project import Review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.extraction_grid import KEY_COLUMNS
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.extraction import ExtractionScreen
from tests.tui.test_extraction_form import _open_from_dashboard, _settle, _study


async def stored_all(app: ReviewkitApp, pilot: Pilot[None], screen: ExtractionScreen) -> None:
    """Wait until every queued write has been stored and its reload shown (the queue sends the next write
    only once the last one's message is handled, so one round of waiting is not enough)."""
    for _ in range(100):
        await _settle(app, pilot)
        if not screen.write_queue.pending and not any(w.is_running for w in app.workers):
            return
    raise AssertionError(f"{screen.write_queue.pending} writes still waiting")


def held_values(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list[str]]:
    """Values wait for the returned event before they are stored (a slow database, a busy server); the
    list gets each value as it is stored."""
    gate, stored = threading.Event(), []
    real: Callable[..., Any] = extract.set_value

    def set_value(review: Review, who: str, sid: int, field: str, value: str, **kwargs: Any) -> Any:
        assert gate.wait(10), "the test never let the values through"
        result = real(review, who, sid, field, value, **kwargs)
        stored.append(f"{field}={value}")
        return result

    monkeypatch.setattr(extract, "set_value", set_value)
    return gate, stored


async def form_with_held_values(app: ReviewkitApp, pilot: Pilot[None], monkeypatch: pytest.MonkeyPatch
                                ) -> tuple[ExtractionScreen, threading.Event, list[str]]:
    """The extraction screen opened, its values held (held_values) and the cursor in the tcs box."""
    screen = await _open_from_dashboard(app, pilot)
    gate, stored = held_values(monkeypatch)
    screen.query_one("#field-tcs", Input).focus()
    return screen, gate, stored


async def test_values_typed_while_others_are_stored_all_land_in_order_and_leaving_waits(
        review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three study fields and one cell given twice while the first value is still on its way: every value
    is stored, in the order given (the cell keeps its second value), and escape leaves only once they are.
    Saves ran side by side, each cancelling the one before it: one cancelled before it ran was lost."""
    sid = _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 60)) as pilot:
        screen, gate, stored = await form_with_held_values(app, pilot, monkeypatch)
        await pilot.press(*"yes", "enter", "tab", *"16", "enter", "tab", *"Japan", "enter")
        grid = screen.query_one("#grid", DataTable)
        grid.focus()
        grid.move_cursor(row=0, column=len(KEY_COLUMNS) + 1)  # Placebo · iga_0_1 · total
        await pilot.press("enter", *"96", "enter", "enter", *"97", "enter", "escape")
        await pilot.pause()
        assert app.screen is screen  # still storing: the screen stays until its values are in
        gate.set()
        await stored_all(app, pilot, screen)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
    assert stored == ["tcs=yes", "duration=16", "country=Japan", "total=96", "total=97"]
    form = extract.study_form(review, "alice", sid)
    assert {k: form.study_fields().get(k) for k in ("tcs", "duration", "country")} == {
        "tcs": "yes", "duration": "16", "country": "Japan"}
    assert form.stats("Placebo", "iga_0_1", "week 16") == {"total": "97"}


async def test_a_reload_after_a_save_keeps_what_is_being_typed_in_another_box(
        review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """tcs saved while the extractor has begun typing the duration: the form read back after the save
    emptied the duration box, and the keys typed were lost."""
    sid = _study(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 60)) as pilot:
        screen, gate, _ = await form_with_held_values(app, pilot, monkeypatch)
        await pilot.press(*"yes", "enter", "tab", *"1")
        gate.set()
        await stored_all(app, pilot, screen)
        assert extract.study_form(review, "alice", sid).study_fields()["tcs"] == "yes"
        duration = screen.query_one("#field-duration", Input)
        assert duration.value == "1" and duration.has_focus
        await pilot.press("6", "enter")
        await _settle(app, pilot)
        assert screen.query_one("#field-tcs", Input).value == "yes"
    assert extract.study_form(review, "alice", sid).study_fields()["duration"] == "16"

"""Pilot tests for the risk-of-bias form's changes made faster than they are stored: each answer goes to the
question it was given on, and leaving the form or the screen loses none of them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import DataTable

from reviewkit.services import assess, assess_view
from reviewkit.services.project import Review
from reviewkit.tui.app import make_app
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.rob import RobScreen
from tests.tui.test_rob_form import add_study, new_outcome_from_dashboard, open_form, settle


def held_answers(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Answers wait for the returned event before they are stored (a slow database, a busy server)."""
    gate = threading.Event()
    real: Callable[..., Any] = assess.answer

    def answer(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(10), "the test never let the answers through"
        return real(*args, **kwargs)

    monkeypatch.setattr(assess, "answer", answer)
    return gate


def answer_cells(screen: RobScreen) -> dict[str, str]:
    """Each question shown with the answer in its row."""
    table = screen.query_one("#rob-questions", DataTable)
    return {str(table.coordinate_to_cell_key((i, 0)).row_key.value): str(table.get_row_at(i)[1])
            for i in range(table.row_count)}


async def test_keys_typed_before_an_answer_is_stored_answer_the_next_questions(
        rob2_review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """y p n typed while the first answer is still on its way answer 1.1, 1.2 and 1.3, as typed one by one
    (they all went to 1.1, the cursor moving only once each answer was stored)."""
    sid = add_study(rob2_review)
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_form(pilot, app, rob2_review, sid)
        gate = held_answers(monkeypatch)
        await pilot.press("y", "p", "n")
        await pilot.pause()
        assert {q: answer_cells(screen)[q] for q in ("1.1", "1.2", "1.3")} == {"1.1": "Y", "1.2": "PY", "1.3": "N"}
        assert screen._current() == "2.1"
        gate.set()
        await settle(pilot, app)
        assert screen.view is not None and screen._current() == "2.1"
        assessment = screen.view.id
    assert assess_view.assessment_view(rob2_review, "alice", assessment).answers == {"1.1": "Y", "1.2": "PY", "1.3": "N"}


async def test_leaving_while_answers_are_stored_keeps_them_and_the_list(
        rob2_review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Back to the list while answers are on their way: the form does not come back over the list when they
    land, and leaving the screen waits for them (the answers still waiting were lost with the screen)."""
    add_study(rob2_review)
    app = make_app(rob2_review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await new_outcome_from_dashboard(pilot, app)
        assert screen.view is not None
        assessment = screen.view.id
        gate = held_answers(monkeypatch)
        await pilot.press("y", "p", "escape")
        await pilot.pause()
        gate.set()
        await settle(pilot, app)
        assert app.screen is screen and screen.view is None  # still the list
        assert assess_view.assessment_view(rob2_review, "alice", assessment).answers == {"1.1": "Y", "1.2": "PY"}
        await pilot.press("enter")  # her assessment, first on the list
        await settle(pilot, app)
        assert screen.view is not None and screen._current() == "1.3"
        gate = held_answers(monkeypatch)
        await pilot.press("n", "escape", "escape")
        await pilot.pause()
        assert app.screen is screen  # still storing: the screen stays until its answers are in
        gate.set()
        await settle(pilot, app)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
    assert assess_view.assessment_view(rob2_review, "alice", assessment).answers == {
        "1.1": "Y", "1.2": "PY", "1.3": "N"}

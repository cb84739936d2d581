"""Pilot test: the screening screen's stopping aid follows each decision, not only each retraining."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewkit.domain.records import Record
from reviewkit.tui.app import make_app
from reviewkit.tui.screens import screening as screen_module
from tests.factories import add_records, prioritised_review
from tests.tui.test_screening import SIZE, settle, shown, status_text


def _run(app: object) -> int:
    """The run of irrelevant records the progress line shows."""
    found = re.search(r"(\d+) irrelevant", status_text(app))  # type: ignore[arg-type]
    assert found, status_text(app)  # type: ignore[arg-type]
    return int(found.group(1))


async def test_the_run_of_irrelevant_records_follows_every_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With prioritise on, three excludes showed "0 irrelevant" until the fifth decision retrained the
    ranking: a full-text screener deciding one record every few minutes saw a run many minutes old.
    The figures now follow each decision (and its undo) once the writes pause, between retrainings."""
    review = prioritised_review(tmp_path)
    add_records(review, [Record(title=f"Hip fracture surgery outcomes in older adults {i}") for i in range(8)])
    # No retraining during the test: only the stopping aid's own refresh can move the figures.
    monkeypatch.setattr(screen_module, "RETRAIN_EVERY", 1000)
    monkeypatch.setattr(screen_module, "RECOUNT_AFTER_WRITES_SECONDS", 0.05)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:

        async def after(*keys: str) -> int:
            await pilot.press(*keys)
            for _ in range(3):  # the write, the pause before the recount, the recount
                await settle(pilot)
                await pilot.pause(0.1)
            return _run(app)

        await settle(pilot)
        assert _run(app) == 0
        assert await after("e", "e", "e") == 3
        assert await after("i") == 0
        assert await after("u") == 3  # the include undone: three excludes since nothing relevant
        assert shown(app).queue.current is not None
    review.engine.dispose()


async def test_a_late_retraining_does_not_bring_back_older_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A retraining asked before the latest recount (it is slower: the first one builds the TF-IDF
    matrix) keeps its order and its fitted state, but not its older stopping figures."""
    from reviewkit.domain.stopping import stopping_estimate
    from reviewkit.services.prioritise import PrioritisedQueue
    from reviewkit.services.screen_queue import ScreeningProgress
    from reviewkit.tui import messages as msg
    from reviewkit.tui.screens.screening import ProgressCounted

    review = prioritised_review(tmp_path)
    add_records(review, [Record(title=f"Hip fracture surgery outcomes in older adults {i}") for i in range(8)])
    monkeypatch.setattr(screen_module, "RETRAIN_EVERY", 1000)
    app = make_app(review, reviewer="alice", stage="ta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        page = shown(app)
        landed = page.decisions.landed
        newer = stopping_estimate([True] + [False] * 7, 100)
        page.post_message(ProgressCounted(ScreeningProgress(1, 7, 0), landed, newer))
        await settle(pilot)
        assert _run(app) == 7
        older = stopping_estimate([True, False, False], 100)
        page.post_message(msg.PriorityUpdated(PrioritisedQueue(tuple(page.queue.ids), True, "", older), landed - 1))
        await settle(pilot)
        assert _run(app) == 7
        assert "relevance order" in status_text(app)
    review.engine.dispose()

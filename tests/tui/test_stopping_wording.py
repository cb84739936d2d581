"""Tests the stopping aid's wording on the screening screen's progress line."""

from __future__ import annotations

from reviewkit.domain.stopping import stopping_estimate
from reviewkit.services.prioritise import PrioritisedQueue
from reviewkit.tui.screening_wording import stopping_parts


def _recall_part(ranked: PrioritisedQueue) -> str:
    return next(long for long, _ in stopping_parts(ranked) if long.startswith("recall"))


def test_recall_bound_is_never_rounded_up_to_full_recall() -> None:
    """300 relevant found, then 100 records screened without one, 10 records left: the bound is below 1
    (a relevant record may remain), so the line must not say "recall ≥ 100%", which it did by rounding
    99.7% to the nearest percent."""
    stop = stopping_estimate([True] * 300 + [False] * 100, 410)
    assert stop.recall_lower_bound is not None and 0.995 <= stop.recall_lower_bound < 1.0
    part = _recall_part(PrioritisedQueue((), True, "", stop))
    assert "100%" not in part
    assert f"recall ≥ {int(stop.recall_lower_bound * 100)}%" in part


def test_confidence_follows_the_estimate() -> None:
    """The confidence printed is the estimate's own (1 - alpha), not a fixed 95%."""
    stop = stopping_estimate([True] * 10 + [False] * 40, 100, alpha=0.1)
    assert "(90% confidence)" in _recall_part(PrioritisedQueue((), True, "", stop))


def test_everything_screened_shows_full_recall() -> None:
    """Every record screened: nothing can have been missed, and the line says 100%."""
    stop = stopping_estimate([True, False, False], 3)
    assert "recall ≥ 100%" in _recall_part(PrioritisedQueue((), True, "", stop))

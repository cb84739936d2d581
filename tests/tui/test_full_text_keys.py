"""Pilot tests for full-text screening by keyboard: the reason picker's numbers past 9, and what o and f
say when the full text's file is not where it was recorded."""

from __future__ import annotations

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import screen_cards
from reviewkit.services.project import Review, open_review
from reviewkit.tui.app import make_app
from reviewkit.tui.modals.choice import ChoiceModal
from reviewkit.tui.screens.screening import ScreeningScreen
from reviewkit.tui.viewer import CORRECT_LOCATION
from tests.tui.test_screening import SIZE, _pass_title_abstract, open_screening, settle, shown

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

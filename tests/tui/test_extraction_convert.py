"""Pilot tests for c (derive SD) on the extraction form: a conversion from a CI asks the CI's level first
(a 90% CI gives a wider SD than one read as 95%), escape converts nothing, and SE takes no level."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from reviewkit.domain.conversions import sd_from_ci, sd_from_se
from reviewkit.services import extract
from reviewkit.services.extract_convert import convert
from reviewkit.services.project import Review
from reviewkit.tui.app import make_app
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.screens.extraction import ExtractionScreen
from tests.tui.test_extraction_form import _open_from_dashboard, _settle


def _study(review: Review, **stats: str) -> int:
    """alice's study with a Placebo arm whose dlqi_change statistics are `stats`."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_arm(review, "alice", sid, "Placebo")
    for field, value in stats.items():
        extract.set_value(review, "alice", sid, field, value, arm="Placebo", outcome="dlqi_change")
    return sid


def _stored_sd(review: Review, sid: int) -> str | None:
    return extract.study_form(review, "alice", sid).stats("Placebo", "dlqi_change", "week 16").get("sd")


async def _press_c_on_placebo(app, pilot) -> ExtractionScreen:  # noqa: ANN001 - the app and its pilot
    screen = await _open_from_dashboard(app, pilot)
    grid = screen.query_one("#grid", DataTable)
    grid.focus()
    grid.move_cursor(row=next(i for i, r in enumerate(screen.rows) if (r.arm, r.outcome) == ("Placebo", "dlqi_change")))
    await pilot.press("c")
    await pilot.pause()
    return screen


async def test_c_on_a_ci_asks_its_level_and_converts_at_it(review: Review) -> None:
    """The prompt starts at 0.95; 95 (a percentage) is refused in the prompt, which stays open; 0.9 stores the
    SD of a 90% CI and the status line says which level it took."""
    sid = _study(review, ci_lower="1.2", ci_upper="3.8", n="100")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _press_c_on_placebo(app, pilot)
        assert isinstance(app.screen, TextPromptModal)
        prompt = app.screen.query_one("#prompt-input", Input)
        assert prompt.value == "0.95"
        prompt.value = "95"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal)
        assert "confidence level must be a number between 0 and 1" in str(
            app.screen.query_one("#prompt-problem", Static).render())
        assert _stored_sd(review, sid) is None
        prompt.value = "0.9"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.screen is screen
        assert float(_stored_sd(review, sid) or "") == pytest.approx(sd_from_ci(1.2, 3.8, 100, 0.9).sd)
        assert "SD derived for Placebo dlqi_change from its 90% CI" in str(
            screen.query_one("#extraction-status", Static).render())


async def test_escape_from_the_level_prompt_stores_nothing(review: Review) -> None:
    sid = _study(review, ci_lower="1.2", ci_upper="3.8", n="100")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _press_c_on_placebo(app, pilot)
        assert isinstance(app.screen, TextPromptModal)
        await pilot.press("escape")
        await _settle(app, pilot)
        assert app.screen is screen
        assert _stored_sd(review, sid) is None


async def test_c_on_an_se_converts_without_asking(review: Review) -> None:
    """An SE takes no level: c converts at once (a level would be refused by the service anyway)."""
    sid = _study(review, se="0.5", ci_lower="1.2", ci_upper="3.8", n="100")
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _press_c_on_placebo(app, pilot)
        assert not isinstance(app.screen, TextPromptModal)
        await _settle(app, pilot)
        assert app.screen is screen
        assert float(_stored_sd(review, sid) or "") == pytest.approx(sd_from_se(0.5, 100).sd)


async def test_after_a_ci_is_corrected_the_prompt_starts_at_the_level_it_was_converted_at(review: Review) -> None:
    """The SD was converted from a 90% CI; correcting the CI's upper bound clears it. The prompt then opens at
    0.9, so enter converts the corrected CI as 90% again, not silently as 95%."""
    sid = _study(review, ci_lower="1.2", ci_upper="3.8", n="100")
    convert(review, "alice", sid, arm="Placebo", outcome="dlqi_change", method="ci", level=0.9)
    cleared = extract.set_value(review, "alice", sid, "ci_upper", "4.0", arm="Placebo", outcome="dlqi_change")
    assert cleared.cleared[0].startswith("sd ") and _stored_sd(review, sid) is None
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _press_c_on_placebo(app, pilot)
        assert isinstance(app.screen, TextPromptModal)
        assert app.screen.query_one("#prompt-input", Input).value == "0.9"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.screen is screen
        assert float(_stored_sd(review, sid) or "") == pytest.approx(sd_from_ci(1.2, 4.0, 100, 0.9).sd)

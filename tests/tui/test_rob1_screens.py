"""Pilot tests for RoB 1 on the risk-of-bias screens: its own wording (domains judged, no signalling
questions, nothing to escalate)."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList

from reviewkit.services import assess
from reviewkit.services.project import Review
from reviewkit.tui.app import make_app
from reviewkit.tui.screens.rob_consensus import RobConsensusScreen
from tests.tui.rendered import lines_once, screen_lines
from tests.tui.test_rob_form import add_study, answer, new_outcome_from_dashboard, settle


async def test_rob1_form_speaks_of_domains_and_judgements(review: Review) -> None:
    """The RoB 1 form heads its columns Judgement / Domain / Support for judgement (RoB 1 has no signalling
    questions) and says which domains are judged once per study and which per outcome."""
    add_study(review, "BREEZE-AD7")
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=(160, 50)) as pilot:
        await new_outcome_from_dashboard(pilot, app)
        lines = await lines_once(pilot, app, lambda ls: any("Support for judgement" in line for line in ls))
        heading = next(line for line in lines if "Support for judgement" in line)
        assert "Judgement" in heading and "Domain" in heading and "Question" not in heading
        await lines_once(pilot, app, lambda ls: any("judged once per study · judgements: low/high/unclear" in line
                                                    for line in ls))
        await answer(pilot, app, "l", "l", "l")  # D1 D2 D3: the cursor is now on D4
        await lines_once(pilot, app, lambda ls: any("judged per outcome" in line for line in ls))
        assert not any("applies:" in line for line in screen_lines(app))


async def test_rob1_consensus_keys_do_not_offer_an_escalation(review: Review) -> None:
    """RoB 1 has no Some concerns to escalate: the consensus screen's X is the summary judgement."""
    sid = _bob_unclear_carol_low_on_d2(review)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(160, 50)) as pilot:
        app.push_screen(RobConsensusScreen(review, "alice", sid, "IGA", "BREEZE-AD1"))
        await settle(pilot, app)
        lines = await lines_once(pilot, app, lambda ls: any("D2 (judgement)" in line for line in ls))
        keys = " ".join(line for line in lines if "settle the highlighted item" in line)
        assert "X the summary judgement" in keys and "escalate" not in " ".join(lines)


def _bob_unclear_carol_low_on_d2(review: Review, supports: dict[str, str] | None = None) -> int:
    """A study whose RoB 1 assessments of IGA, both finished, differ on D2 only (bob Unclear, carol Low),
    each D2 judgement with the assessor's support when given; returns the study's id."""
    sid = add_study(review)
    for who, d2 in (("bob", "unclear"), ("carol", "low")):
        aid = assess.start_assessment(review, who, sid, "IGA").id
        for i in range(1, 8):
            assess.answer(review, who, aid, f"D{i}", d2 if i == 2 else "low",
                          (supports or {}).get(who) if i == 2 else None)
        assess.finish(review, who, aid)
    return sid


async def test_rob1_consensus_shows_each_support_for_judgement(review: Review) -> None:
    """bob judged D2 Unclear and carol Low, each with their support for judgement: the D2 row shows each
    judgement with its support, the panel under the table both in full, and the choice quotes them."""
    supports = {"bob": "Sealed envelopes; whether they were opaque is not said",
                "carol": "Central telephone randomisation (methods, p. 3)"}
    sid = _bob_unclear_carol_low_on_d2(review, supports)
    app = make_app(review, reviewer="alice")
    async with app.run_test(size=(120, 30)) as pilot:
        app.push_screen(RobConsensusScreen(review, "alice", sid, "IGA", "BREEZE-AD1"))
        await settle(pilot, app)
        lines = await lines_once(pilot, app, lambda ls: any("based the judgement of D2 on" in line for line in ls))
        screen = app.screen
        assert isinstance(screen, RobConsensusScreen)
        table = screen.query_one("#consensus-items", DataTable)
        assert [str(c) for c in table.get_row_at(0)] == [
            "D2 (judgement)", f"Unclear risk · {supports['bob']}", f"Low risk · {supports['carol']}", "(to settle)"]
        panel = " ".join(" ".join(lines).split())
        assert f"bob (Unclear risk): {supports['bob']}" in panel
        assert f"carol (Low risk): {supports['carol']}" in panel
        await pilot.press("enter")
        await pilot.pause()
        options = app.screen.query_one("#choice-options", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert f"1. Low risk — carol: {supports['carol']}" in prompts
        assert f"3. Unclear risk — bob: {supports['bob']}" in prompts

"""Pilot test for the agreement screen: a on the dashboard shows kappa, its CI and % agreement per pair."""

from __future__ import annotations

from reviewkit.services import screen
from reviewkit.services.project import Review
from reviewkit.tui.app import make_app
from reviewkit.tui.screens.agreement import AgreementScreen
from tests.factories import add_records
from tests.tui.rendered import line_with
from tests.tui.test_screening import settle


async def test_agreement_shows_kappa_for_each_pair(review: Review) -> None:
    """alice and bob agree on 3 of 4 records (2x2 table 1,1 / 0,2): kappa = (0.75 - 0.5) / 0.5 = 0.50."""
    ids = add_records(review, 4)
    for rid, a, b in zip(ids, ("include", "include", "exclude", "exclude"),
                         ("include", "exclude", "exclude", "exclude"), strict=True):
        screen.record_decision(review, "alice", rid, "ta", a)
        screen.record_decision(review, "bob", rid, "ta", b)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AgreementScreen)
        row = line_with(app, "alice · bob").split()
        assert row[:2] == ["title/abstract", "alice"]
        assert "0.50" in row and "75.0%" in row and "4" in row
        ci = line_with(app, "alice · bob")
        lower, upper = (float(x) for x in ci.split("0.50", 1)[1].split("75.0%")[0].replace("to", " ").split())
        assert -1 <= lower < 0.5 < upper <= 1

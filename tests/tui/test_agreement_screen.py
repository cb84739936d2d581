"""Pilot test for the agreement screen: a on the dashboard shows kappa, its CI and % agreement per pair."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from reviewkit.services import screen
from reviewkit.services.project import Review, open_review
from reviewkit.tui.app import make_app
from reviewkit.tui.screens.agreement import AgreementScreen
from tests.factories import add_records
from tests.tui.rendered import footer_once, line_with, narrow_columns, screen_lines
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


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_long_names_leave_the_figures_on_screen(review: Review, size: tuple[int, int]) -> None:
    """Two full names pushed Agreement and Records off an 80-column terminal: there the names give way
    (cut with "…"), and the line under the table says the highlighted pair in full, its note too.
    At 160 columns the table shows every column whole, the Note column too."""
    path = review.folder / "review.toml"
    text = path.read_text(encoding="utf-8")
    names = '[[reviewers]]\nname = "Alexandra Martinez"\nrole = "screener"\n\n' \
            '[[reviewers]]\nname = "Benjamin Okafor"\nrole = "screener"\n\n'
    path.write_text(text.replace("[[reviewers]]", names + "[[reviewers]]", 1), encoding="utf-8")
    review = open_review(review.folder)
    ids = add_records(review, 6)
    for rid, a, b in zip(ids[:4], ("include", "include", "exclude", "exclude"),
                         ("include", "exclude", "exclude", "exclude"), strict=True):
        screen.record_decision(review, "Alexandra Martinez", rid, "ta", a)
        screen.record_decision(review, "Benjamin Okafor", rid, "ta", b)
    for rid in ids[4:]:  # no kappa: both chose exclude every time
        screen.record_decision(review, "alice", rid, "ta", "exclude")
        screen.record_decision(review, "bob", rid, "ta", "exclude")
    note = "both raters chose 'exclude' for every record"
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AgreementScreen)
        await footer_once(pilot, app, lambda footer: "? Help" in footer and "q Quit" in footer)
        header, row = line_with(app, "Records"), line_with(app, "0.50")
        assert row[header.index("Agreement"):].split()[:2] == ["75.0%", "4"]
        table = app.screen.query_one("#agreement-pairs", DataTable)
        if size[0] == 80:
            assert narrow_columns(table) == ["Reviewers"] and "Alexandra Martinez" in row and "…" in row
            assert "title/abstract · Alexandra Martinez · Benjamin Okafor · 4 records" in "\n".join(screen_lines(app))
            await pilot.press("down")
            await pilot.pause()
            shown = " ".join(line.strip() for line in screen_lines(app))  # the line wraps between words
            assert f"title/abstract · alice · bob · 2 records · {note}" in shown
        else:
            assert narrow_columns(table) == []
            assert "Alexandra Martinez · Benjamin Okafor" in row and note in line_with(app, "alice · bob")
            assert "4 records" not in "\n".join(screen_lines(app))

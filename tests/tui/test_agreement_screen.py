"""Pilot tests for the agreement screen: a on the dashboard shows kappa, its CI and % agreement per pair,
as `reviewkit agreement --json` gives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import DataTable

from reviewkit.cli import cli
from reviewkit.services import screen
from reviewkit.services.project import Review, open_review
from reviewkit.tui.app import ReviewkitApp, make_app
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



async def test_a_kappa_without_ci_says_why(review: Review) -> None:
    """Perfect agreement over both categories: kappa 1, its SE 0, so no CI. The table showed "—" beside
    1.00 with an empty note, as if a figure were missing; `reviewkit agreement` says "not estimable"."""
    ids = add_records(review, 6)
    for rid, decision in zip(ids, ["include"] * 3 + ["exclude"] * 3, strict=True):
        for who in ("alice", "bob"):
            screen.record_decision(review, who, rid, "ta", decision)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await app.push_screen(AgreementScreen(review, "carol"))
        await settle(pilot)
        row = line_with(app, "alice · bob")
        assert "1.00" in row and "—" in row and "95% CI not estimable: they agreed on every record" in row


def _cells(pair: dict[str, object]) -> list[str]:
    """A pair of `reviewkit agreement --json` as the screen's table words it."""
    def two(x: object) -> str:
        return "—" if x is None else f"{x:.2f}"
    ci = "—" if pair["kappa_ci_lower"] is None else f"{two(pair['kappa_ci_lower'])} to {two(pair['kappa_ci_upper'])}"
    percent = pair["percent_agreement"]
    return [{"ta": "title/abstract", "ft": "full text"}[str(pair["stage"])], " · ".join(pair["reviewers"]),  # type: ignore[arg-type]
            two(pair["kappa"]), ci, "—" if percent is None else f"{percent:.1f}%", str(pair["n"])]


def _cli_rows(review: Review, viewer: str, *flags: str) -> list[list[str]]:
    """`reviewkit agreement --json` as the viewer runs it, each pair as the screen's table words it."""
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", viewer, "agreement", "--json", *flags])
    return [_cells(p) for p in json.loads(out.output)]


def _shown_rows(app: ReviewkitApp) -> list[list[str]]:
    """The agreement table's rows as shown, without the Note column."""
    table = app.screen.query_one("#agreement-pairs", DataTable)
    return [[str(c) for c in table.get_row_at(i)[:6]] for i in range(table.row_count)]


async def test_three_screeners_at_both_stages_match_the_cli_and_refresh(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three screeners per record: a row per pair and stage, a full-text maybe its own category, each
    figure as `reviewkit agreement --json` gives it; r counts again after new decisions."""
    from reviewkit.services.project import init_review
    from tests.reliability._helpers import protocol_with_reviewers

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    team = [("alice", ["screener", "lead"]), ("bob", ["screener"]), ("carol", ["adjudicator"]),
            ("dave", ["screener"])]
    review = init_review(tmp_path / "r", protocol_with_reviewers(tmp_path / "p", team, screeners_per_record=3))
    try:
        ids = add_records(review, 8)
        ta = {"alice": ["include"] * 5 + ["exclude", "exclude"],
              "bob": ["include"] * 5 + ["exclude", "maybe"],
              "dave": ["include"] * 4 + ["maybe", "include", "exclude"]}
        ft = {"alice": ["include", "include", "exclude", "maybe", "include"],
              "bob": ["include", "exclude", "exclude", "include", "include"],
              "dave": ["include", "include", "exclude", "maybe", "exclude"]}
        for who, decisions in ta.items():
            for rid, decision in zip(ids, decisions, strict=False):
                screen.record_decision(review, who, rid, "ta", decision)
        for who, decisions in ft.items():
            for rid, decision in zip(ids, decisions, strict=False):
                screen.record_decision(review, who, rid, "ft", decision,
                                       reason="Animal study" if decision == "exclude" else None)

        app = make_app(review, reviewer="alice")
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(pilot)
            await app.push_screen(AgreementScreen(review, "alice"))
            await settle(pilot)
            expected = _cli_rows(review, "alice")
            assert [row[:2] for row in expected] == [[stage, pair] for stage in ("title/abstract", "full text")
                                                     for pair in ("alice · bob", "alice · dave", "bob · dave")]
            assert _shown_rows(app) == expected
            for who in ("alice", "bob", "dave"):
                screen.record_decision(review, who, ids[7], "ta", "exclude")
            await pilot.press("r")
            await settle(pilot)
            assert _shown_rows(app) == _cli_rows(review, "alice") != expected
            assert _shown_rows(app)[0][-1] == "8"
    finally:
        review.engine.dispose()


async def test_with_no_pair_the_screen_says_what_the_viewer_can_know(review: Review) -> None:
    """Nobody has decided yet: carol (adjudicator) is told so; bob, a screener, is told what his figures
    will count, the words a screener also sees while records wait for more decisions, so they never say
    that no two reviewers have decided a record (false then) nor that some have (a leak)."""
    for who, said in (("carol", "No record has decisions from two reviewers yet."),
                      ("bob", "No agreement figures for you yet")):
        app = make_app(review, reviewer=who)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, AgreementScreen)
            assert said in " ".join(screen_lines(app))


async def test_m_counts_a_title_abstract_maybe_as_its_own_category_as_keep_maybe_does(review: Review) -> None:
    """alice's maybes against bob's includes: as include (the default) they agree on all 6 records, kappa
    1.00; as its own category (m, `--keep-maybe`) on 4, a lower kappa. m again goes back. Each table as
    `reviewkit agreement --json` with and without --keep-maybe gives it."""
    ids = add_records(review, 6)
    for rid, a, b in zip(ids, ["maybe", "maybe", "include", "include", "exclude", "exclude"],
                         ["include", "include", "include", "include", "exclude", "exclude"], strict=True):
        screen.record_decision(review, "alice", rid, "ta", a)
        screen.record_decision(review, "bob", rid, "ta", b)

    app = make_app(review, reviewer="carol")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await app.push_screen(AgreementScreen(review, "carol"))
        await settle(pilot)
        as_include, own = _cli_rows(review, "carol"), _cli_rows(review, "carol", "--keep-maybe")
        assert as_include[0][2] == "1.00" and own[0][2] not in ("1.00", "—") and own[0][4] == "66.7%"
        assert _shown_rows(app) == as_include
        for expected, words in ((own, "maybe as its own category at both stages"),
                                (as_include, "maybe counts as include at title/abstract")):
            await pilot.press("m")
            await settle(pilot)
            assert _shown_rows(app) == expected
            assert words in " ".join(" ".join(screen_lines(app)).split())

"""Pilot tests for the analysis screen: the planned meta-analyses with `reviewkit analyze`'s numbers, the
selected one as a text forest, the plots written on request, and skipped analyses told with their reasons."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from reviewkit.services.analyze import AnalysisOutput, SkippedAnalysis, analyze_review
from reviewkit.services.project import Review, open_review
from reviewkit.tui.app import ReviewkitApp, make_app
from reviewkit.tui.screens.analysis import AnalysisScreen
from reviewkit.tui.screens.dashboard import DashboardScreen
from reviewkit.tui.screens.help import HelpScreen
from reviewkit.tui.widgets.text_forest import TextForest
from tests.tui.rendered import footer_line, screen_lines


async def _open(app: ReviewkitApp, pilot: Pilot[None]) -> AnalysisScreen:
    """Press the dashboard's key and wait for the analyses."""
    await pilot.pause()
    assert isinstance(app.screen, DashboardScreen)
    await pilot.press("n")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, AnalysisScreen)
    return app.screen


def _rows(screen: AnalysisScreen) -> list[list[str]]:
    table = screen.query_one("#analysis-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _shown(app: ReviewkitApp) -> str:
    """Everything in the detail pane, scrolled or not (the forest and the text around it)."""
    return "\n".join(str(w.render()) for w in app.screen.query("#analysis-detail > *"))


def _pooled(o: AnalysisOutput) -> tuple[str, str]:
    """The pooled effect and its CI, worded as `reviewkit analyze` prints them."""
    lo, hi = o.result.effect_ci
    return f"{o.result.effect:.2f}", f"{lo:.2f} to {hi:.2f}"


def _notes(app: ReviewkitApp, severity: str | None = None) -> list[str]:
    return [str(n.message) for n in app._notifications if severity is None or n.severity == severity]


async def test_the_screen_shows_what_analyze_computes_and_follows_the_selection(demo: Review) -> None:
    """From the dashboard, `n` opens the analyses: each pooled estimate, its CI, p, k and I² as the service
    computed them, written as `reviewkit analyze` prints them; the selected analysis's forest has a row per
    study and the pooled row, and moving the selection shows the next one's. No plot file is drawn."""
    expected = [o for o in analyze_review(demo, plots=False) if isinstance(o, AnalysisOutput)]
    assert len(expected) >= 2
    app = make_app(demo, reviewer="bob")  # not a lead: anyone may look, as anyone may run analyze
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        rows = _rows(screen)
        assert [r[0] for r in rows] == [o.analysis.name for o in expected]
        for row, o in zip(rows, expected, strict=True):
            effect, ci = _pooled(o)
            assert row[2] == f"{effect} ({ci})"
            assert row[3] == f"{o.result.p:.2g}" and row[4] == str(o.result.k)
            assert row[8] == f"{o.result.I2:.0f}%"
        forest = screen.query_one("#analysis-forest", TextForest)
        for index, o in enumerate(expected):
            if index:
                await pilot.press("down")
                await pilot.pause()
            labels = [r.label for r in forest.rows]
            assert labels[:-1] == list(o.result.effects.studies) and labels[-1] == "Total (95% CI)"
            effect, ci = _pooled(o)
            total = next(line for line in forest.lines() if line.startswith("Total (95% CI)"))
            assert effect in total and ci in total
            shown = _shown(app)
            # the CLI's own summary line for it, word for word
            assert f"{o.analysis.name} [{o.multiarm}]: {o.result.measure} {effect} (95% CI {ci}), " in shown
            assert "Heterogeneity:" in shown and "subgroups by dose_mg" in shown
        assert not list((demo.folder / "exports").glob("*.svg"))


async def test_at_80x24_the_footer_keeps_help_and_quit_and_the_detail_scrolls(demo: Review) -> None:
    """On 80×24 the dashboard's key line names `n Analysis`; the analysis screen keeps ? Help and q Quit in
    its footer, the wide table scrolls sideways inside itself, the screen itself never scrolls, and page
    down brings the pooled row into view."""
    app = make_app(demo, reviewer="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "n Analysis" in " ".join(line.strip() for line in screen_lines(app)[:-1])
        screen = await _open(app, pilot)
        footer = footer_line(app)
        assert "? Help" in footer and "q Quit" in footer and "w Write plots" in footer
        table = screen.query_one("#analysis-table", DataTable)
        assert table.max_scroll_x > 0 and table.region.right <= 80
        assert screen.max_scroll_y == 0
        assert not any(line.startswith("Total (95% CI)") for line in screen_lines(app))
        for _ in range(3):
            await pilot.press("pagedown")
            await pilot.pause()
            if any(line.strip().startswith("Total (95% CI)") for line in screen_lines(app)):
                break
        else:
            raise AssertionError("the pooled row never came into view")
        assert table.cursor_row == 0  # page down scrolled the detail, not the table
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_w_writes_the_plots_analyze_writes_and_a_failure_is_told(demo: Review) -> None:
    """`w` draws the plots where `reviewkit analyze` draws them and names them in a notification; when they
    cannot be written (the exports folder is a file) an error notification says why, with no traceback."""
    exports = demo.folder / "exports"
    assert not exports.exists() or not any(exports.iterdir())
    if exports.exists():
        exports.rmdir()
    exports.write_text("not a folder", encoding="utf-8")
    app = make_app(demo, reviewer="bob")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        errors = _notes(app, "error")
        assert errors and errors[-1].startswith("The plots were not written:")
        assert isinstance(app.screen, AnalysisScreen)
        exports.unlink()
        await pilot.press("w")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        written = sorted(p.name for p in exports.iterdir())
        assert written and all(name.endswith(".svg") for name in written)
        told = _notes(app, "information")[-1]
        assert str(exports) in told and all(name in told for name in written)
        assert "plot: " in _shown(app)  # the selected analysis lists its plot files, as analyze prints them
    # the same service call as `reviewkit analyze`: the same files, in the same folder
    cli_plots = [p for o in analyze_review(open_review(demo.folder)) if isinstance(o, AnalysisOutput)
                 for p in o.plots]
    assert sorted(p.name for p in cli_plots) == written and {p.parent for p in cli_plots} == {exports}


async def test_without_consensus_data_each_analysis_is_skipped_with_the_reason_analyze_gives(review: Review) -> None:
    """A review with no consensus extraction (and one analysis the protocol cannot run) lists every planned
    analysis as skipped, the selected one's reason as `reviewkit analyze` prints it; `w` writes nothing
    and says so."""
    path = review.folder / "review.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"', 1),
                    encoding="utf-8")
    review = open_review(review.folder)
    expected: list[Any] = analyze_review(review, plots=False)
    assert expected and all(isinstance(o, SkippedAnalysis) for o in expected)
    app = make_app(review, reviewer="carol")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        rows = _rows(screen)
        assert [r[0] for r in rows] == [o.analysis.name for o in expected]
        assert all(r[2] == "skipped" for r in rows)
        assert "skipped" in screen_lines(app)[1]
        for index, o in enumerate(expected):
            if index:
                await pilot.press("down")
                await pilot.pause()
            assert f"{o.analysis.name}: skipped ({o.reason})" in _shown(app)
            assert not screen.query_one("#analysis-forest", TextForest).rows
        assert "tau2" in expected[0].reason  # the protocol's problem, not only "no data"
        await pilot.press("w")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "No plots written: every planned analysis was skipped" in _notes(app, "warning")
        assert not list(review.folder.glob("exports/*"))


def test_the_prediction_interval_is_shown_once_with_its_method_and_not_under_revman5(demo: Review) -> None:
    """RevMan 5 shows no prediction interval, so neither do its flavour's rows and detail (the numbers stay in
    the JSON); under cochrane2025 the detail shows it once, its method named, as `analyze` words it."""
    from reviewkit.services.analyze_text import format_analysis
    from reviewkit.tui.screens.analysis import COLUMNS, analysis_cells, detail_text

    pi_column = list(COLUMNS).index("Prediction interval")
    revman = [o for o in analyze_review(demo, plots=False) if isinstance(o, AnalysisOutput)]
    for o in revman:
        assert o.result.pi_lower is not None  # computed, only not shown
        assert "Prediction interval" not in detail_text(o)[1]
        assert analysis_cells(o)[pi_column] == "—"
    protocol = demo.folder / "review.toml"
    protocol.write_text(protocol.read_text().replace('flavour = "revman5"', 'flavour = "cochrane2025"'))
    cochrane = [o for o in analyze_review(open_review(demo.folder), plots=False) if isinstance(o, AnalysisOutput)]
    for o in cochrane:
        below = detail_text(o)[1].splitlines()
        shown = [line for line in below if "rediction interval" in line]
        assert len(shown) == 1 and shown[0].startswith(f"Prediction interval (t, {o.result.k - 2} df")
        assert shown[0] in [line.strip() for line in format_analysis(o)]
        lo, hi = o.result.effect_pi
        assert analysis_cells(o)[pi_column] != "—" and f"{lo:.2f}" in analysis_cells(o)[pi_column]


async def test_revman5_with_prediction_interval_true_shows_it_once_on_the_screen(demo: Review) -> None:
    """`prediction_interval = true` on the first (revman5) analysis: the screen's detail shows its line once,
    as `analyze` words it (z, revman5's method), and its table cell has the interval; the analyses that do
    not ask still show none. `prediction_interval = false` under metafor hides both again."""
    from reviewkit.services.analyze_text import format_analysis
    from reviewkit.tui.screens.analysis import COLUMNS, analysis_cells, detail_text

    pi_column = list(COLUMNS).index("Prediction interval")
    protocol = demo.folder / "review.toml"
    plain = protocol.read_text(encoding="utf-8")
    protocol.write_text(plain.replace('flavour = "revman5"', 'flavour = "revman5"\nprediction_interval = true', 1),
                        encoding="utf-8")
    review = open_review(demo.folder)
    first, *rest = [o for o in analyze_review(review, plots=False) if isinstance(o, AnalysisOutput)]
    line = next(line.strip() for line in format_analysis(first) if "rediction interval" in line)
    assert line.startswith("Prediction interval (z")
    lo, hi = first.result.effect_pi
    assert analysis_cells(first)[pi_column] == f"{lo:.2f} to {hi:.2f}"
    assert all(analysis_cells(o)[pi_column] == "—" for o in rest)
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, pilot)
        shown = _shown(app).splitlines()
        assert [s.strip() for s in shown if "rediction interval" in s] == [line]
    protocol.write_text(plain.replace('flavour = "revman5"', 'flavour = "metafor"\nprediction_interval = false', 1),
                        encoding="utf-8")
    hidden = next(o for o in analyze_review(open_review(demo.folder), plots=False) if isinstance(o, AnalysisOutput))
    assert hidden.result.flavour == "metafor" and hidden.result.pi_lower is not None
    assert "rediction interval" not in detail_text(hidden)[1] and analysis_cells(hidden)[pi_column] == "—"


def test_the_ad_hoc_hksj_is_named_in_the_settings_line_and_the_hk_column() -> None:
    """An analysis with hksj_adhoc says "Hartung-Knapp (ad hoc, max(1, q))" and "ad hoc" in its HK cell, run
    or skipped (its plan); plain HKSJ still says "Hartung-Knapp" and "yes"."""
    import json
    from pathlib import Path

    from reviewkit.pooling import meta_analysis
    from reviewkit.protocol import parse_protocol
    from reviewkit.services.project import EXAMPLE_PROTOCOL
    from reviewkit.tui.screens.analysis import COLUMNS, analysis_cells, settings_line

    text = EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace(
        'tau2 = "DL"', 'tau2 = "DL"\nhksj = true\nhksj_adhoc = true', 1)
    adhoc, plain = parse_protocol(text).analyses[:2]
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "metafor" / "bcg_RR_DL.json"
    rows = json.loads(fixture.read_text(encoding="utf-8"))["input"]["studies"]
    run = AnalysisOutput(adhoc, "naive", meta_analysis(rows, measure="RR", hksj_adhoc=True), ())
    assert "RR, IV, random effects, τ² REML, Hartung-Knapp (ad hoc, max(1, q)) · cochrane2025" in settings_line(run)
    hk = list(COLUMNS).index("HK")
    skipped = SkippedAnalysis(adhoc, "no consensus data for iga_0_1 yet")
    assert analysis_cells(skipped)[hk] == "ad hoc"
    assert "Hartung-Knapp (ad hoc, max(1, q))" in settings_line(skipped)
    plain_skipped = SkippedAnalysis(plain.model_copy(update={"hksj": True}), "no data")
    assert analysis_cells(plain_skipped)[hk] == "yes" and "Hartung-Knapp ·" in settings_line(plain_skipped)


def test_an_undefined_test_shows_a_dash_not_nan() -> None:
    """Two studies with the same mean difference under cochrane2025's HKSJ: the t test is undefined (its SE is
    0), so the table's p cell is a dash, as for an undefined Q, not "nan"; the warning says why below."""
    from reviewkit.protocol import Analysis
    from reviewkit.services.analyze import ArmInput, StudyInput, run_analysis
    from reviewkit.tui.screens.analysis import analysis_cells, detail_text

    studies = [StudyInput(name, (ArmInput("placebo", 20, mean=m, sd=2.0), ArmInput("drug", 20, mean=m + 1, sd=2.0)))
               for name, m in (("A", 1.0), ("B", 1.5))]
    o = run_analysis(studies, Analysis(name="MD", outcome="o", measure="MD", flavour="cochrane2025"))
    assert analysis_cells(o)[3] == "—"
    assert "nan" not in " ".join(analysis_cells(o))
    assert "the Hartung-Knapp standard error is 0" in detail_text(o)[1]

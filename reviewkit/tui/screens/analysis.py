"""Provides the analysis screen: the protocol's meta-analyses on the consensus extraction, with a text forest.

Every number comes from `services.analyze.analyze_review`, the call `reviewkit analyze` makes, and is
worded as that command prints it (`services.analyze_text.format_analysis`) or as the forest plot file does
(`render.forest`'s heterogeneity and overall-effect lines); the screen computes no statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.tui.widgets.text_forest import ForestRow, TextForest

if TYPE_CHECKING:
    from reviewkit.pooling import MetaResult
    from reviewkit.services.analyze import AnalysisOutput, SkippedAnalysis

# The analyses' modules (the services with the plots' matplotlib, the CLI's wording) are imported by the
# worker that first runs them, never in the event loop: imported as the screen opened, they froze it ~0.6 s.

#: The table's columns: the result first (what fits 80 columns), then the settings that produced it.
COLUMNS = ("Analysis", "Measure", "Effect (95% CI)", "p", "k", "Studies", "N", "τ²", "I²", "Q (p)",
           "Prediction interval", "Method", "Model", "τ² estimator", "HK", "Outcome", "Comparison")
#: The plot format `reviewkit analyze` writes by default.
PLOT_FORMAT = "svg"


@dataclass(frozen=True)
class AnalysisView:
    """One planned analysis as the screen shows it, worded in the worker from what the service computed."""

    name: str
    #: Its table row, in COLUMNS order.
    cells: tuple[str, ...]
    #: The lines above the forest (the CLI's summary line, the settings) and below it.
    above: str
    below: str
    #: The forest's rows (none for a skipped analysis), its measure, axis kind and confidence level.
    forest: tuple[ForestRow, ...] = ()
    measure: str = ""
    ratio: bool = False
    level: float = 0.95
    skipped: bool = False
    #: The plot files drawn for it (by `w`).
    plots: tuple[Path, ...] = ()


def _ci(lo: float | None, hi: float | None) -> str:
    return "—" if lo is None or hi is None else f"{lo:.2f} to {hi:.2f}"


def tau2_cell(r: MetaResult) -> str:
    """τ² as the forest plot's heterogeneity line gives it ("—" under a fixed-effect model)."""
    from reviewkit.pooling.wording import tau2_text

    return tau2_text(r.tau2) if r.model == "random" else "—"


def i2_text(r: MetaResult) -> str:
    """I² as `reviewkit analyze` prints it."""
    return "n/a" if r.I2 is None else f"{r.I2:.0f}%"


def pooled_text(r: MetaResult) -> str:
    """The pooled effect and its CI as `reviewkit analyze` prints them: "2.42 (1.97 to 2.98)"."""
    lo, hi = r.effect_ci
    return f"{r.effect:.2f} ({lo:.2f} to {hi:.2f})"


def studies_pooled(o: AnalysisOutput) -> int:
    """How many studies the pooled comparisons come from (a multi-arm trial gives several comparisons)."""
    return len({o.rows[i].get("source_study", o.rows[i]["study"]) for i in o.result.positions})


def _outcome(name: str, timepoint: str | None) -> str:
    return f"{name} at {timepoint}" if timepoint else name


def _planned(o: SkippedAnalysis) -> tuple[str | None, str | None, str | None, bool, bool, str]:
    """A skipped analysis's method, model, τ² estimator, HKSJ, its ad hoc variant and flavour, as its JSON
    reports them."""
    s = o.to_dict()
    return s["method"], s["model"], s["tau2_estimator"], bool(s["hksj"]), bool(s["hksj_adhoc"]), s["flavour"]


def _hk_cell(hksj: bool, adhoc: bool) -> str:
    """The HK column: "ad hoc" tells the max(1, q) variant from plain HKSJ ("yes")."""
    return ("ad hoc" if adhoc else "yes") if hksj else "no"


def analysis_cells(o: AnalysisOutput | SkippedAnalysis) -> tuple[str, ...]:
    """One analysis's row, in COLUMNS order; a skipped one shows its planned settings and "skipped"."""
    from reviewkit.pooling.wording import prediction_interval_text
    from reviewkit.services.analyze import SkippedAnalysis

    a = o.analysis
    comparison = f"vs {a.control} ({o.multiarm or a.multiarm})"
    if isinstance(o, SkippedAnalysis):
        method, model, estimator, hksj, adhoc, _ = _planned(o)
        return (a.name, a.measure, "skipped", *["—"] * 8, method or "—", model or "—", estimator or "—",
                _hk_cell(hksj, adhoc), _outcome(a.outcome, a.timepoint), comparison)
    r = o.result
    q = "—" if r.Q is None else f"{r.Q:.2f} (p = {r.Q_p:.2g})"
    p = f"{r.p:.2g}" if math.isfinite(r.p) else "—"  # no test (an HKSJ SE of 0): a dash, as for Q, not "nan"
    return (a.name, r.measure, pooled_text(r), p, str(r.k), str(studies_pooled(o)),
            f"{o.participants:g}", tau2_cell(r), i2_text(r), q,
            "—" if prediction_interval_text(r) is None else _ci(*r.effect_pi), r.method, r.model,
            r.estimator or "—", _hk_cell(r.hksj, r.hksj_adhoc), _outcome(a.outcome, a.timepoint), comparison)


def forest_rows(r: MetaResult) -> list[ForestRow]:
    """Each study's row (those left out too, as "Not estimable") and the pooled row, from the result."""
    rows = [ForestRow(s["study"], s["effect"], s["ci_lower"], s["ci_upper"], s["weight_percent"])
            for s in r.study_rows()]
    lo, hi = r.effect_ci
    rows.append(ForestRow(f"Total ({r.level * 100:g}% CI)", r.effect, lo, hi, 100.0, pooled=True))
    return rows


def settings_line(o: AnalysisOutput | SkippedAnalysis) -> str:
    """What the analysis compares and how it pools: outcome, arms, measure, method, model, τ² estimator, HK."""
    from reviewkit.services.analyze import SkippedAnalysis

    a = o.analysis
    if isinstance(o, SkippedAnalysis):
        method, model, estimator, hksj, adhoc, flavour = _planned(o)
    else:
        r = o.result
        method, model, estimator, hksj, adhoc, flavour = r.method, r.model, r.estimator, r.hksj, r.hksj_adhoc, r.flavour
    how = f"{a.measure}, {method or 'default'}, {model or 'default'} effects"
    if estimator:
        how += f", τ² {estimator}"
    if hksj:
        how += ", Hartung-Knapp (ad hoc, max(1, q))" if adhoc else ", Hartung-Knapp"
    return (f"{_outcome(a.outcome, a.timepoint)} · experimental arms vs {a.control} ({o.multiarm or a.multiarm}) · "
            f"{how} · {flavour}")


def subgroup_lines(o: AnalysisOutput, cli_lines: Sequence[str]) -> tuple[list[str], set[str]]:
    """Each subgroup variable's test line (as `reviewkit analyze` prints it) followed by each subgroup's
    pooled result, and the CLI lines they take (shown here, not again below)."""
    lines: list[str] = []
    used: set[str] = set()
    for name, sub in o.subgroups.items():
        head = next((line for line in cli_lines if line.startswith((f"  subgroups by {name}:",
                                                                     f"  subgroups by {name} ["))),
                    f"  subgroups by {name}:")
        used.add(head)
        lines.append(head)
        for group, r in zip(sub.names, sub.results, strict=True):
            lo, hi = r.effect_ci
            lines.append(f"    {group}: {r.measure} {r.effect:.2f} (95% CI {lo:.2f} to {hi:.2f}), {r.k} "
                         f"comparison{'' if r.k == 1 else 's'}, I² {i2_text(r)}")
        lines.extend(f"    not pooled: {why}" for why in sub.skipped)
        notes = [f"  note: {n}" for n in o.subgroup_info.get(name, {}).get("notes", [])]
        used.update(notes)
        lines.extend(notes)
    return lines, used


def detail_text(o: AnalysisOutput | SkippedAnalysis) -> tuple[str, str]:
    """The text above the forest (the CLI's summary line, the settings) and below it (heterogeneity,
    the overall test, the prediction interval, subgroups, sensitivity analyses, warnings, plots)."""
    from reviewkit.pooling.wording import (
        heterogeneity_text,
        overall_effect_text,
        prediction_interval_text,
    )
    from reviewkit.services.analyze import SkippedAnalysis
    from reviewkit.services.analyze_text import format_analysis

    if isinstance(o, SkippedAnalysis):
        # `reviewkit analyze` prints exactly this line for a skipped analysis.
        return f"{o.analysis.name}: skipped ({o.reason})\n{settings_line(o)}", ""
    cli_lines = format_analysis(o)
    r = o.result
    below = [heterogeneity_text(r), overall_effect_text(r)]
    interval = prediction_interval_text(r)  # None where the flavour shows none (RevMan 5)
    if interval is not None:
        below.append(interval)
    subgroups, used = subgroup_lines(o, cli_lines)
    if interval is not None:  # format_analysis words it the same way (indented): shown once, here
        used.update(line for line in cli_lines if line.strip() == interval)
    if subgroups:
        below.extend(["", *subgroups])
    rest = [line for line in cli_lines[1:] if line not in used]
    if rest:
        below.extend(["", *rest])
    return f"{cli_lines[0]}\n{settings_line(o)}", "\n".join(below)


def analysis_view(o: AnalysisOutput | SkippedAnalysis) -> AnalysisView:
    """The screen's view of one planned analysis the service ran (or skipped)."""
    from reviewkit.services.analyze import SkippedAnalysis

    above, below = detail_text(o)
    if isinstance(o, SkippedAnalysis):
        return AnalysisView(o.analysis.name, analysis_cells(o), above, below, skipped=True)
    r = o.result
    return AnalysisView(o.analysis.name, analysis_cells(o), above, below, tuple(forest_rows(r)), r.measure,
                        r.is_ratio, r.level, plots=o.plots)


def skipped_count(views: Sequence[AnalysisView]) -> str:
    """"1 of 3 analyses skipped", counted by name as `reviewkit analyze` counts them on stderr."""
    planned = list(dict.fromkeys(v.name for v in views))
    skipped = list(dict.fromkeys(v.name for v in views if v.skipped))
    return f"{len(skipped)} of {len(planned)} {'analysis' if len(planned) == 1 else 'analyses'} skipped"


def written_text(views: Sequence[AnalysisView], folder: Path) -> str:
    """What the write key wrote: the plot files, by name, and the folder they are in."""
    paths = [p for v in views for p in v.plots]
    if not paths:
        return "No plots written: every planned analysis was skipped"
    return f"{len(paths)} plot {'file' if len(paths) == 1 else 'files'} written to {folder}:\n" + "\n".join(
        p.name for p in paths)


def run_views(review: Review, *, plots: bool) -> list[AnalysisView]:
    """Run the planned analyses as `reviewkit analyze` does (drawing the plots when asked) and word them
    for the screen; runs in a worker thread."""
    from reviewkit.services.analyze import analyze_review

    return [analysis_view(o) for o in analyze_review(review, plots=plots, plot_format=PLOT_FORMAT)]


class AnalysisScreen(Screen[None]):
    """The planned meta-analyses (`reviewkit analyze`'s numbers), the selected one as a text forest plot.

    Anyone may open it, as anyone may run `reviewkit analyze`. The analyses run in a worker without
    drawing plot files; `w` runs them again with the plots, into the review's exports folder.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("w", "write_plots", "Write plots"),
        # The table keeps the focus (up and down choose an analysis): these scroll the detail under it.
        Binding("pagedown", "scroll_detail(1)", "Scroll the detail down", show=False, priority=True),
        Binding("pageup", "scroll_detail(-1)", "Scroll the detail up", show=False, priority=True),
    ]

    class Loaded(Message):
        """Posted by the worker with every planned analysis (or the service's refusal)."""

        def __init__(self, views: list[AnalysisView], error: str = "") -> None:
            super().__init__()
            self.views = views
            self.error = error

    class Written(Message):
        """Posted when `w`'s run has written the plots (the analyses, now with their plot files)."""

        def __init__(self, views: list[AnalysisView]) -> None:
            super().__init__()
            self.views = views

    class WriteFailed(Message):
        """Posted when `w`'s run was refused or a plot could not be written."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review
        self.views: list[AnalysisView] = []

    def compose(self) -> ComposeResult:
        """A status line, the analyses, the selected one in detail (scrollable)."""
        yield Header()
        yield Static("Running the planned analyses…", id="analysis-status", markup=False)
        table = FittedTable(id="analysis-table", cursor_type="row", zebra_stripes=True, squeeze=["analysis"])
        table.add_column("Analysis", key="analysis")
        table.add_columns(*COLUMNS[1:])
        yield table
        with VerticalScroll(id="analysis-detail"):
            yield Static("", id="analysis-summary", markup=False)
            yield TextForest(id="analysis-forest")
            yield Static("", id="analysis-notes", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Run the analyses now."""
        self.sub_title = "Meta-analysis"
        self.action_refresh()

    def action_refresh(self) -> None:
        """Run the analyses again in a worker thread (no plot files)."""
        self._load()

    def action_write_plots(self) -> None:
        """Run the analyses with their plots, as `reviewkit analyze` does, in a worker thread."""
        self.notify("Writing the plots…", timeout=3, markup=False)
        self._write()

    def action_scroll_detail(self, pages: int) -> None:
        """Scroll the selected analysis's detail by a page."""
        detail = self.query_one("#analysis-detail", VerticalScroll)
        (detail.scroll_page_down if pages > 0 else detail.scroll_page_up)(animate=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="analysis")
    def _load(self) -> None:
        try:
            views, error = run_views(self.review, plots=False), ""
        except ReviewkitError as exc:
            views, error = [], str(exc)
        # A newer refresh supersedes this one: its older results must not replace the newer ones.
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(views, error))

    @work(thread=True, exclusive=True, exit_on_error=False, group="analysis-write")
    def _write(self) -> None:
        try:
            views = run_views(self.review, plots=True)
        except (ReviewkitError, OSError) as exc:
            self.post_message(self.WriteFailed(str(exc)))
            return
        self.post_message(self.Written(views))

    def on_analysis_screen_loaded(self, message: Loaded) -> None:
        """Show the analyses."""
        if message.error:
            self.query_one("#analysis-status", Static).update(f"error: {message.error}")
            self.notify(message.error, severity="error", timeout=10, markup=False)
        self._show(message.views)

    def on_analysis_screen_written(self, message: Written) -> None:
        """Say which plot files were written, and show the analyses they were drawn from."""
        self._show(message.views)
        ran = not all(v.skipped for v in message.views)
        self.notify(written_text(message.views, self.review.folder / "exports"),
                    severity="information" if ran else "warning", timeout=10, markup=False)
        if ran and any(v.skipped for v in message.views):
            self.notify(skipped_count(message.views), severity="warning", timeout=10, markup=False)

    def on_analysis_screen_write_failed(self, message: WriteFailed) -> None:
        """The plots could not be written: say why."""
        self.notify(f"The plots were not written: {message.error}", severity="error", timeout=10, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A run that fails unexpectedly (the database gone mid-session) is told, not left as "Running…"."""
        if event.state == WorkerState.ERROR and event.worker.group in ("analysis", "analysis-write"):
            self.notify(f"The analyses could not be run: {event.worker.error}",
                        severity="error", timeout=10, markup=False)
            if event.worker.group == "analysis":
                self.query_one("#analysis-status", Static).update(
                    f"error: the analyses could not be run ({event.worker.error}); r tries again")

    def _show(self, views: list[AnalysisView]) -> None:
        self.views = views
        table = self.query_one("#analysis-table", FittedTable)
        row = table.cursor_row
        table.clear()
        for view in views:
            name, *cells = view.cells
            table.add_row(clipped(name), *cells)
        if views:
            table.move_cursor(row=min(max(row, 0), len(views) - 1))
            status = f"{len(views)} planned {'analysis' if len(views) == 1 else 'analyses'}"
            if skipped := sum(v.skipped for v in views):
                status += f", {skipped} skipped (why: under the table)"
            # the folder by name only: Review.exports would create it before anything is written
            self.query_one("#analysis-status", Static).update(f"{status} · w writes the plots to exports/")
        self._show_detail()

    @on(DataTable.RowHighlighted, "#analysis-table")
    def _analysis_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def selected(self) -> AnalysisView | None:
        """The analysis under the table's cursor."""
        table = self.query_one("#analysis-table", FittedTable)
        if not table.row_count or not 0 <= table.cursor_row < len(self.views):
            return None
        return self.views[table.cursor_row]

    def _show_detail(self) -> None:
        view = self.selected()
        self.query_one("#analysis-summary", Static).update(view.above if view else "")
        self.query_one("#analysis-notes", Static).update(view.below if view else "")
        self.query_one("#analysis-forest", TextForest).show(
            view.forest if view else [], measure=view.measure if view else "", ratio=bool(view and view.ratio),
            level=view.level if view else 0.95)

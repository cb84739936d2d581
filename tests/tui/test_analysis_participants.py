"""Pilot test for the analysis screen's N column: each arm's participants once, as the extraction holds them
(the worked example's naive analyses counted each shared placebo group once per dose)."""

from __future__ import annotations

from textual.widgets import DataTable

from reviewkit.services.analyze import AnalysisOutput, analyze_review, load_study_inputs
from reviewkit.services.project import Review
from reviewkit.tui.app import make_app
from reviewkit.tui.screens.analysis import COLUMNS, AnalysisScreen


def _arms_once(review: Review, o: AnalysisOutput) -> float:
    """The participants of every arm of the studies the analysis pools, from the consensus extraction."""
    pooled = {str(o.rows[i].get("source_study", o.rows[i]["study"])) for i in o.result.positions}
    return sum(a.n or 0 for s in load_study_inputs(review, o.analysis) if s.study in pooled for a in s.arms)


async def test_the_n_column_counts_a_shared_placebo_group_once(demo: Review) -> None:
    expected = [o for o in analyze_review(demo, plots=False) if isinstance(o, AnalysisOutput)]
    # the example's analyses are naive, and its dose-ranging trials give several comparisons per placebo group
    assert {o.multiarm for o in expected} == {"naive"}
    assert any(o.result.k > len({r["source_study"] for r in o.rows}) for o in expected)
    app = make_app(demo, reviewer="bob")
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, AnalysisScreen)
        table = app.screen.query_one("#analysis-table", DataTable)
        shown = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[COLUMNS.index("N")])
                 for i in range(table.row_count)}
    for o in expected:
        assert shown[o.analysis.name] == f"{_arms_once(demo, o):g}", o.analysis.name

"""Tests that an analysis pooling a study the review does not include says so, naming the study.

A study is included when a report of it is included at full text (PRISMA's "Studies included in
review"). One whose reports are excluded there, or not yet screened there, is still pooled (a what-if
before screening ends), but `analyze` (text and JSON) and the analysis screen warn about it.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services import screen
from reviewkit.services.analyze import AnalysisOutput, analyze_review
from reviewkit.services.project import Review
from reviewkit.services.studies import list_studies
from reviewkit.tui.screens.analysis import detail_text

NOT_INCLUDED = "is pooled but not included in the review"


def _warned(o: AnalysisOutput) -> list[str]:
    return [w for w in o.warnings if NOT_INCLUDED in w]


def _reports(review: Review, label: str) -> list[int]:
    return sorted(next(s for s in list_studies(review) if s.label == label).reports)


def test_the_demo_pools_only_included_studies_and_gives_no_such_warning(demo: Review) -> None:
    """Every demo study has a report included at full text, BREEZE-AD7 too, whose conference abstract was
    excluded there: one included report includes the study, so no analysis warns."""
    outputs = analyze_review(demo, plots=False)
    assert outputs and all(isinstance(o, AnalysisOutput) for o in outputs)
    assert [w for o in outputs for w in _warned(o)] == []  # type: ignore[arg-type]


def test_a_study_excluded_or_not_yet_screened_at_full_text_is_pooled_with_a_warning(demo: Review) -> None:
    """BREEZE-AD7's reports are all excluded at full text; BREEZE-AD5's full-text decisions are undone, so
    its reports stand at title/abstract only. Both stay in the analysis, and the CLI's text and JSON and the
    analysis screen name each of them (and no included study) in a warning."""
    before = analyze_review(demo, plots=False)[0]
    assert isinstance(before, AnalysisOutput)
    for rid in _reports(demo, "BREEZE-AD7"):
        for who in ("alice", "bob"):
            screen.record_decision(demo, who, rid, "ft", "exclude", reason="Conference abstract")
    for rid in _reports(demo, "BREEZE-AD5"):
        for who in ("alice", "bob"):
            screen.undo_decision(demo, who, rid, "ft")
    expected = [f"study '{label}' is pooled but not included in the review (its reports are excluded or not yet "
                "screened at full text)" for label in ("BREEZE-AD5", "BREEZE-AD7")]

    after = analyze_review(demo, plots=False)[0]
    assert isinstance(after, AnalysisOutput)
    assert sorted(_warned(after)) == expected
    assert after.result.k == before.result.k  # still pooled: a warning, not a filter
    assert {r["source_study"] for r in after.rows} >= {"BREEZE-AD5", "BREEZE-AD7"}

    text = CliRunner().invoke(cli, ["-C", str(demo.folder), "analyze", "--no-plots", "--outcome", "iga_0_1"])
    assert text.exit_code == 0, text.output
    assert sorted(line.strip() for line in text.stdout.splitlines() if NOT_INCLUDED in line) == [
        f"warning: {w}" for w in expected]
    as_json = CliRunner().invoke(cli, ["-C", str(demo.folder), "analyze", "--no-plots", "--json"])
    assert as_json.exit_code == 0, as_json.output
    for analysis in json.loads(as_json.stdout):
        assert sorted(w for w in analysis["warnings"] if NOT_INCLUDED in w) == expected, analysis["analysis"]
    _, below = detail_text(after)
    assert all(f"warning: {w}" in below for w in expected)

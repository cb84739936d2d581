"""Tests that an analysis pooling a study the review does not include says so, naming the study.

A study is included when a report of it is included at full text (PRISMA's "Studies included in
review"). One whose reports are excluded there, or not yet screened there, is still pooled (a what-if
before screening ends), but `analyze` (text and JSON) and the analysis screen warn about it.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services import extract, screen
from reviewkit.services.analyze import AnalysisOutput, analyze_review
from reviewkit.services.extract_consensus import record_consensus
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review
from reviewkit.services.studies import list_studies
from reviewkit.tui.screens.analysis import detail_text
from tests.extraction_required import fill_required

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
    expected = [f"study '{label}' is pooled but not included in the review (no report of it is included at full "
                "text yet: excluded, in conflict, not retrieved or not screened)" for label in ("BREEZE-AD5", "BREEZE-AD7")]

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


def _study_without_reports(review: Review, label: str, events: tuple[int, int]) -> None:
    """A study extracted without any report linked (as `extract add-study` makes one): alice and bob enter
    Placebo and Bari 4 mg with `events` of 100 at IGA 0/1, week 16; carol records their consensus."""
    sid = extract.create_study(review, "alice", label).id
    for who in ("alice", "bob"):
        fill_required(review, who, sid)
        for arm, intervention, n_events in (("Placebo", "placebo", events[0]), ("Bari 4 mg", "baricitinib",
                                                                                events[1])):
            extract.set_arm(review, who, sid, arm, intervention=intervention)
            for field, value in (("events", n_events), ("total", 100)):
                extract.set_value(review, who, sid, field, str(value), arm=arm, outcome="iga_0_1",
                                  timepoint="week 16")
        finish_extraction(review, who, sid)
    assert record_consensus(review, "carol", sid).unresolved == ()


def test_a_study_with_no_report_is_told_to_link_one_and_one_not_pooled_is_not_named(demo: Review) -> None:
    """NOLINK-1 has data but no report: pooled, and the warning says no report is linked (not that its reports
    were excluded). ZERO-1 has no events in either arm, so RR leaves it out of the pooled result: the
    analysis does not call it pooled."""
    _study_without_reports(demo, "NOLINK-1", (5, 12))
    _study_without_reports(demo, "ZERO-1", (0, 0))
    out = next(o for o in analyze_review(demo, plots=False, outcome="iga_0_1") if isinstance(o, AnalysisOutput))
    pooled = {str(out.rows[i]["source_study"]) for i in out.result.positions}
    assert "NOLINK-1" in pooled and "ZERO-1" not in pooled
    assert "ZERO-1" in {str(r["source_study"]) for r in out.rows}  # compared, then left out by the pooling
    assert _warned(out) == ["study 'NOLINK-1' is pooled but not included in the review (no report is linked to "
                            "it: `reviewkit studies link STUDY RECORD` links one, for screening to include)"]

"""Tests for how `reviewkit analyze` (and the TUI's analysis screen) words an analysis."""

from __future__ import annotations

from reviewkit.protocol import Analysis
from reviewkit.services.analyze import ArmInput, StudyInput, run_analysis
from reviewkit.services.analyze_text import format_analysis


def _md_study(name: str, control_mean: float, treat_mean: float) -> StudyInput:
    return StudyInput(name, (ArmInput("placebo", 20, mean=control_mean, sd=2.0),
                             ArmInput("drug", 20, mean=treat_mean, sd=2.0)))


def test_a_zero_width_hksj_interval_is_warned_of_and_its_p_is_not_nan() -> None:
    """Two studies with the same mean difference (1.0) under cochrane2025 (REML, HKSJ): Q = 0, so the
    Hartung-Knapp SE √(Σw*(θi − θ)²/((k − 1)Σw*)) is 0, the CI has zero width and the t test is undefined.
    The text must say so (pooling's own warning, as `--json` and `reviewkit meta` give it), not print
    "p = nan" beside a CI of 1.00 to 1.00."""
    analysis = Analysis(name="MD", outcome="o", measure="MD", flavour="cochrane2025")
    o = run_analysis([_md_study("A", 1.0, 2.0), _md_study("B", 1.5, 2.5)], analysis)
    lines = format_analysis(o)
    assert "(95% CI 1.00 to 1.00)" in lines[0]
    assert "nan" not in lines[0] and lines[0].endswith("p = n/a")
    assert any(line.startswith("  warning: every study has the same estimate, so the Hartung-Knapp standard "
                               "error is 0") for line in lines)


def test_pooling_warnings_of_a_single_study_are_printed() -> None:
    """One study under cochrane2025: HKSJ needs 2 studies (a z interval is shown instead) and the t(k − 2)
    prediction interval 3; both are said in the text, not only in the JSON."""
    analysis = Analysis(name="MD", outcome="o", measure="MD", flavour="cochrane2025")
    o = run_analysis([_md_study("A", 1.0, 2.0)], analysis)
    lines = format_analysis(o)
    assert "  warning: HKSJ needs at least 2 studies; a z-based interval is shown" in lines
    assert any(line.startswith("  warning: the prediction interval is not estimable with 1 study") for line in lines)
    assert o.to_dict()["warnings"] == [line.removeprefix("  warning: ") for line in lines
                                                    if line.startswith("  warning: ")]


def test_a_subgroup_test_that_cannot_be_given_is_said_in_text_and_json() -> None:
    """Subgroups by tcs where one subgroup's two studies have the same mean difference: under HKSJ its SE is 0,
    so the test for subgroup differences is undefined; the text and the JSON say so (no Q of NaN)."""
    studies = [_md_study("A", 1.0, 2.0), _md_study("B", 1.5, 2.5), _md_study("C", 1.0, 1.5), _md_study("D", 1.0, 2.5)]
    studies = [StudyInput(s.study, s.arms, {"tcs": "yes" if s.study in "AB" else "no"}) for s in studies]
    analysis = Analysis(name="MD", outcome="o", measure="MD", flavour="cochrane2025", subgroups=["tcs"])
    o = run_analysis(studies, analysis)
    why = "the test for subgroup differences is not applicable: the standard error of subgroup 'tcs = yes' is 0"
    assert f"  warning: subgroups by tcs: {why}" in format_analysis(o)
    sub = o.to_dict()["subgroups"]["tcs"]
    assert sub["Q_between"] is None and sub["I2_between"] is None and why in sub["warnings"]

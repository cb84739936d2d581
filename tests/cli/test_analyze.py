"""Tests for `reviewkit analyze`: the exit status when a planned analysis is skipped, what a skip says, and the
planned sensitivity analyses in its text output."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services.project import Review
from tests.conftest import FIXTURES


def analyze(folder: Path, *args: str) -> Result:
    """`reviewkit -C folder analyze ARGS`."""
    return CliRunner().invoke(cli, ["-C", str(folder), "analyze", *args])


def edit_protocol(review: Review, old: str, new: str) -> None:
    """Change the review's review.toml (the first `old` becomes `new`)."""
    path = review.folder / "review.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_skipped_analyses_exit_1_after_the_output(review: Review) -> None:
    """Nothing extracted: each analysis is reported skipped, `analyze` says how many and exits with status 1;
    with --json stdout is still the whole JSON, the count goes to stderr."""
    planned = len(review.protocol.analyses)
    text = analyze(review.folder)
    assert text.exit_code == 1
    assert text.stdout.count(": skipped (no consensus data for ") == planned
    assert text.stderr.strip() == f"{planned} of {planned} analyses skipped"
    as_json = analyze(review.folder, "--json")
    assert as_json.exit_code == 1 and as_json.stderr.strip() == f"{planned} of {planned} analyses skipped"
    assert [r["analysis"] for r in json.loads(as_json.stdout) if "skipped" in r] == [
        a.name for a in review.protocol.analyses]


def test_demo_analyses_all_run_and_a_missing_timepoint_is_named(demo: Review) -> None:
    """On the demo (as .ci/run calls it) every planned analysis runs: status 0. An analysis asking for a
    timepoint no consensus data has is skipped naming itself in review.toml and the timepoints the data has."""
    ran = analyze(demo.folder, "--json", "--no-plots")
    assert ran.exit_code == 0, ran.output
    assert all("skipped" not in r for r in json.loads(ran.stdout))
    edit_protocol(demo, 'type = "dichotomous"\ntimepoints = ["week 16"]', 'type = "dichotomous"\n'
                  'timepoints = ["week 16", "week 52"]')  # the first outcome: iga_0_1
    edit_protocol(demo, 'timepoint = "week 16"', 'timepoint = "week 52"')  # the first analysis: IGA 0/1
    result = analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots")
    assert result.exit_code == 1
    assert ("IGA 0/1 at week 16: skipped (no consensus data for iga_0_1 at week 52; the data has week 16 "
            "(timepoint of analyses[0] 'IGA 0/1 at week 16' in review.toml))") in result.stdout
    assert result.stderr.strip() == "1 of 1 analysis skipped"


def test_planned_sensitivity_analyses_are_in_the_text_output(demo: Review) -> None:
    """All four planned sensitivity analyses show: Egger's t, df (k − 2) and p; trim-and-fill's k0 and adjusted
    estimate; leave-one-out and cumulative as tables with a row per comparison (cumulative's one-study step
    with I² 0%, as its JSON, `meta` and the plot give it); and a funnel plot is drawn. The comparisons come
    from 5 trials, sharing their placebo groups: both are cautioned, though there are 10 or more comparisons."""
    edit_protocol(demo, 'sensitivity = ["leave-one-out"]',
                  'sensitivity = ["leave-one-out", "cumulative", "egger", "trimfill"]')
    result = analyze(demo.folder, "--outcome", "iga_0_1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # every dose-vs-placebo comparison with IGA data in the extraction table (naive: one per dose arm)
    comparisons = sum(1 for r in csv.DictReader((FIXTURES / "baricitinib" / "outcomes.csv").open())
                      if r["outcome"] == "iga01" and r["arm"] != "placebo")
    assert any(line.startswith("  Egger's test: t = ") and f", df = {comparisons - 2}, p = " in line
               for line in lines)
    assert any(line.startswith("  trim-and-fill: k0 = ") and "adjusted RR" in line and "95% CI" in line
               for line in lines)
    for table in ("  leave-one-out:", "  cumulative:"):
        start = lines.index(table)
        assert "95% CI" in lines[start + 1]
        rows = lines[start + 2:start + 2 + comparisons]
        assert all(line.startswith("    BREEZE-AD") and " to " in line for line in rows)
    first_step = lines[lines.index("  cumulative:") + 2]
    assert first_step.endswith(" 0%") and "n/a" not in first_step
    trials = len({r["study"] for r in csv.DictReader((FIXTURES / "baricitinib" / "outcomes.csv").open())
                  if r["outcome"] == "iga01"})
    assert comparisons >= 10 > trials
    for what in ("Egger's test", "Trim-and-fill"):
        assert any(line.startswith(f"  warning: {what} on {comparisons} comparisons from {trials} studies: ")
                   and "at least 10 studies" in line for line in lines)
    assert any(line.startswith(f"  warning: Egger's test: {comparisons} comparisons come from {trials} studies")
               and "share its control group" in line for line in lines)
    for plot in ("funnel", "leave-one-out", "cumulative"):
        path = demo.folder / "exports" / f"{plot}-iga-0-1-at-week-16-naive.svg"
        assert f"  plot: {path}" in lines and path.exists()
    # a row per refit, each named: the plot shows what the table shows
    svg = (demo.folder / "exports" / "leave-one-out-iga-0-1-at-week-16-naive.svg").read_text(encoding="utf-8")
    assert svg.count("Omitting BREEZE-AD") == comparisons


def test_an_analysis_with_a_protocol_problem_is_skipped_with_it_and_exits_1(demo: Review) -> None:
    """tau2 on a fixed-effect model (a protocol accepted before that check): `analyze` still runs the other
    analyses, prints that one as skipped with the line and fix `protocol check` gives, and exits with status 1."""
    edit_protocol(demo, 'model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"')  # the first: IGA 0/1
    check = CliRunner().invoke(cli, ["-C", str(demo.folder), "protocol", "check"])
    assert check.exit_code == 1
    problem = check.stderr.strip().removeprefix("error: ")
    assert "'analyses[0].tau2'" in problem
    result = analyze(demo.folder, "--no-plots")
    assert result.exit_code == 1
    assert f"IGA 0/1 at week 16: skipped ({problem})" in result.stdout
    planned = len(demo.protocol.analyses)
    assert result.stdout.count(": skipped (") == 1 and result.stdout.count(" [naive]: ") == planned - 1
    assert result.stderr.strip() == f"1 of {planned} analyses skipped"


def test_a_blank_control_is_refused_at_its_key_and_the_analysis_skipped(demo: Review) -> None:
    """`control = ""` (accepted before, then every study was left out for "4 '' arms"): `protocol check`
    names the key and its line; `analyze` skips that analysis with the same words, leaving no study out."""
    edit_protocol(demo, 'control = "placebo"', 'control = ""')  # the first analysis: IGA 0/1
    lines = (demo.folder / "review.toml").read_text(encoding="utf-8").splitlines()
    check = CliRunner().invoke(cli, ["-C", str(demo.folder), "protocol", "check"])
    assert check.exit_code == 1
    problem = check.stderr.strip().removeprefix("error: ")
    line = lines.index('control = ""') + 1
    assert f"line {line}: 'analyses[0].control': is empty" in problem
    result = analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots")
    assert result.exit_code == 1
    assert f"IGA 0/1 at week 16: skipped ({problem})" in result.stdout
    assert "left out" not in result.stdout


def test_the_control_is_the_arm_whose_extracted_intervention_it_names(demo: Review) -> None:
    """The consensus arm's intervention, not its label, decides: a dose arm recorded as given " Placebo "
    is a second control of its trial, which is left out naming both arms; the other trials still pool."""
    set_arm = CliRunner().invoke(cli, ["-C", str(demo.folder), "--reviewer", "alice", "extract", "arm",
                                       "BREEZE-AD7", "Baricitinib 4 mg", "--intervention", " Placebo ",
                                       "--consensus"])
    assert set_arm.exit_code == 0, set_arm.output
    result = analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)[0]
    left_out = [w for w in out["warnings"] if w.startswith("BREEZE-AD7: left out, 2 arms match control 'placebo'")]
    assert len(left_out) == 1
    assert "'Baricitinib 4 mg' (intervention 'Placebo')" in left_out[0]
    assert "'Placebo' (intervention 'placebo')" in left_out[0]
    studies = {r["source_study"] for r in out["comparisons"]}
    assert "BREEZE-AD7" not in studies and len(studies) == 4


def test_the_text_names_the_prediction_interval_method_and_revman5_shows_none(demo: Review) -> None:
    """The demo pools with revman5, which (as RevMan 5) shows no prediction interval; under cochrane2025 the
    text gives it with its method, t with k − 2 df (τ² = 0 said), and the JSON's bounds."""
    plain = analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots")
    assert plain.exit_code == 0 and "rediction interval" not in plain.stdout
    edit_protocol(demo, 'flavour = "revman5"', 'flavour = "cochrane2025"')  # the first analysis: IGA 0/1
    text = analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots").stdout.splitlines()
    got = json.loads(analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots", "--json").stdout)[0]
    assert got["pi_method"] == "t(k-2)"
    lo, hi = got["effect_pi_lower"], got["effect_pi_upper"]
    assert got["tau2"] == 0  # DL finds no heterogeneity here (I² 0%), which the line says too
    assert text[1] == f"  Prediction interval (t, {got['k'] - 2} df, τ² = 0): [{lo:.2f}, {hi:.2f}]"


def _pi_line(svg: str) -> str | None:
    """A forest plot's prediction-interval line, as its SVG text holds it."""
    start = svg.find("Prediction interval")
    return None if start < 0 else svg[start:svg.index("<", start)].strip()


def test_revman5_with_prediction_interval_true_shows_it_with_its_method(demo: Review) -> None:
    """`prediction_interval = true` on the demo's revman5 analysis: the text, the JSON and the forest plot give
    the interval revman5 computes (z, as metafor without Knapp-Hartung), its method named; the numbers are
    those the JSON had before, when it was not shown."""
    before = json.loads(analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots", "--json").stdout)[0]
    assert before["show_prediction_interval"] is False and before["pi_method"] == "z"
    edit_protocol(demo, 'flavour = "revman5"', 'flavour = "revman5"\nprediction_interval = true')  # IGA 0/1
    text = analyze(demo.folder, "--outcome", "iga_0_1")
    assert text.exit_code == 0, text.output
    got = json.loads(analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots", "--json").stdout)[0]
    assert got["show_prediction_interval"] is True and got["flavour"] == "revman5"
    assert (got["pi_method"], got["effect_pi_lower"], got["effect_pi_upper"]) == (
        before["pi_method"], before["effect_pi_lower"], before["effect_pi_upper"])
    lo, hi = got["effect_pi_lower"], got["effect_pi_upper"]
    method = "z, τ² = 0" if got["tau2"] == 0 else "z"
    line = f"Prediction interval ({method}): [{lo:.2f}, {hi:.2f}]"
    assert text.stdout.splitlines()[1] == f"  {line}"
    assert text.stdout.count("rediction interval") == 1
    svg = (demo.folder / "exports" / "forest-iga-0-1-at-week-16-naive.svg").read_text(encoding="utf-8")
    assert _pi_line(svg) == line


def test_metafor_with_prediction_interval_false_hides_it(demo: Review) -> None:
    """`prediction_interval = false` under metafor (which shows it): no line in the text or the forest plot; the
    JSON keeps the numbers and says it is not shown."""
    edit_protocol(demo, 'flavour = "revman5"', 'flavour = "metafor"\nprediction_interval = false')  # IGA 0/1
    text = analyze(demo.folder, "--outcome", "iga_0_1")
    assert text.exit_code == 0, text.output
    assert "rediction interval" not in text.stdout
    svg = (demo.folder / "exports" / "forest-iga-0-1-at-week-16-naive.svg").read_text(encoding="utf-8")
    assert _pi_line(svg) is None
    got = json.loads(analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots", "--json").stdout)[0]
    assert got["flavour"] == "metafor" and got["show_prediction_interval"] is False
    assert got["pi_method"] == "z" and got["effect_pi_lower"] is not None


def test_a_prediction_interval_asked_of_a_fixed_effect_analysis_is_a_protocol_problem(demo: Review) -> None:
    """A fixed-effect model has no prediction interval: `prediction_interval = true` with it is refused by
    `protocol check` at its key and line, as hksj is, and `analyze` skips that analysis with the same words."""
    edit_protocol(demo, 'model = "random"\ntau2 = "DL"', 'model = "fixed"\nprediction_interval = true')  # IGA 0/1
    lines = (demo.folder / "review.toml").read_text(encoding="utf-8").splitlines()
    check = CliRunner().invoke(cli, ["-C", str(demo.folder), "protocol", "check"])
    assert check.exit_code == 1
    problem = check.stderr.strip().removeprefix("error: ")
    assert (f"line {lines.index('prediction_interval = true') + 1}: 'analyses[0].prediction_interval': a prediction "
            "interval needs a random-effects model") in problem
    result = analyze(demo.folder, "--outcome", "iga_0_1", "--no-plots", "--json")
    assert result.exit_code == 1
    skipped = json.loads(result.stdout)[0]
    assert skipped["skipped"] == problem and skipped["show_prediction_interval"] is False

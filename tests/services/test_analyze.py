"""Tests for the analyses on study arms: multi-arm strategies, subgroups, and agreement with `reviewkit meta`."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import load_protocol
from reviewkit.services.analyze import (
    ArmInput,
    StudyInput,
    comparison_rows,
    run_analysis,
    skip_reason,
)
from reviewkit.services.project import EXAMPLE_PROTOCOL
from tests.conftest import FIXTURES

IGA = load_protocol(EXAMPLE_PROTOCOL).analyses[0]


def baricitinib_iga() -> list[StudyInput]:
    """The worked example's IGA 0/1 arms, from fixtures/baricitinib (arm sizes from arms.csv)."""
    arms = {(r["study"], r["arm"]): r for r in csv.DictReader((FIXTURES / "baricitinib" / "arms.csv").open())}
    trials = {r["study"]: r for r in csv.DictReader((FIXTURES / "baricitinib" / "trials.csv").open())}
    by_study: dict[str, list[ArmInput]] = {}
    for r in csv.DictReader((FIXTURES / "baricitinib" / "outcomes.csv").open()):
        if r["outcome"] != "iga01":
            continue
        arm = arms[(r["study"], r["arm"])]
        by_study.setdefault(r["study"], []).append(ArmInput(
            label=r["arm"], n=float(r["total"]), events=float(r["events"]),
            fields={"dose_mg": float(arm["dose_mg"])}))
    return [StudyInput(s, tuple(a), {"tcs": trials[s]["tcs"]}) for s, a in by_study.items()]


def _meta_json(rows: list[dict[str, object]], tmp_path: Path, *extra: str) -> dict[str, object]:
    path = tmp_path / "rows.csv"
    columns = ["study", "events_treat", "n_treat", "events_ctrl", "n_ctrl"] + (["subgroup"] if "subgroup" in rows[0] else [])
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--method", "MH", "--model", "random",
                                      "--tau2", "DL", "--flavour", "revman5", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("strategy", ["naive", "split", "combine"])
def test_iga_analysis_equals_meta_on_the_same_comparisons(strategy: str, tmp_path: Path) -> None:
    """The protocol's IGA analysis gives exactly what `reviewkit meta` gives on its comparison rows."""
    out = run_analysis(baricitinib_iga(), IGA, strategy)
    expected = _meta_json(list(out.rows), tmp_path)
    got = out.to_dict()
    for key in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "Q", "I2", "effect", "p"):
        assert got[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-15), key
    assert got["k"] == expected["k"]


def test_naive_counts_placebo_per_arm_and_warns() -> None:
    """Naive: each dose arm against the whole placebo group, with the double-counting warning."""
    out = run_analysis(baricitinib_iga(), IGA, "naive")
    ad1 = [r for r in out.rows if str(r["study"]).startswith("BREEZE-AD1")]
    assert len(ad1) == 3 and {r["n_ctrl"] for r in ad1} == {249}
    assert any("counted 3 times" in w for w in out.warnings)
    split = run_analysis(baricitinib_iga(), IGA, "split")
    assert sum(r["n_ctrl"] for r in split.rows if str(r["study"]).startswith("BREEZE-AD1")) == pytest.approx(249)
    combined = run_analysis(baricitinib_iga(), IGA, "combine")
    assert [r["n_treat"] for r in combined.rows if r["study"] == "BREEZE-AD1"] == [375]


def test_subgroups_by_dose_and_tcs(tmp_path: Path) -> None:
    """Dose subgroups put each arm in its dose; TCS subgroups follow the study; both match `meta --subgroup`."""
    out = run_analysis(baricitinib_iga(), IGA, "naive")
    assert set(out.subgroups) == {"dose_mg", "tcs"}
    rows, _ = comparison_rows(baricitinib_iga(), IGA, "naive", subgroup="dose_mg")
    assert {r["subgroup"] for r in rows} == {"dose_mg = 1", "dose_mg = 2", "dose_mg = 4"}
    expected = _meta_json(rows, tmp_path, "--subgroup", "subgroup")
    got = out.subgroups["dose_mg"].to_dict()
    assert got["Q_between"] == pytest.approx(expected["Q_between"], rel=1e-12)
    assert got["subgroups"]["dose_mg = 4"]["estimate"] == pytest.approx(
        expected["subgroups"]["dose_mg = 4"]["estimate"], rel=1e-12)
    tcs_rows, _ = comparison_rows(baricitinib_iga(), IGA, "naive", subgroup="tcs")
    assert {r["subgroup"] for r in tcs_rows} == {"tcs = yes", "tcs = no"}


def test_study_without_control_is_left_out_with_a_warning() -> None:
    """A study lacking a placebo arm is reported, not silently pooled."""
    studies = [*baricitinib_iga(), StudyInput("Odd", (ArmInput("4mg", 100, 10),))]
    out = run_analysis(studies, IGA, "naive")
    assert any(w.startswith("Odd: left out") for w in out.warnings)
    assert not any(str(r["study"]).startswith("Odd") for r in out.rows)


def _placebo_total(outcome: str = "iga01") -> float:
    """The placebo participants of the outcome in the extraction table (fixtures/baricitinib/outcomes.csv)."""
    rows = csv.DictReader((FIXTURES / "baricitinib" / "outcomes.csv").open())
    return sum(float(r["total"]) for r in rows if r["outcome"] == outcome and r["arm"] == "placebo")


def _control_total(result: object) -> float:
    """The control participants a pooled result counts (what its forest plot's Total shows)."""
    arms = result.effects.arms  # type: ignore[attr-defined]
    return float(sum(arms.n_ctrl[i] for i in result.positions))  # type: ignore[attr-defined]


def test_combine_splits_the_shared_placebo_in_dose_subgroups() -> None:
    """Under combine, subgroups by dose cannot combine the doses, so each trial's one placebo group is split
    across them (Handbook §23.3.4) and the result says so: its control total is the real number of placebo
    participants, not naive's (each dose against the whole placebo group); the main analysis stays combined."""
    combined = run_analysis(baricitinib_iga(), IGA, "combine")
    naive = run_analysis(baricitinib_iga(), IGA, "naive")
    by_dose, naive_by_dose = combined.subgroups["dose_mg"], naive.subgroups["dose_mg"]
    assert _control_total(by_dose.overall) == pytest.approx(_placebo_total())
    assert _control_total(naive_by_dose.overall) > _placebo_total() + 1  # placebo counted 2–3 times
    trials = {r["study"] for r in csv.DictReader((FIXTURES / "baricitinib" / "outcomes.csv").open())
              if r["outcome"] == "iga01"}
    assert combined.result.k == len(trials)  # one combined comparison per trial
    assert by_dose.Q_between != pytest.approx(naive_by_dose.Q_between)
    got = combined.to_dict()["subgroups"]["dose_mg"]
    assert got["multiarm"] == "split"
    assert got["notes"] == ["subgroups by dose_mg split each shared control group across its doses "
                            "(Handbook §23.3.4); the main analysis combines the arms"]
    # TCS is a trial-level field: its subgroups keep the combined comparisons
    assert combined.subgroups["tcs"].overall.k == len(trials)
    assert combined.to_dict()["subgroups"]["tcs"]["notes"] == []


def test_naive_dose_subgroups_keep_the_double_counting_warning() -> None:
    """Naive chosen explicitly: the by-dose subgroup analysis carries the double-counting warning too."""
    sub = run_analysis(baricitinib_iga(), IGA, "naive").to_dict()["subgroups"]["dose_mg"]
    assert sub["multiarm"] == "naive"
    assert "study 'BREEZE-AD1': the 249 control participants are counted 3 times" in " ".join(sub["warnings"])


PLANNED = IGA.model_copy(update={"sensitivity": ["leave-one-out", "cumulative", "egger", "trimfill"]})


@pytest.mark.parametrize(("name", "key", "fields"), [
    ("leave-one-out", "leave_one_out", ("estimate", "ci_lower", "ci_upper", "I2")),
    ("cumulative", "cumulative", ("estimate", "ci_lower", "ci_upper")),
    ("egger", "egger", ("t", "df", "p")),
    ("trimfill", "trimfill", ("k0", "estimate", "effect_ci_lower", "effect_ci_upper")),
])
def test_planned_sensitivity_analyses_equal_meta(name: str, key: str, fields: tuple[str, ...], tmp_path: Path) -> None:
    """Each sensitivity analysis the protocol plans runs, and gives what `reviewkit meta --analysis` gives on
    the same comparisons."""
    out = run_analysis(baricitinib_iga(), PLANNED, "naive")
    expected = _meta_json(list(out.rows), tmp_path, "--analysis", name)
    got = out.to_dict()[key]
    for f in fields:
        assert got[f] == pytest.approx(expected[f], rel=1e-12), f
    if name in ("leave-one-out", "cumulative"):
        assert len(got["estimate"]) == len(out.rows) == 11  # one refit per comparison


def test_sensitivity_that_cannot_run_is_named_in_the_warnings() -> None:
    """With two studies no planned sensitivity analysis can run: each is named in the warnings, none dropped."""
    two = [s for s in baricitinib_iga() if s.study in ("BREEZE-AD1", "BREEZE-AD4")]
    out = run_analysis(two, PLANNED, "combine")
    assert out.result.k == 2 and out.sensitivity == {}
    for label in ("leave-one-out", "cumulative meta-analysis", "Egger's test", "trim-and-fill"):
        assert f"{label} not run: it needs at least 3 studies (k = 2)" in out.warnings
    data = out.to_dict()
    assert not {"leave_one_out", "cumulative", "egger", "trimfill"} & set(data)
    assert "Egger's test not run: it needs at least 3 studies (k = 2)" in data["warnings"]


def test_skip_reason_names_the_protocol_key_not_a_meta_flag() -> None:
    """A pooling error worded for `reviewkit meta` ("use --model fixed") is told as the key to set in
    review.toml, since analyze has no such flag."""
    peto = IGA.model_copy(update={"measure": "OR", "method": "Peto", "model": "random"})  # as if unchecked
    with pytest.raises(ReviewkitError) as info:
        run_analysis(baricitinib_iga(), peto, "combine")
    reason = skip_reason(info.value, 2)
    assert "--model" not in reason and "Peto method is fixed-effect only" in reason
    assert 'set model = "fixed" in analyses[2] of review.toml' in reason


def test_naive_forest_plot_notes_the_control_counted_per_comparison(tmp_path: Path) -> None:
    """Under a naive analysis's Total the forest plot says its control total counts each shared placebo group
    once per comparison, with the real number of placebo participants; combine needs no such note."""
    comparisons = sum(float(r["n_ctrl"]) for r in run_analysis(baricitinib_iga(), IGA, "naive").rows)
    naive = run_analysis(baricitinib_iga(), IGA, "naive", plot_dir=tmp_path)
    # the plot's texts in order, joined: a note wider than the table is broken into lines
    svg = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", naive.plots[0].read_text(encoding="utf-8")))
    note = (f"the control total of {comparisons:g} is {_placebo_total():g} participants")
    assert note in svg
    assert svg.index("Total (95% CI)") < svg.index(note) < svg.rindex("Heterogeneity:")
    combined = run_analysis(baricitinib_iga(), IGA, "combine", plot_dir=tmp_path)
    assert "counted" not in combined.plots[0].read_text(encoding="utf-8")
    assert "split each shared control group" in combined.plots[1].read_text(encoding="utf-8")  # by dose


def test_an_analysis_with_a_protocol_problem_is_skipped_and_the_others_run(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review whose protocol has tau2 on a fixed-effect model (accepted before that check existed) opens; analyze
    skips that analysis with the problem `protocol check` names (file, line, key, fix) and runs the others."""
    from reviewkit.services.analyze import AnalysisOutput, SkippedAnalysis, analyze_review
    from reviewkit.services.demo import build_demo
    from reviewkit.services.project import open_review

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    build_demo(tmp_path / "demo").engine.dispose()
    path = tmp_path / "demo" / "review.toml"
    text = path.read_text(encoding="utf-8")
    assert 'model = "random"\ntau2 = "DL"' in text  # the first analysis, IGA 0/1
    path.write_text(text.replace('model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"', 1), encoding="utf-8")
    review = open_review(tmp_path / "demo")
    try:
        outputs = analyze_review(review, plots=False)
    finally:
        review.engine.dispose()
    skipped = [o for o in outputs if isinstance(o, SkippedAnalysis)]
    assert [o.analysis.name for o in skipped] == [review.protocol.analyses[0].name]
    reason = skipped[0].reason
    assert reason == review.protocol.analysis_problems[0][0]
    assert f"{path.resolve()}: line " in reason and "'analyses[0].tau2'" in reason and "remove tau2" in reason
    assert skipped[0].to_dict()["skipped"] == reason
    ran = {o.analysis.name for o in outputs if isinstance(o, AnalysisOutput)}
    assert ran and ran == {a.name for a in review.protocol.analyses[1:]}


def test_hksj_adhoc_reaches_the_subgroups_and_the_refits() -> None:
    """The protocol's hksj_adhoc goes, with the other settings, to the main result, every subgroup and every
    leave-one-out refit: each SE is √(max(1, q)/Σw*) (Röver et al. 2015), and the skipped plan says so too."""
    import numpy as np

    from reviewkit.pooling import pool
    from reviewkit.services.analyze import SkippedAnalysis

    adhoc = IGA.model_copy(update={"hksj": True, "hksj_adhoc": True})
    out = run_analysis(baricitinib_iga(), adhoc, "combine")
    results = [out.result, *(r for sub in out.subgroups.values() for r in (*sub.results, sub.overall))]
    assert all(r.hksj and r.hksj_adhoc for r in results if r.k > 1)
    # q < 1 in these trials: plain HKSJ's interval is narrower, so the checks below tell the two apart
    assert out.result.se > run_analysis(baricitinib_iga(), IGA.model_copy(update={"hksj": True}), "combine").result.se
    for r in results:
        if r.k > 1:
            yi, vi = r.effects.yi[list(r.positions)], r.effects.vi[list(r.positions)]
            w = 1 / (vi + r.tau2)
            q = float(np.sum(w * (yi - r.estimate) ** 2)) / (r.k - 1)
            assert r.se == pytest.approx(np.sqrt(max(1.0, q) / w.sum()), rel=1e-12)
    refits = out.sensitivity["leave-one-out"].results  # type: ignore[union-attr]
    effects = out.result.effects
    for i, step in zip(np.flatnonzero(effects.included), refits, strict=True):
        mask = np.asarray(effects.included, dtype=bool).copy()
        mask[i] = False
        one = pool(effects.subset(mask), method="MH", estimator="DL", hksj=True, hksj_adhoc=True, flavour="revman5")
        assert step.se == pytest.approx(one.se, rel=1e-12) and step.test_df == one.test_df
    assert SkippedAnalysis(adhoc, "no data").to_dict()["hksj_adhoc"] is True
    assert SkippedAnalysis(IGA, "no data").to_dict()["hksj_adhoc"] is False

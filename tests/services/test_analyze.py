"""Tests for the analyses on study arms: multi-arm strategies, subgroups, and agreement with `reviewkit meta`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.protocol import load_protocol
from reviewkit.services.analyze import ArmInput, StudyInput, comparison_rows, run_analysis
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

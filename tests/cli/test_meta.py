"""Tests the `reviewkit meta` command: JSON equal to the reference cases, tables, plots and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"


def _case(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _csv(tmp_path: Path, rows: list[dict[str, Any]], name: str = "studies.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["meta", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("bcg_RR_REML", ["--measure", "RR", "--model", "random", "--tau2", "REML", "--no-hksj", "--flavour", "metafor"]),
        ("hine1989_RD_DL_HKSJ", ["--measure", "RD", "--method", "IV", "--tau2", "DL", "--hksj", "--flavour", "metafor"]),
        ("normand1999_SMD_revman5_DL", ["--measure", "SMD", "--tau2", "DL", "--flavour", "revman5"]),
        ("egger2001_OR_MH_fixed", ["--measure", "OR", "--method", "MH", "--model", "fixed", "--flavour", "metafor"]),
        ("raudenbush1985_GIV_EB", ["--measure", "generic", "--tau2", "EB", "--no-hksj", "--flavour", "metafor"]),
    ],
)
def test_json_equals_reference_case(tmp_path: Path, name: str, args: list[str]) -> None:
    """`meta --json` on the case's studies prints the case's expected numbers (log scale for ratios)."""
    case = _case(name)
    result = _run(str(_csv(tmp_path, case["input"]["studies"])), *args, "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    rel = 1e-5 if case["settings"].get("tau2") in {"REML", "EB"} else 1e-6
    for key, want in case["expected"].items():
        if key == "call" or want is None:
            continue
        assert got[key] == pytest.approx(want, rel=rel, abs=1e-8), key
    if case["settings"]["measure"] in ("RR", "OR"):
        assert got["effect"] == pytest.approx(2.718281828459045 ** got["estimate"])


def test_json_subgroups_and_analyses(tmp_path: Path) -> None:
    """--subgroup and --analysis print their own JSON (subgroup test, leave-one-out series, Egger, trim-and-fill)."""
    case = _case("bcg_RR_DL_subgroups")
    path = _csv(tmp_path, [{**s, "alloc": s["subgroup"]} for s in case["input"]["studies"]])
    base = [str(path), "--measure", "RR", "--tau2", "DL", "--no-hksj", "--flavour", "metafor", "--json"]
    sub = json.loads(_run(*base, "--subgroup", "alloc").output)
    assert sub["Q_between"] == pytest.approx(case["expected"]["Q_between"], rel=1e-6)
    loo = json.loads(_run(*base, "--analysis", "leave-one-out").output)
    assert loo["estimate"] == pytest.approx(_case("bcg_RR_DL_leave1out")["expected"]["estimate"], rel=1e-6)
    egger = json.loads(_run(*base, "--model", "fixed", "--analysis", "egger").output)
    assert egger["t"] == pytest.approx(_case("bcg_RR_egger")["expected"]["t"], rel=1e-6)
    tf = json.loads(_run(*base, "--model", "fixed", "--analysis", "trimfill").output)
    assert tf["k0"] == 4


def test_table_output_and_plot(tmp_path: Path) -> None:
    """Without --json a table of studies, the pooled line and heterogeneity is printed; --plot writes SVG."""
    path = _csv(tmp_path, _case("hine1989_RR_DL")["input"]["studies"])
    plot = tmp_path / "forest.svg"
    result = _run(str(path), "--measure", "RR", "--flavour", "revman5", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert "pooled (6 studies)" in result.output
    assert "heterogeneity: Q = " in result.output
    assert "Favours [experimental]" in plot.read_text(encoding="utf-8")


def test_single_study_json_has_no_nan(tmp_path: Path) -> None:
    """One study: heterogeneity is null in the JSON, which never contains NaN."""
    path = _csv(tmp_path, [{"study": "a", "events_treat": 3, "n_treat": 20, "events_ctrl": 6, "n_ctrl": 20}])
    result = _run(str(path), "--measure", "OR", "--json")
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.output
    data = json.loads(result.output)
    assert data["I2"] is None and data["Q"] is None and data["k"] == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"study": "a", "events_treat": 30, "n_treat": 20, "events_ctrl": 6, "n_ctrl": 20}],
         "study 'a': column 'events_treat' (30) is greater than 'n_treat' (20)"),
        ([{"study": "a", "events_treat": 3, "n_treat": 20, "events_ctrl": 6}], "column 'n_ctrl' is missing"),
        ([{"study": "a", "events_treat": 0, "n_treat": 20, "events_ctrl": 0, "n_ctrl": 20}],
         "no study can be pooled for RR"),
        ([{"study": "a", "events_treat": -1, "n_treat": 20, "events_ctrl": 0, "n_ctrl": 20}],
         "column 'events_treat' is negative"),
    ],
)
def test_bad_csv_gives_one_line_error(tmp_path: Path, rows: list[dict[str, Any]], message: str) -> None:
    """Bad data: one error line naming the problem on stderr, exit status 1, no traceback."""
    path = _csv(tmp_path, rows)
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR"])
    assert result.exit_code == 1
    err = result.stderr if hasattr(result, "stderr") else result.output
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_empty_csv_is_an_error(tmp_path: Path) -> None:
    """A CSV with only a header is refused with the file named."""
    path = tmp_path / "empty.csv"
    path.write_text("study,yi,vi\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "generic"])
    assert result.exit_code == 1
    assert "no study rows" in result.output


def test_generic_ratio_ci_input(tmp_path: Path) -> None:
    """Generic hazard ratios with 95% CIs pool on the log scale and print exponentiated effects."""
    rows = [{"study": "a", "estimate": 0.8, "ci_lower": 0.6, "ci_upper": 1.0667},
            {"study": "b", "estimate": 0.7, "ci_lower": 0.5, "ci_upper": 0.98}]
    result = _run(str(_csv(tmp_path, rows)), "--measure", "generic", "--scale", "ratio", "--model", "fixed", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["yi"][0] == pytest.approx(-0.2231435513)
    assert data["effect"] == pytest.approx(2.718281828459045 ** data["estimate"])
    assert 0.6 < data["effect"] < 0.8

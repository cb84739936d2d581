"""Tests the `reviewkit meta` command: JSON equal to the reference cases, tables, plots and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

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


def _distinct_names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with repeated study names numbered (egger2001 has three 'Shechter' trials): meta
    refuses a name given twice, as that is usually a study entered twice."""
    seen: dict[str, int] = {}
    out = []
    for row in rows:
        seen[row["study"]] = seen.get(row["study"], 0) + 1
        out.append({**row, "study": f"{row['study']} ({seen[row['study']]})" if seen[row["study"]] > 1 else row["study"]})
    return out


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
    result = _run(str(_csv(tmp_path, _distinct_names(case["input"]["studies"]))), *args, "--json")
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
    fixed = [a for a in base if a not in ("--tau2", "DL")] + ["--model", "fixed"]  # --tau2 is for random effects
    egger = json.loads(_run(*fixed, "--analysis", "egger").output)
    assert egger["t"] == pytest.approx(_case("bcg_RR_egger")["expected"]["t"], rel=1e-6)
    tf = json.loads(_run(*fixed, "--analysis", "trimfill").output)
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
    ("rows", "message", "line"),
    [
        ([{"study": "a", "events_treat": 30, "n_treat": 20, "events_ctrl": 6, "n_ctrl": 20}],
         "study 'a': column 'events_treat' (30) is greater than 'n_treat' (20)", 2),
        ([{"study": "a", "events_treat": 3, "n_treat": 20, "events_ctrl": 6}], "column 'n_ctrl' is missing", 1),
        ([{"study": "a", "events_treat": 0, "n_treat": 20, "events_ctrl": 0, "n_ctrl": 20}],
         "no study can be pooled for RR", None),
        ([{"study": "a", "events_treat": -1, "n_treat": 20, "events_ctrl": 0, "n_ctrl": 20}],
         "column 'events_treat' is negative", 2),
    ],
)
def test_bad_csv_gives_one_line_error(tmp_path: Path, rows: list[dict[str, Any]], message: str,
                                      line: int | None) -> None:
    """Bad data: one error line naming the file, the line (where one study is at fault) and the
    problem on stderr, exit status 1, no traceback."""
    path = _csv(tmp_path, rows)
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR"])
    assert result.exit_code == 1
    err = result.stderr if hasattr(result, "stderr") else result.output
    assert message in err
    assert err.startswith("error: " if line is None else f"error: {path}, line {line}: ")
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


BINARY = "study,events_treat,n_treat,events_ctrl,n_ctrl\n"


def _file(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252"])
def test_utf16_and_cp1252_files_are_pooled(tmp_path: Path, encoding: str) -> None:
    """Excel's "Unicode text" (UTF-16 with BOM) and a Windows-1252 CSV are read as `import` reads them."""
    path = _file(tmp_path, BINARY + "Müller 2001,3,40,6,42\nB,10,100,12,98\n", encoding=encoding)
    result = _run(str(path), "--measure", "RR", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["studies"] == ["Müller 2001", "B"]


def test_semicolon_file_is_read_with_a_note(tmp_path: Path) -> None:
    """A semicolon-separated file with capitalised, spaced names and an Excel ";;;;" row is pooled;
    the note saying how it was read is on stderr, or in the JSON (whose output stays JSON)."""
    path = _file(tmp_path, "Study; Events_treat;n_treat;events_ctrl;n_ctrl\nA;3;40;6;42\nB;10;100;12;98\n;;;;\n")
    note = f"{path}: read as a semicolon-separated file (its header has no comma)"
    result = _run(str(path), "--measure", "RR", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["k"] == 2 and data["notes"] == [note]
    text = _run(str(path), "--measure", "RR")
    assert text.stderr == f"note: {note}\n" and "pooled (2 studies)" in text.stdout


def test_fractional_counts_are_pooled_with_a_note_naming_their_lines(tmp_path: Path) -> None:
    """A count that is not whole (a split control group's, or a typo) is pooled as given, and the
    note names its line so a typo can be found; `analyze --multiarm split` rows must reproduce."""
    path = _file(tmp_path, BINARY + "A,3,40,6,42\nB,3,40.5,6,42\n")
    result = _run(str(path), "--measure", "RR", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["k"] == 2
    assert data["notes"] == [f"{path}: counts that are not whole numbers were pooled as given: line 3 "
                             "(study 'B', n_treat 40.5) (a split shared control group gives such counts; "
                             "otherwise check for a typo)"]


@pytest.mark.parametrize(
    ("text", "args", "line", "message"),
    [
        (BINARY + "A,3,40,6,42\nB,1,20,2,20\nA,10,100,12,98\n", [], 4, "study 'A' appears twice: on lines 2 and 4"),
        (BINARY + "A,3,40,6,42\n,1,20,2,20\n", [], 3, "the study name is empty"),
        (BINARY + "A,3,40,6,42\nB,-2,20,2,20\n", [], 3, "study 'B': column 'events_treat' is negative (-2)"),
        (BINARY.replace("\n", ",grp\n") + "A,3,40,6,42,x\nB,1,20,2,20,\n", ["--subgroup", "grp"], 3,
         "study 'B': column 'grp' is empty"),
        (BINARY + "A,3,40,6,42,extra\n", [], 2, "row has 6 fields but the header has 5"),
        ("study,estimate,ci_lower,ci_upper\nA,0.5,0.6,1.0\nB,0.8,0.6,1.0667\n", ["--scale", "ratio"], 2,
         "study 'A': the estimate 0.5 lies outside its own CI (0.6 to 1.0)"),
        ("study,yi,vi,se\nA,-0.2175,0.0512,0.30\nB,-0.7861,0.0069,0.083\n", [], 2,
         "study 'A': vi 0.0512 (SE 0.2263) and se 0.30 give different standard errors (beyond rounding)"),
        ("study,yi\nA,0.1\n", [], 1, "generic data need one of these column sets: yi, vi; yi, se; "
                                     "estimate, ci_lower, ci_upper (columns found: study, yi)"),
        ("study,estimate,ci_lower,ci_upper\nA,0.50,0.20,1.25\n", [], 2,
         "study 'A': the estimate 0.50 is off the centre of its CI (0.20 to 1.25) on the difference scale, but "
         "central on the log scale, as a ratio's is (ratio data? add --scale ratio)"),
    ],
    ids=["duplicate", "no-name", "negative", "subgroup", "ragged", "outside-ci", "vi-se", "columns",
         "ratio-as-difference"],
)
def test_input_refusals_name_file_and_line(tmp_path: Path, text: str, args: list[str], line: int,
                                           message: str) -> None:
    """Each input rule refuses the file with one line naming the file, the line and the problem."""
    path = _file(tmp_path, text)
    measure = "generic" if text.startswith(("study,yi", "study,estimate")) else "RR"
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", measure, *args])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {path}, line {line}: {message}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("analysis", "label"), [("leave-one-out", "Omitting"), ("cumulative", "+")])
def test_sensitivity_plot_and_table_show_each_refit_with_its_ci(tmp_path: Path, analysis: str, label: str) -> None:
    """--plot with leave-one-out/cumulative draws the refits (not the main forest plot), and the
    text table gives each refit's CI on the natural scale."""
    path = _csv(tmp_path, _case("bcg_RR_DL")["input"]["studies"])
    base = [str(path), "--measure", "RR", "--tau2", "DL", "--no-hksj", "--flavour", "metafor", "--analysis", analysis]
    data = json.loads(_run(*base, "--json").output)
    plot = tmp_path / "s.svg"
    result = _run(*base, "--plot", str(plot))
    assert result.exit_code == 0, result.output
    key = "omitted" if analysis == "leave-one-out" else "added"
    svg = plot.read_text(encoding="utf-8")
    rows = {ln.split("  ")[0]: ln for ln in result.output.splitlines()}
    for i, study in enumerate(data[key]):
        lo, hi = (2.718281828459045 ** data[b][i] for b in ("ci_lower", "ci_upper"))
        assert escape(f"{label} {study}") in svg
        assert f"{data['effect'][i]:.2f} [{lo:.2f}, {hi:.2f}]" in svg
        assert f"{lo:.4f}" in rows[study[:28]] and f"{hi:.4f}" in rows[study[:28]]
    assert "Study or Subgroup" not in svg  # the main forest plot's heading
    assert f"{key:<28} {'k':>4} {'effect':>10} {'lower':>10} {'upper':>10}" in result.output


def test_one_study_text_says_study_and_q_not_defined(tmp_path: Path) -> None:
    """One study: "pooled (1 study)" and "Q not defined (1 study)", not NA placeholders."""
    path = _csv(tmp_path, [{"study": "a", "events_treat": 3, "n_treat": 20, "events_ctrl": 6, "n_ctrl": 20}])
    result = _run(str(path), "--measure", "OR")
    assert result.exit_code == 0, result.output
    assert "pooled (1 study)" in result.output
    assert "heterogeneity: Q not defined (1 study)" in result.output
    assert "NA" not in result.output


def test_fixed_effect_text_has_no_tau2_and_i2_has_one_decimal(tmp_path: Path) -> None:
    """A fixed-effect model prints no tau2; I2 reads "12.3%" in the table and the subgroup test alike."""
    case = _case("bcg_RR_DL_subgroups")
    path = _csv(tmp_path, case["input"]["studies"])
    fixed = _run(str(path), "--measure", "RR", "--model", "fixed")
    assert fixed.exit_code == 0, fixed.output
    assert "tau2" not in fixed.output
    data = json.loads(_run(str(path), "--measure", "RR", "--model", "fixed", "--json").output)
    assert f"I2 = {data['I2']:.1f}%" in fixed.output
    sub = _run(str(path), "--measure", "RR", "--subgroup", "subgroup", "--tau2", "DL", "--flavour", "metafor")
    sub_data = json.loads(_run(str(path), "--measure", "RR", "--subgroup", "subgroup", "--tau2", "DL",
                               "--flavour", "metafor", "--json").output)
    assert f"I2 = {sub_data['I2_between']:.1f}%" in sub.output
    assert "tau2 = " in sub.output  # random effects keep it


def test_tau2_with_fixed_model_is_a_usage_error(tmp_path: Path) -> None:
    """--tau2 with --model fixed would be ignored: refused as a usage error before any work."""
    path = _csv(tmp_path, _case("bcg_RR_DL")["input"]["studies"])
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--model", "fixed", "--tau2", "DL"])
    assert result.exit_code == 2
    assert "Error: --tau2 DL applies to random-effects models only" in result.output
    assert _run(str(path), "--measure", "RR", "--model", "random", "--tau2", "DL").exit_code == 0


def test_hksj_with_fixed_model_is_a_usage_error(tmp_path: Path) -> None:
    """--hksj with a fixed-effect model would be ignored: refused, as --tau2 is; --no-hksj is harmless."""
    path = _csv(tmp_path, _case("bcg_RR_DL")["input"]["studies"])
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--model", "fixed", "--hksj"])
    assert result.exit_code == 2
    assert "Error: --hksj applies to random-effects models only" in result.output
    assert _run(str(path), "--measure", "RR", "--model", "fixed", "--no-hksj").exit_code == 0


def test_hksj_adhoc_uses_max_1_q_and_is_named(tmp_path: Path) -> None:
    """--hksj-adhoc: three close estimates (q = 0.0069 < 1, τ² = 0) get the plain SE √(3/650) with t(2), not
    HKSJ's 12 times smaller one; the JSON, the settings line and the forest plot's header say so."""
    path = _csv(tmp_path, [{"study": s, "yi": y, "vi": v}
                           for s, y, v in (("a", 0.10, 0.01), ("b", 0.12, 0.02), ("c", 0.11, 0.015))])
    base = [str(path), "--measure", "generic", "--tau2", "DL", "--flavour", "metafor", "--hksj", "--hksj-adhoc"]
    data = json.loads(_run(*base, "--json").output)
    assert data["hksj"] is True and data["hksj_adhoc"] is True and data["test_df"] == 2
    assert data["se"] == pytest.approx((3 / 650) ** 0.5, rel=1e-12)
    assert data["ci_upper"] == pytest.approx(7 / 65 + 4.302653 * (3 / 650) ** 0.5, abs=1e-6)
    text = _run(*base, "--plot", str(tmp_path / "f.svg"))
    assert text.exit_code == 0
    assert text.output.splitlines()[0] == "generic (IV, random, DL, HKSJ ad hoc, max(1, q); flavour metafor)"
    assert "Random (HKSJ ad hoc, max(1, q))" in (tmp_path / "f.svg").read_text(encoding="utf-8")
    refits = _run(*base, "--analysis", "leave-one-out", "--plot", str(tmp_path / "loo.svg"))
    assert refits.output.startswith("leave-one-out: generic (IV, random, DL, HKSJ ad hoc, max(1, q); flavour metafor)")
    assert "Random (HKSJ ad hoc, max(1, q))" in (tmp_path / "loo.svg").read_text(encoding="utf-8")
    # cochrane2025's HKSJ is on by default: the ad hoc variant needs no --hksj there
    assert json.loads(_run(str(path), "--measure", "generic", "--hksj-adhoc", "--json").output)["hksj_adhoc"] is True


@pytest.mark.parametrize(("args", "says"), [
    (["--flavour", "metafor"], "--hksj-adhoc modifies HKSJ, which is off (flavour metafor does not use it by default)"),
    (["--no-hksj"], "--hksj-adhoc modifies HKSJ, which is off (--no-hksj turns it off)"),
    (["--model", "fixed", "--hksj"], "--hksj applies to random-effects models only"),
    (["--model", "fixed"], "--hksj-adhoc modifies the Hartung-Knapp adjustment of random-effects models only"),
])
def test_hksj_adhoc_without_hksj_is_a_usage_error(tmp_path: Path, args: list[str], says: str) -> None:
    """--hksj-adhoc with HKSJ off (a flavour without it, --no-hksj, a fixed-effect model) would be ignored:
    refused before any work, as --hksj with a fixed-effect model is."""
    path = _csv(tmp_path, _case("bcg_RR_DL")["input"]["studies"])
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", *args, "--hksj-adhoc"])
    assert result.exit_code == 2
    assert f"Error: {says}" in result.output


def test_a_tau2_limit_beyond_the_search_bound_is_printed_as_such(tmp_path: Path) -> None:
    """Two studies whose Q-profile upper limit lies beyond metafor's tau2.max of 100: the text says >100,
    and the flavour that searches on prints the exact root, computed here from Q_gen = chi2(0.025, 1)."""
    from scipy.optimize import brentq
    from scipy.stats import chi2

    (tmp_path / "k2.csv").write_text("study,yi,vi\nA,-0.2175,0.0512\nB,-0.7861,0.0069\n", encoding="utf-8")
    capped = _run(str(tmp_path / "k2.csv"), "--measure", "generic", "--tau2", "DL", "--flavour", "metafor")
    assert capped.exit_code == 0, capped.output
    assert ", >100.0000]" in capped.output
    exact = _run(str(tmp_path / "k2.csv"), "--measure", "generic", "--tau2", "DL", "--flavour", "cochrane2025")
    root = brentq(lambda t: (-0.2175 + 0.7861) ** 2 / (0.0512 + 0.0069 + 2 * t) - chi2.ppf(0.025, 1), 0, 1e6)
    assert f", {root:.4f}]" in exact.output and ">" not in exact.output.split("heterogeneity:")[1].split("\n")[0]


def test_eggers_test_on_a_peto_analysis_reads_the_peto_odds_ratios(tmp_path: Path) -> None:
    """The funnel of a Peto analysis shows each study's Peto log OR, (O − E)/V with variance 1/V; Egger's test
    regresses the same values (it read the ordinary ORs with 0.5 added): the same t as a generic analysis of
    those values, computed here from the 2×2 cells."""
    cells = [(0, 50, 5, 50), (3, 40, 6, 42), (10, 100, 12, 98), (5, 60, 9, 61)]
    peto = tmp_path / "peto.csv"
    peto.write_text("study,events_treat,n_treat,events_ctrl,n_ctrl\n"
                    + "".join(f"S{i},{a},{n1},{c},{n2}\n" for i, (a, n1, c, n2) in enumerate(cells)), encoding="utf-8")
    rows = []
    for i, (a, n1, c, n2) in enumerate(cells):
        n, events = n1 + n2, a + c
        expected = n1 * events / n
        v = events * (n - events) * n1 * n2 / (n**2 * (n - 1))
        rows.append(f"S{i},{(a - expected) / v!r},{1 / v!r}\n")
    generic = tmp_path / "generic.csv"
    generic.write_text("study,yi,vi\n" + "".join(rows), encoding="utf-8")
    by_peto = json.loads(_run(str(peto), "--measure", "OR", "--method", "Peto", "--model", "fixed",
                              "--flavour", "revman5", "--analysis", "egger", "--json").output)
    by_hand = json.loads(_run(str(generic), "--measure", "generic", "--model", "fixed", "--flavour", "revman5",
                              "--analysis", "egger", "--json").output)
    assert by_peto["t"] == pytest.approx(by_hand["t"], rel=1e-9) and by_peto["df"] == by_hand["df"] == 2


@pytest.mark.parametrize("analysis", ["egger", "trimfill"])
def test_bias_analyses_on_equal_standard_errors_are_refused_in_words(tmp_path: Path, analysis: str) -> None:
    """Three identical studies have one SE: Egger's regression (and trim-and-fill's choice of side) has no
    slope to fit. One error line, status 1, no numpy traceback."""
    path = _file(tmp_path, BINARY + "A,10,100,20,100\nB,10,100,20,100\nC,10,100,20,100\n")
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--analysis", analysis])
    assert result.exit_code == 1, result.output
    what = "Egger's test" if analysis == "egger" else "trim-and-fill"
    assert result.stderr.startswith(f"error: {what} needs studies whose standard errors differ (all 3 have SE ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_prediction_interval_flags_overrule_the_flavour(tmp_path: Path) -> None:
    """revman5 shows no prediction interval unless --prediction-interval asks (then named by how revman5
    computes it: z, as metafor); --no-prediction-interval hides metafor's. The JSON has the numbers either
    way and says whether they are shown; the plot follows the text."""
    path = _csv(tmp_path, _case("bcg_RR_DL")["input"]["studies"])
    base = [str(path), "--measure", "RR", "--tau2", "DL"]
    revman = _run(*base, "--flavour", "revman5")
    assert revman.exit_code == 0 and "prediction interval" not in revman.output
    asked = _run(*base, "--flavour", "revman5", "--prediction-interval", "--plot", str(tmp_path / "pi.svg"))
    data = json.loads(_run(*base, "--flavour", "revman5", "--prediction-interval", "--json").output)
    assert data["show_prediction_interval"] is True and data["pi_method"] == "z"
    lo, hi = data["effect_pi_lower"], data["effect_pi_upper"]
    assert f"prediction interval (z): {lo:.4f} to {hi:.4f}" in asked.output.splitlines()
    assert f"Prediction interval (z): [{lo:.2f}, {hi:.2f}]" in (tmp_path / "pi.svg").read_text(encoding="utf-8")
    hidden = _run(*base, "--flavour", "metafor", "--no-prediction-interval", "--plot", str(tmp_path / "no.svg"))
    assert hidden.exit_code == 0 and "prediction interval" not in hidden.output
    assert "Prediction interval" not in (tmp_path / "no.svg").read_text(encoding="utf-8")
    quiet = json.loads(_run(*base, "--flavour", "metafor", "--no-prediction-interval", "--json").output)
    assert quiet["show_prediction_interval"] is False and quiet["pi_lower"] is not None


def test_prediction_interval_with_fixed_model_is_a_usage_error(tmp_path: Path) -> None:
    """A fixed-effect model has no prediction interval: --prediction-interval with it is refused, as --hksj
    is; --no-prediction-interval is harmless."""
    path = _csv(tmp_path, _case("bcg_RR_DL")["input"]["studies"])
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--model", "fixed",
                                      "--prediction-interval"])
    assert result.exit_code == 2
    assert "Error: --prediction-interval applies to random-effects models only" in result.output
    assert _run(str(path), "--measure", "RR", "--model", "fixed", "--no-prediction-interval").exit_code == 0


def test_an_undefined_test_prints_na_not_nan(tmp_path: Path) -> None:
    """Three studies with the same estimate under HKSJ (cochrane2025): the Hartung-Knapp SE is 0, so the t
    test is undefined (null in the JSON). The table and the leave-one-out refits print NA, as for any undefined
    number, not Python's "nan"; the subgroups' test is not given, and the warning says why."""
    path = _csv(tmp_path, [{"study": s, "yi": 0.1, "vi": v, "grp": g}
                           for s, v, g in (("A", 0.04, "x"), ("B", 0.09, "x"), ("C", 0.05, "y"))])
    for extra in ([], ["--analysis", "leave-one-out"], ["--subgroup", "grp"]):
        result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "generic", *extra])
        assert result.exit_code == 0, result.output
        assert "nan" not in result.output.lower(), result.output
    table = CliRunner().invoke(cli, ["meta", str(path), "--measure", "generic"]).output
    assert "test: t(2) = NA, p = NA" in table


def test_a_small_subgroup_difference_p_is_not_printed_as_zero(tmp_path: Path) -> None:
    """The BCG trials by allocation, fixed effect IV: Q_between = 19.8654 on 2 df (reference notes §12), so
    p = exp(−Q/2) = 4.857e-05, which four decimals printed as "p = 0.0000"; it is printed as the other p-values are."""
    path = _csv(tmp_path, _case("bcg_RR_DL_subgroups")["input"]["studies"])
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--method", "IV", "--model", "fixed",
                                      "--subgroup", "subgroup"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("test for subgroup differences"))
    assert line.startswith("test for subgroup differences: Q = 19.8654, df = 2, p = 4.85")
    assert "e-05" in line and "p = 0.0000" not in line


def test_a_zero_cell_correction_is_said_except_under_peto(tmp_path: Path) -> None:
    """A study with no events in one arm gets 0.5 in each cell (its RR is then (0.5/50.5)/(4.5/50.5) = 1/9),
    and the output says which study; a double-zero study is left out, not corrected; Peto, which uses the
    counts as they are, says nothing of 0.5."""
    path = _csv(tmp_path, [
        {"study": "A", "events_treat": 0, "n_treat": 50, "events_ctrl": 4, "n_ctrl": 50},
        {"study": "B", "events_treat": 3, "n_treat": 40, "events_ctrl": 5, "n_ctrl": 42},
        {"study": "C", "events_treat": 0, "n_treat": 30, "events_ctrl": 0, "n_ctrl": 30},
        {"study": "D", "events_treat": 6, "n_treat": 60, "events_ctrl": 10, "n_ctrl": 61},
    ])
    text = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--method", "IV"]).stdout
    lines = text.splitlines()
    (a_row,) = [line for line in lines if line.startswith("A ")]
    assert a_row.split()[1] == f"{1 / 9:.4f}"
    assert "note: 0.5 added to each cell of 'A' (zero cell)" in lines
    assert sum(line.startswith("note: ") for line in lines) == 1
    data = json.loads(CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--json"]).stdout)
    assert data["notes"] == ["0.5 added to each cell of 'A' (zero cell)"]
    peto = CliRunner().invoke(cli, ["meta", str(path), "--measure", "OR", "--method", "Peto", "--model", "fixed"])
    assert peto.exit_code == 0, peto.output
    assert "note:" not in peto.stdout and "0.5 added" not in peto.stdout


CONTINUOUS = "study,mean_treat,sd_treat,n_treat,mean_ctrl,sd_ctrl,n_ctrl\n"


@pytest.mark.parametrize(
    ("text", "measure", "line", "message"),
    [
        (CONTINUOUS + "A,1,1,10,2,1,10\nB,1e200,1,10,2,1,10\nC,3,1,10,2,1,10\n", "MD", 3,
         "study 'B': column 'mean_treat' is too large to pool (1e200; at most 1e+30 in absolute value)"),
        (CONTINUOUS + "A,1,1e-40,10,2,1e-40,10\nB,1,1,10,2,1,10\n", "MD", 2,
         "study 'A': its variance (2e-81) cannot be pooled (it must lie between 1e-60 and 1e+60)"),
        ("study,yi,vi\nA,0.1,0.04\nB,1e20,0.05\n", "generic --scale ratio", 3,
         "study 'B': its log ratio (1e+20) is too large to pool"),
    ],
    ids=["huge-mean", "tiny-sd", "huge-log-ratio"],
)
def test_values_beyond_double_precision_are_refused_naming_the_line(
        tmp_path: Path, text: str, measure: str, line: int, message: str) -> None:
    """Numbers pooling would overflow on (it raised OverflowError, never ended, or printed inf) are
    refused with the file, line and cell or study, exit 1, and no plot is left behind."""
    path = _file(tmp_path, text)
    plot = tmp_path / "out" / "forest.svg"
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", *measure.split(), "--plot", str(plot)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {path}, line {line}: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not plot.exists() and not plot.parent.exists()


def test_large_but_poolable_numbers_print_in_exponent_form(tmp_path: Path) -> None:
    """Estimates of 1e20 pool; the table prints them as 1.0000e+20, not 25 digits of rounding noise."""
    path = _file(tmp_path, "study,yi,vi\nA,1e20,1\nB,-1e20,1\nC,0,1\n")
    result = _run(str(path), "--measure", "generic", "--tau2", "DL", "--no-hksj", "--flavour", "metafor")
    assert result.exit_code == 0, result.output
    assert "1.0000e+20" in result.output
    assert "100000000000000000000" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--measure", "MD", "--method", "Peto"], "--method Peto needs binary data (RR, OR or RD), not --measure MD"),
        (["--measure", "generic", "--method", "MH"], "--method MH needs binary data (RR, OR or RD), not --measure generic"),
        (["--measure", "RR", "--method", "Peto", "--model", "fixed"], "--method Peto estimates an odds ratio"),
        (["--measure", "OR", "--method", "Peto"], "--method Peto is fixed-effect only (as in RevMan): add --model fixed"),
        (["--measure", "RR", "--level", "95"], "--level must lie between 0 and 1, exclusive (got 95; a 95% level is 0.95)"),
        (["--measure", "RR", "--level", "nan"], "--level must lie between 0 and 1"),
    ],
    ids=["peto-md", "mh-generic", "peto-rr", "peto-random", "level-95", "level-nan"],
)
def test_conflicting_options_are_usage_errors_before_the_file_is_read(tmp_path: Path, args: list[str],
                                                                      message: str) -> None:
    """Options that cannot go together are refused naming the options, before the file's own errors
    (this file has one) and before any plot is written."""
    path = _file(tmp_path, BINARY + "A,x,40,6,42\n")
    plot = tmp_path / "forest.svg"
    result = CliRunner().invoke(cli, ["meta", str(path), *args, "--plot", str(plot)])
    assert result.exit_code == 2, result.output
    assert f"Error: {message}" in result.output
    assert "line 2" not in result.output and "Traceback" not in result.output
    assert not plot.exists()


@pytest.mark.parametrize("flavour", ["revman5", "metafor", "cochrane2025"])
def test_one_study_says_tau2_is_not_estimated(tmp_path: Path, flavour: str) -> None:
    """A random-effects analysis of one study says τ² was not estimated (taken as 0), in the text and JSON."""
    path = _file(tmp_path, BINARY + "A,3,40,6,42\n")
    text = _run(str(path), "--measure", "RR", "--flavour", flavour)
    assert text.exit_code == 0, text.output
    assert "warning: τ² is not estimable from 1 study" in text.output
    data = json.loads(_run(str(path), "--measure", "RR", "--flavour", flavour, "--json").output)
    assert any(w.startswith("τ² is not estimable from 1 study") for w in data["warnings"])
    fixed = _run(str(path), "--measure", "RR", "--flavour", flavour, "--model", "fixed")
    assert "τ²" not in fixed.output  # a fixed-effect model has no τ² to speak of

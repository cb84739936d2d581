"""Tests for `reviewkit export`: analyses (the same count in either format, what was skipped), and the
exports of blinded work (RoB, extraction, backup), which need a reviewer and show each what they may see."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services import extract
from reviewkit.services.extract_consensus import record_consensus
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review, open_review
from tests.extraction_required import fill_required

#: An analysis the demo has no data for (no SCORAD 75 was extracted).
SCORAD = '\n[[analyses]]\nname = "SCORAD 75"\noutcome = "scorad75"\ntimepoint = "week 16"\nmeasure = "RR"\n'


def test_analyses_count_is_the_same_for_csv_and_json(demo: Review, tmp_path: Path) -> None:
    """CSV and JSON report the analyses run, and name each one skipped with its reason; both files hold
    the skipped one too (the CSV in its `skipped` column)."""
    protocol = demo.folder / "review.toml"
    protocol.write_text(protocol.read_text(encoding="utf-8") + SCORAD, encoding="utf-8")
    said = {}
    for suffix in (".csv", ".json"):
        out = tmp_path / f"a{suffix}"
        result = CliRunner().invoke(cli, ["-C", str(demo.folder), "export", "analyses", str(out)])
        assert result.exit_code == 0, result.output
        said[suffix] = result.output.replace(str(out), "FILE").strip()
    assert said[".csv"] == said[".json"]
    assert said[".csv"] == "3 analyses written to FILE; 1 skipped: SCORAD 75 (no consensus data for scorad75 yet)"
    table = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert [(r["analysis"], r["skipped"]) for r in table if r["skipped"]] == [
        ("SCORAD 75", "no consensus data for scorad75 yet")]
    assert len(table) == 4
    rows = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert [r["analysis"] for r in rows if "skipped" in r] == ["SCORAD 75"]


def test_analyses_csv_has_the_settings_and_the_planned_bias_analyses(demo: Review, tmp_path: Path) -> None:
    """Each CSV row holds what reproduces it (HKSJ, tau² estimator, flavour, level...) and, when the protocol
    plans them, Egger's p and the trim-and-fill estimate, as the JSON has them; a skipped analysis's row has
    the settings it was planned with."""
    protocol = demo.folder / "review.toml"
    text = protocol.read_text(encoding="utf-8").replace('sensitivity = ["leave-one-out"]',
                                                        'sensitivity = ["egger", "trimfill"]', 1)
    revman = SCORAD.replace("SCORAD 75", "SCORAD 75, RevMan") + 'flavour = "revman5"\n'
    protocol.write_text(text + SCORAD + revman, encoding="utf-8")
    for suffix in (".csv", ".json"):
        result = CliRunner().invoke(cli, ["-C", str(demo.folder), "export", "analyses", str(tmp_path / f"a{suffix}")])
        assert result.exit_code == 0, result.output
    table = {r["analysis"]: r for r in csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8"))}
    iga = table["IGA 0/1 at week 16"]
    # the protocol's IGA analysis: MH, random, DL, revman5 (no HKSJ), 95% intervals
    assert (iga["method"], iga["model"], iga["tau2_estimator"], iga["hksj"], iga["flavour"], iga["level"]) == (
        "MH", "random", "DL", "no", "revman5", "0.95")
    numbers = {r["analysis"]: r for r in json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))}
    egger, fill = numbers["IGA 0/1 at week 16"]["egger"], numbers["IGA 0/1 at week 16"]["trimfill"]
    assert float(iga["egger_p"]) == pytest.approx(egger["p"], rel=1e-12) and iga["egger_df"] == "9"  # 11 − 2
    assert float(iga["trimfill_effect"]) == pytest.approx(fill["effect"], rel=1e-12)
    assert table["EASI 75 at week 16"]["egger_p"] == ""  # not planned there
    # One warning per line of the cell, each whole (several hold "; " themselves), as the JSON lists them.
    assert iga["warnings"].split("\n") == numbers["IGA 0/1 at week 16"]["warnings"]
    assert any("; " in w for w in numbers["IGA 0/1 at week 16"]["warnings"])
    scorad = table["SCORAD 75"]
    # left out, method, model, tau2 and hksj are the flavour's: cochrane2025 is random effects, REML, inverse
    # variance with HKSJ (the protocol's own defaults used to turn HKSJ off); revman5 is MH with DL, no HKSJ
    assert (scorad["flavour"], scorad["model"], scorad["tau2_estimator"], scorad["method"], scorad["hksj"],
            scorad["k"]) == ("cochrane2025", "random", "REML", "IV", "yes", "")
    revman = table["SCORAD 75, RevMan"]
    assert (revman["model"], revman["tau2_estimator"], revman["method"], revman["hksj"]) == ("random", "DL", "MH", "no")


def test_analyses_csv_and_json_say_whether_the_ad_hoc_hksj_was_used(demo: Review, tmp_path: Path) -> None:
    """hksj_adhoc sits beside hksj in the CSV (yes/no) and the JSON, for a run analysis (IGA with hksj and
    hksj_adhoc true: its SE is √(max(1, q)/Σw*)) and for a skipped one's plan (cochrane2025's default HKSJ)."""
    from reviewkit.services.analyze import AnalysisOutput, analyze_review

    protocol = demo.folder / "review.toml"
    text = protocol.read_text(encoding="utf-8").replace('tau2 = "DL"', 'tau2 = "DL"\nhksj = true\nhksj_adhoc = true', 1)
    protocol.write_text(text + SCORAD + "hksj_adhoc = true\n", encoding="utf-8")
    for suffix in (".csv", ".json"):
        result = CliRunner().invoke(cli, ["-C", str(demo.folder), "export", "analyses", str(tmp_path / f"a{suffix}")])
        assert result.exit_code == 0, result.output
    with (tmp_path / "a.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        table = {r["analysis"]: r for r in reader}
    assert header[header.index("hksj") + 1] == "hksj_adhoc"
    assert (table["IGA 0/1 at week 16"]["hksj"], table["IGA 0/1 at week 16"]["hksj_adhoc"]) == ("yes", "yes")
    assert (table["EASI 75 at week 16"]["hksj"], table["EASI 75 at week 16"]["hksj_adhoc"]) == ("no", "no")
    assert (table["SCORAD 75"]["hksj"], table["SCORAD 75"]["hksj_adhoc"], table["SCORAD 75"]["skipped"] != "") == (
        "yes", "yes", True)
    numbers = {r["analysis"]: r for r in json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))}
    assert numbers["IGA 0/1 at week 16"]["hksj_adhoc"] is True and numbers["SCORAD 75"]["hksj_adhoc"] is True
    review = open_review(demo.folder)
    try:
        iga = next(o.result for o in analyze_review(review, plots=False)
                   if isinstance(o, AnalysisOutput) and o.analysis.name == "IGA 0/1 at week 16")
    finally:
        review.engine.dispose()
    yi, vi = (iga.effects.yi[list(iga.positions)], iga.effects.vi[list(iga.positions)])
    w = 1 / (vi + iga.tau2)
    q = float((w * (yi - iga.estimate) ** 2).sum()) / (iga.k - 1)
    assert iga.se == pytest.approx((max(1.0, q) / w.sum()) ** 0.5, rel=1e-12) and iga.test_df == iga.k - 1


def test_nothing_to_analyse_says_so(review: Review, tmp_path: Path) -> None:
    """With no data, no analysis is written and all are named as skipped."""
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "export", "analyses", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 analyses written to") and "4 skipped: IGA 0/1 at week 16 (" in result.output


def invoke(folder: Path, *args: str, reviewer: str | None = None) -> Result:
    """Run the CLI on a review folder, as `reviewer` when one is given."""
    return CliRunner().invoke(cli, ["-C", str(folder), *(["--reviewer", reviewer] if reviewer else []), *args])


#: The commands that write other reviewers' blinded work: each needs a listed reviewer.
BLINDED = [("export", "rob", "x.csv"), ("rob", "export", "x.csv"), ("export", "extraction", "x.csv"),
           ("extract", "export", "x.xlsx"), ("backup", "snap")]


@pytest.mark.parametrize("args", BLINDED)
@pytest.mark.parametrize(("reviewer", "said"), [(None, "no reviewer given"), ("zed", "unknown reviewer 'zed'")])
def test_blinded_exports_refuse_a_missing_or_unknown_reviewer(review_dir: Path, tmp_path: Path, args: tuple[str, ...],
                                                              reviewer: str | None, said: str) -> None:
    """Without a reviewer of the team the command fails in one line and writes nothing."""
    target = tmp_path / "out" / args[-1]
    result = invoke(review_dir, *args[:-1], str(target), reviewer=reviewer)
    assert result.exit_code == 1 and said in result.stderr, result.output
    assert not (tmp_path / "out").exists()


def test_backup_is_for_leads(review_dir: Path, tmp_path: Path) -> None:
    """bob (a screener) is refused and nothing is made; alice (the lead) gets the snapshot on SQLite and
    pg_dump guidance on PostgreSQL."""
    target = tmp_path / "out" / "snap"
    refused = invoke(review_dir, "backup", str(target), reviewer="bob")
    assert refused.exit_code == 1 and "'bob' is not a lead" in refused.stderr
    assert not (tmp_path / "out").exists()
    done = invoke(review_dir, "backup", str(target), reviewer="alice")
    if "postgresql" in os.environ.get("REVIEWKIT_DATABASE_URL", ""):
        assert done.exit_code == 1 and "pg_dump" in done.stderr
    else:
        assert done.exit_code == 0 and (target / "reviewkit.db").is_file(), done.output


@pytest.mark.parametrize("command", [("export", "extraction"), ("extract", "export")])
def test_extraction_export_shows_a_non_lead_their_own_and_the_consensus(review: Review, tmp_path: Path,
                                                                         command: tuple[str, str]) -> None:
    """bob's table never shows alice's values before he has extracted the study himself and both have
    finished (blinding); then the comparison is open to him and so are her rows; alice (the lead) sees all."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id

    def enter(who: str, events: str) -> None:
        extract.set_arm(review, who, sid, "Placebo", intervention="placebo")
        extract.set_value(review, who, sid, "events", events, arm="Placebo", outcome="iga_0_1")

    def table(reviewer: str) -> set[tuple[str, str, str]]:
        out = tmp_path / f"{reviewer}.csv"
        result = invoke(review.folder, *command, str(out), reviewer=reviewer)
        assert result.exit_code == 0, result.output
        with out.open(newline="", encoding="utf-8") as fh:
            return {(r["extractor"], r["consensus"], r["events"]) for r in csv.DictReader(fh)}

    enter("alice", "12")
    assert table("bob") == set()
    assert table("alice") == {("alice", "no", "12")}
    enter("bob", "13")
    assert table("bob") == {("bob", "no", "13")}
    for who in ("alice", "bob"):
        fill_required(review, who, sid)
        finish_extraction(review, who, sid)
    assert table("bob") == {("alice", "no", "12"), ("bob", "no", "13")}
    record_consensus(review, "carol", sid, take={"value|Placebo|iga_0_1|week 16|events": "alice"})
    assert table("bob") == {("alice", "no", "12"), ("bob", "no", "13"), ("carol", "yes", "12")}


def test_an_analysis_without_a_timepoint_names_the_one_it_used(demo: Review, tmp_path: Path) -> None:
    """With no timepoint, an analysis reads its outcome's first: `analyze --json` and both exports say which,
    not a blank (a table of results must say when each outcome was measured)."""
    protocol = demo.folder / "review.toml"
    text = protocol.read_text(encoding="utf-8")
    start = text.index('name = "IGA 0/1 at week 16"')
    line = text.index('timepoint = "week 16"\n', start)
    protocol.write_text(text[:line] + text[line + len('timepoint = "week 16"\n'):], encoding="utf-8")
    spec = open_review(demo.folder).protocol.outcome("iga_0_1")
    assert spec is not None
    first = spec.timepoints[0]
    result = CliRunner().invoke(cli, ["-C", str(demo.folder), "analyze", "--outcome", "iga_0_1", "--json",
                                      "--no-plots"])
    assert result.exit_code == 0, result.output
    assert {a["timepoint"] for a in json.loads(result.stdout)} == {first}
    result = CliRunner().invoke(cli, ["-C", str(demo.folder), "export", "analyses", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    rows = {r["analysis"]: r for r in csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8"))}
    assert rows["IGA 0/1 at week 16"]["timepoint"] == first


def test_the_analyses_csv_gives_the_prediction_interval_only_where_the_analysis_shows_it(
        demo: Review, tmp_path: Path) -> None:
    """As the text and plots: IGA (revman5 with prediction_interval = true) has the pooled result's interval,
    EASI (metafor, which shows it, with prediction_interval = false) and itch (revman5's default: none)
    have empty cells, though pooling computed theirs; the columns stay in every row, and
    show_prediction_interval (yes/no, as hksj) tells an interval not shown from one not estimated."""
    from reviewkit.services.analyze import AnalysisOutput, analyze_review

    protocol = demo.folder / "review.toml"
    text = protocol.read_text(encoding="utf-8")
    iga, easi = text.index('name = "IGA 0/1 at week 16"'), text.index('name = "EASI 75 at week 16"')
    text = (text[:iga] + text[iga:easi].replace('flavour = "revman5"', 'flavour = "revman5"\nprediction_interval = true')
            + text[easi:].replace('flavour = "revman5"', 'flavour = "metafor"\nprediction_interval = false', 1))
    protocol.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(demo.folder), "export", "analyses", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "a.csv").open(newline="", encoding="utf-8") as fh:
        rows = {r["analysis"]: r for r in csv.DictReader(fh)}
    review = open_review(demo.folder)
    try:
        pooled = {o.analysis.name: o.result for o in analyze_review(review, plots=False)
                  if isinstance(o, AnalysisOutput)}
    finally:
        review.engine.dispose()
    shown = pooled["IGA 0/1 at week 16"]
    assert shown.show_prediction_interval and None not in shown.effect_pi
    assert (float(rows["IGA 0/1 at week 16"]["effect_pi_lower"]),
            float(rows["IGA 0/1 at week 16"]["effect_pi_upper"])) == shown.effect_pi
    assert rows["IGA 0/1 at week 16"]["show_prediction_interval"] == "yes"
    for name in ("EASI 75 at week 16", "Itch NRS ≥ 4-point improvement"):
        hidden = pooled[name]
        assert not hidden.show_prediction_interval and None not in hidden.effect_pi  # computed, not shown
        assert (rows[name]["effect_pi_lower"], rows[name]["effect_pi_upper"]) == ("", "")
        assert rows[name]["show_prediction_interval"] == "no"
    assert rows["EASI 75 at week 16"]["flavour"] == "metafor" and rows["Itch NRS ≥ 4-point improvement"][
        "flavour"] == "revman5"

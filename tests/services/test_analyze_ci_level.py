"""Tests that an analysis says when it pooled an SD derived on the fly from a CI whose level nobody recorded
(it assumes 95%), names the command that records the report's level, and pools that level once recorded;
an SD derived from SE or quantiles, or one of an arm the analysis leaves out, draws no such warning. An SD an
import brings converted from a CI whose record names no level (an old file) is accepted as 95% and warned of
alike; one that is not the 95% SD is refused, saying the record was read as 95%."""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.conversions import sd_from_ci
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.analyze import AnalysisOutput, analyze_review
from reviewkit.services.extract_consensus import record_consensus
from reviewkit.services.extract_convert import convert, convert_command
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import export_table
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review
from tests.extraction_required import fill_required
from tests.factories import write_csv

#: The consensus statistics of each arm: Placebo's SD comes from its CI, Bari 4 mg's from its SE, Bari 2 mg's
#: from quantiles; Bari 1 mg has a CI but no mean, so the analysis leaves it out.
ARMS = {
    "Placebo": ("placebo", {"mean": "-2", "ci_lower": "-3.1", "ci_upper": "-0.9", "n": "100"}),
    "Bari 4 mg": ("baricitinib", {"mean": "-6", "se": "0.5", "n": "100"}),
    "Bari 2 mg": ("baricitinib", {"median": "-5", "q1": "-8", "q3": "-2", "n": "100"}),
    "Bari 1 mg": ("baricitinib", {"ci_lower": "-5", "ci_upper": "-1", "n": "100"}),
}


def consensus_study(review: Review, arms: dict[str, tuple[str, dict[str, str]]] | None = None) -> int:
    """alice and bob extract `arms` (ARMS by default) alike and finish; carol records their consensus."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    for who in ("alice", "bob"):
        fill_required(review, who, sid)
        for arm, (intervention, stats) in (ARMS if arms is None else arms).items():
            extract.set_arm(review, who, sid, arm, intervention=intervention)
            for field, value in stats.items():
                extract.set_value(review, who, sid, field, value, arm=arm, outcome="dlqi_change")
        finish_extraction(review, who, sid)
    assert record_consensus(review, "carol", sid).unresolved == ()
    return sid


def dlqi(review: Review) -> AnalysisOutput:
    (out,) = analyze_review(review, outcome="dlqi_change", plots=False)
    assert isinstance(out, AnalysisOutput), out
    return out


def placebo_sd(out: AnalysisOutput) -> float:
    """The SD the analysis pooled for the placebo arm (the control of every comparison)."""
    (sd,) = {float(row["sd_ctrl"]) for row in out.rows}
    return sd


def test_an_sd_derived_from_a_ci_is_said_to_assume_95_percent(review: Review) -> None:
    """Placebo's SD is derived from its CI read as 95%: the warning says so, naming the study and arm, the CI
    and the command that records another level. SE and quantiles take no level, and Bari 1 mg is not pooled:
    no warning for them."""
    sid = consensus_study(review)
    out = dlqi(review)
    assert placebo_sd(out) == pytest.approx(sd_from_ci(-3.1, -0.9, 100, 0.95).sd)
    about_sd = [w for w in out.warnings if "the SD of arm" in w]
    assert about_sd == [
        f"BREEZE-AD1: the SD of arm 'Placebo' ({sd_from_ci(-3.1, -0.9, 100, 0.95).sd:.4g}) was derived from its "
        "CI -3.1 to -0.9 (n 100) assumed to be a 95% CI, as no level is recorded: if the report gives another, "
        f"record it (a 90% CI: `reviewkit extract convert {sid} --consensus --arm Placebo --outcome dlqi_change "
        "--timepoint 'week 16' --method ci --level 0.9`, or --level 0.95 to confirm 95%)"]
    assert "BREEZE-AD1: arm Bari 1 mg has no dlqi_change data" in out.warnings
    assert about_sd[0] in out.to_dict()["warnings"]


def test_the_named_command_records_the_level_the_analysis_then_pools(review: Review) -> None:
    """`analyze` prints the warning; the command it names, run as the consensus writer, stores the SD at 90%,
    which the analysis then pools, without the warning."""
    consensus_study(review)
    printed = CliRunner().invoke(cli, ["-C", str(review.folder), "analyze", "--outcome", "dlqi_change",
                                       "--no-plots"])
    (line,) = [w for w in printed.stdout.splitlines() if "the SD of arm 'Placebo'" in w]
    assert line.startswith("  warning: BREEZE-AD1: the SD of arm 'Placebo'")
    command = shlex.split(line.split("`")[1])
    assert command[:3] == ["reviewkit", "extract", "convert"]
    ran = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", *command[1:]])
    assert ran.exit_code == 0, ran.output
    out = dlqi(review)
    assert placebo_sd(out) == pytest.approx(sd_from_ci(-3.1, -0.9, 100, 0.9).sd)
    assert [w for w in out.warnings if "the SD of arm" in w] == []
    as_json = CliRunner().invoke(cli, ["-C", str(review.folder), "analyze", "--outcome", "dlqi_change",
                                       "--no-plots", "--json"])
    assert not any("the SD of arm" in w for w in json.loads(as_json.stdout)[0]["warnings"])


# --- an SD stored from a CI conversion whose record names no level ------------------------------------------------


def old_row(review: Review, tmp_path: Path, level: float = 0.95) -> dict[str, str]:
    """Placebo's consensus row of the table carol exports after converting its CI at `level`, the SD's record
    stripped of the level, as a file from before levels were recorded has it."""
    convert(review, "carol", consensus_study(review), arm="Placebo", outcome="dlqi_change", method="ci",
            level=level, consensus=True)
    export_table(review, tmp_path / "t.csv", actor="carol")
    with (tmp_path / "t.csv").open(newline="", encoding="utf-8") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["consensus"] == "yes" and r["arm"] == "Placebo"
                  and r["outcome"] == "dlqi_change"]
    records = json.loads(row["converted_from"])
    assert records["sd"]["inputs"].pop("level") == level
    return {**row, "converted_from": json.dumps(records)}


def sd_warnings(out: AnalysisOutput) -> list[str]:
    return [w for w in out.warnings if "the SD of arm" in w]


def test_an_imported_sd_converted_from_a_ci_of_no_recorded_level_is_read_as_95_percent_and_said(
        review: Review, tmp_path: Path) -> None:
    """An old file's SD, converted from a CI its record gives no level for, imports (it is the 95% SD, as
    recompute reads such a record: old files have no level), and the analysis pooling it says it read the CI as
    95%, naming the command that records the report's level; that command at 0.9 pools the 90% SD, unwarned."""
    assert import_table(review, write_csv(tmp_path / "old.csv", old_row(review, tmp_path)), actor="carol"
                        ).values_stored == 1
    out = dlqi(review)
    sd95 = sd_from_ci(-3.1, -0.9, 100, 0.95).sd
    assert placebo_sd(out) == pytest.approx(sd95)
    (warning,) = sd_warnings(out)
    assert warning.startswith(
        f"BREEZE-AD1: the SD of arm 'Placebo' ({sd95:.4g}) was converted from a CI read as 95% (no level "
        "recorded), -3.1 to -0.9 (n 100): if the report gives another, record it (a 90% CI: `reviewkit extract "
        "convert "), warning
    assert warning.endswith("--method ci --level 0.9`, or --level 0.95 to confirm 95%)"), warning
    assert warning in out.to_dict()["warnings"]
    command = shlex.split(warning.split("`")[1])
    ran = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", *command[1:]])
    assert ran.exit_code == 0, ran.output
    out = dlqi(review)
    assert placebo_sd(out) == pytest.approx(sd_from_ci(-3.1, -0.9, 100, 0.9).sd)
    assert sd_warnings(out) == []


def test_an_arm_without_its_ci_cells_is_told_to_enter_them_before_converting(
        review: Review, tmp_path: Path) -> None:
    """Such an SD imported for a new arm whose row has no ci_lower and ci_upper (only the record holds the CI):
    `extract convert` would have nothing to convert, so the warning says to enter the CI first."""
    row = {**old_row(review, tmp_path), "arm": "Bari 3 mg", "intervention": "baricitinib", "ci_lower": "",
           "ci_upper": ""}
    import_table(review, write_csv(tmp_path / "old.csv", row), actor="carol")
    warnings = {w.split("'")[1]: w for w in sd_warnings(dlqi(review))}
    assert "converted from a CI read as 95% (no level recorded)" in warnings["Bari 3 mg"]
    assert "(a 90% CI: enter the CI as its ci_lower and ci_upper, then `reviewkit extract convert" in warnings[
        "Bari 3 mg"]
    assert list(warnings) == ["Bari 3 mg"]  # Placebo's conversion, stored by carol's convert, records its level


def test_an_sd_converted_at_another_level_whose_record_lost_it_is_refused_saying_95_percent_was_read(
        review: Review, tmp_path: Path) -> None:
    """An SD converted from a 90% CI whose record lost its level is not what the record gives read as 95%:
    refused, the reason saying the record names no level and was read as 95%, so the importer sees that the
    fix is the record's level, not the SD."""
    row = old_row(review, tmp_path, level=0.9)
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, write_csv(tmp_path / "old.csv", row), actor="carol")
    message = str(refused.value)
    assert (f"line 2, sd: {float(row['sd']):g} is not what its converted_from record gives (sd "
            f"{sd_from_ci(-3.1, -0.9, 100, 0.95).sd!r} from lower -3.1, ") in message
    assert ("upper -0.9; it names no level, so its CI was read as 95%): add the report's (\"level\": 0.9 for a "
            "90% CI) to its inputs, put that back, or") in message


def test_a_ci_converted_without_a_level_is_warned_of_and_a_named_level_is_not(review: Review) -> None:
    """`extract convert --method ci` without --level assumes 95%: the record keeps no level, and the analysis
    says the CI was read as 95%; converting again with --level 0.95 names it, and the warning goes."""
    sid = consensus_study(review)
    (view,) = [v for v in convert(review, "carol", sid, arm="Placebo", outcome="dlqi_change", method="ci",
                                  consensus=True) if v.field == "sd"]
    assert "level" not in view.converted_from["inputs"]
    (warning,) = sd_warnings(dlqi(review))
    assert "converted from a CI read as 95% (no level recorded)" in warning
    convert(review, "carol", sid, arm="Placebo", outcome="dlqi_change", method="ci", level=0.95, consensus=True)
    assert sd_warnings(dlqi(review)) == []


@pytest.mark.parametrize("label", ["Bari(4mg)", "Bari;4mg", "Bari 4 mg (Lilly's)", "Placebo"])
def test_the_named_command_keeps_an_arm_label_one_shell_word(label: str) -> None:
    """A label with brackets, a semicolon or a quote pastes into a shell as one word (quoting only labels with
    spaces broke the command, or ran a second one)."""
    words = shlex.split(convert_command(7, label, "dlqi_change", "week 16", "--method", "ci").strip("`"))
    assert words[words.index("--arm") + 1] == label and words[words.index("--timepoint") + 1] == "week 16"

"""Tests that an analysis says when it pooled an SD derived on the fly from a CI whose level nobody recorded
(it assumes 95%), names the command that records the report's level, and pools that level once recorded;
an SD derived from SE or quantiles, or one of an arm the analysis leaves out, draws no such warning."""

from __future__ import annotations

import json
import shlex

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.conversions import sd_from_ci
from reviewkit.services import extract
from reviewkit.services.analyze import AnalysisOutput, analyze_review
from reviewkit.services.extract_consensus import record_consensus
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review
from tests.extraction_required import fill_required

#: The consensus statistics of each arm: Placebo's SD comes from its CI, Bari 4 mg's from its SE, Bari 2 mg's
#: from quantiles; Bari 1 mg has a CI but no mean, so the analysis leaves it out.
ARMS = {
    "Placebo": ("placebo", {"mean": "-2", "ci_lower": "-3.1", "ci_upper": "-0.9", "n": "100"}),
    "Bari 4 mg": ("baricitinib", {"mean": "-6", "se": "0.5", "n": "100"}),
    "Bari 2 mg": ("baricitinib", {"median": "-5", "q1": "-8", "q3": "-2", "n": "100"}),
    "Bari 1 mg": ("baricitinib", {"ci_lower": "-5", "ci_upper": "-1", "n": "100"}),
}


def consensus_study(review: Review) -> int:
    """alice and bob extract ARMS alike and finish; carol records their consensus."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    for who in ("alice", "bob"):
        fill_required(review, who, sid)
        for arm, (intervention, stats) in ARMS.items():
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
        "--timepoint 'week 16' --method ci --level 0.9`; --level 0.95 confirms 95%)"]
    assert "BREEZE-AD1: arm(s) Bari 1 mg have no dlqi_change data" in out.warnings
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

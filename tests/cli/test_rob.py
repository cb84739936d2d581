"""Tests for the `reviewkit rob judge` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli

ALL_LOW = ("1.1=Y,1.2=PY,1.3=N,2.1=N,2.2=N,2.6=Y,3.1=Y,4.1=N,4.2=N,4.3=N,"
           "5.1=Y,5.2=N,5.3=N")


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI and return exit code, stdout and stderr."""
    result = CliRunner().invoke(cli, ["rob", "judge", *args])
    return result.exit_code, result.stdout, result.stderr


def test_all_five_domains_print_domains_and_overall() -> None:
    """With every domain answered, each proposal and the overall are printed as JSON."""
    code, out, _ = run("--tool", "rob2", "--answers", ALL_LOW.replace("5.1=Y", "5.1=PN"))
    assert code == 0
    assert json.loads(out) == {"D1": "low", "D2": "low", "D3": "low", "D4": "low",
                               "D5": "some concerns", "overall": "some concerns"}


def test_only_answered_domains_are_printed() -> None:
    """Answering only domain 1 prints D1 and no overall."""
    code, out, _ = run("--answers", "1.1=Y,1.2=N,1.3=N")
    assert code == 0
    assert json.loads(out) == {"D1": "high"}


def test_incomplete_domain_is_null_with_a_note() -> None:
    """A domain missing a needed answer prints null, and stderr names the unanswered question."""
    code, out, err = run("--answers", "3.1=N")
    assert code == 0
    assert json.loads(out) == {"D3": None}
    assert "3.2" in err


def test_adherence_variant() -> None:
    """--variant adherence uses domain 2's per-protocol questions (no 2.7)."""
    code, out, _ = run("--variant", "adherence", "--answers", "2.1=Y,2.2=Y,2.3=N,2.4=N,2.5=N,2.6=N")
    assert code == 0 and json.loads(out) == {"D2": "high"}
    code, _, err = run("--variant", "adherence", "--answers", "2.6=N,2.7=Y")
    assert code == 2 and "Invalid value for '--answers'" in err and "2.7" in err


def test_unknown_ids_and_answers_are_named_on_one_line() -> None:
    """Unknown question ids and answers are a bad --answers value, as any bad option value: click's usage and one
    error line naming them all, exit 2."""
    code, out, err = run("--answers", "1.1=Y,1.9=Y,3.1=N,3.2=NI,1.2=maybe,7.1=Y")
    assert code == 2 and out == ""
    (line,) = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert line.startswith("Error: Invalid value for '--answers': ")
    for name in ("1.9", "3.2=NI", "1.2=maybe", "7.1"):
        assert name in line
    code, _, err = run("--answers", "7.1=Y")
    assert code == 2 and "7.1" in err


def test_escalation_choice() -> None:
    """Two Some concerns: the default overall is some concerns; --escalate yes with a reason gives high."""
    answers = ALL_LOW.replace("1.3=N", "1.3=Y").replace("5.1=Y", "5.1=N")
    code, out, err = run("--answers", answers)
    assert json.loads(out)["overall"] == "some concerns" and "escalate" in err
    code, out, _ = run("--answers", answers, "--escalate", "yes", "--reason", "both weak")
    assert code == 0 and json.loads(out)["overall"] == "high"
    code, _, err = run("--answers", answers, "--escalate", "yes")
    assert code == 1 and "reason" in err


def test_rob1_judge() -> None:
    """--tool rob1 takes D1=low,… and prints the summary when all seven are judged."""
    code, out, _ = run("--tool", "rob1", "--answers",
                       "D1=low,D2=Low,D3=high,D4=low,D5=unclear,D6=low,D7=low")
    assert code == 0
    assert json.loads(out)["overall"] == "high" and json.loads(out)["D2"] == "low"
    code, _, err = run("--tool", "rob1", "--answers", "D1=great")
    assert code == 2 and "Invalid value for '--answers'" in err and "D1=great" in err


@pytest.mark.parametrize(("answers", "said"), [
    ("1.1Y", "'1.1Y' is not ID=ANSWER; give ID=ANSWER pairs separated by commas, e.g. 1.1=Y,1.2=PY (RoB 2) "
             "or D1=low,D2=unclear (RoB 1)"),
    ("garbage,=N", "'garbage', '=N' are not ID=ANSWER; give ID=ANSWER pairs separated by commas, e.g. "
                   "1.1=Y,1.2=PY (RoB 2) or D1=low,D2=unclear (RoB 1)"),
    ("1.1=Y,1.1=N", "1.1 is given twice; give each ID once"),
    (" , ", "no answers; give ID=ANSWER pairs separated by commas, e.g. 1.1=Y,1.2=PY (RoB 2) or D1=low,D2=unclear "
            "(RoB 1)"),
])
def test_malformed_answers_are_a_usage_error(answers: str, said: str) -> None:
    """A value not of the form ID=ANSWER,... is a command typed wrong, as `--tool rob3` is: click's usage block,
    exit 2, and one line naming --answers, what is wrong and the form expected (it was `error:` and exit 1)."""
    code, out, err = run("--answers", answers)
    assert code == 2 and out == ""
    assert err.startswith("Usage: ") and "rob judge [OPTIONS]" in err.splitlines()[0]
    assert err.strip().splitlines()[-1] == f"Error: Invalid value for '--answers': {said}"


def test_consensus_takes_answers_in_the_same_form(tmp_path: Path) -> None:
    """`rob consensus --answers` is read as judge's is: a malformed value is a usage error before any review is
    opened (none is here), exit 2; no --answers at all is no answers (overrides alone), not an error."""
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "rob", "consensus", "S", "--answers", "1.2"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("Error: Invalid value for '--answers': '1.2' is not "
                                                             "ID=ANSWER; give ID=ANSWER pairs")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "rob", "consensus", "S"])
    assert result.exit_code == 1 and result.stderr.startswith("error: no review here: ")

"""Tests for the `reviewkit rob judge` command."""

from __future__ import annotations

import json

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
    assert code == 1 and "2.7" in err


def test_unknown_ids_and_answers_are_named_on_one_line() -> None:
    """Unknown question ids and answers give one error line naming them, exit 1."""
    code, out, err = run("--answers", "1.1=Y,1.9=Y,3.1=N,3.2=NI,1.2=maybe,7.1=Y")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    for name in ("1.9", "3.2=NI", "1.2=maybe", "7.1"):
        assert name in err
    code, _, err = run("--answers", "7.1=Y")
    assert code == 1 and "7.1" in err


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
    assert code == 1 and "D1=great" in err


def test_malformed_answers() -> None:
    """An item without '=' is reported."""
    code, _, err = run("--answers", "1.1Y")
    assert code == 1 and "1.1Y" in err

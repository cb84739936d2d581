"""`reviewkit rob consensus` run again on a recorded consensus: it revises it and says what changed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_rob_io import ALL_LOW, rob
from tests.cli.test_rob_judgements import folder, started

__all__ = ["folder"]

CONSENSUS = ("consensus", "BREEZE-AD1", "--outcome", "IGA")


def both_finished(folder: Path) -> None:
    """alice answers 1.2 PY (D1 Low), bob N (D1 High); both finished."""
    for who, q12 in (("alice", "PY"), ("bob", "N")):
        aid = started(folder, who, {**ALL_LOW, "1.2": q12})
        assert rob(folder, "finish", str(aid), reviewer=who).exit_code == 0


def test_recording_again_revises_and_says_what_changed(folder: Path) -> None:
    """The first call records; a second with only --override keeps the settled 1.2 and lists the change;
    one changing 1.2 lists it with the judgements it moved; one with nothing new says nothing changed.
    The summary follows the last."""
    both_finished(folder)
    first = rob(folder, *CONSENSUS, "--answers", "1.2=PY", reviewer="carol")
    assert first.exit_code == 0, first.output
    assert "Recorded the consensus." in first.stdout and "Revised" not in first.stdout
    override = rob(folder, *CONSENSUS, "--override", "D5=some concerns:plan registered late", reviewer="carol")
    assert override.exit_code == 0, override.output
    assert "  1.2  PY" in override.stdout  # the earlier consensus's answer stands
    assert "Revised the consensus (2 changes" in override.stdout
    assert "  - D5 (judgement): low → some concerns (plan registered late)" in override.stdout
    changed = rob(folder, *CONSENSUS, "--answers", "1.2=N", reviewer="carol")
    assert changed.exit_code == 0, changed.output
    lines = changed.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Revised the consensus"))
    assert lines[start + 1:] == ["  - 1.2: PY → N", "  - D1 (judgement): low → high",
                                 "  - overall (judgement): some concerns → high"]
    same = rob(folder, *CONSENSUS, "--answers", "1.2=N", reviewer="carol")
    assert "Nothing changed: the consensus stands as recorded before." in same.stdout
    (row,) = json.loads(rob(folder, "summary", "--json").stdout)
    assert row["judgements"]["D1"] == "high" and row["judgements"]["D5"] == "some_concerns"


def test_a_shared_answer_is_refused_and_accept_takes_back_an_override(folder: Path) -> None:
    """--answers 1.1=N contradicts the Y both assessors gave: exit 1 naming it and the override to use;
    `--override D5=accept:` takes back the consensus's own D5 override."""
    both_finished(folder)
    assert rob(folder, *CONSENSUS, "--answers", "1.2=PY", "--override", "D5=high:late plan",
               reviewer="carol").exit_code == 0
    refused = rob(folder, *CONSENSUS, "--answers", "1.1=N", reviewer="carol")
    assert refused.exit_code == 1
    assert "1.1: the assessors both answered Y, not N" in refused.stderr, refused.stderr
    assert "--override 'D1=JUDGEMENT:justification'" in refused.stderr
    taken_back = rob(folder, *CONSENSUS, "--override", "D5=accept:", reviewer="carol")
    assert taken_back.exit_code == 0, taken_back.output
    assert "  - D5 (judgement): high (late plan) → low" in taken_back.stdout

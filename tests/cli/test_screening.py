"""Tests for `reviewkit decisions export|import` and `reviewkit audit` as a non-lead would use them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services import screen, screen_cards
from reviewkit.services.project import Review
from tests.factories import add_records

HEADER = "record,reviewer,stage,decision,reason,note,time\n"


def _run(review: Review, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(review.folder), *args])


def _blind_setup(review: Review) -> tuple[int, int]:
    """alice decided both records; bob only the second: he is blind to her decision on the first."""
    a, b = add_records(review, 2)
    screen.record_decision(review, "alice", a, "ta", "exclude", note="alice's secret")
    screen.record_decision(review, "alice", b, "ta", "include")
    screen.record_decision(review, "bob", b, "ta", "include")
    return a, b


@pytest.mark.parametrize("command", [("decisions", "export"), ("export", "decisions")])
def test_decisions_export_keeps_bob_blind(review: Review, tmp_path: Path, command: tuple[str, str]) -> None:
    """`--reviewer bob decisions export` (and `export decisions`) leave out alice's decision on a record
    bob has not decided; alice, the lead, gets it."""
    a, b = _blind_setup(review)
    out = tmp_path / "bob.csv"
    result = _run(review, "--reviewer", "bob", *command, str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {(int(r["record"]), r["reviewer"]) for r in rows} == {(b, "alice"), (b, "bob")}
    assert "alice's secret" not in out.read_text()
    result = _run(review, "--reviewer", "alice", *command, str(out))
    assert result.exit_code == 0 and "alice's secret" in out.read_text()


def test_decisions_export_without_a_reviewer_is_refused(review: Review, tmp_path: Path) -> None:
    """No --reviewer and none in the user config: the usual error, and no file."""
    _blind_setup(review)
    out = tmp_path / "d.csv"
    result = _run(review, "decisions", "export", str(out))
    assert result.exit_code == 1 and "no reviewer given" in result.output
    assert not out.exists()


def test_decisions_import_refuses_bobs_row_for_alice(review: Review, tmp_path: Path) -> None:
    """`--reviewer bob decisions import` with a row naming alice fails on that line; nothing is stored."""
    a, b = add_records(review, 2)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},bob,ta,include,,,\n{b},alice,ta,exclude,,,\n")
    result = _run(review, "--reviewer", "bob", "decisions", "import", str(f))
    assert result.exit_code == 1 and "line 3" in result.output and "only their own" in result.output
    assert screen_cards.record_card(review, "bob", a, "ta").own is None
    result = _run(review, "--reviewer", "alice", "decisions", "import", str(f))
    assert result.exit_code == 0 and "2 decisions imported" in result.output


def test_audit_is_for_leads(review: Review) -> None:
    """Audit events carry decision values, so only a lead reads the trail; bob and carol are refused."""
    a, _ = _blind_setup(review)
    for who in ("bob", "carol"):
        result = _run(review, "--reviewer", who, "audit")
        assert result.exit_code == 1 and "is not a lead" in result.output and "decision=" not in result.output
    result = _run(review, "audit")
    assert result.exit_code == 1 and "no reviewer given" in result.output
    result = _run(review, "--reviewer", "alice", "audit", "--record", str(a))
    assert result.exit_code == 0 and "decision=exclude" in result.output


def test_audit_limit_must_be_positive_and_keeps_the_last_events(review: Review) -> None:
    """--limit N shows the last N events; 0 or a negative is refused (it printed everything)."""
    _blind_setup(review)
    for bad in ("0", "-1"):
        result = _run(review, "--reviewer", "alice", "audit", "--limit", bad)
        assert result.exit_code == 2 and "--limit" in result.output
    everything = _run(review, "--reviewer", "alice", "audit").output.strip().splitlines()
    last = _run(review, "--reviewer", "alice", "audit", "--limit", "2").output.strip().splitlines()
    assert len(everything) > 2 and last == everything[-2:]


def test_decisions_export_creates_its_folder(review: Review, tmp_path: Path) -> None:
    """decisions export into a folder that does not exist yet makes the folder (as every export does)."""
    _blind_setup(review)
    out = tmp_path / "new" / "d.csv"
    result = _run(review, "--reviewer", "alice", "decisions", "export", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("record,reviewer,stage,decision")


@pytest.mark.parametrize("command", [("decisions", "export"), ("export", "decisions")])
def test_an_export_imported_again_says_its_rows_were_already_present(
    review: Review, tmp_path: Path, command: tuple[str, str]
) -> None:
    """`decisions import` of a plain or --history export of the same review stores nothing and says
    how many rows were already there; a new row in the file is imported beside them."""
    a, b = _blind_setup(review)
    screen.record_decision(review, "alice", b, "ta", "exclude")  # a change of mind: two rows in the history
    for extra, rows in (((), 3), (("--history",), 4)):
        out = tmp_path / "d.csv"
        result = _run(review, "--reviewer", "alice", *command, str(out), *extra)
        assert result.exit_code == 0 and f"{rows} decisions written" in result.output, result.output
        result = _run(review, "--reviewer", "alice", "decisions", "import", str(out))
        assert result.exit_code == 0, result.output
        assert f"0 decisions imported from {out} ({rows} already present, not stored again)" in result.output
    with out.open("a", encoding="utf-8") as fh:
        fh.write(f"{a},bob,ta,include,,,,screener,,,\n")  # pmid, doi and title may be left empty
    result = _run(review, "--reviewer", "alice", "decisions", "import", str(out))
    assert result.exit_code == 0 and "1 decision imported" in result.output and "(4 already present" in result.output
    assert screen_cards.record_card(review, "bob", a, "ta").own.decision == "include"  # type: ignore[union-attr]


NAGTEGAAL = Path(__file__).resolve().parents[1].parent / "fixtures" / "screening" / "nagtegaal_2019_subset.csv"


def test_the_reported_round_trip_and_the_ids_option(review: Review, tmp_path: Path) -> None:
    """The report: rows naming the source file's id 122 land on record 9; their export (record 9, also
    the source id of record 2) failed to import back as ambiguous. The export's own columns now read
    as reviewkit ids; a plain file with the same value lists its lines and names --ids, which settles it."""
    assert _run(review, "import", str(NAGTEGAAL)).exit_code == 0
    f, out = tmp_path / "in.csv", tmp_path / "out.csv"
    f.write_text("record,reviewer,stage,decision\n122,alice,ta,include\n122,bob,ta,include\n")
    assert "2 decisions imported" in _run(review, "--reviewer", "alice", "decisions", "import", str(f)).output
    assert _run(review, "--reviewer", "alice", "decisions", "export", str(out)).exit_code == 0
    assert {r["record"] for r in csv.DictReader(out.open(encoding="utf-8"))} == {"9"}
    result = _run(review, "--reviewer", "alice", "decisions", "import", str(out))
    assert result.exit_code == 0 and "0 decisions imported from" in result.output
    assert "(2 already present, not stored again)" in result.output

    f.write_text("record,reviewer,stage,decision\n9,alice,ta,include\n9,bob,ta,include\n")
    result = _run(review, "--reviewer", "alice", "decisions", "import", str(f))
    assert result.exit_code == 1
    assert "line 2: 2 rows name their record ambiguously: '9' on line 2 names records [2, 9]; '9' on line 3" in result.output
    assert "pass --ids reviewkit; for the source file's own ids pass --ids source" in result.output
    assert screen_cards.record_card(review, "bob", 2, "ta").own is None
    result = _run(review, "--reviewer", "alice", "decisions", "import", "--ids", "reviewkit", str(f))
    # on record 9, which has these decisions already: rows without a time that say what they say add nothing
    assert result.exit_code == 0 and "0 decisions imported" in result.output and "2 already present" in result.output
    assert screen_cards.record_card(review, "bob", 2, "ta").own is None
    result = _run(review, "--reviewer", "alice", "decisions", "import", "--ids", "source", str(f))
    assert result.exit_code == 0 and "2 decisions imported" in result.output
    assert screen_cards.record_card(review, "bob", 2, "ta").own is not None
    help_text = _run(review, "decisions", "import", "--help").output
    assert "--ids [auto|reviewkit|source]" in help_text


def test_audit_says_who_imported_whose_decision(review: Review, tmp_path: Path) -> None:
    """alice (lead) imports bob's row: the trail said "bob decide"; now alice, with bob's name and the file."""
    (a,) = add_records(review, 1)
    f = tmp_path / "in.csv"
    f.write_text(HEADER + f"{a},bob,ta,include,,,\n{a},alice,ta,include,,,\n")
    assert _run(review, "--reviewer", "alice", "decisions", "import", str(f)).exit_code == 0
    lines = _run(review, "--reviewer", "alice", "audit", "--record", str(a)).output.strip().splitlines()
    assert [line[24:] for line in lines] == [
        f"alice      decide     decision record {a}: - -> {{stage=ta, decision=include}} "
        "(bob's decision, imported from in.csv)",
        f"alice      decide     decision record {a}: - -> {{stage=ta, decision=include}} (imported from in.csv)",
    ]


def test_conflicts_lists_both_stages_unless_one_is_asked_for(review: Review) -> None:
    """`conflicts` said "No conflicts." while full-text conflicts waited: it listed title/abstract only."""
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, "ta", "include")
    screen.record_decision(review, "alice", rid, "ft", "include")
    screen.record_decision(review, "bob", rid, "ft", "exclude", reason=review.protocol.screening.exclusion_reasons[0])
    both = _run(review, "--reviewer", "carol", "conflicts")
    assert both.exit_code == 0 and f"[{rid}] " in both.output and "(full text)" in both.output
    only_ta = _run(review, "--reviewer", "carol", "conflicts", "--stage", "ta")
    assert only_ta.output.strip() == "No conflicts at title/abstract."


def test_full_text_status_from_the_command_line(review: Review) -> None:
    """Every step is a command: the full-text status had no CLI (only the screening screen's keys)."""
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, "ta", "include")
    done = _run(review, "--reviewer", "alice", "full-text", str(rid), "not_retrieved", "--note", "no library access")
    assert done.exit_code == 0 and f"record {rid}: full text not retrieved" in done.output
    from reviewkit.services.report import prisma_counts

    assert prisma_counts(review).counts.reports_not_retrieved == 1
    nobody = _run(review, "full-text", str(rid), "sought")
    assert nobody.exit_code == 1 and "reviewer" in nobody.output
    bad = _run(review, "--reviewer", "alice", "full-text", str(rid), "lost")
    assert bad.exit_code == 2

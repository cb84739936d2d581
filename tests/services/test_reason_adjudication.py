"""Tests for settling which exclusion reason PRISMA counts when the screeners excluded a report at
full text for different reasons: by the adjudicator, on the screen, by `adjudicate` and by an import.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.services import screen
from reviewkit.services.conflicts import reason_disagreements, resolve_conflict
from reviewkit.services.decisions_export import export_decisions
from reviewkit.services.decisions_import import DecisionsImport, import_decisions
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from tests.factories import add_records

ANIMAL, DESIGN = "Animal study", "Non-randomised design"  # first and second in the example protocol's list


def _excluded(review: Review, alice: str, bob: str) -> int:
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, "ta", "include")
    screen.record_decision(review, "alice", rid, "ft", "exclude", reason=alice)
    screen.record_decision(review, "bob", rid, "ft", "exclude", reason=bob)
    return rid


def test_the_adjudicator_chooses_the_reason_prisma_counts(review: Review) -> None:
    rid = _excluded(review, DESIGN, ANIMAL)
    assert prisma_counts(review).counts.reports_excluded == {ANIMAL: 1}  # earliest in the protocol's list
    with pytest.raises(ReviewkitError, match=f"record {rid} was excluded at full text by every screener; "
                                             "an adjudication there only chooses the reason"):
        resolve_conflict(review, "carol", rid, "ft", "include")
    state = resolve_conflict(review, "carol", rid, "ft", "exclude", reason=DESIGN, note="not randomised")
    assert (state.outcome, state.adjudicated) == ("excluded", True)
    assert prisma_counts(review).counts.reports_excluded == {DESIGN: 1}
    assert reason_disagreements(review, "carol") == []  # settled: no longer listed
    # The adjudicator may change their mind on the reason, never make the report included.
    resolve_conflict(review, "carol", rid, "ft", "exclude", reason=ANIMAL)
    assert prisma_counts(review).counts.reports_excluded == {ANIMAL: 1}
    with pytest.raises(ReviewkitError, match="only chooses the reason"):
        resolve_conflict(review, "carol", rid, "ft", "include")


def test_agreed_exclusions_with_one_reason_take_no_adjudication(review: Review) -> None:
    rid = _excluded(review, DESIGN, DESIGN)
    with pytest.raises(ReviewkitError, match=f"record {rid} is not in conflict at full text: there is nothing"):
        resolve_conflict(review, "carol", rid, "ft", "exclude", reason=ANIMAL)
    with pytest.raises(ReviewkitError, match="was excluded at full text by every screener"):
        resolve_conflict(review, "carol", rid, "ft", "include")
    with pytest.raises(ReviewkitError, match="^no record 999999$"):
        resolve_conflict(review, "carol", 999999, "ft", "exclude", reason=ANIMAL)


def test_an_import_cannot_end_a_settled_dispute_and_include_the_report(review: Review, tmp_path: Path) -> None:
    """A screener row repeating "exclude" with the other reason (after the adjudication) made the reasons
    agree, so the dispute was no longer one and a re-adjudication "include" was accepted: a report every
    screener excluded ended up included. The screen refuses that change; the import now does too, and an
    adjudication never includes a report its screeners excluded."""
    (rid,) = add_records(review, 1)
    rows = [f"{rid},alice,ta,include,,,", f"{rid},bob,ta,include,,,", f"{rid},alice,ft,exclude,{DESIGN},,",
            f"{rid},bob,ft,exclude,{ANIMAL},,", f"{rid},carol,ft,exclude,{DESIGN},,",
            f"{rid},bob,ft,exclude,{DESIGN},,", f"{rid},carol,ft,include,,,"]
    f = tmp_path / "d.csv"
    f.write_text("record,reviewer,stage,decision,reason,note,time\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ParseError) as err:
        import_decisions(review, f, actor="alice")
    text = str(err.value)
    assert f"line 7: record {rid} has been adjudicated at full text; bob's decision on it is final" in text
    assert f"line 8: record {rid} was excluded at full text by every screener" in text
    assert prisma_counts(review).counts.reports_included == 0
    # The same file without the two bad rows is stored; importing it again adds nothing.
    f.write_text("record,reviewer,stage,decision,reason,note,time\n" + "\n".join(rows[:5]) + "\n", encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 5
    assert import_decisions(review, f, actor="alice").stored == 0


def test_adjudicate_command_settles_conflicts_and_reasons(review: Review) -> None:
    rid = _excluded(review, DESIGN, ANIMAL)
    (conflict,) = add_records(review, 1)
    screen.record_decision(review, "alice", conflict, "ta", "include")
    screen.record_decision(review, "bob", conflict, "ta", "exclude")

    def run(*args: str, who: str = "carol") -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", who, "adjudicate", *args])
        return result.exit_code, result.output

    assert run(str(conflict), "include", "--stage", "ta") == (0, f"record {conflict}: included at title/abstract\n")
    code, out = run(str(rid), "exclude", "--stage", "ft", "--reason", "Wrong reason")
    assert code == 1 and "a full-text exclusion needs one of the protocol's reasons" in out
    code, out = run(str(rid), "exclude", "--stage", "ft", "--reason", DESIGN, who="alice")
    assert code == 1 and "alice" in out and "adjudicator" in out
    assert run(str(rid), "exclude", "--stage", "ft", "--reason", DESIGN) == (
        0, f"record {rid}: excluded at full text ({DESIGN})\n")
    listed = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "conflicts", "--json"])
    assert json.loads(listed.output) == []


def test_a_mistyped_reason_is_named_with_the_close_one(review: Review, tmp_path: Path) -> None:
    """`adjudicate 6 exclude --stage ft --reason "Revew"` listed the protocol's reasons but never said that
    'Revew' is not one of them, nor that 'Review' is close; the screen and the import say so too. A reason
    close to none is named as not one of them, without a guess; nothing is stored."""
    rid = _excluded(review, DESIGN, ANIMAL)
    with pytest.raises(ReviewkitError, match="a full-text exclusion needs one of the protocol's reasons: 'Revew' "
                                             "is not one of them; did you mean 'Review'\\?") as refused:
        resolve_conflict(review, "carol", rid, "ft", "exclude", reason="Revew")
    assert refused.value.hint is not None and "Review" in refused.value.hint
    with pytest.raises(ReviewkitError, match="'xyzzy' is not one of them \\("):
        resolve_conflict(review, "carol", rid, "ft", "exclude", reason="xyzzy")
    with pytest.raises(ReviewkitError, match="needs one of the protocol's reasons \\("):  # none given
        resolve_conflict(review, "carol", rid, "ft", "exclude")
    assert reason_disagreements(review, "carol") != []  # still open
    (other,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, other, "ta", "include")
    with pytest.raises(ReviewkitError, match="'animal Study' is not one of the protocol's exclusion reasons; "
                                             "did you mean 'Animal study'\\?"):
        screen.record_decision(review, "alice", other, "ft", "exclude", reason="animal Study")
    f = tmp_path / "d.csv"
    f.write_text(f"record,reviewer,stage,decision,reason\n{other},alice,ft,exclude,Revew\n", encoding="utf-8")
    with pytest.raises(ParseError, match="line 2: unknown exclusion reason 'Revew'; did you mean 'Review'\\? "
                                         "\\(the protocol's: "):
        import_decisions(review, f, actor="alice")


def test_an_adjudicated_reason_travels_through_export_and_import(review: Review, empty_copy: Review, tmp_path: Path) -> None:
    """The export holds the adjudication row of a reason dispute; importing it elsewhere must not be
    refused as "not in conflict", and must land the same counted reason."""
    rid = _excluded(review, DESIGN, ANIMAL)
    resolve_conflict(review, "carol", rid, "ft", "exclude", reason=DESIGN)
    assert add_records(empty_copy, 1) == [rid]
    out = tmp_path / "history.csv"
    n = export_decisions(review, out, history=True, actor="alice")
    assert import_decisions(empty_copy, out, actor="alice") == DecisionsImport(stored=n, present=0)
    assert prisma_counts(empty_copy).counts.reports_excluded == {DESIGN: 1}

    # An import may not turn such an adjudication into an inclusion either.
    (again,) = add_records(empty_copy, 1)
    bad = tmp_path / "include.csv"
    rows = [f"{again},alice,ta,include,,,", f"{again},bob,ta,include,,,", f"{again},alice,ft,exclude,{DESIGN},,",
            f"{again},bob,ft,exclude,{ANIMAL},,", f"{again},carol,ft,include,,,"]
    bad.write_text("record,reviewer,stage,decision,reason,note,time\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ParseError, match=f"line 6: record {again} was excluded at full text by every screener"):
        import_decisions(empty_copy, bad, actor="alice")

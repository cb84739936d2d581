"""Tests for screening fixes: the stopping aid after a dedup merge, full-text status only at full text,
and full-text exclusions whose screeners gave different reasons."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services import dedup, screen, screen_full_text, screen_queue
from reviewkit.services.conflicts import list_conflicts, reason_disagreements
from reviewkit.services.prioritise import prioritised_queue
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from tests.factories import add_records

ANIMAL, DESIGN = "Animal study", "Non-randomised design"  # first and second in the example protocol's list


def _papers(n: int) -> list[Record]:
    return [Record(title=f"Baricitinib trial {i} in moderate atopic dermatitis, report {i}", abstract=f"Abstract {i}",
                   year=2020, pmid=str(2000 + i), source_id=str(2000 + i)) for i in range(n)]


# --- 1. the prioritised queue once decided records are removed duplicates --------------------------


def test_queue_loads_when_every_decided_record_has_a_merged_copy(review: Review) -> None:
    """The screen stayed on "Loading your queue…" ("9 decisions for 6 records"): the stopping aid was
    given the decisions on the copies dedup removed, more decisions than records in the stage."""
    papers = _papers(6)
    originals = add_records(review, papers)
    copies = add_records(review, papers[:3], source="Embase")
    for rid in originals + copies:
        screen.record_decision(review, "alice", rid, "ta", "include" if rid == originals[0] else "exclude")
    assert dedup.run_dedup(review).records_merged == 3
    stop = prioritised_queue(review, "alice", "ta").stopping
    assert (stop.n_total, stop.n_screened, stop.n_relevant_found) == (6, 6, 1)
    assert stop.since_last_relevant == 5  # the six unique papers, the first included


def test_stopping_aid_counts_a_merged_paper_once(review: Review) -> None:
    """Before the crash point the copies' exclusions lengthened the run of irrelevant records (6, not 3)."""
    papers = _papers(10)
    originals = add_records(review, papers)
    copies = add_records(review, papers[1:4], source="Embase")
    screen.record_decision(review, "alice", originals[0], "ta", "include")
    for rid in originals[1:4] + copies:
        screen.record_decision(review, "alice", rid, "ta", "exclude")
    before = prioritised_queue(review, "alice", "ta").stopping
    assert (before.n_total, before.n_screened, before.since_last_relevant) == (13, 7, 6)
    dedup.run_dedup(review)
    after = prioritised_queue(review, "alice", "ta")
    assert (after.stopping.n_total, after.stopping.n_screened, after.stopping.since_last_relevant) == (10, 4, 3)
    assert set(after.order) == set(originals[4:])  # the waiting records; no copy comes back


# --- 2. full-text status only for records at full text -------------------------------------------


def _screen_ta(review: Review, rid: int, alice: str, bob: str) -> None:
    screen.record_decision(review, "alice", rid, "ta", alice)
    screen.record_decision(review, "bob", rid, "ta", bob)


def test_full_text_status_is_refused_where_the_record_stands(review: Review) -> None:
    """It was stored and audited, and counted nowhere."""
    new, half, excluded, split, passed = add_records(review, 5)
    screen.record_decision(review, "alice", half, "ta", "include")
    _screen_ta(review, excluded, "exclude", "exclude")
    _screen_ta(review, split, "include", "exclude")
    _screen_ta(review, passed, "include", "maybe")
    expected = {
        new: f"record {new} has not been screened at title/abstract yet",
        half: f"record {half} is still being screened at title/abstract",
        excluded: f"record {excluded} was excluded at title/abstract",
        split: f"record {split} is in conflict at title/abstract, waiting for the adjudicator",
    }
    for rid, where in expected.items():
        with pytest.raises(ReviewkitError) as refused:
            screen_full_text.set_full_text(review, "alice", rid, "sought")
        assert refused.value.message == f"{where}; only records that passed title/abstract screening go to full text"
    screen_full_text.set_full_text(review, "alice", passed, "not_retrieved")
    assert prisma_counts(review).counts.reports_not_retrieved == 1


def test_full_text_refusal_keeps_blinding_and_names_a_duplicates_primary(review: Review) -> None:
    """carol (adjudicator, no screening) is not told that alice and bob excluded it; the lead is. A removed
    duplicate names the record that stands for it."""
    (excluded,) = add_records(review, 1)
    _screen_ta(review, excluded, "exclude", "exclude")
    with pytest.raises(ReviewkitError, match=f"^record {excluded} has not passed title/abstract screening;"):
        screen_full_text.set_full_text(review, "carol", excluded, "sought")
    with pytest.raises(ReviewkitError, match=f"^record {excluded} was excluded at title/abstract;"):
        screen_full_text.set_full_text(review, "alice", excluded, "sought")
    papers = _papers(1)
    (first,), (copy,) = add_records(review, papers), add_records(review, papers, source="Embase")
    dedup.run_dedup(review)
    with pytest.raises(ReviewkitError, match=f"record {copy} is a removed duplicate of record {first}"):
        screen_full_text.set_full_text(review, "alice", copy, "sought")


def test_full_text_command_says_where_the_record_stands(review: Review) -> None:
    (rid,) = add_records(review, 1)
    _screen_ta(review, rid, "exclude", "exclude")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "full-text", str(rid), "sought"])
    assert result.exit_code == 1
    assert f"record {rid} was excluded at title/abstract; only records that passed" in result.output


# --- 4. full-text exclusions for different reasons ---------------------------------------------------


def _excluded_at_full_text(review: Review, alice: str, bob: str) -> int:
    (rid,) = add_records(review, 1)
    _screen_ta(review, rid, "include", "include")
    screen.record_decision(review, "alice", rid, "ft", "exclude", reason=alice)
    screen.record_decision(review, "bob", rid, "ft", "exclude", reason=bob)
    return rid


def test_different_reasons_are_listed_apart_from_conflicts(review: Review) -> None:
    """PRISMA silently counted the reason earlier in the protocol's list; now the adjudicator sees it."""
    split = _excluded_at_full_text(review, DESIGN, ANIMAL)
    _excluded_at_full_text(review, DESIGN, DESIGN)  # one reason: nothing to list
    (found,) = reason_disagreements(review, "carol")
    assert (found.record_id, found.stage, found.kind, found.counted_reason) == (split, "ft", "reason", ANIMAL)
    assert {(d.reviewer, d.reason) for d in found.decisions} == {("alice", DESIGN), ("bob", ANIMAL)}
    assert list_conflicts(review, "carol", "ft") == []
    assert screen_queue.screening_progress(review, "alice", "ft").conflicts == 0
    assert prisma_counts(review).counts.reports_excluded == {ANIMAL: 1, DESIGN: 1}
    with pytest.raises(ReviewkitError, match="is not an adjudicator or lead"):
        reason_disagreements(review, "bob")


def test_conflicts_command_lists_reason_disagreements_as_their_own_kind(review: Review) -> None:
    split = _excluded_at_full_text(review, DESIGN, ANIMAL)
    (conflict,) = add_records(review, 1)
    _screen_ta(review, conflict, "include", "exclude")

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "conflicts", *args])
        assert result.exit_code == 0, result.output
        return result.output

    listed = json.loads(run("--json"))
    assert [(c["record"], c["stage"], c["kind"]) for c in listed] == [(conflict, "ta", "inclusion"), (split, "ft", "reason")]
    assert listed[1]["counted_reason"] == ANIMAL and "counted_reason" not in listed[0]
    text = run("--stage", "ft")
    assert text.startswith("No conflicts at full text.\nExcluded at full text for different reasons")
    assert f"[{split}] " in text and f"(PRISMA counts: {ANIMAL})" in text
    assert json.loads(run("--stage", "ta", "--json"))[0]["record"] == conflict  # title/abstract has none

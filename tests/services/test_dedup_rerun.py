"""Tests for dedup run again over a review that changed: new records, earlier verdicts, another run meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reviewkit.domain.records import Record
from reviewkit.services import dedup
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from reviewkit.store import dedup as store
from tests.dedup_copies import copies
from tests.factories import add_records, read_csv

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import RecordRow


def test_a_run_keeps_the_group_another_run_made_of_records_it_never_read(review: Review) -> None:
    """Another machine imports two copies and runs dedup while this run is matching: this run's write finds
    a group of records it did not read. It used to fail on them (KeyError); now it leaves the group as it is."""
    add_records(review, [Record(title="An unrelated trial of dupilumab in asthma", year=2019)])
    made: list[int] = []

    def progress(done: int, total: int | None) -> None:
        if not made:  # this run has read the records; the other one imports and merges meanwhile
            made.extend(add_records(review, copies()[:2]))
            dedup.run_dedup(review)

    summary = dedup.run_dedup(review, progress=progress)
    assert (summary.groups_created, summary.records_merged) == (0, 0)
    group = dedup.group_of(review, made[0])
    assert group is not None and dedup.group_of(review, made[1]) == group


def test_an_undone_merge_is_not_made_again_through_a_third_copy(review: Review) -> None:
    """A human undid the merge of two records; a third copy of both arrives. It joins one of them, and its
    pair with the other waits for a human: the two the human split are not merged again behind their back."""
    first, second, third = copies()
    a, b = add_records(review, [first, second])
    dedup.run_dedup(review)
    undo_merge(review, "alice", dedup.group_of(review, a))  # type: ignore[arg-type]
    (x,) = add_records(review, [third])
    summary = dedup.run_dedup(review)
    ga, gb, gx = (dedup.group_of(review, r) for r in (a, b, x))
    assert gx is not None and gx in (ga, gb) and ga != gb
    apart = a if gx == gb else b
    waiting = [{p.a_id, p.b_id} for p in dedup.pending_pairs(review)]
    assert waiting == [{apart, x}] and summary.pairs_waiting == 1
    dedup.run_dedup(review)  # and again: nothing changes
    assert (dedup.group_of(review, a), dedup.group_of(review, b)) == (ga, gb)

    # A human may still confirm the waiting pair (a deliberate verdict stands), and is told whom it joins.
    (pair,) = dedup.pending_pairs(review)
    done = dedup.decide_pair(review, "alice", pair.id, True)
    assert done.kept_apart == ((min(a, b), max(a, b)),)
    assert done.notes()[0] == (f"group {done.group_id} now joins records {min(a, b)} and {max(a, b)}, which a "
                               "reviewer had kept apart (a rejected pair or an undone merge); if that was right, "
                               f"reviewkit dedup undo {done.group_id} splits it again")
    assert dedup.group_of(review, a) == dedup.group_of(review, b) == done.group_id


def test_a_rerun_counts_only_what_it_changed(review: Review) -> None:
    """A third copy joining a group of two is one record merged and no new group (it said 1 group, 2 merged)."""
    first, second, third = copies()
    add_records(review, [first, second])
    assert (dedup.run_dedup(review).groups_created, review_status(review).duplicates_removed) == (1, 1)
    add_records(review, [third])
    summary = dedup.run_dedup(review)
    assert (summary.groups_created, summary.records_merged) == (0, 1)
    assert review_status(review).duplicates_removed == 2


def test_an_export_during_a_merge_writes_no_group_without_its_primary(review: Review, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies imported and merged while the export reads: each group it writes has its primary row (on
    PostgreSQL it read the records, then groups made since, whose primary it had not read)."""
    first, second, third = copies()
    add_records(review, [second])
    read = store.records_with_ids

    def while_merging(session: Session) -> list[RecordRow]:
        rows = read(session)
        if not getattr(while_merging, "done", False):
            while_merging.done = True  # type: ignore[attr-defined]
            add_records(review, [first, third])  # the fullest copy: the group's primary
            dedup.run_dedup(review)
        return rows

    monkeypatch.setattr(store, "records_with_ids", while_merging)
    dedup.export_dedup(review, tmp_path / "d.csv")
    rows = read_csv(tmp_path / "d.csv")
    for group in {r["group"] for r in rows if r["group"]}:
        assert [r["primary"] for r in rows if r["group"] == group].count("yes") == 1

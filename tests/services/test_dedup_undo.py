"""Tests that undoing a merge takes back only that merge: the groups it took in when it was made stand again."""

from __future__ import annotations

from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.services import dedup
from reviewkit.services.audit import audit_trail
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from tests.factories import PAIR_TITLE, add_records

DOI = "10.1016/j.jaad.2020.01.001"


def auto_pair_and_a_third(review: Review) -> tuple[list[int], int]:
    """Records a and b merged automatically (one DOI), c a title-only copy waiting as a pair with a: the ids
    and that pair's id."""
    a, b, c = add_records(review, [Record(title=PAIR_TITLE, doi=DOI, year=2020), Record(title=PAIR_TITLE, doi=DOI,
                                   year=2020), Record(title=PAIR_TITLE)])
    summary = dedup.run_dedup(review)
    assert summary.records_merged == 1 and dedup.group_of(review, a) == dedup.group_of(review, b) is not None
    (pair,) = [p for p in dedup.pending_pairs(review) if c in (p.a_id, p.b_id)][:1]
    return [a, b, c], pair.id


def test_undoing_a_confirmed_merge_brings_back_the_automatic_one_it_took_in(review: Review) -> None:
    """A human confirms c as a duplicate of a (one group of a, b, c), then undoes it: a and b stay merged, as
    the automatic run merged them (a new group, audited as restored from the old one), c counts apart; a new
    run merges nothing and keeps c apart; PRISMA's duplicates removed go 2 → 1, not 0."""
    (a, b, c), pair = auto_pair_and_a_third(review)
    first = dedup.group_of(review, a)
    big = dedup.decide_pair(review, "alice", pair, True).group_id
    assert big is not None and review_status(review).duplicates_removed == 2
    undone = undo_merge(review, "alice", big)
    assert sorted(undone.members) == [a, b, c] and undone.apart == [c]
    ((restored, members),) = undone.restored.items()
    assert members == [a, b] and dedup.group_of(review, a) == dedup.group_of(review, b) == restored != first
    assert dedup.group_of(review, c) is None and review_status(review).duplicates_removed == 1
    again = dedup.run_dedup(review)
    assert again.groups_created == 0 and dedup.group_of(review, c) is None
    assert dedup.group_of(review, a) == restored and review_status(review).duplicates_removed == 1
    (event,) = [e for e in audit_trail(review) if e.entity == "duplicate_group" and e.entity_id == restored]
    assert event.action == "merge" and event.new["restored_from"] == first


def test_undoing_the_restored_group_leaves_every_record_apart_and_the_cli_says_what_stays(
        review: Review) -> None:
    """The CLI names the records apart and the group that stands again; undoing that one too leaves all
    three apart, and no run merges them again."""
    (a, b, c), pair = auto_pair_and_a_third(review)
    big = dedup.decide_pair(review, "alice", pair, True).group_id
    out = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "dedup", "undo", str(big)])
    assert out.exit_code == 0, out.output
    restored = dedup.group_of(review, a)
    assert f"record {c} counts separately again" in out.output
    assert f"records {a}, {b} stay merged, as before the undone merge took them in: group {restored}" in out.output
    assert restored is not None and undo_merge(review, "alice", restored).restored == {}
    dedup.run_dedup(review)
    assert [dedup.group_of(review, r) for r in (a, b, c)] == [None, None, None]
    assert review_status(review).duplicates_removed == 0


def _four_copies(review: Review) -> tuple[list[int], dict[frozenset[int], int]]:
    """Four title-only copies (no automatic merge): their ids, and pair id by its two records."""
    ids = add_records(review, [Record(title=PAIR_TITLE) for _ in range(4)])
    dedup.run_dedup(review)
    return ids, {frozenset((p.a_id, p.b_id)): p.id for p in dedup.pending_pairs(review)}


def test_undoing_a_restored_group_brings_back_what_its_original_took_in(review: Review) -> None:
    """2–3 confirmed, then 2–4 (a group of 2, 3, 4 taking in 2–3), then 1–2 (all four). Undoing all four
    brings back 2, 3, 4; undoing that restored group brings back 2–3, which its original had taken in."""
    (r1, r2, r3, r4), pairs = _four_copies(review)
    for x, y in ((r2, r3), (r2, r4), (r1, r2)):
        dedup.decide_pair(review, "alice", pairs[frozenset((x, y))], True)
    whole = dedup.group_of(review, r1)
    assert whole is not None
    ((middle, members),) = undo_merge(review, "alice", whole).restored.items()
    assert members == sorted([r2, r3, r4])
    ((inner, members),) = undo_merge(review, "alice", middle).restored.items()
    assert members == sorted([r2, r3]) and dedup.group_of(review, r4) is None
    assert dedup.group_of(review, r2) == dedup.group_of(review, r3) == inner


def test_a_group_whose_primary_a_run_re_chose_is_undone_back_to_what_it_took_in(review: Review) -> None:
    """A group of the same records under a new primary (a run re-choosing it) stands for the merge it
    replaced: undoing it brings back the group that merge had taken in."""
    from reviewkit.store import dedup as store
    from reviewkit.store.db import session_scope

    r1, r2, r3 = add_records(review, [Record(title=PAIR_TITLE) for _ in range(3)])
    with session_scope(review.engine, write=True) as session:
        small = store.add_group(session, r2, [(r2, "fuzzy", 0.97), (r3, "fuzzy", 0.97)], "dedup")
        merged = store.add_group(session, r1, [(r, "human", 0.9) for r in (r1, r2, r3)], "alice")
        store.undo_group(session, small.id, "alice", reason="joined by a confirmed pair", superseded_by=merged.id)
        again = store.add_group(session, r2, [(r, "human", 0.9) for r in (r1, r2, r3)], "dedup")
        store.undo_group(session, merged.id, "dedup", reason="primary re-chosen", superseded_by=again.id)
        again_id = again.id
    assert again_id is not None
    done = undo_merge(review, "alice", again_id)
    assert list(done.restored.values()) == [sorted([r2, r3])] and done.apart == [r1]

"""Tests that dedup never takes a screened paper out of screening: the record with decisions stays primary.

A fuller copy of a paper found after screening started (a later import) used to become the group's
primary, with no decisions, and the paper went back to "not started". The record screening took
furthest is kept wherever a primary is chosen: a new group, a group growing, a confirmed pair, a re-run.
"""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import select

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.services import dedup, screen
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from reviewkit.store import dedup as store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import ScreeningDecisionRow
from tests.dedup_copies import BASE
from tests.factories import PAIR_TITLE, add_records
from tests.study_data import include


def _thin() -> Record:
    return Record(**BASE, source_id="pm1")  # type: ignore[arg-type]


def _full(n: int = 1) -> Record:
    extra = {"abstract": "Background: two trials.", "issn": "0007-0963"} if n > 1 else {}
    return Record(**BASE, doi="10.1111/bjd.18898", pmid="31625147", source_id=f"emb{n}", **extra)  # type: ignore[arg-type]


def primary_of(review: Review, record_id: int) -> int | None:
    with session_scope(review.engine) as session:
        for primary, members in store.live_groups(session).values():
            if record_id in members:
                return primary
    return None


def test_a_fuller_copy_found_later_leaves_the_screened_record_primary(review: Review) -> None:
    """The paper included at full text stays included when a fuller copy is imported and merged, and when a
    third, fuller still, joins the group later."""
    (screened,) = add_records(review, [_thin()])
    include(review, screened)
    assert review_status(review).ft.included == 1
    (copy,) = add_records(review, [_full()], source="Embase")
    summary = dedup.run_dedup(review)
    assert (summary.groups_created, summary.records_merged) == (1, 1)
    assert primary_of(review, copy) == screened
    status = review_status(review)
    assert (status.ft.included, status.ta.unscreened, status.duplicates_removed) == (1, 0, 1)
    assert summary.screened_twice == ()
    (fuller,) = add_records(review, [_full(2)], source="CENTRAL")
    grown = dedup.run_dedup(review)
    assert primary_of(review, fuller) == screened
    assert review_status(review).ft.included == 1
    assert grown.screened_twice == ()


def test_decisions_on_two_copies_keep_the_furthest_and_are_reported(review: Review) -> None:
    """Both copies were screened before dedup met them: the full-text one is kept, the other's decisions stay
    stored (nothing deleted) and the run says which group holds decisions on more than one record."""
    ft_copy, ta_copy = add_records(review, [_thin(), _full()])
    include(review, ft_copy)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, ta_copy, "ta", "include")
    summary = dedup.run_dedup(review)
    gid = dedup.group_of(review, ft_copy)
    assert primary_of(review, ta_copy) == ft_copy
    assert summary.screened_twice == (f"group {gid} keeps record {ft_copy}, decisions also on record {ta_copy}",)
    assert summary.notes()[0] == ("1 merged group holds decisions on more than one record: "
                                  f"group {gid} keeps record {ft_copy}, decisions also on record {ta_copy}")
    with session_scope(review.engine) as session:
        assert len(session.exec(select(ScreeningDecisionRow).where(
            ScreeningDecisionRow.record_id == ta_copy)).all()) == 2
    assert review_status(review).ft.included == 1
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "dedup"])
    assert result.exit_code == 0, result.output
    assert "1 merged group holds decisions on more than one record" in result.output


def test_a_confirmed_pair_keeps_the_screened_record(review: Review) -> None:
    """A human merging an uncertain pair keeps the copy with decisions, not the fuller one, and says so."""
    thin, full = add_records(review, [Record(title=PAIR_TITLE, authors=("Reich, K", "Doe, J"), year=2019),
                                      Record(title=PAIR_TITLE, authors=("Reich, K", "Doe, J"), year=2020,
                                             doi="10.1000/x.1", journal="J Derm", abstract="Methods: adults.")])
    for who in ("alice", "bob"):
        screen.record_decision(review, who, thin, "ta", "include")
    dedup.run_dedup(review)
    (pair,) = dedup.pending_pairs(review)
    done = dedup.decide_pair(review, "alice", pair.id, True)
    assert primary_of(review, full) == thin
    assert review_status(review).ta.included == 1
    assert (done.primary, done.also_screened) == (thin, ())


def test_a_rerun_repairs_a_group_that_kept_an_unscreened_copy(review: Review) -> None:
    """A group made before the fix kept the fuller, unscreened copy: the next run re-makes it around the
    screened record (the old group undone, audited), and a further run leaves it be."""
    screened, copy = add_records(review, [_thin(), _full()])
    include(review, screened)
    with session_scope(review.engine, write=True) as session:
        store.add_group(session, copy, [(screened, "fuzzy", 1.0), (copy, "fuzzy", 1.0)], "dedup")
    assert review_status(review).ft.included == 0
    summary = dedup.run_dedup(review)
    assert primary_of(review, copy) == screened
    assert review_status(review).ft.included == 1
    assert (summary.primaries_changed, summary.groups_created) == (1, 0)
    undo = [e for e in audit_trail(review) if e.entity == "duplicate_group" and e.action == "undo"]
    assert [e.new["reason"] for e in undo] == [f"primary re-chosen: record {screened} carries screening decisions"]  # type: ignore[index]
    assert dedup.run_dedup(review).primaries_changed == 0


def test_an_undo_on_the_primary_does_not_hand_the_group_to_the_other_copy(review: Review) -> None:
    """Both copies were screened (alice and bob include each) and merged; bob takes back his decision on the
    primary. The next run keeps the primary (it still has alice's decision): before, the other copy, with more
    current decisions, took over, and bob could no longer decide on the record he was correcting."""
    first, second = add_records(review, [_full(), _full(2)])
    for rid in (first, second):
        for who in ("alice", "bob"):
            screen.record_decision(review, who, rid, "ta", "include")
    dedup.run_dedup(review)
    kept = primary_of(review, first)
    assert kept is not None
    screen.undo_decision(review, "bob", kept, "ta")
    assert dedup.run_dedup(review).primaries_changed == 0
    assert primary_of(review, first) == kept
    screen.record_decision(review, "bob", kept, "ta", "exclude")  # his correction is taken

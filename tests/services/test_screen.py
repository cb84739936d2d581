"""Tests for the screening service: blinding, roles, conflicts, adjudication, undo, full text."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import screen, screen_cards, screen_full_text, screen_queue
from reviewkit.services.conflicts import list_conflicts, resolve_conflict
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from tests.factories import add_records


def test_blinding_holds_until_both_have_decided(review: Review) -> None:
    """bob cannot see alice's decision (nor infer it from the outcome) before deciding himself."""
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include", note="RCT of baricitinib")
    with pytest.raises(PermissionDenied):
        screen_cards.other_decisions(review, "bob", rid, "ta")
    card = screen_cards.record_card(review, "bob", rid, "ta")
    assert card.others is None and card.own is None
    assert card.outcome == "in_progress"
    # alice has decided, but bob has not: she is still blind to his (absent) decision too
    with pytest.raises(PermissionDenied):
        screen_cards.other_decisions(review, "alice", rid, "ta")
    screen.record_decision(review, "bob", rid, "ta", "exclude")
    seen = screen_cards.other_decisions(review, "bob", rid, "ta")
    assert [(d.reviewer, d.decision, d.note) for d in seen] == [("alice", "include", "RCT of baricitinib")]


def test_agreement_and_maybe_move_forward(review: Review) -> None:
    """include + maybe agree (maybe moves a record on); exclude + exclude excludes."""
    a, b = add_records(review, 2)
    screen.record_decision(review, "alice", a, "ta", "include")
    assert screen.record_decision(review, "bob", a, "ta", "maybe").outcome == "included"
    screen.record_decision(review, "alice", b, "ta", "exclude")
    assert screen.record_decision(review, "bob", b, "ta", "exclude").outcome == "excluded"
    status = review_status(review)
    assert (status.ta.included, status.ta.excluded, status.ta.conflict) == (1, 1, 0)
    assert screen_queue.screening_queue(review, "alice", "ft") == [a]


def test_conflict_goes_to_the_adjudicator_only(review: Review) -> None:
    """A split decision is a conflict that only the adjudicator resolves, seeing both notes."""
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include", note="looks randomised")
    state = screen.record_decision(review, "bob", rid, "ta", "exclude", note="a review")
    assert state.outcome == "conflict"
    with pytest.raises(PermissionDenied):
        list_conflicts(review, "bob", "ta")
    (conflict,) = list_conflicts(review, "carol", "ta")
    assert {(d.reviewer, d.decision, d.note) for d in conflict.decisions} == {
        ("alice", "include", "looks randomised"), ("bob", "exclude", "a review")}
    with pytest.raises(PermissionDenied):
        resolve_conflict(review, "alice", rid, "ta", "include")
    final = resolve_conflict(review, "carol", rid, "ta", "include", note="RCT")
    assert final.outcome == "included" and final.adjudicated
    assert list_conflicts(review, "carol", "ta") == []


def test_change_of_mind_and_undo_keep_history(review: Review) -> None:
    """Changing and undoing a decision appends rows; the record returns to alice's queue."""
    from sqlmodel import select

    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import AuditEventRow, ScreeningDecisionRow

    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include")
    screen.record_decision(review, "alice", rid, "ta", "exclude")
    assert screen_queue.screening_queue(review, "alice", "ta") == []
    screen.undo_decision(review, "alice", rid, "ta")
    assert screen_queue.screening_queue(review, "alice", "ta") == [rid]
    with session_scope(review.engine) as s:
        rows = s.exec(select(ScreeningDecisionRow).order_by(ScreeningDecisionRow.id)).all()
        events = s.exec(select(AuditEventRow).where(AuditEventRow.entity == "decision")).all()
    assert [r.decision for r in rows] == ["include", "exclude", "retracted"]
    assert rows[1].supersedes_id == rows[0].id and rows[2].supersedes_id == rows[1].id
    assert [e.action for e in events] == ["decide", "change", "undo"]
    assert events[1].old["decision"] == "include" and events[1].new["decision"] == "exclude"


def test_queue_leaves_records_with_enough_decisions(review: Review) -> None:
    """A record decided by two screeners leaves every queue; the adjudicator cannot screen."""
    a, b, c = add_records(review, 3)
    screen.record_decision(review, "alice", a, "ta", "include")
    assert screen_queue.screening_queue(review, "bob", "ta") == [a, b, c]
    screen.record_decision(review, "bob", a, "ta", "include")
    assert screen_queue.screening_queue(review, "alice", "ta") == [b, c]
    progress = screen_queue.screening_progress(review, "alice", "ta")
    assert (progress.mine_done, progress.left, progress.conflicts) == (1, 2, 0)
    with pytest.raises(PermissionDenied):
        screen.record_decision(review, "carol", b, "ta", "include")


def test_full_text_exclusion_needs_a_protocol_reason(review: Review) -> None:
    """At full text an exclusion without a reason, or with an unknown one, is refused."""
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, "ta", "include")
    with pytest.raises(ReviewkitError, match="needs a reason"):
        screen.record_decision(review, "alice", rid, "ft", "exclude")
    with pytest.raises(ReviewkitError, match="not one of the protocol's"):
        screen.record_decision(review, "alice", rid, "ft", "exclude", reason="Boring")
    screen.record_decision(review, "alice", rid, "ft", "exclude", reason="Conference abstract")
    state = screen.record_decision(review, "bob", rid, "ft", "exclude", reason="Conference abstract")
    assert state.outcome == "excluded"


def test_full_text_needs_title_abstract_pass(review: Review) -> None:
    """A record not passed at title/abstract cannot be screened at full text."""
    (rid,) = add_records(review, 1)
    with pytest.raises(ReviewkitError, match="not passed title/abstract"):
        screen.record_decision(review, "alice", rid, "ft", "include")


def test_full_text_status(review: Review) -> None:
    """Full-text status is recorded, a retrieved text needs its location, and the card shows it."""
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):  # only a record that passed title/abstract goes to full text
        screen.record_decision(review, who, rid, "ta", "include")
    screen_full_text.set_full_text(review, "alice", rid, "sought")
    with pytest.raises(ReviewkitError, match="path or URL") as refused:
        screen_full_text.set_full_text(review, "alice", rid, "retrieved")
    assert refused.value.hint is not None and "--location" in refused.value.hint
    screen_full_text.set_full_text(review, "alice", rid, "retrieved", location="pdfs/simpson2020.pdf")
    card = screen_cards.record_card(review, "alice", rid, "ft")
    assert (card.full_text_status, card.full_text_location) == ("retrieved", "pdfs/simpson2020.pdf")


def test_retrieved_without_a_location_on_a_record_not_at_full_text_says_where_it_stands(review: Review) -> None:
    """`full-text 30 retrieved` on a record excluded at title/abstract asked for its file path or URL,
    which would only have led to the real refusal: where the record stands is said first."""
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, "ta", "exclude")
    with pytest.raises(ReviewkitError, match=f"record {rid} was excluded at title/abstract") as refused:
        screen_full_text.set_full_text(review, "alice", rid, "retrieved")
    assert "path or URL" not in str(refused.value)


def test_unknown_reviewer_and_decision(review: Review) -> None:
    """Unknown names and decisions are refused with a clear message."""
    (rid,) = add_records(review, 1)
    with pytest.raises(ReviewkitError, match="unknown reviewer 'zoe'"):
        screen.record_decision(review, "zoe", rid, "ta", "include")
    with pytest.raises(ReviewkitError, match="unknown decision"):
        screen.record_decision(review, "alice", rid, "ta", "yes")


def test_record_cards_match_record_card_and_keep_blinding(review: Review) -> None:
    """A batch of cards equals the cards one by one, blinding included; missing ids are left out."""
    a, b = add_records(review, 2)
    screen.record_decision(review, "alice", a, "ta", "include", note="RCT")
    cards = screen_cards.record_cards(review, "bob", [a, b, 999_999], "ta")
    assert cards == [screen_cards.record_card(review, "bob", a, "ta"), screen_cards.record_card(review, "bob", b, "ta")]
    assert cards[0].others is None and cards[0].outcome == "in_progress"
    screen.record_decision(review, "bob", a, "ta", "exclude")
    (card,) = screen_cards.record_cards(review, "bob", [a], "ta")
    assert card.others is not None and [d.note for d in card.others] == ["RCT"]
    assert card == screen_cards.record_card(review, "bob", a, "ta")


def test_matching_records_searches_title_and_abstract(review: Review) -> None:
    """The search filter matches titles and abstracts, ignoring case; wildcards are taken literally."""
    from reviewkit.domain.records import Record

    ids = add_records(review, [Record(title="Baricitinib trial", abstract="", source_id="1"),
                               Record(title="Other", abstract="in PSORIASIS patients", source_id="2"),
                               Record(title="100% response", abstract="", source_id="3")])
    assert screen_cards.matching_records(review, "baricitinib") == {ids[0]}
    assert screen_cards.matching_records(review, "psoriasis") == {ids[1]}
    assert screen_cards.matching_records(review, "100%") == {ids[2]}
    assert screen_cards.matching_records(review, "%") == {ids[2]}
    assert screen_cards.matching_records(review, "  ") == set()


def test_matching_records_ignores_case_beyond_ascii_on_every_database(review: Review) -> None:
    """"SJÖGREN" finds "Sjögren" on SQLite as on PostgreSQL (SQLite's own lower() folds only A-Z)."""
    from reviewkit.domain.records import Record

    ids = add_records(review, [Record(title="Sjögren syndrome", abstract="", source_id="1"),
                               Record(title="Other", abstract="ÉCZÉMA atopique", source_id="2")])
    assert screen_cards.matching_records(review, "SJÖGREN") == {ids[0]}
    assert screen_cards.matching_records(review, "éczéma") == {ids[1]}
    assert screen_cards.matching_records(review, "sjögren SYNDROME") == {ids[0]}


def test_record_decision_checks_the_record(review: Review) -> None:
    """record_decision checks the one record it is given: stage, decision, role, existence."""
    a, b = add_records(review, 2)
    with pytest.raises(ReviewkitError, match="not passed title/abstract"):
        screen.record_decision(review, "alice", a, "ft", "include")
    with pytest.raises(ReviewkitError, match="unknown decision"):
        screen.record_decision(review, "alice", a, "ta", "yes")
    with pytest.raises(PermissionDenied):
        screen.record_decision(review, "carol", a, "ta", "include")
    with pytest.raises(ReviewkitError, match="no record"):
        screen.record_decision(review, "alice", 999_999, "ta", "include")
    assert screen.record_decision(review, "alice", a, "ta", "include").outcome == "in_progress"
    assert screen.record_decision(review, "bob", a, "ta", "maybe", note="dose unclear").outcome == "included"
    with pytest.raises(ReviewkitError, match="needs a reason"):
        screen.record_decision(review, "alice", a, "ft", "exclude")
    state = screen.record_decision(review, "alice", a, "ft", "exclude", reason="Review")
    assert state.outcome == "in_progress"
    assert screen_queue.screening_queue(review, "alice", "ta") == [b]


def test_removed_duplicate_cannot_be_screened(review: Review) -> None:
    """A record merged away as a duplicate is refused; its group's primary is screened instead."""
    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import DuplicateGroupRow, DuplicateMemberRow

    a, b = add_records(review, 2)
    with session_scope(review.engine, write=True) as s:
        group = DuplicateGroupRow(primary_record_id=a)
        s.add(group)
        s.flush()
        s.add(DuplicateMemberRow(group_id=group.id, record_id=a))
        s.add(DuplicateMemberRow(group_id=group.id, record_id=b))
    with pytest.raises(ReviewkitError, match="removed duplicate"):
        screen.record_decision(review, "alice", b, "ta", "include")
    assert screen_queue.screening_queue(review, "alice", "ta") == [a]


def test_adjudicator_reads_the_record_blind_to_the_screeners(review: Review) -> None:
    """carol (adjudicator only) reads a record's card, but the card never carries others' decisions.

    She sees the decisions of a conflict through list_conflicts; the card itself stays blind, so
    reading a card is no back door to decisions on records still being screened.
    """
    a, b = add_records(review, 2)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "bob", a, "ta", "exclude")
    screen.record_decision(review, "alice", b, "ta", "include")
    cards = screen_cards.record_cards(review, "carol", [a, b], "ta")
    assert [c.id for c in cards] == [a, b]
    assert all(c.others is None and c.own is None and c.outcome == "in_progress" for c in cards)
    assert [c.record_id for c in list_conflicts(review, "carol", "ta")] == [a]


def test_a_title_abstract_change_may_not_leave_full_text_decisions_hanging(review: Review) -> None:
    """Once a record has full-text decisions, a title/abstract change, undo or re-adjudication that
    would take it out of full text is refused (the full-text decisions stayed, hidden, and an export
    of that state could not be imported); one that keeps it included, or made after the full-text
    decisions are undone, is allowed."""
    a, b = add_records(review, 2)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, a, "ta", "include")
    screen.record_decision(review, "bob", a, "ft", "include")
    with pytest.raises(ReviewkitError, match=rf"record {a} has full-text decisions") as info:
        screen.record_decision(review, "alice", a, "ta", "exclude")
    assert "exclude it at full text" in str(info.value)
    with pytest.raises(ReviewkitError, match="has full-text decisions"):
        screen.undo_decision(review, "alice", a, "ta")
    assert screen.record_decision(review, "alice", a, "ta", "maybe").outcome == "included"  # still passes
    screen.undo_decision(review, "bob", a, "ft")
    assert screen.record_decision(review, "alice", a, "ta", "exclude").outcome == "conflict"

    # adjudicated in, with full-text decisions: a re-adjudication out is refused, as the change is
    screen.record_decision(review, "alice", b, "ta", "include")
    screen.record_decision(review, "bob", b, "ta", "exclude")
    resolve_conflict(review, "carol", b, "ta", "include")
    screen.record_decision(review, "alice", b, "ft", "include")
    with pytest.raises(ReviewkitError, match=rf"record {b} has full-text decisions"):
        resolve_conflict(review, "carol", b, "ta", "exclude")
    assert screen_cards.record_card(review, "alice", b, "ta").outcome == "included"


def test_a_record_with_its_decisions_takes_no_further_screener(review: Review, tmp_path: Path) -> None:
    """alice and bob agreed: dave's decision (his queue loaded before they decided) turned the record
    into a conflict. It is refused, naming the record and stage; bob may still change or undo his,
    and once he has undone it dave may decide."""
    from reviewkit.services.protocol_edit import update_protocol
    from tests.reliability._helpers import protocol_with_reviewers

    team = [("alice", ["screener", "lead"]), ("bob", ["screener"]), ("carol", ["adjudicator"]),
            ("dave", ["screener"])]
    review = update_protocol(review, "alice", protocol_with_reviewers(tmp_path / "p", team).read_text(encoding="utf-8"))
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, "ta", "include")
    with pytest.raises(ReviewkitError, match=rf"^record {rid} already has its 2 decisions at title/abstract"):
        screen.record_decision(review, "dave", rid, "ta", "exclude")
    assert list_conflicts(review, "carol", "ta") == []
    assert screen.record_decision(review, "bob", rid, "ta", "exclude").outcome == "conflict"
    screen.undo_decision(review, "bob", rid, "ta")
    assert screen.record_decision(review, "dave", rid, "ta", "include").outcome == "included"

"""Reliability: a record's whole history — decisions, change, undo, adjudication, merge and its undo — replays from audit events."""

from __future__ import annotations

from typing import Any

from reviewkit.domain.records import Record
from reviewkit.services import dedup, screen, screen_cards
from reviewkit.services.audit import AuditEvent, audit_trail, decision_history
from reviewkit.services.conflicts import list_conflicts, resolve_conflict
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from tests.factories import add_records

TITLE = "Baricitinib in patients with moderate-to-severe atopic dermatitis: a phase 3 randomised trial"


def replay(events: list[AuditEvent], record_id: int) -> dict[str, Any]:
    """The record's state from its events alone: current decisions, adjudication, whether merged away."""
    state: dict[str, Any] = {"adjudication": None, "removed_by_group": None}
    for e in events:
        if e.entity == "adjudication":
            state["adjudication"] = e.new["decision"]
        elif e.entity == "duplicate_group" and e.action == "merge":
            if record_id in e.new["members"] and e.new["primary"] != record_id:
                state["removed_by_group"] = e.entity_id
        elif e.entity == "duplicate_group" and e.action == "undo" and state["removed_by_group"] == e.entity_id:
            state["removed_by_group"] = None
    state["decisions"] = {k: v for k, v in decision_history(events).items() if v is not None}  # None: undone
    return state


def _current(review: Review, record_id: int) -> dict[tuple[str, str], str]:
    own = {}
    for who in ("alice", "bob"):
        card = screen_cards.record_card(review, who, record_id, "ta")
        if card.own is not None:
            own[(who, "ta")] = card.own.decision
    return own


def test_record_history_replays_through_decisions_adjudication_merge_and_undo(review: Review) -> None:
    """Each step's events, replayed, give the state the services report at that step — for a merged-away record too."""
    full = Record(title=TITLE, authors=("Simpson, Eric L", "Lacour, Jean-Philippe"), year=2020,
                  journal="British Journal of Dermatology", volume="183", issue="2", pages="242-255",
                  doi="10.1111/bjd.18898", abstract="A long abstract. " * 20, source_id="pm1")
    sparse = Record(title=TITLE, authors=("Simpson, Eric L",), year=2020, doi="10.1111/bjd.18898", source_id="emb1")
    primary, rid = add_records(review, [full, sparse])
    # The full copy is taken further (to full text), so dedup keeps it and merges the sparse copy away
    # (a group's primary is the record screening took furthest).
    for who in ("alice", "bob"):
        screen.record_decision(review, who, primary, "ta", "include")
    screen.record_decision(review, "alice", primary, "ft", "include")

    def check() -> None:
        events = audit_trail(review, record_id=rid)
        state = replay(events, rid)
        assert state["decisions"] == _current(review, rid)
        outcome = screen_cards.record_card(review, "alice", rid, "ta").outcome
        if state["adjudication"] is not None:
            assert outcome == {"include": "included", "exclude": "excluded"}[state["adjudication"]]
        assert (state["removed_by_group"] is not None) == (dedup.group_of(review, rid) is not None)
        assert review_status(review).duplicates_removed == (1 if state["removed_by_group"] else 0)

    screen.record_decision(review, "alice", rid, "ta", "include", note="looks randomised")
    check()
    screen.record_decision(review, "bob", rid, "ta", "exclude")
    check()
    screen.record_decision(review, "alice", rid, "ta", "maybe")  # a change of mind
    check()
    screen.undo_decision(review, "bob", rid, "ta")
    check()
    screen.record_decision(review, "bob", rid, "ta", "exclude")
    check()
    assert [c.record_id for c in list_conflicts(review, "carol", "ta")] == [rid]
    resolve_conflict(review, "carol", rid, "ta", "include", note="phase 3 RCT")
    check()
    summary = dedup.run_dedup(review, actor="alice")
    assert summary.groups_created == 1
    group = dedup.group_of(review, rid)
    assert group is not None
    check()
    undo_merge(review, "alice", group)
    check()

    events = audit_trail(review, record_id=rid)
    assert [(e.entity, e.action, e.actor) for e in events] == [
        ("decision", "decide", "alice"), ("decision", "decide", "bob"), ("decision", "change", "alice"),
        ("decision", "undo", "bob"), ("decision", "decide", "bob"), ("adjudication", "adjudicate", "carol"),
        ("duplicate_group", "merge", "alice"), ("duplicate_group", "undo", "alice"),
    ]
    assert events[2].old["decision"] == "include" and events[2].new["decision"] == "maybe"
    assert events[0].new["note"] == "looks randomised" and events[5].new["note"] == "phase 3 RCT"
    assert events[6].new["primary"] == primary and set(events[6].new["members"]) == {primary, rid}
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert audit_trail(review, record_id=rid, limit=2) == events[-2:]
    # The primary's own history holds the merge and its undo too, and none of the other record's decisions.
    own = audit_trail(review, record_id=primary)
    assert [(e.entity, e.action) for e in own if e.entity == "duplicate_group"] == [
        ("duplicate_group", "merge"), ("duplicate_group", "undo")]
    assert [e.actor for e in own if e.entity == "decision"] == ["alice", "bob", "alice"]

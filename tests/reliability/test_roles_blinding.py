"""Reliability: blinding and roles hold in the service functions themselves, below any interface."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from sqlmodel import func, select

from reviewkit.errors import ParseError, PermissionDenied, ReviewkitError
from reviewkit.services import assess, screen, screen_cards
from reviewkit.services.audit import audit_trail
from reviewkit.services.conflicts import list_conflicts, resolve_conflict
from reviewkit.services.decisions_export import export_decisions
from reviewkit.services.decisions_import import import_decisions
from reviewkit.services.project import Review, init_review, open_review
from reviewkit.services.protocol_edit import text_sha256, update_protocol
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import reviewer_roles
from reviewkit.store.tables import AdjudicationRow, AuditEventRow
from tests.factories import add_records
from tests.reliability._helpers import protocol_with_reviewers

SCREENERS = ["s1", "s2", "s3"]
TEAM = [("s1", ["screener"]), ("s2", ["screener"]), ("s3", ["screener", "lead"]), ("adj", ["adjudicator"]),
        ("boss", ["lead"])]


@pytest.fixture
def team_review(review_dir: Path, tmp_path: Path) -> Review:
    """A review (on each database) whose team is three screeners, an adjudicator and a lead."""
    review = open_review(review_dir)
    text = protocol_with_reviewers(tmp_path / "p", TEAM).read_text(encoding="utf-8")
    review = update_protocol(review, "alice", text)  # alice leads the example protocol
    yield review
    review.engine.dispose()


def _blind(own: str | None, current: dict[str, str], required: int) -> bool:
    """The blinding rule, restated from the protocol's terms: see others only once you and all required decided."""
    return own is None or len(current) < required


def _random_step(review: Review, rng: random.Random, ids: list[int], current: dict[int, dict[str, str]]) -> None:
    """One step of a random screening session: a screener undoes their decision on a record, is refused a
    decision on one that has its two, or decides; `current` follows each screener's decision per record."""
    who, rid = rng.choice(SCREENERS), rng.choice(ids)
    if who in current[rid] and rng.random() < 0.3:
        screen.undo_decision(review, who, rid, "ta")
        del current[rid][who]
    elif who not in current[rid] and len(current[rid]) >= 2:  # the record has its decisions
        with pytest.raises(ReviewkitError, match="already has its 2 decisions"):
            screen.record_decision(review, who, rid, "ta", "include")
    else:
        current[rid][who] = rng.choice(["include", "exclude", "maybe"])
        screen.record_decision(review, who, rid, "ta", current[rid][who])


def test_blinding_holds_through_any_sequence_of_decisions_and_undos(team_review: Review) -> None:
    """At every step of a random screening session, others' decisions are visible exactly when allowed.

    Checked for other_decisions (refused with PermissionDenied), record_card and record_cards
    (others is None, and the outcome does not leak a decision) for every screener and record.
    """
    review = team_review
    ids = add_records(review, 3)
    rng = random.Random(5)
    current: dict[int, dict[str, str]] = {rid: {} for rid in ids}
    for _ in range(40):
        _random_step(review, rng, ids, current)
        for viewer in SCREENERS:
            cards = {c.id: c for c in screen_cards.record_cards(review, viewer, ids, "ta")}
            for r in ids:
                own = current[r].get(viewer)
                blind = _blind(own, current[r], 2)
                card = screen_cards.record_card(review, viewer, r, "ta")
                assert cards[r] == card
                if blind:
                    with pytest.raises(PermissionDenied):
                        screen_cards.other_decisions(review, viewer, r, "ta")
                    assert card.others is None
                    assert card.outcome in ("unscreened", "in_progress")  # never included/excluded/conflict
                    if own is None and current[r]:
                        assert card.outcome == "in_progress"  # the same whatever the others decided
                else:
                    others = {v.reviewer: v.decision for v in screen_cards.other_decisions(review, viewer, r, "ta")}
                    assert others == {k: v for k, v in current[r].items() if k != viewer}
                    assert card.others is not None and {v.reviewer for v in card.others} == set(others)
                assert (card.own.decision if card.own else None) == own



def _exported(review: Review, viewer: str, path: Path) -> set[tuple[int, str, str]]:
    """(record, reviewer, decision) of every row `viewer`'s decisions export holds."""
    export_decisions(review, path, actor=viewer)
    with path.open(encoding="utf-8", newline="") as fh:
        return {(int(r["record"]), r["reviewer"], r["decision"]) for r in csv.DictReader(fh)}


def test_decisions_export_keeps_blinding_through_any_sequence(team_review: Review, tmp_path: Path) -> None:
    """At every few steps of a random session, each screener's export holds their own decisions and
    others' exactly where blinding has ended for them; the leads' export holds every decision, and the
    adjudicator (no decisions of her own) gets none. Importing others' rows is refused to non-leads."""
    review = team_review
    ids = add_records(review, 4)
    rng = random.Random(11)
    current: dict[int, dict[str, str]] = {rid: {} for rid in ids}
    out = tmp_path / "d.csv"
    for step in range(40):
        _random_step(review, rng, ids, current)
        if step % 4:
            continue
        everything = {(r, w, d) for r in ids for w, d in current[r].items()}
        for viewer in SCREENERS:
            allowed = {(r, w, d) for r, w, d in everything
                       if w == viewer or not _blind(current[r].get(viewer), current[r], 2)}
            assert _exported(review, viewer, out) == (everything if viewer == "s3" else allowed)  # s3 leads
        assert _exported(review, "boss", out) == everything
        assert _exported(review, "adj", out) == set()
    out.write_text("record,reviewer,stage,decision\n" f"{ids[0]},s2,ta,include\n")
    with pytest.raises(ParseError, match="line 2: s1 may import only their own"):
        import_decisions(review, out, actor="s1")


def test_non_screeners_cannot_read_decisions_on_a_record(team_review: Review) -> None:
    """An adjudicator or lead without the screener role gets no decisions through the screener's functions.

    (list_conflicts is theirs: it shows the decisions of records in conflict only.)
    """
    (rid,) = add_records(team_review, 1)
    screen.record_decision(team_review, "s1", rid, "ta", "include")
    screen.record_decision(team_review, "s2", rid, "ta", "exclude")
    for outsider in ("adj", "boss"):
        with pytest.raises(PermissionDenied):
            screen_cards.other_decisions(team_review, outsider, rid, "ta")
        # They may read the record (the conflicts screen shows it), but its card carries no decision.
        card = screen_cards.record_card(team_review, outsider, rid, "ta")
        assert (card.own, card.others, card.outcome) == (None, None, "in_progress")
        with pytest.raises(PermissionDenied):
            screen.record_decision(team_review, outsider, rid, "ta", "include")
    with pytest.raises(ReviewkitError, match="unknown reviewer"):
        screen_cards.other_decisions(team_review, "mallory", rid, "ta")


def _adjudications(review: Review) -> int:
    with session_scope(review.engine) as s:
        return int(s.exec(select(func.count()).select_from(AdjudicationRow)).one())


def test_only_an_adjudicator_resolves_a_conflict(team_review: Review) -> None:
    """Screeners and leads are refused (nothing written); leads may list conflicts; the adjudicator resolves."""
    review = team_review
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "s1", rid, "ta", "include")
    screen.record_decision(review, "s2", rid, "ta", "exclude")
    assert [c.record_id for c in list_conflicts(review, "boss", "ta")] == [rid]
    with pytest.raises(PermissionDenied):
        list_conflicts(review, "s1", "ta")
    for intruder in ("s1", "s2", "s3", "boss"):
        with pytest.raises(PermissionDenied):
            resolve_conflict(review, intruder, rid, "ta", "include")
    with pytest.raises(ReviewkitError):
        resolve_conflict(review, None, rid, "ta", "include")
    assert _adjudications(review) == 0
    state = resolve_conflict(review, "adj", rid, "ta", "exclude")
    assert state.outcome == "excluded" and state.adjudicated and _adjudications(review) == 1
    with pytest.raises(ReviewkitError, match="adjudicated"):
        screen.undo_decision(review, "s1", rid, "ta")


def _protocol_events(review: Review) -> list[AuditEventRow]:
    with session_scope(review.engine) as s:
        return list(s.exec(select(AuditEventRow).where(AuditEventRow.entity == "protocol")))


def test_only_a_lead_changes_the_protocol(team_review: Review) -> None:
    """Non-leads are refused and the file stays byte for byte; a lead's change is written and audited."""
    review = team_review
    path = review.protocol_path
    before = path.read_bytes()
    events = len(_protocol_events(review))
    changed = before.decode().replace("screeners_per_record = 2", "screeners_per_record = 3")
    for who in ("s1", "s2", "adj"):
        with pytest.raises(PermissionDenied):
            update_protocol(review, who, changed)
    with pytest.raises(ReviewkitError, match="unknown reviewer"):
        update_protocol(review, "mallory", changed)
    assert path.read_bytes() == before and len(_protocol_events(review)) == events
    updated = update_protocol(review, "boss", changed)
    assert updated.protocol.screening.screeners_per_record == 3
    assert open_review(review.folder).protocol.screening.screeners_per_record == 3
    event = _protocol_events(review)[-1]
    assert (event.actor, event.action) == ("boss", "update")
    assert event.old == {"sha256": text_sha256(before.decode())} and event.new == {"sha256": text_sha256(changed)}
    assert [e.entity for e in audit_trail(review)][-1] == "protocol"
    assert not list(review.folder.glob(".*.tmp"))


def test_protocol_change_is_validated_and_atomic(team_review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid protocol, a stale edit or a failed write leave the old file and no audit event."""
    review = team_review
    path = review.protocol_path
    before = path.read_bytes()
    events = len(_protocol_events(review))
    with pytest.raises(ReviewkitError, match="screeners_per_record"):
        update_protocol(review, "boss", before.decode().replace("screeners_per_record = 2", "screeners_per_record = 0"))
    with pytest.raises(ReviewkitError, match="changed since"):
        update_protocol(review, "boss", before.decode() + "\n# edit\n", expected_sha256="0" * 64)

    def power_cut(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("reviewkit.services.protocol_edit.os.replace", power_cut)
    with pytest.raises(OSError):
        update_protocol(review, "boss", before.decode() + "\n# edit\n")
    monkeypatch.undo()
    assert path.read_bytes() == before and len(_protocol_events(review)) == events
    assert not list(review.folder.glob(".*.tmp"))
    update_protocol(review, "boss", before.decode() + "\n# edit\n", expected_sha256=text_sha256(before.decode()))
    assert path.read_text(encoding="utf-8").endswith("# edit\n")


def test_roles_follow_a_protocol_change_at_once(team_review: Review) -> None:
    """A lead taking the adjudicator role away takes the power to resolve with it; granting lead gives it."""
    review = team_review
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "s1", rid, "ta", "include")
    screen.record_decision(review, "s2", rid, "ta", "exclude")
    text = review.protocol_path.read_text(encoding="utf-8")
    text = text.replace('name = "adj"\nroles = ["adjudicator"]', 'name = "adj"\nroles = ["screener"]')
    text = text.replace('name = "s1"\nroles = ["screener"]', 'name = "s1"\nroles = ["screener", "lead"]')
    review = update_protocol(review, "boss", text)
    with pytest.raises(PermissionDenied):
        resolve_conflict(review, "adj", rid, "ta", "include")
    update_protocol(review, "s1", text + "\n# s1 leads now\n")


def _study(review: Review) -> int:
    with session_scope(review.engine, write=True) as session:
        row = rob_store.add_study(session, "BREEZE-AD1", actor="test")
        assert row.id is not None
        return row.id


def test_a_reviewer_dropped_from_the_protocol_can_no_longer_act(team_review: Review) -> None:
    """team_review replaced the example's alice, bob and carol: they keep their rows (and any decisions)
    but no role, so alice, who led, can neither screen nor change the protocol any more."""
    review = team_review
    (rid,) = add_records(review, 1)
    with pytest.raises(PermissionDenied):
        screen.record_decision(review, "alice", rid, "ta", "include")
    with pytest.raises(PermissionDenied):
        update_protocol(review, "alice", review.protocol_path.read_text(encoding="utf-8") + "\n")
    with pytest.raises(PermissionDenied, match="no longer on this review's team"):
        assess.start_assessment(review, "alice", _study(review), "IGA")
    with session_scope(review.engine) as session:
        assert reviewer_roles(session)["alice"] == [] and reviewer_roles(session)["boss"] == ["lead"]


def test_a_reason_that_decisions_give_cannot_be_dropped(team_review: Review) -> None:
    """A full-text exclusion reason in use stays in the list (PRISMA counts it); one no current decision
    gives may go."""
    review = team_review
    (rid,) = add_records(review, 1)
    for who in ("s1", "s2"):
        screen.record_decision(review, who, rid, "ta", "include")
    # s1 first gave "Case report", then changed to "Review": only the current reason holds the list.
    screen.record_decision(review, "s1", rid, "ft", "exclude", reason="Case report")
    screen.record_decision(review, "s1", rid, "ft", "exclude", reason="Review")
    text = review.protocol_path.read_text(encoding="utf-8")
    before = review.protocol_path.read_bytes()
    with pytest.raises(ReviewkitError, match="'Review' is given by stored full-text decisions"):
        update_protocol(review, "boss", text.replace('  "Review",\n', "", 1))
    assert review.protocol_path.read_bytes() == before
    review = update_protocol(review, "boss", text.replace('  "Case report",\n', "", 1))
    assert "Case report" not in review.protocol.screening.exclusion_reasons


def test_new_review_lead_is_the_only_one_who_may_edit(tmp_path: Path) -> None:
    """On the example protocol, alice (lead) may edit; bob (screener) and carol (adjudicator) may not."""
    review = init_review(tmp_path / "r")
    text = review.protocol_path.read_text(encoding="utf-8")
    for who in ("bob", "carol"):
        with pytest.raises(PermissionDenied):
            update_protocol(review, who, text + "\n")
    update_protocol(review, "alice", text + "\n")

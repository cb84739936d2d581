"""Reliability: two screeners taking a record's last place at once (both databases).

As in test_verdict_races, each thread is held right after reading the record's decisions, so without
the record lock both read one decision and both add theirs: three decisions on a record that asks
for two, the second agreement turned into a conflict. With the lock the second reads after the
first has committed and is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import screen, screen_cards
from reviewkit.services.decisions_import import import_decisions
from reviewkit.services.project import Review
from reviewkit.services.protocol_edit import update_protocol
from reviewkit.store import queries
from reviewkit.store import screening as store
from tests.factories import add_records
from tests.reliability._helpers import protocol_with_reviewers
from tests.reliability.test_verdict_races import race


def _with_dave(review: Review, tmp_path: Path) -> Review:
    team = [("alice", ["screener", "lead"]), ("bob", ["screener"]), ("carol", ["adjudicator"]),
            ("dave", ["screener"])]
    return update_protocol(review, "alice", protocol_with_reviewers(tmp_path / "p", team).read_text(encoding="utf-8"))


def test_two_screeners_deciding_a_records_last_place_at_once(review: Review, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """alice has decided; bob and dave decide at once: one is stored, the other refused."""
    review = _with_dave(review, tmp_path)
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include")
    out = race(monkeypatch, review, "decisions_on", {
        "bob": lambda: screen.record_decision(review, "bob", rid, "ta", "include"),
        "dave": lambda: screen.record_decision(review, "dave", rid, "ta", "exclude"),
    }, where=store)
    (refused,) = [r for r in out.values() if isinstance(r, ReviewkitError)]
    assert f"record {rid} already has its 2 decisions at title/abstract" in str(refused)
    (stored,) = [who for who, r in out.items() if not isinstance(r, Exception)]
    card = screen_cards.record_card(review, "alice", rid, "ta")
    assert card.others is not None and [d.reviewer for d in card.others] == [stored]


def test_an_import_and_a_screener_taking_the_last_place_at_once(review: Review, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead imports dave's row while bob decides on the screen: the import locks the records it
    names before reading their decisions (queries.current_decisions, where its thread is held; bob's
    is held at store.decisions_on), so one of the two is refused."""
    review = _with_dave(review, tmp_path)
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include")
    f = tmp_path / "dave.csv"
    f.write_text(f"record,reviewer,stage,decision\n{rid},dave,ta,exclude\n", encoding="utf-8")
    out = race(monkeypatch, review, "decisions_on", {
        "bob": lambda: screen.record_decision(review, "bob", rid, "ta", "include"),
        "alice": lambda: import_decisions(review, f, actor="alice"),
    }, where=store, also=((queries, "current_decisions"),))
    refused = [r for r in out.values() if isinstance(r, ReviewkitError)]
    assert len(refused) == 1 and "already has its 2 decisions" in str(refused[0]), out
    card = screen_cards.record_card(review, "alice", rid, "ta")
    assert card.others is not None and len(card.others) == 1

"""Reliability: two reviewers starting an extraction of one study at once, when it has room for one more
extractor (both databases). As in test_verdict_races, each thread is held right after reading the study's
extractors, so without the study lock both count one extractor and both get in (a third extractor of a
study taking two); with it the second waits for the first's transaction and is refused."""

from __future__ import annotations

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract, extract_access
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.screening import upsert_reviewers
from tests.reliability.test_verdict_races import race


def test_two_newcomers_at_once_leave_one_in(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """bob extracts; alice and dave then write their first value of the study at the same moment."""
    with session_scope(review.engine, write=True) as session:
        upsert_reviewers(session, {"alice": ["screener", "lead"], "bob": ["screener"], "dave": ["screener"]})
    sid = extract.create_study(review, "alice", "S1").id
    extract.set_value(review, "bob", sid, "country", "Japan")
    out = race(monkeypatch, review, "study_extractors", {
        "alice": lambda: extract.set_value(review, "alice", sid, "country", "Japan"),
        "dave": lambda: extract.set_value(review, "dave", sid, "country", "Japan"),
    }, where=extract_access)
    (refused,) = [r for r in out.values() if isinstance(r, Exception)]
    assert isinstance(refused, ReviewkitError) and f"study {sid} already has its 2 extractors" in str(refused)
    (admitted,) = [who for who, r in out.items() if isinstance(r, extract.ValueView)]
    with session_scope(review.engine) as session:
        assert extract_access.study_extractors(session, sid) == {
            extract.reviewer(session, "bob").id, extract.reviewer(session, admitted).id}


def test_two_consensus_writers_at_once_queue(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """alice and bob differ on the placebo events (16 vs 15); carol (adjudicator) and alice settle the
    consensus at the same moment, each taking another extractor's value. Held after reading what the
    consensus holds, both read "nothing yet" and both wrote a first value: the audit trail's second
    change said old = none, hiding the first. With the study locked the second waits, reads the first's
    value, and its change names it as the old one."""
    from reviewkit.services import extract_consensus
    from reviewkit.services.audit import audit_trail
    from reviewkit.services.extract_status import finish_extraction
    from tests.services.test_extract_consensus import _extract

    sid = extract.create_study(review, "alice", "BREEZE-AD7").id
    for who, events in (("alice", "16"), ("bob", "15")):
        _extract(review, who, sid, events)
        finish_extraction(review, who, sid)
    key = "value|Placebo|iga_0_1|week 16|events"
    out = race(monkeypatch, review, "current_values", {
        "carol": lambda: extract_consensus.record_consensus(review, "carol", sid, take={key: "bob"}),
        "alice": lambda: extract_consensus.record_consensus(review, "alice", sid, take={key: "alice"}),
    }, where=extract_consensus.store)
    assert not [r for r in out.values() if isinstance(r, Exception)]
    changes = [e for e in audit_trail(review) if e.entity == "extraction"
               and (e.new or {}).get("consensus") and (e.new or {}).get("field") == "events"
               and (e.new or {}).get("arm") == "Placebo"]
    assert len(changes) == 2
    first, second = changes
    assert (second.old or {}).get("value") == (first.new or {}).get("value") != (second.new or {}).get("value")

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

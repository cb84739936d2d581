"""Tests for mirroring the protocol's team into the reviewer table when reviewers open a review at once."""

from __future__ import annotations

import pytest

from reviewkit.services.project import Review, open_review
from reviewkit.store import screening as store_screening
from reviewkit.store.db import session_scope
from tests.reliability.test_verdict_races import race


def test_two_opens_after_a_reviewer_was_added_add_them_once(review: Review,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Both opens read the new reviewer as missing: before the fix both inserted and, on PostgreSQL, the
    second failed on the unique name with an IntegrityError traceback instead of opening the review."""
    text = review.protocol_path.read_text(encoding="utf-8")
    review.protocol_path.write_text(
        text.replace("[[reviewers]]", '[[reviewers]]\nname = "zoe"\nroles = ["screener"]\n\n[[reviewers]]', 1),
        encoding="utf-8")
    out = race(monkeypatch, review, "reviewer_rows", {
        "alice": lambda: open_review(review.folder),
        "bob": lambda: open_review(review.folder),
    }, where=store_screening)
    assert all(isinstance(r, Review) for r in out.values()), out
    for opened in out.values():
        opened.engine.dispose()
    with session_scope(review.engine) as session:
        assert store_screening.reviewer_roles(session)["zoe"] == ["screener"]

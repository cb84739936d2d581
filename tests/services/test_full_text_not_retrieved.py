"""Tests that a report marked not retrieved is not assessed: PRISMA counts it under "Reports not
retrieved", so a full-text decision on it (by hand or by import) is refused, a record with full-text
decisions cannot be marked not retrieved, and `status` counts such records apart from "not started".

Found by an exploratory pass: two full-text includes on a not-retrieved record made `status` and
`export records` say 11 included reports and 9 studies while `prisma` said 10 and 8, with no violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import screen, screen_full_text, screen_queue
from reviewkit.services.decisions_import import import_decisions
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from reviewkit.services.status import review_status
from tests.factories import add_records_at_full_text


def test_a_not_retrieved_report_takes_no_full_text_decision(review: Review, tmp_path: Path) -> None:
    lost, kept = add_records_at_full_text(review, 2)
    screen_full_text.set_full_text(review, "alice", lost, "not_retrieved")
    with pytest.raises(ReviewkitError, match="marked not retrieved"):
        screen.record_decision(review, "alice", lost, "ft", "include")
    f = tmp_path / "ft.csv"
    f.write_text(f"record,reviewer,stage,decision\n{lost},bob,ft,include\n{kept},bob,ft,include\n", encoding="utf-8")
    with pytest.raises(ReviewkitError, match=f"line 2.*record {lost}'s full text is marked not retrieved"):
        import_decisions(review, f, actor="alice")
    assert review_status(review).ft.in_progress == 0  # nothing from the file was stored, its good row neither
    # Retrieved after all: now it can be decided.
    screen_full_text.set_full_text(review, "alice", lost, "retrieved", location="https://example.org/lost.pdf")
    for who in ("alice", "bob"):
        screen.record_decision(review, who, lost, "ft", "include")
    assert prisma_counts(review).counts.reports_included == review_status(review).ft.included == 1


def test_a_report_with_full_text_decisions_is_not_marked_not_retrieved(review: Review) -> None:
    (rid,) = add_records_at_full_text(review, 1)
    screen.record_decision(review, "alice", rid, "ft", "exclude", reason=review.protocol.screening.exclusion_reasons[0])
    with pytest.raises(ReviewkitError, match="has full-text decisions"):
        screen_full_text.set_full_text(review, "bob", rid, "not_retrieved")
    screen_full_text.set_full_text(review, "bob", rid, "retrieved", location="/papers/x.pdf")  # other statuses are fine


def test_status_counts_not_retrieved_reports_as_prisma_does(review: Review) -> None:
    """Before, status listed them under full text "not started"."""
    first, second, _ = add_records_at_full_text(review, 3)
    screen_full_text.set_full_text(review, "alice", first, "not_retrieved")
    screen_full_text.set_full_text(review, "alice", second, "sought")
    status, counts = review_status(review), prisma_counts(review).counts
    assert (status.ft.not_retrieved, status.ft.unscreened) == (1, 2)
    assert status.ft.not_retrieved == counts.reports_not_retrieved
    assert status.as_dict()["full_text"]["not_retrieved"] == 1  # type: ignore[index]


def test_a_not_retrieved_report_leaves_the_full_text_queue(review: Review) -> None:
    """It stayed in every screener's queue, each key press refused, and "left" never reached 0."""
    lost, kept = add_records_at_full_text(review, 2)
    screen_full_text.set_full_text(review, "alice", lost, "not_retrieved")
    assert screen_queue.screening_queue(review, "alice", "ft") == [kept]
    assert screen_queue.screening_progress(review, "alice", "ft").left == 1
    screen_full_text.set_full_text(review, "alice", lost, "retrieved", location="/papers/lost.pdf")
    assert screen_queue.screening_queue(review, "alice", "ft") == [lost, kept]

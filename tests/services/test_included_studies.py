"""Tests that risk of bias and extraction list the studies included at full text first, the rest marked."""

from __future__ import annotations

from reviewkit.services import assess_view, extract, screen
from reviewkit.services.project import Review
from reviewkit.services.studies import set_report_link
from reviewkit.store import dedup as dedup_store
from reviewkit.store.db import session_scope
from tests.factories import add_records


def test_included_studies_come_first_and_are_marked(review: Review) -> None:
    """Of two registered trials, only the second's paper passes full text: it is listed first, the
    other follows marked not included, in both the RoB and the extraction lists."""
    paper_a, paper_b = add_records(review, 2)
    with session_scope(review.engine, write=True) as s:
        for nct, label, rid in (("NCT03334396", "BREEZE-AD1", paper_a), ("NCT03334422", "BREEZE-AD2", paper_b)):
            dedup_store.add_study_links(s, nct, label, [rid], "test")
        ids = dedup_store.studies_by_nct(s)
    for nct, rid in (("NCT03334396", paper_a), ("NCT03334422", paper_b)):
        set_report_link(review, "alice", ids[nct], rid, True)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, paper_a, "ta", "exclude")
        screen.record_decision(review, who, paper_b, "ta", "include")
    for who in ("alice", "bob"):
        screen.record_decision(review, who, paper_b, "ft", "include")
    tasks = assess_view.studies_to_assess(review, "carol")
    assert [(t.label, t.included) for t in tasks] == [("BREEZE-AD2", True), ("BREEZE-AD1", False)]
    studies = extract.list_studies(review)
    assert [(s.label, s.included) for s in studies] == [("BREEZE-AD2", True), ("BREEZE-AD1", False)]

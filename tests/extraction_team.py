"""Shared by the extraction blinding tests: the team, its fixture, and one extractor's extraction of a study."""

from __future__ import annotations

from reviewkit.services import extract
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.screening import upsert_reviewers

#: alice leads, carol adjudicates; bob and dave extract; erin only screens (she extracts nothing).
TEAM = {"alice": ["screener", "lead"], "bob": ["screener"], "carol": ["adjudicator"], "dave": ["screener"],
        "erin": ["screener"]}
EVENTS = "value|Placebo|iga_0_1|week 16|events"


def with_team(review: Review) -> Review:
    """The example review (two extractors per study) with the team above (the `team` fixture)."""
    with session_scope(review.engine, write=True) as session:
        upsert_reviewers(session, TEAM)
    return review


def extract_as(review: Review, who: str, sid: int, events: str) -> None:
    """`who` extracts the study's placebo arm, with their own count of events, and the study fields the
    example protocol requires (so the extraction can be finished)."""
    extract.set_value(review, who, sid, "trial_name", "BREEZE-AD1")
    extract.set_value(review, who, sid, "tcs", "no")
    extract.set_arm(review, who, sid, "Placebo", intervention="placebo", n_randomised=249)
    extract.set_value(review, who, sid, "events", events, arm="Placebo", outcome="iga_0_1")
    extract.set_value(review, who, sid, "total", "249", arm="Placebo", outcome="iga_0_1")

"""Provides what a reviewer may see of records at a screening stage: record cards, others' decisions, the search filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from reviewkit.domain.screening import Outcome, is_blind_to_others, resolve
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.screen_state import (
    check_stage,
    record_state,
    require_reviewer,
    reviewer_in_roles,
)
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope, stored_id

if TYPE_CHECKING:
    from reviewkit.store.tables import ScreeningDecisionRow


@dataclass(frozen=True)
class DecisionView:
    """A decision as shown to someone allowed to see it."""

    reviewer: str
    decision: str
    reason: str | None
    note: str | None
    at: datetime


@dataclass(frozen=True)
class RecordCard:
    """What a reviewer sees of a record: its citation, their own decision, and others' only when allowed."""

    id: int
    title: str
    abstract: str
    authors: tuple[str, ...]
    year: int | None
    journal: str
    volume: str
    issue: str
    pages: str
    doi: str | None
    pmid: str | None
    nct_ids: tuple[str, ...]
    publication_types: tuple[str, ...]
    kind: str
    own: DecisionView | None
    #: None while blinding holds (see domain.screening.is_blind_to_others).
    others: tuple[DecisionView, ...] | None
    outcome: Outcome
    full_text_status: str | None = None
    full_text_location: str | None = None


def decision_view(row: ScreeningDecisionRow, names: dict[int, str]) -> DecisionView:
    """A decision row as shown to someone allowed to see it (names: reviewer id → name)."""
    return DecisionView(names.get(row.reviewer_id, "?"), row.decision, row.reason, row.note, row.created_at)


def other_decisions(review: Review, reviewer: str | None, record_id: int, stage: str) -> tuple[DecisionView, ...]:
    """Other reviewers' decisions on a record; refused while blinding holds for this reviewer."""
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = require_reviewer(session, reviewer, "screener")
        current = store.decisions_on(session, record_id, stage)
        own = current.get(stored_id(who))
        state = record_state(session, record_id, stage, required)
        if is_blind_to_others(store.stored_decision(own.decision) if own else None, state.outcome):
            raise PermissionDenied(
                f"{who.name} may not see other decisions on record {record_id} until it has all "
                f"{required} independent decisions"
            )
        names = store.reviewer_names(session)
        return tuple(decision_view(row, names) for rid, row in current.items() if rid != who.id)


def record_card(review: Review, reviewer: str | None, record_id: int, stage: str) -> RecordCard:
    """The record as this reviewer may see it."""
    cards = record_cards(review, reviewer, [record_id], stage)
    if not cards:
        raise ReviewkitError(f"no record {record_id}")
    return cards[0]


def record_cards(review: Review, reviewer: str | None, record_ids: list[int], stage: str) -> list[RecordCard]:
    """Several records as this reviewer may see them, read in one session (the screen's look-ahead).

    Ids that no longer exist are left out. Screeners read cards to decide; adjudicators and leads
    read them on the conflicts screen. Blinding is the same for every role: a reviewer who has not
    decided a record (an adjudicator or lead who does not screen it never has) is not shown how
    others decided on the card; the conflicts screen lists those decisions through list_conflicts,
    which only adjudicators and leads may call.
    """
    stage = check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    out: list[RecordCard] = []
    with session_scope(review.engine) as session:
        who = reviewer_in_roles(session, reviewer, ("screener", "adjudicator", "lead"))
        names = store.reviewer_names(session)
        adjudicated = store.adjudication_rows(session, stage)
        for record_id in record_ids:
            row = store.record(session, record_id)
            if row is None:
                continue
            current = store.decisions_on(session, record_id, stage)
            own_row = current.get(stored_id(who))
            adjudication = adjudicated.get(record_id)
            state = resolve(store.decisions_of(current), required,
                            store.stored_decision(adjudication.decision) if adjudication else None, stage=stage)
            blind = is_blind_to_others(store.stored_decision(own_row.decision) if own_row else None, state.outcome)
            others = None if blind else tuple(decision_view(r, names) for rid, r in current.items() if rid != who.id)
            ft = store.latest_full_text(session, record_id)
            out.append(RecordCard(
                id=record_id, title=row.title, abstract=row.abstract, authors=tuple(row.authors),
                year=row.year, journal=row.journal or row.journal_abbrev, volume=row.volume,
                issue=row.issue, pages=row.pages, doi=row.doi, pmid=row.pmid, nct_ids=tuple(row.nct_ids),
                publication_types=tuple(row.publication_types), kind=row.kind,
                own=decision_view(own_row, names) if own_row else None, others=others,
                # Before the reviewer decides, the outcome would leak others' decisions.
                outcome="in_progress" if blind and state.outcome != "unscreened" else state.outcome,
                full_text_status=ft.status if ft else None, full_text_location=ft.location if ft else None,
            ))
    return out


def matching_records(review: Review, text: str) -> set[int]:
    """Ids of records whose title or abstract contains `text` (case-insensitive), for the search filter."""
    needle = text.strip()
    if not needle:
        return set()
    with session_scope(review.engine) as session:
        return queries.records_containing(session, needle)

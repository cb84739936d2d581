"""Provides screening: blind dual decisions, undo, queues, conflicts and adjudication, full-text status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from reviewkit.domain.screening import (
    DECISIONS,
    STAGES,
    Decision,
    Outcome,
    RecordScreening,
    Stage,
    adjudication_refusal,
    is_blind_to_others,
    resolve,
)
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.common import acting_reviewer, article
from reviewkit.services.project import Review
from reviewkit.services.screen_quota import quota_refusal
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow, ScreeningDecisionRow

FULL_TEXT_STATUSES = ("sought", "retrieved", "not_retrieved")


def full_text_started(record_id: int) -> str:
    """Why a title/abstract change is refused (here and by the decisions import): it would take the
    record out of full text while full-text decisions on it stand, hanging, counted nowhere, and
    back unasked if it passed again; nor could an export of that state be imported."""
    return (f"record {record_id} has full-text decisions; a title/abstract change that takes it out of "
            "full-text screening would leave them standing")


def full_text_not_retrieved(record_id: int) -> str:
    """Why a full-text decision is refused (here and by the decisions import): a report whose full text
    could not be retrieved was not assessed, and PRISMA counts it so; a decision on it would count it
    twice, as not retrieved and as assessed."""
    return (f"record {record_id}'s full text is marked not retrieved; record it as retrieved (with its file "
            "or URL) before deciding on it")


FULL_TEXT_STARTED_HINT = ("exclude it at full text with a reason (PRISMA reports it there), or have its "
                          "full-text decisions undone first")


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


@dataclass(frozen=True)
class Conflict:
    """A record whose reviewers disagree, with every decision and note, for the adjudicator."""

    record_id: int
    title: str
    stage: str
    decisions: tuple[DecisionView, ...]
    #: "inclusion": the decisions disagree on the outcome (list_conflicts); "reason": excluded at full
    #: text by every screener, for different reasons (services.conflicts.reason_disagreements).
    kind: str = "inclusion"
    #: For a reason disagreement, the reason PRISMA counts while it stands.
    counted_reason: str | None = None


@dataclass(frozen=True)
class ScreeningProgress:
    """A reviewer's progress at a stage."""

    mine_done: int
    left: int
    conflicts: int


def require_reviewer(session: Session, name: str | None, role: str) -> ReviewerRow:
    """The acting reviewer, who must hold `role` (screener, adjudicator, lead)."""
    return acting_reviewer(session, name, role)


def _check_stage(stage: str) -> Stage:
    """`stage` itself, once known to be a Stage (a ReviewkitError if it is not)."""
    if stage not in STAGES:
        raise ReviewkitError(f"unknown stage '{stage}' (use ta or ft)")
    return cast(Stage, stage)  # one of STAGES' keys, just checked


def stage_candidates(session: Session, stage: str, required: int) -> set[int]:
    """Records that take part in a stage: unique records at title/abstract; those it passed at full text."""
    unique = queries.record_ids(session) - queries.removed_duplicates(session)
    if stage == "ta":
        return unique
    decisions = queries.current_decisions(session, "ta")
    adjudicated = queries.adjudications(session, "ta")
    return {
        rid for rid in unique
        if resolve(decisions.get(rid, {}), required, adjudicated.get(rid), stage="ta").outcome == "included"
    }


def _decisions(session: Session, record_id: int, stage: str) -> dict[int, str]:
    """reviewer id → current decision on one record at a stage."""
    return {rid: row.decision for rid, row in store.decisions_on(session, record_id, stage).items()}


def _awaiting(session: Session, stage: str, required: int, candidates: set[int] | None = None) -> set[int]:
    """The stage's records that can take a decision: at full text, not those whose report is marked not
    retrieved (PRISMA counts them there; a decision on one is refused)."""
    found = stage_candidates(session, stage, required) if candidates is None else candidates
    return found - store.not_retrieved_ids(session) if stage == "ft" else found


def _refuse_not_retrieved(session: Session, record_id: int) -> None:
    latest = store.latest_full_text(session, record_id)
    if latest is not None and latest.status == "not_retrieved":
        raise ReviewkitError(full_text_not_retrieved(record_id))


def _keep_full_text(session: Session, record_id: int, after: RecordScreening) -> None:
    """Refuse a title/abstract change whose outcome, `after`, would strand full-text decisions."""
    if after.outcome == "included":
        return
    if store.decisions_on(session, record_id, "ft") or store.adjudication_row(session, record_id, "ft") is not None:
        raise ReviewkitError(full_text_started(record_id), hint=FULL_TEXT_STARTED_HINT)


def _state(session: Session, record_id: int, stage: str, required: int) -> RecordScreening:
    decisions = {rid: row.decision for rid, row in store.decisions_on(session, record_id, stage).items()}
    adjudication = store.adjudication_row(session, record_id, stage)
    return resolve(decisions, required, adjudication.decision if adjudication else None,  # type: ignore[arg-type]
                   stage=_check_stage(stage))


def record_decision(
    review: Review, reviewer: str | None, record_id: int, stage: str, decision: str, *,
    reason: str | None = None, note: str | None = None,
) -> RecordScreening:
    """Store a reviewer's decision (committed at once) and return the record's new state.

    A full-text exclusion needs one of the protocol's exclusion reasons. Deciding again
    replaces the reviewer's earlier decision; the earlier row stays, for the audit trail. A new
    decision on a record that already has its required decisions is refused (screen_quota).
    """
    stage = _check_stage(stage)
    if decision not in DECISIONS:
        raise ReviewkitError(f"unknown decision '{decision}' (use include, exclude or maybe)")
    _reason_with_exclusion_only(decision, reason)
    reasons = review.protocol.screening.exclusion_reasons
    if stage == "ft" and decision == "exclude":
        if not reason:
            raise ReviewkitError("a full-text exclusion needs a reason", hint="; ".join(reasons))
        if reason not in reasons:
            raise ReviewkitError(f"'{reason}' is not one of the protocol's exclusion reasons",
                                 hint="; ".join(reasons))
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine, write=True) as session:
        who = require_reviewer(session, reviewer, "screener")
        # Locked before its decisions are read, so two screeners cannot both take its last place.
        if store.record(session, record_id, lock=True) is None:
            raise ReviewkitError(f"no record {record_id}")
        # One record's eligibility, not every record's: the screen writes each key press this way.
        if not _is_candidate(session, record_id, stage, required):
            where = "it is a removed duplicate" if stage == "ta" else "it has not passed title/abstract"
            raise ReviewkitError(f"record {record_id} is not up for {STAGES[stage]} screening: {where}")
        # The adjudicator settled the record on the decisions as they stood; a screener changing
        # theirs afterwards would leave an outcome that no longer follows from what is stored.
        if store.adjudication_row(session, record_id, stage) is not None:
            if store.latest_decision(session, record_id, who.id, stage) is None:  # type: ignore[arg-type]
                # Neutral for someone who never decided it: "adjudicated" would reveal a conflict.
                raise ReviewkitError(f"record {record_id} is not open for {who.name}'s decision at "
                                     f"{STAGES[stage]}")
            raise ReviewkitError(f"record {record_id} has been adjudicated at {STAGES[stage]}; "
                                 "its decisions are final")
        decisions = _decisions(session, record_id, stage)
        if (full := quota_refusal(record_id, stage, cast(int, who.id), decisions, required)) is not None:
            raise ReviewkitError(full)
        if stage == "ta":
            decisions[cast(int, who.id)] = decision
            _keep_full_text(session, record_id, resolve(decisions, required, stage="ta"))  # type: ignore[arg-type]
        else:
            _refuse_not_retrieved(session, record_id)
        store.add_decision(session, record_id=record_id, reviewer=who, stage=stage, decision=decision,
                           reason=reason, note=note)
        return _state(session, record_id, stage, required)


def undo_decision(review: Review, reviewer: str | None, record_id: int, stage: str) -> RecordScreening:
    """Withdraw the reviewer's current decision (a retraction row; nothing is deleted)."""
    stage = _check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine, write=True) as session:
        who = require_reviewer(session, reviewer, "screener")
        assert who.id is not None
        latest = store.latest_decision(session, record_id, who.id, stage)
        if latest is None or latest.decision == "retracted":
            raise ReviewkitError(f"{who.name} has no decision on record {record_id} to undo")
        if store.adjudication_row(session, record_id, stage) is not None:
            raise ReviewkitError(f"record {record_id} has been adjudicated at {STAGES[stage]}; "
                                 "its decisions are final")
        if stage == "ta":
            decisions = _decisions(session, record_id, "ta")
            decisions.pop(who.id, None)
            _keep_full_text(session, record_id, resolve(decisions, required, stage="ta"))  # type: ignore[arg-type]
        store.add_decision(session, record_id=record_id, reviewer=who, stage=stage,
                           decision="retracted", reason=None, note=None)
        return _state(session, record_id, stage, required)


def decision_view(row: ScreeningDecisionRow, names: dict[int, str]) -> DecisionView:
    """A decision row as shown to someone allowed to see it (names: reviewer id → name)."""
    return DecisionView(names.get(row.reviewer_id, "?"), row.decision, row.reason, row.note, row.created_at)


def other_decisions(review: Review, reviewer: str | None, record_id: int, stage: str) -> tuple[DecisionView, ...]:
    """Other reviewers' decisions on a record; refused while blinding holds for this reviewer."""
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = require_reviewer(session, reviewer, "screener")
        current = store.decisions_on(session, record_id, stage)
        own = current.get(who.id)  # type: ignore[arg-type]
        state = _state(session, record_id, stage, required)
        if is_blind_to_others(own.decision if own else None, state.outcome):  # type: ignore[arg-type]
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


def screening_queue(review: Review, reviewer: str | None, stage: str) -> list[int]:
    """Records awaiting this reviewer's decision at a stage, in import order.

    A record leaves everyone's queue once it has the decisions the protocol asks for, and at full text
    once its report is marked not retrieved (it takes no decision then: `reviewkit full-text` marks it
    retrieved, and it comes back).
    """
    _check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = require_reviewer(session, reviewer, "screener")
        candidates = _awaiting(session, stage, required)
        decisions = queries.current_decisions(session, stage)
        adjudicated = queries.adjudications(session, stage)
    return sorted(
        rid for rid in candidates
        if who.id not in decisions.get(rid, {})
        and rid not in adjudicated
        and len(decisions.get(rid, {})) < required
    )


def screening_progress(review: Review, reviewer: str | None, stage: str) -> ScreeningProgress:
    """How many records this reviewer has decided, how many are left, and conflicts waiting."""
    stage = _check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = require_reviewer(session, reviewer, "screener")
        candidates = stage_candidates(session, stage, required)
        awaiting = _awaiting(session, stage, required, candidates)
        decisions = queries.current_decisions(session, stage)
        adjudicated = queries.adjudications(session, stage)
    mine = sum(1 for rid in candidates if who.id in decisions.get(rid, {}))
    left = sum(
        1 for rid in awaiting
        if who.id not in decisions.get(rid, {}) and rid not in adjudicated
        and len(decisions.get(rid, {})) < required
    )
    conflicts = sum(
        resolve(decisions.get(rid, {}), required, adjudicated.get(rid), stage=stage).outcome == "conflict"
        for rid in candidates
    )
    return ScreeningProgress(mine, left, conflicts)


def list_conflicts(review: Review, actor: str | None, stage: str) -> list[Conflict]:
    """Records in conflict at a stage, with every decision and note (adjudicators and leads only)."""
    stage = _check_stage(stage)
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        who = reviewer_in_roles(session, actor, ("adjudicator", "lead"))
        del who
        candidates = stage_candidates(session, stage, required)
        names = store.reviewer_names(session)
        out = []
        decisions = queries.current_decisions(session, stage)
        adjudicated = queries.adjudications(session, stage)
        for rid in sorted(candidates):
            if resolve(decisions.get(rid, {}), required, adjudicated.get(rid), stage=stage).outcome != "conflict":
                continue
            row = store.record(session, rid)
            views = tuple(decision_view(r, names) for r in store.decisions_on(session, rid, stage).values())
            out.append(Conflict(rid, row.title if row else "", stage, views))
        return out


def reviewer_in_roles(session: Session, name: str | None, roles: tuple[str, ...]) -> ReviewerRow:
    """The acting reviewer, who must hold one of `roles`."""
    for role in roles:
        try:
            return require_reviewer(session, name, role)
        except PermissionDenied:
            continue
    raise PermissionDenied(f"reviewer '{name}' is not {article(roles[0])} {' or '.join(roles)}")


def _reason_with_exclusion_only(decision: str, reason: str | None) -> None:
    # The rule `decisions import` applies too, so whatever is stored exports and imports again.
    if reason and decision != "exclude":
        raise ReviewkitError(f"a reason goes only with an exclusion, not with {decision}", hint="put the text in the note")


def resolve_conflict(
    review: Review, adjudicator: str | None, record_id: int, stage: str, decision: str, *,
    reason: str | None = None, note: str | None = None,
) -> RecordScreening:
    """The adjudicator's final decision on a record in conflict (adjudicators only).

    Also the reason counted for a report every screener excluded at full text for different reasons
    (domain.screening.is_reason_dispute): an exclusion, with the reason PRISMA is to count.
    """
    stage = _check_stage(stage)
    if decision not in ("include", "exclude"):
        # Not maybe: the adjudicator settles the record; at full text, whether the study is eligible.
        raise ReviewkitError(f"an adjudication is include or exclude, not '{decision}'",
                             hint="the adjudicator settles the record: it goes on (include) or not (exclude)")
    _reason_with_exclusion_only(decision, reason)
    reasons = review.protocol.screening.exclusion_reasons
    if stage == "ft" and decision == "exclude" and reason not in reasons:
        raise ReviewkitError("a full-text exclusion needs one of the protocol's reasons", hint="; ".join(reasons))
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine, write=True) as session:
        who = require_reviewer(session, adjudicator, "adjudicator")
        if store.record(session, record_id) is None:
            raise ReviewkitError(f"no record {record_id}")
        rows = store.decisions_on(session, record_id, stage)
        own = resolve({r: row.decision for r, row in rows.items()}, required, stage=stage)  # type: ignore[misc]
        adjudicated = store.adjudication_row(session, record_id, stage) is not None
        refusal = adjudication_refusal(record_id, stage, cast(Decision, decision), own.outcome,
                                       (row.reason for row in rows.values()), adjudicated)
        if refusal is not None:
            raise ReviewkitError(refusal)
        if stage == "ta":  # a re-adjudication could take the record out of full text
            _keep_full_text(session, record_id,
                            resolve(_decisions(session, record_id, "ta"), required, decision,  # type: ignore[arg-type]
                                    stage="ta"))
        else:
            _refuse_not_retrieved(session, record_id)
        store.add_adjudication(session, record_id=record_id, adjudicator=who, stage=stage,
                               decision=decision, reason=reason, note=note)
        return _state(session, record_id, stage, required)


def set_full_text(
    review: Review, actor: str | None, record_id: int, status: str, *,
    location: str | None = None, note: str | None = None,
) -> None:
    """Record a full-text retrieval status: sought, retrieved (with a path or URL), not_retrieved."""
    if status not in FULL_TEXT_STATUSES:
        raise ReviewkitError(f"unknown full-text status '{status}' (use {', '.join(FULL_TEXT_STATUSES)})")
    if status == "retrieved" and not location:
        raise ReviewkitError("a retrieved full text needs its file path or URL")
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor)  # anyone on the team; the audit names them
        if store.record(session, record_id, lock=True) is None:  # locked: a decision checks the status
            raise ReviewkitError(f"no record {record_id}")
        # PRISMA counts retrieval only of reports sought, the records that passed title/abstract: a status
        # on any other record would be stored and audited but counted nowhere.
        if (where := _not_at_full_text(session, who, record_id, review.protocol.screening.screeners_per_record)):
            raise ReviewkitError(f"{where}; only records that passed title/abstract screening go to full text")
        if status == "not_retrieved" and (_decisions(session, record_id, "ft")
                                          or store.adjudication_row(session, record_id, "ft") is not None):
            raise ReviewkitError(f"record {record_id} has full-text decisions, so its full text was assessed; "
                                 "it cannot be marked not retrieved",
                                 hint="to take it back, have its full-text decisions undone first")
        store.add_full_text(session, record_id=record_id, status=status, location=location, note=note,
                            reviewer=who)


def _not_at_full_text(session: Session, who: ReviewerRow, record_id: int, required: int) -> str | None:
    """Where a record stands if it is not at full text (the start of a refusal), or None if it is."""
    primary = queries.duplicate_primaries(session).get(record_id)
    if primary is not None:
        return f"record {record_id} is a removed duplicate of record {primary}, which stands for it"
    state = _state(session, record_id, "ta", required)
    if state.outcome == "included":
        return None
    own = store.decisions_on(session, record_id, "ta").get(cast(int, who.id))
    if (state.outcome in ("conflict", "excluded") and "lead" not in who.roles
            and is_blind_to_others(own.decision if own else None, state.outcome)):  # type: ignore[arg-type]
        # Said as the record card says it: someone who has not decided it is not told how others did.
        return f"record {record_id} has not passed title/abstract screening"
    by = " by the adjudicator" if state.adjudicated else ""
    return {
        "unscreened": f"record {record_id} has not been screened at title/abstract yet",
        "in_progress": f"record {record_id} is still being screened at title/abstract",
        "conflict": f"record {record_id} is in conflict at title/abstract, waiting for the adjudicator",
        "excluded": f"record {record_id} was excluded at title/abstract{by}",
    }[state.outcome]


def record_cards(review: Review, reviewer: str | None, record_ids: list[int], stage: str) -> list[RecordCard]:
    """Several records as this reviewer may see them, read in one session (the screen's look-ahead).

    Ids that no longer exist are left out. Screeners read cards to decide; adjudicators and leads
    read them on the conflicts screen. Blinding is the same for every role: a reviewer who has not
    decided a record (an adjudicator or lead who does not screen it never has) is not shown how
    others decided on the card; the conflicts screen lists those decisions through list_conflicts,
    which only adjudicators and leads may call.
    """
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
            own_row = current.get(who.id)  # type: ignore[arg-type]
            adjudication = adjudicated.get(record_id)
            state = resolve({rid: r.decision for rid, r in current.items()}, required,  # type: ignore[misc]
                            adjudication.decision if adjudication else None, stage=stage)  # type: ignore[arg-type]
            blind = is_blind_to_others(own_row.decision if own_row else None, state.outcome)  # type: ignore[arg-type]
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


def _is_candidate(session: Session, record_id: int, stage: str, required: int) -> bool:
    """Whether one record takes part in a stage (as stage_candidates, without reading every record)."""
    if record_id in queries.removed_duplicates(session):
        return False
    return stage == "ta" or _state(session, record_id, "ta", required).outcome == "included"

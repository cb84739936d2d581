"""Provides an extraction's finished state: an extractor finishes (or reopens) their extraction of a study,
and a study as a reviewer sees it, with where its extractions stand (what extract_access decides on).

A finished extraction cannot change (extract.arm_in and value_in refuse it: extract_access.check_editable);
it may be reopened until the comparison opens, that is until every independent extraction of the study
is finished (at least the protocol's number); after that, changes go into the consensus.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewkit.domain.extraction import Missing, describe_missing, missing_required
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import Protocol
from reviewkit.services.common import acting_reviewer
from reviewkit.services.extract_access import (
    comparison_open,
    may_compare,
    oversees,
    study_extractors,
)
from reviewkit.services.extract_checks import spec_of
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import lock_transaction, retry_conflicts, session_scope
from reviewkit.wording import noun

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow, StudyRow

#: Advisory lock keys (PostgreSQL) of one study's finished states: this plus the study id, so that a
#: finish and a reopen of one study queue rather than both deciding on what the other changes.
_STATUS_LOCK = 0x726B_0002 << 32


@dataclass(frozen=True)
class StudyView:
    """A study: its label, NCT id and how many reports are linked to it; asked for by a reviewer
    (extract.list_studies, extract.study_form), where its extraction stands for them."""

    id: int
    label: str
    nct_id: str | None
    reports: int = 0
    #: Whether a report of the study is included at full text (the others are listed after, marked).
    included: bool = True
    #: How many independent extractions of it are finished (a count only: blinding hides who).
    finished: int = 0
    #: Whether the reviewer's own extraction of it is finished.
    mine_finished: bool = False
    #: Who finished, named only to those who may compare any study (a lead, an adjudicator).
    finished_by: tuple[str, ...] = ()
    #: Whether the reviewer may compare its extractions now.
    compare_open: bool = False
    #: Whether the reviewer is a lead or an adjudicator, who may compare any study at any time.
    oversees: bool = False
    #: Whether the comparison is open to the study's extractors (every independent extraction, at least
    #: the protocol's number, finished): told only to a lead, an adjudicator or a finished extractor.
    extractors_compare: bool = False


@dataclass(frozen=True)
class StatusChange:
    """What finish_extraction or reopen_extraction did: the study as the extractor now sees it, and
    whether anything changed (False: it already was in that state)."""

    study: StudyView
    changed: bool


def study_view(review: Review, row: StudyRow, reports: int, who: ReviewerRow | None, finished: set[int],
               names: Mapping[int, ReviewerRow], *, extractors: Collection[int] = (),
               included: bool = True) -> StudyView:
    """A study as `who` sees it: its finished extractions counted, named only to a lead or an adjudicator
    (`who` None: no reviewer asked, no extraction state); `extractors`: the study's (extract_access)."""
    assert row.id is not None
    if who is None:
        return StudyView(row.id, row.label, row.nct_id, reports, included)
    named = oversees(who)
    required = review.protocol.extraction.extractors_per_study
    done = comparison_open(finished, extractors, required) and (named or who.id in finished)
    return StudyView(row.id, row.label, row.nct_id, reports, included, len(finished), who.id in finished,
                     tuple(sorted(names[i].name for i in finished if i in names)) if named else (),
                     may_compare(who, finished, extractors, required), named, done)


def _mine(session: Session, review: Review, who: ReviewerRow, study_id: int) -> tuple[StudyRow, set[int]]:
    """The study and its finished extractors, once `who` is known to be one of its extractors."""
    lock_transaction(session, _STATUS_LOCK + study_id)
    row = store.study(session, study_id)
    if row is None:
        raise ReviewkitError(f"no study {study_id}", hint="list them with `reviewkit extract studies`")
    finished = store.finished_extractors(session, study_id)
    if who.id not in finished and who.id not in study_extractors(session, study_id):
        raise ReviewkitError(f"{who.name} has no extraction of study {study_id}",
                             hint="only a study's extractors finish their extraction of it: enter its values first")
    return row, finished


def _result(session: Session, review: Review, who: ReviewerRow, row: StudyRow, changed: bool) -> StatusChange:
    assert row.id is not None
    view = study_view(review, row, store.report_counts(session).get(row.id, 0), who,
                      store.finished_extractors(session, row.id), store.reviewers_by_id(session),
                      extractors=study_extractors(session, row.id))
    return StatusChange(view, changed)


def missing_fields(session: Session, protocol: Protocol, study_id: int, author: store.Author) -> list[Missing]:
    """The protocol's required study and arm fields that `author`'s extraction (or the consensus) of a
    study lacks (domain.extraction.missing_required)."""
    values = store.current_values(session, [study_id]).get((study_id, author), {})
    arms = store.current_arms(session, [study_id]).get((study_id, author), {})
    form = protocol.extraction
    return missing_required([spec_of(f) for f in form.fields], [spec_of(f) for f in form.arm_fields],
                            {k[3]: r.value for k, r in values.items() if not k[0] and not k[1]},
                            {label: dict(a.fields) for label, a in arms.items()})


@retry_conflicts
def finish_extraction(review: Review, actor: str | None, study_id: int) -> StatusChange:
    """Mark `actor`'s extraction of a study finished: it cannot change any more (until reopened), and the
    comparison opens once every independent extraction (at least the protocol's number) is. Finishing a
    finished extraction changes nothing; a reviewer with no values or arms of the study is refused, and
    so is an extraction without a field the protocol's form marks required (study fields, and each arm's
    arm fields), naming them: the comparison would otherwise open on an incomplete extraction."""
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor)
        row, finished = _mine(session, review, who, study_id)
        if who.id in finished:
            return _result(session, review, who, row, False)
        missing = missing_fields(session, review.protocol, study_id, (False, who.id))
        if missing:
            raise ReviewkitError(
                f"{who.name}'s extraction of study {study_id} ({row.label}) cannot be finished: required "
                f"{noun(sum(len(m.fields) for m in missing), 'field')} missing: {describe_missing(missing)}",
                hint=f"enter them (`reviewkit extract set {study_id} FIELD VALUE`, `reviewkit extract arm "
                     f"{study_id} ARM --field NAME=VALUE`, or the TUI's form), then finish")
        store.add_status(session, study_id=study_id, extractor=who, status=store.FINISHED, actor=who.name,
                         previous=store.OPEN)
        return _result(session, review, who, row, True)


@retry_conflicts
def reopen_extraction(review: Review, actor: str | None, study_id: int) -> StatusChange:
    """Open `actor`'s finished extraction of a study again, for changes; refused (for everybody) once the
    study's comparison is open, when changes go into the consensus. An open one stays as it is."""
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor)
        row, finished = _mine(session, review, who, study_id)
        if who.id not in finished:
            return _result(session, review, who, row, False)
        required = review.protocol.extraction.extractors_per_study
        if comparison_open(finished, study_extractors(session, study_id), required):
            raise ReviewkitError(f"{who.name}'s extraction of study {study_id} cannot be reopened: its comparison "
                                 "is open (every independent extraction of it is finished)",
                                 hint=f"changes go into the consensus: `reviewkit extract consensus {study_id}`")
        store.add_status(session, study_id=study_id, extractor=who, status=store.OPEN, actor=who.name,
                         previous=store.FINISHED)
        return _result(session, review, who, row, True)


def describe(change: StatusChange, required: int) -> str:
    """A line saying where `change`'s extraction now stands, for the CLI and the TUI: a lead or an
    adjudicator is told they may compare it now and how many extractions are finished; an extractor,
    when the comparison is open to them, or that it waits for every extraction, not how many others there are."""
    s = change.study
    state = ("finished" if s.mine_finished else "open again") if change.changed else \
        f"already {'finished' if s.mine_finished else 'open'}"
    if s.extractors_compare:
        tail = f"the comparison is open (`reviewkit extract differences --study {s.id}`)"
    elif s.oversees:
        tail = (f"{s.finished} of {required} extractions finished; the comparison is open to leads and "
                f"adjudicators, who may always compare (`reviewkit extract differences --study {s.id}`); to its "
                "extractors once every one is finished")
    elif s.mine_finished:
        tail = f"the comparison opens once every independent extraction of it (at least {required}) is finished"
    else:
        tail = (f"finish it (`reviewkit extract finish {s.id}`): the comparison opens once every independent "
                f"extraction of it (at least {required}) is finished")
    return f"Your extraction of study {s.id} ({s.label}) is {state}; {tail}"

"""Provides who may see a study's extractors' values side by side: the blinding rule of dual extraction.

Each extractor's values are their own until the comparison. As with risk of bias (assess_view.is_involved,
all_finished), a lead or an adjudicator may compare any study; an extractor of the study may once the
protocol's number of independent extractions exist (extraction has no "finished" state: the count is
what consensus waits for); nobody else may. The comparison, the consensus call and the extraction
table all apply this one rule, so none of them shows more than another.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from reviewkit.errors import PermissionDenied
from reviewkit.services.assess_view import CONSENSUS_ROLES
from reviewkit.store import extraction as store

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow


def extractor_ids(keys: Iterable[tuple[int, store.Author]], study_id: int) -> set[int]:
    """The reviewers with independent (non-consensus) rows for the study, from current_arms/current_values keys."""
    return {a[1] for sid, a in keys if sid == study_id and not a[0] and a[1] is not None}


def may_compare(who: ReviewerRow, extractors: Collection[int], required: int) -> bool:
    """Whether `who` may see every extractor's values of a study that `extractors` extracted."""
    if set(who.roles) & set(CONSENSUS_ROLES):
        return True
    return who.id in extractors and len(extractors) >= required


def check_compare(who: ReviewerRow, study_id: int, extractors: Collection[int], required: int) -> None:
    """Refuse `who` the comparison of a study unless may_compare. The refusal names neither the other
    extractors nor how many there are so far: that too is what blinding hides."""
    if may_compare(who, extractors, required):
        return
    if who.id in extractors:
        raise PermissionDenied(f"{who.name} may not compare study {study_id}'s extractions yet: the comparison "
                               f"waits until {required} independent extractions exist")
    raise PermissionDenied(f"{who.name} may not compare study {study_id}'s extractions: only its extractors, "
                           "leads and adjudicators may")


def check_consensus_writer(session: Session, who: ReviewerRow, study_id: int, required: int) -> None:
    """Refuse `who` a write to a study's consensus unless they may compare its extractions (check_compare):
    a consensus is settled from the comparison, so writing it is no less than seeing it."""
    if set(who.roles) & set(CONSENSUS_ROLES):
        return  # may_compare would say so too; this skips reading the study's extractions
    keys = [*store.current_arms(session, [study_id]), *store.current_values(session, [study_id])]
    try:
        check_compare(who, study_id, extractor_ids(keys, study_id), required)
    except PermissionDenied as exc:
        raise PermissionDenied(f"{who.name} may not write study {study_id}'s consensus: {exc.message}",
                               hint="a lead or an adjudicator may; an extractor of the study once it has "
                                    f"its {required} extractions") from None

"""Provides a reviewer's screening queue ordered by predicted relevance, and the stopping aid."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewkit.domain.prioritise import Prioritiser, tfidf_matrix
from reviewkit.domain.stopping import StoppingEstimate, stopping_estimate
from reviewkit.services.project import Review
from reviewkit.services.screen_queue import screening_queue
from reviewkit.services.screen_state import check_stage, require_reviewer, stage_candidates
from reviewkit.store import queries
from reviewkit.store.db import session_scope, stored_id

if TYPE_CHECKING:
    from sqlmodel import Session

#: TF-IDF matrices by (database, stage, ranker, candidate ids): features do not depend on decisions, so
#: they are built once per review state and only the classifier is refit as decisions come in.
_MATRICES: dict[tuple[str, str, str, tuple[int, ...]], object] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class PrioritisedQueue:
    """The records awaiting a reviewer, best first, and where their screening stands."""

    order: tuple[int, ...]
    #: Whether a model ranked them (it needs one include and one exclude of the reviewer's own).
    fitted: bool
    reason: str
    stopping: StoppingEstimate


def prioritised_queue(review: Review, reviewer: str | None, stage: str = "ta") -> PrioritisedQueue:
    """Order the reviewer's queue by a model trained on the reviewer's OWN decisions only.

    Training on anyone else's decisions would let the order leak them (a record sinks because a
    colleague excluded it), breaking blinding; so only this reviewer's labels are used.

    The stopping aid's urn is the reviewer's own: the records they decided and those still in their queue.
    A record others have given its decisions (three screeners, two a record) or marked not retrieved at
    full text is none of theirs to find; counted as unscreened, it held the recall bound down (a reviewer
    with an empty queue read "recall ≥ 60%"). The queue's length is theirs to see already.
    """
    waiting = screening_queue(review, reviewer, stage)
    required = review.protocol.screening.screeners_per_record
    stage = check_stage(stage)
    with session_scope(review.engine) as session:
        candidates, relevant = _own_labels(session, reviewer, stage, required)
        model = review.protocol.screening.prioritise_model
        # The model is in the key: naive Bayes reads titles twice, so its features differ.
        key = (review.database, stage, model, tuple(candidates))
        with _LOCK:
            matrix = _MATRICES.get(key)
        if matrix is None:
            texts = queries.record_texts(session, set(candidates))
            matrix = tfidf_matrix([texts.get(rid, "") for rid in candidates], model=model)
            with _LOCK:
                _MATRICES.clear()  # one review state at a time is all a reviewer's process needs
                _MATRICES[key] = matrix
    index = {rid: i for i, rid in enumerate(candidates)}
    ranking = Prioritiser(matrix=matrix, model=model).ranking({index[rid]: flag for rid, flag in relevant})
    waiting_set = set(waiting)
    order = tuple(candidates[i] for i in ranking.order if candidates[i] in waiting_set)
    stop = stopping_estimate([flag for _, flag in relevant], len(relevant) + len(waiting))
    return PrioritisedQueue(order, ranking.fitted, ranking.reason, stop)


def stopping_aid(review: Review, reviewer: str | None, stage: str = "ta", *, left: int | None = None
                 ) -> StoppingEstimate:
    """The stopping aid alone, from the reviewer's own decisions: what the screening screen shows
    after each decision, between the retrainings of prioritised_queue (which it costs a fraction of).
    `left`: the reviewer's queue's length when the caller has just counted it (screening_progress)."""
    stage = check_stage(stage)
    if left is None:
        left = len(screening_queue(review, reviewer, stage))
    with session_scope(review.engine) as session:
        _, relevant = _own_labels(session, reviewer, stage, review.protocol.screening.screeners_per_record)
    return stopping_estimate([flag for _, flag in relevant], len(relevant) + left)


def _own_labels(
    session: Session, reviewer: str | None, stage: str, required: int,
) -> tuple[list[int], list[tuple[int, bool]]]:
    """The stage's records (by id) and the reviewer's own decisions on them as (record, relevant), in
    the order screened; a maybe moves on as an include does, so it counts as relevant."""
    who = require_reviewer(session, reviewer, "screener")
    candidates = sorted(stage_candidates(session, stage, required))
    own = queries.own_decisions_in_order(session, stored_id(who), stage)
    # Only decisions on records still in the stage count, for the ranker and the stopping aid alike.
    # A decision on a record dedup has since removed was real, but that paper is now its group's
    # primary: counted as well, it would be screened twice out of an urn that holds it once, its
    # exclusion lengthening the run of irrelevant records, and more decisions than records.
    in_stage = set(candidates)
    return candidates, [(rid, decision != "exclude") for rid, decision in own if rid in in_stage]

"""Provides who may see a study's extractors' values side by side: the blinding rule of dual extraction.

Each extractor's values are their own until the comparison. As with risk of bias (assess_view.is_involved,
all_finished), an extractor marks their extraction of a study finished (extract_status), a finished
extraction cannot change, and the comparison opens once EVERY independent extraction of the study is
finished, at least the protocol's number (reopening is possible only until then). An extractor of the
study may then compare it; a lead or an adjudicator may compare any study at any time; nobody else may.
The comparison, the consensus call and the extraction table all apply this one rule, so none of them
shows more than another. A consensus is written only once the comparison is open, by anybody, leads
and adjudicators included (check_consensus_writer). A study takes at most the protocol's number of
independent extractors (check_new_extractor), as risk of bias takes its number of assessors.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services.assess_view import CONSENSUS_ROLES
from reviewkit.store import extraction as store

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ArmRow, ExtractionValueRow, ReviewerRow


def extractors_of(arms: Mapping[tuple[int, store.Author], Mapping[str, ArmRow]],
                  values: Mapping[tuple[int, store.Author], Mapping[store.ValueKey, ExtractionValueRow]]
                  ) -> dict[int, set[int]]:
    """study id → the reviewers whose own (independent) extraction of it holds something: an arm not
    removed or a value not cleared, from store.current_arms and store.current_values."""
    out: dict[int, set[int]] = {}
    for (sid, (consensus, rid)), rows in arms.items():
        if not consensus and rid is not None and rows:
            out.setdefault(sid, set()).add(rid)
    for (sid, (consensus, rid)), found in values.items():
        if not consensus and rid is not None and any(r.value is not None for r in found.values()):
            out.setdefault(sid, set()).add(rid)
    return out


def extractors_by_study(session: Session, study_ids: Iterable[int] | None = None) -> dict[int, set[int]]:
    """extractors_of the studies (default: every study), read from the store."""
    ids = None if study_ids is None else list(study_ids)
    return extractors_of(store.current_arms(session, ids), store.current_values(session, ids))


def study_extractors(session: Session, study_id: int) -> set[int]:
    """The reviewers with an independent extraction of the study (extractors_of)."""
    return extractors_by_study(session, [study_id]).get(study_id, set())


def comparison_open(finished: Collection[int], extractors: Collection[int], required: int) -> bool:
    """Whether a study's comparison is open to its extractors: every one of its independent extractions
    is finished, and at least `required` are."""
    return len(finished) >= required and set(extractors) <= set(finished)


def oversees(who: ReviewerRow) -> bool:
    """Whether `who` is a lead or an adjudicator: they may compare any study at any time."""
    return bool(set(who.roles) & set(CONSENSUS_ROLES))


def may_compare(who: ReviewerRow, finished: Collection[int], extractors: Collection[int], required: int) -> bool:
    """Whether `who` may see every extractor's values of a study whose finished extractions are
    `finished` and whose extractors are `extractors`. A lead or an adjudicator who is one of the
    study's extractors is blind as any extractor is (as in risk of bias): seeing the other's values
    while their own extraction is open would let them copy."""
    if oversees(who) and who.id not in extractors and who.id not in finished:
        return True
    return who.id in finished and comparison_open(finished, extractors, required)


def _waits(required: int) -> str:
    return f"waits until every independent extraction of it (at least {required}) is finished"


def check_compare(who: ReviewerRow, study_id: int, extractors: Collection[int], finished: Collection[int],
                  required: int) -> None:
    """Refuse `who` the comparison of a study unless may_compare. The refusal names neither the other
    extractors nor how many there are or have finished so far: that too is what blinding hides."""
    if may_compare(who, finished, extractors, required):
        return
    if who.id in finished:
        raise PermissionDenied(f"{who.name} may not compare study {study_id}'s extractions yet: the comparison "
                               f"{_waits(required)}")
    if who.id in extractors:
        raise PermissionDenied(f"{who.name} may not compare study {study_id}'s extractions yet: finish your own "
                               f"extraction first (`reviewkit extract finish {study_id}`); the comparison then "
                               f"{_waits(required)}")
    raise PermissionDenied(f"{who.name} may not compare study {study_id}'s extractions: only its extractors, "
                           "leads and adjudicators may")


def check_study_compare(session: Session, who: ReviewerRow, study_id: int, required: int) -> None:
    """check_compare with the study's extractors and finished extractions read from the store."""
    check_compare(who, study_id, study_extractors(session, study_id), store.finished_extractors(session, study_id),
                  required)


def check_consensus_writer(session: Session, who: ReviewerRow, study_id: int, required: int) -> None:
    """Refuse `who` a write to a study's consensus unless its comparison is open (every independent
    extraction finished, at least `required`: for everybody, leads and adjudicators included, as a RoB
    consensus waits for every assessment) and `who` may compare it (check_compare): a consensus is
    settled from the finished extractions, so writing it is no less than seeing them.

    The study row is locked first (PostgreSQL; SQLite's write transaction serialises anyway): two consensus
    writers at once both read what the consensus held, and the second's change was audited against that,
    not the first's value it replaced. Locked, the second waits and reads the first's."""
    store.study(session, study_id, lock=True)
    extractors = study_extractors(session, study_id)
    finished = store.finished_extractors(session, study_id)
    hint = (f"once every independent extraction of the study (at least {required}) is finished, a lead, an "
            "adjudicator or one of its extractors may")
    try:
        check_compare(who, study_id, extractors, finished, required)
    except PermissionDenied as exc:
        raise PermissionDenied(f"{who.name} may not write study {study_id}'s consensus: {exc.message}",
                               hint=hint) from None
    if not comparison_open(finished, extractors, required):
        # Only a lead or an adjudicator gets here (an extractor who may compare finds it open): they
        # may see who extracted, so the counts are theirs to know.
        total = max(required, len(set(extractors) | set(finished)))
        raise PermissionDenied(f"{who.name} may not write study {study_id}'s consensus yet: it {_waits(required)} "
                               f"({len(finished)} of {total} finished)",
                               hint="each extractor finishes theirs with `reviewkit extract finish "
                                    f"{study_id}`; `reviewkit extract differences --study {study_id}` compares "
                                    "them meanwhile")


def check_editable(session: Session, who: ReviewerRow, study_id: int, required: int) -> None:
    """Refuse a change to `who`'s own (independent) extraction of a study once it is finished: reopened
    first while the comparison is not open, and never after (the change then goes into the consensus)."""
    finished = store.finished_extractors(session, study_id)
    if who.id not in finished:
        return
    if comparison_open(finished, study_extractors(session, study_id), required):
        raise ReviewkitError(f"{who.name}'s extraction of study {study_id} is finished and compared; changes go "
                             "into the consensus", hint=f"`reviewkit extract consensus {study_id} --value KEY=VALUE`")
    raise ReviewkitError(f"{who.name}'s extraction of study {study_id} is finished; reopen it first",
                         hint=f"`reviewkit extract reopen {study_id}` (possible until the comparison opens)")


def check_new_extractor(session: Session, who: ReviewerRow, study_id: int, required: int) -> None:
    """Refuse `who` the start of an extraction of a study (their first arm or value) once the study has
    its `required` independent extractors, as `rob start` refuses a study's extra assessor. The study
    row is locked (PostgreSQL) before the extractors are counted, so two newcomers at once queue and the
    second counts the first; SQLite's write transaction serialises them anyway."""
    if who.id in study_extractors(session, study_id):
        return  # already one of them: no lock needed
    store.study(session, study_id, lock=True)
    taken = study_extractors(session, study_id) | store.finished_extractors(session, study_id)
    if who.id in taken or len(taken) < required:
        return
    raise ReviewkitError(f"study {study_id} already has its {required} extractors",
                         hint="the protocol's extraction.extractors_per_study: a study takes no further "
                              "independent extraction")

"""Provides the counts at each PRISMA stage as the review stands (for `status` and the dashboard)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reviewkit.domain.screening import Outcome, RecordScreening, Stage, resolve
from reviewkit.services.project import Review
from reviewkit.store import dedup as store_dedup
from reviewkit.store import queries
from reviewkit.store import screening as store_screening
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class StageCounts:
    """Screening outcomes at one stage."""

    unscreened: int = 0
    in_progress: int = 0
    conflict: int = 0
    included: int = 0
    excluded: int = 0
    #: Full text: records whose report could not be retrieved (PRISMA's "Reports not retrieved"),
    #: which no one screens; not counted as "not started".
    not_retrieved: int = 0
    #: Full text: of the conflicts, those only a maybe makes (RecordScreening.from_maybe), which a review
    #: screened before a full-text maybe went to the adjudicator did not have.
    conflict_from_maybe: int = 0

    @property
    def decided(self) -> int:
        """Records whose outcome is settled."""
        return self.included + self.excluded


#: The PRISMA column kinds in the order `import --kind` lists them; a source name found under several
#: kinds keeps its plain name for the first and is shown as "name (kind)" for the others.
KIND_ORDER = ("database", "register", "website", "organisation", "citation", "other")
#: The kinds of PRISMA's left column ("Identification of studies via databases and registers"); records
#: brought only by other kinds go to its "other methods" column (record_columns).
DATABASES_AND_REGISTERS = ("database", "register")


@dataclass(frozen=True)
class Columns:
    """Where each record counts in PRISMA's two columns (prisma2020.md §3 and §5 item 7).

    A unique record (a duplicate group's primary, or a record in no group) stands for its group; the
    group counts in the databases and registers column when any member came from a database or register
    run, else in the other-methods column. So a report found both ways is counted once, on the left,
    whichever copy dedup kept as the primary and in whatever order the files came.
    """

    #: Records a database or register run brought (PRISMA's "Records identified from" on the left).
    dbr_found: frozenset[int]
    #: Records a website, organisation, citation searching or other run brought (the right column's).
    other_found: frozenset[int]
    #: Removed duplicates (members of a live group other than its primary).
    removed: frozenset[int]
    #: Unique records counted in the left column ("Records screened") and in the other-methods column.
    dbr_unique: frozenset[int]
    other_unique: frozenset[int]

    @property
    def dbr_duplicates(self) -> int:
        """The left column's "Duplicate records removed": its records beyond one per group."""
        return len(self.dbr_found) - len(self.dbr_unique)

    @property
    def other_removed(self) -> int:
        """Removed duplicates the left column's box does not count (other-methods copies)."""
        return len(self.removed) - self.dbr_duplicates


def record_columns(session: Session) -> Columns:
    """Each unique record's PRISMA column, by its duplicate group's members (see Columns)."""
    kinds = queries.record_run_kinds(session)
    primaries = queries.duplicate_primaries(session)
    dbr_found = {rid for rid, ks in kinds.items() if ks & set(DATABASES_AND_REGISTERS)}
    unique = set(kinds) - set(primaries)
    dbr_unique = {rid for rid in unique if rid in dbr_found}
    dbr_unique |= {primary for removed, primary in primaries.items() if removed in dbr_found}
    other_found = {rid for rid, ks in kinds.items() if ks - set(DATABASES_AND_REGISTERS)}
    return Columns(frozenset(dbr_found), frozenset(other_found), frozenset(primaries), frozenset(dbr_unique),
                   frozenset(unique - dbr_unique))


def source_labels(by_kind: dict[tuple[str, str], int]) -> dict[str, int]:
    """(kind, source name) → records, as label → records: "PubMed 10, PubMed (register) 4".

    A name used under one kind is its own label; a name used under several kinds is told apart by
    kind, so neither count overwrites the other.
    """
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    kinds_of: dict[str, list[str]] = defaultdict(list)
    for kind, name in by_kind:
        kinds_of[name].append(kind)
    out: dict[str, int] = defaultdict(int)
    for (kind, name), n in by_kind.items():
        first = min(kinds_of[name], key=lambda k: (rank.get(k, len(rank)), k))
        out[name if kind == first else f"{name} ({kind})"] += n
    return dict(out)


@dataclass(frozen=True)
class ReviewStatus:
    """The review's counts, stage by stage."""

    title: str
    database: str
    #: Records per source label (see source_labels): a name used under two kinds appears twice.
    identified_by_source: dict[str, int] = field(default_factory=dict)
    #: Records per (kind, source name), as the database has them.
    identified_by_kind: dict[tuple[str, str], int] = field(default_factory=dict)
    records: int = 0
    duplicates_removed: int = 0
    pending_duplicate_pairs: int = 0
    #: Of the records screened and of the duplicates removed, those in PRISMA's other-methods column:
    #: the diagram's left column leaves them out, so status names them to explain the difference.
    screened_other_methods: int = 0
    removed_other_methods: int = 0
    #: Of the records excluded at title/abstract, those in the other-methods column: PRISMA's "Records
    #: excluded" is the left column's; the diagram shows these as not sought for retrieval via other methods.
    ta_excluded_other_methods: int = 0
    ta: StageCounts = StageCounts()
    ft: StageCounts = StageCounts()
    studies: int = 0

    @property
    def identified(self) -> int:
        """Records identified across all sources (PRISMA's first box)."""
        return sum(self.identified_by_source.values())

    @property
    def after_dedup(self) -> int:
        """Unique records that go to title/abstract screening."""
        return self.records - self.duplicates_removed

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready form (for `status --json`)."""
        return {
            "title": self.title,
            "database": self.database,
            "identified": self.identified,
            "identified_by_source": self.identified_by_source,
            "identified_by_kind": [{"kind": kind, "source": name, "records": n}
                                   for (kind, name), n in sorted(self.identified_by_kind.items())],
            "records": self.records,
            "duplicates_removed": self.duplicates_removed,
            "pending_duplicate_pairs": self.pending_duplicate_pairs,
            "records_screened": self.after_dedup,
            "records_screened_other_methods": self.screened_other_methods,
            "duplicates_removed_other_methods": self.removed_other_methods,
            "title_abstract_excluded_other_methods": self.ta_excluded_other_methods,
            "title_abstract": _stage_dict(self.ta),
            "full_text": {**_stage_dict(self.ft), "conflict_from_maybe": self.ft.conflict_from_maybe,
                          "not_retrieved": self.ft.not_retrieved},
            "studies": self.studies,
        }


def _stage_dict(counts: StageCounts) -> dict[str, int]:
    return {
        "unscreened": counts.unscreened,
        "in_progress": counts.in_progress,
        "conflict": counts.conflict,
        "included": counts.included,
        "excluded": counts.excluded,
    }


def stage_screenings(
    session: Session, stage: Stage, candidates: set[int], required: int
) -> dict[int, RecordScreening]:
    """Where every candidate record stands at the stage."""
    decisions = queries.current_decisions(session, stage)
    adjudicated = queries.adjudications(session, stage)
    return {rid: resolve(decisions.get(rid, {}), required, adjudicated.get(rid), stage=stage) for rid in candidates}


def stage_outcomes(
    session: Session, stage: Stage, candidates: set[int], required: int
) -> dict[int, Outcome]:
    """The outcome of every candidate record at the stage."""
    return {rid: s.outcome for rid, s in stage_screenings(session, stage, candidates, required).items()}


def count_included_studies(session: Session, included_reports: set[int]) -> int:
    """PRISMA's "Studies included in review" for these included reports (`status` and `prisma` both).

    The distinct studies the reports are linked to (links not rejected), each counted once; a
    report linked to no study stands for a study of its own, so a review that has not grouped its
    reports into studies still counts one study per included report.
    """
    links = queries.study_links(session)
    studies: set[object] = set()
    for rid in included_reports:
        studies |= links.get(rid, {("unlinked", rid)})
    return len(studies)


def included_studies(session: Session, required: int) -> set[int]:
    """The studies with a report included at full text (PRISMA's "studies included in review")."""
    unique = queries.record_ids(session) - queries.removed_duplicates(session)
    ta = stage_outcomes(session, "ta", unique, required)
    ft = stage_outcomes(session, "ft", {rid for rid, o in ta.items() if o == "included"}, required)
    return queries.studies_of_reports(session, {rid for rid, o in ft.items() if o == "included"})


def review_status(review: Review) -> ReviewStatus:
    """Count records, duplicates and screening outcomes as they stand now.

    Shown to everyone (no reviewer is asked for): blinding hides how others decided, not the review's
    progress. The counts say how many records have some but not all of their decisions ("in progress"),
    which a screener may match with their own queue; they never depend on which decision was made (an
    include, exclude or maybe waiting for the second screener counts the same), and a record's outcome
    is counted only once it has all its decisions, when it is no longer blinded to those who decided it.
    """
    required = review.protocol.screening.screeners_per_record
    with session_scope(review.engine) as session:
        by_kind = queries.identified_by_run_kind(session)
        record_ids = queries.record_ids(session)
        removed = queries.removed_duplicates(session)
        pending_pairs = store_dedup.open_pair_count(session)  # pairs already inside one group left out
        unique = record_ids - removed
        columns = record_columns(session)
        ta = stage_outcomes(session, "ta", unique, required)
        ft_candidates = {rid for rid, outcome in ta.items() if outcome == "included"}
        ft_screenings = stage_screenings(session, "ft", ft_candidates, required)
        ft = {rid: s.outcome for rid, s in ft_screenings.items()}
        not_retrieved = {rid for rid in store_screening.not_retrieved_ids(session) if ft.get(rid) == "unscreened"}
        included_reports = {rid for rid, outcome in ft.items() if outcome == "included"}
        studies = count_included_studies(session, included_reports)
    return ReviewStatus(
        title=review.protocol.title,
        database=review.database,
        identified_by_source=source_labels(by_kind),
        identified_by_kind=dict(by_kind),
        records=len(record_ids),
        duplicates_removed=len(removed & record_ids),
        pending_duplicate_pairs=int(pending_pairs),
        screened_other_methods=len(unique & columns.other_unique),
        removed_other_methods=columns.other_removed,
        ta_excluded_other_methods=sum(1 for rid in columns.other_unique if ta.get(rid) == "excluded"),
        ta=_count(ta),
        ft=_count({rid: o for rid, o in ft.items() if rid not in not_retrieved}, len(not_retrieved),
                  sum(s.from_maybe for s in ft_screenings.values())),
        studies=studies,
    )


def _count(outcomes: dict[int, Outcome], not_retrieved: int = 0, from_maybe: int = 0) -> StageCounts:
    tally: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        tally[outcome] += 1
    return StageCounts(**tally, not_retrieved=not_retrieved, conflict_from_maybe=from_maybe)

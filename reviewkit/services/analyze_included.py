"""Provides the warning an analysis gives for a study it pools that the review does not include."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reviewkit.services.status import included_studies
from reviewkit.store import queries
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from reviewkit.services.analyze import AnalysisOutput, StudyInput
    from reviewkit.services.project import Review


@dataclass(frozen=True)
class Inclusion:
    """Which studies the review includes, and which have any report linked (the warning's reason differs)."""

    included: frozenset[int]
    with_reports: frozenset[int]


def review_inclusion(review: Review) -> Inclusion:
    """The studies the review includes: those PRISMA counts in "Studies included in review" (a report of
    theirs included at full text, after adjudication), by the rule `status` and `prisma` count by."""
    with session_scope(review.engine) as session:
        return Inclusion(frozenset(included_studies(session, review.protocol.screening.screeners_per_record)),
                         frozenset(queries.studies_with_reports(session)))


def not_included_warning(label: str, *, has_reports: bool) -> str:
    """The warning for one study pooled though the review does not include it, with why."""
    why = ("no report of it is included at full text yet: excluded, in conflict, not retrieved or not screened"
           if has_reports else
           "no report is linked to it: `reviewkit studies link STUDY RECORD` links one, for screening to include")
    return f"study '{label}' is pooled but not included in the review ({why})"


def warn_not_included(output: AnalysisOutput, studies: Iterable[StudyInput], inclusion: Inclusion) -> AnalysisOutput:
    """The output, with a warning first for each study it pools that the review does not include.

    The study stays in the pooled result: a lead may pool before screening ends, as a what-if, but a
    result that reads like the review's must say which of its studies the review does not (yet) include.
    Only pooled comparisons count: a study left out (no control arm, no data, no events in either arm
    under a ratio measure) is not in the result, so it is not named.
    """
    pooled = {str(output.rows[i].get("source_study", output.rows[i]["study"])) for i in output.result.positions}
    found = [not_included_warning(s.study, has_reports=s.study_id in inclusion.with_reports) for s in studies
             if s.study_id is not None and s.study_id not in inclusion.included and s.study in pooled]
    if not found:
        return output
    return replace(output, warnings=tuple(dict.fromkeys((*found, *output.warnings))))

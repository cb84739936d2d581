"""Provides the warning an analysis gives for a study it pools that the review does not include."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from reviewkit.services.status import included_studies
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from reviewkit.services.analyze import AnalysisOutput, StudyInput
    from reviewkit.services.project import Review


def included_study_ids(review: Review) -> set[int]:
    """The studies the review includes: those PRISMA counts in "Studies included in review" (a report of
    theirs included at full text, after adjudication), by the rule `status` and `prisma` count by."""
    with session_scope(review.engine) as session:
        return included_studies(session, review.protocol.screening.screeners_per_record)


def not_included_warning(label: str) -> str:
    """The warning for one study pooled though the review does not include it."""
    return (f"study '{label}' is pooled but not included in the review "
            "(its reports are excluded or not yet screened at full text)")


def warn_not_included(output: AnalysisOutput, studies: Iterable[StudyInput], included: set[int]) -> AnalysisOutput:
    """The output, with a warning first for each study among its comparisons that `included` leaves out.

    The study stays in the pooled result: a lead may pool before screening ends, as a what-if, but a
    result that reads like the review's must say which of its studies the review does not (yet) include.
    A study left out of the comparisons (no control arm, no data) is not pooled, so it is not named.
    """
    compared = {str(row.get("source_study", row["study"])) for row in output.rows}
    found = [not_included_warning(s.study) for s in studies
             if s.study_id is not None and s.study_id not in included and s.study in compared]
    if not found:
        return output
    return replace(output, warnings=tuple(dict.fromkeys((*found, *output.warnings))))

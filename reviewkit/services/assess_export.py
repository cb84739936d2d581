"""Provides the risk-of-bias CSV export: its columns, and the assessments a reviewer may see as rows.

CSV: one row per study, outcome, assessor and question, with the columns in COLUMNS. Besides the
questions (RoB 2 "1.1"…, RoB 1 "D1"…"D7", each judged directly), the export writes a judgement row
for every judged RoB 2 domain ("D1"…"D5") and the overall (both tools): its answer is the final
judgement, `proposed` the algorithm's, `overridden` yes or no, and its support the reason the
assessor recorded it with (an override's justification, or the reason for keeping the proposal, e.g.
RoB 2's "not escalated to High"; empty when the judgement is simply the proposal). Files written
before these columns existed carry judgement rows for overrides only, and still import.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.assess_view import (
    all_finished,
    independent_assessments,
    is_involved,
    load_view,
)
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import ReviewerRow

#: The columns every file has had; a missing-column error names these as the layout expected.
BASE_COLUMNS = ("study", "outcome", "assessor", "consensus", "tool", "variant", "question", "answer", "support")
#: What the export writes: the judgement columns come last and are optional on import.
COLUMNS = (*BASE_COLUMNS, "proposed", "overridden")


def row_order(key: str) -> tuple[int, ...]:
    # Questions in form order ("1.10" after "1.9"), then D1…, "overall" last.
    digits = "".join(c if c.isdigit() else " " for c in key).split()
    return (0 if "." in key else 1, *(int(d) for d in digits)) if digits else (2,)


def visible_views(session: Session, review: Review, who: ReviewerRow) -> list[AssessmentView]:
    """The assessments `who` may see, oldest first: a lead every one; anyone else the consensus,
    their own, and another assessor's only as `assess_view.assessment_view` shows it (they are
    involved in that study and outcome and every independent assessment of it is finished)."""
    lead = "lead" in who.roles
    out = []
    for row in store.assessments(session):
        if not lead and not row.is_consensus and row.assessor_id != who.id:
            group = independent_assessments(session, row.study_id, row.outcome)
            if not is_involved(who, group) or not all_finished(session, review, row.study_id, row.outcome):
                continue  # still blinded to this reviewer
        out.append(load_view(session, row))
    return out


def export_rows(views: Iterable[AssessmentView]) -> list[list[str]]:
    """The CSV rows (COLUMNS) of these assessments: the module's docstring says what a row is."""
    rows: list[list[str]] = []
    for view in views:
        base = [view.study, view.outcome, view.assessor or "", "yes" if view.is_consensus else "no", view.tool,
                view.variant or ""]
        for qid in sorted(view.answers, key=row_order):
            rows.append([*base, qid, view.answers[qid], view.supports.get(qid, ""), "", ""])
        # RoB 1 domains are judged directly: their answer rows above are their judgements.
        judged = (view.overall,) if view.tool == "rob1" else (*view.domains, view.overall)
        for d in judged:
            if d.final:
                rows.append([*base, d.key, d.final, d.justification if d.chosen else "", d.proposed or "",
                             "yes" if d.overridden else "no"])
    return rows


def export_rob(review: Review, path: Path, *, actor: str | None) -> int:
    """Write the current answers and judgements of the assessments `actor` may see (visible_views) as
    CSV (export_rows); returns the rows written. An unknown or dropped reviewer is refused before
    anything is written."""
    with session_scope(review.engine) as session:
        rows = export_rows(visible_views(session, review, acting_reviewer(session, actor)))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return len(rows)

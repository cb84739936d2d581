"""Provides the risk-of-bias summaries: the consensus judgements per study and outcome that plots, forest-plot RoB columns and `rob summary` read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reviewkit.errors import ReviewkitError
from reviewkit.services.assess_view import latest_consensus, load_view
from reviewkit.services.project import Review
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope


@dataclass(frozen=True)
class RobSummaryRow:
    """The consensus judgements of one study's outcome: what plots and forest-plot RoB columns show."""

    study_id: int
    study: str
    outcome: str
    tool: str
    #: Domain key ("D1"…) and "overall" → final judgement code (None: not judged).
    judgements: Mapping[str, str | None]
    overridden: tuple[str, ...]


def rob_summary(review: Review) -> list[RobSummaryRow]:
    """Per study and outcome, the finished consensus assessment's final judgements, in study order."""
    with session_scope(review.engine) as session:
        out = []
        for row in store.assessments(session):
            if not row.is_consensus or not store.is_finished(session, row.id):  # type: ignore[arg-type]
                continue
            latest = latest_consensus(session, row.study_id, row.outcome)
            if latest is None or latest.id != row.id:
                continue  # an older consensus of the same result
            view = load_view(session, row)
            parts = (*view.domains, view.overall)
            out.append(RobSummaryRow(row.study_id, view.study, row.outcome, row.tool,
                                     {d.key: d.final for d in parts}, tuple(d.key for d in parts if d.overridden)))
        return sorted(out, key=lambda r: (r.study_id, r.outcome))


def rob_by_study(review: Review, outcome: str | None = None) -> dict[str, dict[str, str | None]]:
    """study label → {domain: judgement}, the mapping the forest plot's RoB columns take.

    With several assessed outcomes per study, name the one wanted; otherwise each study's only one.
    """
    rows = [r for r in rob_summary(review) if outcome is None or r.outcome == outcome.strip()]
    out: dict[str, dict[str, str | None]] = {}
    for r in rows:
        if r.study in out:
            raise ReviewkitError(f"study {r.study} has several assessed outcomes", hint="name the outcome")
        out[r.study] = dict(r.judgements)
    return out

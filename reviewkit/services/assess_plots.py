"""Provides the risk-of-bias plots: the consensus judgements as the plot-ready table, drawn as a traffic-light or summary plot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reviewkit.domain import rob1, rob2
from reviewkit.domain.rob_common import RobRow, RobTable
from reviewkit.errors import ReviewkitError
from reviewkit.render.rob import summary_plot, traffic_light_plot
from reviewkit.services.assess_outcomes import outcome_key, protocol_outcomes
from reviewkit.services.assess_summary import rob_summary
from reviewkit.services.project import Review

PLOT_KINDS = ("traffic-light", "summary")


def rob_table(review: Review, outcome: str | None = None) -> RobTable:
    """The consensus judgements as the plot-ready table (rows labelled "study (outcome)", each carrying its
    outcome, so the summary plot draws a panel per outcome rather than counting a study once per result).

    `outcome` is compared without case or spaces, as `rob start` reads it; one that neither the
    protocol nor any assessment has is refused, naming the outcomes there are.
    """
    summary = rob_summary(review)
    if outcome is not None:
        outcome = _known_outcome(review, outcome, [r.outcome for r in summary])
    rows = [r for r in summary if outcome is None or r.outcome == outcome]
    tool = review.protocol.risk_of_bias.tool
    template = rob1.rob1_table([]) if tool == "rob1" else rob2.rob2_table([])
    return dataclasses.replace(template, rows=tuple(
        RobRow(r.study + (f" ({r.outcome})" if r.outcome and outcome is None else ""),
               tuple(r.judgements.get(k) for k in template.domain_keys), r.judgements.get("overall"),
               outcome=r.outcome)
        for r in rows if r.tool == tool))


def _known_outcome(review: Review, outcome: str, assessed: list[str]) -> str:
    """`outcome` as the consensus assessments or the protocol spell it; an outcome neither has is an error."""
    protocol = protocol_outcomes(review)
    # The assessed spelling first: that is what the rows to plot carry.
    found = next((k for k in (*assessed, *protocol) if outcome_key(k) == outcome_key(outcome)), None)
    if found is not None:
        return found
    named = [o for o in dict.fromkeys(assessed) if o and o not in protocol]
    raise ReviewkitError(f"no outcome '{outcome.strip()}' in the protocol or the risk-of-bias assessments",
                         hint=f"the protocol's outcomes: {', '.join(protocol) or 'none'}"
                              + (f"; also assessed: {', '.join(named)}" if named else "")
                              + ("; leave --outcome out to plot the assessments made without an outcome"
                                 if "" in assessed else ""))


def plot_rob(review: Review, kind: str, path: Path, *, outcome: str | None = None) -> Path:
    """Draw the traffic-light or summary plot of the consensus assessments to path (.svg, .png, .pdf)."""
    if kind not in PLOT_KINDS:
        raise ReviewkitError(f"unknown plot kind '{kind}'", hint=" or ".join(PLOT_KINDS))
    table = rob_table(review, outcome)
    if not table.rows:
        hint = "record the consensus first (reviewkit rob consensus)"
        assessed = sorted({r.outcome for r in rob_summary(review)}) if outcome is not None else []
        if assessed:
            hint += "; the consensus assessments finished are of " + ", ".join(o or "no outcome" for o in assessed)
            hint += " (leave --outcome out for those without one)" if "" in assessed else ""
        of = f" of outcome '{outcome.strip()}'" if outcome is not None else ""
        raise ReviewkitError(f"no finished consensus assessments{of} to plot", hint=hint)
    draw = traffic_light_plot if kind == "traffic-light" else summary_plot
    return draw(table, path)

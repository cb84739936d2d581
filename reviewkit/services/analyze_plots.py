"""Provides the plots of one computed analysis: forest plots (with RoB columns and their legend, and
notes under a Total), a plot per leave-one-out or cumulative analysis run, and the funnel plot when
Egger's test or trim-and-fill is planned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewkit.pooling import (
    EggerResult,
    MetaResult,
    SensitivityResult,
    SubgroupResult,
    TrimFillResult,
)
from reviewkit.protocol import Analysis
from reviewkit.services.analyze_sensitivity import Sensitivity

if TYPE_CHECKING:
    from reviewkit.services.project import Review


def draw_plots(analysis: Analysis, strategy: str, result: MetaResult, rows: list[dict[str, Any]],
               subgroups: dict[str, SubgroupResult], sub_rows_of: dict[str, list[dict[str, Any]]],
               info: dict[str, dict[str, Any]], sensitivity: dict[str, Sensitivity], folder: Path, suffix: str,
               *, rob: dict[str, dict[str, str]] | None, rob_tool: str | None, higher_is_better: bool) -> list[Path]:
    """The forest plots (main and per subgroup variable), the leave-one-out and cumulative plots of those
    that ran and, with Egger or trim-and-fill planned, the funnel plot, written to `folder` as `suffix` files."""
    from reviewkit.render.forest import forest_plot

    slug = "-".join("".join(c if c.isalnum() else " " for c in analysis.name.lower()).split())
    sides = ("control", "experimental") if higher_is_better else ("experimental", "control")
    columns = _rob_columns(rows, rob)
    plots = [forest_plot(result, folder / f"forest-{slug}-{strategy}{suffix}", labels=sides, extra_columns=columns,
                         extra_names=_rob_legend(rob_tool) if columns else None, extra_tool=rob_tool, title=analysis.name,
                         notes=_naive_note(rows, result) if strategy == "naive" else [])]
    for variable, sub in subgroups.items():
        notes = [*(_naive_note(sub_rows_of[variable], sub.overall) if strategy == "naive" else []),
                 *info[variable]["notes"]]
        plots.append(forest_plot(sub, folder / f"forest-{slug}-{strategy}-by-{variable}{suffix}", labels=sides,
                                 title=f"{analysis.name}, by {variable}", notes=notes))
    for name, found in sensitivity.items():
        if isinstance(found, SensitivityResult):  # leave-one-out, cumulative: a row per refit
            from reviewkit.render.sensitivity_plot import sensitivity_plot

            heading = "leave-one-out" if found.kind == "leave-one-out" else "cumulative"
            plots.append(sensitivity_plot(found, result, folder / f"{name}-{slug}-{strategy}{suffix}", labels=sides,
                                          title=f"{analysis.name}, {heading}"))
    if {"egger", "trimfill"} & set(analysis.sensitivity):
        from reviewkit.render.funnel import funnel_plot

        egger = sensitivity.get("egger")
        title = analysis.name + (f"\nEgger's test: t = {egger.t:.2f}, df = {egger.df}, p = {egger.p:.3g}"
                                 if isinstance(egger, EggerResult) else "")
        fill = sensitivity.get("trimfill")
        plots.append(funnel_plot(result, folder / f"funnel-{slug}-{strategy}{suffix}", title=title,
                                 trimfill=fill if isinstance(fill, TrimFillResult) else None))
    return plots


def _naive_note(rows: list[dict[str, Any]], result: MetaResult) -> list[str]:
    """For under the Total of a naive analysis: its control total counts shared control groups once
    per comparison (each naive row holds the whole control group)."""
    pooled = set(result.studies)
    controls: dict[str, list[float]] = {}
    for row in rows:
        if row["study"] in pooled:
            controls.setdefault(str(row["source_study"]), []).append(float(row["n_ctrl"]))
    if all(len(n) == 1 for n in controls.values()):
        return []
    total = sum(sum(n) for n in controls.values())
    people = sum(max(n) for n in controls.values())
    return [f"Naive multi-arm comparisons count a shared control group once per comparison: "
            f"the control total of {total:g} is {people:g} participants."]


def _rob_columns(rows: list[dict[str, Any]], rob: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]] | None:
    """RoB judgements per comparison row label (a row "AD1 (4 mg vs placebo)" takes study AD1's).

    Matched by the row's study, not by cutting its label: a study may be called "X 2019 (phase 2)".
    """
    if not rob:
        return None
    out = {}
    for row in rows:
        study = str(row.get("source_study", row["study"]))
        if study in rob:
            out[str(row["study"])] = rob[study]
    return out or None


def _rob_legend(tool: str | None) -> dict[str, str] | None:
    """The RoB columns' keys (D1…, overall) with the tool's domain names, for the forest plot's legend."""
    if tool == "rob1":
        from reviewkit.domain.rob1 import ROB1_DOMAIN_NAMES as names
    elif tool == "rob2":
        from reviewkit.domain.rob2_questions import DOMAIN_NAMES as names  # type: ignore[assignment]
    else:
        return None
    tool_name = "RoB 1" if tool == "rob1" else "RoB 2"
    return {**{str(k): v for k, v in names.items()}, "overall": f"Overall risk of bias ({tool_name})"}


def rob_by_study(review: Review, outcome: str | None = None, timepoint: str | None = None
                 ) -> dict[str, dict[str, str]] | None:
    """Consensus RoB judgements per study label (for the forest plot's columns of `outcome`), when they exist.

    Only the protocol's tool counts. RoB 2 is assessed per result, not per trial (rob2.md): a study's
    columns are its assessment of `outcome` (names compared as `rob start` reads them; else the one
    result named after it, as "iga_0_1 week 16", preferring `timepoint`'s), else one made without naming
    an outcome; never another outcome's result (a study with none shows no columns). RoB 1 judges a
    study: the same choice, else its first assessment.
    """
    from reviewkit.services.assess_outcomes import folded_key, outcome_key
    from reviewkit.services.assess_summary import rob_summary

    tool = review.protocol.risk_of_bias.tool
    by_study: dict[str, list[Any]] = {}
    for row in rob_summary(review):
        if row.tool == tool:
            by_study.setdefault(row.study, []).append(row)
    out: dict[str, dict[str, str]] = {}
    for study, rows in by_study.items():
        pick = _result_of(rows, outcome, timepoint, outcome_key, folded_key)
        pick = pick or next((r for r in rows if not r.outcome), None)
        if pick is None and (tool != "rob2" or outcome is None):
            pick = rows[0]
        if pick is not None:
            out[study] = {k: v for k, v in pick.judgements.items() if v}
    return out or None


def _result_of(rows: list[Any], outcome: str | None, timepoint: str | None, exact: Callable[[str], str],
               folded: Callable[[str], str]) -> Any:
    """The study's assessed result of `outcome`: the one so named, else the only one named after it and
    more ("iga_0_1 week 16"; narrowed to those naming `timepoint` when any does); None when there is
    none, or no single one."""
    if outcome is None:
        return None
    same = [r for r in rows if exact(r.outcome) == exact(outcome)]
    if same:
        return same[0]
    head = outcome.strip().casefold()

    def named_after(name: str) -> bool:
        name = name.strip().casefold()
        # "iga_0_1 week 16", "iga_0_1, week 16", "iga_0_1 (week 16)": not "iga_0_10", nor "iga" for "iga_0_1".
        return bool(head) and len(name) > len(head) and name.startswith(head) and name[len(head)] in " \t,;:(-"

    named = [r for r in rows if named_after(r.outcome)]
    if timepoint and folded(timepoint):
        named = [r for r in named if folded(timepoint) in folded(r.outcome)] or named
    return named[0] if len(named) == 1 else None

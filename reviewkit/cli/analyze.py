"""Provides `reviewkit analyze`: the protocol's analyses on the consensus extraction, with forest plots."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from reviewkit.cli.common import CliState, run_guarded
from reviewkit.services.project import open_review

if TYPE_CHECKING:
    from reviewkit.services.analyze import AnalysisOutput, SkippedAnalysis


@click.command()
@click.option("--outcome", default=None, help="Only the analyses of this outcome (its name in the form).")
@click.option("--multiarm", type=click.Choice(["naive", "split", "combine", "all"]), default=None,
              help="Override the protocol's multi-arm handling; 'all' shows the three side by side.")
@click.option("--json", "as_json", is_flag=True, help="Print per analysis the keys of `reviewkit meta --json`.")
@click.option("--no-plots", is_flag=True, help="Skip the forest and funnel plots.")
@click.option("--plot-format", type=click.Choice(["svg", "png", "pdf"]), default="svg", show_default=True)
@click.pass_obj
def analyze(state: CliState, outcome: str | None, multiarm: str | None, as_json: bool, no_plots: bool,
            plot_format: str) -> None:
    """Run the protocol's analyses and write their plots to the review's exports folder.

    Exits with status 1, after printing the others, when a planned analysis was skipped.
    """
    from reviewkit.services.analyze import SkippedAnalysis, analyze_review

    def go() -> list[AnalysisOutput | SkippedAnalysis]:
        outputs = analyze_review(open_review(state.review), outcome=outcome, multiarm=multiarm, plots=not no_plots,
                                 plot_format=plot_format)
        if as_json:
            click.echo(json.dumps([o.to_dict() for o in outputs], indent=2, allow_nan=False))
            return outputs
        for o in outputs:
            if isinstance(o, SkippedAnalysis):
                click.echo(f"{o.analysis.name}: skipped ({o.reason})")
                continue
            click.echo("\n".join(format_analysis(o)))
        return outputs

    outputs = run_guarded(go)
    planned = list(dict.fromkeys(o.analysis.name for o in outputs))
    skipped = list(dict.fromkeys(o.analysis.name for o in outputs if isinstance(o, SkippedAnalysis)))
    if skipped:
        # after the output, on stderr: --json stays one JSON document, and scripts see the failure
        click.secho(f"{len(skipped)} of {len(planned)} {'analysis' if len(planned) == 1 else 'analyses'} skipped",
                    fg="red", err=True)
        sys.exit(1)


def format_analysis(o: AnalysisOutput) -> list[str]:
    """The text lines of one analysis: the pooled result, subgroups, sensitivity analyses, warnings, plots."""
    r = o.result
    lo, hi = r.effect_ci
    het = f"I² {r.I2:.0f}%" if r.I2 is not None else "I² n/a"
    lines = [f"{o.analysis.name} [{o.multiarm}]: {r.measure} {r.effect:.2f} "
             f"(95% CI {lo:.2f} to {hi:.2f}), {r.k} comparison{'' if r.k == 1 else 's'}, {het}, p = {r.p:.2g}"]
    for name, sub in o.subgroups.items():
        info = o.subgroup_info.get(name, {})
        how = f" [{info['multiarm']}]" if info.get("multiarm", o.multiarm) != o.multiarm else ""
        if sub.Q_between is not None:
            lines.append(f"  subgroups by {name}{how}: Q = {sub.Q_between:.2f}, df = {sub.Q_between_df}, "
                         f"p = {sub.Q_between_p:.3g}")
        lines.extend(f"  note: {n}" for n in info.get("notes", []))
    lines.extend(_sensitivity_lines(o))
    lines.extend(f"  warning: {w}" for w in o.warnings)
    lines.extend(f"  plot: {p}" for p in o.plots)
    return lines


def _sensitivity_lines(o: AnalysisOutput) -> list[str]:
    """Egger's test and trim-and-fill in a line each; leave-one-out and cumulative as small tables."""
    from reviewkit.pooling import EggerResult, SensitivityResult, TrimFillResult

    measure = o.result.measure
    lines = []
    for name, found in o.sensitivity.items():
        if isinstance(found, EggerResult):
            lines.append(f"  Egger's test: t = {found.t:.2f}, df = {found.df}, p = {found.p:.3g}")
        elif isinstance(found, TrimFillResult):
            lo, hi = found.result.effect_ci
            lines.append(f"  trim-and-fill: k0 = {found.k0} imputed on the {found.side}, adjusted {measure} "
                         f"{found.result.effect:.2f} (95% CI {lo:.2f} to {hi:.2f})")
        elif isinstance(found, SensitivityResult):
            head = "omitted" if name == "leave-one-out" else "added"
            width = max(len(head), *(len(label) for label in found.labels))
            lines.append(f"  {name}:")
            lines.append(f"    {head:<{width}}  {measure:>6}  {'95% CI':<15} {'I²':>4}")
            # as the JSON, `meta` and the plot give it: 0 for a one-study step (as metafor), not n/a
            for label, r, i2_value in zip(found.labels, found.results, found.to_dict()["I2"], strict=True):
                lo, hi = r.effect_ci
                i2 = "n/a" if i2_value is None else f"{i2_value:.0f}%"
                lines.append(f"    {label:<{width}}  {r.effect:>6.2f}  {f'{lo:.2f} to {hi:.2f}':<15} {i2:>4}")
    return lines


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(analyze)

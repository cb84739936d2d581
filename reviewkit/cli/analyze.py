"""Provides `reviewkit analyze`: the protocol's analyses on the consensus extraction, with forest plots."""

from __future__ import annotations

import json

import click

from reviewkit.cli.common import CliState, run_guarded
from reviewkit.services.project import open_review


@click.command()
@click.option("--outcome", default=None, help="Only the analyses of this outcome (its name in the form).")
@click.option("--multiarm", type=click.Choice(["naive", "split", "combine", "all"]), default=None,
              help="Override the protocol's multi-arm handling; 'all' shows the three side by side.")
@click.option("--json", "as_json", is_flag=True, help="Print per analysis the keys of `reviewkit meta --json`.")
@click.option("--no-plots", is_flag=True, help="Skip the forest plots.")
@click.option("--plot-format", type=click.Choice(["svg", "png", "pdf"]), default="svg", show_default=True)
@click.pass_obj
def analyze(state: CliState, outcome: str | None, multiarm: str | None, as_json: bool, no_plots: bool,
            plot_format: str) -> None:
    """Run the protocol's analyses and write their forest plots to the review's exports folder."""
    from reviewkit.services.analyze import SkippedAnalysis, analyze_review

    def go() -> None:
        outputs = analyze_review(open_review(state.review), outcome=outcome, multiarm=multiarm, plots=not no_plots,
                                 plot_format=plot_format)
        if as_json:
            click.echo(json.dumps([o.to_dict() for o in outputs], indent=2, allow_nan=False))
            return
        for o in outputs:
            if isinstance(o, SkippedAnalysis):
                click.echo(f"{o.analysis.name}: skipped ({o.reason})")
                continue
            r = o.result
            lo, hi = r.effect_ci
            het = f"I² {r.I2:.0f}%" if r.I2 is not None else "I² n/a"
            click.echo(f"{o.analysis.name} [{o.multiarm}]: {r.measure} {r.effect:.2f} "
                       f"(95% CI {lo:.2f} to {hi:.2f}), {r.k} comparisons, {het}, p = {r.p:.2g}")
            for name, sub in o.subgroups.items():
                if sub.Q_between is not None:
                    click.echo(f"  subgroups by {name}: Q = {sub.Q_between:.2f}, df = {sub.Q_between_df}, "
                               f"p = {sub.Q_between_p:.3g}")
            for w in o.warnings:
                click.echo(f"  warning: {w}")
            for p in o.plots:
                click.echo(f"  plot: {p}")

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(analyze)

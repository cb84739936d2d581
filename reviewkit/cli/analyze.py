"""Provides `reviewkit analyze`: the protocol's analyses on the consensus extraction, with forest plots."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from reviewkit.cli.common import CliState, run_guarded
from reviewkit.services.analyze_text import format_analysis
from reviewkit.services.project import open_review

if TYPE_CHECKING:
    from reviewkit.services.analyze import AnalysisOutput, SkippedAnalysis


@click.command(short_help="Run the protocol's analyses and write their plots.")
@click.option("--outcome", metavar="OUTCOME", default=None, help="Only the analyses of this outcome (its name in the form).")
@click.option("--multiarm", type=click.Choice(["naive", "split", "combine", "all"]), default=None,
              help="Override the protocol's multi-arm handling; 'all' shows the three side by side.")
@click.option("--json", "as_json", is_flag=True, help="Print per analysis the keys of `reviewkit meta --json`.")
@click.option("--no-plots", is_flag=True, help="Skip the forest and funnel plots.")
@click.option("--plot-format", type=click.Choice(["svg", "png", "pdf"]), default="svg", show_default=True,
              help="The plots' file format, in the review's exports folder.")
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


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(analyze)

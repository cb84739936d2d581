"""Provides `reviewkit export` (the review's tables, counts and records, in open formats) and `restore`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from reviewkit.cli.common import CliState, output_file, run_guarded
from reviewkit.cli.report import warn_not_final
from reviewkit.services.archive import export_review, opened_elsewhere, restore_review
from reviewkit.services.decisions_export import export_decisions
from reviewkit.services.project import open_review
from reviewkit.services.report import write_prisma
from reviewkit.wording import counted

if TYPE_CHECKING:
    from reviewkit.services.analyze import AnalysisOutput, SkippedAnalysis

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group(short_help="Write the review's data and results to files.")
def export() -> None:
    """Export the review: the whole review, flow counts, decisions, records, extraction, RoB, analyses."""


@export.command("review", short_help="The whole review as JSON, for restore (leads only).")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_review_cmd(state: CliState, file: Path) -> None:
    """The whole review as one JSON file (`reviewkit restore` turns it back into the same review); leads only."""

    def go() -> None:
        with output_file(file, (".json",), "export review") as temp:
            export_review(open_review(state.review), state.reviewer, temp)
        click.echo(f"Review written to {file}")

    run_guarded(go)


@export.command("flow", short_help="The PRISMA flow counts (CSV or JSON).")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_flow(state: CliState, file: Path) -> None:
    """The PRISMA flow counts, as FILE.csv (PRISMA2020 R package keys) or FILE.json (per database too)."""

    def go() -> None:
        with output_file(file, (".csv", ".json"), "export flow") as temp:
            written = write_prisma(open_review(state.review), temp.suffix.lower().lstrip("."), temp)
        click.echo(f"Flow counts written to {file}")
        warn_not_final(written.caveat, written.warnings)

    run_guarded(go)


@export.command("decisions", short_help="Screening decisions (CSV), as `decisions export`.")
@click.argument("file", type=_FILE)
@click.option("--history", is_flag=True, help="Every decision row, changes and undos included.")
@click.pass_obj
def export_decisions_cmd(state: CliState, file: Path, history: bool) -> None:
    """Screening decisions with reviewer and time, as CSV (those --reviewer may see; a lead sees all)."""

    def go() -> None:
        with output_file(file, (".csv",), "export decisions") as temp:
            n = export_decisions(open_review(state.review), temp, history=history, actor=state.reviewer)
        click.echo(f"{counted(n, 'decision')} written to {file}")

    run_guarded(go)


@export.command("extraction", short_help="The extraction table (CSV or XLSX).")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_extraction_cmd(state: CliState, file: Path) -> None:
    """The extraction table (study × arm × outcome × timepoint) as FILE.csv or FILE.xlsx: a lead's has every
    extractor's values; anyone else's the consensus, their own, and others' where `extract differences` is open
    to them."""
    from reviewkit.services.extract_io import export_table

    def go() -> None:
        with output_file(file, (".csv", ".xlsx"), "export extraction") as temp:
            n = export_table(open_review(state.review), temp, actor=state.reviewer)
        click.echo(f"{counted(n, 'row')} written to {file}")

    run_guarded(go)


@export.command("rob", short_help="Risk-of-bias answers and judgements (CSV).")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_rob_cmd(state: CliState, file: Path) -> None:
    """Risk-of-bias answers and judgements (one row per study, outcome, assessor and question) as CSV: a
    lead's has every assessment; anyone else's the consensus, their own and others' once blinding ends."""
    from reviewkit.services.assess_export import export_rob

    def go() -> None:
        with output_file(file, (".csv",), "export rob") as temp:
            n = export_rob(open_review(state.review), temp, actor=state.reviewer)
        click.echo(f"{counted(n, 'row')} written to {file}")

    run_guarded(go)


@export.command("records", short_help="The records at a stage (RIS or CSV).")
@click.argument("file", type=_FILE)
@click.option("--stage", type=click.Choice(["all", "unique", "ta-included", "included", "excluded"]),
              default="included", show_default=True, help="Which records.")
@click.pass_obj
def export_records_cmd(state: CliState, file: Path, stage: str) -> None:
    """The records at a stage as FILE.ris or FILE.csv, for a reference manager."""
    from reviewkit.services.export_records import export_records

    def go() -> None:
        with output_file(file, (".ris", ".csv"), "export records") as temp:
            n = export_records(open_review(state.review), temp, stage)
        click.echo(f"{counted(n, 'record')} ({stage}) written to {file}")

    run_guarded(go)


@export.command("analyses", short_help="Analysis results (JSON or CSV) and their plots.")
@click.argument("file", type=_FILE)
@click.option("--multiarm", type=click.Choice(["naive", "split", "combine", "all"]), default=None,
              help="Override the protocol's multi-arm handling, as in `analyze`; 'all' writes the three.")
@click.pass_obj
def export_analyses_cmd(state: CliState, file: Path, multiarm: str | None) -> None:
    """Analysis results as FILE.json (every number) or FILE.csv (one row per analysis, skipped ones with
    why), with forest plots (and funnel plots where Egger's test or trim-and-fill is planned)."""
    from reviewkit.services.analyze import analyze_review
    from reviewkit.services.analyze_results import write_results

    def go() -> None:
        with output_file(file, (".json", ".csv"), "export analyses") as temp:
            outputs = analyze_review(open_review(state.review), multiarm=multiarm)
            write_results(outputs, temp)
        click.echo(analyses_written(outputs, file))

    run_guarded(go)


def analyses_written(outputs: list[AnalysisOutput | SkippedAnalysis], file: Path) -> str:
    """What `export analyses` wrote: the analyses run, and each one skipped with its reason.

    Counted here, the same for both formats (both list skipped analyses with why): under
    `--multiarm all` an analysis is run, and written, once per strategy.
    """
    from reviewkit.services.analyze import SkippedAnalysis

    skipped = [o for o in outputs if isinstance(o, SkippedAnalysis)]
    run = len(outputs) - len(skipped)
    text = f"{run} {'analysis' if run == 1 else 'analyses'} written to {file}"
    if skipped:
        text += f"; {len(skipped)} skipped: " + "; ".join(f"{o.analysis.name} ({o.reason})" for o in skipped)
    return text


@click.command(short_help="Rebuild a review from an `export review` file.")
@click.argument("archive", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--database-url", default=None, metavar="URL",
              help="Put the review in this database instead of the one the archived protocol names (or "
                   "REVIEWKIT_DATABASE_URL): a new PostgreSQL database's URL, or `local` for an SQLite file in FOLDER.")
def restore(archive: Path, folder: Path, database_url: str | None) -> None:
    """Rebuild the review in ARCHIVE (from `export review`) in a new FOLDER."""
    def run() -> None:
        review = restore_review(archive, folder, database_url=database_url)
        try:
            click.echo(f"Restored into {review.folder}")
            # --database-url wins over REVIEWKIT_DATABASE_URL here, but not when the review is opened.
            if (elsewhere := opened_elsewhere(review)) is not None:
                click.secho(f"warning: {elsewhere}", fg="yellow", err=True)
        finally:
            review.engine.dispose()
    run_guarded(run)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(export)
    group.add_command(restore)

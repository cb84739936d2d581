"""Provides `reviewkit export` (the review's tables, counts and records, in open formats) and `restore`."""

from __future__ import annotations

from pathlib import Path

import click

from reviewkit.cli.common import CliState, run_guarded
from reviewkit.services.archive import export_review, restore_review
from reviewkit.services.decisions_io import export_decisions
from reviewkit.services.project import open_review
from reviewkit.services.report import write_prisma

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def export() -> None:
    """Export the review: the whole review, flow counts, decisions, records, extraction, RoB, analyses."""


@export.command("review")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_review_cmd(state: CliState, file: Path) -> None:
    """The whole review as one JSON file (`reviewkit restore` turns it back into the same review)."""
    run_guarded(lambda: click.echo(f"Review written to {export_review(open_review(state.review), file)}"))


@export.command("flow")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_flow(state: CliState, file: Path) -> None:
    """The PRISMA flow counts, as FILE.csv (PRISMA2020 R package keys) or FILE.json (per database too)."""

    def go() -> None:
        fmt = "csv" if file.suffix.lower() == ".csv" else "json"
        path, _ = write_prisma(open_review(state.review), fmt, file)
        click.echo(f"Flow counts written to {path}")

    run_guarded(go)


@export.command("decisions")
@click.argument("file", type=_FILE)
@click.option("--history", is_flag=True, help="Every decision row, changes and undos included.")
@click.pass_obj
def export_decisions_cmd(state: CliState, file: Path, history: bool) -> None:
    """Screening decisions with reviewer and time, as CSV."""
    run_guarded(lambda: click.echo(
        f"{export_decisions(open_review(state.review), file, history=history)} decisions written to {file}"))


@export.command("extraction")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_extraction_cmd(state: CliState, file: Path) -> None:
    """The extraction table (study × arm × outcome × timepoint) as FILE.csv or FILE.xlsx."""
    from reviewkit.services.extract_io import export_table

    run_guarded(lambda: click.echo(f"{export_table(open_review(state.review), file)} rows written to {file}"))


@export.command("rob")
@click.argument("file", type=_FILE)
@click.pass_obj
def export_rob_cmd(state: CliState, file: Path) -> None:
    """Risk-of-bias answers and judgements (one row per study, outcome, assessor and question) as CSV."""
    from reviewkit.services.assess_io import export_rob

    run_guarded(lambda: click.echo(f"{export_rob(open_review(state.review), file)} rows written to {file}"))


@export.command("records")
@click.argument("file", type=_FILE)
@click.option("--stage", type=click.Choice(["all", "unique", "ta-included", "included", "excluded"]),
              default="included", show_default=True, help="Which records.")
@click.pass_obj
def export_records_cmd(state: CliState, file: Path, stage: str) -> None:
    """The records at a stage as FILE.ris or FILE.csv, for a reference manager."""
    from reviewkit.services.export_records import export_records

    run_guarded(lambda: click.echo(
        f"{export_records(open_review(state.review), file, stage)} records ({stage}) written to {file}"))


@export.command("analyses")
@click.argument("file", type=_FILE)
@click.option("--multiarm", type=click.Choice(["naive", "split", "combine", "all"]), default=None)
@click.pass_obj
def export_analyses_cmd(state: CliState, file: Path, multiarm: str | None) -> None:
    """Analysis results as FILE.json (every number) or FILE.csv (one row per analysis), with forest plots."""
    from reviewkit.services.analyze import analyze_review, write_results

    run_guarded(lambda: click.echo(
        f"{write_results(analyze_review(open_review(state.review), multiarm=multiarm), file)} analyses written to {file}"))


@click.command()
@click.argument("archive", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def restore(archive: Path, folder: Path) -> None:
    """Rebuild the review in ARCHIVE (from `export review`) in a new FOLDER."""
    run_guarded(lambda: click.echo(f"Restored into {restore_review(archive, folder).folder}"))


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(export)
    group.add_command(restore)

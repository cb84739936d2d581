"""Provides `reviewkit import` (export files into the review, with their provenance) and `reviewkit search`."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from reviewkit.cli.common import CliState, print_error, run_guarded, user_error_text
from reviewkit.cli.progress import progress_bar
from reviewkit.errors import ReviewkitError
from reviewkit.services.identify import (
    IMPORT_FORMATS,
    NOTES_SHOWN,
    format_names,
    import_file,
    notes_heading,
)
from reviewkit.services.project import open_review
from reviewkit.wording import counted

KINDS = ["database", "register", "website", "organisation", "citation", "other"]


def parse_map(text: str | None) -> dict[str, str] | None:
    """`title=Article Title,year=PY` → {"title": "Article Title", "year": "PY"}."""
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        if "=" not in part:
            raise ReviewkitError(f"--map entry {part!r} is not FIELD=COLUMN")
        field, column = part.split("=", 1)
        field = field.strip()
        if field in out and out[field] != column.strip():
            raise ReviewkitError(f"--map names two columns for {field}: {out[field]!r} and {column.strip()!r}",
                                 hint="map each field to one column")
        out[field] = column.strip()
    return out


@click.command(name="import", help=f"Import export files ({format_names()}).",
               short_help="Import records from files exported by databases.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", metavar="NAME", default=None, help="Database or register to credit (default: from the file).")
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="PRISMA column of the source (default: register for a ClinicalTrials.gov export, else database).")
@click.option("--format", "fmt", type=click.Choice(list(IMPORT_FORMATS)), default=None,
              help="Force the format (default: detected from the content).")
@click.option("--map", "mapping", metavar="FIELD=COLUMN,...", default=None,
              help="CSV columns for fields reviewkit does not recognise: title=Article Title,year=PY")
@click.pass_obj
def import_cmd(
    state: CliState, files: tuple[Path, ...], source: str | None, kind: str | None, fmt: str | None,
    mapping: str | None,
) -> None:
    def go() -> None:
        review = open_review(state.review)
        column_map = parse_map(mapping)
        failed: list[str] = []
        for path in files:
            # Each file is its own transaction: one refused file does not keep the others out, and
            # every refusal is said, so a re-run after fixing it knows what is already in.
            try:
                with progress_bar(f"Importing {path.name}") as update:
                    summary = import_file(
                        review, path, source=source, source_kind=kind, format=fmt,
                        column_map=column_map, actor=state.reviewer, progress=update,
                    )
            except Exception as exc:
                text = user_error_text(exc)
                if len(files) == 1:
                    raise  # a bug keeps its traceback, to be reported; a file problem is one line (run_guarded)
                if text is None:
                    # A reader's bug on this file's content: said as one line naming the file (its
                    # transaction rolled back, so nothing of it is stored) and the other files go on.
                    detail = " ".join(str(exc).split())[:200]
                    text = (f"{path}: could not be read ({exc.__class__.__name__}: {detail}; a reviewkit "
                            "bug, please report it with the file); nothing from it was stored")
                print_error(text)
                failed.append(path.name)
                continue
            click.echo(
                f"{summary.file}: {summary.records} record{'' if summary.records == 1 else 's'} from "
                f"{summary.source} ({summary.format}), run {summary.run_id}"
                + (f"; {summary.skipped} empty record{'' if summary.skipped == 1 else 's'} skipped "
                   "(no field filled in)" if summary.skipped else "")
            )
            if summary.kind_note:
                click.echo(f"  note: {summary.kind_note}")
            if summary.notes:
                click.echo(f"  {notes_heading(summary)}")
                for note in summary.notes[:NOTES_SHOWN]:
                    click.echo(f"  note: {note}")
                if len(summary.notes) > NOTES_SHOWN:
                    click.echo(f"  ... and {counted(len(summary.notes) - NOTES_SHOWN, 'more note')} "
                               f"(reviewkit sources --run {summary.run_id} lists them all)")
        if failed:
            raise ReviewkitError(f"{len(failed)} of {counted(len(files), 'file')} not imported: {', '.join(failed)}",
                                 hint="none was imported" if len(failed) == len(files) else
                                 "the other files were imported; fix these and import them alone")

    run_guarded(go)


@click.command(short_help="Run the protocol's PubMed and ClinicalTrials.gov searches.")
@click.option("--source", type=click.Choice(["pubmed", "ctgov", "all"]), default="all", show_default=True,
              help="Which of the protocol's searches: PubMed, ClinicalTrials.gov, or both.")
@click.option("--restart", is_flag=True,
              help="Start over instead of resuming an interrupted search (it is closed as abandoned; its records stay).")
@click.pass_obj
def search(state: CliState, source: str, restart: bool) -> None:
    """Run the protocol's searches (resumes an interrupted one; a re-run adds only new records)."""
    from reviewkit.services.search import CTGOV, PUBMED, search_ctgov, search_pubmed

    labels = {"pubmed": PUBMED, "ctgov": CTGOV}

    def go() -> None:
        review = open_review(state.review)
        wanted = ["pubmed", "ctgov"] if source == "all" else [source]
        configured = {"pubmed": review.protocol.sources.pubmed, "ctgov": review.protocol.sources.ctgov}
        names = [name for name in wanted if source != "all" or configured[name] is not None]
        if not names:
            # Saying nothing would read as "searched, nothing new".
            raise ReviewkitError("the protocol has no PubMed or ClinicalTrials.gov search, so nothing was searched",
                                 where=str(review.protocol_path),
                                 hint="add [sources.pubmed] with a query, or [sources.ctgov] with condition, "
                                      "intervention or term")
        failed: list[str] = []
        for name in names:
            runner = search_pubmed if name == "pubmed" else search_ctgov
            try:
                with progress_bar(f"Searching {name}") as update:
                    s = runner(review, actor=state.reviewer, progress=update, restart=restart,
                               tell_retry=lambda text: update.say(f"note: {text}"))
            except KeyboardInterrupt:
                print_error(f"{labels[name]} search interrupted: the batches stored so far are kept, and searching "
                            "again resumes it")
                sys.exit(130)  # as a shell reports SIGINT
            except Exception as exc:
                text = user_error_text(exc)
                if text is None or len(names) == 1:
                    raise  # one search: run_guarded says it; a bug keeps its traceback
                # One service down must not keep the other from being searched, nor leave the user
                # thinking it was: each failure is said, and the command ends naming them all.
                print_error(text)
                failed.append(labels[name])
                continue
            verb = "resumed and finished" if s.resumed else "finished"
            click.echo(f"{s.source}: {verb}; {counted(s.count, 'hit')}, {s.stored} stored, {s.new} new (run {s.run_id})")
            if s.translation:
                click.echo(f"  PubMed searched: {s.translation}")
            for note in s.notes:
                click.echo(f"  note: {note}")
        if failed:
            raise ReviewkitError(f"{len(failed)} of {len(names)} searches did not finish: {', '.join(failed)}",
                                 hint="the others finished; search the failed ones again later with --source")

    run_guarded(go)


@click.command(short_help="List sources and runs, with counts and notes.")
@click.option("--run", "run_id", metavar="RUN", type=int, default=None, help="Show this run and every note it keeps.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def sources(state: CliState, run_id: int | None, as_json: bool) -> None:
    """List the sources and every run (imports and searches) with their counts and notes."""
    from reviewkit.services import runs

    def go() -> None:
        review = open_review(state.review)
        if run_id is not None:
            _show_run(runs, review, run_id, as_json)
            return
        overview, every = runs.source_overview(review), runs.source_runs(review)
        if as_json:
            click.echo(json.dumps({"sources": [_source_json(s) for s in overview],
                                   "runs": [_run_json(r) for r in every]}, indent=2))
            return
        click.echo("Sources:")
        for s in overview:
            last = f"last run {s.last.id} {_when(s.last.started_at)} {s.last.status}" if s.last else "never run"
            click.echo(f"  {s.name} ({s.kind}): {counted(s.records, 'record')} identified; "
                       f"{counted(s.runs, 'run')}, {last}")
        click.echo("Runs, newest first:")
        if not every:
            click.echo("  none yet: reviewkit import FILE or reviewkit search")
        for r in every:
            found = f"{r.total_count} found, " if r.total_count is not None else ""
            noted = f"; {r.notes} note{'' if r.notes == 1 else 's'}" if r.notes else ""
            error = f"; error: {' '.join(r.error.split())}" if r.error else ""
            click.echo(f"  run {r.id}  {_when(r.started_at)}  {r.kind} {r.source}: {' '.join(r.what.split())}  "
                       f"{r.status}; {found}{r.record_count} stored, {r.new_record_count} new{noted}{error}")
        if any(r.notes for r in every):
            click.echo("reviewkit sources --run N lists a run's notes.")

    run_guarded(go)


def _show_run(runs: Any, review: Any, run_id: int, as_json: bool) -> None:
    notes = runs.run_notes(review, run_id)  # refuses an unknown run
    run = next(r for r in runs.source_runs(review) if r.id == run_id)
    if as_json:
        click.echo(json.dumps({"run": _run_json(run), "notes": notes}, indent=2))
        return
    by = f" by {run.started_by}" if run.started_by else ""
    click.echo(f"Run {run.id}: {run.kind} of {run.source}{by}, {_when(run.started_at)}, {run.status}")
    click.echo(f"  {'file' if run.kind == 'import' else 'query'}: {run.what}")
    click.echo(f"  {counted(run.record_count, 'record')} stored, {run.new_record_count} new")
    if run.error:
        click.echo(f"  error: {run.error}")
    click.echo(f"  {len(notes)} note{'' if len(notes) == 1 else 's'}" + (":" if notes else ""))
    for note in notes:
        click.echo(f"  note: {note}")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _run_json(run: Any) -> dict[str, Any]:
    values = dataclasses.asdict(run)
    for key in ("started_at", "finished_at"):
        values[key] = values[key].isoformat() if values[key] else None
    return values


def _source_json(source: Any) -> dict[str, Any]:
    return {"name": source.name, "kind": source.kind, "query": source.query, "runs": source.runs,
            "records": source.records, "last_run": source.last.id if source.last else None}


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(import_cmd)
    group.add_command(search)
    group.add_command(sources)

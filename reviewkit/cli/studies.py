"""Provides `reviewkit studies`: the studies and their reports; confirm, reject, link, add, main report, rename."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from reviewkit.cli.common import ROW_ID, CliState, run_guarded
from reviewkit.services import studies as service
from reviewkit.services.project import Review, open_review
from reviewkit.services.study_ref import find_study


@click.group(invoke_without_command=True,
             short_help="List studies and confirm or change their reports.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--proposed", is_flag=True, help="Only studies with links waiting for a reviewer.")
@click.pass_context
def studies(ctx: click.Context, as_json: bool, proposed: bool) -> None:
    """Studies and their reports: dedup proposes the links, a reviewer confirms, rejects or adds them."""
    if ctx.invoked_subcommand is None:
        _list(ctx.obj, as_json, proposed)


@studies.command("list", short_help="List each study and its reports (the default).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--proposed", is_flag=True, help="Only studies with links waiting for a reviewer.")
@click.pass_obj
def list_cmd(state: CliState, as_json: bool, proposed: bool) -> None:
    """Each study: id, name, NCT id, and its reports with their status (* marks the main report)."""
    _list(state, as_json, proposed)


def _list(state: CliState, as_json: bool, proposed: bool) -> None:
    def go() -> None:
        views = service.list_studies(open_review(state.review), proposed_only=proposed)
        if as_json:
            click.echo(json.dumps([study_dict(v) for v in views], indent=2, ensure_ascii=False))
            return
        if not views:
            click.echo("no studies with proposals waiting" if proposed else
                       "no studies yet (reviewkit dedup proposes them from NCT numbers)")
        for v in views:
            click.echo("\n".join(study_lines(v)))

    run_guarded(go)


def study_dict(view: service.StudyView) -> dict[str, Any]:
    """A study as `studies --json` prints it."""
    return {"id": view.id, "label": view.label, "nct_id": view.nct_id, "main_report": view.main_report,
            "reports": [{"record": r.record_id, "status": r.status, "main": r.main, "title": r.title,
                         "year": r.year, "first_author": r.first_author, "pmid": r.pmid, "kind": r.kind,
                         "registry_id": r.registry_id or None, "duplicate_of": r.duplicate_of}
                        for r in view.links]}


def counted_reports(view: service.StudyView) -> int:
    """The study's reports as PRISMA counts them: links not rejected (proposed or confirmed), of records
    that are not removed duplicates (StudyView.report_count, which the TUI's studies screen shows too)."""
    return view.report_count


def study_lines(view: service.StudyView) -> list[str]:
    """A study's heading line (its reports counted as PRISMA does) and one line per report."""
    counted = counted_reports(view)
    waiting = f", {view.proposed} proposed" if view.proposed else ""
    rejected = sum(r.status == "rejected" for r in view.links)
    waiting += f", {rejected} rejected link{'s' if rejected != 1 else ''} not counted" if rejected else ""
    lines = [f"study {view.id}  {view.label}  {view.nct_id or '(no NCT id)'}  "
             f"({counted} report{'s' if counted != 1 else ''}{waiting})"]
    for r in view.links:
        ids = f" PMID {r.pmid}" if r.pmid else ""
        dup = f" [removed duplicate of record {r.duplicate_of}]" if r.duplicate_of is not None else ""
        lines.append(f"  {'*' if r.main else ' '} record {r.record_id:<5} {r.status:<9}  {r.label}{ids}: "
                     f"{r.title}{dup}")
    return lines


def _change(state: CliState, study: str, act: Callable[[Review, str | None, int], Any]) -> None:
    """Run one change to STUDY (an id or a label) as the acting reviewer and print what it did."""
    def go() -> None:
        review = open_review(state.review)
        click.echo(act(review, state.reviewer, find_study(review, study)).summary())

    run_guarded(go)


@studies.command("confirm", short_help="Confirm that a record reports a study.")
@click.argument("study")
@click.argument("record_id", type=ROW_ID)
@click.pass_obj
def confirm_cmd(state: CliState, study: str, record_id: int) -> None:
    """Record RECORD_ID does report STUDY (id or label): confirm its proposed (or rejected) link."""
    _change(state, study, lambda r, who, study_id: service.set_report_link(r, who, study_id, record_id, True))


@studies.command("reject", short_help="Record that a record does not report a study.")
@click.argument("study")
@click.argument("record_id", type=ROW_ID)
@click.pass_obj
def reject_cmd(state: CliState, study: str, record_id: int) -> None:
    """Record RECORD_ID does not report STUDY (id or label; it cites its NCT number in passing): the link
    stops counting."""
    _change(state, study, lambda r, who, study_id: service.set_report_link(r, who, study_id, record_id, False))


@studies.command("link", short_help="Link a record to a study as a confirmed report.")
@click.argument("study")
@click.argument("record_id", type=ROW_ID)
@click.pass_obj
def link_cmd(state: CliState, study: str, record_id: int) -> None:
    """Link record RECORD_ID to STUDY (id or label) as a confirmed report (a paper may report several studies)."""
    _change(state, study, lambda r, who, study_id: service.link_report(r, who, study_id, record_id))


@studies.command("add", short_help="Create a study and link reports to it.")
@click.argument("label")
@click.argument("record_ids", type=ROW_ID, nargs=-1)
@click.option("--nct", metavar="NCT", help="The study's NCT id (taken from LABEL when LABEL is one, e.g. NCT03334422).")
@click.pass_obj
def add_cmd(state: CliState, label: str, record_ids: tuple[int, ...], nct: str | None) -> None:
    """Create a study LABEL and link RECORD_IDS to it as confirmed reports: the second trial of a paper
    reporting two, whose registry record was not found (`studies add NCT03334422 12`)."""

    def go() -> None:
        click.echo(service.add_study(open_review(state.review), state.reviewer, label, nct_id=nct,
                                     record_ids=record_ids))

    run_guarded(go)


@studies.command("main", short_help="Mark a study's main report.")
@click.argument("study")
@click.argument("record_id", type=ROW_ID)
@click.pass_obj
def main_cmd(state: CliState, study: str, record_id: int) -> None:
    """Mark record RECORD_ID as the main report of STUDY (id or label; one per study)."""
    _change(state, study, lambda r, who, study_id: service.set_main_report(r, who, study_id, record_id))


@studies.command("rename", short_help="Give a study its usual name.")
@click.argument("study")
@click.argument("name")
@click.pass_obj
def rename_cmd(state: CliState, study: str, name: str) -> None:
    """Give STUDY (id or label) its usual name (e.g. the trial's acronym)."""

    def go() -> None:
        review = open_review(state.review)
        study_id = find_study(review, study)
        old = service.rename_study(review, state.reviewer, study_id, name)
        click.echo(service.rename_summary(study_id, old, name))

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(studies)

"""Provides `reviewkit audit` (the history of changes) and `reviewkit backup`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reviewkit.cli.common import ROW_ID, CliState, RangeInWords, run_guarded
from reviewkit.services.audit import provenance, read_audit
from reviewkit.services.backup import backup_review
from reviewkit.services.project import open_review


@click.command(short_help="Show who changed what, and when (leads only).")
@click.option("--record", "record_id", cls=RangeInWords, metavar="RECORD", type=ROW_ID, default=None,
              help="Only the history of this record.")
@click.option("--limit", cls=RangeInWords, metavar="N", type=click.IntRange(min=1), default=None,
              help="Only the last N events (N ≥ 1).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def audit(state: CliState, record_id: int | None, limit: int | None, as_json: bool) -> None:
    """Show who changed what and when (decisions, adjudications, merges, RoB answers, values; leads only).

    The actor is who made the change: for decisions imported by a lead, the lead, with whose
    decision it is and the file after it ("bob's decision, imported from d.csv").
    """

    def go() -> None:
        events = read_audit(open_review(state.review), state.reviewer,
                            record_id=record_id, limit=limit)
        if as_json:
            click.echo(json.dumps([
                {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "entity": e.entity,
                 "entity_id": e.entity_id, "record": e.record_id, "action": e.action, "old": e.old, "new": e.new}
                for e in events], indent=2))
            return
        for e in events:
            rec = f" record {e.record_id}" if e.record_id is not None else ""
            # Whose decision and which file are said in words after the change, not as its fields.
            how = provenance(e)
            new = {k: v for k, v in e.new.items() if k not in ("reviewer", "imported")} if how else e.new
            # Said as UTC (as `sources` says its runs' times): the store keeps UTC, and a bare time read
            # as local put a decision hours away from when the reviewer made it.
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S} UTC {e.actor or '-':<10} {e.action:<10} {e.entity}{rec}: "
                       f"{_short(e.old)} -> {_short(new)}" + (f" ({how})" if how else ""))

    run_guarded(go)


def _short(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, "")) + "}"
    return "-" if value is None else str(value)


@click.command(short_help="Snapshot the review's database (leads only).")
@click.argument("target", type=click.Path(path_type=Path))
@click.pass_obj
def backup(state: CliState, target: Path) -> None:
    """Write a consistent snapshot of the review to TARGET (a folder, or a .db file) while others work; leads only."""
    run_guarded(lambda: click.echo(
        f"Backed up to {backup_review(open_review(state.review), target, actor=state.reviewer)}"))


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(audit)
    group.add_command(backup)

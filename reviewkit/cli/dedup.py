"""Provides `reviewkit dedup`: find duplicates, check the uncertain pairs, undo, reopen, export for scoring."""

from __future__ import annotations

from pathlib import Path

import click

from reviewkit.cli.common import ROW_ID, CliState, output_file, run_guarded
from reviewkit.cli.progress import progress_bar
from reviewkit.domain.dedup import AUTO_THRESHOLD, REVIEW_THRESHOLD
from reviewkit.services.dedup import (
    PairDecision,
    decide_pair,
    export_dedup,
    pending_pairs,
    reopen_pair,
    run_dedup,
)
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import open_review
from reviewkit.wording import counted


@click.group(invoke_without_command=True, short_help="Find duplicate records and merge them.")
@click.option("--auto-only", is_flag=True, help="Merge the sure pairs only; queue nothing for a human.")
@click.option("--threshold", type=float, default=None,
              help=f"Score at or above which pairs merge automatically (default {AUTO_THRESHOLD}; from "
                   f"{REVIEW_THRESHOLD} a pair waits for a human).")
@click.pass_context
def dedup(ctx: click.Context, auto_only: bool, threshold: float | None) -> None:
    """Find duplicate records: sure pairs merge, uncertain ones wait for a human (dedup pairs)."""
    if ctx.invoked_subcommand is not None:
        return
    state: CliState = ctx.obj

    def go() -> None:
        review = open_review(state.review)
        # The automatic run may act as nobody: a user config naming a reviewer of another review
        # must not stop it (an explicit --reviewer is still checked).
        names = {r.name for r in review.protocol.reviewers}
        actor = state.reviewer_option or (state.reviewer if state.reviewer in names else None)
        with progress_bar("Deduplicating") as update:
            s = run_dedup(review, actor=actor, auto_only=auto_only, threshold=threshold, progress=update)
        click.echo(f"{counted(s.records, 'record')}: {counted(s.groups_created, 'duplicate group')}, "
                   f"{counted(s.records_merged, 'record')} merged, "
                   f"{counted(s.pairs_queued, 'new pair')} for a human ({s.pairs_waiting} waiting), "
                   f"{counted(s.studies_proposed, 'study link')} proposed")
        for note in s.notes():
            click.echo(note)

    run_guarded(go)


@dedup.command("pairs")
@click.pass_obj
def pairs_cmd(state: CliState) -> None:
    """List the uncertain pairs waiting for a human."""

    def go() -> None:
        waiting = pending_pairs(open_review(state.review))
        if not waiting:
            click.echo("No pairs wait for a verdict.")  # said, so an empty queue is not mistaken for a failure
        for p in waiting:
            click.echo(f"pair {p.id}  score {p.score:.3f}")
            click.echo(f"  [{p.a_id}] {p.a.label}: {p.a.title}")
            click.echo(f"  [{p.b_id}] {p.b.label}: {p.b.title}")

    run_guarded(go)


@dedup.command("confirm")
@click.argument("pair_id", type=ROW_ID)
@click.pass_obj
def confirm_cmd(state: CliState, pair_id: int) -> None:
    """The pair is a duplicate: merge it."""
    run_guarded(lambda: click.echo(decision_text(decide_pair(open_review(state.review), state.reviewer,
                                                             pair_id, True))))


@dedup.command("reject")
@click.argument("pair_id", type=ROW_ID)
@click.pass_obj
def reject_cmd(state: CliState, pair_id: int) -> None:
    """The pair is not a duplicate: keep both."""
    run_guarded(lambda: click.echo(decision_text(decide_pair(open_review(state.review), state.reviewer,
                                                             pair_id, False))))


@dedup.command("reopen", short_help="Put a rejected or undone pair back in the queue.")
@click.argument("pair_id", type=ROW_ID)
@click.pass_obj
def reopen_cmd(state: CliState, pair_id: int) -> None:
    """Take back a wrong rejection, or an undo of a confirmed pair: the pair waits for a verdict again (the
    verdict taken back stays in the audit)."""

    def go() -> None:
        d = reopen_pair(open_review(state.review), state.reviewer, pair_id)
        click.echo(f"pair {d.pair_id}: reopened; records {d.record_a} and {d.record_b} wait for a verdict "
                   f"(reviewkit dedup confirm {d.pair_id})")

    run_guarded(go)


def decision_text(d: PairDecision) -> str:
    """What a verdict did, in one line (two when the merge left decisions on more than one record)."""
    if not d.changed:
        return (f"pair {d.pair_id}: records {d.record_a} and {d.record_b} are already merged in group {d.group_id}; "
                "nothing changed")
    if d.group_id is None:
        return f"pair {d.pair_id}: {d.status}; records {d.record_a} and {d.record_b} stay apart"
    text = f"pair {d.pair_id}: {d.status}; records {d.record_a} and {d.record_b} are now group {d.group_id}"
    return "\n".join([text, *d.notes()])


@dedup.command("undo", short_help="Undo a wrong merge (nothing is deleted).")
@click.argument("group_id", type=ROW_ID)
@click.pass_obj
def undo_cmd(state: CliState, group_id: int) -> None:
    """Undo a wrong merge (the group is marked undone; nothing is deleted)."""

    def go() -> None:
        done = undo_merge(open_review(state.review), state.reviewer, group_id)
        apart = ", ".join(map(str, done.apart))
        click.echo(f"group {group_id}: undone; "
                   + (f"records {apart} count separately again" if len(done.apart) > 1
                      else f"record {apart} counts separately again" if done.apart else "no record is apart"))
        for gid, members in done.restored.items():
            click.echo(f"  records {', '.join(map(str, members))} stay merged, as before the undone merge took them "
                       f"in: group {gid}")
        # The pair a human confirmed still reads "confirmed" with its records apart: the TUI's undo puts it
        # back to check at once; here the reviewer is told how, as undoing a group may split several pairs.
        for pair_id in done.confirmed_apart:
            click.echo(f"  pair {pair_id} was confirmed and its records are apart now: "
                       f"`reviewkit dedup reopen {pair_id}` puts it back to check")

    run_guarded(go)


@dedup.command("export", short_help="Write each record's duplicate group to a CSV file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export_cmd(state: CliState, file: Path) -> None:
    """One row per record (CSV): id, duplicate group, primary, the identifiers it was imported with."""

    def go() -> None:
        with output_file(file, (".csv",), "dedup export") as temp:
            n = export_dedup(open_review(state.review), temp)
        click.echo(f"{counted(n, 'record')} written to {file}")

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(dedup)

"""Provides the screening commands that need no screen: decisions export/import, conflicts, agreement."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reviewkit.cli.common import ROW_ID, CliState, output_file, run_guarded
from reviewkit.domain.screening import STAGES
from reviewkit.services.conflicts import list_conflicts, reason_disagreements, resolve_conflict
from reviewkit.services.decisions_export import export_decisions
from reviewkit.services.decisions_ids import IDS_MODES
from reviewkit.services.decisions_import import import_decisions
from reviewkit.services.project import open_review
from reviewkit.services.screen_full_text import FULL_TEXT_STATUSES, missing_file, set_full_text
from reviewkit.wording import counted


@click.group(short_help="Export or import screening decisions (CSV).")
def decisions() -> None:
    """Move screening decisions and adjudications between tools (give --reviewer).

    CSV columns: record, reviewer, stage, decision, reason, note, time, and an optional role
    (screener or adjudicator); decision "retracted" is an undo. The export adds each record's pmid,
    doi and title, which an import checks each row's record against. A lead exports and imports
    everyone's rows; anyone else exports their own, and others' only on records they have decided
    that have all their decisions, and imports only their own.
    """


@decisions.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--history", is_flag=True, help="Every decision row, changes and undos included.")
@click.pass_obj
def export_cmd(state: CliState, file: Path, history: bool) -> None:
    """Write the decisions and adjudications you may see to FILE.csv."""
    def go() -> None:
        with output_file(file, (".csv",), "decisions export") as temp:
            n = export_decisions(open_review(state.review), temp, history=history, actor=state.reviewer)
        click.echo(f"{counted(n, 'decision')} written to {file}")

    run_guarded(go)


@decisions.command("import", short_help="Import decisions from a CSV file (all or none).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ids", type=click.Choice(IDS_MODES), default="auto", show_default=True,
              help="What the record column holds: reviewkit record ids, source ids (the ids, accessions, "
                   "PMIDs or DOIs the records were imported with; a file with pmid, doi or title columns, "
                   "such as another review's export, is matched by those first), or auto: either, a value "
                   "naming two different records refused, and a file with the exact columns "
                   "`decisions export` writes read as reviewkit ids.")
@click.pass_obj
def import_cmd(state: CliState, file: Path, ids: str) -> None:
    """Read decisions from FILE.csv in file order: all of them, or none if any row is bad (every bad
    row is listed with its line).

    A row identical to one already stored (same record, reviewer, role, stage, decision, reason, note
    and time; without a time, the same as the reviewer's current decision) is not stored again, so an
    export imports twice without repeats; a --history export
    replays its changes and undos ("retracted" rows). A record value that is one record's reviewkit
    id and another's source id is never guessed at: every such line is listed; pass --ids. A row
    whose record does not match its pmid, doi or title columns (another review's ids) is refused:
    pass --ids source. A time is ISO 8601, read as UTC when it names no zone. A row dated before what
    it follows (its reviewer's latest row on the record and stage, the decisions an adjudication
    settles) is refused: the history stays in order.
    """
    def go() -> None:
        done = import_decisions(open_review(state.review), file, actor=state.reviewer, ids=ids)
        present = f" ({done.present} already present, not stored again)" if done.present else ""
        click.echo(f"{counted(done.stored, 'decision')} imported from {file}{present}")

    run_guarded(go)


#: The stages' names, keyed by the plain strings --stage and the conflicts carry.
STAGE_NAMES: dict[str, str] = {str(k): v for k, v in STAGES.items()}


@click.command(short_help="List screening conflicts (adjudicators, leads).")
@click.option("--stage", type=click.Choice(["ta", "ft"]), default=None,
              help="Only this stage's conflicts (default: both, title/abstract first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def conflicts(state: CliState, stage: str | None, as_json: bool) -> None:
    """List records whose screeners disagree (adjudicators and leads; give --reviewer).

    Then the full-text reason disagreements: reports every screener excluded, for different reasons.
    They are excluded either way, so they are not conflicts, but PRISMA counts one reason per report.
    """
    def go() -> None:
        review = open_review(state.review)
        # Both stages unless one is asked for: "No conflicts." while full-text conflicts waited misled.
        found = [c for s in ((stage,) if stage else STAGES) for c in list_conflicts(review, state.reviewer, s)]
        reasons = reason_disagreements(review, state.reviewer) if stage in (None, "ft") else []
        if as_json:
            click.echo(json.dumps([
                {"record": c.record_id, "title": c.title, "stage": c.stage, "kind": c.kind,
                 **({"counted_reason": c.counted_reason} if c.kind == "reason" else {}),
                 "decisions": [{"reviewer": d.reviewer, "decision": d.decision, "reason": d.reason,
                                "note": d.note, "time": d.at.isoformat()} for d in c.decisions]}
                for c in found + reasons
            ], indent=2))
            return
        if not found:
            click.echo(f"No conflicts at {STAGE_NAMES[stage] if stage else ' or '.join(STAGE_NAMES.values())}.")
        for i, c in enumerate(found + reasons):
            if i == len(found):
                click.echo("Excluded at full text for different reasons (not conflicts; PRISMA counts the reason shown):")
            label = STAGE_NAMES[c.stage] if c.kind == "inclusion" else f"PRISMA counts: {c.counted_reason}"
            click.echo(f"[{c.record_id}] {c.title} ({label})")
            for d in c.decisions:
                extra = "; ".join(x for x in (d.reason, d.note) if x)
                click.echo(f"    {d.reviewer:<12} {d.decision:<8} {extra}")

    run_guarded(go)


@click.command(short_help="Cohen's kappa and agreement per stage and pair.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--keep-maybe", is_flag=True, help="Treat maybe as its own category at title/abstract too (default there: as include; at full text it is always its own, a maybe there being a conflict).")
@click.pass_obj
def agreement(state: CliState, as_json: bool, keep_maybe: bool) -> None:
    """Cohen's kappa (95% CI) and percentage agreement per stage and reviewer pair.

    The CI is "not estimable" (null in JSON) where its standard error is 0: perfect agreement, or
    a reviewer who put every record in one category.
    """
    from reviewkit.services.agreement import agreement_report, no_figures_text

    def go() -> None:
        review = open_review(state.review)
        report = agreement_report(review, state.reviewer, collapse_maybe=not keep_maybe)
        if as_json:
            click.echo(json.dumps([p.as_dict() for p in report], indent=2))
            return
        if not report:
            click.echo(no_figures_text(review, state.reviewer))
        for p in report:
            a = p.agreement
            if a.kappa is None:
                kappa = f"kappa undefined ({a.reason})"
            elif a.kappa_ci_lower is None or a.kappa_ci_upper is None:  # a standard error of 0
                kappa = f"kappa {a.kappa:.3f} (95% CI not estimable)"
            else:
                kappa = f"kappa {a.kappa:.3f} (95% CI {a.kappa_ci_lower:.3f} to {a.kappa_ci_upper:.3f})"
            pct = f"{100 * a.percent_agreement:.1f}%" if a.percent_agreement is not None else "-"
            click.echo(f"{p.stage}  {p.reviewer_a} vs {p.reviewer_b}: {kappa}; agreement {pct}; n = {a.n}")

    run_guarded(go)


@click.command("full-text", short_help="Record a report's full-text retrieval.")
@click.argument("record", type=ROW_ID)
@click.argument("status", type=click.Choice(FULL_TEXT_STATUSES))
@click.option("--location", default=None, metavar="PATH_OR_URL",
              help="Where the retrieved full text is: a URL, or a path (a relative one is taken from the review "
                   "folder, and one inside it is stored relative to it, so the folder can move).")
@click.option("--note", default=None, help="Why it could not be retrieved, or anything else.")
@click.pass_obj
def full_text(state: CliState, record: int, status: str, location: str | None, note: str | None) -> None:
    """Record a report's full-text retrieval: sought, retrieved (with --location) or not_retrieved.

    Only for a record that passed title/abstract screening (the reports PRISMA counts as sought).

    As the screening screen's full-text keys do; PRISMA's "reports not retrieved" come from these.
    """

    def go() -> None:
        review = open_review(state.review)
        stored = set_full_text(review, state.reviewer, record, status, location=location, note=note)
        click.echo(f"record {record}: full text {status.replace('_', ' ')}" + (f" ({stored})" if stored else ""))
        if (missing := missing_file(review, stored)) is not None:
            # Stored all the same: the PDF may be put there later; said now, not when `o` finds nothing.
            click.echo(f"warning: no file at {missing} yet (a relative path is taken from the review folder)",
                       err=True)

    run_guarded(go)


@click.command(short_help="Settle a screening conflict (adjudicators).")
@click.argument("record", type=ROW_ID)
@click.argument("decision", type=click.Choice(["include", "exclude"]))
@click.option("--stage", type=click.Choice(["ta", "ft"]), required=True, help="ta: title/abstract; ft: full text.")
@click.option("--reason", default=None, help="A full-text exclusion's reason, one of the protocol's.")
@click.option("--note", default=None, help="Why, for the record.")
@click.pass_obj
def adjudicate(state: CliState, record: int, decision: str, stage: str, reason: str | None, note: str | None) -> None:
    """Settle a conflict as the adjudicator (give --reviewer), as the conflicts screen's keys do.

    Also chooses the reason PRISMA counts for a report every screener excluded at full text for
    different reasons (`conflicts` lists them): exclude, with --reason.
    """

    def go() -> None:
        result = resolve_conflict(open_review(state.review), state.reviewer, record, stage, decision,
                                  reason=reason, note=note)
        click.echo(f"record {record}: {result.outcome} at {STAGES[stage]}"  # type: ignore[index]
                   + (f" ({reason})" if reason else ""))

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(full_text)
    group.add_command(decisions)
    group.add_command(conflicts)
    group.add_command(adjudicate)
    group.add_command(agreement)

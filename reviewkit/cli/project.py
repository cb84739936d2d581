"""Provides the project commands: init, status, and opening the TUI."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from reviewkit.cli.common import CliState, run_guarded
from reviewkit.config import load_user_config
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review, check_reviewer, init_review, open_review
from reviewkit.services.status import ReviewStatus, StageCounts, review_status
from reviewkit.wording import counted


def open_tui(state: CliState) -> None:
    """Open the TUI on the review (Textual is imported only here)."""
    from reviewkit.tui.app import make_app

    review = open_review(state.review)
    check_reviewer(review, state.reviewer)  # refused here, in one line, not inside a full-screen TUI
    # The screening screen reads [keys] from the user config; with --reviewer given the file was not
    # read yet, and a broken one was found only inside the TUI (an unreadable one as a traceback).
    load_user_config()
    warn_protocol_problems(review)
    make_app(review, reviewer=state.reviewer).run()


def warn_protocol_problems(review: Review) -> None:
    """One line on stderr when planned analyses have problems the review opened despite (analyze skips them),
    and one when no reviewer is a lead (a review.toml written before leads were required)."""
    if not any("lead" in r.roles for r in review.protocol.reviewers):
        click.secho(f"warning: {review.protocol_path}: no reviewer is a lead, so nobody may replace the protocol, "
                    "read the audit log or back up the review: give one the role by editing the file "
                    '(roles = ["screener", "lead"])', fg="yellow", err=True)
    found = sorted(review.protocol.analysis_problems)
    if found:
        which = ", ".join(f"analyses[{i}]" for i in found)
        them = "them" if len(found) > 1 else "it"
        click.secho(f"warning: {review.protocol_path}: {which} cannot run as planned and `reviewkit analyze` "
                    f"will skip {them}: run `reviewkit protocol check` for the lines to fix", fg="yellow", err=True)


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--protocol", "protocol_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None, help="Protocol to start from (default: the worked example, baricitinib for AD).",
)
def init(folder: Path, protocol_file: Path | None) -> None:
    """Create a review in FOLDER: its review.toml and its database."""

    def go() -> None:
        review = init_review(folder, protocol_file)
        click.echo(f"Created review '{review.protocol.title}' in {review.folder}")
        click.echo(f"  protocol: {review.protocol_path}")
        click.echo(f"  database: {review.database}")
        click.echo(f"Next: reviewkit -C {shlex.quote(str(folder))} status")

    run_guarded(go)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON, for scripts.")
@click.pass_obj
def status(state: CliState, as_json: bool) -> None:
    """Print the counts at each PRISMA stage as they stand."""

    def go() -> None:
        review = open_review(state.review)
        warn_protocol_problems(review)
        counts = review_status(review)
        if as_json:
            click.echo(json.dumps(counts.as_dict(), indent=2))
        else:
            click.echo(format_status(counts))

    run_guarded(go)


def maybe_note(c: StageCounts) -> str:
    """Why some full-text conflicts are there: a review screened before a maybe at full text went to the
    adjudicator shows conflicts no two screeners made, and its adjudicator should know where they came from."""
    if not c.conflict_from_maybe:
        return ""
    return f"   ({c.conflict_from_maybe} of them from a maybe: a maybe at full text goes to the adjudicator)"


def _excluded_other_note(s: ReviewStatus) -> str:
    """Title/abstract exclusions of the other-methods column, which PRISMA's "Records excluded" leaves out."""
    n = s.ta_excluded_other_methods
    return f"   ({n} via other methods: not sought for retrieval, PRISMA's right-hand column)" if n else ""


def format_status(s: ReviewStatus) -> str:
    """A readable table of the counts."""
    # The labels' column widens for a long source name ("Academic Search Premier"), so every count stays
    # in one column.
    width = max([21, *(len(source) + 3 for source in s.identified_by_source)])

    def row(label: str, n: int, note: str = "") -> str:
        return f"{label:<{width}}{n:>8}{note}"

    lines = [s.title, f"database: {s.database}", ""]
    lines.append(row("Identified", s.identified))
    for source, n in sorted(s.identified_by_source.items()):
        lines.append(row(f"  {source}", n))
    lines.append(row("Records", s.records))
    lines.append(row("Duplicates removed", s.duplicates_removed,
                     (f"   ({counted(s.pending_duplicate_pairs, 'pair')} to check)" if s.pending_duplicate_pairs else "")
                     + (f"   ({s.removed_other_methods} via other methods)" if s.removed_other_methods else "")))
    lines.append(row("Records screened", s.after_dedup,
                     f"   ({s.screened_other_methods} via other methods: PRISMA's right-hand column)"
                     if s.screened_other_methods else ""))
    for name, c in (("Title/abstract", s.ta), ("Full text", s.ft)):
        lines.append(name)
        lines += [row(f"  {label}", n, maybe_note(c) if label == "conflicts" else
                      _excluded_other_note(s) if label == "excluded" and c is s.ta else "") for label, n in (
            ("included", c.included), ("excluded", c.excluded), ("conflicts", c.conflict),
            ("in progress", c.in_progress), ("not started", c.unscreened))]
        if c is s.ft:
            lines.append(row("  not retrieved", c.not_retrieved))
    lines.append(row("Studies included", s.studies))
    return "\n".join(lines)


@click.command(short_help="Build the worked example as a review in FOLDER.")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--open", "open_tui_after", is_flag=True, help="Open the TUI on it when built.")
@click.option("--force", is_flag=True,
              help="If FOLDER already holds the demo, keep it (and open it with --open) instead of failing.")
@click.pass_obj
def demo(state: CliState, folder: Path, open_tui_after: bool, force: bool) -> None:
    """Build the worked example as a complete review (EXAMPLE DATA) in FOLDER."""
    from reviewkit.services.demo import build_demo, holds_demo

    def go() -> None:
        where = shlex.quote(str(folder))
        if holds_demo(folder):  # a review that is not the demo is refused here, --force or not
            if not force:
                raise ReviewkitError(f"{folder} already holds the demo",
                                     hint=f"open it with `reviewkit -C {where}`, or `reviewkit demo {where} --force "
                                     "--open`")
            if open_tui_after:
                click.echo(f"Opening the demo already in {folder}")
            else:
                click.echo(f"{folder} already holds the demo; open it with `reviewkit -C {where}`")
        else:
            review = build_demo(folder, log=lambda m: click.echo(f"  {m}"))
            click.echo(f"Built the example review in {review.folder}")
            click.echo(format_status(review_status(review)))
        if open_tui_after:
            # The demo's reviewers are alice, bob and carol: the user config's name is no use here.
            open_tui(CliState(review=folder, reviewer=state.reviewer_option or "alice"))

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(init)
    group.add_command(status)
    group.add_command(demo)

"""Provides `reviewkit prisma`: the PRISMA 2020 flow diagram and counts from the review's live data."""

from __future__ import annotations

from pathlib import Path

import click

from reviewkit.cli.common import CliState, output_file, run_guarded
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import open_review
from reviewkit.services.report import write_prisma


@click.command(short_help="Draw the PRISMA 2020 diagram, or export its counts.")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "pdf", "json", "csv"]), default="svg",
              show_default=True, help="A diagram (svg/png/pdf) or the counts (json; csv with the PRISMA2020 R package's box keys).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write (default: exports/prisma.FORMAT in the review; '-' prints json/csv).")
@click.pass_obj
def prisma(state: CliState, fmt: str, output: Path | None) -> None:
    """Draw the PRISMA 2020 flow diagram, or export its counts, from the review as it stands."""

    def go() -> None:
        review = open_review(state.review)
        if output is not None and str(output) == "-":
            if fmt not in ("json", "csv"):
                raise ReviewkitError(f"'-o -' prints the counts (json or csv), not a {fmt} diagram",
                                     hint=f"name a .{fmt} file, or add --format json")
            printed = write_prisma(review, fmt, output)
            # The CSV text ends its last row already: another newline would print a blank line the file lacks.
            text = printed.text or ""
            click.echo(text, nl=not text.endswith("\n"))
            warn_not_final(printed.caveat, printed.warnings)
            return
        target = output or review.exports / f"prisma.{fmt}"
        with output_file(target, (f".{fmt}",), f"prisma --format {fmt}") as temp:
            written = write_prisma(review, fmt, temp)
        click.echo(f"PRISMA 2020 {fmt} written to {target}")
        warn_not_final(written.caveat, written.warnings)

    run_guarded(go)


def warn_not_final(caveat: str | None, warnings: tuple[str, ...] = ()) -> None:
    """Say on stderr that counts just written are not final (stdout may be the counts themselves), and
    anything else a reader of them should know (a reason counted that the protocol does not list)."""
    if caveat:
        click.echo(f"warning: these counts are not final: {caveat}", err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(prisma)

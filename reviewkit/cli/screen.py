"""Provides the `screen` command: opens the TUI straight on the screening screen of a stage."""

from __future__ import annotations

import click

from reviewkit.cli.common import CliState, run_guarded
from reviewkit.config import config_path, given_reviewer, load_user_config
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import check_reviewer, open_review


@click.command("screen", short_help="Screen records in the terminal UI.")
@click.option("--stage", type=click.Choice(["ta", "ft"]), default="ta", show_default=True,
              help="ta: titles and abstracts; ft: full texts.")
@click.option("--reviewer", metavar="NAME", default=None, help="Screen as this reviewer (overrides the global --reviewer).")
@click.pass_obj
def screen(state: CliState, stage: str, reviewer: str | None) -> None:
    """Screen records one by one in the terminal UI (i include, e exclude, m maybe, ? for all keys)."""

    def go() -> None:
        from reviewkit.tui.app import make_app  # Textual is loaded only when the UI opens

        review = open_review(state.review)
        who = given_reviewer(reviewer) or state.reviewer
        if who is None:
            # Decisions are a reviewer's own: without one the screen could only say so, full-screen.
            raise ReviewkitError("screening needs a reviewer: whose decisions are these?",
                                 hint=f'pass --reviewer NAME, or put reviewer = "NAME" in {config_path()}')
        check_reviewer(review, who)  # refused here, in one line, not inside a full-screen TUI
        load_user_config()  # a broken user config too ([keys]), even when --reviewer kept it unread
        make_app(review, reviewer=who, stage=stage).run()

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add the `screen` command to the top-level group."""
    group.add_command(screen)

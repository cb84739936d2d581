"""Provides the `reviewkit` command: a click group whose subcommands live one module per stage."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from reviewkit import __version__
from reviewkit.cli.common import CliState, print_error, run_guarded

#: Each module holds the commands of one stage and exposes `register(group)`.
#: Adding a stage's commands is one line here.
COMMAND_MODULES: tuple[str, ...] = (
    "reviewkit.cli.project",
    "reviewkit.cli.identify",
    "reviewkit.cli.dedup",
    "reviewkit.cli.studies",
    "reviewkit.cli.screening",
    "reviewkit.cli.report",
    "reviewkit.cli.admin",
    "reviewkit.cli.export",
    "reviewkit.cli.meta",
    "reviewkit.cli.analyze",
    "reviewkit.cli.rob",
    "reviewkit.cli.screen",
    "reviewkit.cli.extract",
    "reviewkit.cli.protocol",
)


class _TopGroup(click.Group):
    """The top-level group: a global option given after the command is refused, as click does, with the way to
    give it (`reviewkit status -C DIR` reads as natural as `reviewkit -C DIR status`, but only one works); a
    file argument or option naming no file, or a folder, is one error line with exit 1; a missing choice is
    one line listing the choices."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.MissingParameter as exc:
            # Anything left out (a file argument too) is a command typed wrong: click's usage block and exit 2.
            if exc.param is not None and isinstance(exc.param.type, click.Choice):
                raise _choices_on_one_line(exc.param, exc.ctx) from None
            raise
        except click.BadParameter as exc:
            if not isinstance(getattr(exc.param, "type", None), click.Path):
                raise
            # A file that is missing, or a folder where a file goes, is an error the user fixes by naming
            # another file: one `error:` line and exit 1, as every file error reviewkit finds itself (not
            # click's usage block and exit 2, which is for a command typed wrong).
            print_error(exc.format_message())
            ctx.exit(1)
        except click.NoSuchOption as exc:
            if exc.option_name not in {name for param in self.params for name in param.opts + param.secondary_opts}:
                raise
            # No "did you mean" of the command's own options: moving the option is the fix.
            raise click.NoSuchOption(
                exc.option_name, ctx=exc.ctx,
                message=f"No such option '{exc.option_name}' after the command: {exc.option_name} is a global "
                f"option, and global options go before the command, e.g. "
                f"`reviewkit -C DIR --reviewer NAME {_command_words(exc.ctx)}`") from None


def _choices_on_one_line(param: click.Parameter, ctx: click.Context | None) -> click.MissingParameter:
    """A missing choice said as click says other missing values, on one line: "Missing option '--stage'. Choose
    from: ta, ft." (click lists the choices one per line, a tab before each, which reads as more errors)."""
    assert isinstance(param.type, click.Choice)
    choices = ", ".join(str(choice) for choice in param.type.choices)
    return click.MissingParameter(f"Choose from: {choices}.", ctx=ctx, param_hint=param.get_error_hint(ctx),
                                  param_type=param.param_type_name)


def _command_words(ctx: click.Context | None) -> str:
    """The subcommand's words as typed ("dedup pairs"), without the program's name."""
    words: list[str] = []
    while ctx is not None and ctx.parent is not None:
        words.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(words)) or "status"


@click.group(cls=_TopGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="reviewkit")
@click.option(
    # Not click's file_okay=False: a file here is refused when the review is opened, as a missing folder is (one
    # `error:` line naming it, exit 1), not as a command typed wrong (click's usage block and exit 2).
    "-C", "--review", "review", metavar="DIR", type=click.Path(path_type=Path), default=None,
    help="The review folder (holding review.toml). Default: the current folder.",
)
@click.option("--reviewer", metavar="NAME", default=None, help="Act as this reviewer (default: from your user config).")
@click.pass_context
def cli(ctx: click.Context, review: Path | None, reviewer: str | None) -> None:
    """reviewkit: a systematic review from search to meta-analysis. With no command, opens the TUI."""
    ctx.obj = CliState(review=review or Path.cwd(), reviewer=reviewer)
    if ctx.invoked_subcommand is None:
        from reviewkit.cli.project import open_tui  # the TUI is imported only when it is wanted

        run_guarded(lambda: open_tui(ctx.obj))


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


def main() -> None:
    """Console-script entry point."""
    cli.main(args=sys.argv[1:], prog_name="reviewkit")

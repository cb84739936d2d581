"""Provides what every CLI command shares: the state passed down, writing outputs safely, one-line errors."""

from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import NoReturn, TypeVar

import click

from reviewkit.config import given_reviewer, load_user_config
from reviewkit.errors import ReviewkitError
from reviewkit.services.common import UnknownReviewer

T = TypeVar("T")


class _RowId(click.IntRange):
    """An IntRange that calls itself an integer: click's own name for it ("'x' is not a valid integer range",
    an INTEGER RANGE metavar) reads as if a range of numbers were wanted."""

    name = "integer"


#: A row id typed on the command line (a record, pair, group, assessment). Bounded by PostgreSQL's integer
#: column: a longer number was sent to it as an INTEGER and failed with a traceback ("integer out of range"),
#: where SQLite said "no record …"; now both refuse it as click refuses any bad argument.
ROW_ID = _RowId(min=1, max=2**31 - 1)


class RangeInWords(click.Option):
    """An option taking a bounded number whose help says what it takes in words ("Only the last N events (N ≥ 1).",
    "this record"): click's own "[x>=1]" or "[1<=x<=2147483647]" after it said it again, in a notation users do
    not read. Out-of-range values are still refused by the type, with the range."""

    def get_help_extra(self, ctx: click.Context) -> click.types.OptionHelpExtra:
        extra = super().get_help_extra(ctx)
        extra.pop("range", None)
        return extra


class CliState:
    """Global options: the review folder and who is acting."""

    def __init__(self, review: Path, reviewer: str | None = None) -> None:
        self.review = review
        #: --reviewer as given on the command line (None when it was not).
        self.reviewer_option = given_reviewer(reviewer)
        #: The user config file the acting reviewer was read from (None: from the command line, or nobody).
        self.reviewer_config: Path | None = None

    @cached_property
    def reviewer(self) -> str | None:
        """--reviewer, else the user config's reviewer, as the TUI does.

        Every command reads the acting reviewer here, so none can forget the fallback; it is read
        lazily, inside the command's guard, so a broken config file is a one-line error and
        commands that act as nobody (meta, rob judge) never read it.
        """
        if self.reviewer_option:
            return self.reviewer_option
        config = load_user_config()
        if config.reviewer:
            self.reviewer_config = config.path
        return config.reviewer


def run_guarded(fn: Callable[[], T]) -> T:
    """Run fn; a user error becomes one red line on stderr and exit status 1, never a traceback.

    User errors are ReviewkitError, an OSError (a folder that does not exist, a full disk, no
    permission: named by its path) and a damaged SQLite database file.
    """
    try:
        return fn()
    except BrokenPipeError:
        # The reader went away (`reviewkit … | head`): not an error to print. Later writes (and
        # Python's flush at exit) go to /dev/null; 141 is what a shell reports for SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except Exception as exc:
        text = user_error_text(exc)
        if text is None:
            raise  # a bug: keep its traceback
        _fail(text)


def user_error_text(exc: Exception) -> str | None:
    """The one line a user error is told in (run_guarded's), or None for a bug."""
    if isinstance(exc, UnknownReviewer):
        return _unknown_reviewer_text(exc)
    if isinstance(exc, ReviewkitError):
        return str(exc)
    if isinstance(exc, OSError):
        return _os_error_text(exc)
    return _damaged_database_text(exc)


def _unknown_reviewer_text(exc: UnknownReviewer) -> str:
    """The unknown-reviewer error, saying so when the name came from the user config, not --reviewer:
    a user who typed no name would otherwise not know where 'zed' came from."""
    ctx = click.get_current_context(silent=True)
    state = ctx.find_object(CliState) if ctx is not None else None
    if state is None or state.reviewer_config is None or state.reviewer != exc.name:
        return str(exc)
    return (f"unknown reviewer '{exc.name}', named by your user config {state.reviewer_config} "
            f"({exc.hint}; pass --reviewer NAME or change reviewer there)")


def print_error(message: str) -> None:
    """Say a user error as run_guarded does, without ending the command."""
    click.secho(f"error: {message}", fg="red", err=True)


def _fail(message: str) -> NoReturn:
    print_error(message)
    sys.exit(1)


def _os_error_text(exc: OSError) -> str:
    """`PATH: strerror`, as the shell says it."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _damaged_database_text(exc: Exception) -> str | None:
    """The message for a review database SQLite cannot read, or None for any other error.

    open_review and every service session already turn a damaged file into a ReviewkitError
    naming it (store.db.open_error, session_scope); this is the net for what reaches SQLite
    another way: a backup meets the error bare, the whole-review export reads every table on a
    connection of its own.
    Recognised by SQLite's own words: the same exception types also cover integrity and
    programming errors, which are bugs and must keep their traceback.
    """
    from reviewkit.services.project import damaged_text, is_damaged

    return damaged_text(_database_file(), exc) if is_damaged(exc) else None


def _database_file() -> str:
    """The database of the review the command works on, as best known from the command line."""
    from reviewkit.protocol import PROTOCOL_FILE, load_protocol
    from reviewkit.services.project import database_url_for

    ctx = click.get_current_context(silent=True)
    folder = Path.cwd()
    if ctx is not None:
        # init, demo and restore name their folder as an argument; the others take -C.
        given = ctx.params.get("folder")
        state = ctx.find_object(CliState)
        folder = Path(given) if given else state.review if state else folder
    try:
        url = database_url_for(folder.resolve(), load_protocol(folder / PROTOCOL_FILE, lenient_analyses=True))
    except (ReviewkitError, OSError):  # only naming the file here: never hide the real error
        return f"the database of the review in {folder}"
    return url.removeprefix("sqlite:///")


def check_suffix(path: Path, suffixes: Sequence[str], command: str) -> None:
    """Refuse a file name whose extension does not match the format written (CSV in x.xlsx misleads)."""
    if path.suffix.lower() in suffixes:
        return
    formats = _either([s.lstrip(".").upper() for s in suffixes])
    shown = f"'{path.suffix}'" if path.suffix else "a name without an extension"
    raise ReviewkitError(f"{command} writes {formats}, not {shown}", where=str(path),
                         hint=f"name a {_either(list(suffixes))} file")


def _either(items: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return " or ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else items[0]


@contextmanager
def output_file(path: Path, suffixes: Sequence[str], command: str) -> Iterator[Path]:
    """The one way commands write an output file: yields a temporary path to write to.

    The extension is checked first (against `suffixes`); missing parent folders are created.
    The temporary file sits beside `path` with the same extension (services pick the format
    from it) and is renamed over `path` only when the block succeeds, so a refused or failed
    export leaves nothing behind: no empty or partial file, no folders it created.
    """
    check_suffix(path, suffixes, command)
    # The format is the one the user named: a link "data.csv -> sheet.xlsx" gets CSV, as writing
    # through the link in place would, so the suffix is read before the link is followed.
    suffix = path.suffix
    if path.is_symlink():
        # Overwrite what the link points at, as writing in place would; replacing the link
        # itself with a plain file would quietly cut it (a shared folder's link, say).
        path = Path(os.path.realpath(path))
    # "new/../out.csv" means ./out.csv: the OS would look for "new" first.
    path = Path(os.path.normpath(path))
    created = _make_parents(path.parent)
    # Hidden and random, so a half-written file is never mistaken for a result; the service
    # creates it itself, so it gets the usual permissions (mkstemp's would be 0600). Beside the
    # file replaced (the link's target), so the final rename stays on one file system.
    temp = path.parent / f".{path.stem}.{secrets.token_hex(4)}.part{suffix}"
    try:
        yield temp
        _keep_mode(path, temp)
        os.replace(temp, path)
    except OSError as exc:
        if exc.filename == str(temp):
            exc.filename = str(path)  # name the file the user asked for, not the temporary one
        _clean_up(temp, created)
        raise
    except ReviewkitError as exc:
        # A service that words its own write error (the PRISMA diagram's) names the file it was given.
        if exc.where and str(temp) in exc.where:
            exc.where = exc.where.replace(str(temp), str(path))
            exc.args = (str(exc),)
        _clean_up(temp, created)
        raise
    except BaseException:
        _clean_up(temp, created)
        raise


def _keep_mode(path: Path, temp: Path) -> None:
    """Give the new file the permissions of the file it replaces (a group-writable shared export
    stays group-writable), as an in-place overwrite would."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return  # a new file keeps the usual permissions
    if temp.exists():
        os.chmod(temp, mode)


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing ancestors; returns those created, outermost first."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    created: list[Path] = []
    try:
        for path in missing:
            try:
                path.mkdir()
            except FileExistsError:
                if not path.is_dir():
                    raise
                continue  # made by someone else meanwhile: theirs, never cleaned up by us
            created.append(path)
    except OSError:
        _clean_up(None, created)
        raise
    return created


def _clean_up(temp: Path | None, created: list[Path]) -> None:
    """Remove what a failed write left: its temporary file and the folders made for it."""
    # Failures here are ignored: the temporary file was never written when its folder is
    # unusable, and a folder something else was put in meanwhile stays; the error being raised says why.
    if temp is not None:
        with suppress(OSError):
            temp.unlink(missing_ok=True)
    for folder in reversed(created):
        with suppress(OSError):
            folder.rmdir()

"""Provides the review handle: opening and creating a review folder (protocol + database)."""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from reviewkit.errors import ReviewkitError
from reviewkit.protocol import PROTOCOL_FILE, Protocol, load_protocol
from reviewkit.services.common import acting_reviewer
from reviewkit.store import screening as store_screening
from reviewkit.store.db import (
    DB_FILE,
    make_engine,
    migrate,
    open_error,
    schema_error,
    session_scope,
    sqlite_url,
)

# Re-exported for the CLI's last-resort net (the CLI never imports the store itself).
from reviewkit.store.db import damaged_text as damaged_text
from reviewkit.store.db import is_damaged as is_damaged

#: The example protocol `reviewkit init` uses when no --protocol is given.
EXAMPLE_PROTOCOL = Path(__file__).resolve().parent.parent / "protocols" / "baricitinib-ad.toml"
#: Overrides the protocol's database_url (CI runs the whole suite against PostgreSQL this way).
DATABASE_URL_ENV = "REVIEWKIT_DATABASE_URL"


@dataclass(frozen=True)
class Review:
    """An open review: its folder, protocol and database engine. Services take this handle.

    Folder layout::

        review.toml     the protocol (question, sources, eligibility, reviewers, form, analyses)
        reviewkit.db    the SQLite database, unless the protocol's database_url points elsewhere
        exports/        what `reviewkit export`, `prisma` and `analyze` write
    """

    folder: Path
    protocol: Protocol
    engine: Engine

    @property
    def protocol_path(self) -> Path:
        """Where the protocol lives."""
        return self.folder / PROTOCOL_FILE

    @property
    def exports(self) -> Path:
        """The folder for exported files (created on demand)."""
        path = self.folder / "exports"
        path.mkdir(exist_ok=True)
        return path

    @property
    def database(self) -> str:
        """The database in use, for display (no password)."""
        return self.engine.url.render_as_string(hide_password=True)


def database_url_for(folder: Path, protocol: Protocol) -> str:
    """The database URL: the environment override, the protocol's database_url, or the folder's file."""
    return normalise_database_url(os.environ.get(DATABASE_URL_ENV) or protocol.database_url or sqlite_url(folder))


def normalise_database_url(url: str) -> str:
    """The URL as SQLAlchemy reads it."""
    # postgres:// is what Heroku, libpq and many hosting panels write; SQLAlchemy knows only postgresql://.
    for short in ("postgres://", "postgres+"):
        if url.startswith(short):
            return "postgresql" + url.removeprefix("postgres")
    return url


def open_review(folder: Path) -> Review:
    """Open the review in `folder`: load its protocol, connect, and bring the schema up to date.

    A database that cannot be used (a damaged or foreign SQLite file, a PostgreSQL server that
    refuses or does not answer) is a ReviewkitError naming the file or the URL (no password),
    so every caller (the CLI, the TUI, scripts) gets the same one-line reason. So is a database
    that is missing, empty or holds no reviewkit tables: the review's database is not created
    again (empty) in its place, and nothing is written to a database that is not a review's.
    """
    return _open(folder, create=False)


_REVIEW_FOLDER_HINT = "pass the review folder, the one holding review.toml, with -C DIR, or create one with `reviewkit init DIR`"


def check_review_folder(folder: Path) -> Path:
    """`folder`, refused in the words of a missing review.toml when it is not a folder at all.

    A file given as the folder (`-C review.toml`) read as "no review here: review.toml/review.toml does not
    exist", and a missing folder named a file inside it; both say what the path is and that a folder was meant.
    """
    if not folder.exists():
        raise ReviewkitError(f"no review here: the folder {folder} does not exist", hint=_REVIEW_FOLDER_HINT)
    if not folder.is_dir():
        raise ReviewkitError(f"no review here: {folder} is a file, not a folder", hint=_REVIEW_FOLDER_HINT)
    return folder


def _open(folder: Path, *, create: bool) -> Review:
    """Open the review in `folder`; `create` (init_review only) makes its schema in a new, empty database."""
    folder = check_review_folder(folder.resolve())
    protocol_path = folder / PROTOCOL_FILE
    if not protocol_path.exists():
        raise ReviewkitError(f"no review here: {protocol_path} does not exist", hint=_REVIEW_FOLDER_HINT)
    # Lenient: a planned analysis that a newer check refuses is skipped by analyze (with the reason),
    # not a review that no command opens any more.
    protocol = load_protocol(protocol_path, lenient_analyses=True)
    setting = database_setting(protocol_path, protocol)
    try:
        engine = make_engine(database_url_for(folder, protocol))
    except ReviewkitError as exc:  # a URL SQLAlchemy cannot use
        raise _naming(exc, setting) from None
    try:
        if not create and (missing := schema_error(engine)) is not None:
            raise _naming(missing, setting)
        migrate(engine)
        review = Review(folder=folder, protocol=protocol, engine=engine)
        sync_reviewers(review)
    except BaseException as exc:
        engine.dispose()  # a review that did not open keeps no connection (nor file handle) open
        error = open_error(engine, exc) if isinstance(exc, Exception) else None
        if error is None:
            raise
        raise _naming(error, setting) from exc
    return review


def database_setting(protocol_path: Path, protocol: Protocol) -> str | None:
    """Where the review's database URL is set, for errors about that database (None: the folder's own file)."""
    if os.environ.get(DATABASE_URL_ENV):
        return f"the environment variable {DATABASE_URL_ENV}"
    if protocol.database_url:
        return f"database_url in {protocol_path}"
    return None


def _naming(error: ReviewkitError, setting: str | None) -> ReviewkitError:
    """`error` (about the database the URL names) saying where the URL is set: the variable overrides
    review.toml, so a team member whose shell still sets it would otherwise look for the fault in the wrong place."""
    if setting is None:
        return error
    said = f"the URL is set by {setting}"
    return ReviewkitError(error.message, where=error.where, hint=f"{error.hint}; {said}" if error.hint else said)


def init_review(folder: Path, protocol_file: Path | None = None) -> Review:
    """Create a review folder from a protocol (the worked example's by default) and its database; an init
    that fails leaves nothing it made (review.toml, database file, folders)."""
    source = protocol_file or EXAMPLE_PROTOCOL
    load_protocol(source)  # refuse a bad protocol before creating anything
    target = folder / PROTOCOL_FILE
    if target.exists():
        raise ReviewkitError(
            f"{target} already exists", hint=f"open it with `reviewkit -C {shlex.quote(str(folder))} status`, "
            "or pick a new folder"
        )
    stray = folder / DB_FILE
    if stray.exists() and database_url_for(folder, load_protocol(source)) == sqlite_url(folder):
        # A database without its protocol is another review's (copied, or left by a removed
        # review.toml): taking it over would start the new review with that one's records.
        raise ReviewkitError(f"{stray} already exists, without a review.toml",
                             hint="move the file away to start a new review, or restore the review it belongs to")
    made = [f for f in (folder, *folder.parents) if not f.exists()]
    had_db = stray.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(source, target)
        return _open(folder, create=True)
    except BaseException:
        # A review.toml without its database (a server that refused, a full disk) is no review: every
        # command would refuse it, and a second `init` would refuse the folder for it. Leave nothing.
        target.unlink(missing_ok=True)
        if not had_db:
            # SQLite's own companions only: another file named like them may be the user's.
            for leftover in (stray, *(folder / f"{DB_FILE}-{end}" for end in ("wal", "shm", "journal"))):
                leftover.unlink(missing_ok=True)
        for path in made:  # innermost first
            if path.exists() and not any(path.iterdir()):
                path.rmdir()
        raise


def check_reviewer(review: Review, name: str | None) -> None:
    """Refuse a reviewer the review's team does not hold, as every command acting as one does
    (for the TUI, which would otherwise open and say so only inside)."""
    if name is None:
        return  # nobody: the TUI opens on the dashboard
    with session_scope(review.engine) as session:
        acting_reviewer(session, name)


def refuse_renaming_in_case(session: Session, names: list[str], where: str | None = None) -> None:
    """A stored reviewer written in other case ("Bob" for "bob") would be a second reviewer to the
    database: bob's decisions would not be Bob's, and one person could decide a record twice. The
    protocol refuses two such names in one file for the same reason."""
    have = set(store_screening.reviewer_roles(session))
    stored = {name.casefold(): name for name in have}
    for name in names:
        old = stored.get(name.casefold())
        if old is not None and name not in have:
            raise ReviewkitError(
                f"reviewer '{name}' differs only in case from '{old}', whose work the review holds: it would "
                "be a second reviewer", where=where, hint=f"write the name as '{old}'")


def sync_reviewers(review: Review) -> None:
    """Make every reviewer named in the protocol a row (roles follow the protocol; none are deleted)."""
    wanted: dict[str, list[str]] = {r.name: list(r.roles) for r in review.protocol.reviewers}
    with session_scope(review.engine) as session:
        have = store_screening.reviewer_roles(session)
    if all(have.get(name) == roles for name, roles in wanted.items()) and all(
            not roles for name, roles in have.items() if name not in wanted):
        return
    with session_scope(review.engine, write=True) as session:
        # A name edited by hand into other case would quietly become a second reviewer (see above).
        refuse_renaming_in_case(session, list(wanted), where=str(review.protocol_path))
        store_screening.upsert_reviewers(session, wanted)

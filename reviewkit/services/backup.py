"""Provides consistent backups of a review while reviewers keep working."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from reviewkit.errors import ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope

PG_GUIDANCE = (
    "this review's database is PostgreSQL: back it up on the server with pg_dump, which takes a "
    "consistent snapshot while reviewers work, e.g. `pg_dump --format=custom --file=review.dump DBNAME` "
    "(restore with pg_restore); keep review.toml beside the dump"
)


def backup_review(review: Review, target: Path, *, actor: str | None) -> Path:
    """Copy the SQLite database with SQLite's online backup API (consistent under concurrent writes).

    For a lead only: the copy holds every reviewer's decisions, assessments and values, blinded or
    not (as `export review` does); anyone else is refused before anything is written.
    `target` is a folder (a review folder copy is made in it: review.toml + reviewkit.db) or a
    .db file path. PostgreSQL reviews get pg_dump guidance instead.
    """
    with session_scope(review.engine) as session:
        acting_reviewer(session, actor, "lead")
    if review.engine.dialect.name != "sqlite":
        raise ReviewkitError(PG_GUIDANCE)
    source = Path(review.engine.url.database or "")
    to_file = target.suffix.lower() == ".db"
    db_target = target if to_file else target / source.name
    # Checked before anything is made, so a refused backup leaves no folder or protocol copy behind.
    if not to_file and target.exists() and not target.is_dir():
        raise ReviewkitError("a file of that name is in the way: a backup is made in a folder or to a .db file",
                             where=str(target), hint="name a new folder, or a .db file")
    if not to_file and (target / review.protocol_path.name).exists():
        # Another review's protocol (its database_url, its team) must not be replaced by this one's. Said
        # before its database's being there: a review folder (this review's own, `backup my-review`) is
        # refused for what it is, as the README says, not for the file that would be overwritten.
        own = " (this review's own folder)" if target.resolve() == review.folder.resolve() else ""
        raise ReviewkitError(f"{target / review.protocol_path.name} already exists: the folder holds a review{own}, "
                             "and a backup never writes into a folder that holds a review.toml",
                             hint="back up to a new folder")
    if db_target.exists():
        raise ReviewkitError(f"{db_target} already exists", hint="back up to a new place")
    # Everything this call makes is noted, so a failed copy (a full disk, a file-size limit) can
    # take it all back: no protocol copy, partial file or empty folders are left to look like a backup.
    created = _missing_folders(db_target.parent)
    made: list[Path] = []
    partial = db_target.with_suffix(db_target.suffix + ".part")
    try:
        db_target.parent.mkdir(parents=True, exist_ok=True)
        if not to_file:
            protocol = target / review.protocol_path.name
            made.append(protocol)
            shutil.copyfile(review.protocol_path, protocol)
        made += [partial, partial.with_name(partial.name + "-journal")]  # SQLite's rollback journal
        _copy_database(source, partial)
        partial.rename(db_target)  # never leave a half-written backup under the real name
    except BaseException as exc:
        # A Ctrl-C too: it left the protocol copy and the .part file, a folder that then looked like a
        # review and refused the next backup into it.
        for path in made:
            path.unlink(missing_ok=True)
        for folder in reversed(created):  # innermost first; only if still empty
            try:
                folder.rmdir()
            except OSError:
                break
        if not isinstance(exc, OSError | sqlite3.Error):
            raise
        raise ReviewkitError(f"the backup failed ({exc}); nothing was kept", where=str(target),
                             hint="check the free space and file-size limits there") from None
    return db_target


def _missing_folders(folder: Path) -> list[Path]:
    """`folder` and its ancestors that do not exist yet, outermost first."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _copy_database(source: Path, partial: Path) -> None:
    """Copy the database with SQLite's online backup API into `partial`."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            # One step, as one read transaction: in WAL mode (every reviewkit database) a reader never
            # blocks a writer, so nobody waits, and the copy is the snapshot that transaction saw. Copied a
            # few pages a step, a write by another process between steps restarted the copy from the first
            # page: under steady writing (an import, a dedup run, a busy team) a large review's backup
            # never finished.
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()

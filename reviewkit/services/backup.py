"""Provides consistent backups of a review while reviewers keep working."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review

PG_GUIDANCE = (
    "this review's database is PostgreSQL: back it up on the server with pg_dump, which takes a "
    "consistent snapshot while reviewers work, e.g. `pg_dump --format=custom --file=review.dump DBNAME` "
    "(restore with pg_restore); keep review.toml beside the dump"
)


def backup_review(review: Review, target: Path) -> Path:
    """Copy the SQLite database with SQLite's online backup API (consistent under concurrent writes).

    `target` is a folder (a review folder copy is made in it: review.toml + reviewkit.db) or a
    .db file path. PostgreSQL reviews get pg_dump guidance instead.
    """
    if review.engine.dialect.name != "sqlite":
        raise ReviewkitError(PG_GUIDANCE)
    source = Path(review.engine.url.database or "")
    if target.suffix == ".db":
        db_target = target
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        target.mkdir(parents=True, exist_ok=True)
        db_target = target / source.name
        shutil.copyfile(review.protocol_path, target / review.protocol_path.name)
    if db_target.exists():
        raise ReviewkitError(f"{db_target} already exists", hint="back up to a new place")
    partial = db_target.with_suffix(db_target.suffix + ".part")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        # Copies page by page; pages written meanwhile are copied again, so the copy is one
        # consistent snapshot without stopping anyone.
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()
    partial.rename(db_target)  # never leave a half-written backup under the real name
    return db_target

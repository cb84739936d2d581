"""Provides identification: importing export files with their provenance (searches join in search.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.store import runs as store_runs
from reviewkit.store.db import session_scope

#: Records are written in batches of this many (one transaction for the whole file).
BATCH = 2_000
#: Formats whose records are PubMed's own; the source is named for PRISMA accordingly.
_PUBMED_FORMATS = {"medline", "pubmed_xml"}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What one import did."""

    run_id: int
    file: str
    source: str
    format: str
    records: int
    sha256: str


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    review: Review,
    path: Path,
    *,
    source: str | None = None,
    source_kind: str = "database",
    format: str | None = None,
    column_map: Mapping[str, str] | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import every record of an export file as one run: the whole file, or nothing.

    The very same file (same SHA-256) imported before is refused; overlapping files are fine
    (dedup links their common records). A malformed file raises ParseError naming the file and
    line, and the transaction rolls back, so nothing from it is stored.
    """
    from reviewkit.sources.formats import detect_format, read_records

    if not path.is_file():
        raise ReviewkitError("no such file", where=str(path))
    sha = file_sha256(path)
    fmt = format or detect_format(path)
    with session_scope(review.engine, write=True) as session:
        earlier = store_runs.complete_import_of(session, sha)
        if earlier is not None:
            when = earlier.started_at.strftime("%Y-%m-%d %H:%M")
            raise ReviewkitError(
                f"this very file was already imported (run {earlier.id}, {when}, "
                f"{earlier.record_count} records, as {earlier.file_name})",
                where=str(path), hint="a file is imported once; overlapping exports are fine",
            )
        records = read_records(path, format=fmt, column_map=column_map)
        first, records = _peek(records)
        name = source or _source_name(fmt, first, path)
        run = store_runs.start_run(
            session, kind="import", source=name, source_kind=source_kind, file_name=path.name,
            sha256=sha, file_format=fmt, started_by=actor,
        )
        assert run.id is not None
        count = 0
        batch: list[Record] = []
        for record in records:
            batch.append(record.with_identifiers_found())
            if len(batch) >= BATCH:
                store_runs.insert_records(session, run.id, batch, count)
                count += len(batch)
                batch = []
                if progress:
                    progress(count)
        store_runs.insert_records(session, run.id, batch, count)
        count += len(batch)
        if progress:
            progress(count)
        store_runs.finish_run(session, run, record_count=count, new_record_count=count, actor=actor)
    return ImportSummary(run.id, path.name, name, fmt, count, sha)


def _peek(records: Iterator[Record]) -> tuple[Record | None, Iterator[Record]]:
    first = next(records, None)
    if first is None:
        return None, iter(())

    def chained() -> Iterator[Record]:
        yield first
        yield from records

    return first, chained()


def _source_name(fmt: str, first: Record | None, path: Path) -> str:
    """The database to credit in PRISMA: PubMed for its own formats, else what the file says."""
    if fmt in _PUBMED_FORMATS:
        return "PubMed"
    if first is not None and first.source_db:
        return first.source_db
    return path.stem

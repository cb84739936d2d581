"""Provides the review's sources and their runs (imports and searches) as plain views, read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.search import CTGOV, PUBMED, ctgov_query
from reviewkit.sources.formats.notes import ParseNote
from reviewkit.store import queries, runs_read
from reviewkit.store.db import session_scope


@dataclass(frozen=True)
class RunView:
    """One import of a file or one run of a search, as the sources screen lists it."""

    id: int
    source: str
    #: "import" or "search".
    kind: str
    #: PRISMA column: database, register, other...
    source_kind: str
    file_name: str | None
    query: str | None
    #: "running", "complete", "failed" (resumable) or "abandoned" (started over).
    status: str
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    #: Hits the service reported (None for imports).
    total_count: int | None
    record_count: int
    new_record_count: int
    started_by: str | None
    #: How many notes the run keeps (records stored with a problem: `run_notes` lists them).
    notes: int = 0

    @property
    def what(self) -> str:
        """The file imported or the query searched."""
        return self.file_name or self.query or ""


@dataclass(frozen=True)
class SourceView:
    """A source of the review: planned in the protocol, imported, or both, with its latest run."""

    name: str
    #: "search" (run by reviewkit), "import" (files), "planned search" (the protocol's query, not run and
    #: nothing imported yet) or "planned" (another source listed in the protocol, nothing yet).
    kind: str
    #: The protocol's query for a search source ("" otherwise).
    query: str
    runs: int
    last: RunView | None
    #: Distinct records this source's runs brought (PRISMA's "identified"; a failed search keeps its batches).
    records: int


def source_runs(review: Review) -> list[RunView]:
    """Every import and search run, newest first."""
    with session_scope(review.engine) as session:
        return [RunView(**values) for values in runs_read.run_values(session)]


def run_notes(review: Review, run_id: int) -> list[str]:
    """A run's notes in order, each a line naming its file, line and field (a search's: what it met)."""
    with session_scope(review.engine) as session:
        if not runs_read.has_run(session, run_id):
            raise ReviewkitError(f"no run {run_id} in this review", hint="reviewkit sources lists the runs")
        rows = runs_read.run_notes(session, run_id)
    return [str(ParseNote(**row)) if row["file"] else row["message"] for row in rows]


def source_overview(review: Review) -> list[SourceView]:
    """The protocol's searches first (run or not), then its other sources, then every other imported source."""
    with session_scope(review.engine) as session:
        runs = [RunView(**values) for values in runs_read.run_values(session)]
        identified = queries.identified_by_source(session)
    by_source: dict[str, list[RunView]] = {}
    for run in runs:  # newest first, so each list starts with the latest run
        by_source.setdefault(run.source, []).append(run)
    protocol = review.protocol.sources
    planned: list[tuple[str, str, str]] = []

    def searched(name: str) -> str:
        # A protocol's search source whose records so far all came from exported files is an import
        # source until reviewkit runs the search itself.
        kinds = {r.kind for r in by_source.get(name, [])}
        return "search" if "search" in kinds else "import" if kinds else "planned search"

    if protocol.pubmed is not None:
        planned.append((PUBMED, searched(PUBMED), protocol.pubmed.query))
    if protocol.ctgov is not None:
        query = ctgov_query(review)
        planned.append((CTGOV, searched(CTGOV), " AND ".join(f"{k}={v}" for k, v in sorted(query.items()))))
    planned += [(other.name, "import" if other.name in by_source else "planned", "")
                for other in protocol.other]
    names = {name for name, _, _ in planned}
    planned += [(name, "import", "") for name in by_source if name not in names]
    return [SourceView(name, kind, query, len(by_source.get(name, [])), next(iter(by_source.get(name, [])), None),
                       identified.get(name, 0)) for name, kind, query in planned]

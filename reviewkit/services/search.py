"""Provides running the protocol's searches (PubMed, ClinicalTrials.gov): stored batch by batch, resumable, re-runnable."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from reviewkit.config import load_user_config
from reviewkit.domain.records import Record
from reviewkit.errors import NetworkError, ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.status import DATABASES_AND_REGISTERS
from reviewkit.store import runs as store_runs
from reviewkit.store.db import SEARCH_LOCKS, hold_lock, session_scope
from reviewkit.store.tables import utcnow
from reviewkit.wording import counted

PUBMED = "PubMed"
CTGOV = "ClinicalTrials.gov"
#: Base URLs are configuration, so tests (and mirrors) can point the clients elsewhere.
PUBMED_URL_ENV = "REVIEWKIT_PUBMED_URL"
CTGOV_URL_ENV = "REVIEWKIT_CTGOV_URL"

Progress = Callable[[int, int | None], None]
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class SearchSummary:
    """What one search run did."""

    run_id: int
    source: str
    query: str
    count: int
    stored: int
    new: int
    resumed: bool
    translation: str | None = None
    notes: tuple[str, ...] = ()


def _one_at_a_time(source: str) -> Callable[[Callable[Concatenate[Review, P], T]],
                                          Callable[Concatenate[Review, P], T]]:
    """The source's search runs in one process at a time: two (the TUI and the CLI, two machines on
    PostgreSQL) would both resume the same run and store its batches twice; the second is refused at once."""
    busy = ReviewkitError(f"another reviewkit process is running the {source} search of this review now",
                          hint="wait for it to finish (reviewkit sources shows its run); searching again then "
                               "adds only what is new")

    def wrap(search: Callable[Concatenate[Review, P], T]) -> Callable[Concatenate[Review, P], T]:
        @functools.wraps(search)
        def locked(review: Review, /, *args: P.args, **kwargs: P.kwargs) -> T:
            with hold_lock(review.engine, SEARCH_LOCKS[source], busy):
                return search(review, *args, **kwargs)

        return locked

    return wrap


def _fail_run(review: Review, run_id: int, source: str, error: BaseException) -> BaseException:
    """Mark a run failed (its resume state stays) in a transaction of its own; returns the error to raise.

    A service that kept failing is said again with what the run stored, which stays, and what to do:
    every batch was committed whole with its records, so searching again resumes from there.
    An interrupted search (Ctrl-C) is failed too: left "running", it would be listed as running forever.
    """
    with session_scope(review.engine, write=True) as session:
        run = store_runs.get_run(session, run_id)
        run.status = "failed"
        run.error = str(error) or f"interrupted ({error.__class__.__name__})"
        session.add(run)
        stored, resumable = run.record_count, bool(run.state.get("plan"))
        total = run.total_count if run.total_count is not None else run.state.get("total")
    if not isinstance(error, NetworkError):
        return error
    if not resumable:
        kept = f"nothing was stored for run {run_id}: searching {source} again starts over"
    else:
        # The noun and verb follow the last number said: "1 record is", "1 of 40 records are".
        last = total if total is not None else stored
        of = f"{stored} of " if total is not None else ""
        kept = (f"{of}{counted(last, 'record')} {'is' if last == 1 else 'are'} stored for run {run_id} and kept: "
                f"searching {source} again resumes from there (search --restart starts over)")
    return NetworkError(error.message, where=error.where, hint=f"{error.hint}; {kept}" if error.hint else kept)


def _store_batch(
    review: Review, run_id: int, source: str, key: str, records: Sequence[Record], state: dict[str, Any],
    notes: Sequence[str] = (),
) -> int:
    """Store one batch in one transaction: new records inserted, known ones linked; returns new ones.

    Records this source brought in an earlier run (same PMID or NCT id) are linked to the new
    run rather than added again — a living review's update adds only what is new. Only records of
    the run's own PRISMA column are re-found: a database search never links a record imported from the
    same source as citation searching (or any other method), which would count it in both columns.
    """
    with session_scope(review.engine, write=True) as session:
        run = store_runs.get_run(session, run_id)
        values = [(r.pmid if key == "pmid" else (r.nct_ids[0] if r.nct_ids else None)) or "" for r in records]
        known = store_runs.ids_by_identifier(session, source, key, values, DATABASES_AND_REGISTERS)
        fresh = [r.with_identifiers_found() for r, v in zip(records, values, strict=True) if v not in known]
        store_runs.link_records(
            session, run_id, [known[v] for v in values if v in known],
            [v for v in values if v in known], run.record_count,
        )
        store_runs.insert_records(session, run_id, fresh, run.record_count + len(records) - len(fresh))
        run.record_count += len(records)
        run.new_record_count += len(fresh)
        run.state = state
        session.add(run)
        # Kept with the batch they came with, so a resumed run still shows what its first process noted.
        store_runs.add_notes(session, run_id, [{"message": note} for note in notes],
                             store_runs.note_count(session, run_id))
        return len(fresh)


def _begin(review: Review, source: str, query: str, actor: str | None,
           restart: bool = False) -> tuple[int, bool, dict[str, Any]]:
    """The run to work on: an unfinished one of the same query (resumed), or a new one.

    `restart` closes the unfinished run as "abandoned" instead (audited; its records stay, and the new
    run re-finds them): the way out of a run whose resume fails the same way every time (a page token
    the registry no longer accepts)."""
    with session_scope(review.engine, write=True) as session:
        unfinished = store_runs.unfinished_run(session, source, query)
        if restart and unfinished is not None:
            store_runs.abandon_run(session, unfinished, actor)
            unfinished = None
        if unfinished is not None and unfinished.state.get("plan") is not None:
            unfinished.status = "running"
            unfinished.error = None
            session.add(unfinished)
            return unfinished.id, True, dict(unfinished.state)  # type: ignore[return-value]
        previous = store_runs.last_complete_search(session, source)
        run = store_runs.start_run(
            session, kind="search", source=source, source_kind="database" if source == PUBMED else "register",
            query=query, started_by=actor, previous_run_id=previous.id if previous else None,
        )
        return run.id, False, {}  # type: ignore[return-value]


def _finish(review: Review, run_id: int, actor: str | None, notes: Sequence[str] = ()) -> tuple[int, int]:
    with session_scope(review.engine, write=True) as session:
        run = store_runs.get_run(session, run_id)
        # Notes no batch carried (a search that found nothing still says why).
        store_runs.add_notes(session, run_id, [{"message": note} for note in notes],
                             store_runs.note_count(session, run_id))
        run.finished_at = utcnow()
        store_runs.finish_run(session, run, record_count=run.record_count,
                              new_record_count=run.new_record_count, actor=actor)
        return run.record_count, run.new_record_count


@_one_at_a_time(PUBMED)
def search_pubmed(
    review: Review, *, actor: str | None = None, progress: Progress | None = None,
    base_url: str | None = None, client: Any = None, tell_retry: Callable[[str], None] | None = None,
    restart: bool = False,
) -> SearchSummary:
    """Run (or resume) the protocol's PubMed search, storing each batch of up to 500 records (refused while
    another process runs it)."""
    from reviewkit.sources.pubmed import DEFAULT_BASE_URL, PubMedSearch
    from reviewkit.sources.pubmed_plan import SearchPlan

    spec = review.protocol.sources.pubmed
    if spec is None:
        raise ReviewkitError("the protocol has no PubMed search", where=str(review.protocol_path),
                             hint="add [sources.pubmed] with a query")
    user = load_user_config()
    email = spec.email or user.ncbi_email or os.environ.get("NCBI_EMAIL")
    if client is None:
        client = PubMedSearch(
            email=email or "", api_key=user.ncbi_api_key,
            base_url=base_url or os.environ.get(PUBMED_URL_ENV) or DEFAULT_BASE_URL, tell_retry=tell_retry,
        )
    run_id, resumed, state = _begin(review, PUBMED, spec.query, actor, restart)
    try:
        if resumed:
            plan = SearchPlan.from_dict(state["plan"])
            offset = int(state.get("next_offset", 0))
        else:
            plan = client.start(spec.query, spec.mindate, spec.maxdate)
            offset = 0
            with session_scope(review.engine, write=True) as session:
                run = store_runs.get_run(session, run_id)
                run.query_translation = plan.translation
                run.total_count = plan.count
                run.state = {"plan": plan.to_dict(), "next_offset": 0}
                session.add(run)
        notes = [*_pubmed_messages(plan.warnings), *plan.notes]
        # The plan's notes are stored with the first batch (a resumed run stored them the first time).
        pending = [] if resumed else list(notes)
        # A slice whose history set expired is fetched by PMID: the fetcher skips what the run
        # already stored, so a resumed run never stores a record twice nor misses one.
        known: set[str] = set()
        if resumed:
            with session_scope(review.engine) as session:
                known = store_runs.pmids_of_run(session, run_id)
        for batch in client.fetch_batches(plan, start_at=offset, known_pmids=known):
            notes += list(batch.notes)
            _store_batch(review, run_id, PUBMED, "pmid", batch.records,
                         {"plan": batch.plan.to_dict(), "next_offset": batch.next_offset},
                         pending + list(batch.notes))
            pending = []
            if progress:
                progress(batch.next_offset, plan.fetchable)
    except BaseException as exc:
        raised = _fail_run(review, run_id, PUBMED, exc)
        if raised is exc:
            raise
        raise raised from exc
    stored, new = _finish(review, run_id, actor, pending)
    return SearchSummary(run_id, PUBMED, spec.query, plan.count, stored, new, resumed, plan.translation,
                         tuple(notes))


#: ErrorList entries: PubMed searched without that part of the query (or not as typed).
_LEFT_OUT = ("PhraseNotFound", "FieldNotFound", "QuotedPhraseNotFound", "PhraseIgnored")


def _pubmed_messages(warnings: Sequence[str]) -> list[str]:
    """PubMed's ErrorList and WarningList as notes: a term PubMed did not find is silently dropped
    from the search it runs, which the reviewer must hear about before trusting the count."""
    return [f"PubMed says {w}" + ("; that part of the query was not searched as written (compare "
                                   "the translation PubMed searched)" if w.startswith(_LEFT_OUT) else "")
            for w in warnings]


def ctgov_query(review: Review) -> dict[str, str]:
    """The API v2 query parameters from the protocol's [sources.ctgov]."""
    spec = review.protocol.sources.ctgov
    if spec is None:
        raise ReviewkitError("the protocol has no ClinicalTrials.gov search", where=str(review.protocol_path),
                             hint="add [sources.ctgov] with condition, intervention or term")
    query = {"query.cond": spec.condition, "query.intr": spec.intervention, "query.term": spec.term}
    return {k: v for k, v in query.items() if v}


@_one_at_a_time(CTGOV)
def search_ctgov(
    review: Review, *, actor: str | None = None, progress: Progress | None = None,
    base_url: str | None = None, client: Any = None, tell_retry: Callable[[str], None] | None = None,
    restart: bool = False,
) -> SearchSummary:
    """Run (or resume) the protocol's ClinicalTrials.gov search, storing each page of studies (refused while
    another process runs it)."""
    from reviewkit.sources.ctgov import DEFAULT_BASE_URL, CtgovSearch

    query = ctgov_query(review)
    text = " AND ".join(f"{k}={v}" for k, v in sorted(query.items()))
    if client is None:
        client = CtgovSearch(base_url=base_url or os.environ.get(CTGOV_URL_ENV) or DEFAULT_BASE_URL,
                             tell_retry=tell_retry)
    run_id, resumed, state = _begin(review, CTGOV, text, actor, restart)
    total = state.get("total")
    try:
        token = state.get("next_token") if resumed else None
        # Results are unsorted and the registry is refreshed daily: a study can move to a later page
        # while the search pages (or waits to be resumed). It is stored for the run once, as
        # fetch_batches does for PubMed: stored twice, the run would count it twice, and two copies
        # on one page would become two records of one trial.
        seen: set[str] = set()
        if resumed:
            with session_scope(review.engine) as session:
                seen = store_runs.source_ids_of_run(session, run_id)
        if resumed and token is None and state.get("plan") == "done":
            pages: Iterator[Any] = iter(())
        else:
            pages = client.pages(query, page_token=token, done=int(state.get("done", 0)), total=total)
        for page in pages:
            if page.total is not None:
                total = page.total
            fresh = []
            for record in page.records:
                if record.source_id not in seen:
                    seen.add(record.source_id)
                    fresh.append(record)
            done = int(state.get("done", 0)) + len(page.records)
            state = {"plan": "paging" if page.next_token else "done", "next_token": page.next_token,
                     "done": done, "total": total,
                     "repeated": int(state.get("repeated", 0)) + len(page.records) - len(fresh)}
            _store_batch(review, run_id, CTGOV, "nct", fresh, state)
            if progress:
                progress(done, total)
    except BaseException as exc:
        raised = _fail_run(review, run_id, CTGOV, exc)
        if raised is exc:
            raise
        raise raised from exc
    with session_scope(review.engine, write=True) as session:
        run = store_runs.get_run(session, run_id)
        run.total_count = total
        session.add(run)
        arrived = run.record_count
    notes = []
    if state.get("repeated"):
        notes.append(f"ClinicalTrials.gov listed {state['repeated']} of the studies twice while paging (the "
                     "registry changed meanwhile); each is stored once")
    if total is not None and arrived != total:
        notes.append(f"ClinicalTrials.gov counted {counted(total, 'study', 'studies')} when the search began and {arrived} arrived: "
                     "the registry changed while the search paged; searching again brings any it missed")
    stored, new = _finish(review, run_id, actor, notes)  # the notes kept with the run, for later
    return SearchSummary(run_id, CTGOV, text, int(total or stored), stored, new, resumed, notes=tuple(notes))


def search_all(review: Review, sources: Sequence[str], **kw: Any) -> list[SearchSummary]:
    """Run each named source's search in turn ("pubmed", "ctgov")."""
    runners = {"pubmed": search_pubmed, "ctgov": search_ctgov}
    return [runners[s](review, **kw) for s in sources]

"""Provides PubMedSearch: resumable PubMed search through Bio.Entrez (esearch history + batched efetch)."""

from __future__ import annotations

import http.client
import io
import re
from collections.abc import Callable, Collection, Generator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from urllib.error import HTTPError, URLError

from Bio import Entrez

from reviewkit.domain.records import Record
from reviewkit.errors import NetworkError, ParseError, ReviewkitError
from reviewkit.sources.formats.pubmed_xml import iter_pubmed_xml
from reviewkit.sources.http import (
    ProgressCallback,
    RetryPolicy,
    TimedRequest,
    TransientError,
    error_excerpt,
    parse_retry_after,
    redact,
    with_retries,
)
from reviewkit.sources.pubmed_esearch import as_date, fmt_date, parse_esearch, slice_dates
from reviewkit.sources.pubmed_plan import (
    MAX_BATCH,
    PUBMED_WINDOW,
    DateSlice,
    FetchedBatch,
    SearchPlan,
)
from reviewkit.wording import counted

__all__ = ["DEFAULT_BASE_URL", "PubMedSearch"]

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
_POST_IDS = 200  # E-utilities asks for POST from about this many PMIDs (Biopython: 200)
_EARLIEST = date(1700, 1, 1)  # before any Entrez date, so an open-ended slice misses nothing
_EXPIRED_RE = re.compile(
    r"session has expired|unable to obtain query|cannot retrieve history|invalid webenv",
    re.IGNORECASE,
)

# This module owns the Bio.Entrez globals. Biopython's own loop retries a 429 at once, with no
# pause, and sleeps 15 s on network errors; with_retries does the retrying (with backoff and
# Retry-After), so each of our attempts is exactly one Biopython request. Biopython's throttle
# (0.37 s between requests, 0.1 s with an API key, process-wide) stays in force for every one.
Entrez.max_tries = 1
Entrez.tool = "reviewkit"


class _HistoryExpired(Exception):
    """NCBI no longer holds the WebEnv/query_key set (kept only for hours)."""


class PubMedSearch:
    """PubMed esearch + efetch with history server, date slicing, retries and resume.

    `email` (required by NCBI) and `api_key` come from the caller (protocol / NCBI_API_KEY).
    `base_url` points at E-utilities; tests set it to a local server.
    """

    def __init__(
        self,
        *,
        email: str,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy | None = None,
        batch_size: int = MAX_BATCH,
        window: int = PUBMED_WINDOW,
        timeout: float = 120.0,
        today: Callable[[], date] | None = None,
        tell_retry: Callable[[str], None] | None = None,
    ) -> None:
        if not email or "@" not in email:
            raise ReviewkitError(
                "PubMed searches need a contact e-mail address (NCBI policy)",
                hint="set ncbi_email in your user config (~/.config/reviewkit/config.toml), NCBI_EMAIL in "
                     "the environment, or email under [sources.pubmed] in review.toml",
            )
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}, not {batch_size}")
        self.email = email
        self.api_key = api_key or None
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        #: Hears each retry in words (the CLI prints it, the sources screen shows it).
        self.tell_retry = tell_retry
        self.batch_size = batch_size
        # The window is a setting only so tests can enforce a small one; PubMed's is 9,999.
        self.window = window
        self.timeout = timeout
        self._today = today or (lambda: datetime.now(UTC).date())

    # -- searching ---------------------------------------------------------------------------

    def start(
        self,
        query: str,
        mindate: str | None = None,
        maxdate: str | None = None,
        *,
        datetype: str = "pdat",
        progress: ProgressCallback | None = None,
    ) -> SearchPlan:
        """Run the search and plan its fetching; slices by Entrez date past the 9,999 window.

        `mindate`/`maxdate` ("2020", "2020/05", "2020/05/17") restrict by `datetype` (pdat:
        publication date). While slicing, `progress(0, None)` follows each esearch (an
        indeterminate bar). Raises NetworkError when PubMed keeps failing.
        """
        if (mindate is None) != (maxdate is None):
            raise ReviewkitError("PubMed needs both mindate and maxdate, or neither")
        searched_at = datetime.now(UTC).isoformat(timespec="seconds")
        first = self._esearch(query, mindate, maxdate, datetype, None)
        plan = SearchPlan(
            query=query, translation=first["translation"], count=first["count"],
            searched_at=searched_at, mindate=mindate, maxdate=maxdate, datetype=datetype,
            batch_size=self.batch_size, translation_set=first["translation_set"],
            warnings=first["warnings"],
        )
        if first["count"] == 0:
            return plan
        if first["count"] < self.window:
            whole = DateSlice("", "", first["count"], first["webenv"], first["query_key"])
            return replace(plan, slices=(whole,))
        low, high = _EARLIEST, self._today()
        if datetype == "edat" and mindate and maxdate:
            low, high = as_date(mindate, end=False), as_date(maxdate, end=True)
        notes: list[str] = []
        slices = self._slice(query, mindate, maxdate, datetype, low, high, notes, progress)
        total = sum(s.count for s in slices)
        if total != first["count"]:
            notes.append(
                f"the date slices hold {total} records but the search counted {first['count']}; "
                "PubMed may have changed between requests"
            )
        return replace(plan, slices=tuple(slices), notes=tuple(notes))

    def _slice(
        self, query: str, mindate: str | None, maxdate: str | None, datetype: str,
        low: date, high: date, notes: list[str], progress: ProgressCallback | None,
    ) -> list[DateSlice]:
        """Halve [low, high] by Entrez date until each part fits the window (depth ≤ ~17)."""
        found = self._esearch(query, mindate, maxdate, datetype, (low, high))
        if progress is not None:
            progress(0, None)
        part = DateSlice(fmt_date(low), fmt_date(high), found["count"], found["webenv"], found["query_key"])
        if found["count"] == 0:
            return []
        if found["count"] < self.window:
            return [part]
        if low >= high:
            notes.append(
                f"{found['count']} records share the Entrez date {fmt_date(low)}; PubMed hands out "
                f"only the first {self.window} of them: narrow the query to get the rest"
            )
            return [part]
        middle = low + (high - low) // 2
        return self._slice(
            query, mindate, maxdate, datetype, low, middle, notes, progress
        ) + self._slice(
            query, mindate, maxdate, datetype, middle + timedelta(days=1), high, notes, progress
        )

    def _esearch(
        self, query: str, mindate: str | None, maxdate: str | None, datetype: str,
        edat: tuple[date, date] | None, *, ids: bool = False,
    ) -> dict[str, Any]:
        """One esearch, retried; returns its parsed fields.

        By default it puts the set on the history server and lists no PMIDs; with `ids` it lists
        the set's PMIDs instead, up to the window (a slice is planned below it, but may have grown).
        """
        term = query if edat is None else f"({query}) AND {fmt_date(edat[0])}:{fmt_date(edat[1])}[edat]"
        params: dict[str, Any] = {"db": "pubmed", "term": term}
        params.update({"retmax": self.window} if ids else {"usehistory": "y", "retmax": 0})
        if mindate and maxdate:
            params.update(mindate=mindate, maxdate=maxdate, datetype=datetype)
        label = "PubMed esearch" + (f" {fmt_date(edat[0])}–{fmt_date(edat[1])}" if edat else "")

        def attempt() -> dict[str, Any]:
            return parse_esearch(self._call("esearch", params), label)

        return with_retries(attempt, self.retry, what=label, tell=self.tell_retry)

    # -- fetching ------------------------------------------------------------------------------

    def fetch_batches(
        self, plan: SearchPlan, start_at: int = 0, *, known_pmids: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> Iterator[FetchedBatch]:
        """Yield the plan's records batch by batch from offset `start_at` (a stored next_offset).

        `known_pmids` are the PMIDs already stored for this run (the service passes them when it
        resumes): a record among them, or yielded earlier in this call, is never yielded again.
        A slice is fetched by offset on the history server until its set expires; from then on it
        is fetched by PMID (`_fetch_by_id`), so a set PubMed changed meanwhile loses nothing.
        A batch is yielded only once its XML parsed completely; a batch that keeps failing raises
        NetworkError, and everything yielded before it stays valid for resuming.
        """
        seen = set(known_pmids)
        base = 0
        for index in range(len(plan.slices)):
            # Offsets follow the plan as first stored (a renewed slice keeps its planned count),
            # so a resumed run lands on the same records.
            size = plan.slices[index].fetchable
            retstart = max(start_at - base, 0)
            fetched: set[str] = set()  # PMIDs this call got from the slice by offset
            renewed = False
            while retstart < size and not plan.slices[index].by_id:
                retmax = min(plan.batch_size, size - retstart)
                try:
                    records, notes = self._fetch_at(plan.slices[index], retstart, retmax)
                except _HistoryExpired:
                    renewed = True
                    break
                fetched.update(r.pmid for r in records if r.pmid)
                yield FetchedBatch(
                    offset=base + retstart, next_offset=base + retstart + retmax,
                    records=_unseen(records, seen), plan=plan, notes=notes,
                )
                retstart += retmax
                if progress is not None:
                    progress(base + retstart, plan.fetchable)
            if retstart < size:
                plan = yield from self._fetch_by_id(
                    plan, index, base, retstart, seen, fetched, renewed=renewed, progress=progress
                )
            base += size

    def _fetch_at(
        self, part: DateSlice, retstart: int, retmax: int
    ) -> tuple[tuple[Record, ...], tuple[str, ...]]:
        """One batch by offset on the history server; raises _HistoryExpired when NCBI dropped the set."""
        label = f"PubMed efetch records {retstart + 1}–{retstart + retmax}" + (
            f" of {part.mindate}–{part.maxdate}" if part.mindate else ""
        )
        params = {
            "db": "pubmed", "retmode": "xml", "WebEnv": part.webenv, "query_key": part.query_key,
            "retstart": retstart, "retmax": retmax,
        }
        records = with_retries(partial(self._efetch, params, label), self.retry, what=label,
                               tell=self.tell_retry)
        if len(records) < retmax:
            return records, (
                f"{label}: PubMed returned {len(records)} of {retmax} records "
                "(deleted or withdrawn PMIDs are left out)",
            )
        return records, ()

    def _fetch_by_id(
        self, plan: SearchPlan, index: int, base: int, retstart: int, seen: set[str],
        fetched: set[str], *, renewed: bool, progress: ProgressCallback | None,
    ) -> Generator[FetchedBatch, None, SearchPlan]:
        """Fetch the rest of slice `index` by PMID: its current PMID list (one esearch) less `seen`.

        `renewed`: the history set has just expired after `retstart` records fetched by offset
        (`fetched` holds those this call got). Otherwise the slice was already fetched by PMID
        when the run stopped, and this resumes it.

        Resuming recomputes the remaining PMIDs instead of storing them in the run's state: each
        batch is committed together with its records, so the PMIDs stored for the run (the
        service's `known_pmids`) are exactly the ones not to fetch again, whatever the moment of
        a crash. A stored list would repeat that (up to 9,999 ids rewritten with every batch) and
        could drift from it; recomputing costs one esearch per resumed slice and also picks up
        what PubMed changed since. Returns the plan as it stands after the slice.
        """
        old = plan.slices[index]
        size = old.fetchable
        where = "PubMed " + (f"slice {old.mindate}–{old.maxdate}" if old.mindate else "search")
        found = self._esearch(plan.query, plan.mindate, plan.maxdate, plan.datetype, slice_dates(old), ids=True)
        current = list(dict.fromkeys(found["ids"]))
        stored = sum(1 for pmid in current if pmid in seen)
        todo = [pmid for pmid in current if pmid not in seen]
        if renewed:
            head = (
                f"{where}: the search history expired after {retstart} of {old.count} records; "
                f"searched again ({counted(found['count'], 'record')} now) to fetch the rest by PMID"
            )
        else:
            head = f"{where}: resumed fetching by PMID ({counted(found['count'], 'record')} now)"
        note = f"{head}: {stored} already stored for this run, {len(todo)} to fetch"
        if found["count"] > len(current):
            note += f" (PubMed lists only the first {len(current)} PMIDs of this slice)"
        if renewed:
            # Of the `retstart` records the slice had by offset, those not in the current list
            # (efetch left deleted ones out, which counts them too); named when this call got them.
            gone = sorted(fetched.difference(current))
            gone_count = max(retstart - stored, len(gone))
            if gone_count:
                note += f"; PubMed no longer returns {gone_count} of the records fetched before"
                note += f": {_listing(gone)}" if gone else ""
        plan = replace(
            plan, slices=plan.slices[:index] + (replace(old, by_id=True),) + plan.slices[index + 1 :],
            notes=plan.notes + (note,),
        )
        notes = [note]
        missing: list[str] = []  # listed by esearch, left out by efetch (deleted meanwhile)
        done = stored
        position = base + retstart
        chunks = [todo[i : i + plan.batch_size] for i in range(0, len(todo), plan.batch_size)] or [[]]
        for number, chunk in enumerate(chunks, start=1):
            records: tuple[Record, ...] = ()
            if chunk:
                label = f"{where}: efetch by PMID, {counted(len(chunk), 'record')} from {chunk[0]}"
                records = with_retries(partial(self._efetch_ids, chunk, label), self.retry, what=label,
                                       tell=self.tell_retry)
                returned = {r.pmid for r in records}
                missing += [pmid for pmid in chunk if pmid not in returned]
                records = _unseen(records, seen)
                done += len(chunk)
            last = number == len(chunks)
            if last:
                end = f"{where}: fetched {len(todo) - len(missing)} of {len(todo)} records by PMID"
                if missing:
                    end += f"; PubMed no longer returns {len(missing)} of them: {_listing(missing)}"
                notes.append(end)
                plan = replace(plan, notes=plan.notes + (end,))
            # Inside the slice the offset only marks progress: a resumed run recomputes what is left.
            next_offset = base + size if last else max(position, base + min(size - 1, done))
            yield FetchedBatch(offset=position, next_offset=next_offset, records=records, plan=plan,
                               notes=tuple(notes))
            notes = []
            position = next_offset
            if progress is not None:
                progress(next_offset, plan.fetchable)
        return plan

    def _efetch_ids(self, pmids: list[str], label: str) -> tuple[Record, ...]:
        """One efetch of these PMIDs, POSTed from 200 ids on as E-utilities asks."""
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(pmids)}
        return self._efetch(params, label, post=True if len(pmids) >= _POST_IDS else None, history=False)

    def _efetch(
        self, params: dict[str, Any], label: str, *, post: bool | None = None, history: bool = True
    ) -> tuple[Record, ...]:
        """One efetch request, parsed whole; failures become TransientError or _HistoryExpired.

        `history`: the request reads a history set (WebEnv), so NCBI's "expired" messages mean
        that set is gone; for a fetch by PMID they are a transient fault like any other.
        """
        body = self._call("efetch", params, post=post)
        head = body[:300].decode("utf-8", "replace")
        # A plain-text "Error: Your session has expired" body; article text never gets here.
        if "<PubmedArticleSet" not in head and _EXPIRED_RE.search(head):
            if history:
                raise _HistoryExpired(head.strip())
            raise TransientError(f"{label}: {head.strip()}")
        try:
            return tuple(iter_pubmed_xml(io.BytesIO(body), file=label))
        except ParseError as exc:
            if history and _EXPIRED_RE.search(exc.message):
                raise _HistoryExpired(exc.message) from exc
            raise TransientError(str(exc)) from exc

    # -- transport -----------------------------------------------------------------------------

    def _call(self, utility: str, params: dict[str, Any], *, post: bool | None = None) -> bytes:
        """One E-utilities request through Bio.Entrez, read whole; maps failures for with_retries.

        `post`: True forces POST; None lets Biopython choose (POST past 1,000 characters).
        """
        params = {**params, "tool": Entrez.tool, "email": self.email, "api_key": self.api_key}
        url = f"{self.base_url}/{utility}.fcgi"
        # Biopython 1.88 hard-codes the NCBI host in esearch()/efetch(); its request builder
        # (parameters, POST past 1,000 characters) and _open (the throttle) take any URL.
        built = Entrez._build_request(url, params, post=post)
        request = TimedRequest(built, self.timeout)
        try:
            handle = Entrez._open(request)
            try:
                # Biopython wraps a text/plain answer in a UTF-8 reader, which raises on other bytes
                # (an error page in Latin-1); the bytes underneath are parsed, and refused, like any body.
                body = getattr(handle, "buffer", handle).read()
            finally:
                handle.close()
        except HTTPError as exc:
            # Messages name the URL without its query: the API key travels in the query.
            detail = error_excerpt(exc, self.api_key)
            if exc.code == 429 or exc.code >= 500:
                raise TransientError(
                    f"HTTP {exc.code} from {url}{detail}",
                    retry_after=parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None),
                ) from exc
            raise NetworkError(f"PubMed {utility} refused the request: HTTP {exc.code} from {url}{detail}") from exc
        except (URLError, OSError, http.client.HTTPException) as exc:
            # URLError wraps refused connections; RemoteDisconnected and IncompleteRead (a body
            # cut short of its Content-Length) arrive unwrapped.
            raise TransientError(f"connection to {url} failed: {redact(_reason(exc), self.api_key)}") from exc
        return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _reason(exc: Exception) -> str:
    """Why a connection failed, in words ("[Errno 111] Connection refused", "timed out")."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    return str(reason).strip() or reason.__class__.__name__


def _unseen(records: tuple[Record, ...], seen: set[str]) -> tuple[Record, ...]:
    """The records whose PMID is not in `seen` (stored or yielded already); adds theirs to it."""
    out = []
    for record in records:
        if record.pmid:
            if record.pmid in seen:
                continue
            seen.add(record.pmid)
        out.append(record)
    return tuple(out)


def _listing(pmids: list[str], limit: int = 20) -> str:
    shown = ", ".join(pmids[:limit])
    return shown + (f" and {len(pmids) - limit} more" if len(pmids) > limit else "")

"""Provides PubMedSearch: resumable PubMed search through Bio.Entrez (esearch history + batched efetch)."""

from __future__ import annotations

import http.client
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from urllib.error import HTTPError, URLError
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLParseError

from Bio import Entrez
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

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
    with_retries,
)
from reviewkit.sources.pubmed_plan import (
    MAX_BATCH,
    PUBMED_WINDOW,
    DateSlice,
    FetchedBatch,
    SearchPlan,
)

__all__ = ["DEFAULT_BASE_URL", "PubMedSearch"]

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
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
    ) -> None:
        if not email or "@" not in email:
            raise ReviewkitError(
                "PubMed searches need a contact e-mail address (NCBI policy)",
                hint="set the e-mail for PubMed in review.toml",
            )
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}, not {batch_size}")
        self.email = email
        self.api_key = api_key or None
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
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
            low, high = _as_date(mindate, end=False), _as_date(maxdate, end=True)
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
        part = DateSlice(_fmt(low), _fmt(high), found["count"], found["webenv"], found["query_key"])
        if found["count"] == 0:
            return []
        if found["count"] < self.window:
            return [part]
        if low >= high:
            notes.append(
                f"{found['count']} records share the Entrez date {_fmt(low)}; PubMed hands out "
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
        edat: tuple[date, date] | None,
    ) -> dict[str, Any]:
        """One esearch with the history server, retried; returns its parsed fields."""
        term = query if edat is None else f"({query}) AND {_fmt(edat[0])}:{_fmt(edat[1])}[edat]"
        params: dict[str, Any] = {"db": "pubmed", "term": term, "usehistory": "y", "retmax": 0}
        if mindate and maxdate:
            params.update(mindate=mindate, maxdate=maxdate, datetype=datetype)
        label = "PubMed esearch" + (f" {_fmt(edat[0])}–{_fmt(edat[1])}" if edat else "")

        def attempt() -> dict[str, Any]:
            return _parse_esearch(self._call("esearch", params), label)

        return with_retries(attempt, self.retry, what=label)

    # -- fetching ------------------------------------------------------------------------------

    def fetch_batches(
        self, plan: SearchPlan, start_at: int = 0, *, progress: ProgressCallback | None = None
    ) -> Iterator[FetchedBatch]:
        """Yield the plan's records batch by batch from offset `start_at` (a stored next_offset).

        A batch is yielded only once its XML parsed completely; a batch that keeps failing raises
        NetworkError, and everything yielded before it stays valid for resuming.
        """
        base = 0
        for index in range(len(plan.slices)):
            # Offsets follow the plan as first stored, so a resumed run lands on the same records.
            size = plan.slices[index].fetchable
            retstart = max(start_at - base, 0)
            while retstart < size:
                retmax = min(plan.batch_size, size - retstart)
                records, notes, plan = self._fetch_one(plan, index, retstart, retmax)
                yield FetchedBatch(
                    offset=base + retstart, next_offset=base + retstart + retmax,
                    records=records, plan=plan, notes=notes,
                )
                retstart += retmax
                if progress is not None:
                    progress(base + retstart, plan.fetchable)
            base += size

    def _fetch_one(
        self, plan: SearchPlan, index: int, retstart: int, retmax: int
    ) -> tuple[tuple[Record, ...], tuple[str, ...], SearchPlan]:
        """Fetch one batch, searching again once if NCBI has dropped the history set."""
        notes: list[str] = []
        for renewed in (False, True):
            part = plan.slices[index]
            label = f"PubMed efetch records {retstart + 1}–{retstart + retmax}" + (
                f" of {part.mindate}–{part.maxdate}" if part.mindate else ""
            )
            try:
                records = with_retries(
                    partial(self._efetch, part, retstart, retmax, label), self.retry, what=label
                )
            except _HistoryExpired as exc:
                if renewed:
                    raise NetworkError(f"{label}: the search history expired twice ({exc})") from exc
                plan, note = self._renew(plan, index)
                notes.append(note)
                continue
            if len(records) < retmax:
                notes.append(
                    f"{label}: PubMed returned {len(records)} of {retmax} records "
                    "(deleted or withdrawn PMIDs are left out)"
                )
            return records, tuple(notes), plan
        raise AssertionError("unreachable")

    def _renew(self, plan: SearchPlan, index: int) -> tuple[SearchPlan, str]:
        """Search a slice again for a fresh WebEnv; offsets stay valid while the set is unchanged."""
        old = plan.slices[index]
        edat = (_as_date(old.mindate, end=False), _as_date(old.maxdate, end=True)) if old.mindate else None
        found = self._esearch(plan.query, plan.mindate, plan.maxdate, plan.datetype, edat)
        new = replace(old, count=found["count"], webenv=found["webenv"], query_key=found["query_key"])
        slices = plan.slices[:index] + (new,) + plan.slices[index + 1 :]
        note = "the PubMed search history expired; searched again and continued at the same offset"
        if new.count != old.count:
            note += f" (the set changed from {old.count} to {new.count} records: check for gaps)"
        return replace(plan, slices=slices, notes=plan.notes + (note,)), note

    def _efetch(self, part: DateSlice, retstart: int, retmax: int, label: str) -> tuple[Record, ...]:
        """One efetch request, parsed whole; failures become TransientError or _HistoryExpired."""
        params = {
            "db": "pubmed", "retmode": "xml", "WebEnv": part.webenv, "query_key": part.query_key,
            "retstart": retstart, "retmax": retmax,
        }
        body = self._call("efetch", params)
        head = body[:300].decode("utf-8", "replace")
        # A plain-text "Error: Your session has expired" body; article text never gets here.
        if "<PubmedArticleSet" not in head and _EXPIRED_RE.search(head):
            raise _HistoryExpired(head.strip())
        try:
            return tuple(iter_pubmed_xml(io.BytesIO(body), file=label))
        except ParseError as exc:
            if _EXPIRED_RE.search(exc.message):
                raise _HistoryExpired(exc.message) from exc
            raise TransientError(str(exc)) from exc

    # -- transport -----------------------------------------------------------------------------

    def _call(self, utility: str, params: dict[str, Any]) -> bytes:
        """One E-utilities request through Bio.Entrez, read whole; maps failures for with_retries."""
        params = {**params, "tool": Entrez.tool, "email": self.email, "api_key": self.api_key}
        url = f"{self.base_url}/{utility}.fcgi"
        # Biopython 1.88 hard-codes the NCBI host in esearch()/efetch(); its request builder
        # (parameters, POST past 1,000 characters) and _open (the throttle) take any URL.
        built = Entrez._build_request(url, params)
        request = TimedRequest(built, self.timeout)
        try:
            handle = Entrez._open(request)
            try:
                body = handle.read()
            finally:
                handle.close()
        except HTTPError as exc:
            detail = error_excerpt(exc)
            if exc.code == 429 or exc.code >= 500:
                raise TransientError(
                    f"HTTP {exc.code} from {utility}{detail}",
                    retry_after=parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None),
                ) from exc
            raise NetworkError(f"PubMed {utility} refused the request: HTTP {exc.code}{detail}") from exc
        except (URLError, OSError, http.client.HTTPException) as exc:
            # URLError wraps refused connections; RemoteDisconnected and IncompleteRead (a body
            # cut short of its Content-Length) arrive unwrapped.
            raise TransientError(f"connection to {utility} failed: {exc!r}") from exc
        return body.encode("utf-8") if isinstance(body, str) else body


def _parse_esearch(body: bytes, label: str) -> dict[str, Any]:
    """Count, history keys, translation and messages of an eSearchResult; TransientError if not one."""
    try:
        root = fromstring(body)
    except (XMLParseError, DefusedXmlException) as exc:
        raise TransientError(f"{label}: the response is not esearch XML ({exc})") from exc
    if root.tag != "eSearchResult":
        raise TransientError(f"{label}: expected <eSearchResult>, got <{root.tag}>")
    error = root.find("ERROR")
    if error is not None:
        raise TransientError(f"{label}: PubMed reports an error: {(error.text or '').strip()}")
    count_text = (root.findtext("Count") or "").strip()
    if not count_text.isdigit():
        raise TransientError(f"{label}: the response has no <Count>")
    warnings = tuple(
        f"{node.tag}: {(node.text or '').strip()}"
        for node in _children(root, "ErrorList") + _children(root, "WarningList")
    )
    return {
        "count": int(count_text),
        "webenv": (root.findtext("WebEnv") or "").strip(),
        "query_key": (root.findtext("QueryKey") or "").strip(),
        "translation": (root.findtext("QueryTranslation") or "").strip(),
        "translation_set": tuple(
            ((t.findtext("From") or "").strip(), (t.findtext("To") or "").strip())
            for t in root.iterfind("TranslationSet/Translation")
        ),
        "warnings": warnings,
    }


def _children(root: Element, tag: str) -> list[Element]:
    node = root.find(tag)
    return list(node) if node is not None else []


def _fmt(day: date) -> str:
    return day.strftime("%Y/%m/%d")


def _as_date(value: str, *, end: bool) -> date:
    """A PubMed date ("2020", "2020/05", "2020/05/17") as its first or last day."""
    parts = [int(p) for p in re.split(r"[/-]", value.strip()) if p]
    year = parts[0]
    month = parts[1] if len(parts) > 1 else (12 if end else 1)
    if len(parts) > 2:
        return date(year, month, parts[2])
    if not end:
        return date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)

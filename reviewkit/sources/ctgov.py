"""Provides CtgovSearch (ClinicalTrials.gov API v2 paging with retries) and parse_study (study JSON → Record)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import requests

from reviewkit.domain.records import Record, RegistryInfo, find_nct_ids, parse_year
from reviewkit.errors import NetworkError, ParseError, ReviewkitError
from reviewkit.sources.http import (
    ProgressCallback,
    RateLimiter,
    RetryPolicy,
    TransientError,
    parse_retry_after,
    with_retries,
)

__all__ = ["DEFAULT_BASE_URL", "CtgovPage", "CtgovSearch", "parse_study"]

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
PAGE_SIZE = 1000  # the API silently lowers anything larger to 1,000
#: Query parameters a caller may pass; paging parameters are this module's business.
_ALLOWED = re.compile(r"^(query\.\w+|filter\.\w+|postFilter\.\w+|aggFilters|fields|sort|geoDecay)$")
#: ~50 requests/min per IP is the community-reported throttle; robots.txt asks 1 s (ctgov.md §3).
_SHARED_LIMITER = RateLimiter(1.0)


@dataclass(frozen=True)
class CtgovPage:
    """One page of a search: store its records, then resume from `next_token` (None when done)."""

    page_token: str | None
    records: tuple[Record, ...]
    next_token: str | None
    total: int | None  # totalCount, reported on the first page only


class CtgovSearch:
    """Searches ClinicalTrials.gov API v2 page by page (pageSize 1000, nextPageToken).

    `base_url` is configuration (tests point it at a local server); `limiter` defaults to one
    shared by the whole process, so parallel searches together stay at about 1 request/s.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        page_size: int = PAGE_SIZE,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or _SHARED_LIMITER
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "reviewkit (systematic-review search)"
        self.session = session
        self.page_size = page_size
        self.timeout = timeout

    def pages(
        self,
        query: Mapping[str, str],
        *,
        page_token: str | None = None,
        done: int = 0,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[CtgovPage]:
        """Yield the search's pages from the start, or from a stored `page_token` to resume.

        Every page uses the same parameters as the first (the API requires it); only the token
        changes. `done`/`total` carry a resumed run's progress so far into `progress`.
        """
        params = _check_query(query)
        params["pageSize"] = str(self.page_size)
        params["format"] = "json"
        token = page_token
        while True:
            page_params = dict(params)
            if token is None:
                page_params["countTotal"] = "true"
            else:
                page_params["pageToken"] = token
            where = "ClinicalTrials.gov search" + (" (next page)" if token else "")
            body = with_retries(partial(self._get_page, page_params, where), self.retry, what=where)
            records = tuple(parse_study(s) for s in body["studies"])
            next_token = body.get("nextPageToken") or None
            if token is None and isinstance(body.get("totalCount"), int):
                total = body["totalCount"]
            done += len(records)
            yield CtgovPage(token, records, next_token, body.get("totalCount"))
            if progress is not None:
                progress(done, total)
            if next_token is None:
                return
            token = next_token

    def study(self, nct_id: str) -> Record:
        """One study by NCT number (GET /studies/{nctId}), with its full results section."""
        found = find_nct_ids(nct_id)
        if not found:
            raise ReviewkitError(f"not an NCT number: {nct_id!r}", hint="NCT followed by 8 digits")
        where = f"ClinicalTrials.gov study {found[0]}"
        body = with_retries(lambda: self._get(f"/studies/{found[0]}", {"format": "json"}, where),
                            self.retry, what=where)
        return parse_study(body)

    def version(self) -> dict[str, Any]:
        """The API's version and dataTimestamp: the "date searched" of the data snapshot."""
        return with_retries(lambda: self._get("/version", {}, "ClinicalTrials.gov version"),
                            self.retry, what="ClinicalTrials.gov version")

    def _get_page(self, params: Mapping[str, str], where: str) -> dict[str, Any]:
        """One /studies page; a JSON object without a studies list (an error body) is retried."""
        body = self._get("/studies", params, where)
        if not isinstance(body.get("studies"), list):
            raise TransientError(f"{where}: the response has no 'studies' list: {_excerpt(str(body))}")
        return body

    def _get(self, path: str, params: Mapping[str, str], where: str) -> dict[str, Any]:
        """One polite GET, decoded; failures become TransientError (retry) or NetworkError."""
        self.limiter.wait()
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
            text = response.text  # reads the whole body: a cut-short body fails here
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(f"{where}: connection failed ({exc.__class__.__name__})") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(
                f"{where}: HTTP {response.status_code} {_excerpt(text)}".rstrip(),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code >= 400:
            raise NetworkError(
                f"{where} refused the request: HTTP {response.status_code} {_excerpt(text)}".rstrip(),
                hint="check the ClinicalTrials.gov query fields in review.toml",
            )
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise TransientError(f"{where}: incomplete or invalid JSON ({exc})") from exc
        if not isinstance(body, dict):
            raise TransientError(f"{where}: expected a JSON object")
        return body


def _check_query(query: Mapping[str, str]) -> dict[str, str]:
    """The caller's query parameters, refusing names the API does not know or paging ones."""
    bad = sorted(k for k in query if not _ALLOWED.match(k))
    if bad:
        raise ReviewkitError(
            f"unknown ClinicalTrials.gov parameter(s): {', '.join(bad)}",
            hint="use query.cond, query.intr, query.term, filter.* and the like",
        )
    return {k: str(v) for k, v in query.items() if v is not None and str(v) != ""}


def _excerpt(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:200]


# -- study records ---------------------------------------------------------------------------


def get_path(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]..., or None where a level is missing (API v2 omits empty modules)."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def nonempty_strings(values: Any, key: str | None = None) -> tuple[str, ...]:
    """Non-empty strings of a list (or of one key of each dict in a list)."""
    if not isinstance(values, list):
        return ()
    items = (v.get(key) if key and isinstance(v, Mapping) else v for v in values)
    return tuple(str(v).strip() for v in items if v not in (None, ""))


def parse_study(study: Mapping[str, Any]) -> Record:
    """A Record (kind="registry") from one API v2 study object; raw keeps the full JSON."""
    protocol = study.get("protocolSection")
    nct = get_path(protocol, "identificationModule", "nctId")
    if not isinstance(nct, str) or not find_nct_ids(nct):
        raise ParseError("study without protocolSection.identificationModule.nctId",
                         file="ClinicalTrials.gov response")
    ident = get_path(protocol, "identificationModule") or {}
    status = get_path(protocol, "statusModule") or {}
    design = get_path(protocol, "designModule") or {}
    arms = get_path(protocol, "armsInterventionsModule") or {}
    conditions = get_path(protocol, "conditionsModule") or {}
    start = get_path(status, "startDateStruct", "date") or ""
    first_posted = get_path(status, "studyFirstPostDateStruct", "date") or status.get("studyFirstSubmitDate")
    enrollment = get_path(design, "enrollmentInfo", "count")
    brief, official = ident.get("briefTitle") or "", ident.get("officialTitle") or ""
    registry = RegistryInfo(
        nct_id=nct,
        brief_title=brief,
        official_title=official,
        conditions=nonempty_strings(conditions.get("conditions")),
        interventions=nonempty_strings(arms.get("interventions"), "name"),
        arms=nonempty_strings(arms.get("armGroups"), "label"),
        phase=nonempty_strings(design.get("phases")),
        status=status.get("overallStatus") or "",
        enrollment=enrollment if isinstance(enrollment, int) else None,
        start_date=start,
        completion_date=get_path(status, "completionDateStruct", "date") or "",
        has_results=bool(study.get("hasResults")),
    )
    derived = study.get("derivedSection")
    mesh = nonempty_strings(get_path(derived, "conditionBrowseModule", "meshes"), "term") + nonempty_strings(
        get_path(derived, "interventionBrowseModule", "meshes"), "term")
    extra = {
        key: value for key, value in {
            "acronym": ident.get("acronym"),
            "org_study_id": get_path(ident, "orgStudyIdInfo", "id"),
            "nct_id_aliases": list(nonempty_strings(ident.get("nctIdAliases"))),
            "study_type": design.get("studyType"),
            "design_info": design.get("designInfo"),
            "lead_sponsor": get_path(protocol, "sponsorCollaboratorsModule", "leadSponsor", "name"),
            "last_update_posted": get_path(status, "lastUpdatePostDateStruct", "date"),
            # Publications the registry links to: PubMed records of this trial for dedup/linking.
            "reference_pmids": [
                {"pmid": r.get("pmid"), "type": r.get("type")}
                for r in get_path(protocol, "referencesModule", "references") or []
                if isinstance(r, Mapping) and r.get("pmid")
            ],
        }.items() if value not in (None, "", [], {})
    }
    return Record(
        title=brief or official,
        abstract=get_path(protocol, "descriptionModule", "briefSummary") or "",
        year=parse_year(start) or parse_year(first_posted),
        nct_ids=(nct,),
        keywords=nonempty_strings(conditions.get("keywords")),
        mesh_terms=mesh,
        url=f"https://clinicaltrials.gov/study/{nct}",
        source_type=design.get("studyType") or "",
        source_id=nct,
        source_db="ClinicalTrials.gov",
        kind="registry",
        registry=registry,
        raw=json.dumps(study, ensure_ascii=False),
        format="ctgov",
        extra=extra,
    )

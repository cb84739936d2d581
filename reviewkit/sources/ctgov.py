"""Provides CtgovSearch (ClinicalTrials.gov API v2 paging with retries) and parse_study (study JSON → Record)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn

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
from reviewkit.wording import counted

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
        tell_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        #: Hears each retry in words (the CLI prints it, the sources screen shows it).
        self.tell_retry = tell_retry
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
        changes. `done`/`total` carry a resumed run's progress so far into `progress`. A page token
        handed out twice is a NetworkError: following it would page forever, storing nothing new.
        """
        params = _check_query(query)
        params["pageSize"] = str(self.page_size)
        params["format"] = "json"
        token = page_token
        given: set[str] = set() if token is None else {token}
        while True:
            page_params = dict(params)
            if token is None:
                page_params["countTotal"] = "true"
            else:
                page_params["pageToken"] = token
            where = "ClinicalTrials.gov search" + (" (next page)" if token else "")
            body = with_retries(partial(self._get_page, page_params, where), self.retry, what=where,
                                tell=self.tell_retry)
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
            if next_token in given:
                raise NetworkError(
                    f"ClinicalTrials.gov gave a page token it had given before ({_excerpt(next_token)[:40]}) "
                    f"after {counted(done, 'study', 'studies')}: following it would page forever",
                    hint="search again later (it resumes from the last page stored); search --restart starts over",
                )
            given.add(next_token)
            token = next_token

    def study(self, nct_id: str) -> Record:
        """One study by NCT number (GET /studies/{nctId}), with its full results section."""
        found = find_nct_ids(nct_id)
        if not found:
            raise ReviewkitError(f"not an NCT number: {nct_id!r}", hint="NCT followed by 8 digits")
        where = f"ClinicalTrials.gov study {found[0]}"
        body = with_retries(lambda: self._get(f"/studies/{found[0]}", {"format": "json"}, where),
                            self.retry, what=where, tell=self.tell_retry)
        return parse_study(body)

    def version(self) -> dict[str, Any]:
        """The API's version and dataTimestamp: the "date searched" of the data snapshot."""
        return with_retries(lambda: self._get("/version", {}, "ClinicalTrials.gov version"),
                            self.retry, what="ClinicalTrials.gov version", tell=self.tell_retry)

    def _get_page(self, params: Mapping[str, str], where: str) -> dict[str, Any]:
        """One /studies page; a JSON object without a studies list (an error body) is retried."""
        body = self._get("/studies", params, where)
        if not isinstance(body.get("studies"), list):
            raise TransientError(f"{where}: the response has no 'studies' list: {_excerpt(str(body))}")
        return body

    def _get(self, path: str, params: Mapping[str, str], where: str) -> dict[str, Any]:
        """One polite GET, decoded; failures become TransientError (retry) or NetworkError."""
        self.limiter.wait()
        url = self.base_url + path  # messages name it without the query string (page tokens are long)
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
            text = response.text  # reads the whole body: a cut-short body fails here
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(f"{where}: connection to {url} failed ({exc.__class__.__name__})") from exc
        detail = f": {_excerpt(text)}" if _excerpt(text) else ""
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(
                f"{where}: HTTP {response.status_code} from {url}{detail}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code >= 400:
            raise NetworkError(
                f"{where} refused the request: HTTP {response.status_code} from {url}{detail}",
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


class _Fields:
    """Typed reads of one study object: a field of the wrong shape is a ParseError naming its path.

    A missing (or null) field is empty, as API v2 omits empty modules; a string where an object
    was expected, a number where text was, is refused rather than guessed at.
    """

    def __init__(self, study: Mapping[str, Any], where: str) -> None:
        self.study = study
        self.where = where
        self.nct: str | None = None

    def refuse(self, path: str, value: Any, expected: str) -> NoReturn:
        prefix = f"{self.nct}: " if self.nct else ""
        raise ParseError(f"{prefix}{path} is {_describe(value)}, not {expected}", file=self.where,
                         hint="the file is not an unmodified ClinicalTrials.gov API v2 download")

    def get(self, path: str) -> Any:
        data: Any = self.study
        done: list[str] = []
        for key in path.split("."):
            if data is None:
                return None
            if not isinstance(data, Mapping):
                self.refuse(".".join(done), data, "an object")
            data = data.get(key)
            done.append(key)
        return data

    def obj(self, path: str) -> Mapping[str, Any]:
        value = self.get(path)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.refuse(path, value, "an object")
        return value

    def text(self, path: str) -> str:
        value = self.get(path)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.refuse(path, value, "text")
        return value

    def items(self, path: str) -> list[Any]:
        value = self.get(path)
        if value is None:
            return []
        if not isinstance(value, list):
            self.refuse(path, value, "a list")
        return value

    def strings(self, path: str, key: str | None = None) -> tuple[str, ...]:
        """Non-empty strings of a list (or of one key of each object in a list)."""
        out: list[str] = []
        for i, item in enumerate(self.items(path)):
            where = f"{path}[{i}]"
            if key is not None:
                if not isinstance(item, Mapping):
                    self.refuse(where, item, "an object")
                item, where = item.get(key), f"{where}.{key}"
            if item is None:
                continue
            if not isinstance(item, str):
                self.refuse(where, item, "text")
            if item.strip():
                out.append(item.strip())
        return tuple(out)

    def objects(self, path: str) -> list[Mapping[str, Any]]:
        items = self.items(path)
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                self.refuse(f"{path}[{i}]", item, "an object")
        return items

    def date(self, path: str) -> str:
        self.obj(path)
        return self.text(path + ".date")


def _describe(value: Any) -> str:
    """A JSON value as an error message names it: `a string ("RECRUITING")`, `a number (2019)`."""
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"a string ({json.dumps(shown, ensure_ascii=False)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return "null" if value is None else type(value).__name__


def parse_study(study: Any, *, where: str = "ClinicalTrials.gov response") -> Record:
    """A Record (kind="registry") from one API v2 study object; raw keeps the full JSON.

    A study that is not an object, or has a field of the wrong shape (a string for the status
    module, a number for a date), is a ParseError naming `where`, the NCT number and the field path.
    """
    if not isinstance(study, Mapping):
        raise ParseError(f"{_describe(study)}, not a study object", file=where)
    f = _Fields(study, where)
    nct = f.get("protocolSection.identificationModule.nctId")
    if not isinstance(nct, str) or not find_nct_ids(nct):
        raise ParseError("study without protocolSection.identificationModule.nctId", file=where)
    f.nct = nct
    ident = "protocolSection.identificationModule"
    status = "protocolSection.statusModule"
    design = "protocolSection.designModule"
    arms = "protocolSection.armsInterventionsModule"
    conditions = "protocolSection.conditionsModule"
    for module in (ident, status, design, arms, conditions, "protocolSection.descriptionModule",
                   "protocolSection.sponsorCollaboratorsModule", "protocolSection.referencesModule",
                   "derivedSection"):
        f.obj(module)
    start = f.date(f"{status}.startDateStruct")
    first_posted = f.date(f"{status}.studyFirstPostDateStruct") or f.text(f"{status}.studyFirstSubmitDate")
    enrollment = f.get(f"{design}.enrollmentInfo.count")
    if enrollment is not None and (isinstance(enrollment, bool) or not isinstance(enrollment, int)):
        f.refuse(f"{design}.enrollmentInfo.count", enrollment, "a whole number")
    has_results = study.get("hasResults")
    if has_results is not None and not isinstance(has_results, bool):
        f.refuse("hasResults", has_results, "true or false")
    brief, official = f.text(f"{ident}.briefTitle"), f.text(f"{ident}.officialTitle")
    registry = RegistryInfo(
        nct_id=nct,
        brief_title=brief,
        official_title=official,
        conditions=f.strings(f"{conditions}.conditions"),
        interventions=f.strings(f"{arms}.interventions", "name"),
        arms=f.strings(f"{arms}.armGroups", "label"),
        phase=f.strings(f"{design}.phases"),
        status=f.text(f"{status}.overallStatus"),
        enrollment=enrollment,
        start_date=start,
        completion_date=f.date(f"{status}.completionDateStruct"),
        has_results=bool(has_results),
    )
    mesh = (f.strings("derivedSection.conditionBrowseModule.meshes", "term")
            + f.strings("derivedSection.interventionBrowseModule.meshes", "term"))
    design_info = f.get(f"{design}.designInfo")
    if design_info is not None and not isinstance(design_info, Mapping):
        f.refuse(f"{design}.designInfo", design_info, "an object")
    references = f.objects("protocolSection.referencesModule.references")
    for i, ref in enumerate(references):
        for key in ("pmid", "type"):
            if ref.get(key) is not None and not isinstance(ref.get(key), str):
                f.refuse(f"protocolSection.referencesModule.references[{i}].{key}", ref.get(key), "text")
    extra = {
        key: value for key, value in {
            "acronym": f.text(f"{ident}.acronym"),
            "org_study_id": f.text(f"{ident}.orgStudyIdInfo.id"),
            "nct_id_aliases": list(f.strings(f"{ident}.nctIdAliases")),
            "study_type": f.text(f"{design}.studyType"),
            "design_info": design_info,
            "lead_sponsor": f.text("protocolSection.sponsorCollaboratorsModule.leadSponsor.name"),
            "last_update_posted": f.date(f"{status}.lastUpdatePostDateStruct"),
            # Publications the registry links to: PubMed records of this trial for dedup/linking.
            "reference_pmids": [
                {"pmid": r.get("pmid"), "type": r.get("type")} for r in references if r.get("pmid")
            ],
        }.items() if value not in (None, "", [], {})
    }
    return Record(
        title=brief or official,
        abstract=f.text("protocolSection.descriptionModule.briefSummary"),
        year=parse_year(start) or parse_year(first_posted),
        nct_ids=(nct,),
        keywords=f.strings(f"{conditions}.keywords"),
        mesh_terms=mesh,
        url=f"https://clinicaltrials.gov/study/{nct}",
        source_type=f.text(f"{design}.studyType"),
        source_id=nct,
        source_db="ClinicalTrials.gov",
        kind="registry",
        registry=registry,
        raw=json.dumps(study, ensure_ascii=False),
        format="ctgov",
        extra=extra,
    )

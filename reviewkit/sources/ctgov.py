"""Provides CtgovSearch (ClinicalTrials.gov API v2 paging with retries), parse_study and read_results."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

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

__all__ = [
    "DEFAULT_BASE_URL", "CtgovPage", "CtgovSearch", "GroupValue", "OutcomeCategory",
    "OutcomeClass", "OutcomeResult", "ProtocolArm", "ResultGroup", "StudyResults", "parse_study", "read_results",
]

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


def _get(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]..., or None where a level is missing (API v2 omits empty modules)."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _strs(values: Any, key: str | None = None) -> tuple[str, ...]:
    """Non-empty strings of a list (or of one key of each dict in a list)."""
    if not isinstance(values, list):
        return ()
    items = (v.get(key) if key and isinstance(v, Mapping) else v for v in values)
    return tuple(str(v).strip() for v in items if v not in (None, ""))


def parse_study(study: Mapping[str, Any]) -> Record:
    """A Record (kind="registry") from one API v2 study object; raw keeps the full JSON."""
    protocol = study.get("protocolSection")
    nct = _get(protocol, "identificationModule", "nctId")
    if not isinstance(nct, str) or not find_nct_ids(nct):
        raise ParseError("study without protocolSection.identificationModule.nctId",
                         file="ClinicalTrials.gov response")
    ident = _get(protocol, "identificationModule") or {}
    status = _get(protocol, "statusModule") or {}
    design = _get(protocol, "designModule") or {}
    arms = _get(protocol, "armsInterventionsModule") or {}
    conditions = _get(protocol, "conditionsModule") or {}
    start = _get(status, "startDateStruct", "date") or ""
    first_posted = _get(status, "studyFirstPostDateStruct", "date") or status.get("studyFirstSubmitDate")
    enrollment = _get(design, "enrollmentInfo", "count")
    brief, official = ident.get("briefTitle") or "", ident.get("officialTitle") or ""
    registry = RegistryInfo(
        nct_id=nct,
        brief_title=brief,
        official_title=official,
        conditions=_strs(conditions.get("conditions")),
        interventions=_strs(arms.get("interventions"), "name"),
        arms=_strs(arms.get("armGroups"), "label"),
        phase=_strs(design.get("phases")),
        status=status.get("overallStatus") or "",
        enrollment=enrollment if isinstance(enrollment, int) else None,
        start_date=start,
        completion_date=_get(status, "completionDateStruct", "date") or "",
        has_results=bool(study.get("hasResults")),
    )
    derived = study.get("derivedSection")
    mesh = _strs(_get(derived, "conditionBrowseModule", "meshes"), "term") + _strs(
        _get(derived, "interventionBrowseModule", "meshes"), "term")
    extra = {
        key: value for key, value in {
            "acronym": ident.get("acronym"),
            "org_study_id": _get(ident, "orgStudyIdInfo", "id"),
            "nct_id_aliases": list(_strs(ident.get("nctIdAliases"))),
            "study_type": design.get("studyType"),
            "design_info": design.get("designInfo"),
            "lead_sponsor": _get(protocol, "sponsorCollaboratorsModule", "leadSponsor", "name"),
            "last_update_posted": _get(status, "lastUpdatePostDateStruct", "date"),
            # Publications the registry links to: PubMed records of this trial for dedup/linking.
            "reference_pmids": [
                {"pmid": r.get("pmid"), "type": r.get("type")}
                for r in _get(protocol, "referencesModule", "references") or []
                if isinstance(r, Mapping) and r.get("pmid")
            ],
        }.items() if value not in (None, "", [], {})
    }
    return Record(
        title=brief or official,
        abstract=_get(protocol, "descriptionModule", "briefSummary") or "",
        year=parse_year(start) or parse_year(first_posted),
        nct_ids=(nct,),
        keywords=_strs(conditions.get("keywords")),
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


# -- registered results (for extraction prefill) ------------------------------------------------

OutcomeKind = Literal["dichotomous", "continuous", "other"]
_CONTINUOUS = {"MEAN", "LEAST_SQUARES_MEAN", "GEOMETRIC_MEAN", "GEOMETRIC_LEAST_SQUARES_MEAN",
               "LOG_MEAN", "MEDIAN"}


@dataclass(frozen=True)
class ResultGroup:
    """An arm as a results module reports it (OG000 ...); map to protocol arms by title."""

    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class ProtocolArm:
    """An arm as registered (label, EXPERIMENTAL/PLACEBO_COMPARATOR..., interventions)."""

    label: str
    type: str
    description: str = ""
    interventions: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupValue:
    """One group's measurement: count (events) or mean with its dispersion, and n analysed.

    `events` is set for dichotomous outcomes; `events_derived` marks events computed from a
    percentage (round(value × n / 100)), which extraction should flag.
    """

    group_id: str
    value: float | None
    n: int | None
    events: int | None = None
    events_derived: bool = False
    spread: float | None = None
    lower: float | None = None
    upper: float | None = None
    text: str = ""  # the value as posted ("NA", "12.5")
    comment: str = ""


@dataclass(frozen=True)
class OutcomeCategory:
    """A category of a class ("Responder", or the single unnamed one): one value per group."""

    title: str
    values: tuple[GroupValue, ...]


@dataclass(frozen=True)
class OutcomeClass:
    """A class of an outcome measure (often a time point or a subgroup: "Week 12")."""

    title: str
    categories: tuple[OutcomeCategory, ...]


@dataclass(frozen=True)
class OutcomeResult:
    """One posted outcome measure, typed for extraction: dichotomous, continuous or other."""

    kind: OutcomeKind
    type: str  # PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED, POST_HOC
    title: str
    time_frame: str
    description: str
    population: str
    param_type: str  # normalised enum: MEAN, COUNT_OF_PARTICIPANTS ...
    dispersion_type: str  # normalised enum: STANDARD_DEVIATION, CONFIDENCE_95 ... or ""
    unit: str
    groups: tuple[ResultGroup, ...]
    classes: tuple[OutcomeClass, ...]


@dataclass(frozen=True)
class StudyResults:
    """The registered results of a study: protocol arms and posted outcome measures."""

    nct_id: str
    arms: tuple[ProtocolArm, ...]
    outcomes: tuple[OutcomeResult, ...]


def read_results(study: Mapping[str, Any]) -> StudyResults:
    """Outcome measures of resultsSection as plain dataclasses; no results → no outcomes."""
    protocol = study.get("protocolSection")
    arms = tuple(
        ProtocolArm(str(a.get("label") or ""), str(a.get("type") or ""),
                    str(a.get("description") or ""), _strs(a.get("interventionNames")))
        for a in _get(protocol, "armsInterventionsModule", "armGroups") or []
        if isinstance(a, Mapping)
    )
    measures = _get(study, "resultsSection", "outcomeMeasuresModule", "outcomeMeasures") or []
    outcomes = tuple(
        _outcome(m) for m in measures
        if isinstance(m, Mapping) and m.get("reportingStatus", "POSTED") == "POSTED"
    )
    return StudyResults(_get(protocol, "identificationModule", "nctId") or "", arms, outcomes)


def _enum(value: Any) -> str:
    """API enums from either spelling: older records say "Standard Error", "95% Confidence Interval"."""
    text = str(value or "").strip()
    confidence = re.match(r"^(\d+(?:\.\d+)?)% Confidence Interval$", text, re.IGNORECASE)
    if confidence:
        return "CONFIDENCE_" + confidence.group(1).replace(".", "")
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def _number(value: Any) -> float | None:
    """A posted number ("12", "-0.4", "1,234"); None for "NA", "", or anything not finite."""
    try:
        number = float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _denoms(denoms: Any) -> dict[str, int]:
    """Participants analysed per group id (the "Participants" denominator; other units skipped)."""
    counts: dict[str, int] = {}
    for denom in denoms or []:
        if str(denom.get("units", "")).lower() != "participants":
            continue
        for item in denom.get("counts") or []:
            number = _number(item.get("value"))
            if number is not None:
                counts[item.get("groupId", "")] = int(number)
    return counts


def _outcome(measure: Mapping[str, Any]) -> OutcomeResult:
    param = _enum(measure.get("paramType"))
    unit = str(measure.get("unitOfMeasure") or "")
    percent = "percent" in unit.lower()
    about_people = any(word in unit.lower() for word in ("participant", "subject", "patient"))
    if param == "COUNT_OF_PARTICIPANTS" or (param == "NUMBER" and about_people):
        kind: OutcomeKind = "dichotomous"
    elif param in _CONTINUOUS:
        kind = "continuous"
    else:
        kind = "other"
    measure_n = _denoms(measure.get("denoms"))
    classes = []
    for cls in measure.get("classes") or []:
        n_by_group = {**measure_n, **_denoms(cls.get("denoms"))}  # class-level first (ctgov.md §5)
        categories = tuple(
            OutcomeCategory(str(cat.get("title") or ""), tuple(
                _value(m, n_by_group.get(m.get("groupId", "")), kind, percent)
                for m in cat.get("measurements") or []
            ))
            for cat in cls.get("categories") or []
        )
        classes.append(OutcomeClass(str(cls.get("title") or ""), categories))
    return OutcomeResult(
        kind=kind, type=str(measure.get("type") or ""), title=str(measure.get("title") or ""),
        time_frame=str(measure.get("timeFrame") or ""),
        description=str(measure.get("description") or ""),
        population=str(measure.get("populationDescription") or ""),
        param_type=param, dispersion_type=_enum(measure.get("dispersionType")), unit=unit,
        groups=tuple(ResultGroup(g.get("id", ""), g.get("title", ""), g.get("description", ""))
                     for g in measure.get("groups") or []),
        classes=tuple(classes),
    )


def _value(m: Mapping[str, Any], n: int | None, kind: OutcomeKind, percent: bool) -> GroupValue:
    value = _number(m.get("value"))
    events, derived = None, False
    if kind == "dichotomous" and value is not None:
        if percent:
            events, derived = (round(value * n / 100), True) if n is not None else (None, False)
        else:
            events = int(round(value))
    return GroupValue(
        group_id=str(m.get("groupId", "")), value=value, n=n, events=events,
        events_derived=derived, spread=_number(m.get("spread")),
        lower=_number(m.get("lowerLimit")), upper=_number(m.get("upperLimit")),
        text=str(m.get("value") or ""), comment=str(m.get("comment") or ""),
    )

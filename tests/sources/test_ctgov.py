"""Tests for the ClinicalTrials.gov client: paging and resume, parse_study and read_results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.sources.ctgov import CtgovSearch, parse_study
from reviewkit.sources.ctgov_results import read_results
from reviewkit.sources.http import RateLimiter, RetryPolicy

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctgov"
PAGE1 = (FIXTURES / "search_phelan_limit5_20260811.json").read_bytes()
PAGE2 = (FIXTURES / "search_phelan_next_20260811.json").read_bytes()
LAST = (FIXTURES / "search_nsclc_egfr_l858r_20260811.json").read_bytes()
TOKEN1 = "ZVt07cGHkvI2wRk2CJf6_LLq14bEL8swd7KrgP4dnDeTsPkw"
TOKEN2 = "ZVt07cGHkvI2wRk2CJf6_LLq14bEL8swd7KrgP4bmjeauvk_IQ"
QUERY = {"query.cond": "Phelan-McDermid Syndrome"}
JSON = "application/json"


def study(name: str) -> dict[str, Any]:
    """A full API v2 study record from fixtures/ctgov."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def client(server: HTTPServer, retry: RetryPolicy) -> CtgovSearch:
    """A client on the local server whose rate limiter never actually waits."""
    return CtgovSearch(base_url=server.url_for("/api/v2"), retry=retry,
                       limiter=RateLimiter(1.0, sleep=lambda s: None))


def serve_pages(server: HTTPServer) -> None:
    """Page 1, page 2 (real captures) and a last page without nextPageToken."""
    common = {"query.cond": "Phelan-McDermid Syndrome", "pageSize": "1000", "format": "json"}
    server.expect_request("/api/v2/studies", query_string={**common, "countTotal": "true"}
                          ).respond_with_data(PAGE1, content_type=JSON)
    server.expect_request("/api/v2/studies", query_string={**common, "pageToken": TOKEN1}
                          ).respond_with_data(PAGE2, content_type=JSON)
    server.expect_request("/api/v2/studies", query_string={**common, "pageToken": TOKEN2}
                          ).respond_with_data(LAST, content_type=JSON)


def test_pages_follow_next_page_token(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """Pages come in order with their tokens; totalCount is asked for and read on page 1 only."""
    serve_pages(httpserver)
    seen: list[tuple[int, int | None]] = []
    pages = list(client(httpserver, retry).pages(QUERY, progress=lambda d, t: seen.append((d, t))))
    assert [(p.page_token, p.next_token, p.total) for p in pages] == [
        (None, TOKEN1, 21), (TOKEN1, TOKEN2, None), (TOKEN2, None, 2)]
    assert [r.source_id for r in pages[0].records] == [
        "NCT02710084", "NCT05105685", "NCT01525901", "NCT03493607", "NCT07119606"]
    assert pages[1].records[0].registry is not None
    assert pages[1].records[0].registry.nct_id == "NCT05187377"
    assert seen == [(5, 21), (10, 21), (12, 21)]


def test_resume_from_a_stored_token(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """pages(page_token=...) starts at that page without asking for page 1 or countTotal."""
    serve_pages(httpserver)
    pages = list(client(httpserver, retry).pages(QUERY, page_token=TOKEN1))
    assert [p.page_token for p in pages] == [TOKEN1, TOKEN2]
    assert all("countTotal" not in r.query_string.decode() for r, _ in httpserver.log)


def test_unknown_query_parameter_is_refused() -> None:
    """Paging parameters and unknown names are refused before any request."""
    with pytest.raises(ReviewkitError, match="pageToken"):
        next(CtgovSearch(base_url="http://127.0.0.1:9").pages({"pageToken": "x"}))


def test_search_page_study_becomes_a_registry_record() -> None:
    """A fields-subset study from a real search page maps onto Record and RegistryInfo."""
    record = parse_study(json.loads(PAGE1)["studies"][0])
    assert (record.kind, record.format, record.source_id, record.nct_ids) == (
        "registry", "ctgov", "NCT02710084", ("NCT02710084",))
    assert record.title == "Piloting Treatment With Intranasal Oxytocin in Phelan-McDermid Syndrome"
    assert record.abstract.startswith("This is a pilot study examining the efficacy")
    assert record.year == 2016
    info = record.registry
    assert info is not None
    assert (info.status, info.phase, info.enrollment) == ("COMPLETED", ("PHASE2",), 18)
    assert (info.start_date, info.completion_date) == ("2016-04-29", "2020-07-29")
    assert info.interventions == ("Oxytocin", "Saline")
    assert info.conditions == ("Phelan-McDermid Syndrome",)


def test_full_study_record_fields() -> None:
    """A full v2 record: titles, arms, MeSH, linked PMIDs and the raw JSON kept whole."""
    data = study("NCT02278341.json")
    record = parse_study(data)
    info = record.registry
    assert info is not None
    # The AACT fixture file is named NCT02278341 but holds study NCT02552212.
    assert info.nct_id == "NCT02552212" and record.source_id == "NCT02552212"
    assert info.official_title.startswith("Phase 3, Multicenter, Randomized, Placebo-Controlled")
    assert info.arms == ("Certolizumab Pegol 200 mg Q2W", "Placebo")
    assert (info.phase, info.enrollment, info.has_results) == (("PHASE3",), 317, True)
    assert record.year == 2015
    assert "Axial Spondyloarthritis" in record.mesh_terms
    assert record.extra["lead_sponsor"] == "UCB BIOSCIENCES GmbH"
    assert record.extra["acronym"] == "C-AXSPAND"
    assert record.extra["reference_pmids"][0] == {"pmid": "35296532", "type": "RESULT"}
    assert json.loads(record.raw) == data


def test_study_without_results_and_without_arms() -> None:
    """An observational study with no arms and no results still maps, with empty results."""
    data = study("NCT06171568.json")
    record = parse_study(data)
    assert record.registry is not None
    assert (record.registry.arms, record.registry.has_results) == ((), False)
    assert record.registry.status == "NOT_YET_RECRUITING"
    assert read_results(data).outcomes == ()


def test_study_without_nct_id_is_a_parse_error() -> None:
    """A study object without an NCT number cannot become a record."""
    with pytest.raises(ParseError, match="nctId"):
        parse_study({"protocolSection": {"identificationModule": {"briefTitle": "x"}}})


def test_dichotomous_count_outcome() -> None:
    """COUNT_OF_PARTICIPANTS: events per group with n from the Participants denominator."""
    results = read_results(study("NCT02278341.json"))
    outcome = next(o for o in results.outcomes if o.title.startswith("Number of Subjects Without"))
    assert (outcome.kind, outcome.param_type, outcome.time_frame) == (
        "dichotomous", "COUNT_OF_PARTICIPANTS", "From Baseline to Week 52")
    assert [g.title for g in outcome.groups] == ["Placebo (FAS)", "CZP 200 mg Q2W (FAS)"]
    values = outcome.classes[0].categories[0].values
    assert [(v.group_id, v.events, v.n, v.events_derived) for v in values] == [
        ("OG000", 48, 158, False), ("OG001", 115, 159, False)]
    assert [a.label for a in results.arms] == ["Certolizumab Pegol 200 mg Q2W", "Placebo"]
    assert results.arms[1].type == "PLACEBO_COMPARATOR"


def test_percentage_outcome_derives_events() -> None:
    """NUMBER in "percentage of subjects": events = round(value × n / 100), flagged derived."""
    outcome = read_results(study("NCT02278341.json")).outcomes[0]
    values = outcome.classes[0].categories[0].values
    assert outcome.kind == "dichotomous"
    assert [(v.value, v.n, v.events, v.events_derived) for v in values] == [
        (7.0, 158, 11, True), (47.2, 159, 75, True)]


def test_continuous_outcome_with_class_denominators() -> None:
    """LS mean ± SE per class (older "Standard Error" spelling), n from the class-level denoms."""
    outcomes = read_results(study("NCT02210780.json")).outcomes
    giss = next(o for o in outcomes if o.title.startswith("Change From Baseline in Global Individual"))
    assert (giss.kind, giss.param_type, giss.dispersion_type) == (
        "continuous", "LEAST_SQUARES_MEAN", "STANDARD_ERROR")
    erythema = giss.classes[0]
    assert erythema.title == "Erythema"
    values = erythema.categories[0].values
    assert [(v.value, v.spread, v.n) for v in values] == [(-0.4, 0.08, 79), (-0.9, 0.08, 87)]


def test_confidence_interval_spelling_is_normalised() -> None:
    """"95% Confidence Interval" reads as CONFIDENCE_95 with lower/upper limits."""
    outcomes = read_results(study("NCT02278341.json")).outcomes
    week1 = next(o for o in outcomes if o.title.endswith("Concentration at Week 1"))
    assert (week1.kind, week1.dispersion_type) == ("continuous", "CONFIDENCE_95")
    value = week1.classes[0].categories[0].values[-1]
    assert value.lower is not None and value.upper is not None and value.lower <= value.upper


def test_single_study_and_version(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """GET /studies/{nctId} returns a full record; /version gives the data timestamp."""
    httpserver.expect_request("/api/v2/studies/NCT06171568").respond_with_data(
        (FIXTURES / "NCT06171568.json").read_bytes(), content_type=JSON)
    httpserver.expect_request("/api/v2/version").respond_with_json(
        {"apiVersion": "2.0.3", "dataTimestamp": "2026-11-24T09:00:05"})
    search = client(httpserver, retry)
    assert search.study("nct06171568").source_id == "NCT06171568"
    assert search.version()["dataTimestamp"] == "2026-11-24T09:00:05"
    with pytest.raises(ReviewkitError, match="not an NCT number"):
        search.study("12345")

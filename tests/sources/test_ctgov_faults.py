"""Fault tests for the ClinicalTrials.gov client and the shared retry/rate-limit helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from reviewkit.errors import NetworkError
from reviewkit.sources.ctgov import CtgovPage, CtgovSearch
from reviewkit.sources.http import RateLimiter, RetryPolicy, parse_retry_after

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctgov"
PAGE1 = (FIXTURES / "search_phelan_limit5_20260811.json").read_bytes()
PAGE2 = (FIXTURES / "search_phelan_next_20260811.json").read_bytes()
TOKEN1 = "ZVt07cGHkvI2wRk2CJf6_LLq14bEL8swd7KrgP4dnDeTsPkw"
QUERY = {"query.cond": "Phelan-McDermid Syndrome"}
JSON = "application/json"


def client(server: HTTPServer, retry: RetryPolicy) -> CtgovSearch:
    """A client on the local server whose rate limiter never actually waits."""
    return CtgovSearch(base_url=server.url_for("/api/v2"), retry=retry,
                       limiter=RateLimiter(1.0, sleep=lambda s: None))


def first_page(server: HTTPServer, retry: RetryPolicy) -> CtgovPage:
    return next(client(server, retry).pages(QUERY))


def test_429_honours_retry_after(httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]) -> None:
    """A 429 with Retry-After: 3 waits 3 s, then the page arrives."""
    httpserver.expect_ordered_request("/api/v2/studies").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "3"})
    httpserver.expect_ordered_request("/api/v2/studies").respond_with_data(PAGE1, content_type=JSON)
    page = first_page(httpserver, retry)
    assert sleeps == [3.0] and len(page.records) == 5 and page.total == 21


@pytest.mark.parametrize("fault", ["502", "drop", "cut_short", "truncated_json", "not_json"])
def test_transient_fault_is_retried(
    httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float], faults: dict, fault: str
) -> None:
    """502, dropped connection, a body cut short, truncated or non-JSON body: retried, then fine."""
    first = httpserver.expect_ordered_request("/api/v2/studies")
    if fault == "502":
        first.respond_with_data("Bad Gateway", status=502)
    elif fault == "drop":
        first.respond_with_handler(faults["drop"])
    elif fault == "cut_short":
        first.respond_with_handler(faults["cut_short"](PAGE1, JSON))
    elif fault == "truncated_json":
        first.respond_with_data(PAGE1[: len(PAGE1) // 2], content_type=JSON)
    else:
        first.respond_with_data("<html><title>Service unavailable</title></html>",
                                content_type="text/html")
    httpserver.expect_ordered_request("/api/v2/studies").respond_with_data(PAGE1, content_type=JSON)
    page = first_page(httpserver, retry)
    assert len(page.records) == 5 and sleeps == [0.5]


def test_bad_request_is_not_retried(httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]) -> None:
    """A 400 carries the API's plain-text message into a NetworkError at once."""
    httpserver.expect_request("/api/v2/studies").respond_with_data(
        "Invalid filter.overallStatus value: DONE", status=400, content_type="text/plain")
    with pytest.raises(NetworkError, match=r"HTTP 400 from http://\S+/api/v2/studies: Invalid filter.overallStatus"):
        first_page(httpserver, retry)
    assert sleeps == []


def test_failing_second_page_keeps_the_first(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """Page 1 is yielded; page 2 fails every time: NetworkError, and page 1's token allows resume."""
    httpserver.expect_ordered_request("/api/v2/studies").respond_with_data(PAGE1, content_type=JSON)
    for _ in range(4):
        httpserver.expect_ordered_request("/api/v2/studies").respond_with_data(
            PAGE2[:100], content_type=JSON)
    done: list[CtgovPage] = []
    with pytest.raises(NetworkError, match="after 4 attempts.*invalid JSON"):
        for page in client(httpserver, retry).pages(QUERY):
            done.append(page)
    assert [(p.page_token, p.next_token) for p in done] == [(None, TOKEN1)]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Retry-After: delta seconds or an HTTP date; junk is ignored."""
    now = datetime(2026, 11, 25, 20, 0, 0, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 25 Nov 2026 20:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_and_is_capped() -> None:
    """Exponential delays with the cap; a huge Retry-After is capped too."""
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60.0, jitter=lambda: 1.0)
    assert [policy.delay(a, None) for a in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(0, 3600.0) == 60.0


def test_rate_limiter_spaces_calls() -> None:
    """Calls closer than the interval wait out the rest of it."""
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(1.0, clock=lambda: now[0], sleep=sleep)
    limiter.wait()
    now[0] += 0.25
    limiter.wait()
    now[0] += 2.0
    limiter.wait()
    assert waits == [0.75]


def test_default_client_is_polite() -> None:
    """Without an injected limiter, clients share one limiter of at least 1 s per request."""
    one, two = CtgovSearch(), CtgovSearch()
    assert one.limiter is two.limiter and one.limiter.min_interval >= 1.0
    assert one.page_size == 1000


def test_error_body_on_200_is_retried_then_refused(
    httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]
) -> None:
    """A JSON error object instead of a page is retried, never stored as an empty page."""
    httpserver.expect_request("/api/v2/studies").respond_with_response(
        Response('{"error":"API rate limit exceeded"}', content_type=JSON))
    with pytest.raises(NetworkError, match="no 'studies' list.*rate limit exceeded"):
        first_page(httpserver, retry)
    assert len(sleeps) == 3


def test_failure_names_the_url_and_status(httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]) -> None:
    """A 503 on every attempt: the message names the service, the endpoint's URL and the status, once each."""
    httpserver.expect_request("/api/v2/studies").respond_with_data("Service Unavailable", status=503)
    with pytest.raises(NetworkError) as caught:
        first_page(httpserver, retry)
    assert caught.value.message == ("ClinicalTrials.gov search failed after 4 attempts: HTTP 503 from "
                                    f"{httpserver.url_for('/api/v2/studies')}: Service Unavailable")


def test_a_page_token_given_twice_stops_paging(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """Page 2 points back at page 2's own token: paging stops with an error instead of looping forever."""
    loop = json.loads(PAGE2)
    loop["nextPageToken"] = TOKEN1
    asked: list[str | None] = []

    def answer(request: Request) -> Response:
        asked.append(request.args.get("pageToken"))
        if len(asked) > 6:  # a client that keeps following the token is stopped here, by a failure
            return Response("loop", status=500)
        return Response(PAGE1 if "pageToken" not in request.args else json.dumps(loop), content_type=JSON)

    httpserver.expect_request("/api/v2/studies").respond_with_handler(answer)
    done: list[CtgovPage] = []
    with pytest.raises(NetworkError, match=r"gave a page token it had given before .* after 10 studies: "
                                           r"following it would page forever"):
        for page in client(httpserver, retry).pages(QUERY):
            done.append(page)
    assert [(p.page_token, p.next_token) for p in done] == [(None, TOKEN1), (TOKEN1, TOKEN1)]
    assert asked == [None, TOKEN1]

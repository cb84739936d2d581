"""Reliability: a search that fails after its retries is stored as failed, never complete, and a later run resumes it to completion."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from datetime import date

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import col, select
from werkzeug import Request, Response

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.services.search import search_ctgov, search_pubmed
from reviewkit.services.status import review_status
from reviewkit.sources.ctgov import CtgovSearch
from reviewkit.sources.http import RateLimiter, RetryPolicy
from reviewkit.sources.pubmed import PubMedSearch
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RecordRow, SourceRunRow
from tests.conftest import FIXTURES
from tests.reliability._helpers import assert_consistent
from tests.sources.conftest import FakePubMed

Handler = Callable[[Request], Response]


def _retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, sleep=lambda s: None, jitter=lambda: 0.0)


def _runs(review: Review) -> list[SourceRunRow]:
    with session_scope(review.engine) as s:
        return list(s.exec(select(SourceRunRow).order_by(col(SourceRunRow.id))))


def _drop(request: Request) -> Response:
    sock = request.environ["werkzeug.socket"]
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    return Response(b"")


def _cut_short(request: Request) -> Response:
    body = b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>" * 20
    return Response(body[: len(body) // 2], content_type="text/xml", headers={"Content-Length": str(len(body))})


FAULTS: dict[str, Handler] = {
    "503": lambda r: Response("Service Unavailable", status=503),
    "429": lambda r: Response('{"error":"API rate limit exceeded"}', status=429, content_type="application/json"),
    "dropped connection": _drop,
    "body cut short": _cut_short,
    "malformed XML": lambda r: Response("<PubmedArticleSet><PubmedArticle><oops", content_type="text/xml"),
    "HTML error page": lambda r: Response("<html><body>Bad Gateway</body></html>", status=502,
                                          content_type="text/html"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_pubmed_search_failing_midway_is_failed_then_resumed(
    fault: str, review: Review, httpserver: HTTPServer
) -> None:
    """A fault that outlasts the retries from the third batch on: the run is failed with the two stored batches;
    once the server heals, the next run resumes from the stored plan and every record is stored once."""
    fake = FakePubMed(450, date(2019, 1, 1), date(2020, 12, 31))
    broken = {"on": True}

    def efetch(request: Request) -> Response:
        if broken["on"] and int(request.values.get("retstart", 0)) >= 200:
            return FAULTS[fault](request)
        return fake.efetch(request)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(efetch)
    client = PubMedSearch(email="dev@example.org", api_key="k", base_url=httpserver.url_for("/"), retry=_retry(),
                          batch_size=100)
    with pytest.raises(ReviewkitError):
        search_pubmed(review, client=client)
    (run,) = _runs(review)
    assert run.status == "failed" and run.error and run.finished_at is None
    assert run.record_count == 200 and run.state["next_offset"] == 200
    assert review_status(review).identified_by_source == {"PubMed": 200}
    with pytest.raises(ReviewkitError):  # still broken: the retry fails again, and stays failed
        search_pubmed(review, client=client)
    assert [r.status for r in _runs(review)] == ["failed"]
    broken["on"] = False
    summary = search_pubmed(review, client=client)
    assert summary.resumed and (summary.stored, summary.new) == (450, 450)
    assert len(fake.esearches) == 1
    assert [r.status for r in _runs(review)] == ["complete"]
    with session_scope(review.engine) as s:
        assert sorted(s.exec(select(RecordRow.pmid))) == sorted(p for p, _ in fake.articles)
    assert_consistent(review)


def test_pubmed_search_with_server_down_is_failed_never_complete(review: Review, httpserver: HTTPServer) -> None:
    """When the very first request fails, a failed run (no records) is stored; a later run completes afresh."""
    fake = FakePubMed(150, date(2019, 1, 1), date(2020, 12, 31))
    down = {"on": True}

    def esearch(request: Request) -> Response:
        return Response("busy", status=503) if down["on"] else fake.esearch(request)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(fake.efetch)
    client = PubMedSearch(email="dev@example.org", api_key="k", base_url=httpserver.url_for("/"), retry=_retry(),
                          batch_size=100)
    with pytest.raises(ReviewkitError):
        search_pubmed(review, client=client)
    (run,) = _runs(review)
    assert run.status == "failed" and run.record_count == 0
    assert review_status(review).identified == 0
    down["on"] = False
    summary = search_pubmed(review, client=client)
    assert not summary.resumed and summary.stored == 150
    assert [r.status for r in _runs(review)] == ["failed", "complete"]
    assert review_status(review).identified_by_source == {"PubMed": 150}


def _studies(n: int) -> list[dict[str, object]]:
    base = json.loads((FIXTURES / "ctgov" / "NCT02210780.json").read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        study = copy.deepcopy(base)
        study["protocolSection"]["identificationModule"]["nctId"] = f"NCT9{i:07d}"
        out.append(study)
    return out


def test_ctgov_search_failing_midway_is_failed_then_resumed(review: Review, httpserver: HTTPServer) -> None:
    """ClinicalTrials.gov pages: a fault after two pages leaves a failed run with them; the resume finishes the set."""
    studies, size = _studies(23), 5
    broken = {"on": True}
    tokens: list[str | None] = []

    def studies_page(request: Request) -> Response:
        token = request.args.get("pageToken")
        tokens.append(token)
        start = int(token[1:]) if token else 0
        if broken["on"] and start >= 2 * size:
            return Response("upstream timeout", status=504)
        body: dict[str, object] = {"studies": studies[start:start + size]}
        if start + size < len(studies):
            body["nextPageToken"] = f"t{start + size}"
        if token is None:
            body["totalCount"] = len(studies)
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v2/studies").respond_with_handler(studies_page)
    client = CtgovSearch(base_url=httpserver.url_for("/api/v2"), retry=_retry(), page_size=size,
                         limiter=RateLimiter(1.0, sleep=lambda s: None))
    with pytest.raises(ReviewkitError):
        search_ctgov(review, client=client)
    (run,) = _runs(review)
    assert run.status == "failed" and run.record_count == 2 * size and run.state["next_token"] == "t10"
    broken["on"] = False
    del tokens[:]
    summary = search_ctgov(review, client=client)
    assert summary.resumed and summary.stored == 23 and summary.new == 23
    assert tokens[0] == "t10"  # resumed from the stored page token, not from the start
    assert [r.status for r in _runs(review)] == ["complete"]
    with session_scope(review.engine) as s:
        ncts = [r.nct_ids[0] for r in s.exec(select(RecordRow))]
    assert sorted(ncts) == sorted(f"NCT9{i:07d}" for i in range(23))
    assert review_status(review).identified_by_source == {"ClinicalTrials.gov": 23}
    assert_consistent(review)

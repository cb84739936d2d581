"""Tests for `reviewkit search` as a user meets its failures: each said with the service, URL and status."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Response

from reviewkit.cli import cli, identify
from reviewkit.services.project import Review
from reviewkit.services.runs import source_runs
from reviewkit.services.search import CTGOV_URL_ENV, PUBMED_URL_ENV
from reviewkit.services.status import review_status
from reviewkit.sources import ctgov, pubmed
from reviewkit.sources.http import RateLimiter, RetryPolicy
from tests.sources.conftest import FakePubMed

PAGE = (Path(__file__).resolve().parents[2] / "fixtures" / "ctgov" / "search_phelan_next_20260811.json").read_text()


@pytest.fixture
def servers(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """Both services on the local server; clients retry twice without waiting."""
    def no_wait() -> RetryPolicy:
        return RetryPolicy(max_attempts=2, sleep=lambda s: None, jitter=lambda: 0.0)

    monkeypatch.setattr(pubmed, "RetryPolicy", no_wait)
    monkeypatch.setattr(ctgov, "RetryPolicy", no_wait)
    monkeypatch.setattr(ctgov, "_SHARED_LIMITER", RateLimiter(1.0, sleep=lambda s: None))
    monkeypatch.setenv(PUBMED_URL_ENV, httpserver.url_for("/"))
    monkeypatch.setenv(CTGOV_URL_ENV, httpserver.url_for("/api/v2"))
    monkeypatch.setenv("NCBI_EMAIL", "dev@example.org")
    return httpserver


def test_pubmed_down_still_searches_ctgov_and_says_both(review: Review, servers: HTTPServer) -> None:
    """PubMed answers 503 every time: ClinicalTrials.gov is searched all the same, PubMed's failure is said
    with its URL, status and what was kept, and the command ends (exit 1) naming the search that did not finish."""
    servers.expect_request("/esearch.fcgi").respond_with_data("Service unavailable", status=503)
    last_page = PAGE.replace('"nextPageToken"', '"unusedToken"')
    servers.expect_request("/api/v2/studies").respond_with_data(last_page, content_type="application/json")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "search"])
    assert result.exit_code == 1
    assert result.stdout.startswith("ClinicalTrials.gov: finished; 5 hits, 5 stored, 5 new (run 2)")
    errors = result.stderr.splitlines()
    assert errors.pop(0) == (f"note: PubMed esearch: HTTP 503 from {servers.url_for('/esearch.fcgi')}: Service "
                             "unavailable; attempt 1 of 2 failed, trying again in under a second")
    assert errors[0] == (f"error: PubMed esearch failed after 2 attempts: HTTP 503 from {servers.url_for('/esearch.fcgi')}: "
                         "Service unavailable (check the connection and try again later; nothing was stored for run 1: "
                         "searching PubMed again starts over)")
    assert errors[-1].startswith("error: 1 of 2 searches did not finish: PubMed (")
    assert "Traceback" not in result.output
    assert review_status(review).identified_by_source == {"ClinicalTrials.gov": 5}


def test_protocol_without_searches_is_said(review: Review) -> None:
    """`search` on a protocol with neither search: an error naming the protocol (it printed nothing, exit 0)."""
    text = review.protocol_path.read_text(encoding="utf-8")
    start, end = text.index("[sources.pubmed]"), text.index("[[sources.other]]")
    review.protocol_path.write_text(text[:start] + text[end:], encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "search"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {review.protocol_path}: the protocol has no PubMed or ClinicalTrials.gov "
                                    "search, so nothing was searched (add [sources.pubmed]")


def test_interrupted_search_is_failed_said_and_resumed(
    review: Review, servers: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the first stored batch: the run is marked failed (it stayed "running" for ever), the user
    is told what was kept (not a bare "Aborted!"), and the next search resumes it."""
    fake = FakePubMed(600, date(2019, 1, 1), date(2020, 12, 31))
    servers.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    servers.expect_request("/efetch.fcgi").respond_with_handler(fake.efetch)

    @contextmanager
    def ctrl_c_after_a_batch(label: str, total: int | None = None) -> Iterator[Callable[..., None]]:
        def update(done: int, total: int | None = None) -> None:
            if done:
                raise KeyboardInterrupt

        yield update

    real_progress_bar = identify.progress_bar
    monkeypatch.setattr(identify, "progress_bar", ctrl_c_after_a_batch)
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "search", "--source", "pubmed"])
    assert result.exit_code == 130
    assert result.stderr == ("error: PubMed search interrupted: the batches stored so far are kept, and searching "
                             "again resumes it\n")
    (run,) = source_runs(review)
    assert (run.status, run.error, run.record_count) == ("failed", "interrupted (KeyboardInterrupt)", 500)
    # Only the Ctrl-C goes: undoing every patch would also drop the review's database URL (PostgreSQL).
    monkeypatch.setattr(identify, "progress_bar", real_progress_bar)
    again = CliRunner().invoke(cli, ["-C", str(review.folder), "search", "--source", "pubmed"])
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("PubMed: resumed and finished; 600 hits, 600 stored, 600 new (run 1)")


def test_a_retry_is_said_before_its_wait(review: Review, servers: HTTPServer) -> None:
    """ClinicalTrials.gov answers 429 once, asking for a pause: the CLI says so on stderr (what failed, the
    status and the wait) before retrying, and the search then finishes as usual."""
    last_page = PAGE.replace('"nextPageToken"', '"unusedToken"')
    answers = iter([Response("Too many requests", status=429, headers={"Retry-After": "7"}),
                    Response(last_page, content_type="application/json")])
    servers.expect_request("/api/v2/studies").respond_with_handler(lambda request: next(answers))
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "search", "--source", "ctgov"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"note: ClinicalTrials.gov search: HTTP 429 from {servers.url_for('/api/v2/studies')}: Too many requests; "
        "attempt 1 of 2 failed, trying again in 7 s"]
    assert result.stdout.startswith("ClinicalTrials.gov: finished; 5 hits, 5 stored, 5 new (run 1)")

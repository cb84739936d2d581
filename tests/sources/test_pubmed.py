"""Tests for PubMedSearch: esearch with history, batched efetch, resume and the 10,000 window."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from reviewkit.errors import ReviewkitError
from reviewkit.sources.http import RetryPolicy
from reviewkit.sources.pubmed import PubMedSearch
from reviewkit.sources.pubmed_plan import DateSlice, SearchPlan

XML = "text/xml"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture_bytes(*parts: str) -> bytes:
    """A file under fixtures/, byte for byte as the service sent it."""
    return FIXTURES.joinpath(*parts).read_bytes()


def params(request: Request) -> dict[str, str]:
    """The query parameters of a recorded GET request."""
    return {k: v for k, v in request.args.items()}


def client(server: HTTPServer, retry: RetryPolicy, **kw: object) -> PubMedSearch:
    """A client pointed at the local server; with an API key Biopython spaces requests 0.1 s."""
    kw.setdefault("api_key", "test-key")
    return PubMedSearch(email="dev@example.org", base_url=server.url_for("/"), retry=retry, **kw)  # type: ignore[arg-type]


def four_record_plan(batch_size: int = 2) -> SearchPlan:
    """A plan for a stored history set of 4 records (served as pubmed1.xml + pubmed2.xml)."""
    return SearchPlan(
        query="q", translation="q[All Fields]", count=4, searched_at="2026-01-01T00:00:00+00:00",
        slices=(DateSlice("", "", 4, "MCID_1", "1"),), batch_size=batch_size,
    )


def serve_four(server: HTTPServer) -> None:
    """efetch answers retstart 0 with pubmed1.xml and retstart 2 with pubmed2.xml."""
    for start, name in ((0, "pubmed1.xml"), (2, "pubmed2.xml")):
        server.expect_request(
            "/efetch.fcgi", query_string={"db": "pubmed", "retmode": "xml", "WebEnv": "MCID_1",
                                          "query_key": "1", "retstart": str(start), "retmax": "2",
                                          "tool": "reviewkit", "email": "dev@example.org",
                                          "api_key": "test-key"},
        ).respond_with_data(fixture_bytes("entrez", name), content_type=XML)


def test_start_records_count_translation_and_history(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """esearch's Count, QueryTranslation, WebEnv and QueryKey end up in a JSON-storable plan."""
    httpserver.expect_request("/esearch.fcgi").respond_with_data(
        fixture_bytes("entrez", "esearch5.xml").replace(
            b"<IdList>", b"<QueryKey>1</QueryKey><WebEnv>MCID_5</WebEnv><IdList>"), content_type=XML)
    plan = client(httpserver, retry).start("stem cells AND hasabstract")
    assert plan.count == 5
    assert plan.translation.startswith('("stem cells"[MeSH Terms] OR')
    assert plan.translation_set[0][0] == "stem cells"
    assert plan.slices == (DateSlice("", "", 5, "MCID_5", "1"),)
    assert SearchPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    sent = params(httpserver.log[0][0])
    assert sent["usehistory"] == "y" and sent["retmax"] == "0"
    assert (sent["tool"], sent["email"], sent["api_key"]) == ("reviewkit", "dev@example.org", "test-key")


def test_zero_hits_keep_pubmeds_messages(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """A zero-hit search (ErrorList/PhraseNotFound) is a plan with no slices and the messages kept."""
    httpserver.expect_request("/esearch.fcgi").respond_with_data(
        fixture_bytes("entrez", "esearch8.xml"), content_type=XML)
    search = client(httpserver, retry)
    plan = search.start("abcXYZ", "2000", "2020")
    assert (plan.count, plan.slices, plan.translation) == (0, (), "(abcXYZ[All Fields])")
    assert plan.warnings == ("PhraseNotFound: abcXYZ", "OutputMessage: No items found.")
    assert list(search.fetch_batches(plan)) == []
    sent = params(httpserver.log[0][0])
    assert (sent["mindate"], sent["maxdate"], sent["datetype"]) == ("2000", "2020", "pdat")


def test_fetch_batches_parses_each_batch(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """Batches come back in order with global offsets, parsed records and progress reports."""
    serve_four(httpserver)
    seen: list[tuple[int, int | None]] = []
    batches = list(client(httpserver, retry).fetch_batches(four_record_plan(),
                                                            progress=lambda d, t: seen.append((d, t))))
    assert [(b.offset, b.next_offset) for b in batches] == [(0, 2), (2, 4)]
    assert [r.pmid for b in batches for r in b.records] == ["12091962", "9997", "11748933", "11700088"]
    assert seen == [(2, 4), (4, 4)]


def test_resume_starts_at_the_stored_offset(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """fetch_batches(plan, start_at=2) asks only for the second batch."""
    serve_four(httpserver)
    batches = list(client(httpserver, retry).fetch_batches(four_record_plan(), start_at=2))
    assert [b.offset for b in batches] == [2]
    assert len(httpserver.log) == 1


def test_missing_email_is_refused() -> None:
    """NCBI requires a contact e-mail; the client refuses to run without one."""
    with pytest.raises(ReviewkitError, match="e-mail"):
        PubMedSearch(email="")


def test_without_key_requests_stay_under_three_per_second(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """Biopython's throttle spaces key-less requests at least 1/3 s apart."""
    stamps: list[float] = []

    def answer(request: Request) -> Response:
        stamps.append(time.monotonic())
        return Response(fixture_bytes("entrez", "esearch8.xml"), content_type=XML)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(answer)
    search = client(httpserver, retry, api_key=None)
    for _ in range(4):
        search.start("abcXYZ")
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert len(stamps) == 4 and min(gaps) >= 0.33
    assert "api_key" not in params(httpserver.log[0][0])


def test_large_search_is_sliced_below_the_window(
    httpserver: HTTPServer, retry: RetryPolicy, fake_pubmed: type
) -> None:
    """25,000 hits split by Entrez date into contiguous slices of fewer than 9,999 each."""
    fake = fake_pubmed(25_000, date(2000, 1, 1), date(2024, 12, 31))
    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    plan = client(httpserver, retry, today=lambda: date(2026, 11, 25)).start("cancer")
    assert plan.count == 25_000
    assert all(0 < s.count < 9_999 for s in plan.slices)
    assert sum(s.count for s in plan.slices) == 25_000 and plan.notes == ()
    for before, after in zip(plan.slices, plan.slices[1:], strict=False):
        assert date.fromisoformat(after.mindate.replace("/", "-")) > date.fromisoformat(
            before.maxdate.replace("/", "-"))
    assert all(s.webenv == f"WE|{s.mindate}|{s.maxdate}" for s in plan.slices)


def test_sliced_search_fetches_every_record_once(
    httpserver: HTTPServer, retry: RetryPolicy, fake_pubmed: type
) -> None:
    """With a server that refuses positions past its window, every record still arrives once."""
    fake = fake_pubmed(450, date(2020, 1, 1), date(2020, 12, 31), window=100)
    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(fake.efetch)
    search = client(httpserver, retry, window=100, batch_size=60)
    plan = search.start("cancer", "2020/01/01", "2020/12/31", datetype="edat")
    pmids = [r.pmid for b in search.fetch_batches(plan) for r in b.records]
    assert sorted(pmids) == sorted(p for p, _ in fake.articles)
    assert len(set(pmids)) == 450
    assert all(start + size <= 100 for _, start, size in fake.efetches)


def test_one_day_over_the_window_is_noted(
    httpserver: HTTPServer, retry: RetryPolicy, fake_pubmed: type
) -> None:
    """A single Entrez day above the window is kept, capped, with a note saying how to fix it."""
    fake = fake_pubmed(30, date(2021, 3, 4), date(2021, 3, 4), window=10)
    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    plan = client(httpserver, retry, window=10, today=lambda: date(2021, 3, 4)).start(
        "x", "2021/03/04", "2021/03/04", datetype="edat")
    assert [(s.mindate, s.count) for s in plan.slices] == [("2021/03/04", 30)]
    assert "narrow the query" in plan.notes[0]


def test_long_query_is_posted(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """A query longer than 1,000 encoded characters goes as a form POST (Biopython's rule)."""
    httpserver.expect_request("/esearch.fcgi", method="POST").respond_with_data(
        fixture_bytes("entrez", "esearch8.xml"), content_type=XML)
    query = " OR ".join(f"term{i}[tiab]" for i in range(120))
    plan = client(httpserver, retry).start(query)
    request = httpserver.log[0][0]
    assert plan.query == query and request.method == "POST"
    assert request.form["term"] == query and request.form["email"] == "dev@example.org"

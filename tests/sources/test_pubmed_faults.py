"""Fault tests for PubMedSearch: each fault ends in a retry and success, or a clear NetworkError."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from reviewkit.errors import NetworkError
from reviewkit.sources.http import RetryPolicy
from reviewkit.sources.pubmed import PubMedSearch
from reviewkit.sources.pubmed_plan import DateSlice, FetchedBatch, SearchPlan
from tests.sources.conftest import params

XML = "text/xml"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PUBMED1 = (FIXTURES / "entrez" / "pubmed1.xml").read_bytes()
PUBMED2 = (FIXTURES / "entrez" / "pubmed2.xml").read_bytes()
ESEARCH2 = (FIXTURES / "entrez" / "esearch2.xml").read_bytes()
RATE_LIMIT_BODY = (FIXTURES / "entrez" / "esummary_error_rate_limit.json").read_bytes()
EXPIRED = b'<?xml version="1.0"?>\n<eFetchResult>\n\t<ERROR>Unable to obtain query #1</ERROR>\n</eFetchResult>\n'
BACKEND = (b'<?xml version="1.0"?><eFetchResult><ERROR>Search Backend failed: '
           b"Couldn't resolve #exPrv1, the address table is empty.</ERROR></eFetchResult>")


def client(server: HTTPServer, retry: RetryPolicy) -> PubMedSearch:
    """A keyed client (Biopython spaces requests 0.1 s) pointed at the local server."""
    return PubMedSearch(email="dev@example.org", api_key="k", base_url=server.url_for("/"),
                        retry=retry)


def plan_of(count: int = 2, batch_size: int = 2) -> SearchPlan:
    """A stored plan: one history set of `count` records."""
    return SearchPlan(query="biopython", translation="biopython[All Fields]", count=count,
                      searched_at="2026-01-01T00:00:00+00:00",
                      slices=(DateSlice("", "", count, "MCID_1", "1"),), batch_size=batch_size)


def fetch_all(search: PubMedSearch, plan: SearchPlan) -> list[FetchedBatch]:
    return list(search.fetch_batches(plan))


def efetch_sequence(server: HTTPServer, *responders: Callable[[Request], Response] | bytes) -> None:
    """efetch answers with each responder in turn (bytes are a 200 text/xml body)."""
    for item in responders:
        handler = server.expect_ordered_request("/efetch.fcgi")
        if isinstance(item, bytes):
            handler.respond_with_data(item, content_type=XML)
        else:
            handler.respond_with_handler(item)


def test_429_honours_retry_after(httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]) -> None:
    """A 429 with NCBI's JSON body and Retry-After: 7 pauses 7 s, then the batch succeeds."""
    efetch_sequence(httpserver, lambda r: Response(RATE_LIMIT_BODY, status=429,
                                                   headers={"Retry-After": "7"},
                                                   content_type="application/json"), PUBMED1)
    batches = fetch_all(client(httpserver, retry), plan_of())
    assert sleeps == [7.0]
    assert [r.pmid for r in batches[0].records] == ["12091962", "9997"]


@pytest.mark.parametrize("fault", ["500", "drop", "cut_short", "truncated_xml", "error_element", "html",
                                   "latin1_text"])
def test_transient_fault_is_retried(
    httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float], faults: dict, fault: str
) -> None:
    """500, a dropped connection, a body cut short, truncated XML, <ERROR>, HTML, or a plain-text page that is
    not UTF-8 (which Biopython's text reader raised on, a traceback): retry, succeed."""
    responder = {
        "latin1_text": lambda r: Response("Erreur: service indisponible, réessayez".encode("latin-1"),
                                          content_type="text/plain; charset=iso-8859-1"),
        "500": lambda r: Response("WWW Error 500 Diagnostic", status=500),
        "drop": faults["drop"],
        "cut_short": faults["cut_short"](PUBMED1, XML),
        "truncated_xml": PUBMED1[: len(PUBMED1) // 2],
        "error_element": BACKEND,
        "html": (FIXTURES / "entrez" / "pubmed3.html").read_bytes(),
    }[fault]
    efetch_sequence(httpserver, responder, PUBMED1)
    batches = fetch_all(client(httpserver, retry), plan_of())
    assert len(batches) == 1 and len(batches[0].records) == 2
    assert sleeps == [0.5]  # first backoff step: base 1.0 * 2**0, half fixed, no jitter


def test_persistent_error_element_becomes_network_error(
    httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]
) -> None:
    """<ERROR> on every attempt: a NetworkError quoting NCBI's message after 4 attempts."""
    httpserver.expect_request("/efetch.fcgi").respond_with_data(BACKEND, content_type=XML)
    with pytest.raises(NetworkError, match="after 4 attempts.*address table is empty"):
        fetch_all(client(httpserver, retry), plan_of())
    assert sleeps == [0.5, 1.0, 2.0]


def test_failed_batch_is_never_reported_done(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """Batch 1 arrives; batch 2 only ever truncated: the iterator stops with NetworkError after batch 1."""
    efetch_sequence(httpserver, PUBMED1, *[PUBMED2[:3000]] * 4)
    done: list[FetchedBatch] = []
    with pytest.raises(NetworkError, match="records 3–4.*malformed XML"):
        for batch in client(httpserver, retry).fetch_batches(plan_of(count=4)):
            done.append(batch)
    assert [(b.offset, b.next_offset) for b in done] == [(0, 2)]


def test_client_error_is_not_retried(httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]) -> None:
    """A 400 is the request's fault: NetworkError at once, no retries."""
    httpserver.expect_request("/esearch.fcgi").respond_with_data("Bad Request", status=400)
    with pytest.raises(NetworkError, match="HTTP 400"):
        client(httpserver, retry).start("x")
    assert sleeps == [] and len(httpserver.log) == 1


def test_esearch_rate_limit_then_success(httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]) -> None:
    """esearch too: a 429 (no Retry-After) backs off, then the search is planned."""
    httpserver.expect_ordered_request("/esearch.fcgi").respond_with_data(
        RATE_LIMIT_BODY, status=429, content_type="application/json")
    httpserver.expect_ordered_request("/esearch.fcgi").respond_with_data(
        ESEARCH2.replace(b"<Count>42249</Count>", b"<Count>100</Count>"), content_type=XML)
    plan = client(httpserver, retry).start("q")
    assert plan.slices == (DateSlice("", "", 100, "MCID_6927d6e7fee3e90f880ec190", "1"),)
    assert sleeps == [0.5]


def fixture_articles(*names: str) -> dict[str, bytes]:
    """The PubmedArticle elements of efetch fixtures, by PMID, byte for byte."""
    out: dict[str, bytes] = {}
    for name in names:
        for article in re.findall(rb"<PubmedArticle>.*?</PubmedArticle>", (FIXTURES / "entrez" / name).read_bytes(),
                                  re.DOTALL):
            pmid = re.search(rb"<PMID[^>]*>(\d+)</PMID>", article)
            assert pmid is not None
            out[pmid[1].decode()] = article
    return out


def article_set(held: dict[str, bytes], pmids: list[str]) -> bytes:
    """efetch's answer for an id= list: the articles it holds, in the order asked, others left out."""
    return (b'<?xml version="1.0" ?>\n<PubmedArticleSet>\n'
            + b"\n".join(held[p] for p in pmids if p in held) + b"\n</PubmedArticleSet>\n")


def esearch_listing(pmids: list[str]) -> bytes:
    """esearch2.xml (a real answer) with its Count and IdList replaced by these PMIDs."""
    ids = b"".join(b"<Id>%s</Id>\n" % p.encode() for p in pmids)
    body = ESEARCH2.replace(b"<Count>42249</Count>", b"<Count>%d</Count>" % len(pmids))
    body = body.replace(b"<RetMax>100</RetMax>", b"<RetMax>%d</RetMax>" % len(pmids))
    return re.sub(rb"<IdList>.*</IdList>", b"<IdList>\n" + ids + b"</IdList>", body, flags=re.DOTALL)


def pubmed_by_id(server: HTTPServer, held: dict[str, bytes], offsets: dict[int, bytes]) -> list[list[str]]:
    """efetch answers retstart N with offsets[N] and id= lists from `held`; returns the id lists asked."""
    asked: list[list[str]] = []

    def efetch(request: Request) -> Response:
        args = params(request)
        if "id" in args:
            asked.append(args["id"].split(","))
            return Response(article_set(held, asked[-1]), content_type=XML)
        return Response(offsets[int(args["retstart"])], content_type=XML)

    server.expect_request("/efetch.fcgi").respond_with_handler(efetch)
    return asked


def test_expired_history_on_resume_fetches_the_rest_by_pmid(httpserver: HTTPServer, retry: RetryPolicy) -> None:
    """Resumed at offset 2 with the set expired: one esearch lists the slice's PMIDs and only the two not
    stored yet are fetched, by PMID; the slice is marked so a later resume does the same."""
    held = fixture_articles("pubmed1.xml", "pubmed2.xml")
    asked = pubmed_by_id(httpserver, held, {2: EXPIRED})
    httpserver.expect_request("/esearch.fcgi").respond_with_data(
        esearch_listing(["12091962", "9997", "11748933", "11700088"]), content_type=XML)
    batches = list(client(httpserver, retry).fetch_batches(
        plan_of(count=4), start_at=2, known_pmids={"12091962", "9997"}))
    assert [(b.offset, b.next_offset) for b in batches] == [(2, 4)]
    assert [r.pmid for r in batches[0].records] == ["11748933", "11700088"]
    assert asked == [["11748933", "11700088"]]
    assert batches[0].plan.slices[0].by_id and batches[0].plan.slices[0].count == 4
    assert "expired after 2 of 4" in batches[0].notes[0]
    assert "2 already stored for this run, 2 to fetch" in batches[0].notes[0]
    assert batches[0].notes[1].endswith("fetched 2 of 2 records by PMID")  # nothing gone
    esearch = next(r for r, _ in httpserver.log if r.path == "/esearch.fcgi")
    assert esearch.args["retmax"] == "9999" and "usehistory" not in esearch.args


def test_expired_history_with_a_changed_set_stores_every_pmid_once(
    httpserver: HTTPServer, retry: RetryPolicy
) -> None:
    """The set expires after batch 1; searched again, PubMed lists it in another order with one record added
    (29963580) and one removed (9997, fetched in batch 1): the rest is fetched by PMID, each current PMID
    arrives exactly once, and the notes say what was stored, fetched and is gone."""
    held = fixture_articles("pubmed1.xml", "pubmed2.xml", "pubmed7.xml")
    asked = pubmed_by_id(httpserver, held, {0: PUBMED1, 2: EXPIRED})
    now = ["11700088", "29963580", "11748933", "12091962"]
    httpserver.expect_request("/esearch.fcgi").respond_with_data(esearch_listing(now), content_type=XML)
    batches = list(client(httpserver, retry).fetch_batches(plan_of(count=4)))
    pmids = [r.pmid for b in batches for r in b.records]
    assert pmids == ["12091962", "9997", "11700088", "29963580", "11748933"]  # each once, the new one too
    assert asked == [["11700088", "29963580"], ["11748933"]]  # 12091962 is not fetched again
    assert [(b.offset, b.next_offset) for b in batches] == [(0, 2), (2, 3), (3, 4)]
    notes = [n for b in batches for n in b.notes]
    assert notes[0].endswith("1 already stored for this run, 3 to fetch; "
                             "PubMed no longer returns 1 of the records fetched before: 9997")
    assert notes[1].endswith("fetched 3 of 3 records by PMID")
    assert batches[-1].plan.notes == tuple(notes)  # kept in the stored plan for the search report


def test_stalled_server_times_out(httpserver: HTTPServer, sleeps: list[float]) -> None:
    """A server that never answers in time is a transient failure, then a NetworkError."""
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(5)  # well past the client's timeout; let go once the client gave up
        return Response(PUBMED1, content_type=XML)

    httpserver.expect_request("/efetch.fcgi").respond_with_handler(stall)
    search = PubMedSearch(email="dev@example.org", api_key="k", base_url=httpserver.url_for("/"),
                          retry=RetryPolicy(max_attempts=2, sleep=sleeps.append), timeout=0.2)
    with pytest.raises(NetworkError, match="after 2 attempts.*timed out"):
        fetch_all(search, plan_of())
    release.set()
    # The stalled answers are logged when they end: waited for here, or they land in the next test's
    # server log (a test reading log[0] then found this efetch instead of its own esearch).
    deadline = time.monotonic() + 5
    while len(httpserver.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)


def test_errors_name_the_url_and_status_but_never_the_api_key(
    httpserver: HTTPServer, retry: RetryPolicy, sleeps: list[float]
) -> None:
    """NCBI's 429 body echoes the caller's key; the message, printed and stored with the failed run, names
    the service, the E-utility's URL and the status, and blanks the key out."""
    echoed = b'{"error":"API rate limit exceeded","api-key":"s3cr3tKEY","count":"11","limit":"10"}'
    httpserver.expect_request("/efetch.fcgi").respond_with_data(echoed, status=429,
                                                                content_type="application/json")
    search = PubMedSearch(email="dev@example.org", api_key="s3cr3tKEY", base_url=httpserver.url_for("/"),
                          retry=retry)
    with pytest.raises(NetworkError) as caught:
        fetch_all(search, plan_of())
    message = str(caught.value)
    assert message.startswith("PubMed efetch records 1–2 failed after 4 attempts: HTTP 429 from "
                              f"{httpserver.url_for('/efetch.fcgi')}: ")
    assert "API rate limit exceeded" in message and "s3cr3tKEY" not in message


def test_refused_connection_names_the_url(retry: RetryPolicy, sleeps: list[float]) -> None:
    """Nothing listening: the message says which URL refused, in words, after the retries."""
    with socket.socket() as probe:  # a port just freed: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    search = PubMedSearch(email="dev@example.org", api_key="k", base_url=f"http://127.0.0.1:{port}/",
                          retry=retry)
    with pytest.raises(NetworkError, match=rf"PubMed esearch failed after 4 attempts: connection to "
                                           rf"http://127\.0\.0\.1:{port}/esearch\.fcgi failed: .*Connection refused"):
        search.start("x")
    assert len(sleeps) == 3

"""Tests for the search service: batches stored as they come, resume after a failure, re-runs add only new records."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import select
from werkzeug import Request, Response

from reviewkit.errors import NetworkError, ReviewkitError
from reviewkit.services.project import Review, open_review
from reviewkit.services.runs import run_notes
from reviewkit.services.search import search_ctgov, search_pubmed
from reviewkit.services.status import review_status
from reviewkit.sources.ctgov import CtgovSearch
from reviewkit.sources.http import RateLimiter, RetryPolicy
from reviewkit.sources.pubmed import PubMedSearch
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AuditEventRow, RecordRow, RecordSourceRow, SourceRunRow
from tests.conftest import FIXTURES
from tests.sources.conftest import FakePubMed


def _retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, sleep=lambda s: None, jitter=lambda: 0.0)


def _pubmed(server: HTTPServer) -> PubMedSearch:
    return PubMedSearch(email="dev@example.org", base_url=server.url_for("/"), retry=_retry(), batch_size=200)


def _runs(review: Review) -> list[SourceRunRow]:
    with session_scope(review.engine) as s:
        return list(s.exec(select(SourceRunRow).order_by(SourceRunRow.id)))


def _pmids(review: Review) -> list[str]:
    with session_scope(review.engine) as s:
        return sorted(s.exec(select(RecordRow.pmid)))  # type: ignore[arg-type]


def test_pubmed_search_stored_with_translation_and_count(review: Review, httpserver: HTTPServer) -> None:
    """Every record of the search is stored once; the run keeps query, translation and count."""
    fake = FakePubMed(450, date(2019, 1, 1), date(2020, 12, 31))
    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(fake.efetch)
    summary = search_pubmed(review, actor="alice", client=_pubmed(httpserver))
    assert (summary.count, summary.stored, summary.new, summary.resumed) == (450, 450, 450, False)
    (run,) = _runs(review)
    assert run.status == "complete" and run.total_count == 450
    assert run.query == review.protocol.sources.pubmed.query  # type: ignore[union-attr]
    assert run.query_translation == "cancer[All Fields]"
    assert len(set(_pmids(review))) == 450
    assert review_status(review).identified_by_source == {"PubMed": 450}


def test_interrupted_search_resumes_from_last_stored_batch(review: Review, httpserver: HTTPServer) -> None:
    """A search failing mid-way is stored as failed with its batches, and the error says what was kept;
    the next run resumes it."""
    fake = FakePubMed(450, date(2019, 1, 1), date(2020, 12, 31))
    calls = {"n": 0}

    def flaky(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] >= 2 and not calls.get("healed"):
            return Response("busy", status=503)
        return fake.efetch(request)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(flaky)
    with pytest.raises(NetworkError, match=r"records 201–400 failed after 2 attempts: HTTP 503 .*200 of 450 records "
                                           r"are stored for run 1 and kept: searching PubMed again resumes from there"):
        search_pubmed(review, client=_pubmed(httpserver))
    (run,) = _runs(review)
    assert run.status == "failed" and run.record_count == 200 and run.state["next_offset"] == 200
    assert review_status(review).identified_by_source == {"PubMed": 200}
    calls["healed"] = True
    summary = search_pubmed(review, client=_pubmed(httpserver))
    assert summary.resumed and summary.stored == 450
    assert len(fake.esearches) == 1  # the stored plan was reused, not searched again
    (run,) = _runs(review)
    assert run.status == "complete"
    assert _pmids(review) == sorted(p for p, _ in fake.articles)


def test_rerun_adds_only_new_records(review: Review, httpserver: HTTPServer) -> None:
    """Running the search again later links the records it knows and adds only the new ones."""
    fake = FakePubMed(300, date(2019, 1, 1), date(2020, 12, 31))
    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(fake.efetch)
    search_pubmed(review, client=_pubmed(httpserver))
    fake.articles += [(str(40_000_000 + i), date(2021, 1, 1)) for i in range(25)]
    summary = search_pubmed(review, client=_pubmed(httpserver))
    assert (summary.stored, summary.new) == (325, 25)
    first, second = _runs(review)
    assert second.previous_run_id == first.id and second.new_record_count == 25
    assert len(_pmids(review)) == 325
    with session_scope(review.engine) as s:
        assert len(s.exec(select(RecordSourceRow).where(RecordSourceRow.run_id == second.id)).all()) == 325
    assert review_status(review).identified == 325


def _ctgov_pages(server: HTTPServer) -> None:
    page1 = (FIXTURES / "ctgov" / "search_phelan_limit5_20260811.json").read_text()
    page2 = (FIXTURES / "ctgov" / "search_phelan_next_20260811.json").read_text()
    token = json.loads(page1)["nextPageToken"]
    last = json.loads(page2)
    last.pop("nextPageToken", None)

    def answer(request: Request) -> Response:
        body = page2 if request.args.get("pageToken") == token else page1
        if request.args.get("pageToken") and request.args.get("pageToken") != token:
            body = json.dumps(last)
        if request.args.get("pageToken") == json.loads(page2).get("nextPageToken"):
            body = json.dumps(last)
        return Response(body, content_type="application/json")

    server.expect_request("/api/v2/studies").respond_with_handler(answer)


def test_ctgov_search_stores_registry_records(review: Review, httpserver: HTTPServer) -> None:
    """Each study is a registry record with its NCT id and full JSON; a re-run adds nothing new."""
    _ctgov_pages(httpserver)
    client = CtgovSearch(base_url=httpserver.url_for("/api/v2"), retry=_retry(),
                         limiter=RateLimiter(1.0, sleep=lambda s: None))
    summary = search_ctgov(review, client=client)
    assert summary.stored > 0 and summary.new > 0
    with session_scope(review.engine) as s:
        rows = s.exec(select(RecordRow)).all()
    assert {r.kind for r in rows} == {"registry"}
    assert all(r.nct_ids and r.nct_ids[0].startswith("NCT") for r in rows)
    assert all(json.loads(r.raw)["protocolSection"] for r in rows)
    again = search_ctgov(review, client=client)
    assert again.new == 0 and again.stored == summary.stored
    status = review_status(review)
    assert status.identified_by_source == {"ClinicalTrials.gov": len({r.nct_ids[0] for r in rows})}


def test_protocol_without_source_is_refused(tmp_path: Path) -> None:
    """A protocol without [sources.pubmed] gives a clear error naming the protocol file."""
    from reviewkit.errors import ReviewkitError
    from reviewkit.services.project import EXAMPLE_PROTOCOL, init_review

    text = EXAMPLE_PROTOCOL.read_text().replace("[sources.pubmed]\nquery =", "[sources.x]\nquery =")
    (tmp_path / "p.toml").write_text(text.replace("[sources.x]\nquery = ", "#"))
    review = init_review(tmp_path / "r", tmp_path / "p.toml")
    with pytest.raises(ReviewkitError, match="no PubMed search"):
        search_pubmed(open_review(review.folder))


def test_resumed_search_with_expired_history_fetches_only_missing_pmids(
    review: Review, httpserver: HTTPServer
) -> None:
    """A run fails after 200 of 450 records; hours later the history set has expired and PubMed changed (one
    stored record and one unfetched removed, one added). The resume lists the slice's PMIDs and fetches only
    the 250 missing ones by PMID (200 POSTed); it fails again after one such batch, and the next resume
    fetches only the last 50. Every current PMID is stored once for the run, none twice, none lost."""
    fake = FakePubMed(450, date(2019, 1, 1), date(2020, 12, 31))
    broken = {"offset": True, "ids": False}
    id_calls = {"n": 0}

    def efetch(request: Request) -> Response:
        if "id" in request.values:
            id_calls["n"] += 1
            if broken["ids"] and id_calls["n"] >= 2:
                return Response("busy", status=503)
        elif broken["offset"] and int(request.values["retstart"]) >= 200:
            return Response("busy", status=503)
        return fake.efetch(request)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(efetch)
    with pytest.raises(NetworkError):
        search_pubmed(review, client=_pubmed(httpserver))
    first = set(_pmids(review))
    assert len(first) == 200 and _runs(review)[0].state["next_offset"] == 200

    fake.expired, broken["offset"], broken["ids"] = True, False, True
    fake.articles.remove(("30000005", fake.articles[5][1]))  # stored already
    fake.articles.remove(("30000300", fake.articles[299][1]))  # never fetched
    fake.articles.insert(100, ("40000000", date(2019, 7, 1)))  # new, shifts every offset after it
    current = {p for p, _ in fake.articles}
    with pytest.raises(NetworkError, match="efetch by PMID"):
        search_pubmed(review, client=_pubmed(httpserver))
    (run,) = _runs(review)
    assert run.record_count == 400 and run.state["plan"]["slices"][0]["by_id"]

    broken["ids"] = False
    summary = search_pubmed(review, client=_pubmed(httpserver))
    assert summary.resumed and (summary.stored, summary.new) == (450, 450)
    asked = [p for _, ids in fake.id_fetches for p in ids]
    assert sorted(asked) == sorted(current - first)  # only the missing PMIDs, each asked once
    assert [(method, len(ids)) for method, ids in fake.id_fetches] == [("POST", 200), ("GET", 50)]
    assert "30000300" not in asked and "40000000" in asked
    assert _pmids(review) == sorted(current | {"30000005"})  # the removed one stays stored
    with session_scope(review.engine) as s:
        links = s.exec(select(RecordSourceRow.record_id).where(RecordSourceRow.run_id == run.id)).all()
    assert len(links) == len(set(links)) == 450
    assert any("199 already stored for this run, 250 to fetch; PubMed no longer returns 1 of the records "
               "fetched before" in n for n in summary.notes)
    assert any("resumed fetching by PMID" in n and "399 already stored for this run, 50 to fetch" in n
               for n in summary.notes)
    assert summary.notes[-1].endswith("fetched 50 of 50 records by PMID")
    (run,) = _runs(review)
    assert run.status == "complete"
    # The notes are kept with the run, each once, across the three processes that ran it.
    assert run_notes(review, run.id) == list(summary.notes)


def test_pubmeds_messages_about_the_query_are_told(review: Review, httpserver: HTTPServer) -> None:
    """PubMed's ErrorList (a phrase it did not find, so searched without) and WarningList reach the summary
    the CLI and the sources screen print, not only the stored plan."""
    httpserver.expect_request("/esearch.fcgi").respond_with_data(
        (FIXTURES / "entrez" / "esearch8.xml").read_bytes(), content_type="text/xml")
    summary = search_pubmed(review, client=_pubmed(httpserver))
    assert (summary.count, summary.stored) == (0, 0)
    assert summary.notes == (
        "PubMed says PhraseNotFound: abcXYZ; that part of the query was not searched as written "
        "(compare the translation PubMed searched)",
        "PubMed says OutputMessage: No items found.",
    )
    assert run_notes(review, summary.run_id) == list(summary.notes)  # a search that stored nothing too


def test_ctgov_study_moved_to_a_later_page_is_stored_once(review: Review, httpserver: HTTPServer) -> None:
    """Page 2 fails and the run stops with page 1 stored; by the resume the registry has changed, and page 2
    now repeats page 1's last study. The run stores each study once (one link, counted once), and the
    summary says what happened to the count."""
    page1 = json.loads((FIXTURES / "ctgov" / "search_phelan_limit5_20260811.json").read_text())
    page2 = json.loads((FIXTURES / "ctgov" / "search_phelan_next_20260811.json").read_text())
    page2.pop("nextPageToken")
    page2["studies"] = [page1["studies"][-1], *page2["studies"][:-1]]
    broken = {"page2": True}

    def answer(request: Request) -> Response:
        if not request.args.get("pageToken"):
            return Response(json.dumps(page1), content_type="application/json")
        if broken["page2"]:
            return Response("Bad Gateway", status=502)
        return Response(json.dumps(page2), content_type="application/json")

    httpserver.expect_request("/api/v2/studies").respond_with_handler(answer)
    client = CtgovSearch(base_url=httpserver.url_for("/api/v2"), retry=_retry(),
                         limiter=RateLimiter(1.0, sleep=lambda s: None))
    with pytest.raises(NetworkError, match="next page"):
        search_ctgov(review, client=client)
    broken["page2"] = False
    summary = search_ctgov(review, client=client)
    assert summary.resumed and (summary.count, summary.stored, summary.new) == (21, 9, 9)
    (run,) = _runs(review)
    assert run.status == "complete" and run.record_count == 9
    with session_scope(review.engine) as s:
        links = s.exec(select(RecordSourceRow.record_id).where(RecordSourceRow.run_id == run.id)).all()
    assert len(links) == len(set(links)) == 9
    assert review_status(review).identified_by_source == {"ClinicalTrials.gov": 9}
    assert summary.notes == (
        "ClinicalTrials.gov listed 1 of the studies twice while paging (the registry changed meanwhile); "
        "each is stored once",
        "ClinicalTrials.gov counted 21 studies when the search began and 9 arrived: the registry changed while "
        "the search paged; searching again brings any it missed",
    )
    assert run_notes(review, run.id) == list(summary.notes)  # kept with the run


def test_a_second_process_cannot_run_a_search_already_running(review: Review, httpserver: HTTPServer) -> None:
    """While a PubMed search stores its batches, a second one (the TUI and the CLI at once, or another
    machine) is refused at once, naming the search, instead of resuming the same run and storing its batches
    twice; ClinicalTrials.gov can still be searched meanwhile; once the first ends the lock is gone."""
    fake = FakePubMed(450, date(2019, 1, 1), date(2020, 12, 31))
    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(fake.efetch)
    _ctgov_pages(httpserver)
    ctgov = CtgovSearch(base_url=httpserver.url_for("/api/v2"), retry=_retry(),
                        limiter=RateLimiter(1.0, sleep=lambda s: None))
    refused: list[str] = []
    others: list[int] = []

    def meanwhile(done: int, total: int | None = None) -> None:
        if done and not refused:  # the first batch is stored and the search goes on
            with pytest.raises(ReviewkitError) as exc:
                search_pubmed(review, client=_pubmed(httpserver))
            refused.append(str(exc.value))
            others.append(search_ctgov(review, client=ctgov).stored)

    summary = search_pubmed(review, client=_pubmed(httpserver), progress=meanwhile)
    assert refused == ["another reviewkit process is running the PubMed search of this review now (wait for it "
                       "to finish (reviewkit sources shows its run); searching again then adds only what is new)"]
    assert others and others[0] > 0
    assert (summary.stored, summary.new) == (450, 450)
    pubmed_runs = [run for run in _runs(review) if run.source == "PubMed"]
    assert len(pubmed_runs) == 1 and pubmed_runs[0].record_count == 450
    again = search_pubmed(review, client=_pubmed(httpserver))  # released: a re-run finds nothing new
    assert (again.stored, again.new) == (450, 0)


def test_restart_abandons_a_run_that_cannot_resume(review: Review, httpserver: HTTPServer) -> None:
    """A ClinicalTrials.gov run stopped at page 2 whose page token the registry now refuses (400) fails the
    same way at every resume; --restart closes it as abandoned (audited, its records kept, never resumed
    again) and a new run pages from the start, re-finding the stored studies rather than adding them twice."""
    page1 = json.loads((FIXTURES / "ctgov" / "search_phelan_limit5_20260811.json").read_text())
    page2 = json.loads((FIXTURES / "ctgov" / "search_phelan_next_20260811.json").read_text())
    page2.pop("nextPageToken")
    token_refused = {"yes": False}

    def answer(request: Request) -> Response:
        if not request.args.get("pageToken"):
            return Response(json.dumps(page1), content_type="application/json")
        if token_refused["yes"]:
            return Response('{"message": "invalid pageToken"}', status=400, content_type="application/json")
        return Response("Bad Gateway", status=502)

    httpserver.expect_request("/api/v2/studies").respond_with_handler(answer)
    client = CtgovSearch(base_url=httpserver.url_for("/api/v2"), retry=_retry(),
                         limiter=RateLimiter(1.0, sleep=lambda s: None))
    with pytest.raises(NetworkError):
        search_ctgov(review, client=client)
    token_refused["yes"] = True
    with pytest.raises(NetworkError, match="refused the request: HTTP 400"):
        search_ctgov(review, client=client)  # resumes at the stored token, and is refused again
    (stuck,) = _runs(review)
    assert (stuck.status, stuck.record_count) == ("failed", 5)

    page1_only = {**page1}
    page1_only.pop("nextPageToken")
    httpserver.clear()
    httpserver.expect_request("/api/v2/studies").respond_with_json(page1_only)
    summary = search_ctgov(review, client=client, actor="alice", restart=True)
    assert not summary.resumed and (summary.stored, summary.new) == (5, 0)
    old, new = _runs(review)
    assert (old.status, old.error) == ("abandoned", "abandoned: the search was started over by alice")
    assert old.record_count == 5 and new.status == "complete"
    assert review_status(review).identified_by_source == {"ClinicalTrials.gov": 5}
    again = search_ctgov(review, client=client)  # an abandoned run is never resumed
    assert not again.resumed and len(_runs(review)) == 3
    with session_scope(review.engine) as s:
        events = s.exec(select(AuditEventRow).where(AuditEventRow.action == "abandon")).all()
    assert [(e.actor, e.entity_id, e.old["status"]) for e in events] == [("alice", old.id, "failed")]


def test_prisma_warns_while_a_search_is_partly_stored(review: Review, httpserver: HTTPServer) -> None:
    """A search that failed after some batches has them counted in Records identified: the PRISMA report says
    that count is partial until the search is resumed, then says nothing more."""
    from reviewkit.services.report import prisma_counts, reason_warnings

    fake = FakePubMed(450, date(2019, 1, 1), date(2020, 12, 31))
    healed = {"now": False}

    def flaky(request: Request) -> Response:
        if not healed["now"] and int(request.args.get("retstart", 0)) >= 200:
            return Response("busy", status=503)
        return fake.efetch(request)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(flaky)
    with pytest.raises(NetworkError):
        search_pubmed(review, client=_pubmed(httpserver))
    report = prisma_counts(review)
    assert dict(report.counts.databases) == {"PubMed": 200}
    assert reason_warnings(report) == (
        "the PubMed search (run 1) did not finish: 200 of 450 records stored so far, all counted in Records "
        "identified; search again to resume it (reviewkit search)",)
    healed["now"] = True
    search_pubmed(review, client=_pubmed(httpserver))
    report = prisma_counts(review)
    assert dict(report.counts.databases) == {"PubMed": 450} and reason_warnings(report) == ()

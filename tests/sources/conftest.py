"""Shared helpers for the sources tests: a no-wait retry policy, fault responders, a fake PubMed."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import parse_qs

import pytest
from werkzeug import Request, Response

from reviewkit.sources.http import RetryPolicy

Handler = Callable[[Request], Response]


@pytest.fixture
def sleeps() -> list[float]:
    """Every pause a client asked for, instead of sleeping."""
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    """A retry policy that records its pauses and never waits; 4 attempts, no jitter."""
    return RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0, sleep=sleeps.append,
                       jitter=lambda: 0.0)


def drop_connection(request: Request) -> Response:
    """Close the socket without answering, as a dropped connection does."""
    sock = request.environ["werkzeug.socket"]
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    return Response(b"")


def cut_short(body: bytes, content_type: str) -> Handler:
    """Answer with half the body but the full Content-Length: the connection ends mid-body."""

    def handler(request: Request) -> Response:
        return Response(body[: len(body) // 2], content_type=content_type,
                        headers={"Content-Length": str(len(body))})

    return handler


def params(request: Request) -> dict[str, str]:
    """The request's parameters, from the query string or a form-encoded POST body."""
    values = {k: v[-1] for k, v in parse_qs(request.query_string.decode()).items()}
    if request.method == "POST":
        values.update({k: v[-1] for k, v in parse_qs(request.get_data(as_text=True)).items()})
    return values


_EDAT_RE = re.compile(r"^\((?P<query>.*)\) AND (?P<low>[\d/]+):(?P<high>[\d/]+)\[edat\]$")


#: NCBI's answer to an efetch from a history set it no longer holds.
EXPIRED = b'<?xml version="1.0"?>\n<eFetchResult>\n\t<ERROR>Unable to obtain query #1</ERROR>\n</eFetchResult>\n'


class FakePubMed:
    """E-utilities over `n` synthetic articles with spread Entrez dates, enforcing the window.

    esearch understands "(q) AND a:b[edat]" and answers with a WebEnv naming the date range, and
    lists the range's PMIDs when asked for retmax > 0; efetch refuses retstart + retmax past the
    window with PubMed's real error text, answers NCBI's "Unable to obtain query" once `expired`
    is set, and fetches by `id=` (GET or POST) the listed PMIDs it holds.
    """

    def __init__(self, n: int, first: date, last: date, window: int = 9_999) -> None:
        span = (last - first).days
        self.articles = [(str(30_000_000 + i), first + timedelta(days=span * i // max(n - 1, 1)))
                         for i in range(n)]
        self.window = window
        self.expired = False
        self.esearches: list[tuple[str, str]] = []
        self.efetches: list[tuple[str, int, int]] = []
        self.id_fetches: list[tuple[str, list[str]]] = []  # (HTTP method, PMIDs asked for)

    def _in(self, low: str, high: str) -> list[str]:
        lo, hi = _parse(low), _parse(high)
        return [pmid for pmid, day in self.articles if lo <= day <= hi]

    def esearch(self, request: Request) -> Response:
        """Count the articles in the term's Entrez-date range; put them on the 'history server'."""
        args = params(request)
        match = _EDAT_RE.match(args["term"])
        low, high = (match["low"], match["high"]) if match else ("1000/01/01", "9999/12/31")
        self.esearches.append((low, high))
        found = self._in(low, high)
        listed = found[: int(args.get("retmax", 20))]
        ids = "".join(f"<Id>{p}</Id>" for p in listed)
        body = (
            '<?xml version="1.0" encoding="UTF-8" ?>\n<eSearchResult>'
            f"<Count>{len(found)}</Count><RetMax>{len(listed)}</RetMax><RetStart>0</RetStart>"
            f"<QueryKey>1</QueryKey><WebEnv>WE|{low}|{high}</WebEnv><IdList>{ids}</IdList>"
            "<TranslationSet/><QueryTranslation>cancer[All Fields]</QueryTranslation>"
            "</eSearchResult>"
        )
        return Response(body, content_type="text/xml")

    def efetch(self, request: Request) -> Response:
        """PubmedArticleSet for a window of a stored set; PubMed's error past the window."""
        args = params(request)
        if "id" in args:
            asked = args["id"].split(",")
            self.id_fetches.append((request.method, asked))
            held = {pmid for pmid, _ in self.articles}
            pmids = [p for p in asked if p in held]
        else:
            if self.expired:
                return Response(EXPIRED, content_type="text/xml")
            _, low, high = args["WebEnv"].split("|")
            start, size = int(args["retstart"]), int(args["retmax"])
            self.efetches.append((args["WebEnv"], start, size))
            if start + size > self.window:
                error = ("<eFetchResult><ERROR>Search Backend failed: Exception: Position "
                         f"{start} is out of acceptable range</ERROR></eFetchResult>")
                return Response(error, content_type="text/xml")
            pmids = self._in(low, high)[start : start + size]
        articles = "".join(
            f"<PubmedArticle><MedlineCitation><PMID Version=\"1\">{p}</PMID><Article>"
            f"<ArticleTitle>Article {p}.</ArticleTitle></Article></MedlineCitation>"
            "</PubmedArticle>"
            for p in pmids
        )
        return Response(f"<PubmedArticleSet>{articles}</PubmedArticleSet>", content_type="text/xml")


def _parse(value: str) -> date:
    year, month, day = (int(p) for p in value.split("/"))
    return date(year, month, day)


# Test modules reach these helpers through fixtures: tests/ has no packages, so importing a
# conftest by name would be ambiguous with tests/conftest.py.


@pytest.fixture
def fake_pubmed() -> type[FakePubMed]:
    """The FakePubMed class, to build one per test."""
    return FakePubMed


@pytest.fixture
def faults() -> dict[str, Callable[..., object]]:
    """Fault responders: "drop" (a Handler) and "cut_short" (body, content_type) -> Handler."""
    return {"drop": drop_connection, "cut_short": cut_short}

"""Reliability: a process killed with SIGKILL mid-import, mid-dedup, mid-search or mid-screening loses nothing acknowledged.

Each test starts the work in a child process, waits for a line proving it is under way, kills it
with SIGKILL (no handler, no rollback code runs), then checks from the parent that the database
is consistent and that the work either landed whole or not at all, and can be redone or resumed.
"""

from __future__ import annotations

import random
import textwrap
import threading
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import col, func, select
from werkzeug import Request, Response

from reviewkit.domain.records import Record
from reviewkit.services import dedup, screen, screen_queue
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.search import search_pubmed
from reviewkit.services.status import review_status
from reviewkit.sources.http import RetryPolicy
from reviewkit.sources.pubmed import PubMedSearch
from reviewkit.store.db import session_scope
from reviewkit.store.tables import (
    DuplicateGroupRow,
    DuplicateMemberRow,
    RecordRow,
    ScreeningDecisionRow,
    SourceRunRow,
)
from tests.factories import add_records
from tests.reliability._helpers import Child, assert_consistent
from tests.sources.conftest import FakePubMed

WORDS = [
    "baricitinib", "atopic", "dermatitis", "eczema", "placebo", "randomised", "trial", "adults", "itch", "week",
    "efficacy", "safety", "topical", "corticosteroids", "janus", "kinase", "inhibitor", "oral", "dose", "phase",
    "severe", "moderate", "skin", "pain", "sleep", "quality", "life", "response", "outcome", "cohort",
]


def _count(review: Review, table: type) -> int:
    with session_scope(review.engine) as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


def _runs(review: Review) -> list[SourceRunRow]:
    with session_scope(review.engine) as s:
        return list(s.exec(select(SourceRunRow).order_by(col(SourceRunRow.id))))


def _big_ris(path: Path, n: int) -> Path:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            title = " ".join(rng.choice(WORDS) for _ in range(10)).capitalize()
            fh.write(f"TY  - JOUR\nTI  - {title} ({i})\nAU  - Author, A{i % 97}\nPY  - {2000 + i % 25}\n"
                     f"JO  - Journal of Trials\nAB  - {title}. Abstract {i}.\nDO  - 10.5555/crash.{i}\nER  - \n\n")
    return path


IMPORT_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from reviewkit.services.identify import import_file
    from reviewkit.services.project import open_review

    def progress(n):
        print(f"progress {n}", flush=True)
        time.sleep(120)  # hold the import's transaction open: the kill lands inside it

    import_file(open_review(Path(sys.argv[1])), Path(sys.argv[2]), progress=progress)
    print("done", flush=True)
    """
)


def test_import_killed_midway_is_absent_then_reimports_whole(review: Review, tmp_path: Path) -> None:
    """An import killed after its first stored batch leaves no record and no complete run; re-importing works."""
    ris = _big_ris(tmp_path / "big.ris", 5_000)
    child = Child(IMPORT_CHILD, str(review.folder), str(ris))
    try:
        child.wait_for(lambda line: line == "progress 2000")  # 2,000 rows written, not committed
        child.kill9()
    finally:
        child.close()
    assert "done" not in child.seen
    assert _count(review, RecordRow) == 0
    assert [r for r in _runs(review) if r.status == "complete"] == []
    assert_consistent(review)
    summary = import_file(review, ris)
    assert summary.records == 5_000 and _count(review, RecordRow) == 5_000
    assert [r.status for r in _runs(review)] == ["complete"]
    assert review_status(review).identified == 5_000
    assert_consistent(review)


DEDUP_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from reviewkit.services import dedup
    from reviewkit.services.project import open_review
    from reviewkit.store import dedup as store

    original, made = store.add_group, []

    def add_group(*args, **kw):
        group = original(*args, **kw)
        made.append(group)
        print(f"group {len(made)}", flush=True)
        if len(made) == 5:
            time.sleep(120)  # mid-way through writing the groups: the kill lands here
        return group

    store.add_group = add_group
    dedup.run_dedup(open_review(Path(sys.argv[1])), actor="alice")
    print("done", flush=True)
    """
)


def _duplicated_papers(n: int) -> list[Record]:
    rng = random.Random(11)
    out = []
    for i in range(n):
        title = " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + f" {rng.random():.6f}"
        paper = {"title": title, "authors": (f"Author{i}, A", f"Other{i}, B"), "year": 2000 + i % 25,
                 "journal": "Journal of Trials", "volume": str(i), "pages": f"{i}-{i + 9}",
                 "doi": f"10.5555/dedup.{i}"}
        out += [Record(**paper, source_id=f"a{i}"), Record(**paper, source_id=f"b{i}")]  # type: ignore[arg-type]
    return out


def test_dedup_killed_midway_writes_nothing_then_reruns(review: Review) -> None:
    """A dedup run killed after writing some groups leaves none; the re-run makes all of them."""
    add_records(review, _duplicated_papers(60))
    child = Child(DEDUP_CHILD, str(review.folder))
    try:
        child.wait_for(lambda line: line == "group 5")
        child.kill9()
    finally:
        child.close()
    assert "done" not in child.seen
    assert _count(review, DuplicateGroupRow) == 0 and _count(review, DuplicateMemberRow) == 0
    assert review_status(review).duplicates_removed == 0
    assert_consistent(review)
    summary = dedup.run_dedup(review, actor="alice")
    assert (summary.groups_created, summary.records_merged) == (60, 60)
    assert review_status(review).duplicates_removed == 60
    assert_consistent(review)


SEARCH_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from reviewkit.services.project import open_review
    from reviewkit.services.search import search_pubmed
    from reviewkit.sources.http import RetryPolicy
    from reviewkit.sources.pubmed import PubMedSearch

    retry = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, sleep=lambda s: None, jitter=lambda: 0.0)
    client = PubMedSearch(email="dev@example.org", base_url=sys.argv[2], retry=retry, batch_size=100, timeout=300)
    search_pubmed(open_review(Path(sys.argv[1])), client=client,
                  progress=lambda done, total: print(f"stored {done}", flush=True))
    print("done", flush=True)
    """
)


def _client(server: HTTPServer) -> PubMedSearch:
    retry = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, sleep=lambda s: None, jitter=lambda: 0.0)
    return PubMedSearch(email="dev@example.org", base_url=server.url_for("/"), retry=retry, batch_size=100)


def test_search_killed_midway_resumes_with_every_record_once(review: Review, httpserver: HTTPServer) -> None:
    """A search killed after two stored batches is resumed by the next run; each record ends up stored once."""
    fake = FakePubMed(450, date(2019, 1, 1), date(2020, 12, 31))
    release = threading.Event()

    def efetch(request: Request) -> Response:
        if int(request.values.get("retstart", 0)) >= 200:
            release.wait(timeout=120)  # the third batch hangs until the child is dead
        return fake.efetch(request)

    httpserver.expect_request("/esearch.fcgi").respond_with_handler(fake.esearch)
    httpserver.expect_request("/efetch.fcgi").respond_with_handler(efetch)
    child = Child(SEARCH_CHILD, str(review.folder), httpserver.url_for("/"))
    try:
        child.wait_for(lambda line: line == "stored 200")
        child.kill9()
    finally:
        release.set()
        child.close()
    (run,) = _runs(review)
    assert run.status != "complete" and run.record_count == 200 and run.state["next_offset"] == 200
    assert_consistent(review)
    summary = search_pubmed(review, client=_client(httpserver))
    assert summary.resumed and summary.stored == 450 and summary.new == 450
    assert len(fake.esearches) == 1  # the stored plan was resumed, not searched again
    (run,) = _runs(review)
    assert run.status == "complete"
    with session_scope(review.engine) as s:
        pmids = list(s.exec(select(RecordRow.pmid)))
    assert sorted(pmids) == sorted(p for p, _ in fake.articles)  # every record, exactly once
    assert review_status(review).identified_by_source == {"PubMed": 450}
    assert_consistent(review)


SCREEN_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from reviewkit.services import screen
    from reviewkit.services.project import open_review

    review = open_review(Path(sys.argv[1]))
    for i, rid in enumerate(int(x) for x in sys.argv[2].split(",")):
        screen.record_decision(review, "alice", rid, "ta", ("include", "exclude", "maybe")[i % 3])
        print(rid, flush=True)  # acknowledged on screen only after the call returned
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("after", [1, 60])
def test_screening_killed_keeps_every_acknowledged_decision(review: Review, after: int) -> None:
    """Every decision a reviewer saw acknowledged before the crash is in the database, once."""
    ids = add_records(review, 400)
    child = Child(SCREEN_CHILD, str(review.folder), ",".join(map(str, ids)))
    try:
        child.wait_for(lambda line: len(child.seen) >= after)
        child.kill9()
    finally:
        child.close()
    assert "done" not in child.seen
    acknowledged = [int(x) for x in child.seen]
    with session_scope(review.engine) as s:
        rows = list(s.exec(select(ScreeningDecisionRow.record_id)))
    assert set(acknowledged) <= set(rows)
    assert len(rows) == len(set(rows))  # none doubled
    assert ids[: len(rows)] == sorted(rows)  # and nothing beyond the last one started
    assert_consistent(review)
    queue = screen_queue.screening_queue(review, "alice", "ta")
    assert queue == ids[len(rows):]
    for rid in queue[:5]:  # the reviewer carries on where the crash left off
        screen.record_decision(review, "alice", rid, "ta", "include")
    assert review_status(review).ta.in_progress == len(rows) + 5

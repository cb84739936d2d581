"""Reliability: two reviewers changing the same dedup verdict or study links at once (both databases).

Each test holds both threads right after the read their change depends on, so without locks both
read the same state and both write (the race, every time). With the locks the second thread's read
waits for the first's transaction, which then goes on alone: the two serialise. On SQLite a write
transaction holds the database's write lock from its start, so there they serialise anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services import dedup, extract, studies
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import Review
from reviewkit.store import dedup as store
from reviewkit.store.db import session_scope
from tests.factories import PAIR_TITLE, add_records, uncertain_pair

#: The longest a thread waits for the other (generous for a loaded 2-core machine).
WAIT_S = 30.0


class AfterRead:
    """Holds each thread after its n-th read until the other has read n times too, ended, or is seen
    waiting for a lock (the fix: it waits for this thread's transaction, which must go on alone)."""

    def __init__(self, review: Review, threads: list[str]) -> None:
        self.review = review
        self.reads = dict.fromkeys(threads, 0)
        self.ended: set[str] = set()

    def wait(self) -> None:
        me = threading.current_thread().name
        self.reads[me] += 1
        others = [t for t in self.reads if t != me]
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if all(self.reads[t] >= self.reads[me] or t in self.ended for t in others) or self._other_blocked():
                return
            time.sleep(0.02)

    def _other_blocked(self) -> bool:
        if self.review.engine.dialect.name != "postgresql":
            # SQLite: the other thread waits for the write lock at BEGIN, before any read, and
            # that wait cannot be seen from here; a short pause lets it arrive if it could.
            time.sleep(0.5)
            return True
        with self.review.engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar())


def race(monkeypatch: pytest.MonkeyPatch, review: Review, read: str,
         calls: dict[str, Callable[[], Any]], where: Any = store,
         also: tuple[tuple[Any, str], ...] = ()) -> dict[str, Any]:
    """Run each call on its own thread (named as the key), held after each call of the read `read`
    (a function of module `where`, and of each (module, name) in `also`, when the calls go through
    different reads); each one's result or error."""
    meet = AfterRead(review, list(calls))
    out: dict[str, Any] = {}

    def held(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if threading.current_thread().name in meet.reads:
                meet.wait()
            return result
        return call

    def run(who: str, call: Callable[[], Any]) -> None:
        try:
            out[who] = call()
        except Exception as exc:  # the refusal (or the bug) is what the test checks
            out[who] = exc
        finally:
            meet.ended.add(who)

    with monkeypatch.context() as patch:
        for module, name in ((where, read), *also):
            patch.setattr(module, name, held(getattr(module, name)))
        threads = [threading.Thread(target=run, args=item, name=item[0]) for item in calls.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=4 * WAIT_S)
    assert set(out) == set(calls), "a thread hung"
    return out


def events(review: Review, *entities: str) -> list[tuple[str, str]]:
    return [(e.action, e.actor) for e in audit_trail(review) if e.entity in entities]


def pair_row(review: Review, pair_id: int) -> tuple[str, str | None]:
    with session_scope(review.engine) as session:
        row = store.pair(session, pair_id)
        assert row is not None
        return row.status, row.decided_by


def live(review: Review) -> list[list[int]]:
    with session_scope(review.engine) as session:
        return [members for _, members in store.live_groups(session).values()]


def test_a_confirm_and_a_reject_at_once_one_verdict_stands(review: Review,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the fix both succeeded: the pair read 'rejected' while its records were merged."""
    p = uncertain_pair(review)
    out = race(monkeypatch, review, "pair", {
        "alice": lambda: dedup.decide_pair(review, "alice", p.id, True),
        "bob": lambda: dedup.decide_pair(review, "bob", p.id, False),
    })
    (winner,) = [who for who, r in out.items() if isinstance(r, dedup.PairDecision)]
    (loser,) = [who for who, r in out.items() if isinstance(r, ReviewkitError)]
    assert "already" in str(out[loser])
    verdict = "confirmed" if winner == "alice" else "rejected"
    assert pair_row(review, p.id) == (verdict, winner)
    pair_events = events(review, "duplicate_pair")
    assert pair_events == [(verdict, winner)]
    merges = [e for e in events(review, "duplicate_group") if e[1] != dedup.SYSTEM_ACTOR]
    assert merges == ([("merge", "alice")] if verdict == "confirmed" else [])
    assert live(review) == ([[p.a_id, p.b_id]] if verdict == "confirmed" else [])


def test_two_reopens_at_once_reopen_once(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the fix both reopened, writing two reopen events of one rejection."""
    p = uncertain_pair(review)
    dedup.decide_pair(review, "carol", p.id, False)
    out = race(monkeypatch, review, "pair", {
        "alice": lambda: dedup.reopen_pair(review, "alice", p.id),
        "bob": lambda: dedup.reopen_pair(review, "bob", p.id),
    })
    (winner,) = [who for who, r in out.items() if isinstance(r, dedup.PairDecision)]
    (loser,) = [who for who, r in out.items() if isinstance(r, ReviewkitError)]
    assert "not decided" in str(out[loser])
    assert events(review, "duplicate_pair") == [("rejected", "carol"), ("reopen", winner)]
    assert pair_row(review, p.id) == ("pending", None)


def test_two_confirms_sharing_a_record_make_one_group(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairs 1–2 and 2–3 confirmed at once: before the fix record 2 ended in two live groups."""
    add_records(review, [Record(title=PAIR_TITLE, authors=("Reich, K", "Doe, J"), year=y)
                         for y in (2018, 2019, 2020)])
    dedup.run_dedup(review)
    first, second = dedup.pending_pairs(review)
    assert {first.a_id, first.b_id} & {second.a_id, second.b_id}, "the pairs share a record"
    out = race(monkeypatch, review, "live_groups", {
        "alice": lambda: dedup.decide_pair(review, "alice", first.id, True),
        "bob": lambda: dedup.decide_pair(review, "bob", second.id, True),
    })
    assert all(isinstance(r, dedup.PairDecision) for r in out.values()), out
    everyone = sorted({first.a_id, first.b_id, second.a_id, second.b_id})
    assert live(review) == [everyone]
    # The second merge took in the first's group and undid it, naming itself as its successor (so an undo of
    # it brings the first back): one merge, then the second merge and the first's undo.
    trail = [a for a, _ in events(review, "duplicate_group")]
    assert trail == ["merge", "merge", "undo"]


def test_two_main_reports_at_once_leave_one(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the fix both succeeded and the study had two main reports."""
    add_records(review, [Record(title="Paper one about baricitinib", year=2019),
                         Record(title="Another paper on JAK", year=2020)])
    st = extract.create_study(review, "alice", "S1", record_ids=[1, 2])
    out = race(monkeypatch, review, "study_links", {
        "alice": lambda: studies.set_main_report(review, "alice", st.id, 1),
        "bob": lambda: studies.set_main_report(review, "bob", st.id, 2),
    })
    assert all(isinstance(r, studies.LinkChange) for r in out.values()), out
    mains = [r.record_id for r in studies.study_view(review, st.id).links if r.main]
    assert len(mains) == 1
    # They serialised: the later one replaced the earlier one's main report, and says so.
    later = next(r for r in out.values() if r.record_id == mains[0])
    earlier = next(r for r in out.values() if r.record_id != mains[0])
    assert later.main_before == earlier.record_id and earlier.main_before is None
    marks = [(e.action, e.record_id) for e in audit_trail(review)
             if e.entity == "study_report" and e.action in ("main", "not main")]
    assert marks == [("main", earlier.record_id), ("not main", earlier.record_id), ("main", later.record_id)]


def test_two_links_of_one_record_at_once_add_one(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the fix the second insert hit the unique link and the CLI showed an IntegrityError traceback."""
    add_records(review, [Record(title="Paper one about baricitinib", year=2019),
                         Record(title="Another paper on JAK", year=2020)])
    st = extract.create_study(review, "alice", "S1", record_ids=[1])
    out = race(monkeypatch, review, "study_link", {
        "alice": lambda: studies.link_report(review, "alice", st.id, 2),
        "bob": lambda: studies.link_report(review, "bob", st.id, 2),
    })
    assert all(isinstance(r, studies.LinkChange) for r in out.values()), out
    assert sorted(r.changed for r in out.values()) == [False, True]
    assert studies.study_view(review, st.id).reports == {1: "confirmed", 2: "confirmed"}
    links = [e.actor for e in audit_trail(review) if e.entity == "study_report" and e.record_id == 2]
    assert links == [next(who for who, r in out.items() if r.changed)]


def test_studies_link_and_extract_link_at_once_add_one(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """`extract link` links inside its own transaction, by the same rules and under the same lock."""
    add_records(review, [Record(title="Paper one about baricitinib", year=2019),
                         Record(title="Another paper on JAK", year=2020)])
    st = extract.create_study(review, "alice", "S1", record_ids=[1])
    out = race(monkeypatch, review, "study_link", {
        "alice": lambda: studies.link_report(review, "alice", st.id, 2),
        "bob": lambda: extract.link_reports(review, "bob", st.id, [2]),
    })
    assert not any(isinstance(r, Exception) for r in out.values()), out
    assert studies.study_view(review, st.id).reports == {1: "confirmed", 2: "confirmed"}


def test_two_new_studies_of_one_trial_at_once_make_one(review: Review, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the unique index both found no study with the NCT id and both made one: the trial's data
    would then be split between two studies."""
    out = race(monkeypatch, review, "study_with_nct", {
        "alice": lambda: extract.create_study(review, "alice", "BREEZE-AD1", nct_id="NCT03334396"),
        "bob": lambda: extract.create_study(review, "bob", "JAIY", nct_id="nct 03334396"),
    }, where=extract)
    (made,) = [r for r in out.values() if isinstance(r, extract.StudyView)]
    (refused,) = [r for r in out.values() if isinstance(r, ReviewkitError)]
    assert f"already the NCT id of study '{made.label}' (id {made.id})" in str(refused)
    assert [(s.label, s.nct_id) for s in extract.list_studies(review)] == [(made.label, "NCT03334396")]


def test_two_dedup_runs_proposing_one_trial_at_once_share_its_study(review: Review,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs proposing reports of one trial: the second adds its links to the study the first made."""
    add_records(review, [Record(title="Paper one about baricitinib", year=2019),
                         Record(title="Another paper on JAK", year=2020)])

    def propose(actor: str, record_id: int) -> int:
        with session_scope(review.engine, write=True) as session:
            return store.add_study_links(session, "NCT03334396", "BREEZE-AD1", [record_id], actor)

    out = race(monkeypatch, review, "studies_by_nct", {
        "alice": lambda: propose("alice", 1), "bob": lambda: propose("bob", 2)})
    assert out == {"alice": 1, "bob": 1}
    (only,) = extract.list_studies(review)
    assert studies.study_view(review, only.id).reports == {1: "proposed", 2: "proposed"}

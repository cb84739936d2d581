"""Provides the concurrent-reviewers soak: N reviewer processes deciding at once, then every decision checked.

Run:  .venv/bin/python bench/soak_decisions.py [--reviewers 4] [--decisions 5000] [--db sqlite|postgresql|both]

Each reviewer process opens the same review (a protocol with screeners r1..rN, screeners_per_record
= 2, an adjudicator and a lead) and calls services.screen.record_decision once per record assigned
to it (every record goes to one pair of reviewers, pairs spread evenly), plus a few changes of mind,
writing each acknowledged decision to its own report file. Afterwards the parent checks, from the
database alone, that every reported decision is stored exactly once per reviewer and record, that
list_conflicts names exactly the records whose pair disagreed (computed independently from the
reports), and that review_status counts agree. It prints decisions per second held per database.

PostgreSQL: a scratch database is created on the server of REVIEWKIT_TEST_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and dropped afterwards. `--database-url`
uses a given (empty) database instead; the slow test in tests/reliability does so.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ADMIN_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ADJUDICATOR = "adj"
LEAD = "lead"
#: How long a worker waits for the start signal, and the parent for a worker (bounded, never forever).
START_WAIT_S = 120.0
WORKER_TIMEOUT_S = 3600.0


def reviewer_names(n: int) -> list[str]:
    """The screeners' names: r1..rN."""
    return [f"r{i}" for i in range(1, n + 1)]


def soak_protocol(n: int) -> str:
    """The example protocol with N screeners, an adjudicator and a lead (two screeners per record)."""
    from reviewkit.services.project import EXAMPLE_PROTOCOL

    text = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
    head, rest = text.split("[[reviewers]]", 1)
    tail = rest.split("[screening]", 1)[1]
    people = [(name, '["screener"]') for name in reviewer_names(n)]
    people += [(ADJUDICATOR, '["adjudicator"]'), (LEAD, '["lead"]')]
    blocks = "".join(f'[[reviewers]]\nname = "{name}"\nroles = {roles}\n\n' for name, roles in people)
    return head + blocks + "[screening]" + tail


def assignment(record_ids: list[int], n: int) -> dict[int, tuple[str, str]]:
    """record id → the pair of reviewers who screen it (pairs taken in turn, so load is even)."""
    pairs = list(itertools.combinations(reviewer_names(n), 2))
    return {rid: pairs[i % len(pairs)] for i, rid in enumerate(sorted(record_ids))}


def records_needed(n: int, decisions: int) -> int:
    """Records so that each reviewer makes `decisions` first decisions (each record has 2 screeners)."""
    return n * decisions // 2


def setup_review(folder: Path, database_url: str, n: int, decisions: int) -> int:
    """Create the review folder and its records; returns how many records were stored."""
    from reviewkit.domain.records import Record
    from reviewkit.services.project import init_review
    from reviewkit.store import runs
    from reviewkit.store.db import session_scope

    folder.mkdir(parents=True, exist_ok=True)
    protocol = folder.parent / f"{folder.name}-protocol.toml"
    protocol.write_text(soak_protocol(n), encoding="utf-8")
    os.environ["REVIEWKIT_DATABASE_URL"] = database_url
    review = init_review(folder, protocol)
    count = records_needed(n, decisions)
    records = [Record(title=f"Soak trial {i}", abstract=f"Abstract {i}", year=2020, pmid=str(5_000_000 + i),
                      source_id=str(5_000_000 + i)) for i in range(count)]
    with session_scope(review.engine, write=True) as session:
        run = runs.start_run(session, kind="import", source="PubMed", file_name="soak.ris")
        assert run.id is not None
        for start in range(0, count, 2_000):
            runs.insert_records(session, run.id, records[start:start + 2_000], start)
        runs.finish_run(session, run, record_count=count, new_record_count=count, actor=None)
    review.engine.dispose()
    return count


def worker(folder: Path, name: str, n: int, seed: int, change_rate: float, report: Path, go: Path) -> None:
    """One reviewer: decide every assigned record (shuffled), a few changes of mind, each line reported."""
    from reviewkit.services import screen
    from reviewkit.services.project import open_review
    from reviewkit.store import queries
    from reviewkit.store.db import session_scope

    if os.environ.get("SOAK_BUSY_TIMEOUT_MS"):  # a short wait makes a starved writer show at once
        import reviewkit.store.db

        reviewkit.store.db.BUSY_TIMEOUT_MS = int(os.environ["SOAK_BUSY_TIMEOUT_MS"])
    review = open_review(folder)
    with session_scope(review.engine) as session:
        ids = sorted(queries.record_ids(session))
    mine = [rid for rid, pair in assignment(ids, n).items() if name in pair]
    rng = random.Random(f"{seed}-{name}")
    rng.shuffle(mine)
    deadline = time.monotonic() + START_WAIT_S
    while not go.exists():  # start together, so the writes really overlap
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: no start signal within {START_WAIT_S:.0f} s")
        time.sleep(0.01)
    done: list[int] = []
    with report.open("w", encoding="utf-8") as out:
        out.write(f"start {time.time()}\n")
        for rid in mine:
            choice = rng.choice(("include", "exclude", "maybe"))
            screen.record_decision(review, name, rid, "ta", choice)
            out.write(f"{rid} {choice}\n")  # written only once the call returned: acknowledged
            done.append(rid)
            if rng.random() < change_rate:
                again = rng.choice(done)
                choice = rng.choice(("include", "exclude", "maybe"))
                screen.record_decision(review, name, again, "ta", choice)
                out.write(f"{again} {choice}\n")
        out.write(f"end {time.time()}\n")
    review.engine.dispose()


def read_report(path: Path) -> tuple[list[tuple[int, str]], float, float]:
    """A worker's acknowledged decisions in order, and its start and end times."""
    decisions: list[tuple[int, str]] = []
    start = end = 0.0
    for line in path.read_text(encoding="utf-8").splitlines():
        a, b = line.split()
        if a == "start":
            start = float(b)
        elif a == "end":
            end = float(b)
        else:
            decisions.append((int(a), b))
    return decisions, start, end


def verify(folder: Path, n: int, reports: dict[str, list[tuple[int, str]]]) -> dict[str, Any]:
    """Compare the database with what the workers reported; returns counts and a list of problems."""
    from sqlmodel import col, select

    from reviewkit.services.conflicts import list_conflicts
    from reviewkit.services.project import open_review
    from reviewkit.services.status import review_status
    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import AuditEventRow, ReviewerRow, ScreeningDecisionRow

    review = open_review(folder)
    problems: list[str] = []
    with session_scope(review.engine) as session:
        names = {rid: nm for rid, nm in session.exec(select(ReviewerRow.id, ReviewerRow.name))}
        rows = [(names[r.reviewer_id], r.record_id, r.decision) for r in session.exec(
            select(ScreeningDecisionRow).where(ScreeningDecisionRow.stage == "ta")
            .order_by(col(ScreeningDecisionRow.id)))]
        audited = len(session.exec(select(AuditEventRow.id).where(AuditEventRow.entity == "decision")).all())
        from reviewkit.store import queries

        ids = sorted(queries.record_ids(session))
    pairs = assignment(ids, n)
    # Every acknowledged decision stored exactly once: the same multiset, per reviewer and record, in order.
    stored: dict[tuple[str, int], list[str]] = {}
    for who, rid, decision in rows:
        stored.setdefault((who, rid), []).append(decision)
    told: dict[tuple[str, int], list[str]] = {}
    for who, decisions in reports.items():
        for rid, decision in decisions:
            told.setdefault((who, rid), []).append(decision)
    for key in sorted(set(stored) | set(told)):
        if stored.get(key) != told.get(key):
            problems.append(f"{key}: stored {stored.get(key)} but reported {told.get(key)}")
    per_reviewer_db = Counter(who for who, _, _ in rows)
    per_reviewer_told = {who: len(d) for who, d in reports.items()}
    if dict(per_reviewer_db) != per_reviewer_told:
        problems.append(f"rows per reviewer {dict(per_reviewer_db)} != reported {per_reviewer_told}")
    if audited != len(rows):
        problems.append(f"{audited} decision audit events for {len(rows)} decision rows")
    # The expected outcome of each record, computed from the reports alone (not domain.screening).
    final: dict[int, dict[str, str]] = {}
    for (who, rid), decisions in told.items():
        final.setdefault(rid, {})[who] = decisions[-1]
    expected: Counter[str] = Counter()
    conflicts_expected = set()
    for rid in ids:
        got = final.get(rid, {})
        if set(got) != set(pairs[rid]):
            problems.append(f"record {rid}: decided by {sorted(got)}, assigned to {pairs[rid]}")
            continue
        forward = {d != "exclude" for d in got.values()}
        kind = "conflict" if forward == {True, False} else ("included" if forward == {True} else "excluded")
        expected[kind] += 1
        if kind == "conflict":
            conflicts_expected.add(rid)
    listed = {c.record_id for c in list_conflicts(review, ADJUDICATOR, "ta")}
    if listed != conflicts_expected:
        problems.append(f"list_conflicts: {len(listed - conflicts_expected)} extra, "
                        f"{len(conflicts_expected - listed)} missed")
    status = review_status(review)
    counts = {"included": status.ta.included, "excluded": status.ta.excluded, "conflict": status.ta.conflict,
              "in_progress": status.ta.in_progress, "unscreened": status.ta.unscreened}
    want = {"included": expected["included"], "excluded": expected["excluded"],
            "conflict": expected["conflict"], "in_progress": 0, "unscreened": 0}
    if counts != want:
        problems.append(f"review_status {counts} != expected {want}")
    review.engine.dispose()
    return {"records": len(ids), "decision_rows": len(rows), "conflicts": len(listed),
            "status": counts, "problems": problems}


def soak(folder: Path, database_url: str, *, reviewers: int, decisions: int, seed: int = 1,
         change_rate: float = 0.02, busy_timeout_ms: int | None = None,
         ) -> dict[str, Any]:
    """Set up, run the reviewer processes at once, verify; returns figures and problems."""
    setup_review(folder, database_url, reviewers, decisions)
    env = dict(os.environ, REVIEWKIT_DATABASE_URL=database_url)
    if busy_timeout_ms is not None:
        env["SOAK_BUSY_TIMEOUT_MS"] = str(busy_timeout_ms)
    go = folder / "go"
    procs: dict[str, subprocess.Popen[str]] = {}
    reports = {name: folder / f"report-{name}.txt" for name in reviewer_names(reviewers)}
    try:
        for name in reviewer_names(reviewers):
            procs[name] = subprocess.Popen(
                [sys.executable, __file__, "worker", str(folder), name, str(reviewers), str(seed),
                 str(change_rate), str(reports[name]), str(go)],
                env=env, stderr=subprocess.PIPE, text=True,
            )
        time.sleep(0.5)  # let the interpreters load before the signal; they wait for it anyway
        go.touch()
        errors = {}
        for name, proc in procs.items():
            _, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
            if proc.returncode != 0:
                errors[name] = err[-2000:]
    finally:
        for proc in procs.values():  # never leave a worker behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if errors:
        return {"problems": [f"worker {k} failed: {v}" for k, v in errors.items()]}
    told = {}
    starts, ends = [], []
    for name, path in reports.items():
        told[name], start, end = read_report(path)
        starts.append(start)
        ends.append(end)
    result = verify(folder, reviewers, told)
    calls = sum(len(v) for v in told.values())
    wall = max(ends) - min(starts)
    result.update({"calls": calls, "seconds": round(wall, 2), "decisions_per_s": round(calls / wall, 1),
                   "database": database_url.split("://", 1)[0]})
    return result


def _scratch_pg() -> tuple[str, Any, str]:
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("REVIEWKIT_TEST_DATABASE_URL") or ADMIN_URL_DEFAULT
    if admin_url.startswith("postgresql://"):
        admin_url = "postgresql+psycopg://" + admin_url.removeprefix("postgresql://")
    name = f"rk_soak_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, admin, name


def main(argv: list[str] | None = None) -> int:
    """Run the soak on the chosen databases and print figures (exit 1 on any problem)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "worker":
        folder, name, n, seed, rate, report, go = argv[1:]
        worker(Path(folder), name, int(n), int(seed), float(rate), Path(report), Path(go))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=4)
    parser.add_argument("--decisions", type=int, default=5000, help="first decisions per reviewer")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--database-url", help="use this empty database instead of a scratch one")
    parser.add_argument("--folder", type=Path, help="where to create the review (default: a temp folder)")
    parser.add_argument("--change-rate", type=float, default=0.02, help="share of decisions followed by a change")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--busy-timeout-ms", type=int,
                        help="SQLite: how long a writer may wait for the lock (default: reviewkit's 30 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per database")
    args = parser.parse_args(argv)
    failed = False
    targets = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.database_url:
        targets = ["given"]
    for target in targets:
        with tempfile.TemporaryDirectory() as tmp:
            base = args.folder or Path(tmp)
            folder = base / f"soak-{target}"
            admin = scratch = None
            if target == "given":
                url = args.database_url
            elif target == "sqlite":
                url = f"sqlite:///{(folder / 'reviewkit.db').resolve()}"
            else:
                url, admin, scratch = _scratch_pg()
            try:
                result = soak(folder, url, reviewers=args.reviewers, decisions=args.decisions, seed=args.seed,
                              change_rate=args.change_rate, busy_timeout_ms=args.busy_timeout_ms)
            finally:
                if admin is not None:
                    from sqlalchemy import text

                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
                    admin.dispose()
        failed |= bool(result["problems"])
        if args.json:
            print(json.dumps(result))
            continue
        print(f"{result.get('database', target)}: {args.reviewers} reviewers × {args.decisions} decisions "
              f"(+changes) = {result.get('calls')} calls in {result.get('seconds')} s → "
              f"{result.get('decisions_per_s')} decisions/s; {result.get('decision_rows')} rows, "
              f"{result.get('conflicts')} conflicts, status {result.get('status')}")
        for problem in result["problems"][:20]:
            print("  PROBLEM:", problem)
        if not result["problems"]:
            print("  every decision stored exactly once; conflicts and counts agree")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Provides the decisions-import benchmark: a large decisions CSV imported on SQLite and PostgreSQL.

Run from the repository root:
    .venv/bin/python bench/bench_decisions_import.py                        # 20,000 records, both databases
    .venv/bin/python bench/bench_decisions_import.py --records 5000 --db sqlite

A review from the example protocol with N records (bulk-inserted, as bench_screen_latency builds it); a CSV
of every record's two title/abstract decisions (alice and bob, one in ten disagreeing) plus carol's
adjudication of each disagreement, each row dated; imported by alice (a lead) through
services.decisions_import. Then `decisions export --history` and that file imported back (every row already
present: nothing stored). Prints wall and CPU seconds and rows/s for each. PostgreSQL runs on a scratch
database on the server of REVIEWKIT_TEST_DATABASE_URL (default postgres@127.0.0.1:5432), dropped afterwards.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_screen_latency import build_review  # noqa: E402
from soak_decisions import _scratch_pg  # noqa: E402

from reviewkit.services.decisions_export import export_decisions  # noqa: E402
from reviewkit.services.decisions_import import import_decisions  # noqa: E402
from reviewkit.services.project import DATABASE_URL_ENV  # noqa: E402

COLUMNS = ("record", "reviewer", "stage", "decision", "reason", "note", "time")


def write_file(path: Path, n: int) -> int:
    """The decisions CSV for records 1..n (record ids as reviewkit numbers them); returns its row count."""
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for record in range(1, n + 1):
            at = start + timedelta(seconds=3 * record)
            alice = "include" if record % 3 else "exclude"
            bob = alice if record % 10 else ("exclude" if alice == "include" else "include")
            out.writerow((record, "alice", "ta", alice, "", "", at.isoformat()))
            out.writerow((record, "bob", "ta", bob, "", "", (at + timedelta(seconds=1)).isoformat()))
            rows += 2
            if bob != alice:
                out.writerow((record, "carol", "ta", "include", "", "adjudicated", (at + timedelta(seconds=2)).isoformat()))
                rows += 1
    return rows


def timed(fn):  # type: ignore[no-untyped-def]
    """(result, wall seconds, CPU seconds of this process) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(folder: Path, n: int) -> dict[str, float]:
    """Build the review, import, export the history, import it back; the figures."""
    review = build_review(folder, n)
    source = folder / "decisions.csv"
    rows = write_file(source, n)
    result, wall, cpu = timed(lambda: import_decisions(review, source, actor="alice"))
    assert result.stored == rows, (result, rows)
    history = folder / "history.csv"
    exported, ewall, ecpu = timed(lambda: export_decisions(review, history, history=True, actor="alice"))
    again, awall, acpu = timed(lambda: import_decisions(review, history, actor="alice"))
    assert again.stored == 0 and again.present == exported, (again, exported)
    review.engine.dispose()
    return {"rows": rows, "import_s": wall, "import_cpu_s": cpu, "export_rows": exported, "export_s": ewall,
            "export_cpu_s": ecpu, "reimport_s": awall, "reimport_cpu_s": acpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    targets = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for target in targets:
        with tempfile.TemporaryDirectory() as tmp:
            admin = scratch = None
            if target == "postgresql":
                url, admin, scratch = _scratch_pg()
                os.environ[DATABASE_URL_ENV] = url
            else:
                os.environ.pop(DATABASE_URL_ENV, None)
            try:
                f = run(Path(tmp) / "review", args.records)
            finally:
                os.environ.pop(DATABASE_URL_ENV, None)
                if admin is not None:
                    from sqlalchemy import text

                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
                    admin.dispose()
        print(f"{target}: {args.records:,} records; import {f['rows']:,} rows in {f['import_s']:.1f} s wall "
              f"({f['import_cpu_s']:.1f} s CPU, {f['rows'] / f['import_s']:,.0f} rows/s); export --history "
              f"{f['export_rows']:,} rows in {f['export_s']:.1f} s ({f['export_cpu_s']:.1f} s CPU); re-import (all "
              f"present) {f['reimport_s']:.1f} s ({f['reimport_cpu_s']:.1f} s CPU)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

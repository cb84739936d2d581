"""Provides the file-import benchmark: records/s and peak memory (RSS) of read_records at 10k and 100k.

Run: .venv/bin/python bench/bench_import.py [--sizes 10000 100000] [--formats ris medline pubmed_xml]
Builds synthetic files from real records (bench/_synth_records.py) in a temp dir; each case runs in
its own subprocess so its peak RSS (ru_maxrss) is the reader's alone. Floors: >= 5,000 records/s
for RIS and MEDLINE, >= 2,000/s for PubMed XML, peak RSS < 400 MB at 100k records.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _synth_records import build, data_root  # noqa: E402

FLOORS = {"ris": 5_000, "medline": 5_000, "pubmed_xml": 2_000}
MAX_RSS_MB = 400


def _child(fmt: str, path: str) -> None:
    """Read every record of one file and print count, seconds and peak RSS as JSON."""
    from reviewkit.sources.formats import ParseNote, read_records

    # With a notes list, as `reviewkit import` reads: the year and stray-line checks run too.
    notes: list[ParseNote] = []
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in read_records(Path(path), format=fmt, notes=notes))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"count": count, "seconds": seconds, "cpu_seconds": cpu_seconds,
                      "rss_mb": peak, "rss_start_mb": before}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="+", default=["ris", "medline", "pubmed_xml"])
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    formats = list(args.formats)
    if "pubmed_xml" in formats and importlib.util.find_spec("reviewkit.sources.formats.pubmed_xml") is None:
        print("pubmed_xml: skipped (reviewkit/sources/formats/pubmed_xml.py is not there yet)")
        formats.remove("pubmed_xml")
    print(f"source records from {data_root()[2]}")
    rows = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="rk-bench-import-") as folder:
        for fmt in formats:
            for size in args.sizes:
                path = build(fmt, size, Path(folder))
                megabytes = path.stat().st_size / 1e6
                out = subprocess.run(
                    [sys.executable, __file__, "--child", fmt, str(path)],
                    capture_output=True, text=True, check=True,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                path.unlink()
                rate = result["count"] / result["seconds"]
                cpu_rate = result["count"] / result["cpu_seconds"]
                # The verdict uses CPU time: on a shared machine wall time measures the neighbours.
                ok = result["count"] == size and cpu_rate >= FLOORS[fmt] and result["rss_mb"] < MAX_RSS_MB
                failed |= not ok
                rows.append((fmt, size, megabytes, result["seconds"], rate, cpu_rate,
                             result["rss_start_mb"], result["rss_mb"], "ok" if ok else "BELOW FLOOR"))
    print(f"{'format':<11}{'records':>9}{'file MB':>9}{'wall s':>8}{'rec/s wall':>12}{'rec/s CPU':>11}"
          f"{'RSS start MB':>14}{'peak RSS MB':>13}  verdict")
    for fmt, size, mb, seconds, rate, cpu_rate, start, peak, verdict in rows:
        print(f"{fmt:<11}{size:>9,}{mb:>9.1f}{seconds:>8.1f}{rate:>12,.0f}{cpu_rate:>11,.0f}"
              f"{start:>14.0f}{peak:>13.0f}  {verdict}")
    print(f"floors (on CPU records/s): RIS/MEDLINE >= {FLOORS['ris']:,}/s, PubMed XML >= "
          f"{FLOORS['pubmed_xml']:,}/s; peak RSS < {MAX_RSS_MB} MB. Load average: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

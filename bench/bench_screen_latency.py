"""Provides the screening-screen latency benchmark: open time and key-to-next-record time with 50,000 records.

Run:  .venv/bin/python bench/bench_screen_latency.py [--records 50000] [--presses 300]

Targets (issue 5): opening the screen <= 1 s; a key press to the next record on screen <= 50 ms
at the 95th percentile. Times are wall-clock through Textual's Pilot (headless), from the
press until the record card holds the next record and the screen has settled.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from textual.worker import WorkerCancelled

from reviewkit.domain.records import Record
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review, init_review, open_review
from reviewkit.store import runs
from reviewkit.store.db import session_scope
from reviewkit.tui.app import make_app
from reviewkit.tui.screens.screening import ScreeningScreen
from reviewkit.tui.widgets.record_card import RecordCardView

#: A structured abstract of typical length (about 1,500 characters), with keywords to highlight.
ABSTRACT = "\n".join([
    "BACKGROUND: Atopic dermatitis is a chronic inflammatory skin disease; JAK inhibitors are under study.",
    "OBJECTIVE: To assess the efficacy and safety of oral baricitinib versus placebo in adults with "
    "moderate-to-severe atopic dermatitis.",
    "METHODS: In this randomised, double-blind, placebo-controlled trial, patients were assigned 1:1:1 "
    "to baricitinib 2 mg, 4 mg or placebo once daily for 16 weeks, with topical corticosteroids allowed.",
    "RESULTS: Of 440 patients randomised, more reached IGA 0/1 with baricitinib 4 mg than with placebo; "
    "EASI 75 and itch NRS improvement followed the same pattern. Adverse events were mostly mild; "
    "no case report of serious infection was attributed to the study drug. " * 2,
    "CONCLUSIONS: Baricitinib improved signs and symptoms of atopic dermatitis; longer trials and a "
    "systematic review of safety are needed.",
])


def build_review(folder: Path, n: int, prioritise: bool = False) -> Review:
    """A review from the example protocol with n records, bulk-inserted as one import (as tests/factories does);
    `prioritise`: with the protocol's relevance ranking on."""
    if prioritise:
        protocol = folder.parent / "prioritise.toml"
        protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace(
            "screeners_per_record = 2", "screeners_per_record = 2\nprioritise = true"), encoding="utf-8")
        init_review(folder, protocol)
    else:
        init_review(folder)
    review = open_review(folder)
    records = [
        Record(title=f"Baricitinib for atopic dermatitis: randomised trial {i}", abstract=ABSTRACT,
               authors=("Simpson EL", "Lacour JP", "Spelman L", "Galimberti R", "Eichenfield LF",
                        "Bissonnette R", "King BA"),
               journal="British Journal of Dermatology", year=2015 + i % 10, volume=str(180 + i % 7),
               issue=str(1 + i % 4), pages=f"{i % 900}-{i % 900 + 12}", pmid=str(30_000_000 + i),
               doi=f"10.1111/bjd.{100000 + i}", publication_types=("Randomized Controlled Trial",),
               source_id=str(30_000_000 + i))
        for i in range(n)
    ]
    with session_scope(review.engine, write=True) as session:
        run = runs.start_run(session, kind="import", source="PubMed", file_name="bench.nbib")
        assert run.id is not None
        for start in range(0, n, 5000):
            runs.insert_records(session, run.id, records[start:start + 5000], start)
        runs.finish_run(session, run, record_count=n, new_record_count=n, actor=None)
    return review


async def all_workers(app: Any) -> None:
    """Wait for every worker to end; one cancelled by a newer one of its group (a card fetch the cursor
    overtook) is expected, and wait_for_complete would raise for it."""
    for worker in list(app.workers):
        with suppress(WorkerCancelled):
            await worker.wait()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def measure(review: Review, presses: int) -> dict[str, Any]:
    """Open the screen, then time `presses` next-record keys (j) and as many decisions (i).

    A key's latency runs from the press to the first frame the compositor produces after the
    card took the new record: Textual's own work, not Pilot's waiting between presses (reported
    apart as the round trip).
    """
    app = make_app(review, reviewer="alice")
    frames: list[float] = []
    display = app._display

    def timed_display(screen: object, renderable: object) -> None:
        display(screen, renderable)  # type: ignore[arg-type]
        if renderable is not None:
            frames.append(time.perf_counter())

    app._display = timed_display  # type: ignore[method-assign]
    out: dict[str, Any] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        # As a user would: the dashboard has its counts before s is pressed.
        await all_workers(app)
        await pilot.pause()
        first_card: list[float] = []
        card_show = RecordCardView.show

        def first_show(view: RecordCardView, *args: Any, **kw: Any) -> None:
            card_show(view, *args, **kw)
            first_card.append(time.perf_counter())

        RecordCardView.show = first_show  # type: ignore[method-assign]
        start, start_cpu = time.perf_counter(), time.process_time()
        screen = ScreeningScreen(review, "ta", "alice")
        await app.push_screen(screen)
        while screen.card_view.record_id is None or not frames or frames[-1] < first_card[0]:
            await pilot.pause(0.005)
        RecordCardView.show = card_show  # type: ignore[method-assign]
        # Opened when the first frame showing the record is out (a pause here can wait out the ranking's
        # start, which begins once that frame is drawn, so the loop's own end is not the measure).
        out["open_s"] = next(f for f in frames if f >= first_card[0]) - start
        out["open_cpu"] = time.process_time() - start_cpu
        if screen.prioritise:  # the ranking comes after the first record (its features take seconds)
            while screen._ranked is None:
                await pilot.pause(0.01)
            out["ranked_s"] = time.perf_counter() - start
        await all_workers(app)
        shown: list[float] = []
        show = screen.card_view.show

        def timed_show(*args: object, **kw: object) -> None:
            show(*args, **kw)  # type: ignore[arg-type]
            shown.append(time.perf_counter())

        screen.card_view.show = timed_show  # type: ignore[method-assign]
        # Main-thread CPU per press, minus that of an unbound key: the app's own work, which the
        # machine's load does not inflate (wall times on a shared machine mostly measure the neighbours).
        cpu = time.thread_time()
        for _ in range(presses):
            await pilot.press("f12")
            await pilot.pause()
        out["idle_cpu"] = (time.thread_time() - cpu) / presses
        for key in ("j", "i"):
            times: list[float] = []
            trips: list[float] = []
            cpu = time.thread_time()
            misses = 0
            for _ in range(presses):
                expected = screen.queue.ids[screen.queue.index + 1]
                misses += expected not in screen.queue.cards
                t0 = time.perf_counter()
                await pilot.press(key)
                while screen.card_view.record_id != expected or not frames or frames[-1] < shown[-1]:
                    await pilot.pause()
                trips.append(time.perf_counter() - t0)
                times.append(next(f for f in frames if f >= shown[-1]) - t0)
            out[key + "_cpu"] = (time.thread_time() - cpu) / presses
            out[key], out[key + "_trip"], out[key + "_misses"] = times, trips, misses
        await all_workers(app)
    return out


def main() -> None:
    """Build the review, measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--prioritise", action="store_true",
                        help="rank the queue by relevance (retrained every RETRAIN_EVERY decisions, as `i` makes them)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        review = build_review(Path(tmp) / "review", args.records, args.prioritise)
        print(f"built a review of {args.records} records in {time.perf_counter() - t0:.1f} s")  # noqa: T201
        result = asyncio.run(measure(review, args.presses))
        review.engine.dispose()
    print(f"open screening screen: {result['open_s'] * 1000:.0f} ms (target <= 1000 ms); "  # noqa: T201
          f"CPU (all threads) {result['open_cpu'] * 1000:.0f} ms")
    if "ranked_s" in result:
        print(f"relevance ranking in place: {result['ranked_s']:.1f} s after opening (TF-IDF features once per "  # noqa: T201
              "process, then the first fit)")
    for key, label in (("j", "next record (j)"), ("i", "include + next (i)")):
        times = [t * 1000 for t in result[key]]
        trips = [t * 1000 for t in result[key + "_trip"]]
        print(f"{label}: n={len(times)} press-to-frame p50={statistics.median(times):.1f} ms "  # noqa: T201
              f"p95={percentile(times, 95):.1f} ms max={max(times):.1f} ms (target p95 <= 50 ms); "
              f"Pilot round trip p50={statistics.median(trips):.1f} p95={percentile(trips, 95):.1f} ms; "
              f"main-thread CPU {(result[key + '_cpu'] - result['idle_cpu']) * 1000:.1f} ms a press; "
              f"next record not yet fetched {result[key + '_misses']} times")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

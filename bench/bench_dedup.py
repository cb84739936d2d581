"""Provides the dedup benchmark: accuracy on five labelled searches and speed/memory on synthetic sets.

Run: .venv/bin/python bench/bench_dedup.py [--sizes 10000 50000 100000] [--skip-speed]
Reads /work/shared/data/dedup when present (it says so and stops when absent).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _dedup_data import SETS, LabelledSet, available, load_set, synthetic  # noqa: E402

from reviewkit.domain.dedup import DedupResult, explain, find_duplicates  # noqa: E402
from reviewkit.domain.dedup_features import prepare  # noqa: E402
from reviewkit.domain.dedup_score import protecting_rule  # noqa: E402

PUBLISHED = [
    ("ASySD (Hair 2023)", "sensitivity 0.95-0.99, specificity > 0.99"),
    ("SRA-DM (Rathbone 2015)", "sensitivity 0.84-0.90, specificity 1.00"),
    ("Deduklick (Borissov 2022)", "recall 0.995, precision 1.00"),
    ("EndNote", "sensitivity 0.51-0.73"),
]


def _pairs(groups: Iterable[Sequence[int]]) -> set[tuple[int, int]]:
    out = set()
    for g in groups:
        members = sorted(g)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                out.add((a, b))
    return out


def _closure(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def evaluate(data: LabelledSet, result: DedupResult) -> dict[str, float]:
    """Pairwise precision/recall of the automatic groups, the review band, and recall after review."""
    truth = _pairs(data.groups)
    predicted = _pairs(g.members for g in result.groups)
    tp = len(truth & predicted)
    merged = [(p.a, p.b) for p in result.auto_pairs]
    merged += [(m, g.primary) for g in result.groups for m in g.members]
    accepted = [(p.a, p.b) for p in result.uncertain_pairs if (min(p.a, p.b), max(p.a, p.b)) in truth]
    after = _pairs(_closure(len(data.records), [(g.primary, m) for g in result.groups for m in g.members] + accepted))
    missed = truth - predicted
    reasons = Counter(str(explain(data.records[a], data.records[b])["reason"]) or "grouping" for a, b in missed)
    # Rule-protected: true pairs a do-not-merge rule of the domain keeps apart (the answer key groups
    # some errata, replies and abstracts with their article, which the product rules forbid).
    # Recall over the other true pairs says where the matcher itself falls short.
    prepared = {i: prepare(data.records[i]) for pair in truth for i in pair}
    protected = {(a, b) for a, b in truth if protecting_rule(prepared[a], prepared[b])}
    open_truth = truth - protected
    n = len(data.records)
    return {
        "records": n,
        "true_pairs": len(truth),
        "precision": tp / len(predicted) if predicted else 1.0,
        "recall": tp / len(truth) if truth else 1.0,
        "false_pairs": len(predicted - truth),
        "uncertain": len(result.uncertain_pairs),
        "uncertain_pct": 100.0 * len(result.uncertain_pairs) / n,
        "recall_after_review": len(truth & after) / len(truth) if truth else 1.0,
        "precision_after_review": len(truth & after) / len(after) if after else 1.0,
        "rule_protected_pairs": len(protected),
        "recall_excl_protected": len(open_truth & predicted) / len(open_truth) if open_truth else 1.0,
        "missed_reasons": dict(reasons.most_common(4)),
    }


def _row(name: str, m: dict[str, float], seconds: float) -> str:
    return (f"{name:<20} {m['records']:>7} {m['true_pairs']:>6} {m['precision']:>7.4f} {m['recall']:>7.4f} "
            f"{m['false_pairs']:>4} {m['uncertain']:>5} {m['uncertain_pct']:>5.2f}% "
            f"{m['recall_after_review']:>7.4f} {m['rule_protected_pairs']:>5} {m['recall_excl_protected']:>8.4f} "
            f"{seconds:>6.2f}s")


HEADER = (f"{'set':<20} {'records':>7} {'pairs':>6} {'prec':>7} {'recall':>7} {'FP':>4} {'band':>5} {'band%':>6} "
          f"{'rec+rev':>7} {'prot':>5} {'rec-prot':>8} {'time':>7}")


def accuracy() -> None:
    print("Accuracy on the labelled searches (pairs of records in one true group; same settings for all)")
    print(HEADER)
    missed: list[str] = []
    for name in SETS:
        data = load_set(name)
        start = time.perf_counter()
        result = find_duplicates(data.records)
        seconds = time.perf_counter() - start
        metrics = evaluate(data, result)
        print(_row(name, metrics, seconds))
        missed.append(f"  {name}: {metrics['missed_reasons']}")
    print("settings:", find_duplicates([]).settings)
    print("pairs = true pairs; FP = false pairs merged; band = uncertain pairs for a human (and % of records);")
    print("rec+rev = recall once a human accepts the true pairs in the band; prot = rule-protected true pairs,")
    print("those a do-not-merge rule keeps apart (the ground truth groups some errata, replies, abstracts with")
    print("the article); rec-prot = recall excl. rule-protected pairs (over the true pairs no rule forbids).")
    print("Why true pairs were not merged automatically:")
    print("\n".join(missed))
    print("Published bars:")
    for tool, figures in PUBLISHED:
        print(f"  {tool:<28} {figures}")


def _one_size(size: int) -> dict[str, float]:
    data = synthetic(size)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = find_duplicates(data.records)
    seconds = time.perf_counter() - start
    # CPU time (all threads) as well: on a shared machine wall time mostly measures the neighbours.
    cpu = time.process_time() - cpu_start
    metrics = evaluate(data, result)
    metrics["seconds"] = seconds
    metrics["cpu_seconds"] = cpu
    metrics["candidates"] = result.n_candidates
    metrics["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return metrics


def speed(sizes: Sequence[int]) -> None:
    print("\nSpeed on synthetic sets (real records + distinct variants + realistic duplicates); each size in a"
          " fresh process, maxrss includes building the set")
    print(f"{'size':>7} {'time':>8} {'cpu':>8} {'per 10k':>8} {'maxrss':>9} {'cands':>9} {'prec':>7} {'recall':>7} "
          f"{'band':>6}")
    for size in sizes:
        out = subprocess.run([sys.executable, __file__, "--one-size", str(size)], capture_output=True, text=True,
                             check=True)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{size:>7} {m['seconds']:>7.2f}s {m['cpu_seconds']:>7.2f}s {m['seconds'] * 10000 / size:>7.2f}s "
              f"{m['maxrss_mb']:>7.0f}MB "
              f"{m['candidates']:>9} {m['precision']:>7.4f} {m['recall']:>7.4f} {m['uncertain']:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 50_000, 100_000])
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not available():
        print("dedup benchmark data absent (/work/shared/data/dedup); nothing to measure")
        return
    if args.one_size:
        print(json.dumps(_one_size(args.one_size)))
        return
    if not args.skip_accuracy:
        accuracy()
    if not args.skip_speed:
        speed(args.sizes)


if __name__ == "__main__":
    main()

"""Provides the screening-prioritisation benchmark: simulated screening vs ASReview, and retrain time.

Run from the repository root:
    nice .venv/bin/python bench/bench_prioritise.py                 # 10 runs per set, nb + svm
    nice .venv/bin/python bench/bench_prioritise.py --every 1       # retrain after every decision
    nice .venv/bin/python bench/bench_prioritise.py --batched       # 1 for 100, then every 1% (fast)
    nice .venv/bin/python bench/bench_prioritise.py --no-asreview --models nb,svm,logistic

Each run starts from 1 relevant + 1 irrelevant prior record drawn with seed = run number, screens
in ranked order until the last relevant record, and reports WSS@95 and recall after screening
10/25/50% (the priors count as the first two records screened, as in ASReview's published
figures; see _screening_data.curve). ASReview is measured on the same
files with the same priors when its separate venv exists (ASREVIEW_PYTHON or /work/asreview-venv).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _screening_data import (  # noqa: E402
    SETS,
    available,
    load_set,
    pick_priors,
    recall_at,
    simulate,
    wss,
)

from reviewkit.domain.prioritise import RETRAIN_EVERY, Prioritiser, tfidf_matrix  # noqa: E402
from reviewkit.domain.stopping import stopping_estimate  # noqa: E402

#: ASReview 3.0.8's published mean WSS@95 (%), 1+1 prior records, 5 seeds (from the brief).
PUBLISHED = {
    "elas_u4 (tfidf+svm)": {"Bannach-Brown_2019": 42.6, "Cohen_2006_ADHD": 56.5,
                            "Kitchenham_2010": 67.3, "Nagtegaal_2019": 73.2},
    "nb+tfidf": {"Bannach-Brown_2019": 49.5, "Cohen_2006_ADHD": 59.7,
                 "Kitchenham_2010": 42.5, "Nagtegaal_2019": 66.2},
}
FRACTIONS = (0.10, 0.25, 0.50)

HERE = Path(__file__).resolve().parent
#: ASReview lives in its own venv (never the project's): ASREVIEW_PYTHON names its interpreter.
DEFAULT_VENV = Path("/work/asreview-venv")
#: Runs are slow (ASReview retrains after every label), so orders are cached per set, AI and priors.
CACHE = Path(os.environ.get("REVIEWKIT_BENCH_CACHE", Path.home() / ".cache" / "reviewkit-bench"))


def asreview_python() -> Path | None:
    """Return ASReview's Python interpreter, or None when ASReview is not installed."""
    named = os.environ.get("ASREVIEW_PYTHON")
    candidates = [Path(named)] if named else [DEFAULT_VENV / "bin" / "python"]
    for python in candidates:
        if python.is_file():
            return python
    return None


def _cache_file(dataset: Path, ai: str) -> Path:
    return CACHE / f"asreview-{dataset.stem}-{ai}.jsonl"


def _cached(dataset: Path, ai: str) -> dict[tuple[int, ...], dict]:
    path = _cache_file(dataset, ai)
    found: dict[tuple[int, ...], dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                found[tuple(row["priors"])] = row
    return found


def asreview_orders(
    dataset: Path, priors: list[tuple[int, int]], ai: str = "elas_u4", *, python: Path | None,
    nice: bool = True, cached_only: bool = False,
) -> list[tuple[np.ndarray, float]]:
    """Return ASReview's labelling order and seconds for each prior pair, running those not cached.

    With cached_only (or no python), only the pairs already cached are returned, in prior order.
    """
    have = _cached(dataset, ai)
    if cached_only or python is None:
        return [(np.array(have[tuple(p)]["order"], dtype=np.int64), float(have[tuple(p)]["seconds"]))
                for p in priors if tuple(p) in have]
    todo = [p for p in priors if tuple(p) not in have]
    if todo:
        CACHE.mkdir(parents=True, exist_ok=True)
        cmd = [str(python), str(HERE / "asreview_sim.py"), str(dataset), "--ai", ai]
        for pair in todo:
            cmd += ["--priors", ",".join(str(i) for i in pair)]
        if nice:
            cmd = ["nice", "-n", "10", *cmd]
        # Each finished run is one JSON line; append as they come so an interrupted bench keeps them.
        with _cache_file(dataset, ai).open("a") as out, subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("{"):
                    out.write(line)
                    out.flush()
        have = _cached(dataset, ai)
    result = []
    for pair in priors:
        row = have.get(tuple(pair))
        if row is None:
            raise RuntimeError(f"ASReview produced no result for {dataset.name} priors {pair}")
        result.append((np.array(row["order"], dtype=np.int64), float(row["seconds"])))
    return result


def metrics(order: np.ndarray, labels: np.ndarray) -> list[float]:
    """WSS@95 and recall at 10/25/50% screened, in percent, the priors counted as screened first.

    Counting the priors is the convention of ASReview's published figures (_screening_data.curve).
    """
    return [100 * wss(order, labels, 0)] + [100 * recall_at(order, labels, 0, f) for f in FRACTIONS]


def spread(values: list[float]) -> str:
    """'mean (sd; min-max)' of a list of percentages."""
    a = np.array(values)
    sd = a.std(ddof=1) if len(a) > 1 else 0.0
    return f"{a.mean():5.1f} ({sd:4.1f}; {a.min():4.1f}-{a.max():4.1f})"


def print_row(name: str, rows: list[list[float]], seconds: float | None) -> None:
    """One table row: the four metrics' spreads and the run time."""
    cols = list(zip(*rows, strict=True))
    timing = f"{seconds:7.1f}s" if seconds is not None else ""
    print(f"  {name:<22} " + "  ".join(spread(list(c)) for c in cols) + f"  {timing}", flush=True)


def print_stopping(orders: list[np.ndarray], labels: np.ndarray, model: str) -> None:
    """Where the stopping test (target recall 95%, alpha 0.05) would have stopped each run.

    The simulation ends at the last relevant record; every record after it is irrelevant whatever
    its order, so the decision sequence is completed with irrelevant ones. Checked every 1%.
    """
    n = len(labels)
    step = max(1, n // 100)
    screened, recalls = [], []
    for order in orders:
        seq = np.concatenate([labels[order], np.zeros(n - len(order), dtype=bool)])
        for m in range(step, n + step, step):
            m = min(m, n)
            if stopping_estimate(seq[:m], n).can_stop:
                screened.append(100 * m / n)
                recalls.append(100 * seq[:m].sum() / labels.sum())
                break
    reached = sum(r >= 95 for r in recalls)
    print(f"  stopping test, {model}: stops after {spread(screened)}% screened; recall then "
          f"{spread(recalls)}%; target reached in {reached}/{len(orders)}")


def bench_sets(args: argparse.Namespace) -> None:
    """Simulate every labelled set with our models and, when installed, ASReview."""
    python = None if args.no_asreview else asreview_python()
    header = "  ".join(f"{h:<23}" for h in ("WSS@95", "recall@10%", "recall@25%", "recall@50%"))
    cadence = ("every decision for 100, then every 1%" if args.every is None
               else "every decision" if args.every == 1 else f"every {args.every} decisions")
    print(f"metric: mean (sd; min-max) over runs, %   retrain: {cadence}   "
          f"balance ratio {args.balance_ratio:g}" + (f"   C {args.c:g}" if args.c is not None else ""))
    for name in args.sets:
        data = load_set(name)
        priors = [pick_priors(data.labels, seed) for seed in range(args.runs)]
        start = time.perf_counter()
        matrices = {m: tfidf_matrix(data.texts, model=m) for m in args.models}
        vec_seconds = time.perf_counter() - start
        features = ", ".join(f"{m} {x.shape[1]}" for m, x in matrices.items())
        print(f"\n{name}: {data.n} records, {data.n_relevant} relevant, "
              f"features {features} (TF-IDF {vec_seconds:.1f}s)")
        print(f"  {'model':<22} {header}  time")
        ours: dict[str, list[list[float]]] = {}
        orders: dict[str, list[np.ndarray]] = {}
        for model in args.models:
            prio = Prioritiser(matrix=matrices[model], model=model, balance_ratio=args.balance_ratio,
                               c=args.c)
            start = time.perf_counter()
            orders[model] = [simulate(prio, data.labels, p, every=args.every) for p in priors]
            ours[model] = [metrics(o, data.labels) for o in orders[model]]
            print_row(f"reviewkit {model}", ours[model], time.perf_counter() - start)
        print_stopping(orders[args.models[0]], data.labels, args.models[0])
        for label, figures in PUBLISHED.items():
            print(f"  {'ASReview ' + label:<22} {figures[name]:5.1f} (published, 5 seeds)")
        floor = max(f[name] for f in PUBLISHED.values())
        print(f"  {'floor (better of both)':<22} {floor:5.1f}")
        if python is None:
            print(f"  {'ASReview measured':<22} not measured (asreview not installed)")
            continue
        n_asr = min(args.asreview_runs, args.runs)
        for ai in args.asreview_ai:
            runs = asreview_orders(data.path, priors[:n_asr], ai, python=python,
                                   cached_only=args.asreview_cached_only)
            if not runs:
                print(f"  {'ASReview ' + ai:<22} not measured (no cached run)")
                continue
            rows = [metrics(order, data.labels) for order, _ in runs]
            # Same priors as our first len(runs) runs; the time is ASReview's, all runs summed.
            print_row(f"ASReview {ai} n={len(runs)}", rows, sum(s for _, s in runs))
            if len(runs) < args.runs:
                for model in args.models:
                    print_row(f"  reviewkit {model}, same {len(runs)}", ours[model][:len(runs)], None)


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """Return n texts made from the real sets' records, each copy with a tenth of its words dropped."""
    rng = np.random.default_rng(seed)
    base = [t for name in SETS for t in load_set(name).texts if t]
    texts: list[str] = []
    while len(texts) < n:
        for text in base:
            # Line by line, so the title stays the first line (naive Bayes counts it twice).
            lines = []
            for line in text.split("\n"):
                words = line.split()
                keep = rng.random(len(words)) > 0.1
                lines.append(" ".join(w for w, k in zip(words, keep, strict=True) if k))
            texts.append("\n".join(lines))
            if len(texts) == n:
                break
    return texts


def bench_retrain(args: argparse.Namespace) -> None:
    """Time one update (fit on the labelled records + rank the rest) at 20,000 records."""
    texts = synthetic_texts(args.retrain_n)
    print(f"\nretrain at {len(texts)} synthetic records; per update (median of 3):")
    rng = np.random.default_rng(1)
    for model in args.models:
        start = time.perf_counter()
        matrix = tfidf_matrix(texts, model=model)
        print(f"  {model:<9} TF-IDF once {time.perf_counter() - start:.1f}s, "
              f"{matrix.shape[1]} features")
        prio = Prioritiser(matrix=matrix, model=model)
        cells = []
        for n_labelled in (100, 1000, 5000, 10000):
            idx = rng.choice(len(texts), n_labelled, replace=False)
            # ~5% prevalence, at least one of each class.
            labels = rng.random(n_labelled) < 0.05
            labels[0], labels[1] = True, False
            labelled = dict(zip(idx.tolist(), labels.tolist(), strict=True))
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                prio.rank(labelled)
                times.append(time.perf_counter() - t0)
            cells.append(f"{n_labelled} labelled {np.median(times):.3f}s")
        print(f"  {model:<9} " + ", ".join(cells), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--models", default="nb,svm", type=lambda s: s.split(","))
    parser.add_argument("--sets", default=",".join(SETS), type=lambda s: s.split(","))
    parser.add_argument("--every", type=int, default=RETRAIN_EVERY,
                        help=f"retrain after this many decisions (default {RETRAIN_EVERY}, as the "
                             "screening screen does)")
    parser.add_argument("--batched", action="store_const", const=None, dest="every",
                        help="retrain after every decision for 100, then every 1%% (fast, coarser)")
    parser.add_argument("--balance-ratio", type=float, default=1.0,
                        help="includes' total weight relative to the excludes' (ASReview's elas_u4: 9.8)")
    parser.add_argument("--c", type=float, default=None,
                        help="regularisation of svm/logistic (default: svm 0.11, logistic 1.0)")
    parser.add_argument("--no-asreview", action="store_true")
    parser.add_argument("--asreview-runs", type=int, default=10)
    parser.add_argument("--asreview-ai", default="elas_u4,elas_u3", type=lambda s: s.split(","))
    parser.add_argument("--asreview-cached-only", action="store_true",
                        help="report only ASReview runs already cached; start none")
    parser.add_argument("--retrain-n", type=int, default=20_000)
    parser.add_argument("--skip-sets", action="store_true", help="only time retraining")
    parser.add_argument("--skip-retrain", action="store_true", help="skip the 20k retrain timing")
    args = parser.parse_args(argv)
    if not available():
        print("screening sets not found (set REVIEWKIT_SHARED_DATA); nothing to do")
        return 0
    start = time.perf_counter()
    if not args.skip_sets:
        bench_sets(args)
    if not args.skip_retrain:
        bench_retrain(args)
    print(f"\ntotal {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Provides the sensitivity-analysis benchmark: leave-one-out and cumulative refits at k = 100, 500, 2000.

Run: .venv/bin/python bench/bench_sensitivity.py [--sizes 100 500 2000] [--estimators REML DL]
     [--flavour cochrane2025]
Each (analysis, estimator, k) runs in a fresh child process, so the peak memory printed is that run's
own (the child's peak resident set size; "import" is the child's size before the analysis starts).
The studies are random RR trials (seeded), pooled with the flavour's defaults for the given tau²
estimator (cochrane2025: IV random effects with HKSJ and the Q-profile CI of tau²).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def simulate(k: int, seed: int = 2026) -> list[dict[str, object]]:
    """k two-arm trials with 20-400 participants per arm, control risk 5-50% and log RR ~ N(-0.3, 0.4²)."""
    rng = np.random.default_rng(seed)
    n1 = rng.integers(20, 400, k)
    n2 = rng.integers(20, 400, k)
    p2 = rng.uniform(0.05, 0.5, k)
    p1 = np.clip(p2 * np.exp(rng.normal(-0.3, 0.4, k)), 0.01, 0.95)
    e1, e2 = rng.binomial(n1, p1), rng.binomial(n2, p2)
    return [{"study": f"S{i + 1}", "events_treat": int(e1[i]), "n_treat": int(n1[i]),
             "events_ctrl": int(e2[i]), "n_ctrl": int(n2[i])} for i in range(k)]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(analysis: str, estimator: str, k: int, flavour: str) -> None:
    """One run, in this process: prints a JSON line with the time and peak memory."""
    from reviewkit.pooling import cumulative, effects_from_rows, leave_one_out, resolve_settings

    settings = resolve_settings("RR", tau2=estimator, flavour=flavour)
    effects = effects_from_rows(simulate(k), "RR", smd_variance=settings.flavour.smd_variance)
    before = _peak_mb()
    run = leave_one_out if analysis == "leave-one-out" else cumulative
    start = time.perf_counter()
    out = run(effects, **settings.pool_kwargs())
    elapsed = time.perf_counter() - start
    out.to_dict()
    print(json.dumps({"seconds": elapsed, "peak_mb": _peak_mb(), "import_mb": before}))


def main() -> None:
    """Run every combination in a child process and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--estimators", nargs="+", default=["REML", "DL"])
    parser.add_argument("--flavour", default="cochrane2025")
    parser.add_argument("--child", nargs=3, metavar=("ANALYSIS", "ESTIMATOR", "K"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.flavour)
        return
    print(f"RR, flavour {args.flavour}; time of the refits, peak resident memory of the process")
    print(f"{'analysis':<14} {'tau2':<5} {'k':>5} {'seconds':>9} {'peak MB':>8} {'(import MB)':>11}")
    for analysis in ("leave-one-out", "cumulative"):
        for estimator in args.estimators:
            for k in args.sizes:
                done = subprocess.run(
                    [sys.executable, __file__, "--flavour", args.flavour, "--child", analysis, estimator, str(k)],
                    capture_output=True, text=True, check=True)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"{analysis:<14} {estimator:<5} {k:>5} {r['seconds']:>9.2f} {r['peak_mb']:>8.0f} "
                      f"{r['import_mb']:>11.0f}", flush=True)


if __name__ == "__main__":
    main()

"""Provides the pooling benchmark: 10,000 random-effects meta-analyses of 20 studies each, DL and REML.

Run: .venv/bin/python bench/bench_pooling.py [--analyses 10000] [--studies 20]
Prints the wall time of each estimator over all analyses in one process (target: < 5 s each).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from reviewkit.pooling import generic_effects, pool, pool_many
from reviewkit.pooling.estimators import tau2_reml


def simulate(analyses: int, studies: int, seed: int = 2026) -> tuple[np.ndarray, np.ndarray]:
    """Log odds ratios with within-study variances 0.01-0.5 and true τ² drawn from 0-0.5."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.5, size=(analyses, studies))
    tau2 = rng.uniform(0.0, 0.5, size=(analyses, 1))
    yi = rng.normal(-0.3, np.sqrt(vi + tau2))
    return yi, vi


def main() -> None:
    """Time DL and REML over the simulated batch and check REML against the scalar solver."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--analyses", type=int, default=10_000)
    parser.add_argument("--studies", type=int, default=20)
    args = parser.parse_args()
    yi, vi = simulate(args.analyses, args.studies)
    print(f"{args.analyses} random-effects meta-analyses x {args.studies} studies")
    for estimator in ("DL", "REML"):
        start = time.perf_counter()
        out = pool_many(yi, vi, estimator)
        elapsed = time.perf_counter() - start
        extra = f", {out.iterations} vectorised Newton rounds" if estimator == "REML" else ""
        print(f"  {estimator:<5} {elapsed:7.3f} s  (mean tau2 {out.tau2.mean():.4f}{extra})")
    # spot check: the batch REML equals the one-analysis exact solver
    sample = range(0, args.analyses, max(1, args.analyses // 50))
    worst = max(abs(out.tau2[i] - tau2_reml(yi[i], vi[i])) / max(tau2_reml(yi[i], vi[i]), 1e-12) for i in sample)
    print(f"  REML batch vs scalar solver, worst relative difference on 50 analyses: {worst:.1e}")
    # the full per-analysis path (MetaResult with Q-profile CI, HKSJ, prediction interval), for scale
    n_full = min(1000, args.analyses)
    labels = [f"s{j}" for j in range(args.studies)]
    start = time.perf_counter()
    for i in range(n_full):
        pool(generic_effects(labels, yi[i], vi=vi[i]), model="random", estimator="REML", hksj=True,
             flavour="cochrane2025")
    print(f"  full pool() with Q-profile CI, REML+HKSJ, {n_full} analyses: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()

"""Provides an ASReview simulation run with given prior records; runs inside ASReview's own venv.

Usage (from bench_prioritise.py, via subprocess):
    /work/asreview-venv/bin/python bench/asreview_sim.py DATASET.csv --ai elas_u4 \
        --priors 12,345 --priors 7,89 --seed 0
Prints one JSON object per line: {"priors": [...], "order": [...], "seconds": s}, where order is
every labelled row index (0-based, file order) in the order ASReview labelled it, priors first,
up to the last relevant record (ASReview's default stopper).

This drives ASReview 3.x through its public Python API the same way `asreview simulate` does
(a top-down cycle until the model can fit, then the chosen AI), without writing a project file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Run one simulation per --priors pair and print the labelled order as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--ai", default="elas_u4", help="ASReview AI configuration name")
    parser.add_argument("--priors", action="append", required=True,
                        help="comma-separated row indexes of the prior records (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    from asreview import load_dataset
    from asreview.learner import ActiveLearningCycle
    from asreview.models.models import get_ai_config
    from asreview.models.queriers import TopDown
    from asreview.models.stoppers import IsFittable
    from asreview.simulation.simulate import Simulate

    with load_dataset(args.dataset) as db:
        frame = db.input.get_df()
        labels = db.input["included"]
        for spec in args.priors:
            priors = [int(x) for x in spec.split(",")]
            np.random.seed(args.seed)
            meta = get_ai_config(args.ai)["value"]
            cycles = [
                ActiveLearningCycle(querier=TopDown(), stopper=IsFittable()),
                ActiveLearningCycle.from_meta(meta),
            ]
            start = time.perf_counter()
            sim = Simulate(frame, labels, cycles, print_progress=False)
            sim.label(priors)
            sim.review()
            seconds = time.perf_counter() - start
            # Simulate keeps its labelled rows (record_id = row index, in labelling order) in
            # _results; 3.0.8 has no public accessor short of writing a project file.
            order = [int(i) for i in sim._results["record_id"].tolist()]
            print(json.dumps({"priors": priors, "order": order, "seconds": seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

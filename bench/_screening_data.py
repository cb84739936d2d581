"""Provides the labelled screening sets (read from ../shared), the screening simulation and its metrics."""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reviewkit.domain.prioritise import Prioritiser

#: The shared data folder sits beside the repository on the team's machines (absent elsewhere,
#: so benchmarks skip rather than fail). REVIEWKIT_SHARED_DATA points elsewhere when needed.
SHARED = Path(os.environ.get("REVIEWKIT_SHARED_DATA", "/work/shared/data"))
SCREENING = SHARED / "screening" / "asreview_srd"

#: The four sets with titles and abstracts (data/README.md, "Screening summary").
SETS: tuple[str, ...] = ("Bannach-Brown_2019", "Cohen_2006_ADHD", "Kitchenham_2010", "Nagtegaal_2019")


@dataclass(frozen=True)
class ScreeningSet:
    """One labelled set: texts (title + abstract) and final-inclusion labels, in file order."""

    name: str
    path: Path
    texts: list[str]
    labels: np.ndarray

    @property
    def n(self) -> int:
        """Number of records."""
        return len(self.texts)

    @property
    def n_relevant(self) -> int:
        """Number of final inclusions."""
        return int(self.labels.sum())


def load_set(name: str, folder: Path = SCREENING) -> ScreeningSet:
    """Read one ASReview-format CSV (record_id,title,abstract,...,label_included)."""
    path = folder / f"{name}.csv"
    texts: list[str] = []
    labels: list[bool] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            title = (row.get("title") or "").strip()
            abstract = (row.get("abstract") or "").strip()
            texts.append(f"{title}\n{abstract}".strip())
            labels.append((row.get("label_included") or "0").strip() in ("1", "1.0"))
    return ScreeningSet(name, path, texts, np.array(labels, dtype=bool))


def available() -> bool:
    """Whether the shared screening sets are on this machine."""
    return all((SCREENING / f"{name}.csv").is_file() for name in SETS)


def pick_priors(labels: np.ndarray, seed: int) -> tuple[int, int]:
    """Return one relevant and one irrelevant record index, drawn with a seed (ASReview's 1+1)."""
    rng = np.random.default_rng(seed)
    return int(rng.choice(np.flatnonzero(labels))), int(rng.choice(np.flatnonzero(~labels)))


def retrain_step(n_decided: int, n_records: int, *, every: int | None = None) -> int:
    """How many records to screen from one ranking before retraining.

    Default schedule: retrain after every decision for the first 100, then every 1% of the set
    (at least 1). ASReview retrains after every decision; on our sets the 1% batches change
    WSS@95 by well under a run's spread (bench/README.md), and cut the fits from N to ~200.
    `every` forces a fixed step (every=1 is ASReview's full resolution).
    """
    if every is not None:
        return every
    return 1 if n_decided < 100 else max(1, n_records // 100)


def simulate(
    prioritiser: Prioritiser, labels: np.ndarray, priors: Sequence[int], *,
    every: int | None = None, retrain_times: list[float] | None = None,
) -> np.ndarray:
    """Screen in ranked order until the last relevant record is found; return the screened order.

    The priors come first. Stopping at the last relevant record loses nothing: WSS and recall at any
    point are fixed once every relevant record is found (ASReview stops there too by default).
    """
    labelled: dict[int, bool] = {int(i): bool(labels[i]) for i in priors}
    order = [int(i) for i in priors]
    n_rel = int(labels.sum())
    found = int(sum(labels[i] for i in priors))
    n = len(labels)
    while found < n_rel and len(order) < n:
        start = time.perf_counter()
        ranked = prioritiser.rank(labelled)
        if retrain_times is not None:
            retrain_times.append(time.perf_counter() - start)
        step = retrain_step(len(order) - len(priors), n, every=every)
        for i in ranked[:step]:
            i = int(i)
            labelled[i] = bool(labels[i])
            order.append(i)
            found += int(labels[i])
            if found == n_rel:
                break
    return np.array(order, dtype=np.int64)


def curve(order: np.ndarray, labels: np.ndarray, n_priors: int) -> tuple[np.ndarray, int, int]:
    """Return cumulative relevant found after each screened record, N, and the relevant count.

    n_priors=0 counts the prior records as the first ones screened (and the prior include as
    found): that is how ASReview's published WSS figures count. Checked on ASReview's own runs
    here: counted, its Cohen_2006_ADHD WSS@95 is 56.4 (published 56.5); left out (n_priors=2) it
    is 26.5, because 95% of the 19 remaining includes is all 19.
    """
    screened = labels[order[n_priors:]].astype(np.int64)
    n = len(labels) - n_priors
    n_rel = int(labels.sum()) - int(labels[order[:n_priors]].sum())
    return np.cumsum(screened), n, n_rel


def wss(order: np.ndarray, labels: np.ndarray, n_priors: int, recall: float = 0.95) -> float:
    """Work saved over sampling at a recall (Cohen et al. 2006): (TN + FN)/N - (1 - recall).

    TN + FN are the records left unscreened when the recall is first reached.
    """
    found, n, n_rel = curve(order, labels, n_priors)
    need = math.ceil(recall * n_rel - 1e-9)
    screened = int(np.argmax(found >= need)) + 1
    return (n - screened) / n - (1.0 - recall)


def recall_at(order: np.ndarray, labels: np.ndarray, n_priors: int, fraction: float) -> float:
    """Recall reached after screening a fraction of the (non-prior) records."""
    found, n, n_rel = curve(order, labels, n_priors)
    k = math.ceil(fraction * n)
    # The simulation stops at the last relevant record: past it, recall is 1.
    return 1.0 if k > len(found) else float(found[k - 1]) / n_rel

"""Provides the screening stopping aid: the run of irrelevant records and a recall bound and test.

Method: Callaghan & Müller-Hansen (2020), "Statistical stopping criteria for automated screening in
systematic reviews", Systematic Reviews 9:273. Treat the last n screened records as a sample drawn
without replacement from the records that were unscreened when that stretch began. If the review
had NOT yet reached the target recall, at least K_tar relevant records would have been in that urn,
and seeing only k relevant in the sample would be unlikely: the hypergeometric P(X <= k) is the
p-value of H0 "recall < target". Under prioritisation the recent records are richer in relevant
ones than a random draw, so the test is conservative there; the paper's "ranked quasi-sampling"
applies it to every trailing stretch and takes the smallest p, which we do too. Inverting the same
test gives a one-sided lower confidence bound on the recall reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import hypergeom


def since_last_relevant(decisions: Sequence[bool]) -> int:
    """Return how many irrelevant records were screened since the last relevant one (all, if none)."""
    count = 0
    for relevant in reversed(decisions):
        if relevant:
            break
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class StoppingEstimate:
    """Where a screening run stands, for deciding whether to stop.

    p_value: for H0 "recall < target_recall" (smaller = safer to stop); can_stop is p_value < alpha.
    recall_lower_bound: recall reached, at (1 - alpha) one-sided confidence; None before any
    relevant record is found. window: how many trailing records gave the bound.
    """

    n_total: int
    n_screened: int
    n_relevant_found: int
    since_last_relevant: int
    target_recall: float
    alpha: float
    p_value: float
    can_stop: bool
    recall_lower_bound: float | None
    window: int
    method: str = "Callaghan & Müller-Hansen 2020, hypergeometric ranked quasi-sampling"


def _windows(decisions: np.ndarray, n_total: int) -> tuple[np.ndarray, ...]:
    """For every trailing stretch: urn size, sample size, relevant in it, relevant before it."""
    s = len(decisions)
    # Only stretches that start at the first record or just after a relevant one: stretching a
    # sample back over irrelevant records adds evidence without adding relevant ones, so it never
    # raises p or lowers the bound (checked numerically against all stretches in the tests). This
    # keeps the work at (relevant found + 1) stretches instead of one per screened record.
    start = np.concatenate(([0], np.flatnonzero(decisions) + 1))
    start = start[start < s]
    before = np.concatenate(([0], np.cumsum(decisions)))[start]
    total = int(decisions.sum())
    return n_total - start, s - start, total - before, before


def _p_values(urn: np.ndarray, n: np.ndarray, k: np.ndarray, r_before: np.ndarray,
              target: float) -> np.ndarray:
    # Fewest relevant records the urn must have held for recall to be below target:
    # recall = (r_before + k) / (r_before + K) < target  <=>  K > (r_before + k)/target - r_before.
    k_tar = np.floor((r_before + k) / target - r_before + 1e-9).astype(np.int64) + 1
    # If the unsampled rest of the urn cannot hold that many, H0 is impossible: p = 0.
    possible = k_tar <= urn - n + k
    p = np.zeros(len(urn))
    if possible.any():
        p[possible] = hypergeom.cdf(k[possible], urn[possible], k_tar[possible], n[possible])
    return p


def _upper_relevant(urn: np.ndarray, n: np.ndarray, k: np.ndarray, alpha: float) -> np.ndarray:
    """Largest relevant count in the urn that the sample does not reject at level alpha."""
    lo = k.copy()  # K = k always fits the sample (P(X <= k) = 1)
    hi = urn - n + k  # every unsampled record relevant
    # P(X <= k) falls as K grows, so bisect for the last K with P >= alpha.
    while np.any(lo < hi):
        mid = (lo + hi + 1) // 2
        ok = hypergeom.cdf(k, urn, mid, n) >= alpha
        lo = np.where(ok & (lo < hi), mid, lo)
        hi = np.where(~ok & (lo < hi), mid - 1, hi)
    return lo


def stopping_estimate(
    decisions: Sequence[bool], n_total: int, *, target_recall: float = 0.95, alpha: float = 0.05,
) -> StoppingEstimate:
    """Return the stopping test and recall bound after screening `decisions` (in screening order).

    `decisions` are relevant (True) / irrelevant (False) in the order screened, prior records
    included; n_total counts every record in the review, screened or not.
    """
    if not 0.0 < target_recall <= 1.0:
        raise ValueError("target_recall must be in (0, 1]")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    seq = np.asarray(list(decisions), dtype=np.int64)
    if len(seq) > n_total:
        raise ValueError(f"{len(seq)} decisions for {n_total} records")
    found = int(seq.sum())
    run = since_last_relevant([bool(d) for d in seq])
    if len(seq) == 0:
        return StoppingEstimate(n_total, 0, 0, 0, target_recall, alpha, 1.0, n_total == 0, None, 0)
    urn, n, k, r_before = _windows(seq, n_total)
    p = _p_values(urn, n, k, r_before, target_recall)
    best = int(np.argmin(p))
    p_min = float(p[best])
    bound: float | None = None
    window = int(n[best])
    if found > 0:
        k_up = _upper_relevant(urn, n, k, alpha)
        lower = found / (r_before + k_up)
        i = int(np.argmax(lower))
        bound, window = float(lower[i]), int(n[i])
    elif len(seq) == n_total:
        bound = 1.0  # everything screened: nothing can have been missed
    can_stop = p_min < alpha or len(seq) == n_total
    return StoppingEstimate(n_total, len(seq), found, run, target_recall, alpha,
                            p_min if len(seq) < n_total else 0.0, can_stop,
                            None if bound is None else min(1.0, bound), window)


def wss_at(recall: float, n_screened: int, n_total: int) -> float:
    """Work saved over sampling (Cohen et al. 2006) at a recall, having screened n_screened records."""
    if n_total <= 0:
        raise ValueError("n_total must be positive")
    return (n_total - n_screened) / n_total - (1.0 - recall)


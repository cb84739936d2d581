"""Tests the stopping aid: the irrelevant run, the hypergeometric test and the recall bound."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import hypergeom

from reviewkit.domain import stopping
from reviewkit.domain.stopping import since_last_relevant, stopping_estimate


def _ranked_run(seed: int, n: int, n_relevant: int, signal: float) -> np.ndarray:
    """A simulated prioritised screening order: relevant records score `signal` higher on average."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=bool)
    labels[rng.choice(n, n_relevant, replace=False)] = True
    score = rng.normal(size=n) + signal * labels
    return labels[np.argsort(-score)]


def test_since_last_relevant() -> None:
    """Counts the irrelevant records after the last relevant one (all of them if none)."""
    assert since_last_relevant([True, False, True, False, False]) == 2
    assert since_last_relevant([False, False, False]) == 3
    assert since_last_relevant([False, True]) == 0
    assert since_last_relevant([]) == 0


def test_p_value_hand_computed() -> None:
    """10 relevant then 40 irrelevant out of 100 records: p = 50/90 for target recall 0.95.

    The 40 records after the 10th relevant one are a sample from the 90 then unscreened. Recall
    below 0.95 needs K > 10/0.95 - 10 = 0.53, i.e. at least 1 relevant among those 90; with exactly
    one, a 40-record sample misses it with probability C(89,40)/C(90,40) = 50/90. The whole run
    as a sample (K >= 11 among 100) gives p ~ 1, so the smallest p is 50/90.
    """
    est = stopping_estimate([True] * 10 + [False] * 40, 100)
    assert est.p_value == pytest.approx(50 / 90)
    assert not est.can_stop
    assert est.n_relevant_found == 10 and est.since_last_relevant == 40 and est.window == 40
    assert 0.0 < est.recall_lower_bound < 1.0


def test_lower_bound_inverts_the_test() -> None:
    """The bound is found/(found + K_up), K_up the largest remainder the last stretch allows."""
    est = stopping_estimate([True] * 10 + [False] * 40, 100, alpha=0.05)
    k_up = max(k for k in range(0, 51) if hypergeom.cdf(0, 90, k, 40) >= 0.05)
    assert est.recall_lower_bound == pytest.approx(10 / (10 + k_up))


def test_only_stretches_after_a_relevant_record_matter() -> None:
    """The shortcut over stretches starting after a relevant record equals trying every stretch."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        n_total = int(rng.integers(30, 300))
        seq = (rng.random(int(rng.integers(1, n_total))) < 0.15).astype(np.int64)
        s = len(seq)
        start = np.arange(s)
        before = np.concatenate(([0], np.cumsum(seq)))[:-1]
        urn, n, k = n_total - start, s - start, int(seq.sum()) - before
        p_all = stopping._p_values(urn, n, k, before, 0.9)
        assert stopping_estimate(seq.astype(bool), n_total, target_recall=0.9).p_value == (
            pytest.approx(p_all.min()))


def test_everything_screened_can_stop_with_full_recall() -> None:
    """Having screened every record, stopping is allowed and recall is 1."""
    est = stopping_estimate([False, True, False, False], 4)
    assert est.can_stop and est.recall_lower_bound == 1.0 and est.p_value == 0.0


def test_nothing_found_yet() -> None:
    """Before any relevant record the bound is None and stopping is not allowed early on."""
    est = stopping_estimate([False] * 20, 1000)
    assert est.recall_lower_bound is None
    assert not est.can_stop


def test_simulated_prioritised_runs_reach_target_when_told_to_stop() -> None:
    """On 40 simulated prioritised runs, stopping when the test allows reaches 95% recall every time.

    Callaghan & Müller-Hansen (2020) designed the rule to reach the target in at least 95% of
    reviews; under prioritisation it is conservative, so it should not stop early here.
    """
    reached, saved = 0, []
    n, n_rel = 800, 30
    for seed in range(40):
        run = _ranked_run(seed, n, n_rel, signal=2.0)
        for m in range(40, n + 1, 40):
            est = stopping_estimate(run[:m], n)
            if est.can_stop:
                reached += run[:m].sum() / n_rel >= 0.95
                saved.append(1 - m / n)
                assert est.recall_lower_bound is not None
                assert est.recall_lower_bound <= run[:m].sum() / n_rel + 1e-12
                break
    assert reached == 40
    # It still saves work: the rule stops before the end on average.
    assert np.mean(saved) > 0.05


def test_bound_covers_true_recall_in_random_order() -> None:
    """Screening in random order (a true random sample), the 95% bound is below true recall in >= 90%."""
    covered = 0
    n, n_rel, m = 500, 25, 300
    for seed in range(100):
        run = _ranked_run(seed, n, n_rel, signal=0.0)
        est = stopping_estimate(run[:m], n)
        true_recall = run[:m].sum() / n_rel
        covered += est.recall_lower_bound is not None and est.recall_lower_bound <= true_recall
    assert covered >= 90


def test_bad_arguments() -> None:
    """Targets outside (0, 1] and more decisions than records are refused."""
    with pytest.raises(ValueError):
        stopping_estimate([True], 10, target_recall=0.0)
    with pytest.raises(ValueError):
        stopping_estimate([True, False], 1)

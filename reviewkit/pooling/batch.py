"""Provides vectorised random-effects pooling of many meta-analyses at once (simulations, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.estimators import tau2_reml


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One row per meta-analysis: pooled estimate, its SE and tau²."""

    estimator: str
    estimate: np.ndarray
    #: 1/√Σw*, or the Hartung-Knapp SE under HKSJ (with max(1, q) under its ad hoc variant).
    se: np.ndarray
    tau2: np.ndarray
    #: REML only: iterations used by the slowest analysis.
    iterations: int = 0
    #: Degrees of freedom of the t quantile the SE goes with: k − 1 under HKSJ, None (z) otherwise.
    test_df: int | None = None


def _pooled(yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = 1 / (vi + tau2[:, None])
    sw = w.sum(axis=1)
    return (w * yi).sum(axis=1) / sw, np.sqrt(1 / sw)


def _hartung_knapp(yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray, est: np.ndarray, adhoc: bool) -> np.ndarray:
    """The Hartung-Knapp SE of each row, √(q/Σw*), q = Σw*(θ_i − θ)²/(k − 1); max(1, q) when `adhoc`
    (Röver et al. 2015), as models.pool() computes it for one analysis."""
    w = 1 / (vi + tau2[:, None])
    q = (w * (yi - est[:, None]) ** 2).sum(axis=1) / (yi.shape[1] - 1)
    if adhoc:
        q = np.maximum(1.0, q)
    return np.sqrt(q / w.sum(axis=1))


def _reml_terms(yi: np.ndarray, vi: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """REML score S = Σw²r² − tr(P) and a step size divisor for each row at τ² = t.

    The divisor is −dS/dτ² (a Newton step, quadratic convergence) where S is decreasing, else the
    Fisher information tr(PP) (a Fisher-scoring step, always ascending).
    """
    ww = 1 / (vi + t[:, None])
    s1 = ww.sum(axis=1)
    s2 = (ww**2).sum(axis=1)
    s3 = (ww**3).sum(axis=1)
    r = yi - ((ww * yi).sum(axis=1) / s1)[:, None]
    score = (ww**2 * r**2).sum(axis=1) - (s1 - s2 / s1)
    info = s2 - 2 * s3 / s1 + (s2 / s1) ** 2
    slope = (-2 * (ww**3 * r**2).sum(axis=1) + 2 * (ww**2 * r).sum(axis=1) ** 2 / s1
             + s2 - 2 * s3 / s1 + (s2 / s1) ** 2)
    return score, np.where(slope < 0, -slope, info)


def _reml(yi: np.ndarray, vi: np.ndarray, start: np.ndarray, tol: float, maxiter: int) -> tuple[np.ndarray, int]:
    """Newton/Fisher-scoring steps on all rows at once; rows whose score at 0 is ≤ 0 sit at τ² = 0."""
    tau2 = start.copy()
    at_zero, _ = _reml_terms(yi, vi, np.zeros(len(yi)))
    tau2[at_zero <= 0] = 0.0
    active = at_zero > 0
    # the root is > 0 for active rows; start there from DL, or from a small positive value
    tau2[active & (tau2 <= 0)] = 1e-4
    iterations = 0
    for iterations in range(1, maxiter + 1):  # noqa: B007 - the count is reported
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        t = tau2[rows]
        score, divisor = _reml_terms(yi[rows], vi[rows], t)
        step = score / divisor
        # halve steps that would cross 0 (as metafor), so iterates stay inside τ² > 0
        while np.any(t + step <= 0):
            step = np.where(t + step <= 0, step / 2, step)
        tau2[rows] = t + step
        active[rows[np.abs(step) <= tol * (t + step)]] = False
    return tau2, iterations


#: Rows scanned at once by _one_peak (its arrays are rows × grid × studies).
_SCAN_ROWS = 1000


def _one_peak(yi: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """Per row, whether the REML score's sign pattern on a log grid of τ² shows a single peak that the
    Newton steps reach: positive at 0 and falling through 0 once (the grid and its bounds as
    estimators._likelihood_maximum scans them). A peak at 0 (score ≤ 0 there) with a rise after it,
    or two falls, is a likelihood with two peaks, which the steps from one start may miss."""
    out = np.zeros(len(yi), dtype=bool)
    for start in range(0, len(yi), _SCAN_ROWS):
        y, v = yi[start:start + _SCAN_ROWS], vi[start:start + _SCAN_ROWS]
        top = np.maximum(2 * np.ptp(y, axis=1) ** 2, 2 * v.max(axis=1))
        low = np.minimum(v.min(axis=1), top) * 1e-4
        grid = np.concatenate([np.zeros((len(y), 1)), np.geomspace(low, top, 40, axis=1)], axis=1)
        w = 1 / (v[:, None, :] + grid[:, :, None])
        sw = w.sum(axis=2)
        wr = w * (y[:, None, :] - ((w * y[:, None, :]).sum(axis=2) / sw)[:, :, None])
        score = (wr * wr).sum(axis=2) - sw + (w * w).sum(axis=2) / sw
        falls = ((score[:, :-1] > 0) & (score[:, 1:] <= 0)).sum(axis=1)
        out[start:start + len(y)] = (score[:, 0] > 0) & (falls == 1) & (score[:, -1] <= 0)
    return out


def pool_many(yi: np.ndarray, vi: np.ndarray, estimator: str = "DL", *, hksj: bool = False,
              hksj_adhoc: bool = False, tol: float = 1e-10, maxiter: int = 200) -> BatchResult:
    """Random-effects pooling of each row of yi/vi (shape analyses × studies).

    DL is closed-form over whole arrays. REML runs Newton steps (Fisher scoring where the score is
    not yet decreasing) on every analysis at once, from
    the DL estimate, with steps that would cross 0 halved, until every relative change is below
    `tol`. Rows whose likelihood a coarse scan shows with more than one peak (a peak at τ² = 0 and a
    higher one inside happen in ordinary data) are solved by estimators.tau2_reml, so every row is the
    highest peak, as the one-analysis solver gives it.

    `hksj` gives the Hartung-Knapp SE (to be used with t, `test_df` = k − 1 df), `hksj_adhoc` its ad hoc
    variant max(1, q). Unlike pool(), which notes and ignores it, hksj_adhoc without hksj is refused here:
    a batch has no warnings to say so in. Identical estimates give an HK SE of 0 or float noise, left as is.
    """
    if hksj_adhoc and not hksj:
        raise ReviewkitError("pool_many: hksj_adhoc (the ad hoc Hartung-Knapp, max(1, q)) modifies HKSJ; "
                             "pass hksj=True with it")
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    if yi.ndim != 2 or yi.shape != vi.shape or yi.shape[1] < 2:
        raise ReviewkitError("pool_many needs two arrays of shape (analyses, studies ≥ 2)")
    k = yi.shape[1]
    w = 1 / vi
    sw = w.sum(axis=1)
    mu = (w * yi).sum(axis=1) / sw
    q = (w * (yi - mu[:, None]) ** 2).sum(axis=1)
    c = sw - (w**2).sum(axis=1) / sw
    tau2 = np.maximum(0.0, (q - (k - 1)) / c)
    iterations = 0
    if estimator == "REML":
        one_peak = _one_peak(yi, vi)
        tau2, iterations = _reml(yi, vi, tau2, tol, maxiter)
        # The others (a peak at 0 and one inside, or two inside: ~8% of simulated 20-study analyses)
        # are solved one by one, as tau2_reml solves them: the highest peak.
        for i in np.flatnonzero(~one_peak):
            tau2[i] = tau2_reml(yi[i], vi[i])
    elif estimator != "DL":
        raise ReviewkitError(f"pool_many supports DL and REML (got '{estimator}')")
    est, se = _pooled(yi, vi, tau2)
    if hksj:
        return BatchResult(estimator, est, _hartung_knapp(yi, vi, tau2, est, hksj_adhoc), tau2, iterations, k - 1)
    return BatchResult(estimator, est, se, tau2, iterations)

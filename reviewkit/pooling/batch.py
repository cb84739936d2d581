"""Provides vectorised random-effects pooling of many meta-analyses at once (simulations, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reviewkit.errors import ReviewkitError


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One row per meta-analysis: pooled estimate, its SE and tau²."""

    estimator: str
    estimate: np.ndarray
    se: np.ndarray
    tau2: np.ndarray
    #: REML only: iterations used by the slowest analysis.
    iterations: int = 0


def _pooled(yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = 1 / (vi + tau2[:, None])
    sw = w.sum(axis=1)
    return (w * yi).sum(axis=1) / sw, np.sqrt(1 / sw)


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


def pool_many(yi: np.ndarray, vi: np.ndarray, estimator: str = "DL", *, tol: float = 1e-10,
              maxiter: int = 200) -> BatchResult:
    """Random-effects pooling of each row of yi/vi (shape analyses × studies).

    DL is closed-form over whole arrays. REML runs Newton steps (Fisher scoring where the score is
    not yet decreasing) on every analysis at once, from
    the DL estimate, with steps that would cross 0 halved, until every relative change is below
    `tol`; it reaches the root of the score nearest the DL start, which is estimators.tau2_reml(solver=
    "exact") wherever the likelihood has one peak (the scalar solver also looks for a higher second one,
    which studies with variances orders of magnitude apart can give; a batch of simulated analyses is
    not where those arise).
    """
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
        tau2, iterations = _reml(yi, vi, tau2, tol, maxiter)
    elif estimator != "DL":
        raise ReviewkitError(f"pool_many supports DL and REML (got '{estimator}')")
    est, se = _pooled(yi, vi, tau2)
    return BatchResult(estimator, est, se, tau2, iterations)

"""Provides the between-study variance (tau²) estimators and the Q-profile confidence interval for tau²."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.rootfind import zeroin

#: tau² estimators, with metafor's names.
ESTIMATORS: tuple[str, ...] = ("DL", "REML", "PM", "ML", "HE", "SJ", "EB")

#: Root finding runs to machine precision: metafor stops Fisher scoring at a change < 1e-5, so
#: solving exactly keeps us within the 1e-5 the reference cases allow for iterative estimators.
_XTOL = 1e-15
_RTOL = 4 * np.finfo(float).eps


def fixed_weights_q(yi: np.ndarray, vi: np.ndarray) -> tuple[float, float]:
    """Cochran's Q around the inverse-variance estimate, and that estimate."""
    w = 1 / vi
    mu = float(np.sum(w * yi) / np.sum(w))
    return float(np.sum(w * (yi - mu) ** 2)), mu


def q_generalised(tau2: float, yi: np.ndarray, vi: np.ndarray) -> float:
    """Generalised Q: Σ (y_i − μ̂(τ²))² / (v_i + τ²), decreasing in τ² (Viechtbauer 2007)."""
    # ndarray.sum() rather than np.sum(): the same reduction without np.sum's Python wrapper, which
    # costs more than the arithmetic in the root finders' many small calls
    w = 1 / (vi + tau2)
    mu = (w * yi).sum() / w.sum()
    return float((w * (yi - mu) ** 2).sum())


def cross_weights(w: np.ndarray) -> float:
    """(Σw)² − Σw², as Σᵢ wᵢ·Σ_{j≠i} wⱼ: the sum of the other weights is added up without wᵢ, not taken as
    Σw − wᵢ. Subtracted, one dominant weight (variances 1e-30 beside 1e30) cancelled every digit and
    DerSimonian-Laird divided by 0; for ordinary weights the two agree to rounding."""
    before = np.concatenate(([0.0], np.cumsum(w)[:-1]))
    after = np.concatenate((np.cumsum(w[::-1])[::-1][1:], [0.0]))
    return float(np.sum(w * (before + after)))


def tau2_dl_from_q(q: float, vi: np.ndarray) -> float:
    """DerSimonian-Laird: max(0, (Q − df) / (Σw − Σw²/Σw)), for whichever Q the flavour centres."""
    w = 1 / vi
    c = cross_weights(w) / np.sum(w)
    return max(0.0, float((q - (len(vi) - 1)) / c))


def tau2_dl(yi: np.ndarray, vi: np.ndarray) -> float:
    """DerSimonian-Laird with the inverse-variance Q."""
    return tau2_dl_from_q(fixed_weights_q(yi, vi)[0], vi)


def tau2_he(yi: np.ndarray, vi: np.ndarray) -> float:
    """Hedges (HE): unweighted moment estimator, Σ(y − ȳ)²/(k − 1) − Σv/k, truncated at 0."""
    k = len(yi)
    return max(0.0, float(np.sum((yi - yi.mean()) ** 2) / (k - 1) - np.sum(vi) / k))


def tau2_sj(yi: np.ndarray, vi: np.ndarray) -> float:
    """Sidik-Jonkman: one step from τ²₀ = Σ(y − ȳ)²/k, τ² = τ²₀·Q_gen(τ²₀)/(k − 1) (as metafor, no iteration)."""
    k = len(yi)
    t0 = float(np.sum((yi - yi.mean()) ** 2) / k)
    if t0 == 0.0:
        return 0.0
    return t0 * q_generalised(t0, yi, vi) / (k - 1)


def _upper_bracket(f: Callable[[float], float], start: float) -> float:
    """A τ² where f < 0, doubling from start (f decreases to a negative limit)."""
    hi = max(start, 1e-8)
    for _ in range(200):
        if f(hi) < 0:
            return hi
        hi *= 2
    raise ReviewkitError("tau² could not be bracketed (the data give an unbounded between-study variance)")


def _root_from_zero(f: Callable[[float], float], start: float) -> float:
    """Smallest-bracket root of f on [0, ∞), or 0 when f(0) ≤ 0 (the estimate sits at the boundary)."""
    if f(0.0) <= 0:
        return 0.0
    hi = _upper_bracket(f, start)
    return float(optimize.brentq(f, 0.0, hi, xtol=_XTOL, rtol=_RTOL, maxiter=500))


def tau2_pm(yi: np.ndarray, vi: np.ndarray, solver: str = "exact") -> float:
    """Paule-Mandel: the τ² ≥ 0 with Q_gen(τ²) = k − 1; 0 when Q_gen(0) ≤ k − 1."""
    k = len(yi)

    def f(t: float) -> float:
        return q_generalised(t, yi, vi) - (k - 1)

    if solver == "metafor":
        # metafor rma.uni: uniroot() on [0, tau2.max = 100], widened tenfold if the root lies beyond
        if f(0.0) < 0:
            return 0.0
        hi = 100.0
        while f(hi) > 0:
            hi *= 10
        return zeroin(f, 0.0, hi)
    return _root_from_zero(f, max(tau2_dl(yi, vi), 0.01))


def tau2_eb(yi: np.ndarray, vi: np.ndarray, solver: str = "exact") -> float:
    """Empirical Bayes (Morris 1983): solves (k/(k−1))·Q_gen − k = 0, the same root as Paule-Mandel."""
    if solver == "metafor":
        return _metafor_scoring(yi, vi, "EB")
    return tau2_pm(yi, vi)


def _score_ml(t: float, yi: np.ndarray, vi: np.ndarray, restricted: bool) -> float:
    w = 1 / (vi + t)
    sw = w.sum()
    mu = (w * yi).sum() / sw
    score = (w**2 * (yi - mu) ** 2).sum() - sw
    if restricted:
        score += (w**2).sum() / sw  # −tr(P) of the REML score instead of −tr(W)
    return float(score)


#: metafor's rma.uni control: threshold = 1e-5 on the change in τ², maxiter = 100.
METAFOR_THRESHOLD = 1e-5
METAFOR_MAXITER = 100


def _metafor_scoring(yi: np.ndarray, vi: np.ndarray, kind: str) -> float:
    """τ² as metafor 3.8 rma.uni iterates it: Fisher scoring (REML, ML) or the EB update.

    Starts from the Hedges estimate, halves a step that would go below 0, and stops when a step
    changes τ² by at most 1e-5. The last iterate is returned, as metafor does, so the digits match
    metafor's (which are only ~1e-5 from the exact root).
    """
    k = len(yi)
    tau2 = tau2_he(yi, vi)
    for _ in range(METAFOR_MAXITER + 1):
        adj = _metafor_step(yi, vi, tau2, kind, k)
        if not math.isfinite(adj):
            # Estimates so far apart that the weights underflow (Σw² = 0) make the step ±inf or NaN; halving
            # -inf below never brings τ² + adj to 0 or above, so the loop below would never end.
            raise ReviewkitError(f"the {kind} estimate of tau² cannot be computed: the estimates are too far apart "
                                 "for their variances in double precision", hint="try the DL or PM estimator")
        while tau2 + adj < 0:
            adj /= 2
        tau2 += adj
        if abs(adj) <= METAFOR_THRESHOLD:
            return max(0.0, float(tau2))
    raise ReviewkitError(f"the {kind} estimate of tau² did not converge in {METAFOR_MAXITER} iterations",
                         hint="try the DL or PM estimator")


def _metafor_step(yi: np.ndarray, vi: np.ndarray, tau2: float, kind: str, k: int) -> float:
    """One step of metafor's iteration; ±inf or NaN where the numbers overflow (checked by the caller,
    so numpy's warnings about it would only add lines to the one-line error)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        w = 1 / (vi + tau2)
        sw = np.sum(w)
        sw2 = np.sum(w**2)
        r2 = (yi - np.sum(w * yi) / sw) ** 2
        if kind == "REML":
            tr_p = sw - sw2 / sw
            tr_pp = sw2 - 2 * np.sum(w**3) / sw + (sw2 / sw) ** 2
            adj = (np.sum(w**2 * r2) - tr_p) / tr_pp
        elif kind == "ML":
            adj = (np.sum(w**2 * r2) - sw) / sw2
        else:  # EB
            adj = (np.sum(w * r2) * k / (k - 1) - k) / sw
    return float(adj)


def _log_likelihood(t: float, yi: np.ndarray, vi: np.ndarray, restricted: bool) -> float:
    """The (restricted) log-likelihood of τ² = t, up to a constant."""
    w = 1 / (vi + t)
    sw = w.sum()
    mu = (w * yi).sum() / sw
    ll = -0.5 * (np.log(vi + t).sum() + (w * (yi - mu) ** 2).sum())
    if restricted:
        ll -= 0.5 * np.log(sw)
    return float(ll)


#: Points of the log grid, per decade of τ², on which the score's sign changes are looked for (about 1.33
#: apart; 40 at least). A peak of the likelihood in τ² and the valley before it lie further apart than
#: that (the closest seen in ~1,800 multi-peaked cases: a factor of 2). The grid is the cost of the scan
#: (a leave-one-out of 2,000 studies scans 2,000 times), so it is no finer than it needs to be.
_SCAN_PER_DECADE = 8
_SCAN_MIN_POINTS = 40


def _likelihood_maximum(yi: np.ndarray, vi: np.ndarray, restricted: bool) -> float:
    """The τ² ≥ 0 that maximises the (restricted) likelihood: the best of its local maxima.

    The likelihood of τ² can have several peaks when the within-study variances differ by orders
    of magnitude, and the first root of the score from a starting value may be a lower one. So the
    score is scanned on a log grid from 1e-4 of the smallest variance (below that the likelihood is
    flat) to a τ² beyond which it is negative, every sign change from + to − is solved, and the
    boundary τ² = 0 counts as a maximum when the score is ≤ 0 there; the candidate of highest
    likelihood wins. The score is negative for τ² ≥ 2·range(y)² and ≥ 2·max(v): with weights w,
    Σw²r² ≤ max(r²)·Σw² < Σw/2 there, and REML's extra Σw²/Σw is below Σw/2 once the weights are
    that nearly equal (_upper_bracket doubles further should it not be).
    """
    def score(t: float) -> float:
        return _score_ml(t, yi, vi, restricted)

    spread = float(np.ptp(yi)) ** 2
    top = _upper_bracket(score, max(2 * spread, 2 * float(vi.max()), 1e-8))
    low = min(float(vi.min()), top) * 1e-4
    points = max(_SCAN_MIN_POINTS, math.ceil(_SCAN_PER_DECADE * math.log10(top / low)))
    grid = np.concatenate(([0.0], np.geomspace(low, top, points)))
    # The residuals as _score_ml takes them (an expanded Σw²y² − 2μΣw²y + μ²Σw² cancelled every digit
    # when one study's variance was ~1e-12), for the whole grid at once.
    w = 1 / (vi[None, :] + grid[:, None])
    sw = w.sum(axis=1)
    wr = w * (yi[None, :] - ((w @ yi) / sw)[:, None])
    scores = (wr * wr).sum(axis=1) - sw
    if restricted:
        scores += (w * w).sum(axis=1) / sw
    candidates = [0.0] if score(0.0) <= 0 else []
    for i in np.flatnonzero((scores[:-1] > 0) & (scores[1:] <= 0)):
        # The bracket is checked with the scalar score that brentq solves: a grid sign within rounding of
        # 0 may differ from it (brentq refuses a bracket whose ends have one sign), so an end on the
        # wrong side moves out along the grid until the scalar score changes sign.
        a, b = int(i), int(i) + 1
        at_lo, at_hi = score(float(grid[a])), score(float(grid[b]))
        while at_lo <= 0 and a > 0:
            a -= 1
            at_lo = score(float(grid[a]))
        while at_hi > 0 and b < len(grid) - 1:
            b += 1
            at_hi = score(float(grid[b]))
        if at_hi == 0:
            candidates.append(float(grid[b]))
        elif at_lo > 0 > at_hi:
            candidates.append(float(optimize.brentq(score, float(grid[a]), float(grid[b]), xtol=_XTOL, rtol=_RTOL,
                                                    maxiter=500)))
    if not candidates:  # no crossing the grid could see: the nearest root is still a root
        return _root_from_zero(score, max(tau2_dl(yi, vi), 0.01))
    return max(candidates, key=lambda t: _log_likelihood(t, yi, vi, restricted))


def tau2_reml(yi: np.ndarray, vi: np.ndarray, solver: str = "exact") -> float:
    """Restricted maximum likelihood: the τ² ≥ 0 of highest restricted likelihood (Viechtbauer 2005)."""
    if solver == "metafor":
        return _metafor_scoring(yi, vi, "REML")
    return _likelihood_maximum(yi, vi, restricted=True)


def tau2_ml(yi: np.ndarray, vi: np.ndarray, solver: str = "exact") -> float:
    """Maximum likelihood: the τ² ≥ 0 of highest likelihood."""
    if solver == "metafor":
        return _metafor_scoring(yi, vi, "ML")
    return _likelihood_maximum(yi, vi, restricted=False)


_ITERATIVE: dict[str, Callable[[np.ndarray, np.ndarray, str], float]] = {
    "REML": tau2_reml, "PM": tau2_pm, "ML": tau2_ml, "EB": tau2_eb,
}
_CLOSED: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "DL": tau2_dl, "HE": tau2_he, "SJ": tau2_sj,
}
#: How iterative estimators are solved: "exact" (to machine precision) or "metafor" (its stopping rules).
SOLVERS: tuple[str, ...] = ("exact", "metafor")


def estimate_tau2(yi: np.ndarray, vi: np.ndarray, estimator: str, solver: str = "exact") -> float:
    """tau² by the named estimator (DL, REML, PM, ML, HE, SJ, EB); 0 for a single study."""
    if estimator not in ESTIMATORS:
        raise ReviewkitError(f"unknown tau² estimator '{estimator}' (use one of {', '.join(ESTIMATORS)})")
    if solver not in SOLVERS:
        raise ReviewkitError(f"unknown solver '{solver}' (use exact or metafor)")
    if len(yi) < 2:
        return 0.0  # k = 1: nothing to estimate heterogeneity from; τ² = 0 by convention
    if estimator in _CLOSED:
        return _CLOSED[estimator](yi, vi)
    return _ITERATIVE[estimator](yi, vi, solver)


@dataclass(frozen=True, slots=True)
class Tau2Interval:
    """A Q-profile CI for τ², and whether a limit lies beyond the search range (metafor's tau2.max)."""

    lower: float
    upper: float
    #: True when the limit lies beyond `search_max` and `search_max` is reported in its place, as
    #: metafor does (confint() prints it as ">100.0000"); the lower limit is then beyond it too.
    lower_beyond: bool = False
    upper_beyond: bool = False
    #: The end of the range searched (solver "metafor": max(100, 10·τ̂²)); None for the exact solver.
    search_max: float | None = None


@lru_cache(maxsize=64)
def _chi2_quantiles(level: float, df: int) -> tuple[float, float]:
    """χ²_df quantiles at 1 − α/2 and α/2 (cached: a leave-one-out asks k times for the same pair)."""
    alpha = 1 - level
    return float(stats.chi2.ppf(1 - alpha / 2, df)), float(stats.chi2.ppf(alpha / 2, df))


def tau2_qprofile_interval(
    yi: np.ndarray, vi: np.ndarray, level: float = 0.95, *, solver: str = "exact", tau2: float = 0.0,
) -> Tau2Interval:
    """Q-profile CI for τ² (Viechtbauer 2007): Q_gen(τ²) = χ²_{k−1} quantiles, truncated at 0.

    As metafor confint.rma.uni: the lower bound solves Q_gen = χ²(1−α/2), the upper Q_gen = χ²(α/2).
    With solver="metafor" both are found as metafor does: uniroot() on [0, tau2.max], tau2.max =
    max(100, 10·τ̂²) (`tau2` is the model's estimate τ̂²); a limit beyond tau2.max is reported as
    tau2.max and flagged (metafor's ">" sign). The exact solver widens its bracket until it holds
    the root, so its limits are never cut.
    """
    hi_crit, lo_crit = _chi2_quantiles(level, len(yi) - 1)
    if solver == "metafor":
        tmax = max(100.0, 10 * tau2)

        def bound(crit: float) -> tuple[float, bool]:
            def f(t: float) -> float:
                return q_generalised(t, yi, vi) - crit

            if f(0.0) < 0:
                return 0.0, False
            if f(tmax) > 0:
                return tmax, True
            return zeroin(f, 0.0, tmax), False

        (lower, lower_beyond), (upper, upper_beyond) = bound(hi_crit), bound(lo_crit)
        return Tau2Interval(lower, upper, lower_beyond, upper_beyond, tmax)
    start = max(tau2_dl(yi, vi), 0.01)
    lower = _root_from_zero(lambda t: q_generalised(t, yi, vi) - hi_crit, start)
    upper = _root_from_zero(lambda t: q_generalised(t, yi, vi) - lo_crit, start)
    return Tau2Interval(lower, upper)


def tau2_qprofile_ci(
    yi: np.ndarray, vi: np.ndarray, level: float = 0.95, *, solver: str = "exact", tau2: float = 0.0,
) -> tuple[float, float]:
    """The limits of tau2_qprofile_interval() (with solver "metafor", cut at the search bound)."""
    ci = tau2_qprofile_interval(yi, vi, level, solver=solver, tau2=tau2)
    return ci.lower, ci.upper


def typical_variance(vi: np.ndarray) -> float:
    """The 'typical' within-study variance s² = (k−1)Σw / ((Σw)² − Σw²) (Higgins & Thompson 2002)."""
    w = 1 / vi
    return float((len(vi) - 1) * np.sum(w) / cross_weights(w))

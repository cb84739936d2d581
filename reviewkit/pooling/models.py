"""Provides the pooling models: inverse variance (fixed/random, HKSJ), Mantel-Haenszel and Peto."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.effects import BinaryArms, EffectSizes, peto_effects, peto_terms
from reviewkit.pooling.estimators import (
    estimate_tau2,
    fixed_weights_q,
    tau2_dl_from_q,
    tau2_qprofile_interval,
    typical_variance,
)
from reviewkit.pooling.flavours import Flavour, get_flavour
from reviewkit.pooling.results import MetaResult

METHODS: tuple[str, ...] = ("IV", "MH", "Peto")
MODELS: tuple[str, ...] = ("fixed", "random")


@dataclass(frozen=True, slots=True)
class FixedEstimate:
    """A fixed-effect estimate with its standard error and per-study weights (unnormalised)."""

    estimate: float
    se: float
    weights: np.ndarray


def mantel_haenszel(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, measure: str,
    rd_variance: str = "greenland-robins", rd_variance_cells: tuple[np.ndarray, ...] | None = None,
) -> FixedEstimate:
    """Mantel-Haenszel pooled log OR, log RR or RD.

    Variances: Robins-Breslow-Greenland (1986) for OR, Greenland-Robins (1985) for RR; for RD either
    Greenland-Robins (RevMan 5, Stata metan) or Sato-Greenland-Robins (1989, metafor rma.mh). For the
    Greenland-Robins RD, `rd_variance_cells` (a, n1, c, n2 with zero-cell studies corrected) gives the
    counts of its numerator, as RevMan 5 computes it; the estimate and its weights keep a, n1, c, n2.
    References: Deeks & Higgins (2010) §2.1.1; checked against metafor 3.8.1 rma.mh and RevMan 5 (Fleiss 1993).
    """
    b, d = n1 - a, n2 - c
    nn = n1 + n2
    if measure == "OR":
        r_i, s_i = a * d / nn, b * c / nn
        r, s = r_i.sum(), s_i.sum()
        _require_positive(r, s, measure)
        e = np.sum((a + d) * a * d / nn**2)
        f = np.sum(((a + d) * b * c + (b + c) * a * d) / nn**2)
        g = np.sum((b + c) * b * c / nn**2)
        var = 0.5 * (e / r**2 + f / (r * s) + g / s**2)
        return FixedEstimate(math.log(r / s), math.sqrt(var), s_i)
    if measure == "RR":
        r_i, s_i = a * n2 / nn, c * n1 / nn
        r, s = r_i.sum(), s_i.sum()
        _require_positive(r, s, measure)
        p = np.sum((n1 * n2 * (a + c) - a * c * nn) / nn**2)
        return FixedEstimate(math.log(r / s), math.sqrt(p / (r * s)), s_i)
    if measure == "RD":
        w = n1 * n2 / nn
        kk = w.sum()
        est = float(np.sum((a * n2 - c * n1) / nn) / kk)
        if rd_variance == "sato":
            p = np.sum((n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / nn**2)
            q = np.sum((a * (n2 - c) + c * (n1 - a)) / (2 * nn))
            var = (est * p + q) / kk**2
        else:
            va, vn1, vc, vn2 = rd_variance_cells if rd_variance_cells is not None else (a, n1, c, n2)
            vb, vd, vnn = vn1 - va, vn2 - vc, vn1 + vn2
            var = np.sum((va * vb * vn2**3 + vc * vd * vn1**3) / (vn1 * vn2 * vnn**2)) / kk**2
        return FixedEstimate(est, math.sqrt(var), w)
    raise ReviewkitError(f"Mantel-Haenszel needs a binary measure (RR, OR, RD), not '{measure}'")


def _require_positive(r: float, s: float, measure: str) -> None:
    if r <= 0 or s <= 0:
        arm = "experimental" if r <= 0 else "control"
        raise ReviewkitError(
            f"the Mantel-Haenszel {measure} is undefined: the {arm} arm's side of the sum is 0 "
            "(no events, or no non-events, across all studies)", hint="use the inverse-variance method")


def _binary_arrays(effects: EffectSizes, inc: np.ndarray, correct: bool) -> tuple[np.ndarray, ...]:
    arms = effects.arms
    if not isinstance(arms, BinaryArms):
        raise ReviewkitError("Mantel-Haenszel and Peto need events/totals per arm (binary data)")
    a, n1 = np.asarray(arms.events_treat)[inc], np.asarray(arms.n_treat)[inc]
    c, n2 = np.asarray(arms.events_ctrl)[inc], np.asarray(arms.n_ctrl)[inc]
    if correct:
        # as RevMan 5: the 0.5 added to zero-cell studies enters the pooled MH/Peto sums too
        add = np.where(effects.corrected[inc], 0.5, 0.0)
        a, c, n1, n2 = a + add, c + add, n1 + 2 * add, n2 + 2 * add
    return a, n1, c, n2


@lru_cache(maxsize=256)
def _crit(level: float, df: int | None) -> float:
    # cached: a leave-one-out or cumulative analysis asks again and again for the same quantile
    alpha = 1 - level
    if df is None:
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


# The tail areas come straight from scipy.special: the functions scipy.stats' norm, t and chi2 sf()
# evaluate, without their argument checking, which costs more than the rest of a refit's p-values.
def _p_value(stat: float, df: int | None) -> float:
    if df is None:
        return float(2 * special.ndtr(-abs(stat)))
    return float(2 * special.stdtr(df, -abs(stat)))


def pool(
    effects: EffectSizes, *, method: str = "IV", model: str = "random", estimator: str | None = "REML",
    hksj: bool = False, level: float = 0.95, flavour: str | Flavour = "metafor",
    warnings: tuple[str, ...] = (), prediction_interval: bool | None = None, hksj_adhoc: bool = False,
) -> MetaResult:
    """Pool per-study effect sizes into one summary with heterogeneity statistics.

    - IV: inverse-variance weights, fixed or random effects (any tau² estimator, optional HKSJ).
    - MH: Mantel-Haenszel fixed effect; Q around the MH estimate with IV weights (as metafor rma.mh
      and RevMan 5). Under random effects, RevMan 5's model: DL τ² from that MH-centred Q, then
      inverse-variance pooling with 1/(v + τ²) (another estimator is applied to the IV estimates).
    - Peto: fixed-effect Peto log OR; the result's per-study estimates are then the Peto ones,
      (O − E)/V with variance 1/V (peto_effects()), not the ordinary odds ratios.

    `hksj_adhoc` is the ad hoc ("modified") Hartung-Knapp of Röver, Knapp & Friede (2015, BMC Med Res
    Methodol 15:99; R meta's adhoc.hakn.ci = "se"): the SE √(max(1, q)/Σw*) with the same t(k−1), so the
    interval is never narrower than the plain 1/√Σw* SE gives with t(k−1). It modifies HKSJ (of any
    random-effects model): without it, or under a fixed-effect model, it is ignored with a note, as HKSJ is
    under a fixed-effect model.

    `prediction_interval` says whether text and plots show the prediction interval (None: the flavour's
    choice); it is computed, as the flavour's pi_method says, either way, and is never shown under a
    fixed-effect model, which has none.

    References: Deeks & Higgins, Statistical algorithms in Review Manager 5 (2010); Viechtbauer (2010)
    J Stat Softw 36(3). Checked against metafor 3.8.1 (fixtures/metafor) and RevMan 5 (Fleiss 1993).
    """
    fl = flavour if isinstance(flavour, Flavour) else get_flavour(flavour)
    _check_settings(effects, method, model, estimator, level)
    if method == "Peto":
        effects = peto_effects(effects, add_to_zero_cells=fl.peto_study_zero_cells)
    inc = np.asarray(effects.included, dtype=bool)
    k = int(inc.sum())
    if k == 0:
        raise ReviewkitError(
            f"no study can be pooled for {effects.measure}: every study was left out "
            f"({'; '.join(f'{e.study}: {e.reason}' for e in effects.excluded)})",
            hint="use RD, which keeps studies without events")
    yi, vi = np.asarray(effects.yi)[inc], np.asarray(effects.vi)[inc]
    positions = tuple(np.flatnonzero(inc).tolist())
    labels = tuple(map(effects.studies.__getitem__, positions))
    notes = list(warnings)
    if hksj and model == "fixed":
        name = "HKSJ (and its ad hoc variant)" if hksj_adhoc else "HKSJ"
        notes.append(f"{name} applies to random-effects models only; ignored for a fixed-effect model")
        hksj = False
    elif hksj_adhoc and not hksj:
        # asked for, yet it has nothing to modify: said, as HKSJ under a fixed-effect model is
        off = "a fixed-effect model has no HKSJ" if model == "fixed" else "HKSJ is off"
        notes.append(f"the ad hoc Hartung-Knapp variant (max(1, q)) modifies HKSJ, but {off}; ignored")
    if hksj and k < 2:
        notes.append("HKSJ needs at least 2 studies; a z-based interval is shown")
        hksj = False
    hksj_adhoc = hksj_adhoc and hksj
    if prediction_interval and model == "fixed":
        # asked for, not merely the flavour's default: said, as HKSJ is, rather than silently not shown
        notes.append("a prediction interval applies to random-effects models only; a fixed-effect model has none")
    show_pi = fl.show_prediction_interval if prediction_interval is None else prediction_interval
    show_pi = show_pi and model == "random"

    fixed: FixedEstimate | None = None
    q_k = k  # the studies Q sums over (fewer than k only for metafor's MH risk difference)
    if method == "IV":
        q, mu_fe = fixed_weights_q(yi, vi)
        fixed = FixedEstimate(mu_fe, math.sqrt(1 / np.sum(1 / vi)), 1 / vi)
    elif method == "MH":
        correct = fl.correct_pooled_zero_cells
        if effects.measure == "RD":
            # RevMan 5 / R meta (MH.exact = FALSE): the RD and its weights from the counts as entered, the
            # 0.5 of zero-cell studies in the Greenland-Robins variance only (else a double zero adds 0)
            a, n1, c, n2 = _binary_arrays(effects, inc, False)
            var_cells = _binary_arrays(effects, inc, True) if correct else None
            fixed = mantel_haenszel(a, n1, c, n2, "RD", fl.mh_rd_variance, rd_variance_cells=var_cells)
        else:
            a, n1, c, n2 = _binary_arrays(effects, inc, correct)
            fixed = mantel_haenszel(a, n1, c, n2, effects.measure, fl.mh_rd_variance)
        q = float(np.sum((yi - fixed.estimate) ** 2 / vi))
        if effects.measure == "RD" and model == "fixed" and fl.mh_rd_q_drops_double_zeros:
            # metafor rma.mh (drop00): a double zero's outcome is NA, so it adds neither to Q nor to its df;
            # its table still counts in the MH estimate (a difference of 0 with weight n1·n2/N).
            a0, n10, c0, n20 = _binary_arrays(effects, inc, False)
            kept = ~(((a0 == 0) & (c0 == 0)) | ((a0 == n10) & (c0 == n20)))
            if not kept.all():
                q = float(np.sum((yi[kept] - fixed.estimate) ** 2 / vi[kept]))
                q_k = int(kept.sum())
                notes.append(f"{k - q_k} {'study' if k - q_k == 1 else 'studies'} without events in either arm "
                             "(or with events in all) left out of Q, as metafor rma.mh does; kept in the "
                             "Mantel-Haenszel estimate")
    else:
        a, n1, c, n2 = _binary_arrays(effects, inc, False)  # Peto needs no zero-cell correction
        o_e, v = peto_terms(a, n1, c, n2)
        fixed = FixedEstimate(float(o_e.sum() / v.sum()), math.sqrt(1 / v.sum()), v)
        # Q_Peto = Σ(O−E)²/V − (Σ(O−E))²/ΣV from the raw counts (RevMan 5; equals metafor rma.peto's)
        q = float(np.sum(o_e**2 / v) - o_e.sum() ** 2 / v.sum())

    tau2 = 0.0
    fixed_fields: dict[str, float | None] = {}
    if model == "fixed":
        est, se_plain, weights = fixed.estimate, fixed.se, fixed.weights
        se, df = se_plain, None
    else:
        assert estimator is not None
        if k == 1:
            # said, as the prediction interval's absence is: the settings line still names the estimator
            notes.append(f"τ² is not estimable from 1 study ({estimator} needs at least 2): it is taken as 0, "
                         "so the random-effects result is the fixed-effect one")
        if method == "MH" and estimator == "DL":
            tau2 = tau2_dl_from_q(q, vi) if k > 1 else 0.0  # RevMan 5: DL from the MH-centred Q
        else:
            tau2 = estimate_tau2(yi, vi, estimator, fl.solver)
        weights = 1 / (vi + tau2)
        est = float(np.sum(weights * yi) / np.sum(weights))
        se_plain = math.sqrt(1 / np.sum(weights))
        se, df = se_plain, None
        if hksj:
            qw = float(np.sum(weights * (yi - est) ** 2)) / (k - 1)
            if hksj_adhoc:
                # q < 1 would make the HK interval narrower than the plain SE's (Röver et al. 2015)
                qw = max(1.0, qw)
            se, df = math.sqrt(qw / np.sum(weights)), k - 1
        if method != "IV":
            z0 = _crit(level, None)
            fixed_fields = {"fixed_estimate": fixed.estimate, "fixed_se": fixed.se,
                            "fixed_ci_lower": fixed.estimate - z0 * fixed.se,
                            "fixed_ci_upper": fixed.estimate + z0 * fixed.se}
    # the ad hoc variant's SE is the plain one then (max(1, 0) = 1): nothing is of zero width
    identical = hksj and not hksj_adhoc and _same_estimates(yi)
    # Estimates that differ, yet only where the weight is negligible (one study with nearly all of it):
    # the HK SE is then truly tiny, not noise, so it is kept, but the interval it gives is said to be
    # far narrower than the plain SE's rather than passed off as the "same estimate" case.
    swamped = hksj and not hksj_adhoc and not identical and se <= _SAME_TOLERANCE * se_plain
    if identical:
        se = 0.0  # only float noise (0.3 − 0.1 vs 0.5 − 0.3) kept it above 0: read as the exact case
    crit = _crit(level, df)
    # HKSJ's SE is 0 when every estimate is identical; the test is then undefined (None), not an error
    stat = est / se if se > 0 else math.nan
    het = _heterogeneity(q, q_k, tau2, vi, yi, model, fl, level, notes)
    pi = _prediction_interval(est, se, se_plain, tau2, k, model, hksj, fl.pi_method, level)
    if show_pi and pi[0] is None:
        # Asked for (or the flavour's default) yet undefined: said, not left out without a word.
        notes.append(f"the prediction interval is not estimable with {k} {'study' if k == 1 else 'studies'}"
                     + (" (t with k − 2 df needs at least 3)" if pi[2] == "t(k-2)" else " (it needs at least 2)"))
    if identical:
        # metafor gives the same numbers; they are kept, but a zero-width interval must not pass as precision
        # The t(k−2) prediction interval is built from the plain SE, so it keeps its width.
        both = pi[0] is not None and pi[2] != "t(k-2)"
        intervals = "confidence and prediction intervals have" if both else "confidence interval has"
        notes.append(f"every study has the same estimate, so the Hartung-Knapp standard error is 0: the {intervals} "
                     "zero width and the t test is undefined; they are not informative (use the ad hoc "
                     "Hartung-Knapp, max(1, q), as Röver et al. 2015 suggest: hksj_adhoc = true in review.toml, "
                     "--hksj-adhoc for reviewkit meta; or turn HKSJ off)")
    elif swamped:
        notes.append("the studies whose estimates differ from the pooled one carry almost no weight, so the "
                     f"Hartung-Knapp standard error is {se / se_plain:.1g} times the plain one: the intervals are "
                     "far narrower than the plain standard error gives and are not informative (use the ad hoc "
                     "Hartung-Knapp, max(1, q), as Röver et al. 2015 suggest: hksj_adhoc = true in review.toml, "
                     "--hksj-adhoc for reviewkit meta; or turn HKSJ off)")
    elif se == 0:
        # e.g. the Sato variance of an MH risk difference when no study has an event (metafor's convention)
        notes.append("the pooled standard error is 0 (the data carry no variability, e.g. no events in any "
                     "study): the confidence interval has zero width and the test is undefined; they are not "
                     "informative")
    return MetaResult(
        measure=effects.measure, method=method, model=model,
        estimator=estimator if model == "random" else None, hksj=hksj, hksj_adhoc=hksj_adhoc,
        flavour=fl.name, level=level,
        effects=effects, studies=labels, positions=positions, k=k, estimate=float(est), se=float(se),
        ci_lower=float(est - crit * se), ci_upper=float(est + crit * se), statistic=float(stat),
        test_df=df, p=_p_value(stat, df) if se > 0 else math.nan,
        weights_percent=tuple((100 * weights / np.sum(weights)).tolist()),
        tau2=float(tau2), pi_lower=pi[0], pi_upper=pi[1], pi_method=pi[2], show_prediction_interval=show_pi,
        i2_method=fl.i2_method if model == "random" else "Q", warnings=tuple(notes),
        **het, **fixed_fields,  # type: ignore[arg-type]
    )


#: Estimates this close (relative to their size) differ by floating-point noise only: 0.3 − 0.1 and
#: 0.5 − 0.3 are both the MD 0.2. An HKSJ SE this small against the plain one is flagged too.
_SAME_TOLERANCE = 1e-10


def _same_estimates(yi: np.ndarray) -> bool:
    """Whether every study has the same estimate up to floating-point noise, so that the
    Hartung-Knapp SE is 0 (or noise) and its t test undefined."""
    return bool(np.ptp(yi) <= _SAME_TOLERANCE * max(1.0, float(np.max(np.abs(yi)))))


def _check_settings(effects: EffectSizes, method: str, model: str, estimator: str | None, level: float) -> None:
    if method not in METHODS:
        raise ReviewkitError(f"unknown method '{method}' (use IV, MH or Peto)")
    if model not in MODELS:
        raise ReviewkitError(f"unknown model '{model}' (use fixed or random)")
    if model == "random" and estimator is None:
        raise ReviewkitError("a random-effects model needs a tau² estimator (e.g. REML or DL)")
    if method in ("MH", "Peto") and effects.measure not in ("RR", "OR", "RD"):
        raise ReviewkitError(f"method {method} needs binary data; measure is '{effects.measure}'")
    if method == "Peto":
        if effects.measure != "OR":
            raise ReviewkitError(f"the Peto method estimates an odds ratio; measure is '{effects.measure}'")
        if model != "fixed":
            raise ReviewkitError("the Peto method is fixed-effect only (as in RevMan)", hint="use --model fixed")
    if not 0 < level < 1:
        raise ReviewkitError(f"confidence level must be between 0 and 1 (got {level})")


def _heterogeneity(
    q: float, k: int, tau2: float, vi: np.ndarray, yi: np.ndarray, model: str, fl: Flavour, level: float,
    notes: list[str],
) -> dict[str, float | int | None]:
    """Q, its p, I², H² and (random effects) the Q-profile CIs of τ² and I²; None when k = 1.

    A τ² limit beyond the range searched (flavours reproducing metafor) is flagged and noted.
    """
    out: dict[str, float | int | None] = {"Q": None, "Q_df": None, "Q_p": None, "I2": None, "H2": None}
    if k < 2:
        return out  # heterogeneity is undefined with one study
    df = k - 1
    q_i2 = max(0.0, (q - df) / q) * 100 if q > 0 else 0.0
    out.update(Q=q, Q_df=df, Q_p=float(special.chdtrc(df, q)))
    s2 = typical_variance(vi)
    if model == "random" and fl.i2_method == "tau2":
        out.update(I2=100 * tau2 / (tau2 + s2), H2=(tau2 + s2) / s2)
    else:
        out.update(I2=q_i2, H2=q / df)
    if model == "random":
        ci = tau2_qprofile_interval(yi, vi, level, solver=fl.solver, tau2=tau2)
        lo, hi = ci.lower, ci.upper
        out.update(tau2_ci_lower=lo, tau2_ci_upper=hi,
                   I2_ci_lower=100 * lo / (lo + s2), I2_ci_upper=100 * hi / (hi + s2))
        if ci.upper_beyond:
            out.update(tau2_ci_lower_beyond=ci.lower_beyond, tau2_ci_upper_beyond=True)
            limits = ("both limits of the tau² confidence interval lie" if ci.lower_beyond
                      else "the upper limit of the tau² confidence interval lies")
            bound = f"{ci.search_max:g}"
            place = "their" if ci.lower_beyond else "its"
            notes.append(f"{limits} beyond the search bound {bound}: {bound} is reported in {place} place, as "
                         f"metafor does (its tau2.max; read it as >{bound}), and the I² limit likewise")
    return out


def _prediction_interval(
    est: float, se: float, se_plain: float, tau2: float, k: int, model: str, hksj: bool, pi_method: str,
    level: float,
) -> tuple[float | None, float | None, str | None]:
    """Prediction interval for a new study's true effect (random effects only).

    `se` is the summary's SE as its CI uses it (Hartung-Knapp's under HKSJ), `se_plain` is 1/√Σw*. Higgins,
    Thompson & Spiegelhalter's t(k−2) interval (2009, eq. 12; R meta's default, Cochrane's) is built from
    the plain SE whether or not the CI is HKSJ's: HKSJ changes the summary's interval, not the prediction's.
    metafor's predict() under test="knha" takes the Hartung-Knapp SE with t(k−1).
    """
    if model != "random":
        return None, None, None
    if pi_method == "t(k-2)":
        if k < 3:
            return None, None, "t(k-2)"  # undefined: k − 2 = 0 df (Higgins et al. 2009)
        crit, name, se = _crit(level, k - 2), "t(k-2)", se_plain
    elif hksj:
        crit, name = _crit(level, k - 1), "t(k-1)"  # metafor predict() under test="knha"
    else:
        crit, name = _crit(level, None), "z"  # metafor predict() default
    if k < 2:
        return None, None, name
    half = crit * math.sqrt(se**2 + tau2)
    return est - half, est + half, name

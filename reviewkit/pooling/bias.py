"""Provides small-study-effect analyses: Egger's regression test, trim-and-fill (L0) and funnel-plot data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.effects import EffectSizes
from reviewkit.pooling.models import pool
from reviewkit.pooling.results import MetaResult, clean
from reviewkit.wording import counted


@dataclass(frozen=True, slots=True)
class EggerResult:
    """Egger's regression test: weighted regression of y_i on SE_i with weights 1/v_i."""

    #: Number of studies.
    k: int
    #: Slope on SE (the test of funnel asymmetry) with its t statistic, df = k − 2, and p.
    slope: float
    slope_se: float
    t: float
    df: int
    p: float
    #: Intercept: the estimate as SE → 0 (metafor's "limit estimate").
    intercept_limit_estimate: float
    #: Studies used.
    studies: tuple[str, ...]
    #: Warnings the user should see (fewer than 10 studies).
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The numbers under metafor regtest()'s names, and the warnings."""
        out: dict[str, Any] = clean({"analysis": "egger", "k": self.k, "t": self.t, "df": self.df, "p": self.p,
                      "slope": self.slope, "slope_se": self.slope_se,
                      "intercept_limit_estimate": self.intercept_limit_estimate,
                      "warnings": list(self.warnings)})
        return out


#: The Handbook (§13.3.5.4; Sterne et al. 2011) advises funnel-asymmetry methods only from 10 studies.
MIN_STUDIES_FOR_ASYMMETRY = 10


#: Standard errors this close (relative to their size) do not vary: there is no slope on SE to fit.
_SAME_SE_TOLERANCE = 1e-8


def _few_studies(k: int, what: str, studies: int | None = None) -> tuple[str, ...]:
    """The caution below 10 studies; `studies` counts the trials when several comparisons come from one
    (multi-arm trials), which is what the Handbook's 10 is about, not the number of points."""
    n = k if studies is None else studies
    if n >= MIN_STUDIES_FOR_ASYMMETRY:
        return ()
    on = (f"{counted(k, 'comparison')} from {counted(n, 'study', 'studies')}" if n != k
          else counted(k, "study", "studies"))
    return (f"{what} on {on}: the Cochrane Handbook (§13.3.5.4) advises tests for funnel plot asymmetry "
            f"only with at least {MIN_STUDIES_FOR_ASYMMETRY} studies; with fewer they have too little power to tell "
            "chance from real asymmetry",)


def _slope_on_se(yi: np.ndarray, vi: np.ndarray, what: str, why: str) -> tuple[np.ndarray, np.ndarray]:
    """The weighted (1/v_i) least-squares fit of y_i on SE_i: its coefficients, and XᵀWX.

    With SEs that do not vary the slope is not defined (XᵀWX is singular, or nearly so and the
    numbers garbage), so that is refused in words rather than left to numpy.
    """
    sei = np.sqrt(vi)
    if np.ptp(sei) <= _SAME_SE_TOLERANCE * float(np.max(sei)):
        raise ReviewkitError(f"{what} needs studies whose standard errors differ (all {sei.size} have SE "
                             f"{float(sei[0]):.4g}): {why}")
    x = np.column_stack([np.ones(sei.size), sei])
    w = 1 / vi
    xtwx = x.T @ (x * w[:, None])
    return np.linalg.solve(xtwx, x.T @ (w * yi)), xtwx


def egger_test(effects: EffectSizes, studies: int | None = None) -> EggerResult:
    """Egger's test (Egger et al. BMJ 1997) in metafor's regtest(model="lm", predictor="sei") form.

    Regressing y_i on SE_i with weights 1/v_i and a free dispersion is the same model as the
    classic regression of y_i/SE_i on 1/SE_i; its slope is the classic intercept. The Handbook
    (§13.3.5.4) advises it only with 10 or more studies: `studies` is their number when it is not
    the number of estimates (several comparisons of one multi-arm trial).
    """
    inc = np.asarray(effects.included, dtype=bool)
    yi, vi = np.asarray(effects.yi)[inc], np.asarray(effects.vi)[inc]
    k = yi.size
    if k < 3:
        raise ReviewkitError(f"Egger's test needs at least 3 studies (got {k})")
    beta, xtwx = _slope_on_se(yi, vi, "Egger's test", "it tests the slope of the estimates on their SEs")
    resid = yi - (beta[0] + beta[1] * np.sqrt(vi))
    sigma2 = float(np.sum(resid**2 / vi) / (k - 2))
    cov = sigma2 * np.linalg.inv(xtwx)
    se = float(np.sqrt(cov[1, 1]))
    t = float(beta[1] / se)
    return EggerResult(k, float(beta[1]), se, t, k - 2, float(2 * stats.t.sf(abs(t), k - 2)),
                       float(beta[0]), tuple(s for s, keep in zip(effects.studies, inc, strict=True) if keep),
                       _few_studies(k, "Egger's test", studies))


@dataclass(frozen=True, slots=True)
class TrimFillResult:
    """Trim-and-fill (Duval & Tweedie 2000): estimated missing studies and the filled-in analysis."""

    #: Estimated number of missing studies (L0 estimator).
    k0: int
    #: Side of the funnel where studies were imputed ("left" or "right").
    side: str
    #: Imputed estimates and variances (analysis scale).
    filled_yi: tuple[float, ...]
    filled_vi: tuple[float, ...]
    #: The model refitted on the observed plus imputed studies.
    result: MetaResult
    #: Warnings the user should see (fewer than 10 studies).
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """k0, side and the filled-in estimate and CI (as metafor trimfill()), and the warnings."""
        r = self.result
        out: dict[str, Any] = clean({"analysis": "trimfill", "k0": self.k0, "side": self.side, "estimate": r.estimate,
                      "se": r.se, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper,
                      "effect": r.effect, "effect_ci_lower": r.effect_ci[0],
                      "effect_ci_upper": r.effect_ci[1], "filled_yi": list(self.filled_yi),
                      "filled_vi": list(self.filled_vi), "warnings": list(self.warnings)})
        return out


def _iv_fit(yi: np.ndarray, vi: np.ndarray, measure: str, settings: dict[str, Any],
            ratio_scale: bool = False) -> MetaResult:
    k = yi.size
    # ratio_scale: generic ratios (hazard ratios) are logs too, and their filled-in effect is shown exponentiated
    eff = EffectSizes(measure=measure, studies=tuple(f"#{i + 1}" for i in range(k)), yi=yi, vi=vi,
                      included=np.ones(k, dtype=bool), corrected=np.zeros(k, dtype=bool), ratio_scale=ratio_scale)
    return pool(eff, **{**settings, "method": "IV"})


def trim_and_fill(effects: EffectSizes, side: str | None = None, maxiter: int = 100, *, studies: int | None = None,
                  **settings: Any) -> TrimFillResult:
    """Trim-and-fill with the L0 estimator, refitting with the given model each round.

    The side is chosen as metafor trimfill() does: from the sign of the slope of y_i on SE_i
    (a negative slope means studies are missing on the right). Checked against metafor 3.8.1
    (fixtures/metafor/*_trimfill.json). `studies` counts the trials behind the estimates when
    several come from one, for the caution below 10 studies.
    """
    inc = np.asarray(effects.included, dtype=bool)
    yi0, vi0 = np.asarray(effects.yi)[inc], np.asarray(effects.vi)[inc]
    k = yi0.size
    if k < 3:
        raise ReviewkitError(f"trim-and-fill needs at least 3 studies (got {k})")
    settings = {key: v for key, v in settings.items() if key != "method"}
    if side is None:
        slope = _slope_on_se(yi0, vi0, "trim-and-fill",
                             "it chooses the side of the funnel from the slope of the estimates on their SEs")[0][1]
        side = "right" if slope < 0 else "left"
    if side not in ("left", "right"):
        raise ReviewkitError(f"side must be left or right (got '{side}')")
    flip = -1.0 if side == "right" else 1.0  # work as if studies were missing on the left
    order = np.argsort(flip * yi0, kind="stable")
    yi, vi = flip * yi0[order], vi0[order]
    k0, previous, beta = 0, -1, 0.0
    for _ in range(maxiter):
        if k0 == previous:
            break
        previous = k0
        beta = _iv_fit(yi[: k - k0], vi[: k - k0], "generic", settings).estimate
        centred = yi - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)  # ties: first wins
        signed = np.sign(centred) * ranks
        s_r = float(np.sum(signed[signed > 0]))
        # L0 = (4·S_r − k(k+1)) / (2k − 1); R rounds half to even, as Python's round()
        k0 = max(0, round((4 * s_r - k * (k + 1)) / (2 * k - 1)))
    else:
        raise ReviewkitError("trim-and-fill did not converge")
    filled = 2 * beta - yi[k - k0:]
    filled_vi = vi[k - k0:]
    all_y = np.concatenate([yi0, flip * filled])
    all_v = np.concatenate([vi0, filled_vi])
    result = _iv_fit(all_y, all_v, effects.measure, settings, effects.ratio_scale)
    return TrimFillResult(k0, side, tuple(float(v) for v in flip * filled), tuple(float(v) for v in filled_vi), result,
                          _few_studies(k, "Trim-and-fill", studies))


@dataclass(frozen=True, slots=True)
class FunnelData:
    """What a funnel plot draws: per-study estimate and SE, the pooled line and pseudo 95% limits."""

    measure: str
    studies: tuple[str, ...]
    yi: tuple[float, ...]
    sei: tuple[float, ...]
    #: The fixed/pooled estimate the funnel is centred on.
    centre: float
    #: z used for the pseudo-confidence limits (1.96 for 95%).
    z: float
    #: Imputed studies from trim-and-fill, if any (estimate, SE).
    filled: tuple[tuple[float, float], ...] = ()


def funnel_data(result: MetaResult, trimfill: TrimFillResult | None = None) -> FunnelData:
    """Funnel plot coordinates from a pooled result (and optionally its trim-and-fill)."""
    idx = result.positions
    filled: tuple[tuple[float, float], ...] = ()
    if trimfill is not None:
        filled = tuple((y, float(np.sqrt(v))) for y, v in zip(trimfill.filled_yi, trimfill.filled_vi, strict=True))
    return FunnelData(
        measure=result.measure, studies=result.studies,
        yi=tuple(float(result.effects.yi[i]) for i in idx),
        sei=tuple(float(np.sqrt(result.effects.vi[i])) for i in idx),
        centre=result.estimate, z=float(stats.norm.ppf(0.5 + result.level / 2)), filled=filled,
    )

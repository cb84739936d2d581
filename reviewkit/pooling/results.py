"""Provides the result objects of a meta-analysis and their JSON-safe views (never NaN, None when undefined)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from reviewkit import __version__
from reviewkit.pooling.effects import EffectSizes


def exp_or_inf(x: float) -> float:
    """e**x, or inf where it overflows (a log ratio's CI limit past ~709): math.exp would raise, and an
    interval too wide for a double reads as unbounded, which clean() makes null in the JSON."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def clean(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None, tuples to lists."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


@dataclass(frozen=True, slots=True)
class MetaResult:
    """One pooled meta-analysis: settings, the studies it used, the summary and heterogeneity.

    Ratio measures (RR, OR) are on the log scale in every numeric field; `effect`, `effect_ci`
    and `effect_pi` back-transform them. Quantities that are undefined (heterogeneity with one
    study, a prediction interval with too few studies or a fixed-effect model) are None, never NaN.
    """

    #: Effect measure: RR, OR, RD, MD, SMD or generic.
    measure: str
    #: Pooling method: IV (inverse variance), MH (Mantel-Haenszel) or Peto.
    method: str
    #: "fixed" (common effect) or "random".
    model: str
    #: tau² estimator (DL, REML, PM, ML, HE, SJ, EB); None for a fixed-effect model.
    estimator: str | None
    #: True when the Hartung-Knapp-Sidik-Jonkman variance and t quantiles were used.
    hksj: bool
    #: True when that HKSJ variance was the ad hoc one, max(1, q)/Σw* (Röver et al. 2015), whether or not
    #: q < 1 made it differ from plain HKSJ; False whenever `hksj` is.
    hksj_adhoc: bool
    #: Conventions followed: "revman5", "metafor" or "cochrane2025".
    flavour: str
    #: Confidence level of every interval (0.95 for 95%).
    level: float
    #: All input studies with their estimates, including those left out.
    effects: EffectSizes
    #: Labels of the studies that entered the pooling, in input order.
    studies: tuple[str, ...]
    #: Their positions in `effects` (labels may repeat, e.g. two experiments of one paper).
    positions: tuple[int, ...]
    #: Number of studies pooled.
    k: int
    #: Pooled estimate (log scale for ratios).
    estimate: float
    #: Its standard error (the HKSJ one under HKSJ, with max(1, q) under its ad hoc variant).
    se: float
    #: Confidence interval of the estimate.
    ci_lower: float
    ci_upper: float
    #: Test statistic: z, or t under HKSJ.
    statistic: float
    #: Degrees of freedom of a t test (None for z).
    test_df: int | None
    #: Two-sided p-value of the test of no effect.
    p: float
    #: Per-study weights in percent, aligned with `studies`.
    weights_percent: tuple[float, ...]
    #: Cochran's Q (around the MH/Peto/IV fixed estimate, per method), its df and p.
    Q: float | None
    Q_df: int | None
    Q_p: float | None
    #: I² in percent and H²; None for k = 1.
    I2: float | None
    H2: float | None
    #: Between-study variance (0 under a fixed-effect model).
    tau2: float
    #: Q-profile confidence interval of tau² and the matching one of I² (random effects, k ≥ 2).
    tau2_ci_lower: float | None = None
    tau2_ci_upper: float | None = None
    I2_ci_lower: float | None = None
    I2_ci_upper: float | None = None
    #: True when that τ² limit (and the I² one) lies beyond the range searched, whose end is then
    #: reported in its place, as metafor does (its confint() prints ">100.0000"); a warning says so.
    tau2_ci_lower_beyond: bool = False
    tau2_ci_upper_beyond: bool = False
    #: Prediction interval (random effects); None when undefined.
    pi_lower: float | None = None
    pi_upper: float | None = None
    #: How the prediction interval was formed: "z", "t(k-1)" or "t(k-2)".
    pi_method: str | None = None
    #: Whether text and plots show the prediction interval: the analysis's prediction_interval setting,
    #: else its flavour's (revman5: no, as RevMan 5); False under a fixed-effect model, which has none.
    #: The numbers above are computed, and in the JSON, either way.
    show_prediction_interval: bool = True
    #: How I² was formed: "tau2" (τ²/(τ²+s²), metafor) or "Q" ((Q−df)/Q, RevMan 5).
    i2_method: str = "tau2"
    #: The fixed-effect (MH/Peto/IV) estimate behind a random-effects MH analysis, else None.
    fixed_estimate: float | None = None
    fixed_se: float | None = None
    fixed_ci_lower: float | None = None
    fixed_ci_upper: float | None = None
    #: Warnings the user should see (e.g. a shared control counted twice).
    warnings: tuple[str, ...] = ()
    #: reviewkit version that computed the result.
    version: str = __version__

    @property
    def is_ratio(self) -> bool:
        """True for RR and OR."""
        return self.effects.is_ratio

    def _back(self, x: float | None) -> float | None:
        return None if x is None else self._back_value(x)

    def _back_value(self, x: float) -> float:
        return float(exp_or_inf(x) if self.is_ratio else x)

    @property
    def effect(self) -> float:
        """The pooled effect on its natural scale (RR/OR exponentiated)."""
        return self._back_value(self.estimate)

    @property
    def effect_ci(self) -> tuple[float, float]:
        """The confidence interval on the natural scale."""
        return self._back_value(self.ci_lower), self._back_value(self.ci_upper)

    @property
    def effect_pi(self) -> tuple[float | None, float | None]:
        """The prediction interval on the natural scale (None when undefined)."""
        return self._back(self.pi_lower), self._back(self.pi_upper)

    def conf_int(self, level: float = 0.95) -> tuple[float, float]:
        """The CI at another level, using the same standard error and reference distribution."""
        alpha = 1 - level
        crit = (stats.t.ppf(1 - alpha / 2, self.test_df) if self.test_df
                else stats.norm.ppf(1 - alpha / 2))
        return self.estimate - crit * self.se, self.estimate + crit * self.se

    @property
    def notes(self) -> tuple[str, ...]:
        """How study estimates were made where a reader must know it: 0.5 added to the cells of a study
        with a zero cell. None under Peto, whose O − E and V use the counts as they are."""
        return () if self.method == "Peto" else self.effects.notes

    def study_rows(self) -> list[dict[str, Any]]:
        """One dict per input study: label, estimate, CI (natural scale) and weight; None if left out."""
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        weight = dict(zip(self.positions, self.weights_percent, strict=True))
        rows = []
        for i, name in enumerate(self.effects.studies):
            y, v = float(self.effects.yi[i]), float(self.effects.vi[i])
            ok = i in weight
            lo, hi = y - z * math.sqrt(v) if ok else None, y + z * math.sqrt(v) if ok else None
            rows.append({
                "study": name, "yi": y if ok else None, "vi": v if ok else None,
                "effect": self._back(y) if ok else None, "ci_lower": self._back(lo),
                "ci_upper": self._back(hi), "weight_percent": weight.get(i),
            })
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The numbers under the reference cases' keys (log scale for ratios) plus back-transformed ones."""
        inc = self.positions
        out: dict[str, Any] = {
            "measure": self.measure, "method": self.method, "model": self.model,
            "tau2_estimator": self.estimator, "hksj": self.hksj, "hksj_adhoc": self.hksj_adhoc,
            "flavour": self.flavour,
            "level": self.level, "k": self.k, "studies": list(self.studies),
            "estimate": self.estimate, "se": self.se, "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper, "z": self.statistic, "test_df": self.test_df, "p": self.p,
            "Q": self.Q, "Q_df": self.Q_df, "Q_p": self.Q_p, "I2": self.I2, "H2": self.H2,
            "tau2": self.tau2, "tau2_ci_lower": self.tau2_ci_lower, "tau2_ci_upper": self.tau2_ci_upper,
            "I2_ci_lower": self.I2_ci_lower, "I2_ci_upper": self.I2_ci_upper,
            "tau2_ci_lower_beyond": self.tau2_ci_lower_beyond, "tau2_ci_upper_beyond": self.tau2_ci_upper_beyond,
            "pi_lower": self.pi_lower, "pi_upper": self.pi_upper, "pi_method": self.pi_method,
            "show_prediction_interval": self.show_prediction_interval,
            "weights_percent": list(self.weights_percent),
            "yi": [float(self.effects.yi[i]) for i in inc],
            "vi": [float(self.effects.vi[i]) for i in inc],
            "effect": self.effect, "effect_ci_lower": self.effect_ci[0],
            "effect_ci_upper": self.effect_ci[1],
            "effect_pi_lower": self.effect_pi[0], "effect_pi_upper": self.effect_pi[1],
            "excluded": [{"study": e.study, "reason": e.reason} for e in self.effects.excluded],
            "notes": list(self.notes), "warnings": list(self.warnings), "version": self.version,
        }
        if self.fixed_estimate is not None:
            out.update(fixed_estimate=self.fixed_estimate, fixed_se=self.fixed_se,
                       fixed_ci_lower=self.fixed_ci_lower, fixed_ci_upper=self.fixed_ci_upper)
        safe: dict[str, Any] = clean(out)
        return safe

"""Provides meta_analysis(), the entry point the CLI and the analyze service call with per-study rows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.effects import (
    BINARY_MEASURES,
    CONTINUOUS_MEASURES,
    EffectSizes,
    binary_effects,
    check_poolable,
    continuous_effects,
    generic_effects,
)
from reviewkit.pooling.flavours import DEFAULT_FLAVOUR, Flavour, get_flavour
from reviewkit.pooling.models import pool
from reviewkit.pooling.results import MetaResult

BINARY_COLUMNS = ("events_treat", "n_treat", "events_ctrl", "n_ctrl")
CONTINUOUS_COLUMNS = ("mean_treat", "sd_treat", "n_treat", "mean_ctrl", "sd_ctrl", "n_ctrl")
MEASURES: tuple[str, ...] = (*BINARY_MEASURES, *CONTINUOUS_MEASURES, "generic")


@dataclass(frozen=True, slots=True)
class MetaSettings:
    """Fully resolved settings of one analysis (flavour defaults filled in)."""

    #: Effect measure.
    measure: str
    #: IV, MH or Peto.
    method: str
    #: fixed or random.
    model: str
    #: tau² estimator (None for fixed effect).
    estimator: str | None
    #: Hartung-Knapp-Sidik-Jonkman adjustment.
    hksj: bool
    #: The conventions followed.
    flavour: Flavour
    #: Confidence level.
    level: float = 0.95
    #: Whether text and plots show the prediction interval (it is computed either way). Explicitly true
    #: under a fixed-effect model it is kept, so that pool() says the model has none (as with hksj).
    prediction_interval: bool = True
    #: The ad hoc Hartung-Knapp variant, max(1, q) (Röver et al. 2015). Kept as asked even without HKSJ, so
    #: that pool() says it was ignored, as it says of hksj under a fixed-effect model.
    hksj_adhoc: bool = False

    def pool_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for models.pool()."""
        return {"method": self.method, "model": self.model, "estimator": self.estimator,
                "hksj": self.hksj, "hksj_adhoc": self.hksj_adhoc, "level": self.level, "flavour": self.flavour,
                "prediction_interval": self.prediction_interval}


def resolve_settings(
    measure: str, *, method: str | None = None, model: str | None = None, tau2: str | None = None,
    hksj: bool | None = None, flavour: str | Flavour = DEFAULT_FLAVOUR, level: float = 0.95,
    prediction_interval: bool | None = None, hksj_adhoc: bool = False,
) -> MetaSettings:
    """Fill unset settings from the flavour (e.g. cochrane2025: random, REML, HKSJ, a prediction interval
    shown; revman5: none shown, as RevMan 5). No flavour defaults to the ad hoc HKSJ: it is asked for."""
    if measure not in MEASURES:
        raise ReviewkitError(f"unknown measure '{measure}' (use one of {', '.join(MEASURES)})")
    fl = flavour if isinstance(flavour, Flavour) else get_flavour(flavour)
    model = model or fl.default_model
    if method is None:
        if measure in BINARY_MEASURES:
            method = fl.default_binary_method_fixed if model == "fixed" else fl.default_binary_method_random
        else:
            method = "IV"
    estimator = (tau2 or fl.default_estimator) if model == "random" else None
    if hksj is None:
        hksj = fl.default_hksj and model == "random"
    if prediction_interval is None:
        prediction_interval = fl.show_prediction_interval and model == "random"
    return MetaSettings(measure, method, model, estimator, bool(hksj), fl, level, prediction_interval,
                        bool(hksj_adhoc))


def _cell(row: Mapping[str, Any], col: str, i: int) -> Any:
    if col not in row:
        raise ReviewkitError(f"study {i + 1}: column '{col}' is missing")
    value = row[col]
    if value is None or (isinstance(value, str) and value.strip() == ""):
        raise ReviewkitError(f"study '{row.get('study', i + 1)}': column '{col}' is empty")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ReviewkitError(f"study '{row.get('study', i + 1)}': column '{col}' is not a number ({value!r})") from None
    if math.isnan(number):
        raise ReviewkitError(f"study '{row.get('study', i + 1)}': column '{col}' is empty")
    return number


def effects_from_rows(
    rows: Sequence[Mapping[str, Any]], measure: str, *, smd_variance: str = "metafor",
    use_subgroups: bool = False, generic_scale: str = "difference", rd_estimate: str = "metafor",
) -> EffectSizes:
    """Per-study effect sizes from rows with the reference cases' column names.

    Binary rows: study, events_treat, n_treat, events_ctrl, n_ctrl. Continuous rows: study,
    mean_treat, sd_treat, n_treat, mean_ctrl, sd_ctrl, n_ctrl. Generic rows: study with yi and vi,
    yi and se, or estimate, ci_lower and ci_upper (95%); with generic_scale="ratio", yi are logs
    and estimate/CI are ratios. An optional `subgroup` column is used when `use_subgroups` is True.
    """
    if generic_scale not in ("difference", "ratio"):
        raise ReviewkitError(f"unknown generic scale '{generic_scale}' (use difference or ratio)")
    if not rows:
        raise ReviewkitError("no studies to analyse")
    studies = [str(r.get("study") or f"Study {i + 1}") for i, r in enumerate(rows)]
    subgroups = None
    if use_subgroups:
        if any("subgroup" not in r for r in rows):
            raise ReviewkitError("column 'subgroup' is missing")
        subgroups = [r["subgroup"] for r in rows]

    def col(name: str) -> list[float]:
        return [_cell(r, name, i) for i, r in enumerate(rows)]

    has = {c for c in ("yi", "vi", "se", "estimate", "ci_lower", "ci_upper") if all(c in r for r in rows)}
    generic_cols: tuple[str, ...] = ("yi", "vi")
    if "estimate" in has and "yi" not in has:
        generic_cols = ("estimate", "ci_lower", "ci_upper")
    elif "se" in has and "vi" not in has:
        generic_cols = ("yi", "se")
    needed = {**dict.fromkeys(BINARY_MEASURES, BINARY_COLUMNS),
              **dict.fromkeys(CONTINUOUS_MEASURES, CONTINUOUS_COLUMNS)}.get(measure, generic_cols)
    missing = [c for c in needed if all(c not in r for r in rows)]
    if missing:
        raise ReviewkitError(f"column '{missing[0]}' is missing ({measure} needs {', '.join(needed)})")

    if measure in BINARY_MEASURES:
        effects = binary_effects(studies, *(col(c) for c in BINARY_COLUMNS), measure=measure,
                                 subgroups=subgroups, rd_estimate=rd_estimate)
    elif measure in CONTINUOUS_MEASURES:
        effects = continuous_effects(studies, *(col(c) for c in CONTINUOUS_COLUMNS), measure=measure,
                                     smd_variance=smd_variance, subgroups=subgroups)
    elif measure == "generic":
        ratio = generic_scale == "ratio"
        if generic_cols[0] == "estimate":
            effects = generic_effects(studies, col("estimate"), ci_lower=col("ci_lower"),
                                      ci_upper=col("ci_upper"), ratio=ratio, subgroups=subgroups)
        elif generic_cols[1] == "se":
            effects = generic_effects(studies, col("yi"), se=col("se"), ratio=ratio, subgroups=subgroups)
        else:
            effects = generic_effects(studies, col("yi"), vi=col("vi"), ratio=ratio, subgroups=subgroups)
    else:
        raise ReviewkitError(f"unknown measure '{measure}' (use one of {', '.join(MEASURES)})")
    # here, where a refusal can still be traced to the study's row: pool() would overflow or never end
    check_poolable(effects)
    return effects


def meta_analysis(
    rows: Sequence[Mapping[str, Any]], *, measure: str, method: str | None = None,
    model: str | None = None, tau2: str | None = None, hksj: bool | None = None,
    flavour: str | Flavour = DEFAULT_FLAVOUR, level: float = 0.95, generic_scale: str = "difference",
    prediction_interval: bool | None = None, hksj_adhoc: bool = False,
) -> MetaResult:
    """Compute effect sizes from per-study rows and pool them with the flavour's conventions.

    Example: meta_analysis(rows, measure="RR", flavour="revman5") is RevMan 5's "M-H, Random".
    """
    settings = resolve_settings(measure, method=method, model=model, tau2=tau2, hksj=hksj,
                                flavour=flavour, level=level, prediction_interval=prediction_interval,
                                hksj_adhoc=hksj_adhoc)
    effects = effects_from_rows(rows, measure, smd_variance=settings.flavour.smd_variance,
                                generic_scale=generic_scale, rd_estimate=settings.flavour.rd_estimate)
    return pool(effects, **settings.pool_kwargs())

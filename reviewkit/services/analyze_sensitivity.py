"""Provides the protocol's planned sensitivity and small-study analyses of one pooled analysis.

The same pooling functions as `reviewkit meta --analysis ...`: leave-one-out and cumulative refits,
Egger's test and trim-and-fill. One that cannot run is named in the warnings, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reviewkit.errors import ReviewkitError
from reviewkit.pooling import (
    EffectSizes,
    EggerResult,
    MetaResult,
    SensitivityResult,
    TrimFillResult,
    cumulative,
    egger_test,
    leave_one_out,
    trim_and_fill,
)

#: What each planned analysis is called in messages, and its key in the JSON.
LABELS = {"leave-one-out": "leave-one-out", "cumulative": "cumulative meta-analysis",
          "egger": "Egger's test", "trimfill": "trim-and-fill"}
JSON_KEYS = {"leave-one-out": "leave_one_out", "cumulative": "cumulative", "egger": "egger", "trimfill": "trimfill"}
#: Fewer studies leave nothing to compare: leave-one-out of 2 pools single studies, Egger's
#: regression and trim-and-fill's ranks need 3 (Egger's has k − 2 degrees of freedom).
MIN_STUDIES = 3

Sensitivity = SensitivityResult | EggerResult | TrimFillResult


def run_sensitivity(planned: Sequence[str], effects: EffectSizes, result: MetaResult,
                    settings: dict[str, Any]) -> tuple[dict[str, Sensitivity], list[str]]:
    """Each planned analysis that can run, by name, and warnings naming those that could not."""
    out: dict[str, Sensitivity] = {}
    warnings: list[str] = []
    for name in dict.fromkeys(planned):
        if result.k < MIN_STUDIES:
            warnings.append(f"{LABELS[name]} not run: it needs at least {MIN_STUDIES} studies (k = {result.k})")
            continue
        try:
            found: Sensitivity
            if name == "leave-one-out":
                found = leave_one_out(effects, **settings)
            elif name == "cumulative":
                found = cumulative(effects, **settings)
            elif name == "egger":
                found = egger_test(effects)
            else:
                found = trim_and_fill(effects, **settings)
        except ReviewkitError as exc:
            warnings.append(f"{LABELS[name]} not run: {exc}")
            continue
        out[name] = found
        # pooling's own cautions (e.g. Egger's test with fewer than 10 studies) go with the result
        warnings.extend(getattr(found, "warnings", ()))
    return out, warnings


def sensitivity_dict(found: Sensitivity) -> dict[str, Any]:
    """The JSON of one analysis: pooling's keys, plus each refit's CI on the natural scale."""
    data = found.to_dict()
    if isinstance(found, SensitivityResult):
        data["effect_ci_lower"] = [r.effect_ci[0] for r in found.results]
        data["effect_ci_upper"] = [r.effect_ci[1] for r in found.results]
    return data


def csv_cells(analysis: dict[str, Any]) -> dict[str, Any]:
    """The analyses CSV's cells for Egger's test and trim-and-fill, from an analysis's JSON (none when not run)."""
    egger, fill = analysis.get("egger") or {}, analysis.get("trimfill") or {}
    cells = {f"egger_{key}": egger.get(key) for key in ("t", "df", "p")}
    cells.update({f"trimfill_{key}": fill.get(key)
                  for key in ("k0", "effect", "effect_ci_lower", "effect_ci_upper")})
    return cells

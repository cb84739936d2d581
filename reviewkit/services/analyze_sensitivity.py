"""Provides the protocol's planned sensitivity and small-study analyses of one pooled analysis.

The same pooling functions as `reviewkit meta --analysis ...`: leave-one-out and cumulative refits,
Egger's test and trim-and-fill. One that cannot run is named in the warnings, never dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

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


def funnel_effects(effects: EffectSizes, result: MetaResult) -> EffectSizes:
    """The study estimates the funnel plot shows and the bias tests read: under Peto, each study's Peto
    log odds ratio (the result's), not the ordinary one with 0.5 added, so the test fits the picture."""
    return result.effects if result.method == "Peto" else effects


def run_sensitivity(planned: Sequence[str], effects: EffectSizes, result: MetaResult,
                    settings: dict[str, Any], sources: Sequence[str] | None = None,
                    ) -> tuple[dict[str, Sensitivity], list[str]]:
    """Each planned analysis that can run, by name, and warnings naming those that could not.

    `sources` names the study each of `effects`' rows comes from: Egger's test and trim-and-fill
    then count studies, not comparisons, for the Handbook's 10, and say when several comparisons
    of one study (sharing its control group) enter them as if independent.
    """
    out: dict[str, Sensitivity] = {}
    warnings: list[str] = []
    used = [sources[i] for i in result.positions] if sources is not None else None
    n_studies = len(set(used)) if used is not None else None
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
                found = egger_test(funnel_effects(effects, result), studies=n_studies)
            else:
                found = trim_and_fill(funnel_effects(effects, result), studies=n_studies, **settings)
        except (ReviewkitError, np.linalg.LinAlgError) as exc:
            # numpy's own error (a singular fit pooling did not foresee) must not end the whole run either
            warnings.append(f"{LABELS[name]} not run: {exc}")
            continue
        out[name] = found
        # pooling's own cautions (e.g. Egger's test with fewer than 10 studies) go with the result
        warnings.extend(getattr(found, "warnings", ()))
        if name in ("egger", "trimfill") and used is not None:
            warnings.extend(_shared_controls(LABELS[name], used))
    return out, warnings


def _shared_controls(label: str, used: Sequence[str]) -> list[str]:
    """The caution when several comparisons of one study enter a funnel-plot method: they share
    its control group, so they are not the independent studies the method assumes."""
    counts = Counter(used)
    shared = [f"{study} ({n})" for study, n in counts.items() if n > 1]
    if not shared:
        return []
    return [f"{label}: {len(used)} comparisons come from {len(counts)} studies, and comparisons of one study "
            f"share its control group ({', '.join(shared)}), so they are not independent as the method assumes "
            "(Handbook §13.3.5.4, §23.3.4; combining the arms gives one comparison per study)"]


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

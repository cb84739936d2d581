"""Provides subgroup analysis: a separate pooled model (and tau²) per subgroup, and the test for differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.effects import EffectSizes
from reviewkit.pooling.models import pool
from reviewkit.pooling.results import MetaResult, clean


@dataclass(frozen=True, slots=True)
class SubgroupResult:
    """Per-subgroup results, the overall result, and the test for subgroup differences."""

    #: Subgroup names in order of first appearance.
    names: tuple[str, ...]
    #: One pooled result per subgroup, aligned with `names`.
    results: tuple[MetaResult, ...]
    #: All studies pooled together with the same settings.
    overall: MetaResult
    #: Q between subgroups: Σ (θ_j − θ̄)²/SE_j², θ̄ their inverse-variance mean (RevMan 5).
    Q_between: float | None
    Q_between_df: int | None
    Q_between_p: float | None
    #: I² for subgroup differences, percent ((Q − df)/Q).
    I2_between: float | None
    #: Subgroups that could not be pooled, with the reason.
    skipped: tuple[str, ...] = ()
    #: Why the test for subgroup differences is not given although there are several subgroups.
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Per-subgroup numbers keyed by subgroup name, the overall result, and the test."""
        out: dict[str, Any] = clean({
            "subgroups": {n: r.to_dict() for n, r in zip(self.names, self.results, strict=True)},
            "overall": self.overall.to_dict(),
            "Q_between": self.Q_between, "Q_between_df": self.Q_between_df,
            "Q_between_p": self.Q_between_p, "I2_between": self.I2_between,
            "skipped": list(self.skipped), "warnings": list(self.warnings),
        })
        return out


def subgroup_analysis(effects: EffectSizes, **settings: Any) -> SubgroupResult:
    """Pool each subgroup separately (its own tau², as RevMan) and test for subgroup differences.

    The test treats each subgroup estimate as one study of a fixed-effect IV analysis:
    Q_between = Σ w_j (θ_j − θ̄)², w_j = 1/SE_j², df = J − 1 (Deeks & Higgins 2010; Handbook §10.11.3).
    Checked against fixtures/metafor/bcg_RR_DL_subgroups.json.
    """
    if effects.subgroups is None:
        raise ReviewkitError("no subgroups given (add a 'subgroup' column)")
    names = tuple(dict.fromkeys(effects.subgroups))
    labels = np.asarray(effects.subgroups, dtype=object)
    results, kept, skipped = [], [], []
    for name in names:
        part = effects.subset(labels == name)
        if not np.any(part.included):
            skipped.append(f"{name}: no study can be pooled")
            continue
        results.append(pool(part, **settings))
        kept.append(name)
    overall = pool(effects, **settings)
    q = df = p = i2 = None
    warnings: list[str] = []
    flat = [n for n, r in zip(kept, results, strict=True) if not r.se > 0]
    if len(results) >= 2 and flat:
        # A subgroup whose SE is 0 (HKSJ on identical estimates) would weigh infinitely: Q_between is
        # undefined (NaN, not a number to print), so no test rather than a misleading one.
        warnings.append(f"the test for subgroup differences is not applicable: the standard error of subgroup "
                        f"{', '.join(repr(n) for n in flat)} is 0")
    elif len(results) >= 2:
        theta = np.array([r.estimate for r in results])
        w = 1 / np.array([r.se for r in results]) ** 2
        mean = np.sum(w * theta) / np.sum(w)
        q = float(np.sum(w * (theta - mean) ** 2))
        df = len(results) - 1
        p = float(stats.chi2.sf(q, df))
        i2 = max(0.0, (q - df) / q) * 100 if q > 0 else 0.0
    return SubgroupResult(tuple(kept), tuple(results), overall, q, df, p, i2, tuple(skipped), tuple(warnings))

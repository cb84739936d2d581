"""Provides sensitivity analyses that refit the model on subsets: leave-one-out and cumulative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.effects import EffectSizes
from reviewkit.pooling.models import pool
from reviewkit.pooling.results import MetaResult, clean, exp_or_inf


@dataclass(frozen=True, slots=True)
class SensitivityStep:
    """The summary numbers of one refit (the MetaResult fields of the same names).

    The refits' per-study rows are not kept: k refits of about k studies each would hold O(k²)
    of them (877 MB for a leave-one-out of 2,000 studies), and no caller needs them.
    """

    k: int
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    statistic: float
    test_df: int | None
    p: float
    Q: float | None
    Q_df: int | None
    Q_p: float | None
    I2: float | None
    H2: float | None
    tau2: float
    tau2_ci_lower: float | None
    tau2_ci_upper: float | None
    pi_lower: float | None
    pi_upper: float | None
    warnings: tuple[str, ...]
    #: True for RR, OR and ratio-scale generic data (the numbers are logs).
    is_ratio: bool

    @classmethod
    def of(cls, result: MetaResult) -> SensitivityStep:
        """The summary of a pooled result."""
        return cls(**{f.name: getattr(result, f.name) for f in fields(cls)})

    @property
    def effect(self) -> float:
        """The estimate on its natural scale (RR/OR exponentiated)."""
        return exp_or_inf(self.estimate) if self.is_ratio else self.estimate

    @property
    def effect_ci(self) -> tuple[float, float]:
        """The confidence interval on the natural scale."""
        if self.is_ratio:
            return exp_or_inf(self.ci_lower), exp_or_inf(self.ci_upper)
        return self.ci_lower, self.ci_upper


@dataclass(frozen=True, slots=True)
class SensitivityResult:
    """A series of refits: one per omitted study (leave-one-out) or per added study (cumulative)."""

    #: "leave-one-out" or "cumulative".
    kind: str
    #: The study omitted (leave-one-out) or added last (cumulative) at each step.
    labels: tuple[str, ...]
    #: The summary of the refitted model at each step.
    results: tuple[SensitivityStep, ...]

    def series(self, field: str) -> list[float | None]:
        """One field of every step's result, e.g. series("estimate")."""
        return [getattr(r, field) for r in self.results]

    def to_dict(self) -> dict[str, Any]:
        """Lists under metafor's leave1out()/cumul() names.

        A one-study step (cumulative's first) has I² = 0 here, as metafor's cumul() reports it
        (fixtures/metafor/*_cumulative.json); its Q stays None (undefined).
        """
        key = "omitted" if self.kind == "leave-one-out" else "added"
        out: dict[str, Any] = {"analysis": self.kind, key: list(self.labels)}
        for f in ("estimate", "se", "ci_lower", "ci_upper", "p", "Q", "I2", "tau2"):
            out[f] = self.series(f)
        out["I2"] = [0.0 if r.k == 1 else r.I2 for r in self.results]
        out["effect"] = [r.effect for r in self.results]
        safe: dict[str, Any] = clean(out)
        return safe


def _included(effects: EffectSizes) -> np.ndarray:
    idx = np.flatnonzero(effects.included)
    if idx.size < 2:
        raise ReviewkitError("a sensitivity analysis needs at least 2 studies that can be pooled")
    return idx


def leave_one_out(effects: EffectSizes, **settings: Any) -> SensitivityResult:
    """Refit the model k times, each time without one study (as metafor leave1out())."""
    idx = _included(effects)
    results, labels = [], []
    for i in idx:
        mask = np.asarray(effects.included, dtype=bool).copy()
        mask[i] = False
        results.append(SensitivityStep.of(pool(effects.subset(mask), **settings)))
        labels.append(effects.studies[i])
    return SensitivityResult("leave-one-out", tuple(labels), tuple(results))


def cumulative(effects: EffectSizes, order: Sequence[int] | None = None, **settings: Any) -> SensitivityResult:
    """Refit after adding each study in turn, in input order or `order` (as metafor cumul()).

    The first step pools one study: its own estimate, τ² = 0 and Q None (undefined); to_dict()
    gives its I² as 0, as metafor does.
    """
    idx = _included(effects)
    if order is not None:
        idx = np.array([i for i in order if effects.included[i]])
    results, labels = [], []
    for step in range(1, idx.size + 1):
        mask = np.zeros(len(effects.studies), dtype=bool)
        mask[idx[:step]] = True
        results.append(SensitivityStep.of(pool(effects.subset(mask), **settings)))
        labels.append(effects.studies[idx[step - 1]])
    return SensitivityResult("cumulative", tuple(labels), tuple(results))

"""Provides sensitivity analyses that refit the model on subsets: leave-one-out and cumulative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reviewkit.errors import ReviewkitError
from reviewkit.pooling.effects import EffectSizes
from reviewkit.pooling.models import pool
from reviewkit.pooling.results import MetaResult, clean


@dataclass(frozen=True, slots=True)
class SensitivityResult:
    """A series of refits: one per omitted study (leave-one-out) or per added study (cumulative)."""

    #: "leave-one-out" or "cumulative".
    kind: str
    #: The study omitted (leave-one-out) or added last (cumulative) at each step.
    labels: tuple[str, ...]
    #: The refitted model at each step.
    results: tuple[MetaResult, ...]

    def series(self, field: str) -> list[float | None]:
        """One field of every step's result, e.g. series("estimate")."""
        return [getattr(r, field) for r in self.results]

    def to_dict(self) -> dict[str, Any]:
        """Lists under metafor's leave1out()/cumul() names; I² and Q are None for one-study steps."""
        key = "omitted" if self.kind == "leave-one-out" else "added"
        out: dict[str, Any] = {"analysis": self.kind, key: list(self.labels)}
        for f in ("estimate", "se", "ci_lower", "ci_upper", "p", "Q", "I2", "tau2"):
            out[f] = self.series(f)
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
        results.append(pool(effects.subset(mask), **settings))
        labels.append(effects.studies[i])
    return SensitivityResult("leave-one-out", tuple(labels), tuple(results))


def cumulative(effects: EffectSizes, order: Sequence[int] | None = None, **settings: Any) -> SensitivityResult:
    """Refit after adding each study in turn, in input order or `order` (as metafor cumul()).

    The first step pools one study: its own estimate, τ² = 0 and heterogeneity None (undefined).
    """
    idx = _included(effects)
    if order is not None:
        idx = np.array([i for i in order if effects.included[i]])
    results, labels = [], []
    for step in range(1, idx.size + 1):
        mask = np.zeros(len(effects.studies), dtype=bool)
        mask[idx[:step]] = True
        results.append(pool(effects.subset(mask), **settings))
        labels.append(effects.studies[idx[step - 1]])
    return SensitivityResult("cumulative", tuple(labels), tuple(results))

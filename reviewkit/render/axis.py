"""Provides the forest plot's effect axis as RevMan draws it: the plot files and the TUI's text forest
choose it alike (no matplotlib here, so the TUI can import it)."""

from __future__ import annotations

import math
from collections.abc import Iterable

#: RevMan's ratio scales and their tick marks.
RATIO_SCALES: tuple[tuple[float, ...], ...] = (
    (0.5, 0.7, 1, 1.5, 2), (0.2, 0.5, 1, 2, 5), (0.1, 0.2, 0.5, 1, 2, 5, 10),
    (0.01, 0.1, 1, 10, 100), (0.001, 0.1, 1, 10, 1000),
)


def effect_ticks(bounds: Iterable[float], ratio: bool) -> list[float]:
    """Tick marks of the effect axis for CIs with these limits; the first and last are the axis's limits.

    A ratio takes the narrowest of RevMan's scales that holds every limit (the widest when none does:
    wider CIs end in an arrow at the plot's edge, as in RevMan); a difference an axis symmetric about 0,
    out to the next 1, 2, 4 or 5 times a power of ten beyond the widest limit, as RevMan's scales step (any
    round number gave ticks such as -0.7 -0.35 0 0.35 0.7).
    """
    finite = [b for b in bounds if math.isfinite(b)]
    if ratio:
        span = max((abs(math.log(b)) for b in finite if b > 0), default=1.0)
        return list(next((s for s in RATIO_SCALES if -math.log(s[0]) >= span), RATIO_SCALES[-1]))
    span = max((abs(b) for b in finite), default=1.0) or 1.0
    step = 10 ** math.floor(math.log10(span))
    lim = float(next(m * step for m in (1, 2, 4, 5, 10) if m * step >= span * (1 - 1e-9)))
    return [-lim, -lim / 2, 0.0, lim / 2, lim]

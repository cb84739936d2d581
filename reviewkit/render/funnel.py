"""Provides funnel plots (SVG, PNG, PDF) drawn from a pooled result, optionally with trim-and-fill studies."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from reviewkit.pooling.bias import TrimFillResult, funnel_data  # noqa: E402
from reviewkit.pooling.results import MetaResult  # noqa: E402
from reviewkit.render.forest_style import MEASURE_NAMES, RC, save_figure  # noqa: E402
from reviewkit.wording import counted  # noqa: E402

#: Tick marks of a ratio axis, as RevMan labels them.
RATIO_TICKS: tuple[float, ...] = (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000)
DECADE_TICKS: tuple[float, ...] = (0.001, 0.01, 0.1, 1, 10, 100, 1000)
#: Below the largest x with e^x finite (709.8), with room for matplotlib's axis padding to stay finite too.
_LOG_MAX = 600.0


def funnel_plot(result: MetaResult, path: str | Path, *, trimfill: TrimFillResult | None = None,
                title: str | None = None) -> Path:
    """Plot each study's estimate against its SE (SE 0 at the top), with pseudo 95% limits.

    As RevMan: ratio measures on a log axis, the y axis is SE(log[measure]), the dashed funnel is
    centre ± 1.96·SE. Imputed trim-and-fill studies are open circles.
    """
    data = funnel_data(result, trimfill)
    ratio = result.is_ratio
    # SEs up to 1e30 are poolable, and e^(1.96·1e25) overflows: the funnel's log ends are clipped to what
    # a float can hold (the line runs off the plot there, as an infinite one would)
    back = (lambda x: np.exp(np.clip(x, -_LOG_MAX, _LOG_MAX))) if ratio else (lambda x: x)
    se_max = max([*data.sei, *(s for _, s in data.filled)], default=1.0) * 1.1
    grid = np.linspace(0, se_max, 50)
    name = MEASURE_NAMES.get(result.measure, result.measure)
    short = name if result.measure == "generic" else result.measure  # "SE(log[Effect])", not "SE(log[generic])"
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(back(data.centre - data.z * grid), grid, "--", color="grey", lw=0.8)
        ax.plot(back(data.centre + data.z * grid), grid, "--", color="grey", lw=0.8)
        ax.axvline(back(data.centre), color="black", lw=0.8)
        ax.plot(back(np.array(data.yi)), data.sei, "o", color="#1f3a93", markersize=5, label="Studies")
        if data.filled:
            fy = np.array([y for y, _ in data.filled])
            ax.plot(back(fy), [s for _, s in data.filled], "o", mfc="none", color="#d62728",
                    markersize=5, label="Imputed (trim and fill)")
            # under the axis, not over it: "best" still covered points of a crowded funnel
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
        ax.set_ylim(se_max, 0)
        if ratio:
            ax.set_xscale("log")
            lo, hi = ax.get_xlim()
            # RevMan's 1-2-5 steps, or only the powers of ten over a range too wide for their labels to stand
            # apart (beyond 10⁴ they ran together: "0.010.020.05")
            decades = math.log10(hi) - math.log10(lo)
            if decades <= 12:
                steps = RATIO_TICKS if decades <= 4 else DECADE_TICKS
                ax.set_xticks([t for t in steps if lo <= t <= hi])
            else:
                # a funnel of huge SEs spans hundreds of decades: 0.001–1000 would crowd its middle
                # (matplotlib's LogLocator overflows there, so five powers of ten are picked here)
                first, last = math.ceil(math.log10(lo)), math.floor(math.log10(hi))
                ax.set_xticks(sorted({10.0 ** round(e) for e in np.linspace(first, last, 5)}))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))  # 0.5, not 5×10^-1
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlim(lo, hi)
            ax.set_xlabel(name)
            ax.set_ylabel(f"SE(log[{short}])")
        else:
            ax.set_xlabel(name)
            ax.set_ylabel(f"SE({short})")
        ax.set_title(title or f"Funnel plot ({counted(len(data.studies), 'study', 'studies')})")
        out = save_figure(fig, path)
        plt.close(fig)
    return out

"""Provides the forest-style plot of a leave-one-out or cumulative analysis (SVG, PNG, PDF)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

from reviewkit.pooling.results import MetaResult  # noqa: E402
from reviewkit.pooling.sensitivity import SensitivityResult  # noqa: E402
from reviewkit.pooling.wording import format_effect, hksj_label  # noqa: E402
from reviewkit.render.forest import _draw_axis, _Row, row_page  # noqa: E402
from reviewkit.render.forest_style import MEASURE_NAMES, METHOD_NAMES, RC, save_figure  # noqa: E402


def sensitivity_plot(
    result: SensitivityResult, main: MetaResult, path: str | Path, *,
    labels: tuple[str, str] = ("experimental", "control"), title: str | None = None,
) -> Path:
    """Draw one row per refit (the study omitted, or added last) with its pooled effect and CI, and the
    analysis of all studies as a diamond below, as metafor's forest() of leave1out()/cumul() does.

    The dotted line marks the all-studies estimate, so a step that moves away from it stands out;
    the axis and its scale are the forest plot's (forest._draw_axis). Format by suffix.
    """
    omit = result.kind == "leave-one-out"
    random = main.model == "random"
    i2 = result.to_dict()["I2"]  # as the JSON and the table give it (0 for a one-study step)
    rows = [_Row("study", f"Omitting {label}" if omit else f"+ {label}",
                 [str(r.k), _percent(i2[j]), *([_tau2(r.tau2)] if random else [])],
                 effect=(r.effect, *r.effect_ci))
            for j, (label, r) in enumerate(zip(result.labels, result.results, strict=True))]
    rows.append(_Row("blank", ""))
    rows.append(_Row("subtotal", f"All studies ({main.level * 100:g}% CI)",
                     [str(main.k), _percent(main.I2), *([_tau2(main.tau2)] if random else [])],
                     effect=(main.effect, *main.effect_ci), bold=True))
    headers = ["k", "I²", *(["Tau²"] if random else [])]
    longest = max(len(r.label) for r in rows)
    x_cols = [max(2.2, 0.062 * longest + 0.5) + 0.55 * i for i in range(len(headers))]
    x_text = x_cols[-1] + 1.2
    x_plot0, plot_w = x_text + 1.2, 2.6
    width = x_plot0 + plot_w + 0.3
    n = len(rows) + 3
    with plt.rc_context(RC):
        fig, text_ax, plot_ax = row_page(width, n, len(rows), x_plot0, plot_w)
        heading = "Study omitted" if omit else "Study added (cumulative)"
        _draw_header(text_ax, main, heading, headers, x_cols, x_text, x_plot0 + plot_w / 2, title)
        _draw_rows(text_ax, plot_ax, rows, x_cols, x_text)
        plot_ax.axvline(main.effect, color="grey", lw=0.6, ls=":")
        _draw_axis(plot_ax, main, rows, labels)
        out = save_figure(fig, path)
        plt.close(fig)
    return out


def _percent(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}%"


def _tau2(tau2: float | None) -> str:
    return f"{tau2:.3f}" if tau2 is not None and math.isfinite(tau2) else ""


def _draw_header(ax: Axes, main: MetaResult, heading: str, headers: list[str], xs: list[float],
                 x_text: float, x_plot: float, title: str | None) -> None:
    if title:
        ax.text(0.05, -1.2, title, fontweight="bold", va="center")
    ax.text(0.05, 0.5, heading, fontweight="bold", va="center")
    for x, h in zip(xs, headers, strict=True):
        ax.text(x, 0.5, h, ha="center", fontweight="bold", va="center")
    how = f"{METHOD_NAMES.get(main.method, main.method)}, {main.model.capitalize()}"
    if (hk := hksj_label(main.hksj, main.hksj_adhoc)) is not None:
        how += f" ({hk})"
    for x in (x_text, x_plot):
        ax.text(x, -0.5, MEASURE_NAMES.get(main.measure, main.measure), ha="center", fontweight="bold", va="center")
        ax.text(x, 0.5, f"{how}, {main.level * 100:g}% CI", ha="center", fontweight="bold", va="center")
    ax.plot([0.05, x_plot + 1.4], [1.0, 1.0], color="black", lw=0.6)


def _draw_rows(ax: Axes, plot_ax: Axes, rows: list[_Row], xs: list[float], x_text: float) -> None:
    for j, row in enumerate(rows):
        if row.effect is None:
            continue
        y = j + 2
        style: dict[str, Any] = {"fontweight": "bold"} if row.bold else {}
        ax.text(0.05, y, row.label, va="center", **style)
        for x, cell in zip(xs, row.cells, strict=False):
            ax.text(x, y, cell, ha="center", va="center", **style)
        est, lo, hi = row.effect
        ax.text(x_text, y, format_effect(est, lo, hi), ha="center", va="center", **style)
        if row.kind == "study":  # every refit pools many studies: one marker size for all
            plot_ax.plot([lo, hi], [y, y], color="black", lw=0.8, clip_on=True)
            plot_ax.plot([est], [y], marker="s", color="#1f3a93", markersize=4, clip_on=True)
        else:
            plot_ax.add_patch(Polygon([(lo, y), (est, y - 0.35), (hi, y), (est, y + 0.35)],
                                      closed=True, color="black"))

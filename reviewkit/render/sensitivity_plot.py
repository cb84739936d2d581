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
from reviewkit.pooling.wording import format_effect  # noqa: E402
from reviewkit.render.forest import (  # noqa: E402
    GAP,
    LABEL_MAX,
    PLOT_W,
    _draw_axis,
    _header_text,
    _Row,
    _x_ticks,
    draw_ci,
    draw_effect_header,
    row_page,
)
from reviewkit.render.forest_style import RC, fit_text, save_figure, text_width  # noqa: E402


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
    heading = "Study omitted" if omit else "Study added (cumulative)"
    # Columns as wide as their widest text, measured (as the forest plot's): a long header or a refit's CI
    # of many digits no longer runs into its neighbour.
    x = 0.05 + GAP + max([text_width(heading, bold=True),
                          *(min(LABEL_MAX, text_width(r.label, bold=r.bold)) for r in rows)])
    x_cols = []
    for j, h in enumerate(headers):
        w = max([text_width(h, bold=True), *(text_width(r.cells[j], bold=r.bold) for r in rows if len(r.cells) > j)])
        x_cols.append(x + GAP + w / 2)
        x += GAP + w
    name, sub = _header_text(main)
    text_w = max([text_width(name, bold=True), text_width(sub, bold=True),
                  *(text_width(format_effect(*r.effect), bold=r.bold) for r in rows if r.effect)])
    x_text = x + 2 * GAP + text_w / 2
    x_plot0 = x + 4 * GAP + text_w
    plot_w = max(PLOT_W, text_width(sub, bold=True) + GAP, *(2 * text_width(f"Favours [{s}]") + 2 * GAP for s in labels))
    width = x_plot0 + plot_w + 0.3
    n = len(rows) + 3
    ticks = _x_ticks(main, rows)
    with plt.rc_context(RC):
        fig, text_ax, plot_ax = row_page(width, n, len(rows), x_plot0, plot_w)
        _draw_header(text_ax, (name, sub), heading, headers, x_cols, x_text, (x_plot0, plot_w), title)
        _draw_rows(text_ax, plot_ax, rows, x_cols, x_text, (ticks[0], ticks[-1]))
        plot_ax.axvline(main.effect, color="grey", lw=0.6, ls=":")
        _draw_axis(plot_ax, main, rows, labels)
        out = save_figure(fig, path)
        plt.close(fig)
    return out


def _percent(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}%"


def _tau2(tau2: float | None) -> str:
    return f"{tau2:.3f}" if tau2 is not None and math.isfinite(tau2) else ""


def _draw_header(ax: Axes, effect_header: tuple[str, str], heading: str, headers: list[str], xs: list[float],
                 x_text: float, plot: tuple[float, float], title: str | None) -> None:
    if title:
        ax.text(0.05, -1.2, title, fontweight="bold", va="center")
    ax.text(0.05, 0.5, heading, fontweight="bold", va="center")
    for x, h in zip(xs, headers, strict=True):
        ax.text(x, 0.5, h, ha="center", fontweight="bold", va="center")
    draw_effect_header(ax, effect_header, x_text, plot)


def _draw_rows(ax: Axes, plot_ax: Axes, rows: list[_Row], xs: list[float], x_text: float,
               limits: tuple[float, float]) -> None:
    for j, row in enumerate(rows):
        if row.effect is None:
            continue
        y = j + 2
        style: dict[str, Any] = {"fontweight": "bold"} if row.bold else {}
        ax.text(0.05, y, fit_text(row.label, LABEL_MAX, bold=row.bold), va="center", **style)
        for x, cell in zip(xs, row.cells, strict=False):
            ax.text(x, y, cell, ha="center", va="center", **style)
        est, lo, hi = row.effect
        ax.text(x_text, y, format_effect(est, lo, hi), ha="center", va="center", **style)
        if row.kind == "study":  # every refit pools many studies: one marker size for all
            draw_ci(plot_ax, y, row.effect, 4, limits)
        else:
            plot_ax.add_patch(Polygon([(lo, y), (est, y - 0.35), (hi, y), (est, y + 0.35)],
                                      closed=True, color="black"))

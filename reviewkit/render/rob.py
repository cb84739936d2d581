"""Provides robvis-style risk-of-bias figures: the traffic-light plot and the weighted summary bars."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display (render/ is used from CLI, TUI and tests)

from matplotlib import rc_context  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from reviewkit.domain.rob_common import Level, RobTable, judgement_shares  # noqa: E402
from reviewkit.errors import ReviewkitError  # noqa: E402
from reviewkit.wording import counted  # noqa: E402

#: Colours by judgement code; the familiar traffic-light scheme (green, amber, red), own shades.
COLOURS: dict[str, str] = {
    "low": "#3B9A3E",
    "some_concerns": "#E8C21A",
    "unclear": "#E8C21A",
    "high": "#C62A2A",
    "no_information": "#9AA9B8",
}
FORMATS = {".svg", ".png", ".pdf"}


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise ReviewkitError(f"{out}: unsupported figure format {out.suffix or '(none)'}",
                             hint="use .svg, .png or .pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Text stays text in SVG so the labels are searchable and testable.
    with rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        fig.savefig(out, bbox_inches="tight", dpi=200)
    return out


def _check(table: RobTable) -> None:
    if not table.rows:
        raise ReviewkitError("no assessments to plot")


def traffic_light_plot(table: RobTable, path: str | Path, *, title: str | None = None) -> Path:
    """Studies × domains (plus Overall) as coloured circles carrying +, −, × or ?; returns the file.

    Below the grid, the domain key (D1… with the domain names); on the right, the legend.
    """
    _check(table)
    cols = [*table.domain_keys, "Overall"]
    n_rows, n_cols = len(table.rows), len(cols)
    fig = Figure(figsize=(2.6 + 0.75 * n_cols + 2.2, 1.6 + 0.5 * n_rows + 0.22 * n_cols))
    ax = fig.add_subplot()
    for r, row in enumerate(table.rows):
        for c, value in enumerate([*row.values, row.overall]):
            lvl = table.level(value)
            ax.scatter([c], [r], s=520, color=COLOURS.get(lvl.code, "#777777"),
                       edgecolors="#333333", linewidths=0.6, zorder=2)
            ax.text(c, r, lvl.symbol, ha="center", va="center", fontsize=13,
                    fontweight="bold", color="black", zorder=3)
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(n_rows - 0.4, -0.6)
    ax.set_xticks(range(n_cols), cols)
    ax.xaxis.tick_top()
    ax.set_yticks(range(n_rows), [row.label for row in table.rows])
    ax.tick_params(length=0)
    ax.set_xlabel("Risk of bias domains")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("Study")
    ax.set_aspect("equal")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.axvline(n_cols - 1.5, color="#BBBBBB", linewidth=0.8, zorder=1)
    if title:
        fig.suptitle(title)
    key = "\n".join(f"{k}: {name}" for k, name in zip(table.domain_keys, table.domain_names,
                                                       strict=True))
    ax.text(0.0, -0.04, "Domains:\n" + key, transform=ax.transAxes, ha="left", va="top",
            fontsize=8)
    used = {table.level(v).code for row in table.rows for v in (*row.values, row.overall)}
    shown = [*table.levels, *([table.missing] if table.missing.code in used else [])]
    handles = [Line2D([], [], marker="o", linestyle="", markersize=13,
                      markerfacecolor=COLOURS.get(lvl.code), markeredgecolor="#333333",
                      label=f"{lvl.symbol}  {lvl.label}") for lvl in shown]
    ax.legend(handles=handles, title="Judgement", loc="upper left", bbox_to_anchor=(1.02, 1.0),
              frameon=False)
    return _save(fig, path)


def summary_figure(table: RobTable, *, weighted: bool = True, title: str | None = None) -> Figure:
    """Horizontal stacked bars: the share of studies (or of weight) per judgement, per domain.

    RoB is judged per result: a table of several outcomes (a study assessed for two is a row of each)
    gets one panel per outcome, headed with its name and how many studies it holds, so each panel's
    shares are of studies, as its axis says, and no study counts twice in one panel.
    """
    _check(table)
    panels = table.by_outcome()
    keys = [*table.domain_keys, "overall"]
    names = [*table.domain_names, "Overall risk of bias"]
    # One rule for every panel: a panel weighted and another not would not compare.
    use_weights = weighted and table.weighted
    shares = [judgement_shares(part, use_weights) for _, part in panels]
    levels = [*table.levels, table.missing]
    present = [lvl for lvl in levels if any(s[k].get(lvl.code, 0) > 0 for s in shares for k in keys)]
    headed = len(panels) > 1
    fig = Figure(figsize=(10, 0.6 + len(panels) * ((0.4 if headed else 0.0) + 0.6 + 0.45 * len(keys))))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    using = "weight" if use_weights else "studies"
    for ax, (outcome, part), share in zip(axes, panels, shares, strict=True):
        _bars(ax, keys, names, present, share)
        ax.set_xlabel(f"Percentage of {using}")
        if headed:
            # An outcome's name as typed: a "$" in it is not the start of mathtext.
            ax.set_title(f"{f'Outcome {outcome}' if outcome else 'No outcome'} · "
                         f"{counted(len(part.rows), 'study', 'studies')}", loc="left", fontsize=10, parse_math=False)
    handles = [Patch(facecolor=COLOURS.get(lvl.code), edgecolor="#333333", label=lvl.label) for lvl in present]
    if headed:
        # The panels are laid out to fit their headings; the legend goes below them all, once.
        fig.set_layout_engine("constrained")
        fig.legend(handles=handles, loc="outside lower center", ncol=len(present), frameon=False)
    else:
        axes[0].legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(present),
                       frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def _bars(ax: Axes, keys: list[str], names: list[str], present: list[Level], shares: dict[str, dict[str, float]]
          ) -> None:
    """One panel: a bar per domain (and the overall), its judgements' shares stacked left to right."""
    for i, key in enumerate(keys):
        left = 0.0
        for lvl in present:
            width = shares[key].get(lvl.code, 0.0)
            if width <= 0:
                continue
            ax.barh(i, width, left=left, color=COLOURS.get(lvl.code), edgecolor="#333333",
                    linewidth=0.5, height=0.7)
            left += width
    ax.set_yticks(range(len(keys)), names)
    ax.set_ylim(len(keys) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)


def summary_plot(table: RobTable, path: str | Path, *, weighted: bool = True,
                 title: str | None = None) -> Path:
    """The summary figure (summary_figure) written to path; returns the file."""
    return _save(summary_figure(table, weighted=weighted, title=title), path)

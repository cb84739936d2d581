"""Provides the protocol's analyses worded as `reviewkit analyze` prints them (the CLI and the TUI alike)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reviewkit.services.analyze import AnalysisOutput


def format_analysis(o: AnalysisOutput) -> list[str]:
    """The text lines of one analysis: the pooled result, its prediction interval, subgroups, sensitivity
    analyses, warnings, plots."""
    from reviewkit.pooling.wording import prediction_interval_text

    r = o.result
    lo, hi = r.effect_ci
    het = f"I² {r.I2:.0f}%" if r.I2 is not None else "I² n/a"
    # no test (an HKSJ standard error of 0): "n/a", as I², never "nan"; the warnings below say why
    p = f"{r.p:.2g}" if math.isfinite(r.p) else "n/a"
    lines = [f"{o.analysis.name} [{o.multiarm}]: {r.measure} {r.effect:.2f} "
             f"(95% CI {lo:.2f} to {hi:.2f}), {r.k} comparison{'' if r.k == 1 else 's'}, {het}, p = {p}"]
    if (pi := prediction_interval_text(r)) is not None:  # as the forest plot words it, its method named
        lines.append(f"  {pi}")
    for name, sub in o.subgroups.items():
        info = o.subgroup_info.get(name, {})
        how = f" [{info['multiarm']}]" if info.get("multiarm", o.multiarm) != o.multiarm else ""
        if sub.Q_between is not None:
            lines.append(f"  subgroups by {name}{how}: Q = {sub.Q_between:.2f}, df = {sub.Q_between_df}, "
                         f"p = {sub.Q_between_p:.3g}")
        lines.extend(f"  note: {n}" for n in info.get("notes", []))
        lines.extend(f"  warning: subgroups by {name}: {w}" for w in sub.warnings)
    lines.extend(f"  note: {n}" for n in r.notes)  # a zero-cell study's 0.5, as `meta` says it
    lines.extend(_sensitivity_lines(o))
    # pooling's own warnings (a zero-width HKSJ interval, HKSJ or a prediction interval with too few
    # studies) first, as the JSON lists them: they qualify the numbers printed above
    lines.extend(f"  warning: {w}" for w in dict.fromkeys((*r.warnings, *o.warnings)))
    lines.extend(f"  plot: {path}" for path in o.plots)
    return lines


def _sensitivity_lines(o: AnalysisOutput) -> list[str]:
    """Egger's test and trim-and-fill in a line each; leave-one-out and cumulative as small tables."""
    from reviewkit.pooling import EggerResult, SensitivityResult, TrimFillResult

    measure = o.result.measure
    lines = []
    for name, found in o.sensitivity.items():
        if isinstance(found, EggerResult):
            lines.append(f"  Egger's test: t = {found.t:.2f}, df = {found.df}, p = {found.p:.3g}")
        elif isinstance(found, TrimFillResult):
            lo, hi = found.result.effect_ci
            lines.append(f"  trim-and-fill: k0 = {found.k0} imputed on the {found.side}, adjusted {measure} "
                         f"{found.result.effect:.2f} (95% CI {lo:.2f} to {hi:.2f})")
        elif isinstance(found, SensitivityResult):
            head = "omitted" if name == "leave-one-out" else "added"
            width = max(len(head), *(len(label) for label in found.labels))
            lines.append(f"  {name}:")
            lines.append(f"    {head:<{width}}  {measure:>6}  {'95% CI':<15} {'I²':>4}")
            # as the JSON, `meta` and the plot give it: 0 for a one-study step (as metafor), not n/a
            for label, r, i2_value in zip(found.labels, found.results, found.to_dict()["I2"], strict=True):
                lo, hi = r.effect_ci
                i2 = "n/a" if i2_value is None else f"{i2_value:.0f}%"
                lines.append(f"    {label:<{width}}  {r.effect:>6.2f}  {f'{lo:.2f} to {hi:.2f}':<15} {i2:>4}")
    return lines

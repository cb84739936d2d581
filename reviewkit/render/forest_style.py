"""Provides what the forest and funnel plots share: RevMan's labels and number formats, and saving by suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

from matplotlib.figure import Figure  # noqa: E402

from reviewkit.errors import ReviewkitError  # noqa: E402

#: Output formats, chosen by the file suffix.
FORMATS: dict[str, str] = {".svg": "svg", ".png": "png", ".pdf": "pdf"}

#: RevMan's names for the measures and methods in the column header.
MEASURE_NAMES: dict[str, str] = {
    "RR": "Risk Ratio", "OR": "Odds Ratio", "RD": "Risk Difference", "MD": "Mean Difference",
    "SMD": "Std. Mean Difference", "generic": "Effect",
}
METHOD_NAMES: dict[str, str] = {"MH": "M-H", "IV": "IV", "Peto": "Peto"}

#: Text stays text in SVG (searchable, and tests can read the labels); DejaVu Sans ships with matplotlib.
#: Typed Any because matplotlib's stubs type rc_context() keys as one large Literal.
RC: Any = {"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 8,
           "pdf.fonttype": 42, "svg.hashsalt": "reviewkit"}


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write the figure as SVG, PNG or PDF according to the suffix of path."""
    out = Path(path)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ReviewkitError(f"cannot write a plot to '{out.name}': use a .svg, .png or .pdf file name")
    if not out.parent.exists():
        raise ReviewkitError(f"folder '{out.parent}' does not exist", where=str(out))
    fig.savefig(out, format=fmt, dpi=150, bbox_inches="tight", metadata=_metadata(fmt))
    return out


def _metadata(fmt: str) -> dict[str, str | None]:
    # Date-free metadata keeps SVG/PDF output byte-stable between runs.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}

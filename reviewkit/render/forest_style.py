"""Provides what the forest and funnel plots share: RevMan's labels and number formats, and saving by suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.textpath import TextToPath  # noqa: E402

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
#: text.parse_math off: a study label with two "$" ("Smith $x$ trial") is a label, not mathtext.
RC: Any = {"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 8,
           "pdf.fonttype": 42, "svg.hashsalt": "reviewkit", "text.parse_math": False}


_MEASURE = TextToPath()


def text_width(text: str, *, bold: bool = False) -> float:
    """Width in inches of text drawn in the plots' font (RC): columns are placed by what they hold, since a
    guess per character put wide text (capitals, a long header) over the next column."""
    prop = FontProperties(family=RC["font.family"], size=RC["font.size"], weight="bold" if bold else "normal")
    width, _, _ = _MEASURE.get_text_width_height_descent(text, prop, ismath=False)
    return float(width) / 72


def fit_text(text: str, width: float, *, bold: bool = False) -> str:
    """text, or, when wider than width (inches), its start and end around an ellipsis: a study label keeps
    its author and year and its arm suffix ("… (Baricitinib 4 mg)"), which tell a multi-arm study's rows apart."""
    if text_width(text, bold=bold) <= width:
        return text
    head, tail = text[: len(text) // 2], text[len(text) // 2:]
    while head or tail:
        if len(head) >= len(tail):
            head = head[:-1]
        else:
            tail = tail[1:]
        short = head.rstrip() + "…" + tail.lstrip()
        if text_width(short, bold=bold) <= width:
            return short
    return "…"


def wrap_text(text: str, width: float, *, bold: bool = False) -> list[str]:
    """text broken at spaces into lines no wider than width (inches); a word wider than that stands alone."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(f"{lines[-1]} {word}", bold=bold) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


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

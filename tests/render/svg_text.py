"""Reads the text of a plot's SVG (written with text kept as text) with each text's extent, measured in the
font the SVG names, so a test can say what a reader sees: texts that overlap, or that leave the figure."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from xml.sax.saxutils import unescape

from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

_TEXT = re.compile(r'<text style="([^"]*)" x="([-\d.e]+)" y="([-\d.e]+)" transform="rotate\(([-\d.e]+)[^"]*"[^>]*>'
                   r"(.*?)</text>", re.S)
_MEASURE = TextToPath()


@dataclass(frozen=True)
class SvgText:
    text: str
    x: float  # the anchor, as written
    y: float  # the baseline
    box: tuple[float, float, float, float]  # left, top, right, bottom (SVG units: points, y down)
    anchor: str = "start"  # what x is: the text's start, middle or end


def svg_texts(svg: str) -> list[SvgText]:
    """Every text element with its extent (rotated by ±90° where the SVG turns it)."""
    found = []
    for style, x_, y_, rotation, raw in _TEXT.findall(svg):
        text = unescape(raw, {"&quot;": '"', "&#39;": "'"})
        css = {k.strip(): v.strip() for k, v in (p.split(":", 1) for p in style.split(";") if ":" in p)}
        prop = FontProperties(family="DejaVu Sans", size=float(css["font-size"].removesuffix("px")),
                              weight="bold" if css.get("font-weight") in ("700", "bold") else "normal")
        w, h, d = _MEASURE.get_text_width_height_descent(text, prop, ismath=False)
        x, y = float(x_), float(y_)
        left = x - {"start": 0.0, "middle": w / 2, "end": w}[css.get("text-anchor", "start")]
        box = (left, y - h + d, left + w, y + d)
        if abs(float(rotation)) == 90:  # upright: the text's run goes up from its anchor
            box = (x - (h - d), y - (left + w - x), x + d, y - (left - x))
        found.append(SvgText(text, x, y, box, css.get("text-anchor", "start")))
    return found


def view_box(svg: str) -> tuple[float, float, float, float]:
    match = re.search(r'viewBox="([^"]+)"', svg)
    assert match is not None
    x, y, w, h = (float(v) for v in match.group(1).split())
    return x, y, x + w, y + h


def overlaps(svg: str, pad: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts whose extents overlap by more than pad (points): text drawn over text."""
    texts = [t for t in svg_texts(svg) if t.text.strip()]
    return [(a.text, b.text) for a, b in itertools.combinations(texts, 2)
            if a.box[0] < b.box[2] - pad and b.box[0] < a.box[2] - pad
            and a.box[1] < b.box[3] - pad and b.box[1] < a.box[3] - pad]


def outside(svg: str) -> list[str]:
    """Texts that leave the figure, cut off at its edge."""
    left, top, right, bottom = view_box(svg)
    return [t.text for t in svg_texts(svg)
            if t.box[0] < left or t.box[1] < top or t.box[2] > right or t.box[3] > bottom]


def row_of(svg: str, label: str) -> list[str]:
    """The texts on the row whose first text is label (same baseline, left to right)."""
    texts = svg_texts(svg)
    start = next(t for t in texts if t.text == label)
    return [t.text for t in sorted((t for t in texts if abs(t.y - start.y) < 0.5), key=lambda t: t.box[0])]

"""Provides the PRISMA 2020 flow diagram (SVG, PNG, PDF via matplotlib) and a plain-text rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyBboxPatch
from matplotlib.textpath import TextToPath

from reviewkit.domain.prisma import PrismaCounts, check_identities, errors_only
from reviewkit.errors import ReviewkitError

# A bare Figure (no pyplot) saves through the Agg/SVG/PDF canvases without touching the global
# backend, so rendering works headless and never disturbs another part of the program.

# Colours of the official template (Page et al., BMJ 2021;372:n71, Figure 1): yellow band over
# databases and registers, grey over other methods and previous studies, blue phase bars.
YELLOW, GREY, BLUE = "#FFC000", "#D9D9D9", "#A9C4EB"
FONT_SIZE, HEADER_SIZE = 9.0, 10.0
LINE_H = FONT_SIZE * 1.32 / 72  # inches per text line
PAD = 0.09  # inches between a box edge and its text
INDENT = 0.16  # inches per indent level
MAIN_W, SIDE_W, PREV_W = 2.75, 2.75, 2.3
BAR_W, GAP_X, GAP_Y, HEADER_H = 0.34, 0.55, 0.42, 0.46
CITATION = (
    "From: Page MJ, McKenzie JE, Bossuyt PM, et al. The PRISMA 2020 statement: an updated guideline "
    "for reporting systematic reviews. BMJ 2021;372:n71. doi: 10.1136/bmj.n71"
)
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
_measure = TextToPath()


@dataclass(frozen=True)
class Line:
    """One logical line of a box: its text and indent level, before wrapping."""

    text: str
    indent: int = 0


def _n(value: int) -> str:
    # Thousands separated ("n = 12,345"), as published PRISMA diagrams print large counts: a bare
    # 45397 beside 456 is hard to read at a glance. The CSV and JSON keep plain integers.
    return f"(n = {value:,})"


def box_lines(counts: PrismaCounts) -> dict[str, list[Line]]:
    """The content of every box the counts call for, keyed by the PRISMA2020 box key.

    Wording follows the template (prisma2020.md §2-3); per-source and per-reason lines follow
    its renderer notes. Shared by the figure and the text rendering so both say the same.
    """
    c = counts
    new = "new " if c.previous is not None else ""
    boxes: dict[str, list[Line]] = {
        "identification": [Line("Records identified from:"),
                           Line(f"Databases {_n(c.databases_total)}", 1)]
        + [Line(f"{name} {_n(n)}", 2) for name, n in c.databases.items()]
        + [Line(f"Registers {_n(c.registers_total)}", 1)]
        + [Line(f"{name} {_n(n)}", 2) for name, n in c.registers.items()],
        "removed": [Line("Records removed before screening:"),
                    Line(f"Duplicate records removed {_n(c.duplicates_removed)}", 1),
                    Line("Records marked as ineligible by automation tools "
                         f"{_n(c.automation_ineligible)}", 1),
                    Line(f"Records removed for other reasons {_n(c.removed_other_reasons)}", 1)],
        "records_screened": [Line(f"Records screened {_n(c.records_screened)}")],
        "records_excluded": [Line(f"Records excluded {_n(c.records_excluded)}")],
        "dbr_sought_reports": [Line(f"Reports sought for retrieval {_n(c.reports_sought)}")],
        "dbr_notretrieved_reports": [
            Line(f"Reports not retrieved {_n(c.reports_not_retrieved)}")],
        "dbr_assessed": [Line(f"Reports assessed for eligibility {_n(c.reports_assessed)}")],
        "dbr_excluded": _excluded(c.reports_excluded),
        "included": [
            Line(f"{'New studies' if new else 'Studies'} included in review {_n(c.studies_included)}"),
            Line(f"Reports of {new}included studies {_n(c.reports_included)}")],
    }
    if c.records_excluded_by_automation is not None:
        # Footnote ** of the template: split human and automation exclusions at screening.
        boxes["records_excluded"] += [
            Line(f"by a human {_n(c.records_excluded - c.records_excluded_by_automation)}", 1),
            Line(f"by automation tools {_n(c.records_excluded_by_automation)}", 1)]
    if (o := c.other) is not None:
        boxes |= {
            "other_identification": [Line("Records identified from:")]
            + [Line(f"{name} {_n(n)}", 1) for name, n in o.identified.items()],
            "other_sought_reports": [Line(f"Reports sought for retrieval {_n(o.sought)}")],
            "other_notretrieved_reports": [Line(f"Reports not retrieved {_n(o.not_retrieved)}")],
            "other_assessed": [Line(f"Reports assessed for eligibility {_n(o.assessed)}")],
            "other_excluded": _excluded(o.excluded),
        }
        if o.not_sought_total:
            # No such box in template B; without it these records would be in no box at all.
            boxes["other_not_sought"] = [Line("Records not sought for retrieval:")] + [
                Line(f"{why} {_n(n)}", 1) for why, n in o.not_sought.items() if n]
    if (p := c.previous) is not None:
        boxes["previous"] = [
            Line(f"Studies included in previous version of review {_n(p.studies)}"),
            Line(f"Reports of studies included in previous version of review {_n(p.reports)}")]
        boxes["total"] = [Line(f"Total studies included in review {_n(p.total_studies)}"),
                          Line(f"Reports of total included studies {_n(p.total_reports)}")]
    return boxes


def _excluded(reasons: Mapping[str, int]) -> list[Line]:
    items = dict(reasons)
    total = sum(items.values())
    lines = [Line(f"Reports excluded {_n(total)}:" if items else f"Reports excluded {_n(0)}")]
    return lines + [Line(f"{reason} {_n(n)}", 1) for reason, n in items.items()]


def _refuse_if_inconsistent(counts: PrismaCounts, allow_violations: bool) -> None:
    """A diagram with broken arithmetic would be published as if true, so refuse to draw it."""
    errors = errors_only(check_identities(counts))
    if errors and not allow_violations:
        listing = "; ".join(str(v) for v in errors)
        raise ReviewkitError(
            f"PRISMA counts are inconsistent, so no diagram was drawn: {listing}",
            hint="fix the counts, or pass allow_violations=True to draw them anyway",
        )


# --- text ------------------------------------------------------------------------------------------


def prisma_text(counts: PrismaCounts, *, allow_violations: bool = False) -> str:
    """The flow diagram as indented plain text, for the terminal and the TUI ("→" marks side boxes)."""
    _refuse_if_inconsistent(counts, allow_violations)
    boxes = box_lines(counts)
    out: list[str] = []

    def put(key: str, side: bool = False) -> None:
        for i, line in enumerate(boxes[key]):
            lead = ("  → " if i == 0 else "    ") if side else ""
            out.append(f"{lead}{'  ' * line.indent}{line.text}")

    def phase(name: str) -> None:
        out.append(f"[{name}]")

    if counts.previous is not None:
        out.append("Previous studies")
        put("previous")
        out.append("")
    new = "new " if counts.previous is not None else ""
    out.append(f"Identification of {new}studies via databases and registers")
    phase("Identification")
    put("identification")
    put("removed", side=True)
    phase("Screening")
    for main, side in (("records_screened", "records_excluded"),
                       ("dbr_sought_reports", "dbr_notretrieved_reports"),
                       ("dbr_assessed", "dbr_excluded")):
        put(main)
        put(side, side=True)
    if counts.other is not None:
        out += ["", f"Identification of {new}studies via other methods"]
        phase("Identification")
        put("other_identification")
        if "other_not_sought" in boxes:
            put("other_not_sought", side=True)
        phase("Screening")
        for main, side in (("other_sought_reports", "other_notretrieved_reports"),
                           ("other_assessed", "other_excluded")):
            put(main)
            put(side, side=True)
        out.append("")
    phase("Included")
    put("included")
    if counts.previous is not None:
        put("total")
    return "\n".join(out) + "\n"


# --- figure ----------------------------------------------------------------------------------------


def _width_in(text: str, bold: bool, size: float = FONT_SIZE) -> float:
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    width, _, _ = _measure.get_text_width_height_descent(text, prop, ismath=False)
    return width / 72


def wrap_line(text: str, width: float, bold: bool = False, size: float = FONT_SIZE,
              hang: float = 0.0) -> list[str]:
    """Greedy word wrap by measured glyph widths (inches), so text stays inside its box.

    Lines after the first get `hang` inches less room (they are drawn indented by that much).
    """
    lines: list[str] = []
    current = ""
    # "(n = 31)" is one token: a count never breaks away from its "n =".
    for word in re.findall(r"\(n = [^)]*\)\S*|\S+", text):
        trial = f"{current} {word}" if current else word
        room = width - (hang if lines else 0.0)
        if current and _width_in(trial, bold, size) > room:
            lines.append(current)
            current = word
        else:
            current = trial
        # A word wider than a line (a website's URL as a source name, a reason written without
        # spaces) would run out of its box into the next one: break it inside.
        while _width_in(current, bold, size) > width - (hang if lines else 0.0) and len(current) > 1:
            head = _fitting_head(current, width - (hang if lines else 0.0), bold, size)
            lines.append(head)
            current = current[len(head):]
    return [*lines, current] if current else lines


def _fitting_head(word: str, room: float, bold: bool, size: float) -> str:
    """The longest start of `word` that fits `room`, ending after a "/", "-", "?", "&", "=", "_" or
    "." where one falls in the second half (a URL reads best broken there); at least one character."""
    cut = 1
    while cut < len(word) and _width_in(word[:cut + 1], bold, size) <= room:
        cut += 1
    soft = max(word.rfind(ch, 0, cut) for ch in "/-?&=_.") + 1
    return word[:soft] if soft > cut // 2 else word[:cut]


@dataclass
class _Box:
    key: str
    x: float
    w: float
    lines: list[tuple[str, float]] = field(default_factory=list)  # text, x offset
    y: float = 0.0  # bottom edge, set once the row heights are known

    @property
    def h(self) -> float:
        return len(self.lines) * LINE_H + 2 * PAD

    @property
    def mid_y(self) -> float:
        return self.y + self.h / 2


def _make_box(key: str, content: list[Line], x: float, w: float) -> _Box:
    box = _Box(key, x, w)
    for line in content:
        offset = line.indent * INDENT
        usable = w - 2 * PAD - offset
        # A wrapped continuation hangs under the first word (an extra half indent).
        for i, piece in enumerate(wrap_line(line.text, usable, hang=INDENT / 2)):
            box.lines.append((piece, offset + (INDENT / 2 if i else 0)))
    return box


@dataclass
class _Layout:
    width: float
    height: float
    boxes: dict[str, _Box]
    bands: list[tuple[float, float, float, float, str, str, bool]]  # x, y, w, h, colour, text, rotated
    arrows: list[list[tuple[float, float]]]  # polylines, the arrowhead at the last point


def _layout(counts: PrismaCounts) -> _Layout:
    """Place the boxes as in the official template: a main column, side boxes to its right."""
    content = box_lines(counts)
    margin, x = 0.15, 0.15 + BAR_W + 0.22
    cols: dict[str, float] = {}
    if counts.previous is not None:
        cols["prev"], x = x, x + PREV_W + 0.4
    cols["main"], cols["side"] = x, x + MAIN_W + GAP_X
    x = cols["side"] + SIDE_W
    if counts.other is not None:
        cols["omain"] = x + 0.45
        cols["oside"] = cols["omain"] + MAIN_W + GAP_X
        x = cols["oside"] + SIDE_W
    width = x + margin
    rows: list[list[tuple[str, str]]] = [
        [("previous", "prev"), ("identification", "main"), ("removed", "side"),
         ("other_identification", "omain"), ("other_not_sought", "oside")],
        [("records_screened", "main"), ("records_excluded", "side")],
        [("dbr_sought_reports", "main"), ("dbr_notretrieved_reports", "side"),
         ("other_sought_reports", "omain"), ("other_notretrieved_reports", "oside")],
        [("dbr_assessed", "main"), ("dbr_excluded", "side"),
         ("other_assessed", "omain"), ("other_excluded", "oside")],
        [("included", "main")],
        [("total", "main")],
    ]
    widths = {"prev": PREV_W, "main": MAIN_W, "side": SIDE_W, "omain": MAIN_W, "oside": SIDE_W}
    placed = [[_make_box(k, content[k], cols[c], widths[c]) for k, c in row if k in content]
              for row in rows]
    placed = [row for row in placed if row]
    heights = [max(b.h for b in row) for row in placed]
    phases = (("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, len(placed) - 1))
    for name, first, last in phases:
        # A phase bar must be tall enough for its rotated label; grow its last row if not.
        span = sum(heights[first:last + 1]) + GAP_Y * (last - first)
        need = _width_in(name, True, HEADER_SIZE) + 0.3
        heights[last] += max(0.0, need - span)
    citation = wrap_line(CITATION, width - 0.45, size=FONT_SIZE - 2)
    footer = len(citation) * LINE_H * 0.8 + 0.15
    height = 2 * margin + HEADER_H + GAP_Y * 0.8 + sum(heights) + GAP_Y * (len(heights) - 1) + footer
    top = height - margin - HEADER_H - GAP_Y * 0.8
    row_spans: list[tuple[float, float]] = []
    for row, h in zip(placed, heights, strict=True):
        for box in row:
            box.y = top - h / 2 - box.h / 2  # centred in its row, so side arrows run straight
        row_spans.append((top - h, top))
        top -= h + GAP_Y
    boxes = {b.key: b for row in placed for b in row}

    new = "new " if counts.previous is not None else ""
    band_y = height - margin - HEADER_H
    bands = [(cols["main"], band_y, cols["side"] + SIDE_W - cols["main"], HEADER_H, YELLOW,
              f"Identification of {new}studies via databases and registers", False)]
    if "omain" in cols:
        bands.append((cols["omain"], band_y, cols["oside"] + SIDE_W - cols["omain"], HEADER_H, GREY,
                      f"Identification of {new}studies via other methods", False))
    if "prev" in cols:
        bands.append((cols["prev"], band_y, PREV_W, HEADER_H, GREY, "Previous studies", False))
    for name, first, last in phases:
        low, high = row_spans[last][0], row_spans[first][1]
        bands.append((0.15, low, BAR_W, high - low, BLUE, name, True))

    def down(a: str, b: str) -> list[tuple[float, float]]:
        x = boxes[a].x + boxes[a].w / 2
        return [(x, boxes[a].y), (x, boxes[b].y + boxes[b].h)]

    def right(a: str, b: str) -> list[tuple[float, float]]:
        y = boxes[a].mid_y
        return [(boxes[a].x + boxes[a].w, y), (boxes[b].x, y)]

    chain = ["identification", "records_screened", "dbr_sought_reports", "dbr_assessed", "included"]
    arrows = [down(a, b) for a, b in zip(chain, chain[1:], strict=False)]
    arrows += [right("identification", "removed"), right("records_screened", "records_excluded"),
               right("dbr_sought_reports", "dbr_notretrieved_reports"),
               right("dbr_assessed", "dbr_excluded")]
    if "omain" in cols:
        arrows += [down("other_identification", "other_sought_reports"),
                   down("other_sought_reports", "other_assessed"),
                   right("other_sought_reports", "other_notretrieved_reports"),
                   right("other_assessed", "other_excluded")]
        if "other_not_sought" in boxes:
            arrows.append(right("other_identification", "other_not_sought"))
        # Eligible reports from other methods join the single included box (template B).
        ox, inc = cols["omain"] + MAIN_W / 2, boxes["included"]
        arrows.append([(ox, boxes["other_assessed"].y), (ox, inc.mid_y), (inc.x + inc.w, inc.mid_y)])
    if "prev" in cols:
        px, total = cols["prev"] + PREV_W / 2, boxes["total"]
        arrows.append(down("included", "total"))
        arrows.append([(px, boxes["previous"].y), (px, total.mid_y), (total.x, total.mid_y)])
    return _Layout(width, height, boxes, bands, arrows)


def prisma_figure(counts: PrismaCounts, *, allow_violations: bool = False) -> Figure:
    """Draw the PRISMA 2020 flow diagram (template A, or B when `counts.other` is set)."""
    _refuse_if_inconsistent(counts, allow_violations)
    lay = _layout(counts)
    fig = Figure(figsize=(lay.width, lay.height))
    # Axes in inches over the whole figure, so layout arithmetic and drawing share one unit.
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(0, lay.height)
    ax.set_axis_off()
    for x, y, w, h, colour, text, rotated in lay.bands:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                    facecolor=colour, edgecolor=colour, linewidth=0.8))
        label = "\n".join(wrap_line(text, (h if rotated else w) - 0.2, True, HEADER_SIZE))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=HEADER_SIZE,
                fontweight="bold", rotation=90 if rotated else 0, linespacing=1.2)
    for box in lay.boxes.values():
        ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h, boxstyle="square,pad=0",
                                    facecolor="white", edgecolor="black", linewidth=0.9))
        # Centre the glyphs in each line's leading, not only under its top edge.
        top = box.y + box.h - PAD - (LINE_H - FONT_SIZE / 72) / 2
        for i, (text, offset) in enumerate(box.lines):
            # Source names and reasons are the user's text: "$" is a character, not mathtext.
            ax.text(box.x + PAD + offset, top - i * LINE_H, text, ha="left", va="top",
                    fontsize=FONT_SIZE, parse_math=False)
    for points in lay.arrows:
        for (x0, y0), (x1, y1) in zip(points[:-2], points[1:-1], strict=False):
            ax.plot([x0, x1], [y0, y1], color="black", linewidth=1.0, solid_capstyle="butt")
        ax.annotate("", xy=points[-1], xytext=points[-2],
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.0,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 11})
    citation = "\n".join(wrap_line(CITATION, lay.width - 0.45, size=FONT_SIZE - 2))
    ax.text(0.15, 0.15, citation, ha="left", va="bottom", fontsize=FONT_SIZE - 2, color="#444444")
    return fig


def render_prisma(counts: PrismaCounts, path: str | Path, *, allow_violations: bool = False,
                  dpi: int = 200) -> Path:
    """Write the diagram to `path`; its suffix (.svg, .png, .pdf) picks the format."""
    target = Path(path)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ReviewkitError(f"cannot write a PRISMA diagram as {target.suffix or 'no suffix'!r}",
                             where=str(target), hint="use a .svg, .png or .pdf file name")
    fig = prisma_figure(counts, allow_violations=allow_violations)
    # Text stays text: searchable and editable SVG, TrueType (not Type 3) glyphs in PDF; fixed
    # hash salt and no dates so the same counts give the same file.
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}[fmt]
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "reviewkit-prisma"}
    ):
        try:
            fig.savefig(target, format=fmt, dpi=dpi, metadata=metadata)
        except OSError as exc:
            raise ReviewkitError(f"cannot write the PRISMA diagram: {exc.strerror or exc}",
                                 where=str(target), hint="check the folder exists and is writable"
                                 ) from exc
    return target

"""Provides the demo's stand-in full texts: a one-page PDF naming the article it stands in for."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display (render/ is used from CLI, TUI and tests)

from matplotlib.figure import Figure  # noqa: E402

#: A4 portrait, in inches.
PAGE = (8.27, 11.69)
#: Characters a line holds at the title's and the body's size, with the page's margins.
TITLE_WIDTH, BODY_WIDTH = 55, 84
#: Authors named before "et al.", as a title page would.
MAX_AUTHORS = 12


def stand_in_pdf(path: Path, *, title: str, authors: Sequence[str], citation: str, note: str) -> Path:
    """Write a one-page PDF at `path`: the title, the authors, the citation and `note` (what the page is
    and that it is not the article). Returns the file."""
    names = list(authors[:MAX_AUTHORS]) + (["et al."] if len(authors) > MAX_AUTHORS else [])
    blocks = [
        (textwrap.fill(title or "(no title)", TITLE_WIDTH), 15, "bold"),
        (textwrap.fill(", ".join(names) or "(no authors listed)", BODY_WIDTH), 10.5, "normal"),
        (textwrap.fill(citation, BODY_WIDTH), 10.5, "normal"),
        (textwrap.fill(note, BODY_WIDTH), 10.5, "normal"),
    ]
    fig = Figure(figsize=PAGE)
    y = 0.92
    for text, size, weight in blocks:
        fig.text(0.1, y, text, fontsize=size, fontweight=weight, va="top", ha="left", wrap=False)
        lines = text.count("\n") + 1
        y -= lines * size * 1.45 / 72 / PAGE[1] + 0.03  # the block's height, then a gap
    path.parent.mkdir(parents=True, exist_ok=True)
    # No creation date: the same record gives the same file, run after run.
    fig.savefig(path, format="pdf", metadata={"CreationDate": None, "Title": title})
    return path

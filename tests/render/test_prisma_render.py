"""Tests for the PRISMA 2020 flow diagram: files, searchable SVG text, layout and refusal on bad counts."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import FancyBboxPatch

from reviewkit.domain.prisma import OtherMethods, PreviousReview, PrismaCounts
from reviewkit.errors import ReviewkitError
from reviewkit.render.prisma import (
    _width_in,
    prisma_figure,
    prisma_text,
    render_prisma,
    wrap_line,
)


def review() -> PrismaCounts:
    """A consistent template-A flow (the baricitinib review's totals, invented per-source split)."""
    return PrismaCounts(
        databases={"PubMed": 150, "Embase": 170, "CENTRAL": 40},
        registers={"ClinicalTrials.gov": 19},
        duplicates_removed=239, automation_ineligible=0, removed_other_reasons=0,
        records_screened=140, records_excluded=109,
        reports_sought=31, reports_not_retrieved=0, reports_assessed=31,
        reports_excluded={"Not a randomised controlled trial": 12, "Wrong comparator": 8,
                          "Wrong population": 5},
        studies_included=6, reports_included=6,
    )


def with_other() -> PrismaCounts:
    """Template B: other methods add two included reports."""
    other = OtherMethods(
        identified={"Websites": 3, "Organisations": 1, "Citation searching": 9},
        sought=6, not_retrieved=1, assessed=5, excluded={"Not an RCT": 2, "Duplicate report": 1},
    )
    return replace(review(), other=other, reports_included=8)


def test_svg_holds_box_texts_and_counts(tmp_path: Path) -> None:
    """Text stays text in the SVG, so every box label and count is searchable."""
    svg = render_prisma(review(), tmp_path / "flow.svg").read_text(encoding="utf-8")
    for text in (
        "Identification of studies via databases and registers", "Identification", "Screening",
        "Included", "Records identified from:", "Databases (n = 360)", "PubMed (n = 150)",
        "Registers (n = 19)", "ClinicalTrials.gov (n = 19)", "Duplicate records removed (n = 239)",
        "Records screened (n = 140)", "Records excluded (n = 109)",
        "Reports sought for retrieval (n = 31)", "Reports not retrieved (n = 0)",
        "Reports assessed for eligibility (n = 31)", "Reports excluded (n = 25):",
        "Wrong comparator (n = 8)", "Studies included in review (n = 6)",
        "Reports of included studies (n = 6)",
    ):
        assert text in svg, text
    assert "other methods" not in svg


def test_template_b_draws_other_methods(tmp_path: Path) -> None:
    """With other methods the second column and its counts appear."""
    svg = render_prisma(with_other(), tmp_path / "flow.svg").read_text(encoding="utf-8")
    for text in ("Identification of studies via other methods", "Websites (n = 3)",
                 "Citation searching (n = 9)", "Reports sought for retrieval (n = 6)",
                 "Reports not retrieved (n = 1)", "Reports assessed for eligibility (n = 5)",
                 "Reports excluded (n = 3):", "Duplicate report (n = 1)",
                 "Reports of included studies (n = 8)"):
        assert text in svg, text
    assert prisma_figure(with_other()).get_figwidth() > prisma_figure(review()).get_figwidth()


def test_updated_review_boxes(tmp_path: Path) -> None:
    """The updated-review variant draws previous, new and total boxes."""
    counts = replace(review(), previous=PreviousReview(2, 3, 8, 9))
    svg = render_prisma(counts, tmp_path / "flow.svg").read_text(encoding="utf-8")
    for text in ("Previous studies", "Identification of new studies via databases and registers",
                 "New studies included in review (n = 6)", "Total studies included in review (n = 8)"):
        assert text in svg, text


def test_png_and_pdf_are_written(tmp_path: Path) -> None:
    """PNG and PDF files are real images of a sensible size."""
    png = render_prisma(review(), tmp_path / "flow.png")
    pdf = render_prisma(review(), tmp_path / "flow.PDF")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000


def test_svg_is_reproducible(tmp_path: Path) -> None:
    """The same counts give byte-identical SVG (no dates, fixed ids)."""
    a = render_prisma(review(), tmp_path / "a.svg").read_bytes()
    b = render_prisma(review(), tmp_path / "b.svg").read_bytes()
    assert a == b


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    """Only .svg, .png and .pdf are written; anything else names the fix."""
    with pytest.raises(ReviewkitError, match=r"\.svg, \.png or \.pdf"):
        render_prisma(review(), tmp_path / "flow.jpg")


def test_inconsistent_counts_are_refused(tmp_path: Path) -> None:
    """A diagram whose arithmetic fails is not drawn unless explicitly allowed."""
    bad = replace(review(), records_screened=150)
    with pytest.raises(ReviewkitError, match="records screened"):
        render_prisma(bad, tmp_path / "flow.svg")
    assert not (tmp_path / "flow.svg").exists()
    with pytest.raises(ReviewkitError, match="records screened"):
        prisma_text(bad)
    svg = render_prisma(bad, tmp_path / "flow.svg", allow_violations=True).read_text("utf-8")
    assert "Records screened (n = 150)" in svg
    assert "Records screened (n = 150)" in prisma_text(bad, allow_violations=True)


def test_notes_do_not_block_drawing(tmp_path: Path) -> None:
    """More reports than records (a documented note) still draws."""
    counts = replace(review(), reports_sought=33, reports_assessed=33,
                     reports_excluded={"Not an RCT": 27})
    assert render_prisma(counts, tmp_path / "flow.png").exists()


def test_height_grows_with_sources_and_reasons() -> None:
    """More databases or exclusion reasons make the figure taller, not cramped."""
    base = prisma_figure(review()).get_figheight()
    many_db = replace(review(), databases={f"Database {i}": 36 for i in range(10)})
    many_reasons = replace(review(), reports_excluded={f"Reason {i}": 1 for i in range(25)})
    assert prisma_figure(many_db).get_figheight() > base
    assert prisma_figure(many_reasons).get_figheight() > base


@pytest.mark.parametrize("variant", ["a", "b", "updated"])
def test_no_boxes_overlap_and_text_stays_inside(variant: str) -> None:
    """Drawn boxes never overlap, and every line of box text lies inside its box."""
    counts = {"a": review(), "b": with_other(),
              "updated": replace(with_other(), previous=PreviousReview(2, 3, 8, 11))}[variant]
    counts = replace(counts, reports_excluded={
        "A very long reason for exclusion that must wrap over several lines": 20,
        "Wrong population": 5})
    fig = prisma_figure(counts)
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [p.get_window_extent(renderer) for p in fig.axes[0].patches
             if isinstance(p, FancyBboxPatch) and p.get_facecolor()[:3] == (1.0, 1.0, 1.0)]
    assert len(boxes) >= 9
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b)
    for text in fig.axes[0].texts:
        extent = text.get_window_extent(renderer)
        inside = [b for b in boxes if b.contains(extent.x0 + 1, extent.y0 + 1)]
        if inside:  # box text (bands and the citation are checked by eye)
            assert extent.x1 <= inside[0].x1 and extent.y0 >= inside[0].y0, text.get_text()


def test_wrap_keeps_counts_whole_and_fits() -> None:
    """Wrapped lines fit the width and "(n = 31)" never splits."""
    lines = wrap_line("Reports assessed for eligibility against every criterion (n = 31)", 1.6)
    assert len(lines) > 1 and lines[-1].endswith("(n = 31)") and "(n =" not in lines[0]
    assert all(_width_in(line, False) <= 1.6 for line in lines)


def test_text_rendering_template_a_and_b() -> None:
    """The plain-text diagram lists every box in order, side boxes marked with an arrow."""
    text = prisma_text(review())
    lines = text.splitlines()
    assert lines[0] == "Identification of studies via databases and registers"
    assert "    PubMed (n = 150)" in lines
    assert "  → Records excluded (n = 109)" in lines
    assert "      Wrong comparator (n = 8)" in lines
    assert lines.index("Records screened (n = 140)") < lines.index("Reports assessed for eligibility (n = 31)")
    assert lines[-1] == "Reports of included studies (n = 6)"
    b = prisma_text(with_other())
    assert "Identification of studies via other methods" in b and "  Citation searching (n = 9)" in b


def test_unwritable_target_names_the_file(tmp_path: Path) -> None:
    """A missing folder is a user error naming the path, not a traceback."""
    target = tmp_path / "no-such-folder" / "flow.svg"
    with pytest.raises(ReviewkitError, match="no-such-folder"):
        render_prisma(review(), target)


def test_global_rcparams_untouched(tmp_path: Path) -> None:
    """Rendering sets its SVG/PDF font options only for its own save."""
    import matplotlib

    before = (matplotlib.rcParams["svg.fonttype"], matplotlib.rcParams["pdf.fonttype"])
    render_prisma(review(), tmp_path / "flow.svg")
    assert (matplotlib.rcParams["svg.fonttype"], matplotlib.rcParams["pdf.fonttype"]) == before

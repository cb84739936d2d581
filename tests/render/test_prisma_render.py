"""Tests for the PRISMA 2020 flow diagram: files, searchable SVG text, layout and refusal on bad counts."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import combinations
from pathlib import Path
from xml.etree import ElementTree

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import FancyBboxPatch

from reviewkit.domain.prisma import OtherMethods, PreviousReview, PrismaCounts
from reviewkit.domain.prisma_io import to_json_dict
from reviewkit.errors import ReviewkitError
from reviewkit.render.prisma import (
    _width_in,
    prisma_figure,
    prisma_text,
    render_prisma,
    wrap_line,
)
from tests.prisma_flows import baricitinib_flow, with_other_methods
from tests.render.svg_text import svg_texts


def review() -> PrismaCounts:
    """A consistent template-A flow (the baricitinib review's totals, invented per-source split)."""
    return baricitinib_flow("Not a randomised controlled trial")


def with_other() -> PrismaCounts:
    """Template B: other methods add two included reports."""
    return with_other_methods(review())


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


LONG_REASONS = {
    "Wrong population": 61, "Wrong intervention": 40, "Wrong comparator": 33, "Wrong outcomes": 20,
    "Not a randomised controlled trial (quasi-randomised, cluster-crossover or non-randomised allocation)": 100,
    "Conference abstract with insufficient data to assess eligibility or extract outcomes": 30,
    "Duplicate publication": 10, "Trial registration only, no results posted or published": 9,
    "Retracted": 1, "Wrong setting": 2, "Follow-up shorter than the protocol's minimum of 12 weeks": 3,
    "Full text not in a language the team reads (Chinese, Japanese, Korean, Russian)": 4,
}


def large_review(url_source: bool = False) -> PrismaCounts:
    """Template B as a large review draws it: ten databases with long names, tens of thousands of
    records, twelve full-text exclusion reasons (some long), zero counts and reports not retrieved.
    With `url_source`, an other-methods source is named by a URL, one word wider than a box."""
    databases = {
        "PubMed": 24000, "Embase (Ovid)": 12500,
        "Cochrane Central Register of Controlled Trials (CENTRAL), Wiley": 3100,
        "Web of Science Core Collection (Clarivate)": 5200, "Scopus": 8300, "APA PsycINFO (Ovid)": 1450,
        "LILACS (Latin American and Caribbean Health Sciences Literature)": 210,
        "MEDLINE + CINAHL (EBSCOhost)": 4100, "Global Index Medicus": 0,
    }
    registers = {"ClinicalTrials.gov": 456, "WHO International Clinical Trials Registry Platform (ICTRP)": 321,
                 "EU Clinical Trials Register": 0}
    hand = ("https://www.clinicaltrialsregister.eu/ctr-search/search?query=baricitinib" if url_source
            else "Hand search of conference proceedings (AAD, EADV 2019-2023)")
    other = OtherMethods(
        identified={"Websites": 37, "Organisations": 12, "Citation searching": 85, hand: 9},
        sought=96, not_retrieved=5, assessed=91,
        excluded={"Wrong population": 30, "Duplicate publication": 5},
        not_sought={"Duplicates of records counted elsewhere": 10, "Excluded on title/abstract": 37},
    )
    identified = sum(databases.values()) + sum(registers.values())
    screened = identified - 12345 - 1500
    return PrismaCounts(
        databases=databases, registers=registers, duplicates_removed=12345, automation_ineligible=1500,
        removed_other_reasons=0, records_screened=screened, records_excluded=screened - 1395,
        reports_sought=1395, reports_not_retrieved=12, reports_assessed=1383, reports_excluded=LONG_REASONS,
        studies_included=1000, reports_included=1383 - sum(LONG_REASONS.values()) + 56, other=other,
    )


def svg_text(path: Path) -> str:
    """Every text element of the SVG in drawing order, joined by spaces: a box's wrapped lines read
    back as the line they were wrapped from."""
    root = ElementTree.parse(path).getroot()
    return " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_large_counts_have_thousands_separators(tmp_path: Path) -> None:
    """Counts of a thousand and more print as the published diagrams do ("n = 12,345"), in the
    figure and the text alike, so 58,860 and 456 read apart at a glance."""
    drawn = svg_text(render_prisma(large_review(), tmp_path / "flow.svg"))
    text = prisma_text(large_review())
    for shown in ("Databases (n = 58,860)", "PubMed (n = 24,000)", "Duplicate records removed (n = 12,345)",
                  "Reports assessed for eligibility (n = 1,383)", "Registers (n = 777)"):
        assert shown in drawn and shown in text, shown
    assert not re.search(r"n = \d{4}", drawn + text)


def test_svg_draws_the_json_counts(tmp_path: Path) -> None:
    """Each count `--format json` gives is drawn in its box, with its source or reason: the published
    figure and the counts a reader checks it against agree."""
    counts = large_review()
    data = to_json_dict(counts)
    drawn = svg_text(render_prisma(counts, tmp_path / "flow.svg"))

    def n(value: int) -> str:
        return f"(n = {value:,})"

    expected = [f"Databases {n(data['database_results'])}", f"Registers {n(data['register_results'])}",
                f"Duplicate records removed {n(data['duplicates'])}",
                f"Records marked as ineligible by automation tools {n(data['excluded_automatic'])}",
                f"Records removed for other reasons {n(data['excluded_other'])}",
                f"Records screened {n(data['records_screened'])}", f"Records excluded {n(data['records_excluded'])}",
                f"Reports sought for retrieval {n(data['dbr_sought_reports'])}",
                f"Reports not retrieved {n(data['dbr_notretrieved_reports'])}",
                f"Reports assessed for eligibility {n(data['dbr_assessed'])}",
                f"Reports excluded {n(sum(data['dbr_excluded'].values()))}:",
                f"Studies included in review {n(data['new_studies'])}",
                f"Reports of included studies {n(data['new_reports'])}",
                f"Reports sought for retrieval {n(data['other']['sought'])}",
                f"Reports not retrieved {n(data['other']['not_retrieved'])}",
                f"Reports assessed for eligibility {n(data['other']['assessed'])}"]
    for key in ("databases", "registers", "dbr_excluded"):
        expected += [f"{name} {n(value)}" for name, value in data[key].items()]
    for key in ("identified", "excluded", "not_sought"):
        expected += [f"{name} {n(value)}" for name, value in data["other"][key].items()]
    for shown in expected:
        assert shown in drawn, shown


def _drawn_extents(counts: PrismaCounts, dpi: float) -> tuple[list[tuple[str, object]], list[object], object]:
    fig = prisma_figure(counts)
    fig.set_dpi(dpi)
    renderer = FigureCanvasAgg(fig).get_renderer()
    patches = [p.get_window_extent(renderer) for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
    texts = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.axes[0].texts if t.get_text()]
    return texts, patches, fig.bbox


@pytest.mark.parametrize("url_source", [False, True])
def test_every_text_lies_inside_its_box(url_source: bool) -> None:
    """At the PNG's resolution every line of text lies wholly inside the box or band it belongs to
    (all four edges), however long the source names and reasons: a URL named as a source is broken
    inside (it ran on into the next box, over that box's text). The citation stays on the page."""
    texts, patches, page = _drawn_extents(large_review(url_source), 200)
    for text, extent in texts:
        x, y = (extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2
        holders = [p for p in patches if p.contains(x, y)]
        if not holders:
            assert text.startswith("From: Page MJ") or text.startswith("BMJ"), text
            holders = [page]
        box = holders[0]
        assert (box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0
                and extent.y1 <= box.y1), text


def test_a_long_word_breaks_inside() -> None:
    """A word wider than the line is broken, at a "/" where one is near the end, and nothing is lost."""
    url = "https://www.clinicaltrialsregister.eu/ctr-search/search?query=baricitinib"
    lines = wrap_line(f"{url} (n = 9)", 2.4, hang=0.08)
    assert len(lines) >= 2 and lines[0].endswith("/") and lines[-1].endswith("(n = 9)")
    assert "".join(lines).removesuffix("(n = 9)").rstrip() == url
    assert all(_width_in(line, False) <= 2.4 for line in lines)


def test_a_dollar_sign_in_a_source_or_reason_is_text_not_math(tmp_path: Path) -> None:
    """Two "$" in the user's text ("Trials $ Co. $x$ register", a reason "Cost in $ (US$)") were read as
    mathtext by matplotlib; the diagram draws them as typed."""
    counts = replace(review(), databases={"PubMed": 150, "Embase": 170, "Trials $ Co. $x$": 40},
                     reports_excluded={"Not a randomised controlled trial": 12, "Cost in $ (US$)": 8,
                                       "Wrong population": 5})
    svg = render_prisma(counts, tmp_path / "flow.svg").read_text(encoding="utf-8")
    drawn = {t.text for t in svg_texts(svg)}  # the text elements, not the comments matplotlib writes beside them
    assert "Trials $ Co. $x$ (n = 40)" in drawn and "Cost in $ (US$) (n = 8)" in drawn

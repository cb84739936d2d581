"""Tests funnel plots: files for ratio and difference measures, with and without trim-and-fill."""

from __future__ import annotations

import json
from pathlib import Path

from reviewkit.pooling import effects_from_rows, pool, trim_and_fill
from reviewkit.render.funnel import funnel_plot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"


def _effects(name: str, measure: str):
    studies = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["input"]["studies"]
    return effects_from_rows(studies, measure)


def test_funnel_svg_for_ratio_with_trimfill(tmp_path: Path) -> None:
    """A log-RR funnel with imputed studies names its axes and the imputed points in the SVG."""
    eff = _effects("bcg_RR_DL", "RR")
    res = pool(eff, model="fixed", estimator=None)
    tf = trim_and_fill(eff, model="fixed", estimator=None)
    svg = funnel_plot(res, tmp_path / "funnel.svg", trimfill=tf).read_text(encoding="utf-8")
    assert "Risk Ratio" in svg and "SE(log[RR])" in svg
    assert "Imputed (trim and fill)" in svg
    assert "Funnel plot (13 studies)" in svg


def test_funnel_png_for_difference(tmp_path: Path) -> None:
    """A mean-difference funnel is written as PNG."""
    res = pool(_effects("normand1999_MD_DL", "MD"), model="random", estimator="DL")
    assert funnel_plot(res, tmp_path / "funnel.png").read_bytes()[:4] == b"\x89PNG"

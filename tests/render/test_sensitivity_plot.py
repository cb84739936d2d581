"""Tests the forest-style plot of leave-one-out and cumulative analyses."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from reviewkit.pooling import cumulative, effects_from_rows, leave_one_out, pool
from reviewkit.pooling.wording import format_effect
from reviewkit.render.sensitivity_plot import sensitivity_plot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metafor"


def _effects(name: str):  # noqa: ANN202 - an EffectSizes
    studies = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["input"]["studies"]
    return effects_from_rows(studies, "RR")


def test_leave_one_out_plot_shows_every_refit_and_all_studies(tmp_path: Path) -> None:
    """One row per omitted study with the refit's effect and CI, and the analysis of all studies below."""
    effects = _effects("bcg_RR_DL")
    settings = {"method": "IV", "model": "random", "estimator": "DL"}
    main = pool(effects, **settings)
    result = leave_one_out(effects, **settings)
    svg = sensitivity_plot(result, main, tmp_path / "loo.svg").read_text(encoding="utf-8")
    for label, step in zip(result.labels, result.results, strict=True):
        assert escape(f"Omitting {label}") in svg
        assert format_effect(step.effect, *step.effect_ci) in svg
    assert "All studies (95% CI)" in svg
    assert format_effect(main.effect, *main.effect_ci) in svg
    assert "Study omitted" in svg and "Tau²" in svg and "Favours [experimental]" in svg


def test_cumulative_plot_of_a_fixed_effect_model(tmp_path: Path) -> None:
    """A cumulative plot labels each step by the study added; a fixed-effect model has no tau² column."""
    effects = _effects("bcg_RR_DL")
    settings = {"method": "MH", "model": "fixed"}
    result = cumulative(effects, **settings)
    svg = sensitivity_plot(result, pool(effects, **settings), tmp_path / "cum.svg").read_text(encoding="utf-8")
    assert escape(f"+ {result.labels[-1]}") in svg
    assert f"{result.results[-1].I2:.1f}%" in svg
    assert "Study added (cumulative)" in svg and "Tau²" not in svg


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_sensitivity_plot_writes_png_and_pdf(tmp_path: Path, suffix: str) -> None:
    """The format follows the suffix, as for the forest plot."""
    effects = _effects("bcg_RR_DL")
    out = sensitivity_plot(leave_one_out(effects), pool(effects), tmp_path / f"loo{suffix}")
    assert out.read_bytes()[:4] in (b"\x89PNG", b"%PDF")

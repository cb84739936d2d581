"""Tests the planned small-study analyses in `analyze`: studies counted (not comparisons), shared control
groups cautioned, analyses that cannot run named rather than ending the run, and the timepoint exported."""

from __future__ import annotations

import numpy as np
import pytest

from reviewkit.protocol import load_protocol
from reviewkit.services import analyze_sensitivity
from reviewkit.services.analyze import ArmInput, StudyInput, run_analysis
from reviewkit.services.project import EXAMPLE_PROTOCOL
from tests.services.test_analyze import IGA, baricitinib_iga

PROTOCOL = load_protocol(EXAMPLE_PROTOCOL)
BIAS = IGA.model_copy(update={"sensitivity": ["egger", "trimfill"]})


def test_naive_comparisons_count_their_trials_and_share_controls() -> None:
    """The demo's naive IGA analysis has 11 comparisons from 5 trials: Egger's test and trim-and-fill run
    (df 9) but are cautioned for the 5 studies, and for comparisons sharing a placebo group."""
    out = run_analysis(baricitinib_iga(), BIAS, "naive")
    trials = len({r["source_study"] for r in out.rows})
    assert out.result.k == 11 > 10 > trials == 5
    assert out.to_dict()["egger"]["df"] == 9
    for what in ("Egger's test", "Trim-and-fill"):
        assert any(w.startswith(f"{what} on 11 comparisons from 5 studies: ") for w in out.warnings)
    for what in ("Egger's test", "trim-and-fill"):
        shared = [w for w in out.warnings if w.startswith(f"{what}: 11 comparisons come from 5 studies")]
        assert len(shared) == 1 and "BREEZE-AD1 (3)" in shared[0] and "BREEZE-AD4" not in shared[0]


def test_combined_arms_are_one_comparison_per_study() -> None:
    """Combining the arms gives one comparison per trial: the caution counts 5 studies, nothing is shared."""
    out = run_analysis(baricitinib_iga(), BIAS, "combine")
    assert any(w.startswith("Egger's test on 5 studies: ") for w in out.warnings)
    assert not any("comparisons come from" in w for w in out.warnings)


def _same_trials() -> list[StudyInput]:
    arms = (ArmInput("Baricitinib 4 mg", 100, events=10), ArmInput("placebo", 100, events=20))
    return [StudyInput(name, arms) for name in ("T1", "T2", "T3")]


def test_equal_standard_errors_leave_the_analysis_running() -> None:
    """Three identical trials: no slope on SE to fit, so Egger's test and trim-and-fill are named as not
    run, with why, and the pooled result still comes out (one planned test must not abort the run)."""
    out = run_analysis(_same_trials(), BIAS, "naive")
    assert out.result.k == 3 and out.sensitivity == {}
    assert ("Egger's test not run: Egger's test needs studies whose standard errors differ (all 3 have SE "
            "0.3606): it tests the slope of the estimates on their SEs") in out.warnings
    assert any(w.startswith("trim-and-fill not run: trim-and-fill needs studies whose standard errors differ")
               for w in out.warnings)


def test_a_numpy_failure_is_a_warning_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should numpy still find a fit singular, the analysis is named as not run, the others run."""
    def singular(*_args: object, **_kwargs: object) -> None:
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(analyze_sensitivity, "egger_test", singular)
    out = run_analysis(baricitinib_iga(), BIAS, "combine")
    assert "Egger's test not run: Singular matrix" in out.warnings
    assert set(out.sensitivity) == {"trimfill"}

"""Tests that an analysis's participants count each arm once: a multi-arm trial's shared control group was
counted once per comparison (naive rows each hold it whole), overstating N on the analysis screen."""

from __future__ import annotations

import csv

import pytest

from reviewkit.services.analyze import ArmInput, StudyInput, run_analysis
from tests.conftest import FIXTURES
from tests.services.test_analyze import IGA, baricitinib_iga


def _iga_arm_totals() -> float:
    """Every arm's participants for IGA 0/1 in the extraction table (fixtures/baricitinib/outcomes.csv), once."""
    rows = csv.DictReader((FIXTURES / "baricitinib" / "outcomes.csv").open())
    return sum(float(r["total"]) for r in rows if r["outcome"] == "iga01")


@pytest.mark.parametrize("strategy", ["naive", "split", "combine"])
def test_the_baricitinib_trials_count_every_arm_once(strategy: str) -> None:
    """BREEZE-AD1, AD2 and others compare two or three doses with one placebo group: whatever the handling,
    N is the trials' participants (every comparison is pooled here)."""
    out = run_analysis(baricitinib_iga(), IGA, strategy)
    assert len(out.result.positions) == len(out.rows)
    assert out.participants == pytest.approx(_iga_arm_totals())
    if strategy == "naive":  # what summing the comparison rows gave: placebo once per dose
        rows = sum(float(r["n_treat"]) + float(r["n_ctrl"]) for r in out.rows)
        assert rows > out.participants + 100


#: Three trials (events/total): A doses two arms against one placebo group; C's arm "one" and its placebo
#: have no events, so that comparison is not estimable for a risk ratio and is left out of the pooling.
TRIALS = [
    StudyInput("A", (ArmInput("placebo", 100, 10), ArmInput("low", 50, 20), ArmInput("high", 60, 25))),
    StudyInput("B", (ArmInput("placebo", 80, 8), ArmInput("drug", 90, 30))),
    StudyInput("C", (ArmInput("placebo", 40, 0), ArmInput("one", 40, 0), ArmInput("two", 40, 5))),
]


@pytest.mark.parametrize(("strategy", "people"), [
    # A: 100 + 50 + 60; B: 80 + 90; C: its placebo group's 40 once (split: its real size, not the share
    # left in the pooled comparison) and arm "two"'s 40 (arm "one" is not pooled).
    ("naive", 210 + 170 + 80),
    ("split", 210 + 170 + 80),
    # combined, C's two arms are one comparison against placebo, and it is pooled: all 120 of C.
    ("combine", 210 + 170 + 120),
])
def test_a_shared_control_counts_its_real_size_once(strategy: str, people: float) -> None:
    out = run_analysis(TRIALS, IGA, strategy)
    assert out.participants == pytest.approx(people)

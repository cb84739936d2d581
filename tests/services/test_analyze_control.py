"""Tests which arm of a study an analysis takes as its control: the arm's intervention (its label when it has
none), matched whole, without case or extra spaces; a study with no such arm, or several, is left out with
its arms named."""

from __future__ import annotations

import pytest

from reviewkit.protocol import load_protocol
from reviewkit.services.analyze import ArmInput, StudyInput, comparison_rows, run_analysis
from reviewkit.services.project import EXAMPLE_PROTOCOL

IGA = load_protocol(EXAMPLE_PROTOCOL).analyses[0]  # control = "placebo", RR, naive


def _rows(*studies: StudyInput, control: str = "placebo") -> tuple[list[dict[str, object]], list[str]]:
    return comparison_rows(list(studies), IGA.model_copy(update={"control": control}), "naive")


def test_an_arm_given_placebo_is_the_control_whatever_its_label() -> None:
    """A "Vehicle" arm whose intervention is placebo is the control; the double-dummy arm labelled
    "... + placebo-matched" is experimental (a substring of the label made it a second control)."""
    study = StudyInput("Trial", (
        ArmInput("Bari 4 mg + placebo-matched", 100, 30, intervention="baricitinib"),
        ArmInput("Vehicle", 90, 9, intervention="placebo"),
    ))
    rows, warnings = _rows(study)
    assert warnings == []
    assert [(r["events_treat"], r["n_treat"], r["events_ctrl"], r["n_ctrl"]) for r in rows] == [(30, 100, 9, 90)]


@pytest.mark.parametrize(("intervention", "control"), [
    ("  Placebo\t", "placebo"),
    ("matching   placebo", "Matching placebo"),
    ("PLACEBO", "placebo"),
])
def test_the_intervention_matches_without_case_or_extra_spaces(intervention: str, control: str) -> None:
    """Case and runs of spaces do not matter: the protocol's text and the extractor's are the same words."""
    study = StudyInput("Trial", (ArmInput("Drug", 50, 20, intervention="drug"),
                                 ArmInput("Control arm", 50, 5, intervention=intervention)))
    rows, warnings = _rows(study, control=control)
    assert warnings == [] and [r["n_ctrl"] for r in rows] == [50]


def test_an_arm_without_an_intervention_is_matched_by_its_whole_label() -> None:
    """Without an intervention the label decides, as a whole: "Placebo" is the control, "Placebo-matched
    bari" is not."""
    study = StudyInput("Trial", (ArmInput("Placebo-matched bari", 60, 25), ArmInput(" placebo ", 40, 4)))
    rows, warnings = _rows(study)
    assert warnings == []
    assert [(r["n_treat"], r["n_ctrl"]) for r in rows] == [(60, 40)]


def test_the_intervention_wins_over_the_label() -> None:
    """An arm labelled "Placebo" but recorded as given the drug is not the control: the intervention is what
    was given, the label only a name."""
    study = StudyInput("Trial", (ArmInput("Placebo", 60, 25, intervention="baricitinib"),
                                 ArmInput("Vehicle", 40, 4, intervention="placebo")))
    rows, _ = _rows(study)
    assert [(r["n_treat"], r["n_ctrl"]) for r in rows] == [(60, 40)]


def test_two_control_arms_leave_the_study_out_naming_both() -> None:
    """Two arms given placebo: the study is left out with a warning naming both arms and what matched;
    the other studies are still compared."""
    ambiguous = StudyInput("Twice", (ArmInput("Drug", 50, 20, intervention="drug"),
                                     ArmInput("Placebo A", 25, 2, intervention="placebo"),
                                     ArmInput("Placebo B", 25, 3, intervention="Placebo")))
    fine = StudyInput("Once", (ArmInput("Drug", 50, 20, intervention="drug"),
                               ArmInput("Placebo", 50, 5, intervention="placebo")))
    rows, warnings = _rows(ambiguous, fine)
    assert [r["study"] for r in rows] == ["Once"]
    assert len(warnings) == 1
    assert warnings[0].startswith("Twice: left out, 2 arms match control 'placebo': 'Placebo A' (intervention "
                                  "'placebo'), 'Placebo B' (intervention 'Placebo')")


def test_no_control_arm_leaves_the_study_out_naming_its_arms() -> None:
    """No arm is the control: the warning lists the study's arms with what each was matched by."""
    study = StudyInput("Active", (ArmInput("Drug", 50, 20, intervention="drug"), ArmInput("Other", 50, 10)))
    fine = StudyInput("Once", (ArmInput("Drug", 50, 20, intervention="drug"),
                               ArmInput("Placebo", 50, 5, intervention="placebo")))
    out = run_analysis([study, fine], IGA, "naive")
    assert [r["study"] for r in out.rows] == ["Once"]
    assert ("Active: left out, no arm with iga_0_1 data is the control 'placebo' (arms: 'Drug' (intervention "
            "'drug'), 'Other' (no intervention: its label is matched))") in out.warnings[0]


def test_a_blank_control_matches_no_arm() -> None:
    """A blank control (refused by `protocol check`, but a review loaded leniently may hold one) is no arm,
    not every arm."""
    study = StudyInput("Trial", (ArmInput("Drug", 50, 20, intervention="drug"),
                                 ArmInput("Placebo", 50, 5, intervention="placebo")))
    rows, warnings = _rows(study, control="")
    assert rows == [] and warnings[0].startswith("Trial: left out, no arm with iga_0_1 data is the control ''")

"""Tests for the names of the results assessed: a new name that is a slip of one already used is refused
(`rob start`, the TUI and `rob import` share the check), a case or space variant is the same result, a
punctuation variant a slip, and a legitimately new result is never held up."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.services import assess
from reviewkit.services.assess_import import import_rob
from reviewkit.services.assess_outcomes import OutcomeNearMiss, is_near_miss
from reviewkit.services.extract_checks import close_labels
from reviewkit.services.project import Review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope

HEADER = "study,outcome,assessor,consensus,tool,variant,question,answer,support\n"


@pytest.fixture
def rob2_studies(rob2_review: Review) -> Review:
    """The RoB 2 review (its outcomes: iga_0_1, easi50, easi75, …) with two studies."""
    with session_scope(rob2_review.engine, write=True) as s:
        for label in ("BREEZE-AD1", "BREEZE-AD2"):
            rob_store.add_study(s, label, actor="test")
    return rob2_review


def outcomes(review: Review) -> list[tuple[int, str]]:
    """(study, outcome) of every stored assessment, oldest first."""
    with session_scope(review.engine) as s:
        return [(a.study_id, a.outcome) for a in rob_store.assessments(s)]


@pytest.mark.parametrize(("typed", "known", "near"), [
    ("IGA 0/1 wek 16", "IGA 0/1 week 16", True),  # a letter left out
    ("IGA 0/1 weke 16", "IGA 0/1 week 16", True),  # two neighbours swapped: one edit
    ("IGA 0-1 week-16", "IGA 0/1 week 16", True),  # two characters typed differently
    ("easi_75", "easi75", True),  # the protocol's name with an underscore
    ("IGA 0/1 week 12", "IGA 0/1 week 16", False),  # another time point: numbers differ
    ("EASI 90", "EASI 75", False),  # another threshold
    ("SAE", "AE", False),  # short names one letter apart are different results
    ("mITT IGA", "ITT IGA", True),  # ... but in a longer name one letter is a slip
    ("IGA 0/1, post hoc", "iga_0_1", False),  # far apart: a result of its own
    ("iga 0/1 WEEK16", "IGA 0/1 week 16", False),  # the same name (resolved, not a near-miss)
    ("iga 0/1", "iga_0_1", True),  # punctuation typed differently: no edits, but a second spelling
    ("IGA 0 1", "iga_0_1", True),  # punctuation left out
    ("IGA 0 1 wek 16", "IGA 0/1 week 16", True),  # punctuation aside, a letter left out
    ("iga 0/1 week 12", "iga_0_1 week 16", False),  # punctuation aside, another time point
    ("/", "-", False),  # nothing but punctuation: no name to be close to
    ("week 1/2", "week 12", False),  # the slash splits the numbers: another time point, though both fold alike
    ("EASI-75 week 1-2", "EASI 75 week 12", False),
])
def test_what_counts_as_a_near_miss(typed: str, known: str, near: bool) -> None:
    """Same numbers and at most two edits (one per five characters); equal without case or spaces is the
    same name, not a near-miss."""
    assert is_near_miss(typed, known) is near


def test_start_refuses_a_slip_of_a_name_used_for_another_study(rob2_studies: Review) -> None:
    """alice assessed "IGA 0/1 week 16" in study 1; bob's "IGA 0/1 wek 16" in study 2 is refused naming the
    used name and how to go on, and nothing is stored; --new-outcome (new_outcome) starts it as a new result."""
    assess.start_assessment(rob2_studies, "alice", 1, "IGA 0/1 week 16")
    with pytest.raises(OutcomeNearMiss) as refused:
        assess.start_assessment(rob2_studies, "bob", 2, "IGA 0/1 wek 16")
    assert refused.value.close == ("IGA 0/1 week 16",)
    assert "'IGA 0/1 week 16'" in str(refused.value) and "--new-outcome" in str(refused.value)
    assert outcomes(rob2_studies) == [(1, "IGA 0/1 week 16")]
    view = assess.start_assessment(rob2_studies, "bob", 2, "IGA 0/1 wek 16", new_outcome=True)
    assert view.outcome == "IGA 0/1 wek 16"
    # Once used, the name is reused exactly without a question, by anyone.
    assert assess.start_assessment(rob2_studies, "carol", 2, "IGA 0/1 wek 16").outcome == "IGA 0/1 wek 16"


def test_case_and_space_variants_are_the_name_used_in_any_study(rob2_studies: Review) -> None:
    """A variant differing only in case or spaces is read as the name another study's assessment uses
    (the plot would otherwise split one result in two), not refused and not a new name."""
    assess.start_assessment(rob2_studies, "alice", 1, "IGA 0/1 week 16")
    view = assess.start_assessment(rob2_studies, "bob", 2, " iga 0/1  WEEK 16 ")
    assert view.outcome == "IGA 0/1 week 16"
    assert {o for _, o in outcomes(rob2_studies)} == {"IGA 0/1 week 16"}


def test_a_slip_of_a_protocol_outcome_is_refused(rob2_studies: Review) -> None:
    """No assessment yet: "easi_75" is refused as close to the protocol's easi75 and names it as such."""
    with pytest.raises(OutcomeNearMiss, match=r"'easi75' \(a protocol outcome\)"):
        assess.start_assessment(rob2_studies, "alice", 1, "easi_75")
    assert outcomes(rob2_studies) == []


@pytest.mark.parametrize("typed", ["iga 0/1", "IGA 0 1", "IGA-0-1"])
def test_a_punctuation_variant_of_a_protocol_outcome_is_refused(rob2_studies: Review, typed: str) -> None:
    """`rob start --outcome "iga 0/1"` (or "IGA 0 1") is the protocol's iga_0_1 but for punctuation: once
    it silently started a second result; now it is refused naming iga_0_1, before and after iga_0_1 is
    assessed, and a case variant of the protocol's spelling is read as it."""
    with pytest.raises(OutcomeNearMiss, match=r"'iga_0_1' \(a protocol outcome\)") as refused:
        assess.start_assessment(rob2_studies, "bob", 1, typed)
    assert refused.value.close == ("iga_0_1",) and "--outcome 'iga_0_1'" in str(refused.value)
    assert assess.start_assessment(rob2_studies, "bob", 1, "IGA_0_1").outcome == "iga_0_1"
    with pytest.raises(OutcomeNearMiss):
        assess.start_assessment(rob2_studies, "bob", 1, typed)
    assert outcomes(rob2_studies) == [(1, "iga_0_1")]


def test_new_results_are_not_held_up(rob2_studies: Review) -> None:
    """Another time point, another threshold, a name far from all: each starts without a question."""
    assess.start_assessment(rob2_studies, "alice", 1, "IGA 0/1 week 16")
    for name in ("IGA 0/1 week 4", "EASI 90 week 16", "Serious adverse events", ""):
        assert assess.start_assessment(rob2_studies, "alice", 1, name).outcome == name
    assert len(outcomes(rob2_studies)) == 5


def test_import_refuses_a_slip_on_its_line_and_stores_nothing(rob2_studies: Review, tmp_path: Path) -> None:
    """A row whose outcome is a slip of a stored name fails the import on that row's line, naming the
    stored name and --new-outcome; nothing of the file is stored. new_outcomes lets it in."""
    assess.start_assessment(rob2_studies, "alice", 1, "IGA 0/1 week 16")
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(HEADER + "BREEZE-AD2,IGA 0/1 week 16,bob,no,rob2,assignment,1.1,Y,\n"
                        "BREEZE-AD2,IGA 0/1 wek 16,alice,no,rob2,assignment,1.1,N,\n", encoding="utf-8")
    with pytest.raises(ParseError) as refused:
        import_rob(rob2_studies, csv_file, actor="alice")
    assert refused.value.line == 3
    assert "'IGA 0/1 week 16'" in str(refused.value) and "--new-outcome 'IGA 0/1 wek 16'" in str(refused.value)
    assert outcomes(rob2_studies) == [(1, "IGA 0/1 week 16")]
    done = import_rob(rob2_studies, csv_file, actor="alice", new_outcomes=["iga 0/1 WEK 16"])
    assert done.stored == 2
    assert outcomes(rob2_studies) == [(1, "IGA 0/1 week 16"), (2, "IGA 0/1 week 16"), (2, "IGA 0/1 wek 16")]


def test_import_refuses_two_spellings_within_the_file(rob2_studies: Review, tmp_path: Path) -> None:
    """Nothing stored yet: the file's own second spelling of a new name is a slip of its first one; a
    case variant in the file is the same result."""
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(HEADER + "BREEZE-AD1,Pruritus week 2,alice,no,rob2,assignment,1.1,Y,\n"
                        "BREEZE-AD2,pruritus WEEK 2,alice,no,rob2,assignment,1.1,Y,\n"
                        "BREEZE-AD2,Pruritis week 2,alice,no,rob2,assignment,1.2,Y,\n", encoding="utf-8")
    with pytest.raises(ParseError, match="'Pruritus week 2'") as refused:
        import_rob(rob2_studies, csv_file, actor="alice")
    assert refused.value.line == 4
    assert outcomes(rob2_studies) == []
    csv_file.write_text(csv_file.read_text(encoding="utf-8").replace("Pruritis", "Pruritus"), encoding="utf-8")
    assert import_rob(rob2_studies, csv_file, actor="alice").stored == 3
    assert outcomes(rob2_studies) == [(1, "Pruritus week 2"), (2, "Pruritus week 2")]


@pytest.mark.parametrize(("typed", "known", "close"), [
    ("BREEZ-AD1", ["BREEZE-AD1", "BREEZE-AD2"], ["BREEZE-AD1"]),  # a letter left out: the label meant
    ("Study 1/2a", ["Study 12b"], []),  # two numbers, not twelve: a study of its own, not a slip
    ("Study 12a", ["Study 1-2b"], []),
    ("Study 1-2a", ["Study 1/2b"], ["Study 1/2b"]),  # the same numbers, a letter apart
])
def test_study_labels_close_to_a_typed_one(typed: str, known: list[str], close: list[str]) -> None:
    """An import's "did you mean" for a study label (extract_checks.close_labels) reads the numbers as typed."""
    assert close_labels(typed, known) == close

"""Tests for extraction-form field validation and outcome-value checks."""

from __future__ import annotations

import datetime as dt

import pytest

from reviewkit.domain.extraction import (
    FieldSpec,
    FieldType,
    Problem,
    parse_field,
    validate_continuous,
    validate_dichotomous,
    validate_form,
)
from reviewkit.errors import ReviewkitError


@pytest.mark.parametrize(("spec", "raw", "value"), [
    (FieldSpec("country", FieldType.TEXT), " Japan ", "Japan"),
    (FieldSpec("n", FieldType.INTEGER), "120", 120),
    (FieldSpec("dose", FieldType.NUMBER, unit="mg"), "2.5 mg", 2.5),
    (FieldSpec("dose", FieldType.NUMBER, unit="mg"), "4", 4.0),
    (FieldSpec("arm", FieldType.CHOICE, choices=("Placebo", "Baricitinib")), "placebo", "Placebo"),
    (FieldSpec("blinded", FieldType.YES_NO), "Yes", True),
    (FieldSpec("blinded", FieldType.YES_NO), "n", False),
    (FieldSpec("start", FieldType.DATE), "2020-03-01", dt.date(2020, 3, 1)),
])
def test_typed_values_parse(spec: FieldSpec, raw: str, value: object) -> None:
    """Well-formed input of each type parses to its typed value with no problems."""
    parsed = parse_field(spec, raw)
    assert parsed.problems == ()
    assert parsed.value == value


@pytest.mark.parametrize(("spec", "raw", "words"), [
    (FieldSpec("n", FieldType.INTEGER), "12.5", "whole number"),
    (FieldSpec("n", FieldType.INTEGER, minimum=1), "0", "≥ 1"),
    (FieldSpec("age", FieldType.NUMBER), "3,5", "point for decimals"),
    (FieldSpec("dose", FieldType.NUMBER, unit="mg"), "2 g", "expected mg"),
    (FieldSpec("arm", FieldType.CHOICE, choices=("A", "B")), "C", "not one of: A, B"),
    (FieldSpec("blinded", FieldType.YES_NO), "maybe", "yes or no"),
    (FieldSpec("start", FieldType.DATE), "01/03/2020", "YYYY-MM-DD"),
    (FieldSpec("title", FieldType.TEXT, required=True), "  ", "required"),
])
def test_bad_values_name_field_and_reason(spec: FieldSpec, raw: str, words: str) -> None:
    """Each malformed value gives one problem naming the field, with a readable reason."""
    parsed = parse_field(spec, raw)
    assert parsed.value is None
    assert len(parsed.problems) == 1
    assert parsed.problems[0].field == spec.name and words in parsed.problems[0].reason


def test_optional_empty_field_is_fine() -> None:
    """An empty optional field is no problem."""
    assert parse_field(FieldSpec("notes", FieldType.TEXT), None).problems == ()


def test_validate_form_collects_problems_and_unknown_fields() -> None:
    """A form check lists every bad field and any value for a field the form lacks."""
    specs = [FieldSpec("n", FieldType.INTEGER, required=True), FieldSpec("country", FieldType.TEXT)]
    problems = validate_form(specs, {"n": "", "country": "UK", "colour": "red"})
    assert problems == [Problem("n", "required"), Problem("colour", "not a field of this form")]


def test_dichotomous_checks() -> None:
    """Events must lie between 0 and the total; totals must be at least 1."""
    assert validate_dichotomous(12, 100) == []
    assert [p.field for p in validate_dichotomous(101, 100, "placebo.")] == ["placebo.events"]
    assert [p.field for p in validate_dichotomous(-1, 10)] == ["events"]
    assert [p.field for p in validate_dichotomous(0, 0)] == ["total"]
    assert validate_dichotomous(3, None) == []


def test_continuous_clean_values_pass() -> None:
    """Consistent continuous summaries raise no problems."""
    assert validate_continuous(n=25, mean=20, sd=5, se=1, ci_lower=18, ci_upper=22.5,
                               minimum=2, q1=14, median=19, q3=24, maximum=40) == []


def test_continuous_problems() -> None:
    """SD and SE must be positive, N ≥ 1, the CI must contain the mean, quantiles must be ordered."""
    fields = {p.field: p.reason for p in validate_continuous(
        n=0, sd=0, se=-1, mean=30, ci_lower=18, ci_upper=22.5)}
    assert set(fields) == {"n", "sd", "se", "mean"}
    assert "outside its CI" in fields["mean"]
    reversed_ci = validate_continuous(ci_lower=5, ci_upper=4)
    assert [p.field for p in reversed_ci] == ["ci_upper"]
    quant = validate_continuous(q1=10, median=8, q3=12)
    assert quant == [Problem("median", "median (8) is below Q1 (10)")]
    assert [p.field for p in validate_continuous(mean=50, maximum=40)] == ["mean"]


def test_field_type_spellings() -> None:
    """Protocol spellings of types map onto the six field types; an unknown one is an error."""
    assert FieldType.parse("yes/no") is FieldType.YES_NO
    assert FieldType.parse("Yes-No") is FieldType.YES_NO
    assert FieldType.parse("int") is FieldType.INTEGER
    assert FieldType.parse("date") is FieldType.DATE
    with pytest.raises(ReviewkitError, match="colour"):
        FieldType.parse("colour")

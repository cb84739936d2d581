"""Tests for PRISMA 2020 counts: the arithmetic identities, the PRISMA2020 CSV and the JSON form."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewkit.domain.prisma import (
    PreviousReview,
    PrismaCounts,
    check_identities,
    errors_only,
)
from reviewkit.domain.prisma_io import (
    from_json_dict,
    to_json_dict,
    to_prisma2020_csv,
    to_prisma2020_csv_rows,
)
from reviewkit.errors import ReviewkitError
from tests.prisma_flows import baricitinib_flow, with_other_methods


def review() -> PrismaCounts:
    """A consistent template-A flow shaped like the baricitinib review (379 → 6 studies)."""
    return baricitinib_flow()


def with_other() -> PrismaCounts:
    """Template B: the same flow plus other methods contributing two reports."""
    return with_other_methods(review())


def names(counts: PrismaCounts) -> set[str]:
    """Names of the identities the counts break."""
    return {v.name for v in check_identities(counts)}


def test_consistent_flows_break_no_identity() -> None:
    """Template A, template B and an updated review that add up report nothing."""
    updated = replace(with_other(), previous=PreviousReview(2, 3, 8, 11))
    for counts in (review(), with_other(), updated):
        assert check_identities(counts) == []


def test_derived_totals() -> None:
    """Identification totals are the sums of the per-source counts (identity 1)."""
    c = review()
    assert (c.databases_total, c.registers_total, c.records_identified) == (360, 19, 379)
    assert c.reports_excluded_total == 25 and c.reports_included_dbr == 6


@pytest.mark.parametrize(
    ("change", "name", "boxes"),
    [
        ({"records_screened": 141}, "records screened", {"records_screened", "duplicates"}),
        ({"duplicates_removed": 400, "records_screened": 0}, "removed <= identified",
         {"duplicates", "database_results"}),
        ({"records_excluded": 150, "reports_sought": 0, "reports_assessed": 0,
          "reports_excluded": {}, "studies_included": 0, "reports_included": 0},
         "excluded <= screened", {"records_excluded", "records_screened"}),
        ({"reports_not_retrieved": 2}, "reports assessed", {"dbr_assessed", "dbr_notretrieved_reports"}),
        ({"reports_not_retrieved": 40}, "not retrieved <= sought", {"dbr_notretrieved_reports"}),
        ({"reports_excluded": {"Not an RCT": 40}}, "excluded <= assessed", {"dbr_excluded"}),
        ({"reports_included": 7}, "reports included", {"new_reports", "dbr_excluded"}),
        ({"studies_included": 0}, "studies >= 1", {"new_studies"}),
        ({"duplicates_removed": -1, "records_screened": 380}, "non-negative", {"duplicates"}),
        ({"records_excluded_by_automation": 200}, "automation <= excluded", {"records_excluded"}),
    ],
)
def test_each_identity_is_caught(change: dict[str, object], name: str, boxes: set[str]) -> None:
    """Breaking one identity of prisma2020.md §5 reports it, with the boxes it involves."""
    found = [v for v in check_identities(replace(review(), **change)) if v.name == name]
    assert found, f"{name} not reported"
    assert boxes <= set(found[0].boxes)
    assert found[0].severity == "error"


def test_one_report_of_two_trials_is_a_note_not_an_error() -> None:
    """Two studies from one included report (one paper reporting BREEZE-AD1 and -AD2) is noted, and
    the diagram is still drawn: only errors stop it."""
    counts = replace(review(), studies_included=7)
    (found,) = [v for v in check_identities(counts) if v.name == "studies <= reports"]
    assert found.severity == "note" and {"new_studies", "new_reports"} <= set(found.boxes)
    assert "one paper reporting two trials" in found.explanation
    assert not errors_only(check_identities(counts))


def test_violation_carries_numbers_and_explanation() -> None:
    """A violation says what was expected, what was found, and why."""
    (v,) = check_identities(replace(review(), reports_assessed=30, reports_included=5,
                                    studies_included=5))
    assert (v.name, v.expected, v.actual, v.relation) == ("reports assessed", 31, 30, "=")
    assert "not retrieved" in v.explanation and "expected = 31, found 30" in str(v)


def test_sought_difference_is_only_a_note() -> None:
    """Several reports per record (identity 3) is allowed when documented: a note, not an error."""
    counts = replace(review(), reports_sought=33, reports_assessed=33,
                     reports_excluded={"Not an RCT": 27})
    found = check_identities(counts)
    assert [(v.name, v.severity) for v in found] == [("reports sought", "note")]
    assert errors_only(found) == []


def test_non_integer_counts_are_reported() -> None:
    """A fractional or boolean count is a violation, not a crash."""
    found = check_identities(replace(review(), records_excluded=109.5))  # type: ignore[arg-type]
    assert [v.name for v in found] == ["whole number"]
    assert found[0].boxes == ("records_excluded",)


@pytest.mark.parametrize(
    ("other_change", "name"),
    [
        ({"not_retrieved": 2}, "other: reports assessed"),
        ({"sought": 20, "assessed": 19}, "other: sought <= identified"),
        ({"not_retrieved": 7, "assessed": -1}, "other: not retrieved <= sought"),
        ({"excluded": {"Not an RCT": 6}}, "other: excluded <= assessed"),
        ({"excluded": {"Not an RCT": 1}}, "reports included"),
    ],
)
def test_other_methods_identities(other_change: dict[str, object], name: str) -> None:
    """Identities 6 and 7 of the other-methods column are checked."""
    base = with_other()
    assert base.other is not None
    counts = replace(base, other=replace(base.other, **other_change))
    assert name in names(counts)


def test_updated_review_totals() -> None:
    """Identity 9: more than previous + new is an error, fewer is a note to document."""
    too_many = replace(review(), previous=PreviousReview(2, 3, 9, 9))
    assert [(v.name, v.severity) for v in check_identities(too_many)] == [("total studies", "error")]
    fewer = replace(review(), previous=PreviousReview(2, 3, 7, 9))
    assert {(v.name, v.severity) for v in check_identities(fewer)} == {("total studies", "note")}


def test_mappings_are_copied() -> None:
    """Mutating the caller's dict afterwards does not change the frozen counts."""
    reasons = {"Not an RCT": 25}
    counts = replace(review(), reports_excluded=reasons)
    reasons["Not an RCT"] = 1
    assert counts.reports_excluded == {"Not an RCT": 25}


# --- PRISMA2020 R package / Shiny app CSV -------------------------------------------------------

def csv_n(counts: PrismaCounts) -> dict[str, str]:
    """The `n` column of the CSV, by `data` key."""
    return {row["data"]: row["n"] for row in to_prisma2020_csv_rows(counts) if row["data"] != "NA"}


def test_csv_keys_and_values_template_a() -> None:
    """Every box key of prisma2020.md carries its count; unused columns hold NA."""
    n = csv_n(review())
    expected = {
        "database_results": "360", "register_results": "19", "duplicates": "239",
        "excluded_automatic": "0", "excluded_other": "0", "records_screened": "140",
        "records_excluded": "109", "dbr_sought_reports": "31", "dbr_notretrieved_reports": "0",
        "dbr_assessed": "31", "new_studies": "6", "new_reports": "6",
    }
    assert {k: n[k] for k in expected} == expected
    # Reasons and per-source counts go in one cell, "Name, n; Name, n" (PRISMA.csv template).
    assert n["dbr_excluded"] == "Not an RCT, 12; Wrong comparator, 8; Wrong population, 5"
    assert n["database_specific_results"] == "PubMed, 150; Embase, 170; CENTRAL, 40"
    assert n["register_specific_results"] == "ClinicalTrials.gov, 19"
    for key in ("website_results", "organisation_results", "citations_results",
                "other_sought_reports", "other_notretrieved_reports", "other_assessed",
                "other_excluded", "previous_studies", "previous_reports", "total_studies",
                "total_reports"):
        assert n[key] == "NA", key


def test_csv_template_b_and_updated() -> None:
    """Other-methods and previous-review boxes are filled when present."""
    n = csv_n(replace(with_other(), previous=PreviousReview(2, 3, 8, 11)))
    assert (n["website_results"], n["organisation_results"], n["citations_results"]) == ("3", "1", "9")
    assert (n["other_sought_reports"], n["other_notretrieved_reports"], n["other_assessed"]) == (
        "6", "1", "5")
    assert n["other_excluded"] == "Not an RCT, 2; Duplicate report, 1"
    assert (n["previous_studies"], n["previous_reports"], n["total_studies"], n["total_reports"]) == (
        "2", "3", "8", "11")


def test_csv_no_report_excluded_is_zero_not_missing() -> None:
    """A column whose assessed reports were all included has "Reports excluded (n = 0)", as the diagram draws
    it: the CSV says 0 in both columns' reason cells, not "NA" (a box the review does not use, which the R
    package reads as missing)."""
    base = with_other()
    assert base.other is not None
    counts = replace(base, reports_excluded={}, reports_included=31 + 5,
                     other=replace(base.other, excluded={}))
    assert errors_only(check_identities(counts)) == []
    n = csv_n(counts)
    assert (n["dbr_excluded"], n["other_excluded"]) == ("0", "0")
    assert csv_n(review())["other_excluded"] == "NA"  # template A has no other-methods column at all


def test_csv_text_parses_with_template_columns() -> None:
    """The CSV text has the template's columns and its titles match the review type."""
    rows = list(csv.DictReader(io.StringIO(to_prisma2020_csv(review()))))
    assert list(rows[0]) == ["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"]
    titles = {r["box"]: r["boxtext"] for r in rows if r["data"] == "NA"}
    assert titles["newstud"] == "Identification of studies via databases and registers"
    labels = {r["data"]: r["boxtext"] for r in rows}
    assert labels["new_studies"] == "Studies included in review"
    assert labels["new_reports"] == "Reports of included studies"
    updated = to_prisma2020_csv(replace(review(), previous=PreviousReview(0, 0, 6, 6)))
    assert "Identification of new studies via databases and registers" in updated


def test_csv_cell_separators_in_names_are_neutralised() -> None:
    """A reason containing "," or ";" cannot split the cell the R package parses."""
    counts = replace(review(), reports_excluded={"Wrong population, adults; elderly": 25})
    assert csv_n(counts)["dbr_excluded"] == "Wrong population/ adults/ elderly, 25"


def test_csv_carries_an_other_source_under_its_own_name() -> None:
    """The R package has rows for three other-methods sources only; another (a hand search) takes a row the
    review leaves free, its name as the row's text, which the R package draws as the label (the export
    used to fail, with a hint no user could follow)."""
    base = with_other()
    assert base.other is not None
    counts = replace(base, other=replace(base.other, identified={"Websites": 3, "Hand searching": 13}))
    rows = {r["data"]: r for r in to_prisma2020_csv_rows(counts)}
    assert (rows["website_results"]["boxtext"], rows["website_results"]["n"]) == ("Websites", "3")
    assert (rows["organisation_results"]["boxtext"], rows["organisation_results"]["n"]) == ("Hand searching", "13")
    assert rows["organisation_results"]["description"] == "Hand searching"
    assert rows["citations_results"]["n"] == "NA"


# --- JSON ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["a", "b", "updated", "automation"])
def test_json_round_trip(variant: str) -> None:
    """to_json_dict → json text → from_json_dict gives equal counts, per-source counts kept."""
    counts = {
        "a": review(), "b": with_other(),
        "updated": replace(with_other(), previous=PreviousReview(2, 3, 8, 11)),
        "automation": replace(review(), records_excluded_by_automation=40),
    }[variant]
    data = json.loads(json.dumps(to_json_dict(counts)))
    assert data["databases"] == {"PubMed": 150, "Embase": 170, "CENTRAL": 40}
    assert data["database_results"] == 360
    back = from_json_dict(data)
    assert back == counts
    assert list(back.reports_excluded) == list(counts.reports_excluded)  # order kept


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"records_screened": "140"}, "records_screened"),
        ({"records_screened": None}, "records_screened"),
        ({"database_results": 999}, "database_results"),
        ({"format": "something-else"}, "format"),
        ({"dbr_excluded": ["Not an RCT"]}, "dbr_excluded"),
        ({"dbr_excluded": {"Not an RCT": 2.5}}, "dbr_excluded.Not an RCT"),
        ({"other": {"identified": {}, "sought": 0}}, "other.not_retrieved"),
    ],
)
def test_json_errors_name_the_field(change: dict[str, object], field: str) -> None:
    """A malformed JSON form raises ReviewkitError naming the offending field."""
    data = to_json_dict(review()) | change
    with pytest.raises(ReviewkitError, match=f"'{field}'"):
        from_json_dict(data)


def test_json_missing_field() -> None:
    """A missing count is named."""
    data = to_json_dict(review())
    del data["dbr_assessed"]
    with pytest.raises(ReviewkitError, match="'dbr_assessed': missing"):
        from_json_dict(data)


def test_worked_example_flow_fixture() -> None:
    """The baricitinib review's published flow (379 → 140 → 31 → 6) loads and adds up."""
    path = Path(__file__).resolve().parents[2] / "fixtures" / "baricitinib" / "prisma.json"
    counts = from_json_dict(json.loads(path.read_text(encoding="utf-8")))
    assert check_identities(counts) == []
    assert (counts.records_identified, counts.duplicates_removed, counts.records_screened,
            counts.records_excluded, counts.reports_assessed, counts.reports_excluded_total,
            counts.studies_included) == (379, 239, 140, 109, 31, 25, 6)


@st.composite
def consistent_flows(draw: st.DrawFn) -> PrismaCounts:
    """Any flow built top-down by the template's own arithmetic."""
    n = st.integers(0, 500)
    databases = draw(st.dictionaries(st.text(min_size=1, max_size=12), n, max_size=4))
    registers = draw(st.dictionaries(st.text(min_size=1, max_size=12), n, max_size=2))
    left = sum(databases.values()) + sum(registers.values())
    dup = draw(st.integers(0, left))
    auto = draw(st.integers(0, left - dup))
    other = draw(st.integers(0, left - dup - auto))
    screened = left - dup - auto - other
    excluded = draw(st.integers(0, screened))
    sought = screened - excluded
    nr = draw(st.integers(0, sought))
    assessed = sought - nr
    reasons = draw(st.lists(st.integers(0, 50), max_size=5))
    reasons = reasons if sum(reasons) <= assessed else []
    included = assessed - sum(reasons)
    studies = draw(st.integers(min(1, included), included))
    return PrismaCounts(
        databases=databases, registers=registers, duplicates_removed=dup,
        automation_ineligible=auto, removed_other_reasons=other, records_screened=screened,
        records_excluded=excluded, reports_sought=sought, reports_not_retrieved=nr,
        reports_assessed=assessed, reports_excluded={f"Reason {i}": k for i, k in enumerate(reasons)},
        studies_included=studies, reports_included=included,
    )


@given(consistent_flows())
def test_any_consistent_flow_passes_and_round_trips(counts: PrismaCounts) -> None:
    """Flows that follow the arithmetic break nothing and survive the JSON round trip."""
    assert check_identities(counts) == []
    assert from_json_dict(json.loads(json.dumps(to_json_dict(counts)))) == counts
    assert csv_n(counts)["records_screened"] == str(counts.records_screened)


def test_readme_documents_every_flow_field() -> None:
    """A review lead scripts against the flow counts' field names: README names every CSV `data` key and
    every JSON key the exports write (the other-methods and previous-review ones too), each in code."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    full = replace(with_other(), previous=PreviousReview(2, 3, 8, 11))
    csv_keys = {row["data"] for row in to_prisma2020_csv_rows(full)} - {"NA", "identification", "screening",
                                                                         "included"}
    previous = {"previous_studies", "previous_reports", "total_studies", "total_reports"}
    data = to_json_dict(full)
    json_keys = set(data) | {f"other.{k}" for k in data["other"]}
    missing = sorted(k for k in (csv_keys - previous) | (json_keys - {"previous"}) if f"`{k}`" not in readme)
    assert missing == []

"""Tests for ClinicalTrials.gov prefill: proposals from posted results, stored only when confirmed."""

from __future__ import annotations

import json

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.prefill import confirm_arms, confirm_measure, registry_prefill
from reviewkit.services.project import Review
from reviewkit.sources.ctgov import parse_study
from tests.conftest import FIXTURES
from tests.factories import add_records


def _registry_study(review: Review, nct: str, *, link: bool = True) -> int:
    """A study with the fixture's registry record stored (kind registry, raw = the study JSON)."""
    record = parse_study(json.loads((FIXTURES / "ctgov" / f"{nct}.json").read_text(encoding="utf-8")))
    (rid,) = add_records(review, [record], source="ClinicalTrials.gov")
    return extract.create_study(review, "alice", nct, nct_id=record.nct_ids[0],
                                record_ids=[rid] if link else []).id


def test_proposals_come_from_posted_results_and_store_nothing(review: Review) -> None:
    """Arms and measures are proposed (events derived from percentages flagged); nothing is stored."""
    sid = _registry_study(review, "NCT02210780")
    prefill = registry_prefill(review, sid)
    assert prefill is not None and prefill.nct_id == "NCT02210780"
    assert [a.label for a in prefill.arms] == ["Placebo qw", "Dupilumab 300 mg qw"]
    iga = next(m for m in prefill.measures if "Investigator's Global" in m.title)
    assert iga.kind == "dichotomous"
    placebo, active = iga.groups
    assert (placebo.arm, placebo.values) == ("Placebo qw", {"events": "10", "total": "97"})
    assert active.converted_from["events"]["inputs"] == {"percent": 44.3, "n": 97}
    assert "44.3% of 97" in active.notes[0]
    poem = next(m for m in prefill.measures if "POEM" in m.title)
    assert poem.groups[0].values == {"mean": "-4.8", "n": "97", "se": "0.72"}
    assert extract.study_form(review, "alice", sid).values == ()


def test_confirmed_proposals_are_stored_as_ctgov(review: Review) -> None:
    """Confirming arms then a measure stores the values with origin ctgov and the derivation recorded."""
    sid = _registry_study(review, "NCT02210780")
    prefill = registry_prefill(review, sid)
    assert prefill is not None
    confirm_arms(review, "bob", sid, prefill.arms)
    iga = next(m for m in prefill.measures if "Investigator's Global" in m.title)
    with pytest.raises(ReviewkitError, match="is dichotomous"):
        confirm_measure(review, "bob", sid, iga, outcome="dlqi_change")
    stored = confirm_measure(review, "bob", sid, iga, outcome="iga_0_1")
    assert {(v.arm, v.field, v.value, v.origin) for v in stored} == {
        ("Placebo qw", "events", "10", "ctgov"), ("Placebo qw", "total", "97", "ctgov"),
        ("Dupilumab 300 mg qw", "events", "43", "ctgov"), ("Dupilumab 300 mg qw", "total", "97", "ctgov")}
    events = next(v for v in stored if v.arm == "Dupilumab 300 mg qw" and v.field == "events")
    assert events.converted_from["method"] == "percentage"
    form = extract.study_form(review, "bob", sid)
    assert [a.intervention for a in form.arms] == ["Drug: Placebo", "Drug: Dupilumab"]
    assert extract.study_form(review, "alice", sid).values == ()


def test_groups_map_to_the_extractors_arms(review: Review) -> None:
    """An explicit group → arm mapping is used; a range measure fills min and max; unmapped groups skip."""
    sid = _registry_study(review, "NCT00763412", link=False)  # found by NCT id alone
    prefill = registry_prefill(review, sid)
    assert prefill is not None
    bmi = next(m for m in prefill.measures if m.title == "BMI")
    assert bmi.groups[0].values == {"mean": "19.63", "n": "4", "min": "15.56", "max": "22.64"}
    extract.set_arm(review, "alice", sid, "Control")
    stored = confirm_measure(review, "alice", sid, bmi, outcome="bsa_change",
                             arms={bmi.groups[0].group_id: "Control", bmi.groups[1].group_id: ""})
    assert {v.arm for v in stored} == {"Control"} and len(stored) == 4
    with pytest.raises(ReviewkitError, match="no arm '1 Placebo'"):
        confirm_measure(review, "alice", sid, bmi, outcome="bsa_change")


def test_no_results_no_proposals(review: Review) -> None:
    """A study without a registry record, or whose record has no posted results, gets None."""
    assert registry_prefill(review, extract.create_study(review, "alice", "Paper only").id) is None
    assert registry_prefill(review, _registry_study(review, "NCT03630471")) is None

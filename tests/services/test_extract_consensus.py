"""Tests for dual extraction: differences side by side, consensus by agreement or choice, consensus_data."""

from __future__ import annotations

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract_analysis_data import consensus_data
from reviewkit.services.extract_consensus import (
    compare_extractions,
    extraction_differences,
    record_consensus,
)
from reviewkit.services.extract_convert import convert
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review


def _extract(review: Review, who: str, sid: int, placebo_events: str, tcs: str = "yes") -> None:
    extract.set_value(review, who, sid, "trial_name", "BREEZE-AD7")
    extract.set_value(review, who, sid, "tcs", tcs)
    extract.set_arm(review, who, sid, "Placebo", intervention="placebo", co_intervention="TCS",
                    n_randomised=109, fields={"dose_mg": 0})
    extract.set_arm(review, who, sid, "Baricitinib 4 mg", intervention="baricitinib", dose="4 mg",
                    co_intervention="TCS", n_randomised=111, fields={"dose_mg": 4})
    extract.set_value(review, who, sid, "events", placebo_events, arm="Placebo", outcome="iga_0_1")
    extract.set_value(review, who, sid, "total", "109", arm="Placebo", outcome="iga_0_1")
    extract.set_value(review, who, sid, "events", "34", arm="Baricitinib 4 mg", outcome="iga_0_1")
    extract.set_value(review, who, sid, "total", "111", arm="Baricitinib 4 mg", outcome="iga_0_1")


def _required(review: Review, who: str, sid: int) -> None:
    """The study fields the example protocol requires (trial_name, tcs): finishing waits for them."""
    extract.set_value(review, who, sid, "trial_name", "BREEZE-AD1")
    extract.set_value(review, who, sid, "tcs", "no")


def _finish(review: Review, sid: int) -> None:
    """alice and bob finish their extractions: the consensus waits for that."""
    for who in ("alice", "bob"):
        finish_extraction(review, who, sid)


@pytest.fixture
def study(review: Review) -> int:
    """A study both alice and bob extracted; they differ on the placebo events."""
    sid = extract.create_study(review, "alice", "BREEZE-AD7", nct_id="NCT03733301").id
    _extract(review, "alice", sid, "16")
    _extract(review, "bob", sid, "15")
    return sid


def test_differences_are_side_by_side(review: Review, study: int) -> None:
    """Only the differing value is listed, with each extractor's value under their name."""
    (diff,) = extraction_differences(review, "carol", study)
    assert diff.key == "value|Placebo|iga_0_1|week 16|events"
    assert diff.values == {"alice": "16", "bob": "15"}
    comparison = compare_extractions(review, "carol", study)
    assert comparison.extractors == ("alice", "bob") and comparison.required == 2
    assert len(comparison.items) > 10


def test_value_only_one_extractor_entered_is_a_difference(review: Review, study: int) -> None:
    """A value bob left empty differs from alice's; an arm only alice has differs in its label."""
    extract.set_value(review, "alice", study, "country", "Japan")
    extract.set_arm(review, "alice", study, "Baricitinib 2 mg", dose="2 mg")
    keys = {d.key: d.values for d in extraction_differences(review, "carol", study)}
    assert keys["study|country"] == {"alice": "Japan", "bob": None}
    assert keys["arm|Baricitinib 2 mg|label"] == {"alice": "Baricitinib 2 mg", "bob": None}


def test_consensus_needs_both_extractions(review: Review) -> None:
    """With one of two extractions done and finished, consensus is refused."""
    sid = extract.create_study(review, "alice", "Solo").id
    _extract(review, "alice", sid, "16")
    finish_extraction(review, "alice", sid)
    with pytest.raises(ReviewkitError, match=r"waits until every independent extraction of it \(at least 2\) is "
                                             r"finished \(1 of 2 finished\)"):
        record_consensus(review, "carol", sid)


def test_agreed_values_become_consensus_differing_wait_for_a_choice(review: Review, study: int) -> None:
    """Agreed items are stored at once; the differing one stays unresolved until chosen."""
    _finish(review, study)
    result = record_consensus(review, "carol", study)
    assert [d.key for d in result.unresolved] == ["value|Placebo|iga_0_1|week 16|events"]
    form = extract.study_form(review, "carol", study, consensus=True)
    assert [a.label for a in form.arms] == ["Placebo", "Baricitinib 4 mg"]
    assert form.stats("Placebo", "iga_0_1", "week 16") == {"total": "109"}
    assert all(v.consensus for v in form.values)
    result = record_consensus(review, "carol", study, take={"value|Placebo|iga_0_1|week 16|events": "alice"})
    assert result.unresolved == () and result.stored == 1
    assert extract.study_form(review, "carol", study, consensus=True).stats(
        "Placebo", "iga_0_1", "week 16") == {"total": "109", "events": "16"}


def test_explicit_consensus_value_is_validated(review: Review, study: int) -> None:
    """A typed consensus value must fit like any other; a bad one stores nothing."""
    key = "value|Placebo|iga_0_1|week 16|events"
    _finish(review, study)
    with pytest.raises(ReviewkitError, match="cannot exceed"):
        record_consensus(review, "carol", study, values={key: "200"})
    assert extract.study_form(review, "carol", study, consensus=True).arms == ()
    with pytest.raises(ReviewkitError, match="did not extract"):
        record_consensus(review, "carol", study, take={key: "carol"})
    record_consensus(review, "carol", study, values={key: "17", "study|country": "Japan"})
    assert extract.study_form(review, "carol", study, consensus=True).study_fields()["country"] == "Japan"
    (data,) = consensus_data(review, "iga_0_1")
    assert [(a.label, a.events, a.total) for a in data.arms] == [("Placebo", 17, 109), ("Baricitinib 4 mg", 34, 111)]


def test_consensus_data_is_complete_and_typed(review: Review, study: int) -> None:
    """Arms carry dose, co-intervention, N and typed arm fields; study fields are typed (tcs → True)."""
    _finish(review, study)
    record_consensus(review, "carol", study, take={"value|Placebo|iga_0_1|week 16|events": "bob"})
    (data,) = consensus_data(review, "iga_0_1", "week 16")
    assert (data.study, data.nct_id, data.outcome_type, data.timepoint) == (
        "BREEZE-AD7", "NCT03733301", "dichotomous", "week 16")
    assert data.fields == {"trial_name": "BREEZE-AD7", "tcs": True}
    placebo, active = data.arms
    assert (placebo.events, placebo.total, placebo.fields) == (15, 109, {"dose_mg": 0.0})
    assert (active.dose, active.co_intervention, active.n_randomised, active.fields["dose_mg"]) == (
        "4 mg", "TCS", 111, 4.0)
    assert consensus_data(review, "easi75") == []


def test_consensus_data_derives_sd_from_recorded_or_entered_statistics(review: Review) -> None:
    """A converted SD keeps its record; an SE entered without conversion is turned into an SD."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    for who in ("alice", "bob"):
        _required(review, who, sid)
        extract.set_arm(review, who, sid, "Placebo")
        extract.set_arm(review, who, sid, "Baricitinib 4 mg")
        for arm, se in (("Placebo", "0.6"), ("Baricitinib 4 mg", "0.5")):
            for field, value in (("n", "100"), ("mean", "-4"), ("se", se)):
                extract.set_value(review, who, sid, field, value, arm=arm, outcome="dlqi_change")
        convert(review, who, sid, arm="Placebo", outcome="dlqi_change")
    assert extraction_differences(review, "carol", sid) == []
    _finish(review, sid)
    record_consensus(review, "carol", sid)
    (data,) = consensus_data(review, "dlqi_change")
    placebo, active = data.arms
    assert (placebo.sd, placebo.sd_source) == (pytest.approx(6.0), "converted")
    assert placebo.converted_from["sd"]["inputs"] == {"SE": 0.6, "n": 100}
    assert (active.sd, active.sd_source, active.n, active.mean) == (pytest.approx(5.0), "derived", 100, -4.0)
    assert active.converted_from["sd"]["method"] == "se"


def test_a_second_consensus_call_keeps_what_the_consensus_holds(review: Review, study: int) -> None:
    """Settling a study over several calls: an arm attribute chosen in the first call no longer makes the
    arm wait in the second (its values' choices were refused as "waits for n_randomised"), and an agreed
    value corrected in the consensus since (`extract set --consensus`) is not taken back by the agreement."""
    extract.set_arm(review, "bob", study, "Placebo", n_randomised=110)
    _finish(review, study)
    first = record_consensus(review, "carol", study, take={"arm|Placebo|n_randomised": "alice"})
    assert [d.key for d in first.unresolved] == ["value|Placebo|iga_0_1|week 16|events"]
    extract.set_value(review, "carol", study, "total", "108", arm="Placebo", outcome="iga_0_1", consensus=True)
    second = record_consensus(review, "carol", study, take={"value|Placebo|iga_0_1|week 16|events": "bob"})
    assert second.not_stored == () and second.unresolved == () and second.stored == 1
    form = extract.study_form(review, "carol", study, consensus=True)
    assert form.stats("Placebo", "iga_0_1", "week 16") == {"total": "108", "events": "15"}
    assert next(a.n_randomised for a in form.arms if a.label == "Placebo") == 109
    assert record_consensus(review, "carol", study).stored == 0  # nothing to redo, nothing listed
    (data,) = consensus_data(review, "iga_0_1")
    assert [(a.label, a.events, a.total) for a in data.arms][0] == ("Placebo", 15, 108)


def test_a_removed_arm_leaves_with_its_values_and_stays_out_of_the_consensus(review: Review, study: int) -> None:
    """An arm entered by mistake is removed with its values (else they stay in the comparison, a difference
    the consensus cannot settle); one removed from the consensus is not brought back by its agreement."""
    extract.set_arm(review, "alice", study, "Baricitinb 2 mg", dose="2 mg")
    extract.set_value(review, "alice", study, "events", "30", arm="Baricitinb 2 mg", outcome="iga_0_1")
    cleared = extract.remove_arm(review, "alice", study, "Baricitinb 2 mg")
    assert [d.key for d in extraction_differences(review, "carol", study)] == ["value|Placebo|iga_0_1|week 16|events"]
    assert cleared == 1
    _finish(review, study)
    record_consensus(review, "carol", study, take={"value|Placebo|iga_0_1|week 16|events": "alice"})
    extract.remove_arm(review, "carol", study, "Baricitinib 4 mg", consensus=True)
    assert record_consensus(review, "carol", study).stored == 0
    assert [a.label for a in extract.study_form(review, "carol", study, consensus=True).arms] == ["Placebo"]
    (data,) = consensus_data(review, "iga_0_1")
    assert [a.label for a in data.arms] == ["Placebo"]


def test_the_consensus_leaves_out_an_arm_only_one_extractor_has(review: Review, study: int) -> None:
    """bob entered the 4 mg arm twice, once spelt otherwise; alice did not. Nothing could settle that arm:
    its items stayed "still differing" in every consensus call. Removed from the consensus, it is left out."""
    extract.set_arm(review, "bob", study, "Bari 4mg", intervention="baricitinib")
    extract.set_value(review, "bob", study, "events", "34", arm="Bari 4mg", outcome="iga_0_1")
    _finish(review, study)
    assert any(d.arm == "Bari 4mg" for d in record_consensus(review, "carol", study).unresolved)
    extract.remove_arm(review, "carol", study, "Bari 4mg", consensus=True)
    # The comparison still lists the arm's items (the extractors differ on them) but says they need no
    # choice: the consensus removed their arm.
    differing = extraction_differences(review, "carol", study)
    assert {d.key for d in differing if d.arm_removed} == {d.key for d in differing if d.arm == "Bari 4mg"} != set()
    assert not any(d.arm_removed for d in differing if d.arm != "Bari 4mg")
    result = record_consensus(review, "carol", study, take={"value|Placebo|iga_0_1|week 16|events": "alice"})
    assert result.unresolved == () and result.not_stored == ()
    assert [a.label for a in extract.study_form(review, "carol", study, consensus=True).arms] == [
        "Placebo", "Baricitinib 4 mg"]
    with pytest.raises(ReviewkitError, match="no arm 'Bari 5mg'"):
        extract.remove_arm(review, "carol", study, "Bari 5mg", consensus=True)

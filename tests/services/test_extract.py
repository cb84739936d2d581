"""Tests for the extraction service: studies, arms, validated values, append-only changes, conversions."""

from __future__ import annotations

import math

import pytest
from sqlmodel import select

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract_convert import convert
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AuditEventRow, ExtractionValueRow, StudyReportRow, StudyRow
from tests.factories import add_records


def _study(review: Review) -> int:
    (rid,) = add_records(review, 1)
    study = extract.create_study(review, "alice", "BREEZE-AD1", nct_id="nct03334396", record_ids=[rid])
    extract.set_arm(review, "alice", study.id, "Placebo", intervention="placebo", n_randomised=249,
                    fields={"dose_mg": "0"})
    extract.set_arm(review, "alice", study.id, "Baricitinib 4 mg", intervention="baricitinib", dose="4 mg",
                    n_randomised=125, fields={"dose_mg": "4 mg"})
    return study.id


def test_studies_link_reports_many_to_many(review: Review) -> None:
    """A study links several reports, a report can belong to two studies; NCT ids are normalised."""
    a, b = add_records(review, 2)
    one = extract.create_study(review, "alice", "BREEZE-AD1", nct_id="nct03334396", record_ids=[a, b])
    two = extract.create_study(review, "bob", "BREEZE-AD2", record_ids=[a])
    assert one.nct_id == "NCT03334396"
    assert [(s.label, s.reports) for s in extract.list_studies(review)] == [("BREEZE-AD1", 2), ("BREEZE-AD2", 1)]
    with session_scope(review.engine) as s:
        links = s.exec(select(StudyReportRow.study_id).where(StudyReportRow.record_id == a)).all()
    assert sorted(links) == [one.id, two.id]
    with pytest.raises(ReviewkitError, match="not an NCT id"):
        extract.create_study(review, "alice", "X", nct_id="12345")
    with pytest.raises(ReviewkitError, match="no record 999"):
        extract.link_reports(review, "alice", one.id, [999])


def test_a_second_study_with_a_known_nct_id_is_refused(review: Review) -> None:
    """add-study refuses an NCT id another study has (case and spaces aside), naming that study."""
    first = extract.create_study(review, "alice", "BREEZE-AD1", nct_id="NCT03334396")
    with pytest.raises(ReviewkitError, match="NCT03334396 is already the NCT id of study 'BREEZE-AD1' "
                                             f"\\(id {first.id}\\).*use study {first.id}"):
        extract.create_study(review, "bob", "BREEZE AD1", nct_id=" nct 03334396 ")
    with session_scope(review.engine, write=True) as s:  # an id stored in another spelling (an old archive)
        s.add(StudyRow(label="BREEZE-AD2", nct_id="nct 03334422", created_by="alice"))
    with pytest.raises(ReviewkitError, match="NCT03334422 is already the NCT id of study 'BREEZE-AD2'"):
        extract.create_study(review, "alice", "BREEZE-AD2 (paper)", nct_id="NCT03334422")
    assert [s.label for s in extract.list_studies(review)] == ["BREEZE-AD1", "BREEZE-AD2"]
    other = extract.create_study(review, "alice", "BREEZE-AD7", nct_id="NCT03733301")
    assert extract.create_study(review, "alice", "No registration").nct_id is None
    assert other.nct_id == "NCT03733301"
    with session_scope(review.engine) as s:
        created = s.exec(select(AuditEventRow.new).where(AuditEventRow.entity == "study")).all()
    assert [e["label"] for e in created] == ["BREEZE-AD1", "BREEZE-AD7", "No registration"]


def test_arm_fields_are_validated_by_the_protocol(review: Review) -> None:
    """dose_mg is a number in mg: "4 mg" is stored as 4, "four" and unknown arm fields are refused."""
    sid = _study(review)
    form = extract.study_form(review, "alice", sid)
    assert [(a.label, a.fields) for a in form.arms] == [("Placebo", {"dose_mg": "0"}),
                                                         ("Baricitinib 4 mg", {"dose_mg": "4"})]
    with pytest.raises(ReviewkitError, match="dose_mg: 'four' is not a number"):
        extract.set_arm(review, "alice", sid, "Baricitinib 2 mg", fields={"dose_mg": "four"})
    with pytest.raises(ReviewkitError, match="colour: not an arm field"):
        extract.set_arm(review, "alice", sid, "Baricitinib 2 mg", fields={"colour": "red"})
    with pytest.raises(ReviewkitError, match="n_randomised"):
        extract.set_arm(review, "alice", sid, "Baricitinib 2 mg", n_randomised=0)


def test_a_number_randomised_past_what_the_database_holds_is_refused_on_both(review: Review) -> None:
    """A mistyped 3000000000: SQLite stored it, PostgreSQL (32-bit integer) failed with a traceback.
    Refused alike, naming the bound; the largest number stored reads back."""
    sid = _study(review)
    with pytest.raises(ReviewkitError, match="n_randomised: must be ≤ 2147483647"):
        extract.set_arm(review, "alice", sid, "Baricitinib 2 mg", n_randomised="3000000000")
    extract.set_arm(review, "alice", sid, "Baricitinib 2 mg", n_randomised=2147483647)
    arms = {a.label: a.n_randomised for a in extract.study_form(review, "alice", sid).arms}
    assert arms == {"Placebo": 249, "Baricitinib 4 mg": 125, "Baricitinib 2 mg": 2147483647}


def test_study_fields_follow_the_form(review: Review) -> None:
    """tcs is yes/no, phase a choice, duration whole weeks; the reason names the field."""
    sid = _study(review)
    assert extract.set_value(review, "alice", sid, "tcs", "No").value == "no"
    assert extract.set_value(review, "alice", sid, "duration", "16 weeks").value == "16"
    for field, value, reason in [("tcs", "maybe", "tcs: 'maybe' is not yes or no"),
                                 ("phase", "4", "phase: '4' is not one of: 2, 3"),
                                 ("duration", "16.5", "duration: '16.5' is not a whole number"),
                                 ("colour", "red", "colour: not a field of the extraction form")]:
        with pytest.raises(ReviewkitError, match=reason):
            extract.set_value(review, "alice", sid, field, value)


def test_outcome_statistics_are_checked_as_entered(review: Review) -> None:
    """events ≤ total, SD > 0, a CI containing its mean; dichotomous outcomes take events/total only."""
    sid = _study(review)
    extract.set_value(review, "alice", sid, "total", 249, arm="Placebo", outcome="iga_0_1")
    assert extract.set_value(review, "alice", sid, "events", "12", arm="Placebo", outcome="iga_0_1",
                             timepoint="week 16").timepoint == "week 16"
    with pytest.raises(ReviewkitError, match=r"iga_0_1 week 16, arm 'Placebo', events: events \(300\) cannot exceed"):
        extract.set_value(review, "alice", sid, "events", "300", arm="Placebo", outcome="iga_0_1")
    with pytest.raises(ReviewkitError, match="not a statistic of a dichotomous outcome"):
        extract.set_value(review, "alice", sid, "mean", "3", arm="Placebo", outcome="iga_0_1")
    with pytest.raises(ReviewkitError, match="SD must be > 0"):
        extract.set_value(review, "alice", sid, "sd", "0", arm="Placebo", outcome="dlqi_change")
    extract.set_value(review, "alice", sid, "mean", "-2.5", arm="Placebo", outcome="dlqi_change")
    extract.set_value(review, "alice", sid, "ci_lower", "-3.1", arm="Placebo", outcome="dlqi_change")
    with pytest.raises(ReviewkitError, match="mean -2.5 lies outside its CI"):
        extract.set_value(review, "alice", sid, "ci_upper", "-2.8", arm="Placebo", outcome="dlqi_change")
    with pytest.raises(ReviewkitError, match="no arm 'Active'"):
        extract.set_value(review, "alice", sid, "events", "3", arm="Active", outcome="iga_0_1")
    with pytest.raises(ReviewkitError, match="no timepoint 'week 52'"):
        extract.set_value(review, "alice", sid, "events", "3", arm="Placebo", outcome="iga_0_1",
                          timepoint="week 52")


def test_changes_append_rows_with_audit(review: Review) -> None:
    """A changed value is a new row and an audit event old → new; an unchanged one writes nothing."""
    sid = _study(review)
    for value in ("12", "13", "13", ""):
        extract.set_value(review, "alice", sid, "events", value, arm="Placebo", outcome="easi75")
    with session_scope(review.engine) as s:
        rows = s.exec(select(ExtractionValueRow).order_by(ExtractionValueRow.id)).all()
        events = s.exec(select(AuditEventRow).where(AuditEventRow.entity == "extraction")
                        .order_by(AuditEventRow.id)).all()
    assert [r.value for r in rows] == ["12", "13", None]
    assert [(e.action, e.old and e.old["value"], e.new["value"]) for e in events] == [
        ("set", None, "12"), ("change", "12", "13"), ("change", "13", None)]
    assert events[0].actor == "alice"
    assert extract.study_form(review, "alice", sid).stats("Placebo", "easi75", "week 16") == {}


def test_extractors_do_not_see_each_others_values(review: Review) -> None:
    """Each extractor's form holds only their own arms and values."""
    sid = _study(review)
    extract.set_arm(review, "bob", sid, "Placebo", n_randomised=249)
    extract.set_value(review, "bob", sid, "events", "14", arm="Placebo", outcome="easi75")
    extract.set_value(review, "alice", sid, "events", "12", arm="Placebo", outcome="easi75")
    assert extract.study_form(review, "bob", sid).stats("Placebo", "easi75", "week 16") == {"events": "14"}
    assert [a.label for a in extract.study_form(review, "bob", sid).arms] == ["Placebo"]


def test_conversions_record_their_source_values(review: Review) -> None:
    """SD from SE, from a 95% CI and from median + IQR are stored with the inputs and method."""
    sid = _study(review)
    for field, value in (("n", "100"), ("mean", "-5"), ("se", "0.5")):
        extract.set_value(review, "alice", sid, field, value, arm="Placebo", outcome="dlqi_change")
    (sd,) = convert(review, "alice", sid, arm="Placebo", outcome="dlqi_change")
    assert float(sd.value) == pytest.approx(5.0)  # type: ignore[arg-type]
    assert sd.converted_from["method"] == "se" and sd.converted_from["inputs"] == {"SE": 0.5, "n": 100}
    assert "Handbook 6.5.2.2" in sd.converted_from["text"]
    for field, value in (("n", "30"), ("mean", "-4"), ("ci_lower", "-5"), ("ci_upper", "-3")):
        extract.set_value(review, "alice", sid, field, value, arm="Baricitinib 4 mg", outcome="dlqi_change")
    (sd,) = convert(review, "alice", sid, arm="Baricitinib 4 mg", outcome="dlqi_change", method="ci")
    divisor = sd.converted_from["text"]
    assert "t divisor" in divisor  # n < 60 uses t, not 3.92
    for field, value in (("n", "50"), ("median", "10"), ("q1", "6"), ("q3", "15")):
        extract.set_value(review, "alice", sid, field, value, arm="Placebo", outcome="poem_change")
    mean, sd = convert(review, "alice", sid, arm="Placebo", outcome="poem_change")
    assert mean.field == "mean" and sd.field == "sd" and mean.converted_from["method"] == "quantiles"
    assert math.isclose(float(sd.value), 9 / 1.3253, rel_tol=0.02)  # type: ignore[arg-type]
    extract.set_value(review, "alice", sid, "sd", "4.2", arm="Placebo", outcome="dlqi_change")
    with pytest.raises(ReviewkitError, match="reported SD"):
        convert(review, "alice", sid, arm="Placebo", outcome="dlqi_change")
    with pytest.raises(ReviewkitError, match="dichotomous"):
        convert(review, "alice", sid, arm="Placebo", outcome="easi75")


def test_removed_arm_leaves_the_form(review: Review) -> None:
    """Removing an arm appends a row; the arm leaves the form, its history stays."""
    sid = _study(review)
    extract.remove_arm(review, "alice", sid, "Placebo")
    assert [a.label for a in extract.study_form(review, "alice", sid).arms] == ["Baricitinib 4 mg"]
    with pytest.raises(ReviewkitError, match="no arm 'Placebo'"):
        extract.remove_arm(review, "alice", sid, "Placebo")
    extract.set_arm(review, "alice", sid, "Baricitinib 4 mg", intervention="baricitinib", dose="4 mg",
                    n_randomised=125, fields={"dose_mg": "4"})  # unchanged: no new row
    with session_scope(review.engine) as s:
        events = s.exec(select(AuditEventRow).where(AuditEventRow.entity == "arm").order_by(AuditEventRow.id)).all()
    assert [(e.action, e.new["label"]) for e in events] == [
        ("create", "Placebo"), ("create", "Baricitinib 4 mg"), ("change", "Placebo")]
    # The removal keeps the arm as it stood, marked removed.
    assert events[2].old["fields"] == {"dose_mg": "0"} and events[2].new["fields"] == {"dose_mg": "0", "_removed": True}


def test_convert_refuses_an_arm_the_extraction_does_not_have(review: Review) -> None:
    """`extract convert --arm placebo` (the arm is "Placebo") once said "nothing to convert: enter n with
    SE ... first" although the statistics were entered; now the arm is checked first, as `extract set`
    checks it, naming the close arm ('placebo' for 'Placebo'), else the study's arms; nothing is stored."""
    sid = _study(review)
    for field, value in (("n", "100"), ("mean", "-5"), ("se", "0.5")):
        extract.set_value(review, "alice", sid, field, value, arm="Placebo", outcome="dlqi_change")
    with pytest.raises(ReviewkitError, match=r"study \d+ has no arm 'placebo' in alice's extraction") as refused:
        convert(review, "alice", sid, arm="placebo", outcome="dlqi_change")
    assert refused.value.hint is not None and "did you mean 'Placebo'?" in refused.value.hint
    assert "nothing to convert" not in str(refused.value)
    with pytest.raises(ReviewkitError, match="no arm 'Nope'") as refused:
        convert(review, "alice", sid, arm="Nope", outcome="dlqi_change")
    assert refused.value.hint == "its arms: 'Placebo', 'Baricitinib 4 mg'; or add the arm first"
    # extract set names the close arm the same way.
    with pytest.raises(ReviewkitError, match="no arm 'placebo'") as refused:
        extract.set_value(review, "alice", sid, "sd", "3", arm="placebo", outcome="dlqi_change")
    assert refused.value.hint is not None and "did you mean 'Placebo'?" in refused.value.hint
    assert "sd" not in extract.study_form(review, "alice", sid).stats("Placebo", "dlqi_change", "week 16")
    (sd,) = convert(review, "alice", sid, arm="Placebo", outcome="dlqi_change")
    assert float(sd.value) == pytest.approx(5.0)  # type: ignore[arg-type]

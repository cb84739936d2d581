"""Tests that dual extraction stays blinded until the comparison: who may compare a study's extractions
and record its consensus (a lead or an adjudicator compares any time, an extractor of the study once every
independent extraction of it is finished, nobody else; the consensus waits for that for everybody), and
that the extraction table releases exactly the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract_consensus import (
    compare_extractions,
    extraction_differences,
    open_comparisons,
    record_consensus,
)
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import export_table, extraction_rows
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.screening import upsert_reviewers
from reviewkit.store.tables import ArmRow, ExtractionValueRow
from tests.extraction_team import EVENTS, TEAM, extract_as, with_team
from tests.factories import read_csv, write_csv


@pytest.fixture
def team(review: Review) -> Review:
    """The example review (two extractors per study, on each database) with the extraction team."""
    return with_team(review)


def new_study(review: Review, label: str = "BREEZE-AD1") -> int:
    return extract.create_study(review, "alice", label).id


def consensus_rows(review: Review, sid: int) -> tuple[object, ...]:
    form = extract.study_form(review, "alice", sid, consensus=True)
    return (*form.arms, *form.values)


def test_second_extractor_sees_the_first_only_once_both_have_finished(team: Review) -> None:
    """bob extracted, dave not yet: dave (not an extractor of it) and bob (not finished, then waiting for the
    second finished extraction) are refused, neither told bob's count nor who extracted; once dave has
    extracted and both have finished, both compare."""
    sid = new_study(team)
    extract_as(team, "bob", sid, "12")
    with pytest.raises(PermissionDenied, match="only its extractors, leads and adjudicators") as refused:
        compare_extractions(team, "dave", sid)
    assert "12" not in str(refused.value) and "bob" not in str(refused.value)
    with pytest.raises(PermissionDenied, match="finish your own extraction first") as unfinished:
        extraction_differences(team, "bob", sid)
    assert "12" not in str(unfinished.value)
    finish_extraction(team, "bob", sid)
    with pytest.raises(PermissionDenied, match=r"waits until every independent extraction of it \(at least 2\) "
                                               "is finished") as waiting:
        extraction_differences(team, "bob", sid)
    assert "12" not in str(waiting.value)
    with pytest.raises(PermissionDenied, match="waits until every independent extraction"):
        record_consensus(team, "bob", sid)
    assert consensus_rows(team, sid) == ()
    extract_as(team, "dave", sid, "13")
    finish_extraction(team, "dave", sid)
    for who in ("bob", "dave"):
        (diff,) = extraction_differences(team, who, sid)
        assert (diff.key, diff.values) == (EVENTS, {"bob": "12", "dave": "13"})
    result = record_consensus(team, "dave", sid)
    assert [(d.key, d.values) for d in result.unresolved] == [(EVENTS, {"bob": "12", "dave": "13"})]
    assert record_consensus(team, "bob", sid, take={EVENTS: "dave"}).unresolved == ()


def test_a_bystander_may_neither_compare_nor_record_consensus(team: Review) -> None:
    """erin, a screener who extracted nothing, is refused the comparison and the consensus even once both
    extractions exist; her refused consensus stores nothing."""
    sid = new_study(team)
    extract_as(team, "bob", sid, "12")
    extract_as(team, "dave", sid, "13")
    with pytest.raises(PermissionDenied, match="erin may not compare study"):
        compare_extractions(team, "erin", sid)
    with pytest.raises(PermissionDenied, match="erin may not compare study"):
        record_consensus(team, "erin", sid, take={EVENTS: "bob"})
    assert consensus_rows(team, sid) == ()
    assert open_comparisons(team, "erin") == []


def test_a_lead_or_an_adjudicator_compares_any_study(team: Review) -> None:
    """With one of two extractions, alice and carol already see it; consensus still waits for both to be
    finished."""
    sid = new_study(team)
    extract_as(team, "bob", sid, "12")
    for who in ("alice", "carol"):
        comparison = compare_extractions(team, who, sid)
        assert comparison.extractors == ("bob",) and comparison.required == 2
        assert any(d.values == {"bob": "12"} for d in comparison.items if d.key == EVENTS)
    with pytest.raises(ReviewkitError, match=r"carol may not write study .*'s consensus yet: .*\(0 of 2 finished\)"):
        record_consensus(team, "carol", sid)
    extract_as(team, "dave", sid, "13")
    for who in ("bob", "dave"):
        finish_extraction(team, who, sid)
    assert record_consensus(team, "carol", sid, take={EVENTS: "bob"}).unresolved == ()


def test_strangers_dropped_reviewers_and_no_reviewer_are_refused(team: Review) -> None:
    """No reviewer, an unknown one, or an extractor dropped from the team: refused everywhere."""
    sid = new_study(team)
    extract_as(team, "bob", sid, "12")
    extract_as(team, "dave", sid, "13")
    for call in (lambda who: compare_extractions(team, who, sid), lambda who: open_comparisons(team, who),
                 lambda who: record_consensus(team, who, sid)):
        with pytest.raises(ReviewkitError, match="no reviewer given"):
            call(None)
        with pytest.raises(ReviewkitError, match="unknown reviewer 'zed'"):
            call("zed")
    with session_scope(team.engine, write=True) as session:
        upsert_reviewers(session, {k: v for k, v in TEAM.items() if k != "dave"})
    with pytest.raises(PermissionDenied, match="'dave' is no longer on this review's team"):
        compare_extractions(team, "dave", sid)
    with pytest.raises(PermissionDenied, match="'dave' is no longer on this review's team"):
        record_consensus(team, "dave", sid)
    assert consensus_rows(team, sid) == ()


def test_open_comparisons_lists_only_the_studies_open_to_the_viewer(team: Review) -> None:
    """bob extracted two studies, dave one of them, each finished: bob gets only the study both finished;
    carol all."""
    both, solo, empty = new_study(team, "BREEZE-AD1"), new_study(team, "BREEZE-AD2"), new_study(team, "Empty")
    extract_as(team, "bob", both, "12")
    extract_as(team, "dave", both, "13")
    extract_as(team, "bob", solo, "20")
    for who, sid in (("bob", both), ("dave", both), ("bob", solo)):
        finish_extraction(team, who, sid)
    assert [c.study_id for c in open_comparisons(team, "bob")] == [both]
    assert [c.study_id for c in open_comparisons(team, "carol")] == [both, solo, empty]
    assert [c.study_id for c in open_comparisons(team, "alice", [empty, both])] == [empty, both]


def extractors_in_table(review: Review, actor: str, sid: int) -> set[str]:
    """The independent extractors whose rows of the study are in `actor`'s extraction table."""
    label = extract.study_form(review, "alice", sid).study.label
    return {r["extractor"] for r in extraction_rows(review, actor) if r["study"] == label and r["consensus"] == "no"}


def test_the_extraction_table_releases_the_rows_the_comparison_shows(team: Review) -> None:
    """At each stage, a reviewer's table holds another extractor's rows exactly when that reviewer may
    compare the study: bob's own only while he waits for dave; both once dave extracted and both finished;
    carol every extractor's throughout; erin never an extractor's."""
    sid = new_study(team)
    extract_as(team, "bob", sid, "12")
    expected = {"alice": {"bob"}, "carol": {"bob"}, "bob": {"bob"}, "dave": set(), "erin": set()}
    for who, seen in expected.items():
        assert extractors_in_table(team, who, sid) == seen, who
    extract_as(team, "dave", sid, "13")
    assert extractors_in_table(team, "bob", sid) == {"bob"} and extractors_in_table(team, "dave", sid) == {"dave"}
    for who in ("bob", "dave"):
        finish_extraction(team, who, sid)
    for who in TEAM:
        try:
            compared = set(compare_extractions(team, who, sid).extractors)
        except PermissionDenied:
            compared = set()
        assert extractors_in_table(team, who, sid) == compared, who
    assert extractors_in_table(team, "bob", sid) == extractors_in_table(team, "carol", sid) == {"bob", "dave"}
    assert extractors_in_table(team, "erin", sid) == set()


# --- importing one's own export ----------------------------------------------------------------

def compared_with_consensus(team: Review) -> int:
    """A new study that bob and dave extracted (events 12 and 13) and finished, its consensus recorded by
    alice (bob's events): its id."""
    sid = new_study(team)
    for who, events in (("bob", "12"), ("dave", "13")):
        extract_as(team, who, sid, events)
        finish_extraction(team, who, sid)
    record_consensus(team, "alice", sid, take={EVENTS: "bob"})
    return sid


def _stored(review: Review) -> tuple[int, int]:
    with session_scope(review.engine) as session:
        return (session.exec(select(func.count()).select_from(ArmRow)).one(),
                session.exec(select(func.count()).select_from(ExtractionValueRow)).one())


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_non_leads_own_extraction_export_imports_back_storing_nothing(team: Review, tmp_path: Path,
                                                                         suffix: str) -> None:
    """The study's comparison is open to bob and its consensus recorded: his table (his rows, dave's and the
    consensus) imported back by bob stores nothing and counts every row present; so does erin's (the
    consensus only, which she may not write)."""
    compared_with_consensus(team)
    before = _stored(team)
    for who, extractors in (("bob", {"bob", "dave", "alice"}), ("erin", {"alice"})):
        out = tmp_path / f"{who}{suffix}"
        n = export_table(team, out, actor=who)
        assert {r["extractor"] for r in extraction_rows(team, who)} == extractors
        result = import_table(team, out, actor=who)
        assert (result.rows, result.stored, result.present) == (n, 0, n), who
    assert _stored(team) == before


def test_a_non_lead_changing_anothers_visible_extraction_is_still_refused(team: Review, tmp_path: Path) -> None:
    """bob's table with dave's events changed, and erin's with the consensus's: refused on the row's line
    as before (not theirs to write), nothing stored."""
    sid = compared_with_consensus(team)
    before = _stored(team)
    out = tmp_path / "bob.csv"
    export_table(team, out, actor="bob")
    rows = read_csv(out)
    (dave,) = [i for i, r in enumerate(rows) if r["extractor"] == "dave" and r["events"]]
    rows[dave] = {**rows[dave], "events": "14"}
    with pytest.raises(ReviewkitError) as refused:
        import_table(team, write_csv(out, rows), actor="bob")
    assert refused.value.message == (f"nothing imported: line {dave + 2}, extractor: bob may import only their own "
                                     "extraction, not dave's (a lead may import anyone's)")
    export_table(team, out, actor="erin")
    (row,) = [r for r in read_csv(out) if r["events"]]
    with pytest.raises(ReviewkitError, match=f"line 2, consensus: erin may not write study {sid}'s consensus"):
        import_table(team, write_csv(out, [{**row, "events": "13"}]), actor="erin")
    assert _stored(team) == before


def test_a_non_lead_cannot_probe_a_blinded_extraction_as_already_present(team: Review, tmp_path: Path) -> None:
    """bob has finished, dave not: dave's row stated exactly as stored (from the lead's table) is refused
    to bob as a row stating other values, in the same words and without them; the lead finds it present."""
    sid = new_study(team)
    extract_as(team, "bob", sid, "12")
    finish_extraction(team, "bob", sid)
    extract_as(team, "dave", sid, "13")
    lead = tmp_path / "alice.csv"
    export_table(team, lead, actor="alice")
    (stored,) = [r for r in read_csv(lead) if r["extractor"] == "dave" and r["events"]]
    messages = []
    for events in ("13", "14"):
        probe = write_csv(tmp_path / f"probe-{events}.csv", [{**stored, "events": events}])
        with pytest.raises(ReviewkitError) as refused:
            import_table(team, probe, actor="bob")
        messages.append(refused.value.message)
    assert messages == ["nothing imported: line 2, extractor: bob may import only their own extraction, not "
                        "dave's (a lead may import anyone's)"] * 2
    result = import_table(team, write_csv(tmp_path / "same.csv", [stored]), actor="alice")
    assert (result.stored, result.present) == (0, 1)

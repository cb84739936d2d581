"""Tests for dedup over a review: merges stored, human queue, undo that holds, studies, export."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from reviewkit.cli import cli
from reviewkit.domain.records import Record, RegistryInfo
from reviewkit.errors import ReviewkitError
from reviewkit.services import dedup
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from reviewkit.store.db import session_scope
from reviewkit.store.tables import StudyReportRow, StudyRow
from tests.factories import add_records

TITLE = "Baricitinib in patients with moderate-to-severe atopic dermatitis and inadequate response to topical corticosteroids"
AUTHORS = ("Simpson, Eric L", "Lacour, Jean-Philippe", "Spelman, Lynda")


def _paper(**kw: object) -> Record:
    base = dict(title=TITLE, authors=AUTHORS, year=2020, journal="British Journal of Dermatology",
                journal_abbrev="Br J Dermatol", volume="183", issue="2", pages="242-255",
                doi="10.1111/bjd.18898", nct_ids=("NCT03334396", "NCT03334422"))
    base.update(kw)
    return Record(**base)  # type: ignore[arg-type]


def _review_records(review: Review) -> list[int]:
    return add_records(review, [
        _paper(source_id="pm1"),                                          # 0 PubMed
        _paper(title=TITLE.upper() + ".", doi=None, authors=("Simpson EL", "Lacour JP", "Spelman L"),
               journal="Br J Dermatol", source_id="emb1"),                # 1 Embase copy: fuzzy match
        _paper(title="Erratum: " + TITLE, pages="e1", doi="10.1111/bjd.19999", source_id="err"),  # 2 erratum
        Record(title="An unrelated trial of dupilumab in asthma", year=2019, authors=("Castro, M",),
               doi="10.1056/nejmoa1804092", source_id="x"),               # 3
        Record(kind="registry", title="BREEZE-AD1", nct_ids=("NCT03334396",),
               registry=RegistryInfo(nct_id="NCT03334396", brief_title="BREEZE-AD1"), source_id="NCT03334396"),
        Record(kind="registry", title="BREEZE-AD2", nct_ids=("NCT03334422",),
               registry=RegistryInfo(nct_id="NCT03334422", brief_title="BREEZE-AD2"), source_id="NCT03334422"),
    ])


def test_run_merges_sure_pairs_and_keeps_errata_apart(review: Review) -> None:
    """The Embase copy joins the PubMed record; the erratum and the unrelated trial stay apart."""
    ids = _review_records(review)
    summary = dedup.run_dedup(review, actor="alice")
    assert (summary.groups_created, summary.records_merged) == (1, 1)
    gid = dedup.group_of(review, ids[0])
    assert gid is not None and dedup.group_of(review, ids[1]) == gid
    assert dedup.group_of(review, ids[2]) is None and dedup.group_of(review, ids[3]) is None
    assert review_status(review).duplicates_removed == 1
    again = dedup.run_dedup(review)
    assert again.groups_created == 0  # nothing new: the group already exists


def test_one_paper_two_trials_many_to_many(review: Review) -> None:
    """The BREEZE-AD1/AD2 paper is proposed as a report of both registered trials."""
    ids = _review_records(review)
    dedup.run_dedup(review)
    with session_scope(review.engine) as s:
        studies = {st.nct_id: st.id for st in s.exec(select(StudyRow))}
        links = s.exec(select(StudyReportRow.study_id, StudyReportRow.record_id)).all()
    assert set(studies) == {"NCT03334396", "NCT03334422"}
    primary = ids[0] if dedup.group_of(review, ids[0]) is None else None
    reports = {sid: {rid for s_, rid in links if s_ == sid} for sid in studies.values()}
    paper_ids = {ids[0], ids[1]} if primary is None else {primary}
    for nct, sid in studies.items():
        registry = ids[4] if nct == "NCT03334396" else ids[5]
        assert registry in reports[sid]
        assert reports[sid] & paper_ids  # the paper (its primary copy) reports each trial
    assert ids[2] in reports[studies["NCT03334396"]]  # the erratum names the trials too: proposed, for a human


def test_undo_restores_and_holds(review: Review) -> None:
    """Undoing a merge splits the group, and running dedup again does not re-merge it."""
    ids = _review_records(review)
    dedup.run_dedup(review)
    gid = dedup.group_of(review, ids[0])
    undo_merge(review, "alice", gid)  # type: ignore[arg-type]
    assert dedup.group_of(review, ids[0]) is None
    assert review_status(review).duplicates_removed == 0
    dedup.run_dedup(review)
    assert dedup.group_of(review, ids[0]) is None


def test_human_confirms_and_rejects_pairs(review: Review) -> None:
    """A confirmed pair merges; a rejected pair is never merged automatically later."""
    a, b, c = add_records(review, [
        Record(title="Oral JAK inhibition for eczema: a randomised trial", authors=("Doe, J",), year=2021),
        Record(title="Oral JAK inhibition for eczema a randomised trial", authors=("Roe, K",), year=2018),
        Record(title="Oral JAK inhibition for eczema: a randomized trial", authors=("Doe, J",), year=2021,
               journal="J Derm"),
    ])
    summary = dedup.run_dedup(review)
    queued = dedup.pending_pairs(review)
    if summary.records_merged == 0:
        assert queued, "near-identical titles must at least be queued for a human"
    for pair in queued:
        dedup.decide_pair(review, "alice", pair.id, {pair.a_id, pair.b_id} == {a, c})
    assert dedup.pending_pairs(review) == []
    assert dedup.group_of(review, a) == dedup.group_of(review, c) is not None
    assert dedup.group_of(review, b) is None
    dedup.run_dedup(review)
    assert dedup.group_of(review, b) is None


def test_dedup_cli_and_export(review: Review, tmp_path: Path) -> None:
    """`reviewkit dedup` prints a summary; `dedup export` writes group, primary and source ids."""
    ids = _review_records(review)
    runner = CliRunner()
    result = runner.invoke(cli, ["-C", str(review.folder), "dedup"])
    assert result.exit_code == 0, result.output
    assert "1 duplicate group, 1 record merged" in result.output  # counts of 1 said singular
    out = tmp_path / "d.csv"
    assert runner.invoke(cli, ["-C", str(review.folder), "dedup", "export", str(out)]).exit_code == 0
    rows = {int(r["record"]): r for r in csv.DictReader(out.open())}
    assert rows[ids[0]]["group"] == rows[ids[1]]["group"] != ""
    assert {rows[ids[0]]["primary"], rows[ids[1]]["primary"]} == {"yes", "no"}
    assert rows[ids[1]]["source_id"] == "emb1" and rows[ids[3]]["doi"] == "10.1056/nejmoa1804092"


def test_a_verdict_is_given_once(review: Review) -> None:
    """decide_pair reports the group it made; a second verdict on the pair is refused and changes nothing."""
    a, b = add_records(review, [
        Record(title="Oral JAK inhibition for eczema: a randomised trial", authors=("Doe, J",), year=2021),
        Record(title="Oral JAK inhibition for eczema: a randomised trial", authors=("Doe, J",), year=2022),
    ])
    dedup.run_dedup(review)
    (pair,) = dedup.pending_pairs(review)
    done = dedup.decide_pair(review, "alice", pair.id, True)
    assert (done.status, {done.record_a, done.record_b}) == ("confirmed", {a, b})
    assert done.group_id == dedup.group_of(review, a) == dedup.group_of(review, b) is not None
    with pytest.raises(ReviewkitError, match=f"dedup undo {done.group_id}"):
        dedup.decide_pair(review, "bob", pair.id, False)
    with pytest.raises(ReviewkitError, match=f"already confirmed \\(group {done.group_id}\\)"):
        dedup.decide_pair(review, "alice", pair.id, True)
    assert dedup.group_of(review, a) == done.group_id
    assert undo_merge(review, "alice", done.group_id).members == sorted([a, b])
    assert dedup.group_of(review, a) is None

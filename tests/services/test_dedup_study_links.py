"""Tests that a study's report links follow a record dedup removes over to its group's primary record.

The main report confirmed on a paper must not stay on a removed duplicate while a fuller copy, the
group's primary, sits there merely proposed: the link's status and main flag carry over (audited),
the removed record's own link stays (nothing deleted) but no longer counts as a report.
"""

from __future__ import annotations

from reviewkit.domain.records import Record, RegistryInfo
from reviewkit.services import dedup, studies
from reviewkit.services.audit import audit_trail
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.store import dedup as store
from reviewkit.store.db import session_scope
from tests.dedup_copies import BASE
from tests.factories import PAIR_TITLE, add_records

AD1, AD2 = "NCT03334396", "NCT03334422"


def registry(nct: str) -> Record:
    return Record(title=f"Registered trial {nct}", kind="registry", nct_ids=(nct,), source_id=nct,
                  registry=RegistryInfo(nct_id=nct, brief_title=f"Trial {nct}"))


def link_rows(review: Review) -> int:
    with session_scope(review.engine) as session:
        return len(store.study_report_links(session))


def test_the_main_report_carries_over_to_the_primary(review: Review) -> None:
    """Record 1 is AD1's confirmed main report and rejected for AD2; a fuller copy imported later becomes the
    primary: it is AD1's confirmed main report and rejected for AD2, record 1's links stay but do not count."""
    paper, reg1, reg2 = add_records(review, [Record(**BASE, nct_ids=(AD1, AD2), source_id="pm1"),  # type: ignore[arg-type]
                                             registry(AD1), registry(AD2)])
    dedup.run_dedup(review)
    by_nct = {s.nct_id: s.id for s in studies.list_studies(review)}
    ad1, ad2 = by_nct[AD1], by_nct[AD2]
    studies.set_main_report(review, "alice", ad1, paper)
    studies.set_report_link(review, "bob", ad2, paper, False)
    rows = link_rows(review)
    (copy,) = add_records(review, [Record(**BASE, nct_ids=(AD1, AD2), doi="10.1111/bjd.18898",  # type: ignore[arg-type]
                                          pmid="31625147", abstract="Background: two trials.", source_id="emb1")],
                          source="Embase")
    summary = dedup.run_dedup(review, actor="alice")
    group = dedup.group_of(review, paper)
    with session_scope(review.engine) as session:
        assert store.live_groups(session)[group][0] == copy  # type: ignore[index]
    view = studies.study_view(review, ad1)
    assert view.main_report == copy
    assert view.reports == {reg1: "proposed", copy: "confirmed"}
    assert view.report_count == 2 and view.proposed == 1
    old = next(r for r in view.links if r.record_id == paper)
    assert (old.status, old.main, old.duplicate_of) == ("confirmed", False, copy)
    assert studies.study_view(review, ad2).reports == {reg2: "proposed", copy: "rejected"}
    assert link_rows(review) == rows + 2  # the copy's two links; record 1's stay
    carried = [(e.record_id, e.new) for e in audit_trail(review) if e.action == "carry over"]
    assert carried == [(copy, {"status": "confirmed", "main": False, "study": ad1, "from_record": paper,
                               "group": group}),
                       (copy, {"status": "rejected", "main": False, "study": ad2, "from_record": paper,
                               "group": group})]
    assert summary.links_carried == 3 and summary.link_conflicts == ()
    # Undoing the wrong merge takes back what it carried: record 1 is AD1's main report again, and the copy's
    # links, which came only from the merge, go back to what dedup would make of them: proposed, as the copy
    # cites both NCT numbers itself (audited; nothing deleted).
    undo_merge(review, "alice", group)  # type: ignore[arg-type]
    view = studies.study_view(review, ad1)
    assert view.main_report == paper
    assert view.reports == {reg1: "proposed", paper: "confirmed", copy: "proposed"}
    assert studies.study_view(review, ad2).reports == {reg2: "proposed", paper: "rejected", copy: "proposed"}
    undone = [(e.record_id, e.new["reason"]) for e in audit_trail(review) if e.action == "carry undone"]
    assert undone == [(copy, f"merge of duplicate group {group} undone")] * 2
    assert link_rows(review) == rows + 2


def confirmed_pair_with_a_link(review: Review) -> tuple[int, int, int, int, dedup.PairDecision]:
    """A thin paper (no NCT number) linked by hand to AD1's study, then confirmed as the duplicate of a fuller
    copy: (thin, full, registry record, study, the verdict)."""
    thin, full = add_records(review, [Record(title=PAIR_TITLE, authors=("Reich, K", "Doe, J"), year=2019),
                                      Record(title=PAIR_TITLE, authors=("Reich, K", "Doe, J"), year=2020,
                                             doi="10.1000/x.1", journal="J Derm", abstract="Methods: adults.")])
    (reg,) = add_records(review, [registry(AD1)], source="ClinicalTrials.gov")
    dedup.run_dedup(review)
    (study,) = studies.list_studies(review)
    studies.link_report(review, "alice", study.id, thin)
    (pair,) = dedup.pending_pairs(review)
    return thin, full, reg, study.id, dedup.decide_pair(review, "alice", pair.id, True)


def test_a_confirmed_pair_carries_the_links_too(review: Review) -> None:
    """A human confirming an uncertain pair: the removed record's confirmed link moves to the primary."""
    _, full, reg, study, done = confirmed_pair_with_a_link(review)
    assert studies.study_view(review, study).reports == {reg: "proposed", full: "confirmed"}
    assert done.primary == full


def test_a_human_verdict_on_the_primary_is_not_overwritten(review: Review) -> None:
    """The primary's own link, rejected by a reviewer, stays rejected; the disagreement is reported."""
    paper, _ = add_records(review, [Record(**BASE, nct_ids=(AD1,), source_id="pm1"), registry(AD1)])  # type: ignore[arg-type]
    dedup.run_dedup(review)
    (study,) = studies.list_studies(review)
    (copy,) = add_records(review, [Record(**BASE, nct_ids=(AD1,), doi="10.1111/bjd.18898", pmid="31625147",  # type: ignore[arg-type]
                                          source_id="emb1")], source="Embase")
    studies.link_report(review, "alice", study.id, copy)
    studies.set_report_link(review, "alice", study.id, copy, False)
    studies.set_main_report(review, "alice", study.id, paper)
    summary = dedup.run_dedup(review)
    assert summary.link_conflicts == (f"study {study.id}: record {paper} is confirmed, its primary record {copy} "
                                      "rejected",)
    assert studies.study_view(review, study.id).reports[copy] == "rejected"


def test_undoing_a_merge_withdraws_a_link_the_primary_had_only_from_it(review: Review) -> None:
    """A paper without an NCT number linked by hand to AD1, merged with a fuller copy (which gets the link), then
    the merge undone: the copy's link is withdrawn (rejected: it does not count, and is not proposed again)."""
    thin, full, reg, study, done = confirmed_pair_with_a_link(review)
    assert studies.study_view(review, study).reports == {reg: "proposed", full: "confirmed"}
    undo_merge(review, "alice", done.group_id)  # type: ignore[arg-type]
    assert studies.study_view(review, study).reports == {reg: "proposed", thin: "confirmed", full: "rejected"}


def test_merging_again_after_an_undo_carries_the_link_again(review: Review) -> None:
    """The withdrawn link is a machine's withdrawal, not a reviewer's rejection: when the pair is reopened and
    confirmed again, the link carries over again. Before, the withdrawal counted as a human verdict on the
    primary, so the merge reported a conflict and the study lost its only confirmed report."""
    thin, full, reg, study, done = confirmed_pair_with_a_link(review)
    undo_merge(review, "alice", done.group_id)  # type: ignore[arg-type]
    again = dedup.decide_pair(review, "alice", dedup.reopen_pair(review, "alice", done.pair_id).pair_id, True)
    assert studies.study_view(review, study).reports == {reg: "proposed", full: "confirmed"}
    assert again.primary == full
    # A reviewer's own rejection of the primary's link still stands against a carry, as before.
    undo_merge(review, "alice", again.group_id)  # type: ignore[arg-type]
    studies.set_report_link(review, "bob", study, full, False)
    dedup.decide_pair(review, "alice", dedup.reopen_pair(review, "alice", done.pair_id).pair_id, True)
    assert studies.study_view(review, study).reports[full] == "rejected"

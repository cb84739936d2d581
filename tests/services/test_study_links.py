"""Tests for the study–report links a reviewer checks: confirm, reject, link, main report, rename.

Every change names a reviewer on the team, is audited and deletes nothing; PRISMA counts the
studies from the links that are not rejected, so each change shows in its studies count.
"""

from __future__ import annotations

from typing import Any

import pytest

from reviewkit.domain.records import Record
from reviewkit.errors import PermissionDenied, ReviewkitError
from reviewkit.services import dedup, extract, studies
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from reviewkit.store import dedup as dedup_store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import upsert_reviewers
from reviewkit.store.tables import StudyReportRow
from tests.factories import add_records
from tests.study_data import AD1, StudyData, build, include


@pytest.fixture
def data(review: Review) -> StudyData:
    """The two trials, their registry records and papers, with dedup's proposals."""
    return build(review)


def link_events(review: Review) -> list[tuple[str, str, int | None, Any, Any]]:
    """(action, actor, record, old, new) of every study link and study event after the studies were made
    (their creation is audited too: test_dedup_audits_the_studies_it_makes), oldest first."""
    return [(e.action, e.actor, e.record_id, e.old, e.new) for e in audit_trail(review)
            if e.entity in ("study_report", "study") and not (e.entity == "study" and e.action == "create")]


def statuses(review: Review, study_id: int) -> dict[int, str]:
    """record → link status of a study."""
    return studies.study_view(review, study_id).reports


def link_rows(review: Review) -> int:
    """How many link rows the database holds (nothing is ever deleted, nothing duplicated)."""
    with session_scope(review.engine) as session:
        return len(dedup_store.study_report_links(session))


def studies_included(review: Review) -> int:
    return prisma_counts(review).counts.studies_included


def test_proposals_count_in_prisma_until_rejected(review: Review, data: StudyData) -> None:
    """A paper of another trial cites AD1's NCT number in passing: proposed as an AD1 report, it counts as
    AD1 until bob rejects the link; then it is a study of its own. The link stays, rejected, audited."""
    include(review, data.both_trials, data.passing, data.no_nct)
    assert statuses(review, data.ad1) == {data.ad1_registry: "proposed", data.both_trials: "proposed",
                                          data.passing: "proposed"}
    assert studies_included(review) == 2  # AD1 (both papers) + the secondary analysis, not linked yet
    rows = link_rows(review)
    change = studies.set_report_link(review, "bob", data.ad1, data.passing, False)
    assert (change.old_status, change.status, change.changed) == ("proposed", "rejected", True)
    assert change.summary().startswith(f"study {data.ad1} (")
    assert f"record {data.passing} rejected (was proposed)" in change.summary()
    assert statuses(review, data.ad1)[data.passing] == "rejected"
    assert studies_included(review) == 3
    assert link_rows(review) == rows
    assert link_events(review) == [("rejected", "bob", data.passing, {"status": "proposed", "main": False},
                                    {"status": "rejected", "main": False, "study": data.ad1})]


def test_a_paper_reporting_two_trials_is_linked_to_the_second(review: Review, data: StudyData) -> None:
    """The paper of BREEZE-AD1 and AD2 carries only AD1's number: linking it to AD2 makes it count for both."""
    include(review, data.both_trials)
    assert studies_included(review) == 1
    change = studies.link_report(review, "alice", data.ad2, data.both_trials)
    assert (change.old_status, change.status, change.changed) == (None, "confirmed", True)
    assert change.summary().endswith(f"record {data.both_trials} linked as a confirmed report")
    assert statuses(review, data.ad2) == {data.ad2_registry: "proposed", data.both_trials: "confirmed"}
    assert statuses(review, data.ad1)[data.both_trials] == "proposed"  # its AD1 link untouched
    assert studies_included(review) == 2
    assert link_events(review) == [("link", "alice", data.both_trials, None,
                                    {"status": "confirmed", "main": False, "study": data.ad2})]


def test_a_paper_without_an_nct_number_is_linked_to_its_study(review: Review, data: StudyData) -> None:
    """The secondary analysis of AD1 counted as a study of its own until linked to AD1."""
    include(review, data.both_trials, data.no_nct)
    assert studies_included(review) == 2
    studies.link_report(review, "bob", data.ad1, data.no_nct)
    assert statuses(review, data.ad1)[data.no_nct] == "confirmed"
    assert studies_included(review) == 1


def test_link_confirms_an_existing_link_and_never_duplicates_it(review: Review, data: StudyData) -> None:
    """Linking a proposed or rejected pair confirms its one row; linking a confirmed one changes nothing."""
    rows = link_rows(review)
    assert studies.link_report(review, "alice", data.ad1, data.passing).old_status == "proposed"
    studies.set_report_link(review, "alice", data.ad1, data.passing, False)
    again = studies.link_report(review, "alice", data.ad1, data.passing)
    assert (again.old_status, again.status, again.changed) == ("rejected", "confirmed", True)
    same = studies.link_report(review, "alice", data.ad1, data.passing)
    assert not same.changed and "is already confirmed; nothing changed" in same.summary()
    assert link_rows(review) == rows
    assert [e[0] for e in link_events(review)] == ["link", "rejected", "link"]


def test_confirm_a_proposal_and_take_back_a_rejection(review: Review, data: StudyData) -> None:
    """confirm turns a proposal (or a rejection) into a confirmed link, audited; confirming twice is a no-op."""
    change = studies.set_report_link(review, "alice", data.ad1, data.both_trials, True)
    assert f"record {data.both_trials} confirmed as a report (was proposed)" in change.summary()
    assert not studies.set_report_link(review, "alice", data.ad1, data.both_trials, True).changed
    studies.set_report_link(review, "bob", data.ad1, data.both_trials, False)
    assert studies.set_report_link(review, "carol", data.ad1, data.both_trials, True).old_status == "rejected"
    assert [(e[0], e[1]) for e in link_events(review)] == [("confirmed", "alice"), ("rejected", "bob"),
                                                           ("confirmed", "carol")]


def test_one_main_report_per_study(review: Review, data: StudyData) -> None:
    """Marking a main report unmarks the one before; a proposed link is confirmed by it; rejecting the
    main report unmarks it."""
    first = studies.set_main_report(review, "alice", data.ad1, data.both_trials)
    assert (first.old_status, first.status, first.main, first.main_before) == ("proposed", "confirmed", True, None)
    assert "is now the main report (its proposed link confirmed)" in first.summary()
    second = studies.set_main_report(review, "alice", data.ad1, data.ad1_registry)
    assert second.main_before == data.both_trials
    assert f"instead of record {data.both_trials}" in second.summary()
    view = studies.study_view(review, data.ad1)
    assert view.main_report == data.ad1_registry
    assert [r.record_id for r in view.links if r.main] == [data.ad1_registry]
    assert view.reports[data.both_trials] == "confirmed"
    assert not studies.set_main_report(review, "alice", data.ad1, data.ad1_registry).changed
    rejected = studies.set_report_link(review, "bob", data.ad1, data.ad1_registry, False)
    assert "it is no longer the main report" in rejected.summary()
    assert studies.study_view(review, data.ad1).main_report is None
    assert [(e[0], e[2]) for e in link_events(review)] == [
        ("main", data.both_trials), ("not main", data.both_trials), ("main", data.ad1_registry),
        ("rejected", data.ad1_registry)]


def test_main_report_must_be_a_report_of_the_study(review: Review, data: StudyData) -> None:
    """A record not linked to the study, or whose link was rejected, cannot be its main report."""
    with pytest.raises(ReviewkitError, match=rf"record {data.no_nct} is not linked to study {data.ad1} .*"
                                             rf"reviewkit studies link {data.ad1} {data.no_nct}"):
        studies.set_main_report(review, "alice", data.ad1, data.no_nct)
    studies.set_report_link(review, "alice", data.ad1, data.passing, False)
    with pytest.raises(ReviewkitError, match=f"record {data.passing} was rejected as a report of study"):
        studies.set_main_report(review, "alice", data.ad1, data.passing)
    assert studies.study_view(review, data.ad1).main_report is None


def test_rename_is_audited_under_the_reviewer(review: Review, data: StudyData) -> None:
    """A study gets its trial's name; the old name is returned and kept in the audit trail."""
    old = studies.study_view(review, data.ad1).label
    assert studies.rename_study(review, "bob", data.ad1, "  BREEZE-AD1 ") == old
    assert studies.study_view(review, data.ad1).label == "BREEZE-AD1"
    assert link_events(review) == [("rename", "bob", None, {"label": old}, {"label": "BREEZE-AD1"})]
    with pytest.raises(ReviewkitError, match="a study needs a name"):
        studies.rename_study(review, "bob", data.ad1, "  ")
    with pytest.raises(ReviewkitError, match="no study 99"):
        studies.rename_study(review, "bob", 99, "X")


CHANGES = {
    "confirm": lambda r, who, d: studies.set_report_link(r, who, d.ad1, d.passing, True),
    "reject": lambda r, who, d: studies.set_report_link(r, who, d.ad1, d.passing, False),
    "link": lambda r, who, d: studies.link_report(r, who, d.ad2, d.both_trials),
    "main": lambda r, who, d: studies.set_main_report(r, who, d.ad1, d.both_trials),
    "rename": lambda r, who, d: studies.rename_study(r, who, d.ad1, "BREEZE-AD1"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_needs_a_reviewer_on_the_team(review: Review, data: StudyData, change: str) -> None:
    """As for dedup verdicts: no name, an unknown name and a reviewer dropped from the team are refused,
    and nothing is changed."""
    act = CHANGES[change]
    before = studies.list_studies(review)
    with pytest.raises(ReviewkitError, match="no reviewer given"):
        act(review, None, data)
    with pytest.raises(ReviewkitError, match="unknown reviewer 'zed'"):
        act(review, "zed", data)
    with session_scope(review.engine, write=True) as session:  # bob dropped from review.toml
        upsert_reviewers(session, {"alice": ["screener", "lead"], "carol": ["adjudicator"]})
    with pytest.raises(PermissionDenied, match="'bob' is no longer on this review's team"):
        act(review, "bob", data)
    assert studies.list_studies(review) == before
    assert link_events(review) == []
    act(review, "carol", data)  # any reviewer on the team may, whatever their role
    assert [e[1] for e in link_events(review)] == ["carol"] * len(link_events(review)) != []


def test_unknown_ids_and_missing_links_are_named(review: Review, data: StudyData) -> None:
    """An unknown study or record is named by its id; rejecting or confirming a link that does not exist
    says so, pointing at `studies link` for a confirmation."""
    for act in (lambda: studies.link_report(review, "alice", 99, data.passing),
                lambda: studies.set_report_link(review, "alice", 99, data.passing, False),
                lambda: studies.set_main_report(review, "alice", 99, data.passing),
                lambda: studies.study_view(review, 99)):
        with pytest.raises(ReviewkitError, match=r"no study 99 \(list them with `reviewkit studies`\)"):
            act()
    for act in (lambda: studies.link_report(review, "alice", data.ad1, 999),
                lambda: studies.set_report_link(review, "alice", data.ad1, 999, False),
                lambda: studies.set_report_link(review, "alice", data.ad1, 999, True),
                lambda: studies.set_main_report(review, "alice", data.ad1, 999)):
        with pytest.raises(ReviewkitError, match="no record 999"):
            act()
    with pytest.raises(ReviewkitError, match=rf"record {data.passing} is not linked to study {data.ad2} "
                                             r"\(.*\): nothing to reject"):
        studies.set_report_link(review, "alice", data.ad2, data.passing, False)
    with pytest.raises(ReviewkitError, match=rf"nothing to confirm \(to add the link: reviewkit studies link "
                                             rf"{data.ad2} {data.passing}\)"):
        studies.set_report_link(review, "alice", data.ad2, data.passing, True)
    assert link_events(review) == []


def test_a_removed_duplicate_points_at_its_primary_record(review: Review, data: StudyData) -> None:
    """The secondary analysis found again in Embase is merged by dedup: linking (or confirming, or marking
    main) the copy dedup removed is refused, naming the group and its primary record to link instead."""
    (copy,) = add_records(review, [Record(title="Itch and sleep outcomes with baricitinib: a secondary analysis "
                                                "of BREEZE-AD1", authors=("Lio, P A",), year=2021,
                                          pmid="33990970", source_id="33990970")], source="Embase")
    dedup.run_dedup(review)
    group = dedup.group_of(review, copy)
    assert group is not None and dedup.group_of(review, data.no_nct) == group
    with session_scope(review.engine) as session:
        primary, _ = dedup_store.live_groups(session)[group]
    removed = copy if primary == data.no_nct else data.no_nct
    with session_scope(review.engine, write=True) as session:  # linked before the merge
        session.add(StudyReportRow(study_id=data.ad2, record_id=removed, status="proposed"))
    expected = (rf"record {removed} is a removed duplicate: duplicate group {group} keeps record {primary} as "
                rf"its primary record \(link the primary instead: reviewkit studies link {data.ad1} {primary}\)")
    with pytest.raises(ReviewkitError, match=expected):
        studies.link_report(review, "alice", data.ad1, removed)
    for act in (lambda: studies.set_report_link(review, "alice", data.ad2, removed, True),
                lambda: studies.set_main_report(review, "alice", data.ad2, removed)):
        with pytest.raises(ReviewkitError, match=f"record {removed} is a removed duplicate"):
            act()
    view = studies.study_view(review, data.ad2)
    assert next(r for r in view.links if r.record_id == removed).duplicate_of == primary
    # Its stray link may still be rejected, and the primary record is linked as asked.
    assert studies.set_report_link(review, "alice", data.ad2, removed, False).status == "rejected"
    assert studies.link_report(review, "alice", data.ad1, primary).changed
    # Extraction's own way in (`extract add-study --record`, link_reports) keeps the same rule.
    with pytest.raises(ReviewkitError, match=f"record {removed} is a removed duplicate") as refused:
        extract.create_study(review, "alice", "Lio 2021 secondary", record_ids=[removed])
    # No study is made, so the fix names the primary, not a `studies link` to a study id that never was
    # (the next study made takes that id).
    assert str(refused.value).endswith(f"(give the primary, record {primary}, instead)")
    with pytest.raises(ReviewkitError, match=f"record {removed} is a removed duplicate"):
        extract.link_reports(review, "alice", data.ad1, [removed])
    assert "Lio 2021 secondary" not in {s.label for s in studies.list_studies(review)}


def test_the_view_describes_each_report(review: Review, data: StudyData) -> None:
    """Per report: status, main flag, and the record's title, year, first author and PMID; `proposed_only`
    lists the studies with links still waiting."""
    studies.set_report_link(review, "alice", data.ad2, data.ad2_registry, True)
    waiting = studies.list_studies(review, proposed_only=True)
    assert [v.nct_id for v in waiting] == [AD1]
    (ad1,) = waiting
    paper = next(r for r in ad1.links if r.record_id == data.both_trials)
    assert (paper.status, paper.main, paper.year, paper.first_author, paper.pmid, paper.kind) == (
        "proposed", False, 2020, "Simpson", "32087233", "citation")
    assert paper.title.startswith("Baricitinib in patients") and paper.label == "Simpson 2020"
    registry = next(r for r in ad1.links if r.record_id == data.ad1_registry)
    assert (registry.kind, registry.label) == ("registry", f"registry {AD1}")
    assert ad1.proposed == 3 and ad1.main_report is None
    assert [v.nct_id for v in studies.list_studies(review)] == [AD1, "NCT03334422"]


def test_dedup_audits_the_studies_it_makes(review: Review, data: StudyData) -> None:
    """The studies dedup makes from NCT numbers are audited as any other: who (dedup), label and NCT id."""
    made = {e.entity_id: (e.actor, e.new) for e in audit_trail(review) if e.entity == "study" and e.action == "create"}
    views = {s.id: s for s in studies.list_studies(review)}
    assert set(made) == {data.ad1, data.ad2}
    for sid, (actor, new) in made.items():
        assert actor == dedup.SYSTEM_ACTOR
        assert new == {"label": views[sid].label, "nct_id": views[sid].nct_id}

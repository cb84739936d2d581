"""Tests for report-to-study proposals (reviewkit.domain.studies): the many-to-many NCT link."""

from __future__ import annotations

from reviewkit.domain.dedup import DuplicateGroup
from reviewkit.domain.records import Record, RegistryInfo
from reviewkit.domain.studies import StudyProposal, propose_studies, studies_by_record

AD1, AD2 = "NCT03334396", "NCT03334422"


def _registry(nct: str) -> Record:
    return Record(title=f"Study of baricitinib ({nct})", kind="registry", registry=RegistryInfo(nct_id=nct),
                  nct_ids=(nct,))


def test_registry_record_and_citing_paper_form_one_study() -> None:
    """A registry record and a paper naming its NCT number in the abstract are proposed as one study."""
    records = [_registry(AD1), Record(title="Baricitinib in AD", abstract=f"Registered as {AD1.lower()}.")]
    assert propose_studies(records) == [StudyProposal(AD1, (0, 1), (0,))]


def test_one_paper_reports_two_trials() -> None:
    """A paper carrying two NCT numbers (BREEZE-AD1 and AD2) is a report of both studies."""
    paper = Record(title="Two phase 3 trials of baricitinib", nct_ids=(AD1, AD2))
    records = [_registry(AD1), _registry(AD2), paper]
    proposals = propose_studies(records)
    assert [(p.nct_id, p.report_indexes) for p in proposals] == [(AD1, (0, 2)), (AD2, (1, 2))]
    assert studies_by_record(proposals)[2] == (AD1, AD2)


def test_papers_sharing_an_nct_without_a_registry_record() -> None:
    """Two papers citing one NCT number are proposed as one study; a lone paper's NCT number is a study too
    (asking for two reports, the old rule, proposed none for it)."""
    records = [Record(title="Primary results", nct_ids=(AD1,)), Record(title="Long-term extension", abstract=AD1),
               Record(title="Unrelated", abstract="NCT99999999")]
    proposals = propose_studies(records)
    assert [(p.nct_id, p.report_indexes, p.registry_indexes) for p in proposals] == [
        (AD1, (0, 1), ()), ("NCT99999999", (2,), ())]
    assert [p.nct_id for p in propose_studies(records, min_reports=2)] == [AD1]


def test_a_two_trial_paper_with_one_registry_record_is_proposed_for_both() -> None:
    """A paper reporting ALPHA and BETA, with only ALPHA's registry record found, reports two studies (BETA
    got no proposal and the paper counted as one study); with no registry record at all, the same."""
    paper = Record(title="Two trials", abstract=f"ALPHA ({AD1}) and BETA ({AD2})")
    proposals = propose_studies([paper, _registry(AD1)])
    assert [(p.nct_id, p.report_indexes, p.registry_indexes) for p in proposals] == [
        (AD1, (0, 1), (1,)), (AD2, (0,), ())]
    assert studies_by_record(propose_studies([paper]))[0] == (AD1, AD2)


def test_duplicates_count_once() -> None:
    """A paper found in two databases (one duplicate group) is one report, by its primary record."""
    paper = Record(title="Baricitinib in AD", nct_ids=(AD1,))
    records = [_registry(AD1), paper, paper]
    proposals = propose_studies(records, [DuplicateGroup(primary=1, members=(1, 2))])
    assert proposals[0].report_indexes == (0, 1)


def test_no_nct_numbers_no_proposals() -> None:
    """Records without NCT numbers give no proposals."""
    assert propose_studies([Record(title="A"), Record(title="B")]) == []

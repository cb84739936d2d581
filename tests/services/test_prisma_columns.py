"""Tests which PRISMA column a record counts in: a search re-finds only its own column's records, a report
found both ways counts once on the left whatever the order, and other-methods records excluded at
title/abstract stay in the diagram (prisma2020.md §3, §5 items 6 and 7)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reviewkit.domain.prisma import (
    NOT_SOUGHT_DUPLICATES,
    NOT_SOUGHT_EXCLUDED,
    NOT_SOUGHT_PENDING,
    OtherMethods,
    PrismaCounts,
    check_identities,
    errors_only,
)
from reviewkit.domain.records import Record
from reviewkit.services import screen
from reviewkit.services.dedup import run_dedup
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts, write_prisma
from reviewkit.services.search import search_pubmed
from reviewkit.services.status import review_status
from reviewkit.sources.pubmed_plan import FetchedBatch, SearchPlan
from reviewkit.store import queries
from reviewkit.store.db import session_scope


def _both(review: Review, rid: int, stage: str, decision: str, reason: str | None = None) -> None:
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, stage, decision, reason=reason)


class _FakePubMed:
    """Stands in for E-utilities: the search returns these PMIDs, in one batch."""

    def __init__(self, pmids: tuple[int, ...]) -> None:
        self.pmids = pmids

    def start(self, query: str, mindate: Any, maxdate: Any) -> SearchPlan:
        return SearchPlan(query=query, translation=query, count=len(self.pmids), searched_at="2024/01/01")

    def fetch_batches(self, plan: SearchPlan, start_at: int = 0, known_pmids: Any = ()) -> Iterator[FetchedBatch]:
        records = tuple(Record(title=f"Citation found paper {p} about baricitinib", pmid=str(p),
                               authors=(f"Author{p}, A",), year=2020, source_db="PubMed", format="medline",
                               source_id=str(p)) for p in self.pmids)
        yield FetchedBatch(offset=0, next_offset=len(self.pmids), records=records, plan=plan)


def _medline(path: Path, pmids: tuple[int, ...]) -> Path:
    path.write_text("\n".join(f"PMID- {p}\nTI  - Citation found paper {p} about baricitinib\nFAU - Author{p}, A\n"
                              "DP  - 2020\n" for p in pmids), encoding="utf-8")
    return path


def test_a_database_search_does_not_take_over_records_found_by_citation_searching(
        review: Review, tmp_path: Path) -> None:
    """Citation-searching results exported from PubMed are named "PubMed"; a PubMed database search finding
    the same PMIDs attached them to those records, which then counted in both columns and broke
    "records screened = identified - removed" for good. Now the search adds its own records, dedup
    groups them with the citation copies, and the left column adds up."""
    summary = import_file(review, _medline(tmp_path / "cites.nbib", (101, 102)), source_kind="citation")
    assert summary.source == "PubMed"
    found = search_pubmed(review, client=_FakePubMed((101, 102, 103, 104)))
    assert (found.stored, found.new) == (4, 4)
    again = search_pubmed(review, client=_FakePubMed((101, 102, 103, 104)))
    assert again.new == 0  # a re-run still links what its own column brought
    with session_scope(review.engine) as session:
        assert queries.identified_by_run_kind(session) == {("citation", "PubMed"): 2, ("database", "PubMed"): 4}
    run_dedup(review)
    status = review_status(review)
    assert (status.records, status.duplicates_removed) == (6, 2)
    with session_scope(review.engine) as session:
        unique = queries.record_ids(session) - queries.removed_duplicates(session)
    for rid in unique:
        _both(review, rid, "ta", "exclude")
    report = prisma_counts(review)
    c, o = report.counts, report.counts.other
    assert o is not None
    assert (c.records_identified, c.duplicates_removed, c.records_screened, c.records_excluded) == (4, 0, 4, 4)
    assert o.identified == {"Citation searching": 2} and o.sought == 0
    assert o.not_sought[NOT_SOUGHT_DUPLICATES] == 2
    assert errors_only(list(report.violations)) == []
    assert write_prisma(review, "svg", tmp_path / "p.svg").path is not None


_SHARED = "Shared trial paper found both ways on baricitinib efficacy"


def _ris(path: Path, db: str, rid: str) -> Path:
    path.write_text(f"TY  - JOUR\nDB  - {db}\nID  - {rid}\nTI  - {_SHARED}\nAU  - Author, A\nPY  - 2021\n"
                    "T2  - J Test\nDO  - 10.2000/shared\nER  - \n", encoding="utf-8")
    return path


@pytest.mark.parametrize("order", ["citation first", "database first"])
def test_a_report_found_both_ways_counts_once_in_the_databases_column(
        review: Review, tmp_path: Path, order: str) -> None:
    """Found by citation searching and by a database, the report counted in the column its duplicate group's
    primary came from: the citation column when that copy was screened first. PRISMA counts it once, in
    the databases and registers column, whatever the order."""
    web, db = _ris(tmp_path / "web.ris", "Hand", "w1"), _ris(tmp_path / "db.ris", "Scopus", "d1")
    if order == "citation first":
        import_file(review, web, source="Citation searching", source_kind="citation")
        _both(review, 1, "ta", "include")  # screened first: dedup keeps it as the primary
        import_file(review, db)
    else:
        import_file(review, db)
        import_file(review, web, source="Citation searching", source_kind="citation")
        _both(review, 1, "ta", "include")
    run_dedup(review)
    _both(review, 1, "ft", "include")
    report = prisma_counts(review)
    c, o = report.counts, report.counts.other
    assert o is not None
    assert (c.databases, c.duplicates_removed, c.records_screened, c.reports_sought, c.reports_assessed) == (
        {"Scopus": 1}, 0, 1, 1, 1)
    assert (o.identified, o.sought, o.assessed) == ({"Citation searching": 1}, 0, 0)
    assert o.not_sought[NOT_SOUGHT_DUPLICATES] == 1
    assert (c.reports_included, c.studies_included) == (1, 1)
    assert report.violations == ()
    status = review_status(review)
    assert status.after_dedup - status.screened_other_methods == c.records_screened
    assert status.duplicates_removed - status.removed_other_methods == c.duplicates_removed
    assert (status.screened_other_methods, status.removed_other_methods) == (0, 1)
    from reviewkit.tui.screens.dashboard import stage_rows

    rows = {stage: (count, detail) for stage, count, detail in stage_rows(status)}
    assert rows["Records screened"] == ("1", "")
    assert rows["Duplicates removed"] == ("1", "1 via other methods")


def test_other_methods_records_excluded_at_title_abstract_stay_in_the_diagram(review: Review, tmp_path: Path) -> None:
    """Websites n = 3, one excluded at title/abstract: it was in no box (Reports sought n = 2) and `status`
    counted it with the left column's exclusions without a word. Now the diagram shows it as not sought,
    the column adds up, and status and the dashboard say it came via other methods."""
    from reviewkit.cli.project import format_status
    from reviewkit.tui.screens.dashboard import stage_rows

    path = tmp_path / "w.ris"
    path.write_text("".join(f"TY  - JOUR\nDB  - WHO\nID  - w{i}\nTI  - Website report {i} of a baricitinib trial\n"
                            "PY  - 2021\nER  - \n\n" for i in (1, 2, 3)), encoding="utf-8")
    import_file(review, path, source="WHO website", source_kind="website")
    _both(review, 1, "ta", "include")
    _both(review, 2, "ta", "exclude")
    report = prisma_counts(review)
    o = report.counts.other
    assert o is not None
    assert o.not_sought == {NOT_SOUGHT_DUPLICATES: 0, NOT_SOUGHT_EXCLUDED: 1, NOT_SOUGHT_PENDING: 1}
    assert [v for v in report.violations if v.name == "other: sought + not sought"] == []  # adds up mid-review
    _both(review, 3, "ta", "include")
    _both(review, 1, "ft", "include")
    _both(review, 3, "ft", "include")
    report = prisma_counts(review)
    c, o = report.counts, report.counts.other
    assert o is not None
    assert (o.identified_total, o.sought, o.assessed, o.reports_included) == (3, 2, 2, 2)
    assert o.not_sought == {NOT_SOUGHT_DUPLICATES: 0, NOT_SOUGHT_EXCLUDED: 1, NOT_SOUGHT_PENDING: 0}
    assert (c.records_screened, c.records_excluded) == (0, 0)
    assert report.violations == ()
    svg = write_prisma(review, "svg", tmp_path / "p.svg").path.read_text()  # type: ignore[union-attr]
    assert "Records not sought for retrieval:" in svg and "Excluded on title/abstract (n = 1)" in svg
    json_text = write_prisma(review, "json", Path("-")).text
    assert json_text is not None and '"Excluded on title/abstract": 1' in json_text
    status = review_status(review)
    assert (status.ta.excluded, status.ta_excluded_other_methods) == (1, 1)
    assert status.as_dict()["title_abstract_excluded_other_methods"] == 1
    assert "(1 via other methods: not sought for retrieval" in format_status(status)
    rows = {stage: detail for stage, _, detail in stage_rows(status)}
    assert "excluded 1 (1 via other methods: not sought)" in rows["Title/abstract included"]


def test_the_other_methods_column_must_account_for_every_record() -> None:
    """Records identified via other methods are sought or not sought for a reason; a count that loses one
    is an error (the diagram is not drawn)."""
    def counts(not_sought: dict[str, int]) -> PrismaCounts:
        return PrismaCounts(databases={}, registers={}, duplicates_removed=0, automation_ineligible=0,
                            removed_other_reasons=0, records_screened=0, records_excluded=0, reports_sought=0,
                            reports_not_retrieved=0, reports_assessed=0, reports_excluded={}, studies_included=2,
                            reports_included=2,
                            other=OtherMethods(identified={"Websites": 3}, sought=2, not_retrieved=0, assessed=2,
                                               excluded={}, not_sought=not_sought))

    assert check_identities(counts({NOT_SOUGHT_EXCLUDED: 1})) == []
    (broken,) = errors_only(check_identities(counts({NOT_SOUGHT_EXCLUDED: 0})))
    assert broken.name == "other: sought + not sought"

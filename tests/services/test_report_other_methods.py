"""Tests the PRISMA column "Identification of studies via other methods" from live counts, and that
`status` and `prisma` count included studies by one rule."""

from __future__ import annotations

from pathlib import Path

from reviewkit.domain.prisma import errors_only
from reviewkit.domain.records import Record
from reviewkit.services import screen, screen_full_text
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts, write_prisma
from reviewkit.services.status import review_status
from reviewkit.store import runs
from reviewkit.store.db import session_scope
from reviewkit.store.tables import DuplicateGroupRow, DuplicateMemberRow
from tests.factories import add_records


def _add(review: Review, n: int, *, source: str, kind: str, start: int = 0) -> list[int]:
    """n simple records as one complete run of a source of this PRISMA kind."""
    records = [Record(title=f"{source} report {i} on baricitinib", year=2021, source_id=f"{source}-{i}")
               for i in range(start, start + n)]
    with session_scope(review.engine, write=True) as session:
        run = runs.start_run(session, kind="import", source=source, source_kind=kind, file_name="x.ris")
        assert run.id is not None
        ids = runs.insert_records(session, run.id, records, 0)
        runs.finish_run(session, run, record_count=n, new_record_count=n, actor=None)
    return ids


def _both(review: Review, rid: int, stage: str, decision: str, reason: str | None = None) -> None:
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, stage, decision, reason=reason)


def _merge(review: Review, primary: int, duplicate: int) -> None:
    with session_scope(review.engine, write=True) as s:
        group = DuplicateGroupRow(primary_record_id=primary)
        s.add(group)
        s.flush()
        for rid in (primary, duplicate):
            s.add(DuplicateMemberRow(group_id=group.id, record_id=rid, method="doi"))


def test_other_methods_column_follows_its_records(review: Review, tmp_path: Path) -> None:
    """Citation and website records reach "Reports sought" once past title/abstract, then not retrieved,
    assessed, excluded with a reason or included; their included reports and studies join the totals
    (they were stuck at 0 after identification, and the diagram said 0 studies)."""
    db_out, db_in = add_records(review, 2, source="PubMed")
    cites = _add(review, 4, source="Hand search", kind="citation")
    (site,) = _add(review, 1, source="EMA", kind="website")
    _both(review, db_out, "ta", "exclude")
    _both(review, db_in, "ta", "include")
    _both(review, db_in, "ft", "include")
    _both(review, cites[0], "ta", "exclude")  # identified, never sought
    _both(review, site, "ta", "exclude")
    for rid in cites[1:]:
        _both(review, rid, "ta", "include")
    screen_full_text.set_full_text(review, "alice", cites[1], "not_retrieved")
    _both(review, cites[2], "ft", "exclude", "Review")
    _both(review, cites[3], "ft", "include")
    report = prisma_counts(review)
    c, o = report.counts, report.counts.other
    assert o is not None
    assert o.identified == {"Citation searching": 4, "Websites": 1}
    assert (o.sought, o.not_retrieved, o.assessed, dict(o.excluded)) == (3, 1, 2, {"Review": 1})
    assert (c.records_screened, c.records_excluded, c.reports_sought, c.reports_assessed) == (2, 1, 1, 1)
    assert (c.reports_included, c.studies_included) == (2, 2)
    assert report.violations == () and report.pending_full_text == ()
    status = review_status(review)
    assert status.studies == c.studies_included
    svg = write_prisma(review, "svg", tmp_path / "p.svg").path.read_text()  # type: ignore[union-attr]
    assert "Studies included in review (n = 2)" in svg and "Citation searching (n = 4)" in svg


def test_two_sources_of_one_other_kind_share_its_box(review: Review) -> None:
    """Two citation-searching sources add up in one box (the second used to overwrite the first)."""
    _add(review, 2, source="Backward citations", kind="citation")
    _add(review, 3, source="Forward citations", kind="citation")
    other = prisma_counts(review).counts.other
    assert other is not None and other.identified == {"Citation searching": 5}


def test_sources_are_listed_in_one_order(review: Review) -> None:
    """Databases and registers by name, other methods in the template's order (Websites, Organisations,
    Citation searching, then any other by name), whatever order they were imported in: the query's
    grouping kept none (on PostgreSQL none at all), so the box listed "Citation searching" before
    "Websites" and could differ from one database to another."""
    for source, kind in (("Scopus", "database"), ("WHO ICTRP", "register"), ("Hand search", "other"),
                         ("Citation chase", "citation"), ("embase", "database"), ("EMA", "website"),
                         ("ClinicalTrials.gov", "register"), ("Cochrane CENTRAL", "database"),
                         ("Experts contacted", "other"), ("Manufacturer", "organisation")):
        _add(review, 1, source=source, kind=kind)
    c = prisma_counts(review).counts
    assert c.other is not None
    assert list(c.databases) == ["Cochrane CENTRAL", "embase", "Scopus"]
    assert list(c.registers) == ["ClinicalTrials.gov", "WHO ICTRP"]
    assert list(c.other.identified) == ["Websites", "Organisations", "Citation searching", "Experts contacted",
                                        "Hand search"]


def test_a_record_found_both_ways_counts_in_the_databases_column(review: Review) -> None:
    """A duplicate group spanning a database and citation searching counts once, in the databases and
    registers column, whichever copy is its primary (prisma2020.md §5 item 7); the citation copies are
    not sought in the other-methods column."""
    (db_a,) = add_records(review, 1, source="PubMed")
    (cite_a,) = _add(review, 1, source="Hand search", kind="citation")
    _merge(review, cite_a, db_a)  # the citation copy is the primary
    (db_b,) = add_records(review, [Record(title="Another trial", year=2020, pmid="9", source_id="9")],
                          source="Embase")
    (cite_b,) = _add(review, 1, source="Hand search", kind="citation", start=5)
    _merge(review, db_b, cite_b)  # the database copy is the primary
    for rid in (cite_a, db_b):
        _both(review, rid, "ta", "include")
        _both(review, rid, "ft", "include")
    report = prisma_counts(review)
    c, o = report.counts, report.counts.other
    assert o is not None
    assert (c.records_identified, c.duplicates_removed, c.records_screened, c.reports_sought) == (2, 0, 2, 2)
    assert (o.identified_total, o.sought, o.assessed, o.not_sought_total) == (2, 0, 0, 2)
    assert (c.reports_included, c.studies_included) == (2, 2)
    assert errors_only(list(report.violations)) == []


def test_status_and_prisma_count_studies_by_one_rule(review: Review) -> None:
    """An included report with no study link is a study of its own in both (status said 0, prisma 1);
    two included reports of one study count once in both."""
    from reviewkit.store import dedup as dedup_store

    lone, first, second = add_records(review, 3)
    for rid in (lone, first, second):
        _both(review, rid, "ta", "include")
        _both(review, rid, "ft", "include")
    with session_scope(review.engine, write=True) as s:
        dedup_store.add_study_links(s, "NCT03334396", "BREEZE-AD1", [first, second], "test")
    assert review_status(review).studies == prisma_counts(review).counts.studies_included == 2
    assert review_status(review).as_dict()["studies"] == 2


def test_status_names_the_other_methods_records_the_diagram_leaves_out(review: Review) -> None:
    """`status` screens every record, the diagram's "Records screened" only the left column's; status says
    how many came via other methods so its 11 and the diagram's 10 can be told apart (they were not)."""
    from reviewkit.cli.project import format_status

    add_records(review, 10, source="PubMed")
    (cite_a,) = _add(review, 1, source="Hand search", kind="citation")
    (cite_b,) = _add(review, 1, source="Hand search", kind="citation", start=5)
    _merge(review, cite_a, cite_b)
    status, counts = review_status(review), prisma_counts(review).counts
    assert (status.after_dedup, counts.records_screened) == (11, 10)
    assert status.after_dedup - status.screened_other_methods == counts.records_screened
    assert status.duplicates_removed - status.removed_other_methods == counts.duplicates_removed == 0
    doc = status.as_dict()
    assert (doc["records_screened_other_methods"], doc["duplicates_removed_other_methods"]) == (1, 1)
    text = format_status(status)
    assert "(1 via other methods: PRISMA's right-hand column)" in text
    assert "(1 via other methods)" in text
    from reviewkit.tui.screens.dashboard import stage_rows

    rows = {name: (n, detail) for name, n, detail in stage_rows(status)}
    assert rows["Records screened"] == ("11", "1 via other methods")
    assert rows["Duplicates removed"] == ("1", "1 via other methods")

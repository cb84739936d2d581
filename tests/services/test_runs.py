"""Tests for the read-only view of sources and runs: every run listed, sources with their latest run."""

from __future__ import annotations

from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.runs import source_overview, source_runs
from reviewkit.services.search import CTGOV, PUBMED
from tests.conftest import FIXTURES


def test_runs_listed_newest_first_with_counts(review: Review) -> None:
    """Each import is a run with its file, status and counts; the newest comes first."""
    import_file(review, FIXTURES / "references" / "rispy" / "example_basic.ris", source="Embase", actor="alice")
    import_file(review, FIXTURES / "references" / "rispy" / "example_full.ris", source="Scopus")
    first, second = source_runs(review)
    assert (first.source, first.what, first.status, first.record_count, first.new_record_count) == (
        "Scopus", "example_full.ris", "complete", 2, 2)
    assert (second.source, second.kind, second.started_by) == ("Embase", "import", "alice")
    assert second.finished_at is not None and second.started_at <= first.started_at


def test_overview_lists_protocol_searches_and_imports(review: Review) -> None:
    """The protocol's searches are listed before any run; imports add their sources with the last run."""
    overview = {s.name: s for s in source_overview(review)}
    assert overview[PUBMED].kind == "planned search" and overview[PUBMED].last is None
    assert "baricitinib" in overview[PUBMED].query
    assert overview[CTGOV].kind == "planned search" and "query.intr=" in overview[CTGOV].query
    assert overview["Embase"].kind == "planned"  # listed in the protocol, nothing imported yet
    import_file(review, FIXTURES / "references" / "rispy" / "example_full.ris", source="Embase")
    import_file(review, FIXTURES / "references" / "rispy" / "example_basic.ris", source="Web of Science")
    overview = {s.name: s for s in source_overview(review)}
    assert overview["Embase"].kind == "import" and overview["Embase"].records == 2
    assert overview["Embase"].last is not None and overview["Embase"].last.what == "example_full.ris"
    assert overview["Web of Science"].runs == 1 and overview["Web of Science"].records == 1
    assert list(overview)[:2] == [PUBMED, CTGOV]
    # A PubMed export imported as a file: an import source (its file shown), not a search run.
    import_file(review, FIXTURES / "references" / "rispy" / "example_multiline.ris", source=PUBMED)
    overview = {s.name: s for s in source_overview(review)}
    assert overview[PUBMED].kind == "import" and overview[PUBMED].last is not None
    assert overview[PUBMED].last.kind == "import"

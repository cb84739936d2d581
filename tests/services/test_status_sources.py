"""Tests that `status` keeps apart one source name imported under two PRISMA kinds."""

from __future__ import annotations

from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.runs import source_overview
from reviewkit.services.status import review_status, source_labels
from tests.conftest import FIXTURES


def test_one_name_under_two_kinds_is_listed_once_per_kind(review: Review) -> None:
    """PubMed as a database (10) and as a register (4): both shown, adding up to the records (it said
    "Identified 4 / PubMed 4" beside "Records 14")."""
    import_file(review, FIXTURES / "demo" / "pubmed_export.ris")
    import_file(review, FIXTURES / "demo" / "embase_export.ris", source="PubMed", source_kind="register")
    status = review_status(review)
    assert status.identified_by_source == {"PubMed": 10, "PubMed (register)": 4}
    assert status.identified == status.records == 14
    assert status.as_dict()["identified_by_kind"] == [
        {"kind": "database", "source": "PubMed", "records": 10},
        {"kind": "register", "source": "PubMed", "records": 4}]
    shown = CliRunner().invoke(cli, ["-C", str(review.folder), "status"]).output
    assert "Identified                 14" in shown and "PubMed (register)         4" in shown
    # The sources screen counts per name: both kinds together.
    assert next(s.records for s in source_overview(review) if s.name == "PubMed") == 14


def test_source_labels() -> None:
    """A name under one kind keeps its name; under several, the later kinds are named."""
    assert source_labels({("database", "Embase"): 3}) == {"Embase": 3}
    assert source_labels({("citation", "X"): 1, ("register", "X"): 2, ("website", "Y"): 5}) == {
        "X": 2, "X (citation)": 1, "Y": 5}

"""Tests that the PRISMA counts are derived from the data and that the diagram refuses broken counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.prisma import errors_only
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen, screen_full_text
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts, write_prisma
from reviewkit.store.db import session_scope
from reviewkit.store.tables import DuplicateGroupRow, DuplicateMemberRow
from tests.factories import add_records


def _both(review: Review, rid: int, stage: str, decision: str, reason: str | None = None) -> None:
    for who in ("alice", "bob"):
        screen.record_decision(review, who, rid, stage, decision, reason=reason)


def test_counts_follow_the_pipeline(review: Review, tmp_path: Path) -> None:
    """Identified, duplicates, screened, excluded, sought, not retrieved, excluded with reasons, included."""
    ids = add_records(review, 6, source="PubMed") + add_records(review, 2, source="Embase")
    with session_scope(review.engine, write=True) as s:  # record 7 duplicates record 1
        group = DuplicateGroupRow(primary_record_id=ids[0])
        s.add(group)
        s.flush()
        s.add(DuplicateMemberRow(group_id=group.id, record_id=ids[0], method="doi"))
        s.add(DuplicateMemberRow(group_id=group.id, record_id=ids[6], method="doi"))
    r = [i for i in ids if i != ids[6]]
    _both(review, r[0], "ta", "exclude")
    _both(review, r[1], "ta", "exclude")
    for rid in r[2:]:
        _both(review, rid, "ta", "include")
    screen_full_text.set_full_text(review, "alice", r[2], "not_retrieved")
    _both(review, r[3], "ft", "exclude", "Conference abstract")
    _both(review, r[4], "ft", "exclude", "Review")
    _both(review, r[5], "ft", "include")
    _both(review, r[6], "ft", "include")
    report = prisma_counts(review)
    c = report.counts
    assert c.databases == {"PubMed": 6, "Embase": 2}
    assert c.duplicates_removed == 1 and c.records_screened == 7 and c.records_excluded == 2
    assert (c.reports_sought, c.reports_not_retrieved, c.reports_assessed) == (5, 1, 4)
    assert c.reports_excluded == {"Review": 1, "Conference abstract": 1}
    assert list(c.reports_excluded) == ["Review", "Conference abstract"]  # the protocol's order
    assert (c.reports_included, c.studies_included) == (2, 2)
    assert errors_only(list(report.violations)) == []
    path = write_prisma(review, "svg", tmp_path / "p.svg").path
    svg = path.read_text()  # type: ignore[union-attr]
    assert "PubMed" in svg and "Conference abstract" in svg


def test_unfinished_screening_is_reported_not_drawn(review: Review, tmp_path: Path) -> None:
    """A record still waiting for full-text decisions makes the counts not final: no diagram, the records
    named; the JSON says why its boxes differ."""
    (rid,) = add_records(review, 1)
    _both(review, rid, "ta", "include")
    screen.record_decision(review, "alice", rid, "ft", "include")
    with pytest.raises(ReviewkitError, match=rf"not final.*full text \[{rid}\]"):
        write_prisma(review, "png", tmp_path / "p.png")
    path = write_prisma(review, "json", tmp_path / "p.json").path
    data = json.loads(path.read_text())  # type: ignore[union-attr]
    assert data["violations"]


def test_counts_written_mid_review_carry_a_warning(review: Review, tmp_path: Path) -> None:
    """CSV counts have no place for "not final": the command says so on stderr, naming the waiting records,
    and says nothing once every record is decided."""
    (rid,) = add_records(review, 1)
    for args in (["prisma", "--format", "csv", "-o", "-"], ["prisma", "--format", "json", "-o", str(tmp_path / "p.json")],
                 ["export", "flow", str(tmp_path / "flow.csv")]):
        result = CliRunner().invoke(cli, ["-C", str(review.folder), *args])
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith("warning: these counts are not final:")
        assert f"screening has not started (record {rid} has no title/abstract decision)" in result.stderr
        assert "warning" not in result.stdout
    _both(review, rid, "ta", "exclude")
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "export", "flow", str(tmp_path / "flow.csv")])
    assert result.exit_code == 0 and result.stderr == ""


def test_prisma_cli_csv_uses_r_package_keys(review: Review) -> None:
    """`reviewkit prisma --format csv -o -` prints the PRISMA2020 package's data template."""
    add_records(review, 3)
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "prisma", "--format", "csv", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert "database_results" in result.output and "records_screened" in result.output


def test_unscreened_records_block_the_diagram(review: Review, tmp_path: Path) -> None:
    """A record not yet screened at title/abstract stops the diagram and is named."""
    a, b = add_records(review, 2)
    _both(review, a, "ta", "exclude")
    with pytest.raises(ReviewkitError, match=rf"title/abstract \[{b}\]"):
        write_prisma(review, "svg", tmp_path / "p.svg")


def test_one_paper_reporting_two_trials_is_drawn(review: Review, tmp_path: Path) -> None:
    """The only included report is one paper of BREEZE-AD1 and -AD2: 2 studies from 1 report, noted,
    and the diagram is drawn (it was refused as 'more studies than reports')."""
    from reviewkit.services.studies import set_report_link
    from reviewkit.store import dedup as dedup_store

    (rid,) = add_records(review, 1)
    with session_scope(review.engine, write=True) as s:
        for nct, label in (("NCT03334396", "BREEZE-AD1"), ("NCT03334422", "BREEZE-AD2")):
            dedup_store.add_study_links(s, nct, label, [rid], "test")
        studies = dedup_store.studies_by_nct(s)
    for nct in ("NCT03334396", "NCT03334422"):
        set_report_link(review, "alice", studies[nct], rid, True)
    _both(review, rid, "ta", "include")
    _both(review, rid, "ft", "include")
    report = prisma_counts(review)
    assert (report.counts.reports_included, report.counts.studies_included) == (1, 2)
    assert [v.severity for v in report.violations] == ["note"]
    path = write_prisma(review, "svg", tmp_path / "p.svg").path
    assert path is not None and "Studies included in review" in path.read_text()

"""Tests that `studies list` counts a study's reports as PRISMA does: rejected links left out."""

from __future__ import annotations

from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.cli.studies import counted_reports
from reviewkit.services import studies
from reviewkit.services.project import Review
from tests.study_data import AD1, build


def test_rejected_links_are_not_counted_as_reports(review: Review) -> None:
    """After `studies reject`, the heading counts the links that still count (it said "(3 reports)")."""
    data = build(review)
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "studies", "reject",
                                      str(data.ad1), str(data.passing)])
    assert result.exit_code == 0, result.output
    view = next(v for v in studies.list_studies(review) if v.id == data.ad1)
    assert len(view.links) == 3 and counted_reports(view) == 2
    listing = CliRunner().invoke(cli, ["-C", str(review.folder), "studies"]).output
    heading = next(line for line in listing.splitlines() if line.startswith(f"study {data.ad1}  "))
    assert heading.endswith(f"{AD1}  (2 reports, 2 proposed, 1 rejected link not counted)")
    assert f"record {data.passing} " in listing  # the rejected link is still listed, as rejected

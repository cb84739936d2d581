"""Tests that a ClinicalTrials.gov export counts under PRISMA's Registers, whatever kind it was imported as,
so searching the registry through its API afterwards counts each trial once (prisma2020.md §2, §4)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from reviewkit.cli import cli
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from reviewkit.services.runs import run_notes
from reviewkit.services.search import search_ctgov
from reviewkit.services.status import review_status
from reviewkit.sources.ctgov import CtgovSearch
from reviewkit.sources.http import RateLimiter, RetryPolicy
from tests.conftest import FIXTURES

PAGE1 = FIXTURES / "ctgov" / "search_phelan_limit5_20260811.json"
PAGE2 = FIXTURES / "ctgov" / "search_phelan_next_20260811.json"
#: The columns of ClinicalTrials.gov's CSV download, as the website names them (a subset, in its order).
CSV_HEADER = ["NCT Number", "Study Title", "Study URL", "Acronym", "Study Status", "Brief Summary", "Study Results",
              "Conditions", "Interventions", "Sponsor", "Phases", "Enrollment", "Study Type", "Start Date",
              "Completion Date"]


def _ctgov_csv(path: Path) -> Path:
    """The first search page's studies written out in the CSV download's layout ("|" between list items)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(CSV_HEADER)
        for study in json.loads(PAGE1.read_text())["studies"]:
            p = study["protocolSection"]
            nct = p["identificationModule"]["nctId"]
            out.writerow([
                nct, p["identificationModule"]["briefTitle"], f"https://clinicaltrials.gov/study/{nct}", "",
                p["statusModule"]["overallStatus"], p["descriptionModule"]["briefSummary"], "NO",
                "|".join(p["conditionsModule"]["conditions"]),
                "|".join(f"DRUG: {i['name']}" for i in p["armsInterventionsModule"]["interventions"]),
                p["sponsorCollaboratorsModule"]["leadSponsor"]["name"], "|".join(p["designModule"].get("phases", [])),
                p["designModule"]["enrollmentInfo"]["count"], p["designModule"]["studyType"],
                p["statusModule"]["startDateStruct"]["date"], p["statusModule"]["completionDateStruct"]["date"],
            ])
    return path


def _serve_search(server: HTTPServer) -> int:
    """The API search: page 1 (the exported studies) and page 2 as the last page; returns how many trials."""
    last = json.loads(PAGE2.read_text())
    last.pop("nextPageToken")
    token = json.loads(PAGE1.read_text())["nextPageToken"]

    def answer(request: Request) -> Response:
        if request.args.get("pageToken") == token:
            return Response(json.dumps(last), content_type="application/json")
        return Response(PAGE1.read_bytes(), content_type="application/json")

    server.expect_request("/api/v2/studies").respond_with_handler(answer)
    return len(json.loads(PAGE1.read_text())["studies"]) + len(last["studies"])


def _search(review: Review, server: HTTPServer) -> None:
    retry = RetryPolicy(max_attempts=1, sleep=lambda s: None)
    search_ctgov(review, client=CtgovSearch(base_url=server.url_for("/api/v2"), retry=retry,
                                            limiter=RateLimiter(1.0, sleep=lambda s: None)))


def _identified(review: Review) -> dict[tuple[str, str], int]:
    return review_status(review).identified_by_kind


def test_a_ctgov_csv_imported_as_a_database_and_then_searched_counts_each_trial_once(
    review: Review, httpserver: HTTPServer, tmp_path: Path,
) -> None:
    """The reported bug: the export counted under Databases and the API search's same trials under Registers."""
    trials = _serve_search(httpserver)
    summary = import_file(review, _ctgov_csv(tmp_path / "ctg-studies.csv"), source="ClinicalTrials.gov",
                          source_kind="database", column_map={"title": "Study Title"})
    assert summary.source_kind == "register"
    assert "ClinicalTrials.gov is a trial register" in summary.kind_note
    assert run_notes(review, summary.run_id) == [summary.kind_note]  # the audit keeps why
    _search(review, httpserver)
    assert _identified(review) == {("register", "ClinicalTrials.gov"): trials}
    counts = prisma_counts(review).counts
    assert (dict(counts.databases), dict(counts.registers)) == ({}, {"ClinicalTrials.gov": trials})


def test_a_ctgov_csv_is_read_as_registry_records_and_named_for_the_registry(review: Review, tmp_path: Path) -> None:
    """Without --source, --kind or --map: the download's rows are ClinicalTrials.gov registry records, a register's."""
    summary = import_file(review, _ctgov_csv(tmp_path / "ctg-studies.csv"))
    assert (summary.source, summary.format, summary.source_kind, summary.kind_note) == (
        "ClinicalTrials.gov", "csv", "register", "")
    from reviewkit.sources.formats import read_records

    first = next(read_records(tmp_path / "ctg-studies.csv"))
    assert (first.kind, first.nct_ids, first.year, first.title) == (
        "registry", ("NCT02710084",), 2016, "Piloting Treatment With Intranasal Oxytocin in Phelan-McDermid Syndrome")
    assert first.registry is not None
    assert (first.registry.interventions, first.registry.phase, first.registry.enrollment) == (
        ("Oxytocin", "Saline"), ("PHASE2",), 18)


@pytest.mark.parametrize("asked", [None, "database"])
def test_a_ctgov_json_export_then_the_api_search_counts_each_trial_once(
    review: Review, httpserver: HTTPServer, asked: str | None,
) -> None:
    """The JSON download too: asked for a database, it is a register's, and saying so is kept with the run."""
    trials = _serve_search(httpserver)
    summary = import_file(review, PAGE1, source_kind=asked)
    assert summary.source_kind == "register"
    assert bool(summary.kind_note) == (asked == "database")
    _search(review, httpserver)
    assert _identified(review) == {("register", "ClinicalTrials.gov"): trials}


def test_another_column_asked_for_a_ctgov_export_is_kept(review: Review) -> None:
    """Citation searching is the reviewer's choice of column: only "database" is a mistake for a registry."""
    summary = import_file(review, PAGE1, source_kind="citation")
    assert (summary.source_kind, summary.kind_note) == ("citation", "")


def test_a_bibliographic_file_credited_to_the_registry_counts_as_a_register(review: Review) -> None:
    """A RIS file the reviewer credits to ClinicalTrials.gov is that register's records, not a database's."""
    summary = import_file(review, FIXTURES / "demo" / "embase_export.ris", source="ClinicalTrials.gov",
                          source_kind="database")
    assert summary.source_kind == "register" and summary.kind_note
    plain = import_file(review, FIXTURES / "demo" / "pubmed_export.ris")
    assert (plain.source_kind, plain.kind_note) == ("database", "")


def test_import_cli_says_why_the_kind_was_not_applied(review: Review, tmp_path: Path) -> None:
    """`import --kind database` on a ClinicalTrials.gov download says it counts as a register, and why."""
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "import", "--kind", "database",
                                      str(_ctgov_csv(tmp_path / "ctg-studies.csv"))])
    assert result.exit_code == 0, result.output
    assert ("note: ClinicalTrials.gov is a trial register: its records count under Registers in PRISMA, not "
            "Databases (--kind database was not applied)") in result.output
    assert _identified(review) == {("register", "ClinicalTrials.gov"): 5}

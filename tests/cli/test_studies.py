"""Tests for `reviewkit studies`: the list (text and --json), confirm, reject, link, main, rename, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services import studies
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import Review
from tests.study_data import AD1, AD2, StudyData, build


def run(folder: Path, *args: str, reviewer: str | None = "alice") -> Result:
    """Invoke `reviewkit studies ...` on a review folder."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    return CliRunner().invoke(cli, [*pre, "studies", *args])


@pytest.fixture
def data(review: Review) -> StudyData:
    """The two trials, their registry records and papers, with dedup's proposals."""
    return build(review)


def test_list_shows_each_study_with_its_reports(review: Review, data: StudyData) -> None:
    """`studies` and `studies list`: id, name, NCT, then each report's record, status, label and title."""
    studies.set_main_report(review, "alice", data.ad1, data.both_trials)
    result = run(review.folder)
    assert result.exit_code == 0, result.output
    assert result.output == run(review.folder, "list").output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"study {data.ad1}  ") and f"  {AD1}  (3 reports, 2 proposed)" in lines[0]
    main = next(line for line in lines if f"record {data.both_trials} " in line)
    assert main.startswith("  * ") and "confirmed" in main
    assert "Simpson 2020 PMID 32087233: Baricitinib in patients" in main
    passing = next(line for line in lines if f"record {data.passing} " in line)
    assert passing.startswith("    ") and "proposed" in passing and "Bissonnette 2016" in passing
    assert any(line.startswith(f"study {data.ad2}  ") and AD2 in line for line in lines)


def test_list_json_and_proposed_only(review: Review, data: StudyData) -> None:
    """--json gives each study with its reports; --proposed keeps the studies with links still waiting."""
    studies.set_report_link(review, "alice", data.ad2, data.ad2_registry, True)
    result = run(review.folder, "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert [(s["id"], s["nct_id"], s["main_report"]) for s in shown] == [(data.ad1, AD1, None), (data.ad2, AD2, None)]
    paper = next(r for r in shown[0]["reports"] if r["record"] == data.both_trials)
    assert paper == {"record": data.both_trials, "status": "proposed", "main": False,
                     "title": paper["title"], "year": 2020, "first_author": "Simpson", "pmid": "32087233",
                     "kind": "citation", "registry_id": None, "duplicate_of": None}
    assert paper["title"].startswith("Baricitinib in patients")
    registry = next(r for r in shown[1]["reports"] if r["record"] == data.ad2_registry)
    assert (registry["status"], registry["kind"], registry["registry_id"]) == ("confirmed", "registry", AD2)
    waiting = json.loads(run(review.folder, "list", "--json", "--proposed").output)
    assert [s["id"] for s in waiting] == [data.ad1]
    assert [line for line in run(review.folder, "--proposed").output.splitlines() if line.startswith("study")] \
        == [next(line for line in run(review.folder).output.splitlines() if line.startswith(f"study {data.ad1}"))]


def test_reject_then_confirm_say_what_they_did(review: Review, data: StudyData) -> None:
    """reject and confirm print one line each, change the status, and are audited under the reviewer."""
    label = studies.study_view(review, data.ad1).label
    result = run(review.folder, "reject", str(data.ad1), str(data.passing), reviewer="bob")
    assert result.exit_code == 0, result.output
    assert result.output == (f"study {data.ad1} ({label}): record {data.passing} rejected (was proposed): it no "
                             "longer counts as a report of this study\n")
    assert studies.study_view(review, data.ad1).reports[data.passing] == "rejected"
    result = run(review.folder, "confirm", str(data.ad1), str(data.passing))
    assert result.output == f"study {data.ad1} ({label}): record {data.passing} confirmed as a report (was rejected)\n"
    assert [(e.action, e.actor) for e in audit_trail(review) if e.entity == "study_report"] == [
        ("rejected", "bob"), ("confirmed", "alice")]


def test_link_main_and_rename(review: Review, data: StudyData) -> None:
    """link adds a confirmed link (the paper's second trial), main marks it, rename names the study."""
    label = studies.study_view(review, data.ad2).label
    result = run(review.folder, "link", str(data.ad2), str(data.both_trials))
    assert result.exit_code == 0, result.output
    assert result.output == f"study {data.ad2} ({label}): record {data.both_trials} linked as a confirmed report\n"
    result = run(review.folder, "main", str(data.ad2), str(data.both_trials))
    assert result.output == f"study {data.ad2} ({label}): record {data.both_trials} is now the main report\n"
    result = run(review.folder, "rename", str(data.ad2), "BREEZE-AD2")
    assert result.output == f"study {data.ad2}: renamed {label!r} → 'BREEZE-AD2'\n"
    view = studies.study_view(review, data.ad2)
    assert (view.label, view.main_report, view.reports[data.both_trials]) == (
        "BREEZE-AD2", data.both_trials, "confirmed")
    again = run(review.folder, "link", str(data.ad2), str(data.both_trials))
    assert again.exit_code == 0 and "is already the main report; nothing changed" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (["reject", "{ad2}", "{passing}"], "error: record {passing} is not linked to study {ad2} ("),
    (["confirm", "99", "{passing}"], "error: no study 99 (give a study's id or label; `reviewkit studies` lists"),
    (["link", "{ad1}", "999"], "error: no record 999"),
    (["main", "{ad1}", "{no_nct}"], "error: record {no_nct} is not linked to study {ad1}"),
    (["rename", "{ad1}", " "], "error: a study needs a name"),
])
def test_refusals_are_one_line(review: Review, data: StudyData, args: list[str], message: str) -> None:
    """A refused change exits 1 with one line naming what was wrong, and changes nothing."""
    ids = {"ad1": data.ad1, "ad2": data.ad2, "passing": data.passing, "no_nct": data.no_nct}
    before = studies.list_studies(review)
    result = run(review.folder, *(a.format(**ids) for a in args))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(message.format(**ids)) and result.stderr.count("\n") == 1
    assert studies.list_studies(review) == before


@pytest.mark.parametrize("command", ["confirm", "reject", "link", "main", "rename"])
def test_every_change_needs_a_reviewer(review: Review, data: StudyData, command: str) -> None:
    """Without --reviewer (and no user config) each change is refused, pointing at --reviewer."""
    before = [e for e in audit_trail(review) if e.entity in ("study", "study_report")]
    result = run(review.folder, command, str(data.ad1), "X" if command == "rename" else str(data.passing),
                 reviewer=None)
    assert result.exit_code == 1
    assert result.stderr == "error: no reviewer given (pass --reviewer NAME or set reviewer in your user config)\n"
    assert [e for e in audit_trail(review) if e.entity in ("study", "study_report")] == before

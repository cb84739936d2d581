"""Tests what the PRISMA output says while anything waits for a human (duplicate pairs, decisions), how it
counts a full-text reason the protocol no longer lists, and that an "other" source keeps its own name in
every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.prisma import Pending, check_identities, errors_only
from reviewkit.domain.prisma_io import from_json_dict, to_prisma2020_csv_rows
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen
from reviewkit.services.project import Review, open_review
from reviewkit.services.report import prisma_counts, prisma_summary, write_prisma
from reviewkit.services.status import review_status
from reviewkit.store import dedup as store_dedup
from reviewkit.store.db import session_scope
from tests.factories import add_records
from tests.services.test_report_other_methods import _add, _both


def _run(review: Review, *args: str):  # noqa: ANN202 - click's Result
    return CliRunner().invoke(cli, ["-C", str(review.folder), *args])


# --- 1: duplicate pairs waiting for a human -----------------------------------------------------------


def _screened_with_a_pair_waiting(review: Review) -> tuple[int, int]:
    """Two copies of one paper, an uncertain pair no one has judged, each screened to a settled outcome."""
    a, b = add_records(review, 2)
    with session_scope(review.engine, write=True) as s:
        assert store_dedup.add_pair(s, a, b, 0.95, {"title": 0.95})
    _both(review, a, "ta", "exclude")
    _both(review, b, "ta", "include")
    _both(review, b, "ft", "include")
    return a, b


def test_a_waiting_duplicate_pair_stops_the_diagram(review: Review, tmp_path: Path) -> None:
    """Both copies of a waiting pair count in "Records screened": the diagram is refused as not final, the
    message naming the pairs and the command that lists them (it was drawn as final, exit 0)."""
    _screened_with_a_pair_waiting(review)
    report = prisma_counts(review)
    assert report.pending.duplicate_pairs == 1 and report.not_final
    assert errors_only(list(report.violations)) == []  # the arithmetic itself adds up
    with pytest.raises(ReviewkitError, match=r"not final.*1 duplicate pair waits for a human \(reviewkit dedup pairs\)"):
        write_prisma(review, "svg", tmp_path / "p.svg")
    assert not (tmp_path / "p.svg").exists()
    result = _run(review, "prisma", "-o", str(tmp_path / "p.svg"))
    assert result.exit_code != 0 and "reviewkit dedup pairs" in result.output
    assert "1 duplicate pair waits for a human" in prisma_summary(review)
    assert review_status(review).pending_duplicate_pairs == report.pending.duplicate_pairs


def test_counts_written_with_a_pair_waiting_say_so(review: Review, tmp_path: Path) -> None:
    """JSON and CSV are still written (a lead reports progress), with the pairs in the warning and in the
    JSON's own pending and caveats."""
    _screened_with_a_pair_waiting(review)
    for args in (["prisma", "--format", "csv", "-o", "-"], ["export", "flow", str(tmp_path / "flow.json")]):
        result = _run(review, *args)
        assert result.exit_code == 0, result.output
        assert "warning: these counts are not final: 1 duplicate pair waits for a human" in result.stderr
    data = json.loads((tmp_path / "flow.json").read_text())
    assert data["pending"]["duplicate_pairs"] == 1 and data["pending"]["final"] is False
    assert any("reviewkit dedup pairs" in c for c in data["caveats"])


# --- 3: a full-text reason the protocol no longer lists -----------------------------------------------


def test_a_reason_dropped_from_the_protocol_is_still_counted(review: Review, tmp_path: Path) -> None:
    """A reason decisions use but review.toml no longer lists counts under its own name, after the
    protocol's reasons, and every output warns naming it and review.toml (the report was in no box)."""
    ids = add_records(review, 4)
    for rid in ids:
        _both(review, rid, "ta", "include")
    _both(review, ids[0], "ft", "exclude", "Conference abstract")
    _both(review, ids[1], "ft", "exclude", "Review")
    _both(review, ids[2], "ft", "exclude", "Animal study")
    _both(review, ids[3], "ft", "include")
    toml = review.folder / "review.toml"
    toml.write_text(toml.read_text().replace('"Conference abstract",\n', "").replace('"Animal study",\n', ""))
    edited = open_review(review.folder)
    try:
        report = prisma_counts(edited)
        assert list(report.counts.reports_excluded.items()) == [
            ("Review", 1), ("Animal study", 1), ("Conference abstract", 1)]
        assert report.unlisted_reasons == ("Animal study", "Conference abstract")
        assert report.violations == ()
        out = write_prisma(edited, "svg", tmp_path / "p.svg")
        assert "Conference abstract (n = 1)" in out.path.read_text()  # type: ignore[union-attr]
        assert any("'Conference abstract'" in w and "review.toml" in w for w in out.warnings)
        assert "review.toml" in prisma_summary(edited)
    finally:
        edited.engine.dispose()
    result = _run(review, "prisma", "--format", "json", "-o", "-")
    assert result.exit_code == 0, result.output
    assert "warning: the full-text exclusion reason 'Animal study'" in result.stderr
    data = json.loads(result.stdout)
    assert data["dbr_excluded"] == {"Review": 1, "Animal study": 1, "Conference abstract": 1}
    assert data["violations"] == [] and len(data["caveats"]) == 2


# --- 4: pending decisions in the exported counts ------------------------------------------------------


def test_pending_decisions_are_named_in_the_json(review: Review) -> None:
    """A title/abstract conflict and a report nobody has read: the JSON names them in `pending`, its
    violations give that as the reason (not "several reports per record"), and a report without a
    full-text decision is sought but not assessed."""
    out, conflict, passed = add_records(review, 3)
    _both(review, out, "ta", "exclude")
    screen.record_decision(review, "alice", conflict, "ta", "include")
    screen.record_decision(review, "bob", conflict, "ta", "exclude")
    _both(review, passed, "ta", "include")
    result = _run(review, "prisma", "--format", "json", "-o", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["records_screened"], data["records_excluded"], data["dbr_sought_reports"]) == (3, 1, 1)
    assert data["dbr_assessed"] == 0  # not read yet: was 1
    assert data["pending"]["title_abstract"] == {"records": 1, "not_started": [], "in_progress": [],
                                                 "conflict": [conflict]}
    assert data["pending"]["full_text"]["reports"] == 1 and data["pending"]["full_text"]["not_started"] == [passed]
    assert not any("several reports per record" in v for v in data["violations"])
    assert any("waits for a title/abstract decision" in v for v in data["violations"])
    assert any("no full-text decision yet" in v for v in data["violations"])
    assert "in conflict" in data["caveats"][0] and "in conflict" in result.stderr
    csv_result = _run(review, "prisma", "--format", "csv", "-o", "-")
    assert csv_result.exit_code == 0 and csv_result.stderr == result.stderr  # the CSV path warns alike
    rows = {r["data"]: r["n"] for r in csv.DictReader(io.StringIO(csv_result.stdout))}
    assert rows["dbr_assessed"] == "0"
    status = review_status(review)
    assert status.ft.included + status.ft.excluded == data["dbr_assessed"]
    assert status.ta.conflict == len(data["pending"]["title_abstract"]["conflict"])


def test_assessed_counts_reports_with_a_full_text_decision(review: Review) -> None:
    """Of two reports sought, one decided and one with a single screener's decision: one assessed, the
    other awaiting assessment, named so; the identities hold once they are accounted for."""
    a, b = add_records(review, 2)
    for rid in (a, b):
        _both(review, rid, "ta", "include")
    _both(review, a, "ft", "exclude", "Review")
    screen.record_decision(review, "alice", b, "ft", "include")
    report = prisma_counts(review)
    c = report.counts
    assert (c.reports_sought, c.reports_assessed, c.reports_included) == (2, 1, 0)
    assert report.pending.full_text == 1
    assert errors_only(list(report.violations)) == []
    (awaiting,) = report.violations
    assert awaiting.severity == "pending" and "1 report sought" in awaiting.explanation
    _both(review, b, "ft", "include")
    final = prisma_counts(review)
    assert final.counts.reports_assessed == 2 and final.violations == () and not final.not_final


def test_identities_account_for_what_waits() -> None:
    """check_identities with what waits: a difference they explain exactly is "pending", not an error or
    a note with some other cause; a difference beyond them is still an error."""
    counts = from_json_dict({
        "databases": {"PubMed": 3}, "registers": {}, "duplicates": 0, "excluded_automatic": 0,
        "excluded_other": 0, "records_screened": 3, "records_excluded": 1, "dbr_sought_reports": 1,
        "dbr_notretrieved_reports": 0, "dbr_assessed": 0, "dbr_excluded": {}, "new_studies": 0,
        "new_reports": 0,
    })
    without = check_identities(counts)
    assert any(v.severity == "error" and v.name == "reports assessed" for v in without)
    assert any("several reports per record" in v.explanation for v in without)
    found = check_identities(counts, Pending(title_abstract=1, full_text=1))
    assert [v.severity for v in found] == ["pending", "pending"]
    wrong = check_identities(counts, Pending(title_abstract=1, full_text=0))
    assert any(v.severity == "error" and "awaiting assessment" not in v.explanation for v in wrong)


# --- 2: an "other" source ------------------------------------------------------------------------------


def test_an_other_source_keeps_its_name_in_every_format(review: Review, tmp_path: Path) -> None:
    """`--kind other --source "Hand search"`: listed under its own name in the counts, the JSON, the text
    and the diagram, and the PRISMA2020 CSV carries it on a free row of the other-methods box with its name
    as the row's text (the CSV export used to fail)."""
    (hand,) = _add(review, 1, source="Hand search", kind="other")
    for rid in _add(review, 2, source="EMA", kind="website"):
        _both(review, rid, "ta", "exclude")
    _both(review, hand, "ta", "include")
    _both(review, hand, "ft", "include")
    (db,) = add_records(review, 1)
    _both(review, db, "ta", "exclude")
    report = prisma_counts(review)
    assert report.counts.other is not None
    assert report.counts.other.identified == {"Hand search": 1, "Websites": 2}
    assert errors_only(list(report.violations)) == []
    for args in (["prisma", "--format", "csv", "-o", "-"], ["export", "flow", str(tmp_path / "flow.csv")],
                 ["prisma", "--format", "json", "-o", str(tmp_path / "p.json")],
                 ["prisma", "-o", str(tmp_path / "p.svg")]):
        result = _run(review, *args)
        assert result.exit_code == 0, (args, result.output)
    rows = {r["data"]: r for r in csv.DictReader(io.StringIO((tmp_path / "flow.csv").read_text()))}
    assert (rows["website_results"]["boxtext"], rows["website_results"]["n"]) == ("Websites", "2")
    assert (rows["organisation_results"]["boxtext"], rows["organisation_results"]["n"]) == ("Hand search", "1")
    assert rows["citations_results"]["n"] == "NA"
    assert json.loads((tmp_path / "p.json").read_text())["other"]["identified"]["Hand search"] == 1
    assert "Hand search (n = 1)" in (tmp_path / "p.svg").read_text()
    assert "Hand search (n = 1)" in prisma_summary(review)


def test_more_other_sources_than_free_rows_share_the_last() -> None:
    """Every fixed row taken: the named sources join the last row, their names beside its own."""
    counts = from_json_dict({
        "databases": {}, "registers": {}, "duplicates": 0, "excluded_automatic": 0, "excluded_other": 0,
        "records_screened": 0, "records_excluded": 0, "dbr_sought_reports": 0, "dbr_notretrieved_reports": 0,
        "dbr_assessed": 0, "dbr_excluded": {}, "new_studies": 0, "new_reports": 0,
        "other": {"identified": {"Websites": 1, "Organisations": 2, "Citation searching": 3, "Hand search": 4,
                                 "Experts; contacted": 5},
                  "sought": 0, "not_retrieved": 0, "assessed": 0, "excluded": {}},
    })
    rows = {r["data"]: r for r in to_prisma2020_csv_rows(counts)}
    assert rows["citations_results"]["boxtext"] == "Citation searching / Hand search / Experts/ contacted"
    assert rows["citations_results"]["n"] == "12"
    assert (rows["website_results"]["n"], rows["organisation_results"]["n"]) == ("1", "2")

"""The worked example end to end: the demo review holds together (PRISMA, analyses, plots, export)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.prisma import errors_only
from reviewkit.services.analyze import AnalysisOutput, analyze_review
from reviewkit.services.archive import review_archive
from reviewkit.services.demo import build_demo
from reviewkit.services.project import Review, open_review
from reviewkit.services.report import prisma_counts, write_prisma
from reviewkit.services.screen_full_text import is_url, resolve_location
from reviewkit.store import screening as store
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import session_scope


def test_demo_prisma_counts_hold_every_identity(demo: Review, tmp_path: Path) -> None:
    """The demo's flow adds up: 20 identified, 3 duplicates, 6 studies in 11 reports; the diagram renders."""
    report = prisma_counts(demo)
    assert errors_only(list(report.violations)) == []
    c = report.counts
    assert (c.databases, c.registers) == ({"PubMed": 10, "Embase": 4}, {"ClinicalTrials.gov": 6})
    assert (c.duplicates_removed, c.records_screened, c.records_excluded) == (3, 17, 5)
    assert (c.reports_assessed, c.reports_excluded, c.studies_included, c.reports_included) == (
        12, {"Conference abstract": 1}, 6, 11)
    for fmt in ("svg", "png", "pdf"):
        path = write_prisma(demo, fmt, tmp_path / f"prisma.{fmt}").path
        assert path is not None and path.stat().st_size > 1000
    assert "Records screened" in (tmp_path / "prisma.svg").read_text()


def test_demo_full_texts_are_pdfs_where_they_are_recorded(demo: Review) -> None:
    """Every full text the demo records as a file is there, a PDF naming its article (o said "no file" for
    each one in the worked example); the registrations' are their ClinicalTrials.gov pages."""
    with session_scope(demo.engine) as session:
        statuses = store.full_text_statuses(session)
        records = {rid: row_to_record(store.record(session, rid)) for rid in statuses}  # type: ignore[arg-type]
    files = {rid: row.location for rid, row in statuses.items() if row.location and not is_url(row.location)}
    assert files and {rid for rid in statuses if rid not in files} == {
        rid for rid, record in records.items() if record.kind == "registry"}
    for rid, location in files.items():
        assert location == f"fulltext/record-{rid}.pdf" and statuses[rid].status == "retrieved"
        data = Path(resolve_location(location, demo.folder)).read_bytes()
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
        title = records[rid].title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        assert f"/Title ({title})".encode() in data  # as a PDF string writes it (ASCII titles here)


def _meta(rows: list[dict[str, object]], tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "iga.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["study", "events_treat", "n_treat", "events_ctrl", "n_ctrl"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    result = CliRunner().invoke(cli, ["meta", str(path), "--measure", "RR", "--method", "MH", "--model",
                                      "random", "--tau2", "DL", "--flavour", "revman5", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_demo_iga_equals_meta_for_each_multiarm_choice(demo: Review, tmp_path: Path) -> None:
    """`analyze --multiarm all` on the demo equals `reviewkit meta` on each choice's comparisons."""
    outputs = [o for o in analyze_review(demo, outcome="iga_0_1", multiarm="all")
               if isinstance(o, AnalysisOutput)]
    assert [o.multiarm for o in outputs] == ["naive", "split", "combine"]
    for out in outputs:
        expected = _meta(list(out.rows), tmp_path)
        got = out.to_dict()
        for key in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "Q", "I2", "p"):
            assert got[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-15), (out.multiarm, key)
        assert all(p.exists() and "Favours" in p.read_text() for p in out.plots)
    naive = outputs[0]
    # Every IGA comparison the fixtures hold: BREEZE-AD1, AD2 (3 doses), AD4 (4 mg), AD5, AD7 (2 each).
    assert naive.result.k == 11 and naive.result.effect == pytest.approx(2.42, abs=0.005)
    forest = naive.plots[0].read_text()
    assert "BREEZE-AD1 (Baricitinib 4 mg)" in forest and "D7" in forest  # RoB columns beside the plot


def test_demo_json_export_round_trips(demo: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """export review → restore → the same rows in every table."""
    runner = CliRunner()
    out = tmp_path / "demo.json"
    assert runner.invoke(cli, ["-C", str(demo.folder), "--reviewer", "alice", "export", "review", str(out)]).exit_code == 0
    if demo.engine.dialect.name != "sqlite":
        from tests.conftest import _pg_scratch_database
        gen = _pg_scratch_database()
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", next(gen))
    assert runner.invoke(cli, ["restore", str(out), str(tmp_path / "copy")]).exit_code == 0
    copy = open_review(tmp_path / "copy")
    assert review_archive(copy)["tables"] == review_archive(demo)["tables"]
    copy.engine.dispose()
    if demo.engine.dialect.name != "sqlite":
        gen.close()


def test_demo_exports_every_table(demo: Review, tmp_path: Path) -> None:
    """`reviewkit export` writes flow counts, decisions, extraction, RoB, analyses and included records."""
    runner = CliRunner()
    base = ["-C", str(demo.folder), "--reviewer", "alice", "export"]  # alice leads: she exports everything
    for kind, name in (("flow", "flow.csv"), ("flow", "flow.json"), ("decisions", "decisions.csv"),
                       ("extraction", "extraction.csv"), ("extraction", "extraction.xlsx"), ("rob", "rob.csv"),
                       ("analyses", "analyses.csv"), ("records", "included.ris")):
        result = runner.invoke(cli, [*base, kind, str(tmp_path / name)])
        assert result.exit_code == 0, (kind, result.output)
    extraction = list(csv.DictReader((tmp_path / "extraction.csv").open()))
    iga = [r for r in extraction if r["outcome"] == "iga_0_1" and r["study"] == "BREEZE-AD1" and r["consensus"] == "yes"]
    assert {r["arm"]: r["events"] for r in iga}["Placebo"] == "12"
    analyses = list(csv.DictReader((tmp_path / "analyses.csv").open()))
    assert analyses[0]["analysis"] == "IGA 0/1 at week 16" and float(analyses[0]["effect"]) == pytest.approx(2.42, abs=0.005)
    assert (tmp_path / "included.ris").read_text().count("ER  - ") == 11
    assert json.loads((tmp_path / "flow.json").read_text())["new_studies"] == 6


def test_a_refused_demo_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    """A folder holding another review's database is refused (init refuses it), and the demo's scratch
    protocol is not left behind in it."""
    from reviewkit.errors import ReviewkitError

    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "reviewkit.db").write_bytes(b"")
    with pytest.raises(ReviewkitError, match="already exists, without a review.toml"):
        build_demo(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["reviewkit.db"]

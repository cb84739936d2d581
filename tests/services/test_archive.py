"""Tests that a review exported as JSON restores into an identical review."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services import screen, screen_full_text
from reviewkit.services.archive import review_archive
from reviewkit.services.conflicts import resolve_conflict
from reviewkit.services.project import Review, open_review
from reviewkit.services.status import review_status
from tests.factories import add_records


def test_export_restore_round_trip(review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """export review → restore → the restored review's archive equals the original's, row for row."""
    a, b = add_records(review, [Record(title="Bari — ü", authors=("Simpson, E",), nct_ids=("NCT03334396",)),
                                Record(title="B", doi="10.1/b")])
    screen.record_decision(review, "alice", a, "ta", "include", note="n")
    screen.record_decision(review, "bob", a, "ta", "exclude")
    resolve_conflict(review, "carol", a, "ta", "include")
    screen_full_text.set_full_text(review, "alice", a, "retrieved", location="a.pdf")
    runner = CliRunner()
    out = tmp_path / "review.json"
    # bob (a screener) may not: the archive holds everyone's decisions, blinded or not.
    refused = runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "bob", "export", "review", str(out)])
    assert refused.exit_code == 1 and "is not a lead" in refused.output and not out.exists()
    assert runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "export", "review", str(out)]).exit_code == 0
    if review.engine.dialect.name != "sqlite":  # restore into a second scratch database
        from tests.conftest import _pg_scratch_database
        gen = _pg_scratch_database()
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", next(gen))
    result = runner.invoke(cli, ["restore", str(out), str(tmp_path / "copy")])
    assert result.exit_code == 0, result.output
    copy = open_review(tmp_path / "copy")
    original, restored = review_archive(review), review_archive(copy)
    assert restored["tables"] == original["tables"]
    assert restored["protocol"] == original["protocol"]
    assert review_status(copy).ta.included == 1
    # ids continue after the restored ones (sequences moved on PostgreSQL)
    (c,) = add_records(copy, 1)
    assert c > b
    copy.engine.dispose()
    if review.engine.dialect.name != "sqlite":
        gen.close()


def test_restore_refuses_a_non_archive(tmp_path: Path) -> None:
    """A JSON file that is not a review archive is refused, and no folder is made."""
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ReviewkitError, match="not a reviewkit review archive"):
        from reviewkit.services.archive import restore_review
        restore_review(f, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_restore_of_a_compressed_archive_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A gzipped archive (not UTF-8) ended in a UnicodeDecodeError traceback."""
    f = tmp_path / "review.json.gz"
    f.write_bytes(gzip.compress(json.dumps({"format": "reviewkit-review/1"}).encode()))
    result = CliRunner().invoke(cli, ["restore", str(f), str(tmp_path / "r")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # said, not a traceback
    assert result.output.startswith(f"error: {f}: not a JSON text file (byte 1 is not UTF-8)")
    assert "decompress it first" in result.output and not (tmp_path / "r").exists()


def test_restore_an_archive_whose_protocol_has_an_analysis_problem(
        review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive made before a newer analysis check (here tau2 on a fixed-effect model) still restores: the
    review opens with the problem kept for analyze to skip that analysis, and the protocol text is unchanged."""
    archive = review_archive(review)
    assert 'model = "random"\ntau2 = "DL"' in archive["protocol"]
    archive["protocol"] = archive["protocol"].replace('model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"', 1)
    out = tmp_path / "old.json"
    out.write_text(json.dumps(archive), encoding="utf-8")
    gen = None
    if review.engine.dialect.name != "sqlite":  # restore into a second scratch database
        from tests.conftest import _pg_scratch_database
        gen = _pg_scratch_database()
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", next(gen))
    try:
        result = CliRunner().invoke(cli, ["restore", str(out), str(tmp_path / "copy")])
        assert result.exit_code == 0, result.output
        copy = open_review(tmp_path / "copy")
        try:
            assert (tmp_path / "copy" / "review.toml").read_text(encoding="utf-8") == archive["protocol"]
            assert list(copy.protocol.analysis_problems) == [0]
            assert "'analyses[0].tau2'" in copy.protocol.analysis_problems[0][0]
        finally:
            copy.engine.dispose()
    finally:
        if gen is not None:
            gen.close()

"""Tests for `reviewkit export analyses`: the same count in either format, and what was skipped."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services.demo import build_demo
from reviewkit.services.project import Review


@pytest.fixture
def demo(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Review:
    """The demo review (three analyses with data, one without), built on each database."""
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    return build_demo(tmp_path / "demo")


def test_analyses_count_is_the_same_for_csv_and_json(demo: Review, tmp_path: Path) -> None:
    """CSV and JSON report the analyses run, and name each one skipped with its reason."""
    said = {}
    for suffix in (".csv", ".json"):
        out = tmp_path / f"a{suffix}"
        result = CliRunner().invoke(cli, ["-C", str(demo.folder), "export", "analyses", str(out)])
        assert result.exit_code == 0, result.output
        said[suffix] = result.output.replace(str(out), "FILE").strip()
    assert said[".csv"] == said[".json"]
    assert said[".csv"] == ("3 analyses written to FILE; 1 skipped: Change in DLQI "
                            "(no consensus data for dlqi_change yet)")
    assert len(list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))) == 3
    rows = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert [r["analysis"] for r in rows if "skipped" in r] == ["Change in DLQI"]


def test_nothing_to_analyse_says_so(review: Review, tmp_path: Path) -> None:
    """With no data, no analysis is written and all are named as skipped."""
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "export", "analyses", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 analyses written to") and "4 skipped: IGA 0/1 at week 16 (" in result.output

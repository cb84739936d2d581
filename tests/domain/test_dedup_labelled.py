"""End-to-end test of find_duplicates on a small labelled subset of real searches (fixtures/dedup)."""

from __future__ import annotations

import csv
from itertools import combinations
from pathlib import Path

import pytest

from reviewkit.domain.dedup import find_duplicates
from reviewkit.domain.records import Record

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dedup"


def _load(name: str) -> tuple[list[Record], set[tuple[int, int]]]:
    with open(FIXTURES / f"{name}_records.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = [
        Record(
            title=row["title"], year=int(row["year"]) if row["year"].isdigit() else None,
            authors=tuple(a.strip() for a in row["author"].split(" and ") if a.strip()),
            pages=row["pages"], volume=row["volume"], issue=row["number"], journal=row["journal"],
            source_type=row["ENTRYTYPE"], source_id=row["ID"],
        )
        for row in rows
    ]
    where = {r.source_id: i for i, r in enumerate(records)}
    truth: set[tuple[int, int]] = set()
    with open(FIXTURES / f"{name}_clusters.csv", encoding="utf-8") as handle:
        for line in list(handle)[1:]:
            members = sorted(where[x] for x in line.strip().strip('"').split(";"))
            truth.update(combinations(members, 2))
    return records, truth


@pytest.mark.parametrize("name", ["stroke", "cytology_screening"])
def test_labelled_subset_precision_and_recall(name: str) -> None:
    """On real labelled records the automatic merges are all true (precision 1) and find >= 97% of pairs."""
    records, truth = _load(name)
    result = find_duplicates(records)
    predicted = {pair for g in result.groups for pair in combinations(g.members, 2)}
    assert predicted, "no merges at all"
    assert predicted <= truth
    assert len(predicted & truth) / len(truth) >= 0.97
    assert len(result.uncertain_pairs) <= 0.02 * len(records)

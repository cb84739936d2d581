"""Provides builders shared by tests: records stored in a review without going through an importer, and CSV
files written from rows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.domain.records import Record
from reviewkit.services import screen
from reviewkit.services.project import Review
from reviewkit.store import runs
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from reviewkit.services.dedup import PairView


def add_records(review: Review, records: list[Record] | int, *, source: str = "PubMed") -> list[int]:
    """Store records as one complete run and return their ids (an int makes that many simple records)."""
    if isinstance(records, int):
        records = [
            Record(title=f"Trial {i} of baricitinib", abstract=f"Abstract {i}", year=2020, pmid=str(1000 + i),
                   source_id=str(1000 + i))
            for i in range(records)
        ]
    with session_scope(review.engine, write=True) as session:
        run = runs.start_run(session, kind="import", source=source, file_name="test.ris")
        assert run.id is not None
        ids = runs.insert_records(session, run.id, records, 0)
        runs.finish_run(session, run, record_count=len(records), new_record_count=len(records), actor=None)
    return ids


def add_records_at_full_text(review: Review, n: int) -> list[int]:
    """`n` records that alice and bob both included at title/abstract (so they are at full text); their ids."""
    ids = add_records(review, n)
    for rid in ids:
        for who in ("alice", "bob"):
            screen.record_decision(review, who, rid, "ta", "include")
    return ids


#: A title both copies of the uncertain pair share.
PAIR_TITLE = "Oral Janus kinase inhibition in adults with chronic hand eczema: a multicentre study"


def prioritised_review(tmp_path: Path) -> Review:
    """A review of the example protocol with its queue ranked by relevance (`[screening] prioritise`)."""
    from reviewkit.services.project import EXAMPLE_PROTOCOL, init_review

    protocol = tmp_path / "prioritise.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace(
        "screeners_per_record = 2", "screeners_per_record = 2\nprioritise = true"), encoding="utf-8")
    return init_review(tmp_path / "r", protocol)


def uncertain_pair(review: Review) -> PairView:
    """One uncertain pair waiting for a human: the same paper, a year apart (dedup run on it)."""
    from reviewkit.services import dedup

    add_records(review, [Record(title=PAIR_TITLE, authors=("Reich, K", "Doe, J"), year=2019),
                         Record(title=PAIR_TITLE, authors=("Reich, K", "Doe, J"), year=2020)])
    dedup.run_dedup(review)
    (waiting,) = dedup.pending_pairs(review)
    return waiting


def read_csv(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows, keyed by its header (an export read back to change and import)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]] | dict[str, str]) -> Path:
    """A CSV file at `path` with the rows (or the one row), the first row's keys as its header."""
    rows = [rows] if isinstance(rows, dict) else rows
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path

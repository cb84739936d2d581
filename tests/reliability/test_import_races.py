"""Reliability: one export imported from two machines at the same moment (both databases).

Each import is held right after its "already imported?" read. Without a lock both read "no" on
PostgreSQL and both stored the file, doubling "Identified" and PRISMA's database box; with the per-file
advisory lock the second waits, then reads the first's run and is refused. On SQLite the write
transaction serialises them anyway.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.status import review_status
from reviewkit.store import runs as store_runs
from tests.reliability.test_verdict_races import race

RIS = "".join(f"TY  - JOUR\nTI  - Baricitinib trial {i}\nPY  - 2020\nER  - \n\n" for i in range(5))


def test_one_file_imported_twice_at_once_is_stored_once(review: Review, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pubmed.ris"
    path.write_text(RIS, encoding="utf-8")
    out = race(monkeypatch, review, "complete_import_of", {
        "alice": lambda: import_file(review, path, source="PubMed"),
        "bob": lambda: import_file(review, path, source="PubMed"),
    }, where=store_runs)
    refused = [r for r in out.values() if isinstance(r, ReviewkitError)]
    assert len(refused) == 1 and "already imported" in refused[0].message
    assert review_status(review).identified == 5

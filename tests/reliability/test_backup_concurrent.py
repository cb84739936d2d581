"""Reliability: backups taken while several reviewers write are each one consistent snapshot."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

from reviewkit.services.backup import backup_review
from reviewkit.services.project import init_review, open_review
from reviewkit.services.status import review_status
from tests.factories import add_records
from tests.reliability._helpers import Child, assert_consistent, protocol_with_reviewers

WRITERS = ["s1", "s2", "s3"]

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from reviewkit.services import screen
    from reviewkit.services.project import open_review

    review = open_review(Path(sys.argv[1]))
    for i, rid in enumerate(int(x) for x in sys.argv[3].split(",")):
        screen.record_decision(review, sys.argv[2], rid, "ta", "include" if i % 3 else "exclude")
        print(rid, flush=True)
    """
)


def test_backups_during_three_writers_are_consistent_snapshots(tmp_path: Path) -> None:
    """Three backups taken while three reviewer processes write: each passes integrity_check, opens as a
    review, holds for each reviewer a prefix of what they decided in order, and one audit event per decision."""
    folder = tmp_path / "r"
    # Three per record: each writer decides every record (a fourth decision would be refused).
    review = init_review(folder, protocol_with_reviewers(tmp_path / "p", [(n, ["screener"]) for n in WRITERS]
                                                         + [("lead", ["lead"])], screeners_per_record=3))
    ids = add_records(review, 250)
    order = {"s1": ids, "s2": ids[::-1], "s3": ids[125:] + ids[:125]}  # different records at any moment
    children = [Child(WRITER, str(folder), name, ",".join(map(str, order[name]))) for name in WRITERS]
    snapshots = []
    try:
        for child in children:
            child.wait_for(lambda line: True)  # every writer is under way
        for i in range(3):
            snapshots.append(backup_review(review, tmp_path / f"snap{i}", actor="lead"))
            children[i].wait_for(lambda line: True, end_ok=True)  # let more land between backups
        for child in children:
            child.finish()
    finally:
        for child in children:
            child.close()
    for snap in snapshots:
        with sqlite3.connect(snap) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            rows = conn.execute("SELECT r.name, d.record_id FROM screening_decision d JOIN reviewer r "
                                "ON r.id = d.reviewer_id ORDER BY d.id").fetchall()
            events = conn.execute("SELECT count(*) FROM audit_event WHERE entity = 'decision'").fetchone()[0]
        assert events == len(rows)  # a decision and its audit event land together or not at all
        for name in WRITERS:
            mine = [rid for who, rid in rows if who == name]
            assert mine == order[name][: len(mine)], f"{name}'s decisions in {snap} are not a prefix"
        copy = open_review(snap.parent)
        ta = review_status(copy).ta
        assert ta.unscreened + ta.in_progress + ta.conflict + ta.decided == 250
        assert_consistent(copy)
        copy.engine.dispose()
    final = review_status(review)
    assert final.ta.unscreened == 0 and final.ta.in_progress == 0

"""Tests for migrating a review's schema when several reviewers' processes open it at once."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic import command

from reviewkit.services.project import Review
from reviewkit.store import db
from reviewkit.store.db import current_revision, head_revision
from tests.reliability._helpers import ROOT

#: A reviewer's process opening the review, held after it has read the schema's revision until told to go on.
OPEN_HELD = """
import sys
from pathlib import Path
from reviewkit.store import db
from reviewkit.services.project import open_review
read = db.current_revision
def held(engine):
    revision = read(engine)
    print("read", revision, flush=True)
    sys.stdin.readline()
    return revision
db.current_revision = held
open_review(Path(sys.argv[1])).engine.dispose()
print("opened", flush=True)
"""


def test_two_processes_opening_an_old_schema_at_once_both_open_it(review: Review) -> None:
    """After an upgrade of reviewkit two reviewers open the review together and both read the old revision.
    Before the fix both upgraded and the second failed (SQLite: "database is locked"; PostgreSQL: alembic's
    "expected to match one row when updating '0001'", a traceback); now the second waits and finds it done."""
    command.downgrade(db._alembic_config(review.engine), "0001")
    review.engine.dispose()
    children = [subprocess.Popen([sys.executable, "-c", OPEN_HELD, str(review.folder)], cwd=ROOT, text=True,
                                 env=dict(os.environ), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE) for _ in range(2)]
    try:
        for child in children:  # both have read "0001": the race is on
            assert child.stdout is not None and child.stdout.readline().split() == ["read", "0001"]
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = [child.communicate(timeout=300) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert [(child.returncode, out.split()) for child, (out, _) in zip(children, results, strict=True)] == [
        (0, ["opened"]), (0, ["opened"])], [err[-2000:] for _, err in results]
    assert current_revision(review.engine) == head_revision()

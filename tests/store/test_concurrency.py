"""Tests that several reviewer processes can read and write one review at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from sqlalchemy import text
from sqlmodel import func, select

from reviewkit.store import tables as t
from reviewkit.store.db import make_engine, migrate, session_scope

WRITER = textwrap.dedent(
    """
    import sys
    from reviewkit.store.db import make_engine, session_scope
    from reviewkit.store import tables as t
    engine = make_engine(sys.argv[1])
    for i in range(int(sys.argv[2])):
        with session_scope(engine, write=True) as s:
            s.add(t.ScreeningDecisionRow(record_id=1, reviewer_id=1, stage="ta", decision="include"))
    print("ok")
    """
)


def test_second_process_writes_while_first_reads(database_url: str) -> None:
    """A writer process succeeds while this process holds a read transaction open, and vice versa."""
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine, write=True) as s:
        s.add(t.ReviewerRow(id=1, name="alice", roles=["screener"]))
        s.add(t.SourceRunRow(id=1, kind="import", source="x"))
        s.flush()
        s.add(t.RecordRow(id=1, title="x", first_run_id=1))
    n = 200
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, database_url, str(n)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Hold a long read transaction (as a screen listing records would), then write ourselves,
    # while the other process is writing.
    deadline = time.monotonic() + 60
    mine = 0
    while writer.poll() is None and time.monotonic() < deadline:
        with session_scope(engine) as s:
            s.exec(select(func.count()).select_from(t.ScreeningDecisionRow)).one()
            s.connection().execute(text("SELECT 1"))
            time.sleep(0.01)
        with session_scope(engine, write=True) as s:
            s.add(t.ScreeningDecisionRow(record_id=1, reviewer_id=1, stage="ft", decision="exclude"))
        mine += 1
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert "database is locked" not in err
    with session_scope(engine) as s:
        ta = s.exec(select(func.count()).select_from(t.ScreeningDecisionRow)
                    .where(t.ScreeningDecisionRow.stage == "ta")).one()
        ft = s.exec(select(func.count()).select_from(t.ScreeningDecisionRow)
                    .where(t.ScreeningDecisionRow.stage == "ft")).one()
    assert (ta, ft) == (n, mine)
    engine.dispose()

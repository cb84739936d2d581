"""Provides the reliability tests' helpers: child processes to kill, and the database consistency check."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import inspect, text

from reviewkit.services.project import EXAMPLE_PROTOCOL, Review
from reviewkit.services.status import review_status

ROOT = Path(__file__).resolve().parents[2]
#: The longest a test waits for a child's next line; generous for a loaded 2-core CI machine.
LINE_TIMEOUT_S = 120.0


class Child:
    """A Python child process whose stdout lines are read on a thread, so waiting is always bounded."""

    def __init__(self, code: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=ROOT, env=env if env is not None else dict(os.environ),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = LINE_TIMEOUT_S, *,
                 end_ok: bool = False) -> str:
        """Read lines until one satisfies `wanted`; fail if the child ends (unless end_ok) or stays silent too long."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"child silent for {timeout} s; lines so far: {self.seen[-5:]}") from None
            if line is None:
                if end_ok:
                    self.lines.put(None)  # keep the end visible to drain()
                    return ""
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"child ended (rc={self.proc.wait()}) before the line: {err[-3000:]}")
            self.seen.append(line)
            if wanted(line):
                return line

    def kill9(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would: no cleanup, no rollback handler runs."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self.drain()

    def drain(self) -> list[str]:
        """Every line the child printed (call once it has ended)."""
        while True:
            try:
                line = self.lines.get(timeout=10)
            except queue.Empty:
                return self.seen
            if line is None:
                return self.seen
            self.seen.append(line)

    def finish(self, timeout: float = 300.0) -> list[str]:
        """Wait for a normal exit and return its lines; fails on a non-zero exit."""
        rc = self.proc.wait(timeout=timeout)
        lines = self.drain()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        assert rc == 0, err[-3000:]
        return lines

    def close(self) -> None:
        """Kill if still running and reap (the test's teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=60)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def assert_consistent(review: Review) -> None:
    """The database after a crash: SQLite's integrity check, every foreign key holds, counts compute."""
    engine = review.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        # Checked by hand on every database as well: a broken constraint would show here too.
        inspector = inspect(engine)
        for table in inspector.get_table_names():
            for fk in inspector.get_foreign_keys(table):
                if len(fk["constrained_columns"]) != 1:
                    continue
                col, ref = fk["constrained_columns"][0], fk["referred_columns"][0]
                orphans = conn.execute(text(
                    f'SELECT count(*) FROM "{table}" t WHERE t."{col}" IS NOT NULL AND NOT EXISTS '
                    f'(SELECT 1 FROM "{fk["referred_table"]}" r WHERE r."{ref}" = t."{col}")'
                )).scalar()
                assert orphans == 0, f"{orphans} rows of {table}.{col} point at no {fk['referred_table']}"
    review_status(review)


def protocol_with_reviewers(folder: Path, reviewers: list[tuple[str, list[str]]],
                            screeners_per_record: int = 2) -> Path:
    """Write the example protocol with these reviewers (name, roles) to folder/protocol.toml."""
    text_ = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
    head, rest = text_.split("[[reviewers]]", 1)
    tail = rest.split("[screening]", 1)[1]
    tail = tail.replace("screeners_per_record = 2", f"screeners_per_record = {screeners_per_record}", 1)
    blocks = "".join(f'[[reviewers]]\nname = "{n}"\nroles = {roles!r}\n\n'.replace("'", '"') for n, roles in reviewers)
    path = folder / "protocol.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(head + blocks + "[screening]" + tail, encoding="utf-8")
    return path

"""Provides the time screening rows are dated by: the database server's clock on PostgreSQL, this machine's
on SQLite.

A team sharing a PostgreSQL review screens from several machines. Dated by each machine's own clock, an
adjudication made on a machine a few minutes behind would be stored as earlier than the decisions it settles,
and the review's own `decisions export --history` would then be refused on import (the time-order checks).
The server's clock is one clock for everyone; a SQLite review lives on one machine, which has one already.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from reviewkit.store import tables


def now(session: Session) -> datetime:
    """The current time in UTC by the review's clock (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        # clock_timestamp, not now(): now() is the transaction's start, one time for every row of an import.
        value = session.execute(select(func.clock_timestamp())).scalar_one()
        return value.astimezone(UTC)
    return tables.utcnow()

"""Provides `counted`, the one way a user message says a count with its noun ("1 record", "2 records").

A plain module with no imports, so the pure cores, the services, the CLI and the TUI can all use it.
"""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, singular only when n is 1; `plural` names an irregular plural (default: noun + "s")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def noun(n: int, singular: str, plural: str | None = None) -> str:
    """The noun alone, in the form a count of `n` takes ("missing column: id", "missing columns: id, name")."""
    return singular if n == 1 else plural or singular + "s"

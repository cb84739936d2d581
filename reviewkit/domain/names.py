"""Provides the length limit of the names people give things a review indexes: study labels, source names,
reviewer names.

One limit on both databases: PostgreSQL refuses an index entry over 2,704 bytes (a 3,000-character label
failed there, with the index's name, while SQLite took it), and 600 characters of at most 4 bytes each in
UTF-8 stay under it. No real name comes near: a ClinicalTrials.gov brief title is at most 300 characters.
"""

from __future__ import annotations

NAME_MAX = 600


def name_too_long(name: str, what: str) -> str | None:
    """What is wrong with `name` (called `what` in the message) when it is over the limit; None when not."""
    if len(name) <= NAME_MAX:
        return None
    return f"{what} is {len(name):,} characters long; at most {NAME_MAX} are kept"

"""Tests for the choice of a duplicate group's primary record: screening progress first, then metadata."""

from __future__ import annotations

from reviewkit.domain.dedup import also_screened, choose_primary, completeness, find_duplicates
from tests.dedup_copies import copies


def test_a_screened_record_is_kept_over_a_fuller_copy() -> None:
    """Without decisions the fullest copy is kept; a copy with decisions is kept however thin its metadata."""
    records = copies()
    assert completeness(records[0]) < completeness(records[1]) < completeness(records[2])
    assert choose_primary(range(3), records.__getitem__) == 2
    assert choose_primary(range(3), records.__getitem__, {0: (1, 2)}) == 0


def test_full_text_beats_title_abstract_then_more_decisions_then_metadata() -> None:
    """Full-text decisions beat more title/abstract ones; within a stage more current decisions win; equals
    fall back on the most complete metadata."""
    records = copies()
    assert choose_primary(range(3), records.__getitem__, {0: (2, 1), 2: (1, 3)}) == 0
    assert choose_primary(range(3), records.__getitem__, {0: (1, 1), 1: (1, 2)}) == 1
    assert choose_primary(range(3), records.__getitem__, {0: (1, 2), 1: (1, 2)}) == 1
    assert also_screened(1, range(3), {0: (1, 2), 1: (1, 2)}) == [0]
    assert also_screened(2, range(3), {}) == []


def test_find_duplicates_takes_the_screened_records_as_input() -> None:
    """The pure function is told which records screening reached (it reads no database) and keeps those."""
    records = copies()
    (group,) = find_duplicates(records).groups
    assert (group.primary, group.members) == (2, (0, 1, 2))
    (group,) = find_duplicates(records, screened={0: (2, 4)}).groups
    assert (group.primary, group.members) == (0, (0, 1, 2))

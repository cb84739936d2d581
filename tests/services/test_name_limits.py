"""Tests that a name the review indexes (a study label, a source's name) is refused past NAME_MAX characters,
on SQLite as on PostgreSQL, with what was wrong and nothing stored: PostgreSQL refused a 3,000-character
label with its index's own words ("index row size 3016 exceeds btree version 4 maximum 2704") while
SQLite took it."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from reviewkit.domain.names import NAME_MAX
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.identify import import_file
from reviewkit.services.project import Review
from reviewkit.services.runs import source_overview
from reviewkit.services.studies import rename_study


def _text(n: int) -> str:
    """n characters PostgreSQL cannot compress below its index limit (repeated letters it can)."""
    rng = random.Random(n)
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


def test_a_study_label_at_the_limit_is_kept_and_one_past_it_refused(review: Review) -> None:
    """NAME_MAX characters of four-byte UTF-8 still fit PostgreSQL's index; one more is refused, naming the
    length, whether the study is created or renamed."""
    longest = "😀" * NAME_MAX
    sid = extract.create_study(review, "alice", longest).id
    assert [s.label for s in extract.list_studies(review)] == [longest]
    with pytest.raises(ReviewkitError, match=f"the study's label is 3,000 characters long; at most {NAME_MAX}"):
        extract.create_study(review, "alice", _text(3000))
    with pytest.raises(ReviewkitError, match=f"the study's name is {NAME_MAX + 1:,} characters long"):
        rename_study(review, "alice", sid, _text(NAME_MAX + 1))
    assert [s.label for s in extract.list_studies(review)] == [longest]


def test_an_import_named_past_the_limit_is_refused_before_reading(review: Review, tmp_path: Path) -> None:
    ris = tmp_path / "a.ris"
    ris.write_text("TY  - JOUR\nTI  - A record\nPY  - 2021\nER  - \n", encoding="utf-8")
    with pytest.raises(ReviewkitError, match="the source's name is 3,000 characters long"):
        import_file(review, ris, source=_text(3000))
    assert not any(s.runs for s in source_overview(review))
    assert import_file(review, ris, source="Embase").records == 1  # the file was not marked as imported

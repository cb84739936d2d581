"""Tests that an import's error list says each problem once and keeps to its cap: a column of another
table is the header's problem, said once about line 1 (a 129-row extraction table with an extra column
gave all 129 lines, 8 KB, past its own "stopped after 25"); events of -5 is refused once, not also by the
cross-check of the total; `rob import` refuses an unknown column and a bad variant as `extract import` does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.services import extract
from reviewkit.services.assess_import import import_rob
from reviewkit.services.extract_import import MAX_ERRORS, import_table
from reviewkit.services.project import Review
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RobAssessmentRow

HEADER = "study,arm,outcome,timepoint,extractor,consensus,intervention,events,total"


def _table(tmp_path: Path, header: str, rows: list[str]) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_an_unknown_column_is_one_error_about_the_header(review: Review, tmp_path: Path) -> None:
    extract.create_study(review, "alice", "S1")
    rows = [f"S1,Arm{i},iga_0_1,week 16,alice,no,x,{i},200,oops" for i in range(129)]
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, _table(tmp_path, HEADER + ",bogus", rows), actor="alice")
    message = str(refused.value)
    assert "line 1, bogus: not a column of this review's extraction table" in message
    assert message.count("bogus") == 1 and "line 2" not in message and len(message) < 400
    assert not extract.study_form(review, "alice", 1).arms  # nothing imported


def test_an_unknown_column_left_empty_is_ignored(review: Review, tmp_path: Path) -> None:
    extract.create_study(review, "alice", "S1")
    table = _table(tmp_path, HEADER + ",notes", ["S1,Placebo,iga_0_1,week 16,alice,no,placebo,10,100,"])
    assert import_table(review, table, actor="alice").values == 2


def test_the_error_list_keeps_to_its_cap(review: Review, tmp_path: Path) -> None:
    extract.create_study(review, "alice", "S1")
    rows = [f"S1,Arm{i},iga_0_1,week 16,alice,no,x,{i + 500},200" for i in range(60)]  # events > total
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, _table(tmp_path, HEADER, rows), actor="alice")
    message = str(refused.value)
    assert message.count("cannot exceed the total") == MAX_ERRORS
    assert message.endswith(f"(stopped after {MAX_ERRORS})")


def test_negative_events_are_one_problem(review: Review, tmp_path: Path) -> None:
    extract.create_study(review, "alice", "S1")
    table = _table(tmp_path, HEADER, ["S1,Placebo,iga_0_1,week 16,alice,no,placebo,-5,100"])
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, table, actor="alice")
    message = str(refused.value)
    assert "line 2, events: must be ≥ 0" in message
    assert "whole number" not in message and message.count("events") == 1


def test_a_refused_cell_is_not_checked_as_the_stored_value_either(review: Review, tmp_path: Path) -> None:
    """Events of 90 stored; the row gives -5 and a total of 50: the -5 is the problem, not 90 > 50."""
    sid = extract.create_study(review, "alice", "S1").id
    extract.set_arm(review, "alice", sid, "Placebo")
    extract.set_value(review, "alice", sid, "events", "90", arm="Placebo", outcome="iga_0_1")
    table = _table(tmp_path, HEADER, ["S1,Placebo,iga_0_1,week 16,alice,no,,-5,50"])
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, table, actor="alice")
    assert str(refused.value).endswith("nothing imported: line 2, events: must be ≥ 0")


# --- rob import ------------------------------------------------------------------------------------------

ROB_HEADER = "study,outcome,assessor,consensus,tool,variant,question,answer,support"


def test_rob_import_refuses_an_unknown_column_once(review: Review, tmp_path: Path) -> None:
    """A misspelt "suport" column was dropped unread and the rows stored without their support."""
    extract.create_study(review, "alice", "S1")
    rows = [f"S1,,alice,no,rob1,,D{i},low,,the sequence was random" for i in range(1, 4)]
    table = _table(tmp_path, ROB_HEADER.replace(",support", ",support,suport"), rows)
    with pytest.raises(ParseError) as refused:
        import_rob(review, table, actor="alice")
    assert refused.value.line == 1 and str(refused.value).count("suport") == 1
    assert "suport: not a column of a risk-of-bias table" in str(refused.value)
    assert not assessments(review)
    table = _table(tmp_path, ROB_HEADER + ",notes", ["S1,,alice,no,rob1,,D1,low,random,"])  # left empty: ignored
    assert import_rob(review, table, actor="alice").stored == 1


def test_rob_import_refuses_a_variant_rob1_does_not_have(review: Review, tmp_path: Path) -> None:
    extract.create_study(review, "alice", "S1")
    table = _table(tmp_path, ROB_HEADER, ["S1,,alice,no,rob1,,D1,low,", "S1,,alice,no,rob1,adherance,D2,low,"])
    with pytest.raises(ParseError, match="variant 'adherance': the protocol uses rob1") as refused:
        import_rob(review, table, actor="alice")
    assert refused.value.line == 3
    assert not assessments(review)


def test_rob_import_refuses_a_bad_rob2_variant_naming_line_and_column(rob2_review: Review, tmp_path: Path) -> None:
    """A misspelt variant was dropped without a word: it is refused at its line, naming the two there are."""
    extract.create_study(rob2_review, "alice", "S1")
    table = _table(tmp_path, ROB_HEADER, ["S1,iga_0_1,alice,no,rob2,adherance,1.1,Y,"])
    with pytest.raises(ParseError) as refused:
        import_rob(rob2_review, table, actor="alice")
    assert refused.value.line == 2
    assert "variant 'adherance' is not a RoB 2 variant (use assignment or adherence)" in str(refused.value)
    assert not assessments(rob2_review)


def assessments(review: Review) -> list[object]:
    with session_scope(review.engine) as session:
        return list(session.exec(select(RobAssessmentRow)).all())

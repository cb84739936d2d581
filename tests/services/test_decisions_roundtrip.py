"""Tests that decisions moved between reviews land on the records they were made on, that a row's time
cannot reorder a review's history, and that an import reports every bad row.

Found by a review of `decisions export|import`: an export imported into a review whose records were
imported in another order was stored on the wrong records ("4 decisions imported"); a row dated before
the reviewer's current decision became current while `--history` listed it first, so the history
replayed into other decisions; only the first bad row of a file was reported.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reviewkit.domain.records import Record
from reviewkit.errors import ParseError
from reviewkit.services import screen, screen_cards
from reviewkit.services.conflicts import resolve_conflict
from reviewkit.services.decisions_export import export_decisions
from reviewkit.services.decisions_import import DecisionsImport, import_decisions
from reviewkit.services.project import Review
from tests.factories import add_records

HEADER = "record,reviewer,stage,decision,reason,note,time\n"
#: The columns two exports of the same decisions share whatever the records' ids.
SAME = ("reviewer", "stage", "decision", "reason", "note", "time", "role", "pmid", "doi", "title")

P = Record(title="Baricitinib in adults with atopic dermatitis", pmid="31000001", doi="10.1000/p")
Q = Record(title="Upadacitinib in adolescents with atopic dermatitis", pmid="31000002")
R = Record(title="Abrocitinib registry entry: long-term extension", source_id="NCT01234567")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _same(path: Path) -> list[tuple[str, ...]]:
    """The export's rows without their record ids, which differ between reviews."""
    return [tuple(r[c] for c in SAME) for r in _rows(path)]


def _at(day: int, hour: int = 0) -> str:
    return datetime(2020, 1, day, hour, tzinfo=UTC).isoformat()


# --- decisions exported from one review and imported into another ------------------------------


def test_another_reviews_ids_are_refused_and_ids_source_finds_the_records(
    review: Review, empty_copy: Review, tmp_path: Path
) -> None:
    """The reported case: the same records, imported into B in another order, have other ids, and A's
    export was stored on the wrong records. Each row's pmid, doi and title now show it: the file is
    refused, every line listed, pointing to --ids source, which finds the records by PMID, DOI or
    title; B then holds A's decisions on the same articles."""
    p, q, r = add_records(review, [P, Q, R])
    assert add_records(empty_copy, [Q, R, P]) == [p, q, r]  # the same ids, each on another article
    for who in ("alice", "bob"):
        screen.record_decision(review, who, p, "ta", "include")
    screen.record_decision(review, "alice", q, "ta", "exclude", note="adolescents")
    screen.record_decision(review, "bob", q, "ta", "include")
    resolve_conflict(review, "carol", q, "ta", "exclude")
    screen.record_decision(review, "alice", r, "ta", "maybe")
    screen.record_decision(review, "alice", p, "ft", "include")
    out = tmp_path / "a.csv"
    n = export_decisions(review, out, actor="alice")
    assert list(_rows(out)[0]) == ["record", "reviewer", "stage", "decision", "reason", "note", "time", "role",
                                   "pmid", "doi", "title"]

    with pytest.raises(ParseError) as err:
        import_decisions(empty_copy, out, actor="alice")
    text = str(err.value)
    assert text.startswith(f"{out}, line 2: {n} rows name another record than their pmid, doi and title "
                           f"describe: line 2 (record {p}: PMID 31000002 here, 31000001 in the file); line 3 (")
    assert f"(record {r}: titled 'Baricitinib in adults with atopic dermatitis' here, 'Abrocitinib" in text
    assert "pass --ids source to find each row's record by its pmid and doi columns" in text
    assert text.endswith("nothing was imported)")
    assert export_decisions(empty_copy, tmp_path / "nothing.csv", actor="alice") == 0

    assert import_decisions(empty_copy, out, actor="alice", ids="source") == DecisionsImport(stored=n, present=0)
    back = tmp_path / "b.csv"
    export_decisions(empty_copy, back, actor="alice")
    assert _same(back) == _same(out)
    # R (no PMID or DOI) was found by its title; in B it is record q
    assert screen_cards.record_card(empty_copy, "alice", q, "ta").own.decision == "maybe"  # type: ignore[union-attr]
    # the file imported by its ids into A again, and B's own export into B, add nothing
    assert import_decisions(review, out, actor="alice") == DecisionsImport(stored=0, present=n)
    assert import_decisions(empty_copy, back, actor="alice") == DecisionsImport(stored=0, present=n)


def test_a_long_list_of_mismatched_rows_is_cut_after_ten(review: Review, empty_copy: Review, tmp_path: Path) -> None:
    records = [Record(title=f"Trial {i} of a JAK inhibitor", pmid=str(32000000 + i)) for i in range(12)]
    ids = add_records(review, records)
    add_records(empty_copy, records[::-1])
    for rid in ids:
        screen.record_decision(review, "alice", rid, "ta", "include")
    out = tmp_path / "a.csv"
    export_decisions(review, out, actor="alice")
    with pytest.raises(ParseError) as err:
        import_decisions(empty_copy, out, actor="alice")
    text = str(err.value)
    assert "12 rows name another record" in text and "line 11 (" in text and "line 12 (" not in text
    assert "; and 2 more (" in text


def test_a_file_of_source_ids_with_a_title_column_is_checked_too(review: Review, tmp_path: Path) -> None:
    """Another tool's file naming records by PMID, with the titles it shows: a row whose title is another
    record's is refused; with no title given the row is taken as before."""
    p, q, _ = add_records(review, [P, Q, R])
    f = tmp_path / "rayyan.csv"
    f.write_text("record,reviewer,stage,decision,title\n"
                 f"31000001,alice,ta,include,\"BARICITINIB in adults with atopic dermatitis.\"\n"
                 f"31000002,alice,ta,include,{R.title}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=rf"line 3: the row's pmid, doi and title describe another record than the "
                                         rf"one it names \(record {q}: titled 'Upadacitinib"):
        import_decisions(review, f, actor="alice")
    f.write_text("record,reviewer,stage,decision,title\n31000001,alice,ta,include,\"Baricitinib in adults with "
                 "atopic dermatitis.\"\n31000002,alice,ta,include,\n", encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 2
    assert screen_cards.record_card(review, "alice", p, "ta").own is not None


# --- a row's time: the history replays into the same current decisions ----------------------------


def test_a_row_older_than_the_reviewers_current_decision_is_refused(review: Review, tmp_path: Path) -> None:
    """It became alice's current decision (the current one follows storage order) while --history listed
    it first; it is refused with its line. Rows of one reviewer, record and stage in time order, or
    without a time, are stored."""
    (a,) = add_records(review, [P])
    screen.record_decision(review, "alice", a, "ta", "include")
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice,ta,exclude,,,{_at(1)}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=rf"line 2: the row's time {re.escape(_at(1))} is earlier than alice's "
                                         rf"latest row on record {a} at title/abstract \(include at "):
        import_decisions(review, f, actor="alice")
    assert screen_cards.record_card(review, "alice", a, "ta").own.decision == "include"  # type: ignore[union-attr]
    # within the file too: bob's second row is dated before his first
    f.write_text(HEADER + f"{a},bob,ta,include,,,{_at(2)}\n{a},bob,ta,exclude,,,{_at(1)}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=rf"line 3: .*earlier than bob's latest row on record {a} .*\(include at "
                                         rf"{re.escape(_at(2))}\)"):
        import_decisions(review, f, actor="alice")
    f.write_text(HEADER + f"{a},bob,ta,include,,,{_at(1)}\n{a},bob,ta,exclude,,,{_at(1)}\n{a},alice,ta,maybe,,,\n",
                 encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 3


def test_a_row_dated_in_the_future_is_refused(review: Review, tmp_path: Path) -> None:
    """A row dated 2099 became current; alice's next decision from the screen, stored after it and so
    current in turn, was listed before it by --history, which replayed into the 2099 row. A few
    minutes ahead (another machine's clock) are accepted."""
    (a,) = add_records(review, [P])
    f = tmp_path / "d.csv"
    later = datetime(2099, 1, 1, tzinfo=UTC).isoformat()
    f.write_text(HEADER + f"{a},alice,ta,include,,,{later}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=rf"line 2: the row's time {re.escape(later)} \(record {a}\) is later than now \("):
        import_decisions(review, f, actor="alice")
    assert screen_cards.record_card(review, "alice", a, "ta").own is None
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    f.write_text(HEADER + f"{a},alice,ta,include,,,{soon}\n", encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 1


def test_an_adjudication_older_than_what_it_settles_is_refused(review: Review, tmp_path: Path) -> None:
    (a,) = add_records(review, [P])
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice,ta,include,,,{_at(2)}\n{a},bob,ta,exclude,,,{_at(3)}\n"
                          f"{a},carol,ta,include,,,{_at(2, 12)}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=rf"line 4: the adjudication's time {re.escape(_at(2, 12))} is earlier than a "
                                         rf"decision it settles on record {a} at title/abstract \(exclude at "):
        import_decisions(review, f, actor="alice")
    f.write_text(HEADER + f"{a},alice,ta,include,,,{_at(2)}\n{a},bob,ta,exclude,,,{_at(3)}\n"
                          f"{a},carol,ta,include,,,{_at(4)}\n{a},carol,ta,exclude,,,{_at(3, 12)}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=rf"line 5: .* earlier than record {a}'s current adjudication at "
                                         r"title/abstract \(include at "):
        import_decisions(review, f, actor="alice")


def test_a_full_text_row_dated_before_its_record_passed_title_abstract_is_refused(
    review: Review, tmp_path: Path
) -> None:
    """The reported history that failed to import ("record 4 is not up for full text screening"): a
    full-text row dated before the title/abstract rows that let its record through."""
    (a,) = add_records(review, [P])
    f = tmp_path / "d.csv"
    ta = f"{a},alice,ta,include,,,{_at(2)}\n{a},bob,ta,include,,,{_at(4)}\n"
    f.write_text(HEADER + ta + f"{a},alice,ft,include,,,{_at(3)}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=rf"line 4: the row's time {re.escape(_at(3))} is before record {a} passed "
                                         r"title/abstract \(it was in progress then\)"):
        import_decisions(review, f, actor="alice")
    f.write_text(HEADER + ta + f"{a},alice,ft,include,,,{_at(4)}\n", encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 3


def test_a_history_of_imported_rows_replays_into_the_same_decisions(
    review: Review, empty_copy: Review, tmp_path: Path
) -> None:
    """Rows imported with their times beside decisions made on the screen: the --history export of the
    review replays into an empty copy and gives the same current decisions and outcomes."""
    a, b = add_records(review, [P, Q])
    add_records(empty_copy, [P, Q])
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice,ta,include,,,{_at(1)}\n{a},bob,ta,exclude,,,{_at(2)}\n"
                          f"{a},carol,ta,include,,,{_at(3)}\n{a},alice,ft,include,,,{_at(4)}\n"
                          f"{b},alice,ta,exclude,,,{_at(1)}\n{b},alice,ta,include,,,{_at(5)}\n", encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 6
    screen.record_decision(review, "bob", a, "ft", "include")
    screen.record_decision(review, "bob", b, "ta", "maybe")
    history, current = tmp_path / "h.csv", tmp_path / "c.csv"
    n = export_decisions(review, history, actor="alice", history=True)
    export_decisions(review, current, actor="alice")
    assert import_decisions(empty_copy, history, actor="alice") == DecisionsImport(stored=n, present=0)
    again = tmp_path / "again.csv"
    export_decisions(empty_copy, again, actor="alice")
    assert again.read_text(encoding="utf-8") == current.read_text(encoding="utf-8")
    for rid in (a, b):
        for stage in ("ta", "ft"):
            assert screen_cards.record_card(empty_copy, "alice", rid, stage).outcome == screen_cards.record_card(
                review, "alice", rid, stage).outcome


def test_history_lists_a_row_after_the_one_it_superseded_whatever_its_time(
    review: Review, empty_copy: Review, tmp_path: Path
) -> None:
    """Rows stored before the time checks may be dated before the row they superseded. The history lists
    them in storage order, the order that made the current decision, so replaying it refuses the
    row with its line instead of silently making the earlier decision current."""
    from sqlmodel import select

    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import ScreeningDecisionRow

    (a,) = add_records(review, [P])
    add_records(empty_copy, [P])
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "alice", a, "ta", "exclude")
    with session_scope(review.engine, write=True) as s:
        last = s.exec(select(ScreeningDecisionRow).order_by(ScreeningDecisionRow.id.desc())).first()  # type: ignore[union-attr]
        assert last is not None and last.decision == "exclude"
        last.created_at = datetime(2020, 1, 1, tzinfo=UTC)
        s.add(last)
    history = tmp_path / "h.csv"
    export_decisions(review, history, actor="alice", history=True)
    assert [r["decision"] for r in _rows(history)] == ["include", "exclude"]
    with pytest.raises(ParseError, match="line 3: the row's time 2020-01-01T00:00:00[+]00:00 is earlier than"):
        import_decisions(empty_copy, history, actor="alice")


# --- every bad row, and values read without case ----------------------------------------------------


def test_every_bad_row_is_reported_with_its_line(review: Review, tmp_path: Path) -> None:
    a, b = add_records(review, [P, Q])
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},zoe,ta,include,,,\n{a},alice,ta,include,,,\n{b},alice,tx,include,,,\n"
                          f"{a},alice,ft,exclude,,,\n{b},alice,ft,include,,,\n", encoding="utf-8")
    with pytest.raises(ParseError) as err:
        import_decisions(review, f, actor="alice")
    text = str(err.value)
    assert text.startswith(f"{f}, line 2: 4 rows are refused: line 2: unknown reviewer 'zoe'; line 4: unknown "
                           "stage 'tx' (use ta or ft); line 5: a full-text exclusion needs a reason (one of: ")
    assert f"; line 6: record {b} is not up for full text screening: it has not passed title/abstract" in text
    assert text.endswith("(nothing was imported)")
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0
    ids = add_records(review, 25)
    f.write_text(HEADER + "".join(f"{rid},alice,zz,include,,,\n" for rid in ids), encoding="utf-8")
    with pytest.raises(ParseError) as err:
        import_decisions(review, f, actor="alice")
    text = str(err.value)
    assert "25 rows are refused" in text and "line 21: unknown stage" in text and "line 22:" not in text
    assert "; and 5 more (nothing was imported)" in text


def test_stage_and_decision_are_read_without_case_or_spaces(review: Review, tmp_path: Path) -> None:
    """`Include` was taken but `TA` refused."""
    (a,) = add_records(review, [P])
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice, TA , Include ,,,\n{a},bob,Ta,MAYBE,,,\n{a},alice,FT,Exclude,Review,,\n",
                 encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 3
    out = tmp_path / "out.csv"
    export_decisions(review, out, actor="alice")
    assert [(r["stage"], r["decision"]) for r in _rows(out)] == [("ta", "include"), ("ta", "maybe"), ("ft", "exclude")]

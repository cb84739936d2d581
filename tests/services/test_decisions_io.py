"""Tests for decisions CSV export and import (all rows or none)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.services import screen, screen_cards
from reviewkit.services.conflicts import list_conflicts, resolve_conflict
from reviewkit.services.decisions_export import COLUMNS, export_decisions
from reviewkit.services.decisions_import import DecisionsImport, import_decisions
from reviewkit.services.project import Review
from tests.factories import add_records

HEADER = "record,reviewer,stage,decision,reason,note,time\n"


def _records(review: Review) -> list[int]:
    return add_records(review, [
        Record(title="A", pmid="31000001", doi="10.1000/a", source_id="WOS:1"),
        Record(title="B", pmid="31000002", source_id="WOS:2"),
    ])


def test_export_then_import_into_another_review(review: Review, tmp_path: Path) -> None:
    """Exported decisions re-import elsewhere with the same reviewer, stage, decision, note and time."""
    a, b = _records(review)
    screen.record_decision(review, "alice", a, "ta", "include", note="RCT")
    screen.record_decision(review, "alice", b, "ta", "exclude")
    screen.record_decision(review, "alice", b, "ta", "maybe")  # a change of mind: only the latest goes
    out = tmp_path / "d.csv"
    assert export_decisions(review, out, actor="alice") == 2
    rows = list(csv.DictReader(out.open()))
    assert [(r["record"], r["reviewer"], r["decision"], r["note"]) for r in rows] == [
        (str(a), "alice", "include", "RCT"), (str(b), "alice", "maybe", "")]
    assert export_decisions(review, tmp_path / "h.csv", history=True, actor="alice") == 3

    # the same file, moved to bob, imports into the review by record id
    text = out.read_text().replace(",alice,", ",bob,")
    (tmp_path / "bob.csv").write_text(text)
    assert import_decisions(review, tmp_path / "bob.csv", actor="alice").stored == 2
    assert screen_cards.record_card(review, "bob", a, "ta").own.note == "RCT"  # type: ignore[union-attr]
    assert screen_cards.record_card(review, "bob", a, "ta").own.at.isoformat() == rows[0]["time"]  # type: ignore[union-attr]


def test_import_by_pmid_doi_and_source_id(review: Review, tmp_path: Path) -> None:
    """Records can be named by PMID, DOI (any case, URL form) or the source file's own id."""
    a, b = _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + "31000001,alice,ta,include,,,\nhttps://doi.org/10.1000/A,bob,ta,exclude,,,\n"
                 "WOS:2,alice,ta,exclude,,,\n")
    assert import_decisions(review, f, actor="alice").stored == 3
    assert screen.record_decision(review, "bob", b, "ta", "exclude").outcome == "excluded"
    assert list_conflicts(review, "carol", "ta")[0].record_id == a

    # PubMed's own way of writing it, pasted from a results page.
    f.write_text(HEADER + "PMID: 31000001,bob,ta,include,,,\n")
    assert import_decisions(review, f, actor="alice").stored == 1
    assert list_conflicts(review, "carol", "ta") == []  # bob now includes record a too


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("99999999,alice,ta,include,,,", "unknown record '99999999'"),
        ("31000001,zoe,ta,include,,,", "unknown reviewer 'zoe'"),
        ("31000001,alice,tx,include,,,", "unknown stage 'tx'"),
        ("31000001,alice,ta,yes,,,", "unknown decision 'yes'"),
        ("31000001,alice,ft,exclude,Boring,,", "unknown exclusion reason 'Boring'"),
        ("31000001,alice,ta,include,,,yesterday", "is not ISO 8601"),
        # in UTC before year 1: refused, not a traceback
        ("31000001,alice,ta,include,,,0001-01-01T00:00:00+05:00", "is out of range"),
    ],
)
def test_bad_row_names_its_line_and_stores_nothing(
    review: Review, tmp_path: Path, row: str, message: str
) -> None:
    """A bad row is reported with its line; the good rows before it are not stored either."""
    _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + "31000002,alice,ta,include,,,\n" + row + "\n")
    with pytest.raises(ParseError) as err:
        import_decisions(review, f, actor="alice")
    assert message in str(err.value) and "line 3" in str(err.value)
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0


def test_missing_column_refused(review: Review, tmp_path: Path) -> None:
    """A file without the required columns is refused on line 1."""
    f = tmp_path / "d.csv"
    f.write_text("id,who\n1,alice\n")
    with pytest.raises(ParseError, match="line 1: missing column"):
        import_decisions(review, f, actor="alice")


def test_a_spreadsheets_capitalised_header_imports(review: Review, tmp_path: Path) -> None:
    """Record,Reviewer,Stage,Decision (as a spreadsheet titles its columns) imports like the lower-case
    header; it was refused as missing every column."""
    rid = _records(review)[0]
    f = tmp_path / "d.csv"
    f.write_text(f"Record,Reviewer,Stage,Decision,Note\n{rid},alice,TA,Include,from a sheet\n", encoding="utf-8")
    import_decisions(review, f, actor="alice")
    card = screen_cards.record_card(review, "alice", rid, "ta")
    assert card.own is not None and (card.own.decision, card.own.note) == ("include", "from a sheet")


def test_conflicts_cli_json(review: Review) -> None:
    """`reviewkit conflicts --json` lists the conflict with both decisions for the adjudicator."""
    a, _ = _records(review)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "bob", a, "ta", "exclude", note="not an RCT")
    runner = CliRunner()
    result = runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "conflicts", "--json"])
    assert result.exit_code == 0, result.output
    (c,) = json.loads(result.output)
    assert c["record"] == a and {d["reviewer"] for d in c["decisions"]} == {"alice", "bob"}
    denied = runner.invoke(cli, ["-C", str(review.folder), "--reviewer", "bob", "conflicts"])
    assert denied.exit_code == 1 and "not an adjudicator or lead" in denied.output


def test_import_cannot_change_a_decision_after_adjudication(review: Review, tmp_path: Path) -> None:
    """A row changing alice's decision on an adjudicated record is refused with its line and nothing
    from the file is stored; the same decision again (an export re-imported) is accepted."""
    a, b = _records(review)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "bob", a, "ta", "exclude")
    resolve_conflict(review, "carol", a, "ta", "include")
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{b},alice,ta,include,,,\n{a},alice,ta,exclude,,,\n")
    with pytest.raises(ParseError, match=r"line 3: record \d+ has been adjudicated at title/abstract") as info:
        import_decisions(review, f, actor="alice")
    assert "include, not exclude" in str(info.value) and "nothing was imported" in str(info.value)
    assert screen_cards.record_card(review, "alice", b, "ta").own is None  # line 2 was not stored either
    f.write_text(HEADER + f"{a},alice,ta,include,,,\n{b},alice,ta,include,,,\n")
    assert import_decisions(review, f, actor="alice") == DecisionsImport(stored=1, present=1)


# --- blinding and roles (issue 5): the service decides who exports and imports what ---------------


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def test_export_gives_a_non_lead_only_what_blinding_lets_them_see(review: Review, tmp_path: Path) -> None:
    """bob exports his own decisions and alice's only where both decided; alice (lead) exports all;
    carol (adjudicator, no decisions of her own) none; no reviewer at all is refused."""
    a, b, c = add_records(review, 3)
    screen.record_decision(review, "alice", a, "ta", "include", note="alice alone")
    screen.record_decision(review, "alice", b, "ta", "exclude")
    screen.record_decision(review, "bob", b, "ta", "exclude")
    screen.record_decision(review, "bob", c, "ta", "maybe")
    out = tmp_path / "bob.csv"
    assert export_decisions(review, out, actor="bob") == 3
    assert {(int(r["record"]), r["reviewer"]) for r in _rows(out)} == {(b, "alice"), (b, "bob"), (c, "bob")}
    assert "alice alone" not in out.read_text()
    assert export_decisions(review, out, actor="bob", history=True) == 3
    assert export_decisions(review, out, actor="alice") == 4
    assert export_decisions(review, out, actor="carol") == 0
    with pytest.raises(ReviewkitError, match="no reviewer given"):
        export_decisions(review, out)
    with pytest.raises(ReviewkitError, match="unknown reviewer 'zoe'"):
        export_decisions(review, out, actor="zoe")


def test_a_non_lead_imports_only_rows_naming_themselves(review: Review, tmp_path: Path) -> None:
    """bob's import of a file with a row for alice is refused with that row's line; nothing is stored.
    The lead imports everyone's rows; an import with no reviewer is refused."""
    a, b = _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},bob,ta,include,,,\n{b},alice,ta,exclude,,,\n")
    with pytest.raises(ParseError, match=r"line 3: bob may import only his own rows|line 3: .*only .*own") as info:
        import_decisions(review, f, actor="bob")
    assert "alice" in str(info.value) and "nothing was imported" in str(info.value)
    assert screen_cards.record_card(review, "bob", a, "ta").own is None
    with pytest.raises(ReviewkitError, match="no reviewer given"):
        import_decisions(review, f)
    assert import_decisions(review, f, actor="alice").stored == 2
    f.write_text(HEADER + f"{b},bob,ta,exclude,,,\n")
    assert import_decisions(review, f, actor="bob").stored == 1


def _bobs_view(review: Review) -> tuple[int, int, int]:
    """Records a (alice alone: blinded to bob), b (alice and bob disagree, carol settles it) and c (bob alone)."""
    a, b, c = add_records(review, 3)
    screen.record_decision(review, "alice", a, "ta", "include", note="alice alone")
    screen.record_decision(review, "alice", b, "ta", "include")
    screen.record_decision(review, "bob", b, "ta", "exclude")
    screen.record_decision(review, "bob", c, "ta", "maybe")
    resolve_conflict(review, "carol", b, "ta", "exclude", note="no placebo arm")
    return a, b, c


@pytest.mark.parametrize("history", [False, True])
def test_a_non_leads_own_export_imports_back_storing_nothing(review: Review, tmp_path: Path, history: bool) -> None:
    """bob's export holds alice's decision and carol's adjudication on b (blinding has ended for him there):
    imported back by bob, every row is already stored and none is refused as not his; nothing is added."""
    _, b, _ = _bobs_view(review)
    out, again = tmp_path / "bob.csv", tmp_path / "again.csv"
    n = export_decisions(review, out, actor="bob", history=history)
    assert n == 4 and {r["reviewer"] for r in _rows(out)} == {"alice", "bob", "carol"}
    assert import_decisions(review, out, actor="bob") == DecisionsImport(stored=0, present=n)
    export_decisions(review, again, actor="bob", history=history)
    assert again.read_text() == out.read_text()
    # without times: the same as alice's (carol's) current decision, which bob sees
    out.write_text(HEADER + f"{b},alice,ta,include,,,\n{b},carol,ta,exclude,,no placebo arm,\n")
    assert import_decisions(review, out, actor="bob") == DecisionsImport(stored=0, present=2)


def test_a_non_lead_changing_anothers_visible_row_is_still_refused(review: Review, tmp_path: Path) -> None:
    """A row of bob's export changed (alice's decision, carol's note): refused on its line as not his,
    nothing stored, though his own changed row beside it would be fine."""
    _, b, c = _bobs_view(review)
    out = tmp_path / "bob.csv"
    export_decisions(review, out, actor="bob")
    rows = _rows(out)
    alice = next(i for i, r in enumerate(rows) if r["reviewer"] == "alice")
    carol = next(i for i, r in enumerate(rows) if r["reviewer"] == "carol")
    bob_c = next(i for i, r in enumerate(rows) if r["reviewer"] == "bob" and r["record"] == str(c))
    rows[alice] = {**rows[alice], "decision": "exclude"}
    rows[carol] = {**rows[carol], "note": "changed"}
    rows[bob_c] = {**rows[bob_c], "decision": "include", "time": ""}
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ParseError) as refused:
        import_decisions(review, out, actor="bob")
    message = refused.value.message
    assert f"line {alice + 2}: bob may import only their own decisions, and this row is alice's" in message
    assert f"line {carol + 2}: bob may import only their own decisions, and this row is carol's" in message
    assert message.startswith("2 rows are refused")
    assert screen_cards.record_card(review, "bob", c, "ta").own.decision == "maybe"  # type: ignore[union-attr]
    assert screen_cards.record_card(review, "alice", b, "ta").own.decision == "include"  # type: ignore[union-attr]


def test_a_non_lead_cannot_probe_a_blinded_decision_as_already_present(review: Review, tmp_path: Path) -> None:
    """alice's decision on a is blinded to bob: a row stating it exactly as stored (copied from alice's
    export, time and note too) is refused just as a row stating anything else, so the import tells bob
    nothing of it; a lead's import of the same row finds it present."""
    a, _, _ = _bobs_view(review)
    lead = tmp_path / "alice.csv"
    export_decisions(review, lead, actor="alice")
    stored = next(r for r in _rows(lead) if r["record"] == str(a))
    assert stored["note"] == "alice alone"
    messages = []
    for decision in ("include", "exclude", "maybe"):
        probe = tmp_path / f"probe-{decision}.csv"
        with probe.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(stored))
            writer.writeheader()
            writer.writerow({**stored, "decision": decision})
        with pytest.raises(ParseError) as refused:
            import_decisions(review, probe, actor="bob")
        assert refused.value.line == 2
        messages.append(refused.value.message)
        if decision == "include":
            assert import_decisions(review, probe, actor="alice") == DecisionsImport(stored=0, present=1)
    assert messages == ["bob may import only their own decisions, and this row is alice's (a lead imports everyone's)"] * 3
    # without a time (the current decision's test) too
    probe = tmp_path / "probe.csv"
    probe.write_text(HEADER + f"{a},alice,ta,include,,alice alone,\n")
    with pytest.raises(ParseError, match="line 2: bob may import only their own decisions, and this row is alice's"):
        import_decisions(review, probe, actor="bob")
    assert screen_cards.record_card(review, "bob", a, "ta").outcome == "in_progress"


def test_adjudications_are_exported_and_import_as_adjudications(review: Review, tmp_path: Path) -> None:
    """carol's adjudication is a row of the export (role adjudicator); imported elsewhere it settles the
    conflict again and never counts as a screening decision (agreement stays alice vs bob)."""
    from reviewkit.services.agreement import agreement_report

    a, _, a2 = add_records(review, 3)
    screen.record_decision(review, "alice", a, "ta", "include")
    screen.record_decision(review, "bob", a, "ta", "exclude")
    resolve_conflict(review, "carol", a, "ta", "exclude", note="no placebo arm")
    out = tmp_path / "d.csv"
    assert export_decisions(review, out, actor="alice") == 3
    rows = _rows(out)
    assert [(r["reviewer"], r["role"], r["decision"], r["note"]) for r in rows] == [
        ("alice", "screener", "include", ""), ("bob", "screener", "exclude", ""),
        ("carol", "adjudicator", "exclude", "no placebo arm")]
    # carol exports her own adjudication; bob sees it too, as both screeners decided the record
    assert export_decisions(review, out, actor="carol") == 1 and _rows(out)[0]["reviewer"] == "carol"
    assert export_decisions(review, out, actor="bob") == 3

    # the same decisions, moved to another record: the conflict arrives settled (the pmid, doi and title
    # columns, which describe record a, are left out: a row whose columns disagree is refused)
    export_decisions(review, out, actor="alice")
    moved = tmp_path / "moved.csv"
    with moved.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**r, "record": str(a2)} for r in _rows(out))
    assert import_decisions(review, moved, actor="alice").stored == 3
    assert list_conflicts(review, "carol", "ta") == []
    assert review_status_outcome(review, a2) == "excluded"
    assert {(p.reviewer_a, p.reviewer_b) for p in agreement_report(review, "alice")} == {("alice", "bob")}


def review_status_outcome(review: Review, record_id: int) -> str:
    """The record's outcome at title/abstract as the lead sees it on its card."""
    return screen_cards.record_card(review, "alice", record_id, "ta").outcome


def test_adjudication_row_without_csv_role_column(review: Review, tmp_path: Path) -> None:
    """A row by carol (adjudicator, not a screener) in a plain 7-column file is an adjudication."""
    from reviewkit.services.agreement import agreement_report

    a, b = add_records(review, 2)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice,ta,include,,,\n{a},bob,ta,exclude,,,\n{a},carol,ta,include,,,\n")
    assert import_decisions(review, f, actor="alice").stored == 3
    assert list_conflicts(review, "carol", "ta") == []
    assert review_status_outcome(review, a) == "included"
    assert {(p.reviewer_a, p.reviewer_b) for p in agreement_report(review, "alice")} == {("alice", "bob")}
    # carol imports her own adjudication; she may re-adjudicate, as resolve_conflict allows
    f.write_text(HEADER + f"{a},carol,ta,exclude,,,\n")
    assert import_decisions(review, f, actor="carol").stored == 1
    assert review_status_outcome(review, a) == "excluded"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # not a conflict: one decision only, or agreement
        ("{a},alice,ta,include,,,\n{a},carol,ta,include,,,", r"line 3: record \d+ is not in conflict at title/abstract"),
        ("{a},alice,ta,include,,,\n{a},bob,ta,maybe,,,\n{a},carol,ta,include,,,", "line 4: record .* not in conflict"),
        # file order: the adjudication comes before the decisions that make the conflict
        ("{a},carol,ta,include,,,\n{a},alice,ta,include,,,\n{a},bob,ta,exclude,,,", "line 2: record .* not in conflict"),
        ("{a},alice,ta,include,,,\n{a},bob,ta,exclude,,,\n{a},carol,ta,maybe,,,", "line 4: an adjudication is include or exclude"),
    ],
)
def test_adjudication_rows_are_checked_as_resolve_conflict_checks(
    review: Review, tmp_path: Path, rows: str, message: str
) -> None:
    """An adjudication row must settle a conflict that exists once the file's earlier rows apply."""
    (a,) = add_records(review, 1)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + rows.format(a=a) + "\n")
    with pytest.raises(ParseError, match=message):
        import_decisions(review, f, actor="alice")
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0


def _team(review: Review, tmp_path: Path) -> Review:
    """The review with a team: alice lead+screener, bob screener, dana screener+adjudicator, boss lead only."""
    from reviewkit.services.protocol_edit import update_protocol
    from tests.reliability._helpers import protocol_with_reviewers

    team = [("alice", ["screener", "lead"]), ("bob", ["screener"]), ("dana", ["screener", "adjudicator"]),
            ("boss", ["lead"])]
    text = protocol_with_reviewers(tmp_path / "p", team).read_text(encoding="utf-8")
    return update_protocol(review, "alice", text)


def test_role_column_says_which_role_a_dual_role_reviewer_acts_in(review: Review, tmp_path: Path) -> None:
    """dana screens and adjudicates: without a role her row is a screening decision; with role
    adjudicator it is an adjudication. A role the reviewer lacks, an unknown role and a reviewer who
    neither screens nor adjudicates are refused with the line."""
    from reviewkit.services.agreement import agreement_report

    review = _team(review, tmp_path)
    a, b = add_records(review, 2)
    f = tmp_path / "d.csv"
    head = "record,reviewer,stage,decision,reason,note,time,role\n"
    f.write_text(head + f"{a},alice,ta,include,,,,\n{a},dana,ta,exclude,,,,\n"
                        f"{b},alice,ta,include,,,,\n{b},bob,ta,exclude,,,,screener\n{b},dana,ta,exclude,,,,adjudicator\n")
    assert import_decisions(review, f, actor="boss").stored == 5
    assert [c.record_id for c in list_conflicts(review, "boss", "ta")] == [a]
    assert screen_cards.record_card(review, "alice", b, "ta").outcome == "excluded"
    assert {(p.reviewer_a, p.reviewer_b) for p in agreement_report(review, "alice")} == {("alice", "bob"), ("alice", "dana")}
    for row, message in [
        (f"{a},bob,ta,include,,,,adjudicator", "line 2: bob is not an adjudicator"),
        (f"{a},dana,ta,include,,,,lead", r"line 2: unknown role 'lead' \(use screener or adjudicator\)"),
        (f"{a},boss,ta,include,,,,", "line 2: boss is neither a screener nor an adjudicator"),
    ]:
        f.write_text(head + row + "\n")
        with pytest.raises(ParseError, match=message):
            import_decisions(review, f, actor="boss")


def _merge(review: Review, primary: int, duplicate: int) -> None:
    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import DuplicateGroupRow, DuplicateMemberRow

    with session_scope(review.engine, write=True) as s:
        group = DuplicateGroupRow(primary_record_id=primary)
        s.add(group)
        s.flush()
        s.add(DuplicateMemberRow(group_id=group.id, record_id=primary))
        s.add(DuplicateMemberRow(group_id=group.id, record_id=duplicate))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # both screeners excluded it at title/abstract: it is not up for full text
        ("{a},alice,ta,exclude,,,\n{a},bob,ta,exclude,,,\n{a},alice,ft,include,,,",
         r"line 4: record \d+ is not up for full text screening: it has not passed title/abstract"),
        # only one title/abstract decision so far
        ("{a},alice,ta,include,,,\n{a},alice,ft,include,,,", "line 3: .* has not passed title/abstract"),
        # the full-text row comes before the title/abstract rows that let the record through
        ("{a},alice,ft,include,,,\n{a},alice,ta,include,,,\n{a},bob,ta,include,,,", "line 2: .* has not passed"),
        # a removed duplicate named by its reviewkit id
        ("{d},alice,ta,include,,,", r"line 2: record \d+ is not up for title/abstract screening: it is a removed "
                                    r"duplicate of record \d+"),
        ("{d},alice,ft,include,,,", "line 2: .* removed duplicate"),
    ],
)
def test_rows_on_records_not_up_for_the_stage_are_refused(
    review: Review, tmp_path: Path, rows: str, message: str
) -> None:
    """Full-text rows on records that did not pass title/abstract, and rows on removed duplicates,
    are refused with their line (as record_decision refuses them), the file's own earlier rows counted."""
    a, d = add_records(review, 2)
    _merge(review, a, d)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + rows.format(a=a, d=d) + "\n")
    with pytest.raises(ParseError, match=message):
        import_decisions(review, f, actor="alice")
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0


def test_an_identifier_names_a_groups_primary_but_not_an_unrelated_record(review: Review, tmp_path: Path) -> None:
    """A PMID the copies of one paper share names the group's primary; a source id that a removed copy of
    one paper and another paper share (two files numbering their records alike) is ambiguous: the row's
    decision is not put on the other paper."""
    (first,) = add_records(review, [Record(title="Baricitinib trial", pmid="31000007", source_id="1")])
    (copy,) = add_records(review, [Record(title="Baricitinib trial", pmid="31000007", source_id="12")],
                          source="Embase")
    (other,) = add_records(review, [Record(title="Upadacitinib trial", source_id="12")], source="CINAHL")
    _merge(review, first, copy)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + "31000007,alice,ta,include,,,\n12,bob,ta,exclude,,,\n")
    with pytest.raises(ParseError, match=rf"line 3: record '12' is ambiguous: it names records \[{copy}, {other}\]"):
        import_decisions(review, f, actor="alice", ids="source")
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0
    f.write_text(HEADER + "31000007,alice,ta,include,,,\n")
    assert import_decisions(review, f, actor="alice", ids="source").stored == 1
    assert screen_cards.record_card(review, "alice", first, "ta").own.decision == "include"  # type: ignore[union-attr]


def test_full_text_rows_after_the_files_own_title_abstract_rows_are_accepted(review: Review, tmp_path: Path) -> None:
    """The file's title/abstract rows, applied in order, make the record pass; its full-text rows then count."""
    (a,) = add_records(review, 1)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice,ta,include,,,\n{a},bob,ta,maybe,,,\n{a},alice,ft,exclude,Review,,\n"
                          f"{a},bob,ft,exclude,Review,,\n")
    assert import_decisions(review, f, actor="alice").stored == 4
    assert screen_cards.record_card(review, "alice", a, "ft").outcome == "excluded"


def test_unterminated_quote_is_refused_with_its_line(review: Review, tmp_path: Path) -> None:
    """A note whose quote never closes swallows the rest of the file: refused, nothing stored.
    A quoted note with a line break in it is fine."""
    a, b = _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f'{a},alice,ta,include,,"two\nlines",\n{b},alice,ta,include,,"unterminated,\n'
                          f"{a},bob,ta,include,,,\n")
    with pytest.raises(ParseError, match=r"line 4: .*quote") as info:
        import_decisions(review, f, actor="alice")
    assert "nothing was imported" in str(info.value)
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0
    f.write_text(HEADER + f'{a},alice,ta,include,,"unterminated,\n{a},bob,ta,include,,"x",\n')
    with pytest.raises(ParseError, match=r"line 2: .*quote"):
        import_decisions(review, f, actor="alice")
    f.write_text(HEADER + f'{a},alice,ta,include,,"two\nlines",\n{b},bob,ta,include,,,\n')
    assert import_decisions(review, f, actor="alice").stored == 2
    assert screen_cards.record_card(review, "alice", a, "ta").own.note == "two\nlines"  # type: ignore[union-attr]


def test_full_text_exclusion_without_reason_says_so(review: Review, tmp_path: Path) -> None:
    """The message names what is missing and the protocol's reasons, not 'unknown exclusion reason None'."""
    a, _ = _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice,ta,include,,,\n{a},bob,ta,include,,,\n{a},alice,ft,exclude,,,\n")
    with pytest.raises(ParseError, match=r"line 4: a full-text exclusion needs a reason \(one of: Animal study;") as info:
        import_decisions(review, f, actor="alice")
    assert "None" not in str(info.value)


def test_nul_character_is_refused_with_line_and_column(review: Review, tmp_path: Path) -> None:
    """A NUL is refused as every text reader refuses it, naming the line and column."""
    a, _ = _records(review)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},alice,ta,include,,,\n{a},bob,ta,include\x00,,,\n")
    with pytest.raises(ParseError, match=r"line 3: a NUL character \(binary data\) at column 17"):
        import_decisions(review, f, actor="alice")
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0


def test_a_header_with_an_open_quote_is_refused_on_line_1(review: Review, tmp_path: Path) -> None:
    """A quote opened in the header runs to the end of the file: a ParseError on line 1, not a crash."""
    f = tmp_path / "d.csv"
    f.write_text('record,"reviewer,stage,decision\n1,alice,ta,include\n', encoding="utf-8")
    with pytest.raises(ParseError, match="line 1: a quote opened on this line is never closed"):
        import_decisions(review, f, actor="alice")


# --- round trips: the same rows again, and a --history export replayed ------------------------------


def _history(review: Review) -> list[int]:
    """Four records with every kind of row: changes of mind, undos, a conflict adjudicated and then
    re-adjudicated, full-text decisions, a note over two lines and one with a comma."""
    a, b, c, d = _records(review) + add_records(review, [Record(title="C", pmid="31000003"),
                                                         Record(title="D", pmid="31000004")])
    screen.record_decision(review, "alice", a, "ta", "include", note="RCT,\nadults")
    screen.record_decision(review, "bob", a, "ta", "exclude")
    resolve_conflict(review, "carol", a, "ta", "exclude", note="first look")
    resolve_conflict(review, "carol", a, "ta", "include")
    screen.record_decision(review, "alice", b, "ta", "exclude")
    screen.record_decision(review, "alice", b, "ta", "maybe")
    screen.undo_decision(review, "alice", b, "ta")
    screen.record_decision(review, "alice", b, "ta", "include")
    screen.record_decision(review, "bob", b, "ta", "include")
    screen.record_decision(review, "bob", c, "ta", "include")
    screen.undo_decision(review, "bob", c, "ta")
    screen.record_decision(review, "alice", d, "ta", "exclude")
    screen.record_decision(review, "alice", a, "ft", "exclude", reason="Review")
    screen.record_decision(review, "alice", a, "ft", "include")
    screen.record_decision(review, "bob", a, "ft", "include")
    screen.record_decision(review, "bob", b, "ft", "exclude", reason="Animal study")
    return [a, b, c, d]


def _outcomes(review: Review, ids: list[int]) -> list[tuple[str, str]]:
    return [(screen_cards.record_card(review, "alice", rid, "ta").outcome, screen_cards.record_card(review, "alice", rid, "ft").outcome)
            for rid in ids]


def test_the_same_rows_again_store_nothing_new(review: Review, tmp_path: Path) -> None:
    """An export imported again stores no row and counts them as already present; so does a stale
    export whose row matches a superseded one (alice's later change stands); a row differing in its
    note alone is new. Nothing is added to the history."""
    ids = _history(review)
    out, history, after = tmp_path / "d.csv", tmp_path / "h.csv", tmp_path / "h2.csv"
    n = export_decisions(review, out, actor="alice")
    rows_in_history = export_decisions(review, history, actor="alice", history=True)
    assert import_decisions(review, out, actor="alice") == DecisionsImport(stored=0, present=n)
    assert import_decisions(review, history, actor="alice") == DecisionsImport(stored=0, present=rows_in_history)
    assert export_decisions(review, after, actor="alice", history=True) == rows_in_history
    assert after.read_text() == history.read_text()

    # a stale file: alice's first word on record b, since changed, undone and decided again
    stale = [r for r in _rows(history) if r["record"] == str(ids[1]) and r["reviewer"] == "alice"][0]
    assert stale["decision"] == "exclude"
    # alice's current row on record d, with another note: a new row, as recent as the one it follows
    latest = [r for r in _rows(history) if r["record"] == str(ids[3]) and r["reviewer"] == "alice"][-1]
    f = tmp_path / "stale.csv"

    def write(*rows: dict[str, str]) -> None:
        with f.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(stale))
            writer.writeheader()
            writer.writerows(rows)

    # the stale row saying maybe is new, but dated before alice's later decisions on b: stored, it would
    # have become her current decision (it did: the current decision follows storage order)
    write(stale, {**stale, "decision": "maybe"})
    with pytest.raises(ParseError, match=rf"line 3: the row's time {re.escape(stale['time'])} is earlier than alice's latest "
                                         rf"row on record {ids[1]} at title/abstract \(include at "):
        import_decisions(review, f, actor="alice")
    write(stale, {**latest, "note": "changed"})
    assert import_decisions(review, f, actor="alice") == DecisionsImport(stored=1, present=1)
    assert screen_cards.record_card(review, "alice", ids[1], "ta").own.decision == "include"  # type: ignore[union-attr]
    assert screen_cards.record_card(review, "alice", ids[3], "ta").own.note == "changed"  # type: ignore[union-attr]


def test_a_history_export_replays_into_an_empty_copy(review: Review, empty_copy: Review, tmp_path: Path) -> None:
    """Every row of a --history export, undos and superseded rows included, imports into a copy with
    the same records: the copy has the same current decisions, adjudications, outcomes and history."""
    ids = _history(review)
    assert _records(empty_copy) + add_records(empty_copy, [Record(title="C", pmid="31000003"),
                                                           Record(title="D", pmid="31000004")]) == ids
    history, current = tmp_path / "h.csv", tmp_path / "d.csv"
    n = export_decisions(review, history, actor="alice", history=True)
    assert "retracted" in history.read_text()
    export_decisions(review, current, actor="alice")
    assert import_decisions(empty_copy, history, actor="alice") == DecisionsImport(stored=n, present=0)

    copied, copied_history = tmp_path / "copy.csv", tmp_path / "copy_h.csv"
    export_decisions(empty_copy, copied, actor="alice")
    export_decisions(empty_copy, copied_history, actor="alice", history=True)
    assert copied.read_text() == current.read_text()
    assert copied_history.read_text() == history.read_text()
    assert _outcomes(empty_copy, ids) == _outcomes(review, ids)
    assert screen_cards.record_card(empty_copy, "alice", ids[0], "ta").own.note == "RCT,\nadults"  # type: ignore[union-attr]
    assert import_decisions(empty_copy, history, actor="alice") == DecisionsImport(stored=0, present=n)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("{a},alice,ta,retracted,,,", r"line 2: alice has no decision on record \d+ at title/abstract to undo"),
        ("{a},alice,ta,include,,,\n{a},alice,ta,retracted,,,\n{a},alice,ta,retracted,,,", "line 4: alice has no decision"),
        ("{a},alice,ta,include,,,\n{a},bob,ta,exclude,,,\n{a},carol,ta,include,,,\n{a},bob,ta,retracted,,,",
         r"line 5: record \d+ has been adjudicated at title/abstract; its decisions are final"),
        ("{a},alice,ta,include,,,\n{a},bob,ta,exclude,,,\n{a},carol,ta,retracted,,,", "line 4: an adjudication is include or exclude"),
    ],
)
def test_a_retracted_row_is_checked_as_undo_checks_it(review: Review, tmp_path: Path, rows: str, message: str) -> None:
    """An undo row needs a decision to undo, on a record not yet adjudicated, by a screener."""
    (a,) = add_records(review, 1)
    f = tmp_path / "d.csv"
    f.write_text(HEADER + rows.format(a=a) + "\n")
    with pytest.raises(ParseError, match=message):
        import_decisions(review, f, actor="alice")
    assert export_decisions(review, tmp_path / "after.csv", actor="alice", history=True) == 0


def test_a_history_replays_in_the_order_things_happened(review: Review, empty_copy: Review, tmp_path: Path) -> None:
    """A title/abstract change made after full-text work (alice undoes her full-text decision, then
    excludes at title/abstract) replays after it: the export put every title/abstract row first, and
    the import refused alice's full-text row ("has not passed title/abstract")."""
    (a,) = add_records(review, [Record(title="A", pmid="31000001")])
    add_records(empty_copy, [Record(title="A", pmid="31000001")])
    for who in ("alice", "bob"):
        screen.record_decision(review, who, a, "ta", "include")
    screen.record_decision(review, "alice", a, "ft", "include")
    screen.undo_decision(review, "alice", a, "ft")
    screen.record_decision(review, "alice", a, "ta", "exclude")
    history = tmp_path / "h.csv"
    n = export_decisions(review, history, actor="alice", history=True)
    assert [(r["stage"], r["decision"]) for r in _rows(history)] == [
        ("ta", "include"), ("ta", "include"), ("ft", "include"), ("ft", "retracted"), ("ta", "exclude")]
    assert import_decisions(empty_copy, history, actor="alice") == DecisionsImport(stored=n, present=0)
    assert _outcomes(empty_copy, [a]) == _outcomes(review, [a]) == [("conflict", "unscreened")]
    current = tmp_path / "d.csv"
    export_decisions(review, current, actor="alice")
    assert import_decisions(empty_copy, current, actor="alice") == DecisionsImport(stored=0, present=2)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("{a},alice,ta,exclude,,,", r"line 2: record \d+ has full-text decisions; a title/abstract change"),
        ("{a},alice,ta,retracted,,,", r"line 2: record \d+ has full-text decisions"),
        ("{a},alice,ta,maybe,,,\n{a},bob,ta,exclude,,,", r"line 3: record \d+ has full-text decisions"),
    ],
)
def test_import_cannot_take_a_record_out_of_full_text(review: Review, tmp_path: Path, rows: str, message: str) -> None:
    """As on the screen: a title/abstract row that would leave full-text decisions hanging is refused."""
    (a,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, a, "ta", "include")
    screen.record_decision(review, "bob", a, "ft", "include")
    f = tmp_path / "d.csv"
    f.write_text(HEADER + rows.format(a=a) + "\n")
    with pytest.raises(ParseError, match=message):
        import_decisions(review, f, actor="alice")
    assert _outcomes(review, [a]) == [("included", "in_progress")]


# --- record ids: reviewkit's or the source file's, never guessed ----------------------------------


def _shifted(review: Review, n: int) -> list[int]:
    """n records, each imported with the source id that is the next record's reviewkit id: the value
    "k" names record k by reviewkit id and record k-1 by source id."""
    from sqlmodel import select

    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import RecordSourceRow

    ids = add_records(review, [Record(title=f"R{i}", source_id=f"S{i}") for i in range(n)])
    with session_scope(review.engine, write=True) as s:
        for row in s.exec(select(RecordSourceRow)):
            row.source_record_id = str(row.record_id + 1)
            s.add(row)
    return ids


def test_an_ambiguous_record_lists_every_line_and_says_which_option_settles_it(review: Review, tmp_path: Path) -> None:
    """Twelve rows whose value is one record's reviewkit id and another's source id: the error names
    the first line, lists ten with "and 2 more", and says to pass --ids; nothing is stored."""
    ids = _shifted(review, 13)
    f = tmp_path / "d.csv"
    f.write_text("record,reviewer,stage,decision\n" + "".join(f"{k},alice,ta,include\n" for k in ids[1:]))
    with pytest.raises(ParseError) as err:
        import_decisions(review, f, actor="alice")
    text = str(err.value)
    assert text.startswith(f"{f}, line 2: 12 rows name their record ambiguously: '{ids[1]}' on line 2 names "
                           f"records [{ids[0]}, {ids[1]}]; '{ids[2]}' on line 3")
    assert "on line 11 names" in text and "on line 12 names" not in text and "; and 2 more (" in text
    assert ("these look like reviewkit record ids (as `decisions export` writes them): pass --ids reviewkit; "
            "for the source file's own ids pass --ids source; nothing was imported") in text
    assert export_decisions(review, tmp_path / "after.csv", actor="alice") == 0


def test_ids_option_reads_record_as_one_kind_of_id(review: Review, tmp_path: Path) -> None:
    """--ids reviewkit stores "2" on record 2; --ids source on the record imported with source id "2";
    a value of the other kind is unknown under each."""
    first, second = _shifted(review, 2)  # first was imported with source id str(second)
    f = tmp_path / "d.csv"
    f.write_text(f"record,reviewer,stage,decision\n{second},alice,ta,include\n")
    assert import_decisions(review, f, actor="alice", ids="reviewkit").stored == 1
    assert screen_cards.record_card(review, "alice", second, "ta").own is not None
    f.write_text(f"record,reviewer,stage,decision\n{second},bob,ta,include\n")
    assert import_decisions(review, f, actor="alice", ids="source").stored == 1
    assert screen_cards.record_card(review, "bob", first, "ta").own is not None
    assert screen_cards.record_card(review, "bob", second, "ta").own is None
    f.write_text("record,reviewer,stage,decision\nS9,bob,ta,include\n")
    with pytest.raises(ParseError, match=r"line 2: unknown record 'S9': not a reviewkit record id \(--ids reviewkit\)"):
        import_decisions(review, f, actor="alice", ids="reviewkit")
    f.write_text(f"record,reviewer,stage,decision\n{first},bob,ta,include\n")  # no record has source id "1"
    with pytest.raises(ParseError, match="unknown record '1': no record was imported with this source id"):
        import_decisions(review, f, actor="alice", ids="source")
    with pytest.raises(ReviewkitError, match="unknown --ids 'pmid'"):
        import_decisions(review, f, actor="alice", ids="pmid")


def test_an_export_imports_back_when_its_ids_are_also_source_ids(review: Review, tmp_path: Path) -> None:
    """The reported round trip: rows imported by source id, exported (by reviewkit id, which is also
    another record's source id) and imported again failed as ambiguous. A file with the export's
    exact columns is read as reviewkit ids: the rows are already present (a --history export too).
    The same columns in another order are not the export's: the value is refused as ambiguous."""
    first, second, third = _shifted(review, 3)
    f = tmp_path / "in.csv"
    f.write_text(f"record,reviewer,stage,decision\n{third},alice,ta,include\n{third},bob,ta,include\n")
    assert import_decisions(review, f, actor="alice", ids="source").stored == 2  # on `second`
    for history in (False, True):
        out = tmp_path / "out.csv"
        assert export_decisions(review, out, actor="alice", history=history) == 2
        assert {r["record"] for r in _rows(out)} == {str(second)}  # also the source id of `first`
        assert import_decisions(review, out, actor="alice") == DecisionsImport(stored=0, present=2)
    rows = _rows(tmp_path / "out.csv")
    moved = tmp_path / "moved.csv"
    with moved.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["reviewer", *[c for c in rows[0] if c != "reviewer"]])
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ParseError, match=rf"line 2: 2 rows name their record ambiguously: '{second}' on line 2 "
                                         rf"names records \[{first}, {second}\]"):
        import_decisions(review, moved, actor="alice")
    assert import_decisions(review, moved, actor="alice", ids="reviewkit") == DecisionsImport(stored=0, present=2)
    f.write_text("record,reviewer,stage,decision,reason,note,time,role\nS0,alice,ta,include,,,,\n")
    with pytest.raises(ParseError, match=r"line 2: unknown record 'S0': not a reviewkit record id \(the file has "
                                         r"the columns `decisions export` writes.*pass --ids source"):
        import_decisions(review, f, actor="alice")


# --- a record's quota, a reviewer who left, the audit trail, values refused ----------------------------


def test_import_refuses_a_new_screener_on_a_record_that_has_its_decisions(review: Review, tmp_path: Path) -> None:
    """alice and bob agreed on the record: dana's row made it a conflict. Refused with its line, nothing
    stored; bob changing his own decision is not affected, and after an undo frees a place it is taken."""
    review = _team(review, tmp_path)
    (a,) = add_records(review, 1)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, a, "ta", "include")
    f = tmp_path / "d.csv"
    f.write_text(HEADER + f"{a},bob,ta,maybe,,,\n{a},dana,ta,exclude,,,\n")
    with pytest.raises(ParseError, match=rf"line 3: record {a} already has its 2 decisions at title/abstract") as err:
        import_decisions(review, f, actor="alice")
    assert "nothing was imported" in str(err.value)
    assert screen_cards.record_card(review, "bob", a, "ta").own.decision == "include"  # type: ignore[union-attr]
    assert list_conflicts(review, "dana", "ta") == []
    f.write_text(HEADER + f"{a},bob,ta,maybe,,,\n{a},bob,ta,retracted,,,\n{a},dana,ta,exclude,,,\n")
    assert import_decisions(review, f, actor="alice").stored == 3
    assert [c.record_id for c in list_conflicts(review, "dana", "ta")] == [a]


def test_a_leads_export_imports_again_after_a_reviewer_left_the_team(review: Review, tmp_path: Path) -> None:
    """bob is dropped from review.toml: the lead's export still imports (his rows are already present,
    counted so); a new row of his is refused as his, with its line."""
    from reviewkit.services.protocol_edit import update_protocol
    from tests.reliability._helpers import protocol_with_reviewers

    a, b = add_records(review, 2)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, a, "ta", "include")
    out = tmp_path / "d.csv"
    assert export_decisions(review, out, actor="alice") == 2
    team = [("alice", ["screener", "lead"]), ("carol", ["adjudicator"]), ("dave", ["screener"])]
    review = update_protocol(review, "alice", protocol_with_reviewers(tmp_path / "p", team).read_text(encoding="utf-8"))
    assert import_decisions(review, out, actor="alice") == DecisionsImport(stored=0, present=2)
    out.write_text(out.read_text() + f"{b},bob,ta,exclude,,,,,,,\n")
    with pytest.raises(ParseError, match="line 4: bob is no longer on this review's team"):
        import_decisions(review, out, actor="alice")


def test_the_audit_trail_names_the_importer_and_whose_decision_it_is(review: Review, tmp_path: Path) -> None:
    """alice (lead) imports bob's and carol's rows and one of her own: each event's actor is alice, its
    `new` names bob (or carol) and the file; replaying the events gives each reviewer's decisions."""
    from reviewkit.services.audit import audit_trail, decision_history

    (a,) = add_records(review, 1)
    f = tmp_path / "in.csv"
    f.write_text(HEADER + f"{a},alice,ta,include,,,\n{a},bob,ta,exclude,,,\n{a},carol,ta,include,,,\n")
    assert import_decisions(review, f, actor="alice").stored == 3
    events = [(e.actor, e.entity, e.new) for e in audit_trail(review, record_id=a)]
    assert events == [
        ("alice", "decision", {"stage": "ta", "decision": "include", "reason": None, "note": None,
                               "imported": "in.csv"}),
        ("alice", "decision", {"stage": "ta", "decision": "exclude", "reason": None, "note": None,
                               "reviewer": "bob", "imported": "in.csv"}),
        ("alice", "adjudication", {"stage": "ta", "decision": "include", "reason": None, "note": None,
                                   "reviewer": "carol", "imported": "in.csv"}),
    ]
    assert decision_history(audit_trail(review, record_id=a)) == {("alice", "ta"): "include", ("bob", "ta"): "exclude"}
    screen.record_decision(review, "bob", a, "ft", "include")  # on the screen: bob's own act, as before
    assert [(e.actor, e.new) for e in audit_trail(review, record_id=a)][-1] == (
        "bob", {"stage": "ft", "decision": "include", "reason": None, "note": None})


def test_changes_of_mind_within_a_file_and_on_stored_decisions_keep_their_chain_and_audit(
        review: Review, tmp_path: Path) -> None:
    """A file that changes a decision stored before it (bob on a), changes its own earlier row (alice on b:
    exclude, include, then undo) and is written in one go: each row supersedes the reviewer's previous row
    on the record, in the file's order, and its audit event says decide, change or undo with the row before
    as `old`. Rows without a time follow the record's latest row (dated ahead by the file), as on the screen."""
    from sqlmodel import col, select

    from reviewkit.services.audit import audit_trail
    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import ScreeningDecisionRow

    a, b = add_records(review, 2)
    screen.record_decision(review, "bob", a, "ta", "include")
    f = tmp_path / "in.csv"
    f.write_text(HEADER + f"{a},bob,ta,exclude,,,\n{b},alice,ta,exclude,,,2020-01-01T00:00:00+00:00\n"
                          f"{b},alice,ta,include,,,2020-01-02T00:00:00+00:00\n{b},alice,ta,retracted,,,\n")
    assert import_decisions(review, f, actor="alice").stored == 4
    with session_scope(review.engine) as session:
        rows = list(session.exec(select(ScreeningDecisionRow).order_by(col(ScreeningDecisionRow.id))))
    stored, bob_a, b1, b2, b3 = rows
    assert [r.decision for r in rows] == ["include", "exclude", "exclude", "include", "retracted"]
    assert (bob_a.supersedes_id, b1.supersedes_id, b2.supersedes_id, b3.supersedes_id) == (
        stored.id, None, b1.id, b2.id)
    assert b3.created_at > b2.created_at and bob_a.created_at > stored.created_at
    events = {e.entity_id: (e.action, e.old and e.old["decision"]) for e in audit_trail(review)
              if e.entity == "decision"}
    assert [events[r.id] for r in rows[1:]] == [("change", "include"), ("decide", None), ("change", "exclude"),
                                              ("undo", "include")]


@pytest.mark.parametrize(
    "row",
    ["{a},alice,ta,include,Review,,", "{a},alice,ta,maybe,Review,,", "{a},alice,ft,include,Review,,"],
)
def test_a_reason_on_anything_but_an_exclusion_is_refused(review: Review, tmp_path: Path, row: str) -> None:
    """It was stored silently (an include with an exclusion reason); the screening service refuses it too."""
    a, _ = _records(review)
    for who in ("alice", "bob"):
        screen.record_decision(review, who, a, "ta", "include")
    f = tmp_path / "d.csv"
    f.write_text(HEADER + row.format(a=a) + "\n")
    with pytest.raises(ParseError, match="line 2: a reason goes only with an exclusion") as err:
        import_decisions(review, f, actor="alice")
    assert "'Review'" in str(err.value) and "nothing was imported" in str(err.value)
    with pytest.raises(ReviewkitError, match="a reason goes only with an exclusion, not with include"):
        screen.record_decision(review, "alice", a, "ta", "include", reason="Review")


def test_a_title_abstract_exclusion_with_a_reason_round_trips(review: Review, tmp_path: Path) -> None:
    """A reason at title/abstract (free text; the demo's adjudication gives one) is stored by the service, so
    the import takes it too: an export, including --history, imports again (as already present)."""
    a, b = _records(review)
    screen.record_decision(review, "alice", a, "ta", "exclude", reason="Non-randomised design")
    screen.record_decision(review, "bob", a, "ta", "include")
    resolve_conflict(review, "carol", a, "ta", "exclude", reason="Non-randomised design")
    out = tmp_path / "d.csv"
    for history in (False, True):
        export_decisions(review, out, actor="alice", history=history)
        assert import_decisions(review, out, actor="alice").stored == 0
    fresh = tmp_path / "f.csv"
    fresh.write_text(HEADER + f"{b},alice,ta,exclude,Non-randomised design,,\n")
    assert import_decisions(review, fresh, actor="alice").stored == 1


@pytest.mark.parametrize(("separator", "named"), [(";", "';'"), ("\t", "tabs")])
def test_a_file_separated_otherwise_says_so(review: Review, tmp_path: Path, separator: str, named: str) -> None:
    """A spreadsheet's semicolon- or tab-separated "CSV" gets the hint, not only the missing columns."""
    f = tmp_path / "d.csv"
    f.write_text(separator.join(["record", "reviewer", "stage", "decision"]) + "\n1;alice;ta;include\n")
    with pytest.raises(ParseError) as err:
        import_decisions(review, f, actor="alice")
    assert (f"line 1: missing columns: record, reviewer, stage, decision (the file looks separated by {named}: "
            "save it as comma-separated CSV") in str(err.value)


def test_a_file_without_times_imported_twice_adds_nothing(review: Review, tmp_path: Path) -> None:
    """Its rows could not be matched to the stored ones, so each second import added "include → include"
    changes to the history and the audit trail; a row that says what the reviewer's current decision says is
    now taken as already present. A real change in such a file is still stored."""
    from reviewkit.services.audit import audit_trail

    a, b = _records(review)
    f = tmp_path / "sam.csv"
    f.write_text(f"record,reviewer,stage,decision,note\n{a},alice,ta,include,RCT\n{b},alice,ta,exclude,\n", encoding="utf-8")
    assert import_decisions(review, f, actor="alice").stored == 2
    events = len(audit_trail(review))
    again = import_decisions(review, f, actor="alice")
    assert (again.stored, again.present) == (0, 2)
    assert len(audit_trail(review)) == events
    f.write_text(f"record,reviewer,stage,decision,note\n{a},alice,ta,include,RCT\n{b},alice,ta,include,\n", encoding="utf-8")
    changed = import_decisions(review, f, actor="alice")
    assert (changed.stored, changed.present) == (1, 1)


@pytest.mark.parametrize("history", [False, True])
def test_an_export_of_notes_with_windows_line_breaks_imports_back(review: Review, tmp_path: Path, history: bool) -> None:
    """A note typed with a carriage return (`adjudicate --note` on Windows) is read back from the CSV with a
    plain line break, so its row never matched the stored one: the export imported again was refused (a row
    older than the reviewer's latest) or, without times, stored the decisions a second time."""
    a, _ = _records(review)
    screen.record_decision(review, "alice", a, "ta", "include", note="RCT\r\nadults")
    screen.record_decision(review, "bob", a, "ta", "exclude", note="line one\rline two")
    resolve_conflict(review, "carol", a, "ta", "include", note="checked\r\nagain")
    out = tmp_path / "d.csv"
    assert export_decisions(review, out, history=history, actor="alice") == 3
    again = import_decisions(review, out, actor="alice")
    assert (again.stored, again.present) == (0, 3)


def test_a_file_saved_in_a_spreadsheets_own_encoding_names_the_line(review: Review, tmp_path: Path) -> None:
    """Excel's plain "CSV" on Windows is Windows-1252: the first accented letter was reported as a byte
    offset, which no one can find in a spreadsheet; now as its line, with the fix."""
    a, b = _records(review)
    f = tmp_path / "d.csv"
    f.write_bytes((HEADER + f"{a},alice,ta,include,,,\n{b},alice,ta,exclude,,Ménière,\n").encode("cp1252"))
    with pytest.raises(ParseError) as err:
        import_decisions(review, f, actor="alice")
    assert err.value.line == 3 and "not UTF-8 text" in err.value.message
    assert err.value.hint is not None and "save it as UTF-8" in err.value.hint

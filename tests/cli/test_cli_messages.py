"""Tests that commands say what happened and what to do: wrong columns, unknown outcomes and studies,
re-imports that store nothing, undone merges, an unscreened review's PRISMA, a consensus recorded again."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import select

from reviewkit.cli import cli
from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_consensus, dedup
from reviewkit.services import extract as extraction
from reviewkit.services.dedup_undo import undo_merge
from reviewkit.services.project import Review
from reviewkit.services.report import write_prisma
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import AuditEventRow
from tests.factories import add_records, uncertain_pair

ROB_HEADER = "study,outcome,assessor,consensus,tool,variant,question,answer,support\n"
ALL_LOW = {f"D{i}": "low" for i in range(1, 8)}


def run(review: Review, *args: str, reviewer: str = "alice") -> Result:
    """`reviewkit -C REVIEW --reviewer alice ARGS`."""
    return CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", reviewer, *args])


def add_study(review: Review, label: str) -> int:
    with session_scope(review.engine, write=True) as s:
        row = rob_store.add_study(s, label, actor="test")
        assert row.id is not None
        return row.id


def assessed(review: Review, label: str = "BREEZE-AD1") -> int:
    """A study that bob and carol assessed (RoB 1, every domain low) and alice (a lead) recorded the consensus of."""
    sid = add_study(review, label)
    for who in ("bob", "carol"):
        aid = assess.start_assessment(review, who, sid).id
        for key, judgement in ALL_LOW.items():
            assess.answer(review, who, aid, key, judgement)
        assess.finish(review, who, aid)
    assess_consensus.record_consensus(review, "alice", sid)
    return sid


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


# --- a CSV without the command's columns ------------------------------------------------------------


@pytest.mark.parametrize(("command", "expected"), [
    ("rob", "expected: study, outcome, assessor, consensus, tool, variant, question, answer, support"),
    ("extract", "expected: study, arm, outcome, timepoint, extractor"),
])
def test_missing_columns_say_what_is_expected_and_what_the_file_has(
        review: Review, tmp_path: Path, command: str, expected: str) -> None:
    """A decisions file handed to `rob import`: the expected columns were labelled as if they were the file's."""
    wrong = tmp_path / "decisions.csv"
    wrong.write_text("record,reviewer,stage,decision\n1,alice,ta,include\n", encoding="utf-8")
    err = one_line_error(run(review, command, "import", str(wrong)))
    assert f"{wrong}, line 1: missing columns" in err
    assert f"({expected}; the file has: record, reviewer, stage, decision" in err


# --- rob plot --outcome ------------------------------------------------------------------------------


def test_rob_plot_names_an_outcome_the_protocol_does_not_have(review: Review, tmp_path: Path) -> None:
    """It said there were no finished consensus assessments to plot, sending the user to record them again."""
    assessed(review)
    err = one_line_error(run(review, "rob", "plot", "--outcome", "foo", str(tmp_path / "r.svg")))
    assert "no outcome 'foo' in the protocol" in err
    assert "the protocol's outcomes: iga_0_1, easi50, easi75" in err
    assert not (tmp_path / "r.svg").exists()
    drawn = run(review, "rob", "plot", str(tmp_path / "all.svg"))
    assert drawn.exit_code == 0, drawn.output


def test_rob_plot_of_a_protocol_outcome_not_assessed_says_which_are(review: Review, tmp_path: Path) -> None:
    assessed(review)
    err = one_line_error(run(review, "rob", "plot", "--outcome", "EASI75", str(tmp_path / "r.svg")))
    assert "no finished consensus assessments of outcome 'EASI75' to plot" in err
    assert "the consensus assessments finished are of no outcome" in err


# --- STUDY: an id or a label, everywhere -----------------------------------------------------------------


@pytest.mark.parametrize("ref", ["BREEZE-AD1", "breeze-ad1", "{id}"])
def test_every_study_argument_takes_an_id_or_a_label(review: Review, ref: str) -> None:
    """`extract consensus BREEZE-AD1` exited 2 with "'BREEZE-AD1' is not a valid integer": every command
    taking a study reads its id or its label (as typed, or without case and spaces) alike."""
    add_study(review, "Another trial")
    sid = add_study(review, "BREEZE-AD1")
    (rid,) = add_records(review, 1)
    study = ref.format(id=sid)
    stats = ["--arm", "Placebo", "--outcome", "dlqi_change"]
    for args, said in [
        (["extract", "arm", study, "Placebo", "--n", "120"], f"Arm Placebo of study {sid} saved"),
        (["extract", "set", study, "country", "Japan"], "country = Japan"),
        (["extract", "set", study, "n", "120", *stats], "n = 120"),
        (["extract", "set", study, "se", "2.5", *stats], "se = 2.5"),
        (["extract", "convert", study, *stats], "sd = 27.39"),
        (["studies", "link", study, str(rid)], f"study {sid} (BREEZE-AD1): record {rid} linked"),
        (["studies", "main", study, str(rid)], f"study {sid} (BREEZE-AD1): record {rid} is now the main report"),
        (["studies", "reject", study, str(rid)], f"study {sid} (BREEZE-AD1): record {rid} rejected"),
        (["studies", "confirm", study, str(rid)], f"study {sid} (BREEZE-AD1): record {rid} confirmed"),
    ]:
        result = run(review, *args)
        assert result.exit_code == 0 and result.output.startswith(said), (args, result.output)
    form = extraction.study_form(review, "alice", sid)
    assert [a.label for a in form.arms] == ["Placebo"] and len(form.values) == 4
    # Refused by the service, for this study: the reference reached it.
    for args in (["extract", "differences", "--study", study], ["extract", "consensus", study]):
        err = one_line_error(run(review, *args))
        assert f"may not compare study {sid}'s extractions yet" in err
    result = run(review, "studies", "rename", study, "BREEZE-AD1 (52 weeks)")
    assert result.output == f"study {sid}: renamed 'BREEZE-AD1' → 'BREEZE-AD1 (52 weeks)'\n"


@pytest.mark.parametrize("command", [["extract", "consensus"], ["studies", "rename", "{ref}", "X"],
                                     ["rob", "start"], ["extract", "finish"]])
def test_an_unknown_study_is_one_line_naming_close_labels(review: Review, command: list[str]) -> None:
    sid = add_study(review, "BREEZE-AD1")
    args = [c.format(ref="BREEZ-AD1") for c in command] + ([] if "{ref}" in command else ["BREEZ-AD1"])
    err = one_line_error(run(review, *args))
    assert f"no study 'BREEZ-AD1' (did you mean BREEZE-AD1 (id {sid})?" in err
    err = one_line_error(run(review, *[c.format(ref="zzz") for c in command], *([] if "{ref}" in command
                                                                                 else ["zzz"])))
    assert "no study 'zzz'" in err and "`reviewkit studies` lists their ids and labels" in err


def test_an_ambiguous_label_names_the_studies(review: Review) -> None:
    """Two studies with one label (a database from before labels had to differ): the ids are named."""
    a, b = add_study(review, "BREEZE-AD1"), add_study(review, "BREEZE-AD1")
    err = one_line_error(run(review, "extract", "consensus", "BREEZE-AD1"))
    assert f"study 'BREEZE-AD1' is ambiguous: studies {a}, {b}" in err and "give the study's id" in err


# --- imports of rows already stored ----------------------------------------------------------------------


def test_rob_import_again_reports_rows_already_present(review: Review, tmp_path: Path) -> None:
    """Importing an export back said "16 rows imported" though nothing was stored."""
    assessed(review)
    table = tmp_path / "rob.csv"
    assert run(review, "rob", "export", str(table)).exit_code == 0
    rows = table.read_text(encoding="utf-8").count("\n") - 1
    result = run(review, "rob", "import", str(table))
    assert result.exit_code == 0, result.output
    assert result.output == f"0 rows imported from {table} ({rows} already present, not stored again)\n"
    changed = tmp_path / "changed.csv"
    changed.write_text(ROB_HEADER + "BREEZE-AD1,,bob,no,rob1,,D1,low,\nBREEZE-AD2,,bob,no,rob1,,D1,high,\n",
                       encoding="utf-8")
    add_study(review, "BREEZE-AD2")
    result = run(review, "rob", "import", str(changed))
    assert result.output == f"1 row imported from {changed} (1 already present, not stored again)\n"


def test_extract_import_again_reports_rows_already_present(review: Review, tmp_path: Path) -> None:
    """Importing an export back said "Imported 2 rows, 3 values" though nothing was stored."""
    sid = add_study(review, "BREEZE-AD1")
    extraction.set_arm(review, "alice", sid, "Placebo", n_randomised=120)
    extraction.set_arm(review, "alice", sid, "Baricitinib 4 mg", n_randomised=125)
    for arm, events in (("Placebo", "12"), ("Baricitinib 4 mg", "40")):
        extraction.set_value(review, "alice", sid, "events", events, arm=arm, outcome="iga_0_1")
    table = tmp_path / "table.csv"
    assert run(review, "extract", "export", str(table)).exit_code == 0
    result = run(review, "extract", "import", str(table))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Imported 0 rows, 0 values from {table} (2 already present, "
                                    "not stored again); 0 new studies")
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace(",40,", ",41,"), encoding="utf-8")
    result = run(review, "extract", "import", str(table))
    assert result.output.startswith(f"Imported 1 row, 1 value from {table} (1 already present, "), result.output


# --- dedup: a verdict on a confirmed pair whose merge was undone -------------------------------------------


@pytest.mark.parametrize("verdict", ["confirm", "reject"])
def test_a_verdict_on_an_undone_merge_points_at_reopen(review: Review, verdict: str) -> None:
    pair = uncertain_pair(review)
    group = dedup.decide_pair(review, "bob", pair.id, True).group_id
    assert group is not None
    undo_merge(review, "alice", group)
    err = one_line_error(run(review, "dedup", verdict, str(pair.id)))
    assert "its merge has since been undone" in err
    assert f"reviewkit dedup reopen {pair.id}, then reviewkit dedup {verdict} {pair.id}" in err
    dedup.reopen_pair(review, "alice", pair.id)  # what it says works
    assert run(review, "dedup", verdict, str(pair.id)).exit_code == 0


# --- rob consensus -----------------------------------------------------------------------------------------


def _finish_events(review: Review) -> list[AuditEventRow]:
    with session_scope(review.engine) as s:
        return [e for e in s.exec(select(AuditEventRow).where(AuditEventRow.action == "finish"))
                if e.entity == "rob_judgement"]


def test_a_consensus_recorded_again_unchanged_writes_no_event(review: Review) -> None:
    """`rob consensus 1` again with no options wrote a "finish finished → finished" event each time."""
    assessed(review)
    before = len(_finish_events(review))
    result = run(review, "rob", "consensus", "BREEZE-AD1")
    assert result.exit_code == 0, result.output
    assert len(_finish_events(review)) == before
    result = run(review, "rob", "consensus", "BREEZE-AD1", "--override", "overall=high:a late concern")
    assert result.exit_code == 0, result.output
    assert len(_finish_events(review)) == before  # the override is its own event; the status stays finished


def test_rob1_consensus_lists_each_domain_once(review: Review) -> None:
    """A RoB 1 domain is its own question: it was printed twice, as a question and as a domain."""
    assessed(review)
    result = run(review, "rob", "consensus", "BREEZE-AD1", "--override", "overall=high:a late concern")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for key in ALL_LOW:
        assert sum(line.split()[0] == key for line in lines[1:]) == 1, result.output
    assert [line.split()[:2] for line in lines if line.split()[0] == "overall"] == [["overall", "high"]]


# --- PRISMA before screening -------------------------------------------------------------------------------


def test_prisma_of_an_unscreened_review_says_screening_has_not_started(review: Review, tmp_path: Path) -> None:
    """It led with "reports sought differ from records screened minus records excluded; document why"."""
    ids = add_records(review, 3)
    with pytest.raises(ReviewkitError) as caught:
        write_prisma(review, "svg", tmp_path / "p.svg")
    message = str(caught.value)
    assert message.startswith(f"the PRISMA counts are not final, so no diagram is drawn: screening has not started "
                              f"(none of the 3 records {ids} has a title/abstract decision)")
    assert "reports sought differ" not in message and "reviewkit screen" in message
    result = run(review, "prisma", "--format", "csv", "-o", "-")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: these counts are not final: screening has not started")


@pytest.mark.parametrize("args", [("rob", "show", "3000000000"), ("adjudicate", "3000000000", "include"),
                                  ("dedup", "confirm", "3000000000"), ("audit", "--record", "3000000000")])
def test_an_id_past_what_the_database_holds_is_refused_on_both(review: Review, args: tuple[str, ...]) -> None:
    """A mistyped id of ten digits: SQLite answered "no such …", PostgreSQL (INTEGER) a DataError traceback."""
    result = run(review, *args, reviewer="carol" if args[0] == "adjudicate" else "alice")
    assert result.exit_code == 2, result.output
    assert "3000000000 is not in the range 1<=x<=2147483647" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

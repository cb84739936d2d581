"""Tests for `reviewkit rob` in a review: CSV export/import round trip, bad rows, plots, disagreements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import func, select

from reviewkit.cli import cli
from reviewkit.services import assess, assess_consensus, assess_summary, assess_view
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review, init_review, open_review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RobAnswerRow

ALL_LOW = {"1.1": "Y", "1.2": "PY", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y", "3.1": "Y",
           "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}
HEADER = "study,outcome,assessor,consensus,tool,variant,question,answer,support\n"  # a file of before the judgement columns


def rob2_folder(tmp_path: Path, name: str, studies: list[str]) -> Path:
    """A RoB 2 review folder on SQLite holding the named studies."""
    protocol = tmp_path / f"{name}.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace('tool = "rob1"', 'tool = "rob2"'),
                        encoding="utf-8")
    review = init_review(tmp_path / name, protocol)
    with session_scope(review.engine, write=True) as s:
        for label in studies:
            rob_store.add_study(s, label)
    review.engine.dispose()
    return tmp_path / name


def rob(folder: Path, *args: str, reviewer: str = "alice") -> Result:
    """Run `reviewkit -C folder --reviewer … rob …`."""
    return CliRunner().invoke(cli, ["-C", str(folder), "--reviewer", reviewer, "rob", *args])


def assessed(folder: Path) -> Review:
    """Two finished assessments (bob disagrees on 1.2; alice overrides D5, bob does not), and a consensus
    that settles 1.2 and judges D5 itself (an override is among the differing judgements)."""
    review = open_review(folder)
    a = assess.start_assessment(review, "alice", 1, "IGA").id
    b = assess.start_assessment(review, "bob", 1, "IGA").id
    for qid, code in ALL_LOW.items():
        assess.answer(review, "alice", a, qid, code, support=f"p. {qid}" if qid == "1.1" else None)
        assess.answer(review, "bob", b, qid, "N" if qid == "1.2" else code)
    assess.override(review, "alice", a, "D5", "some concerns", "protocol, plan: late, \"quoted\"")
    assess.finish(review, "alice", a)
    assess.finish(review, "bob", b)
    assess_consensus.record_consensus(review, "carol", 1, "IGA", answers={"1.2": "PY"},
                            overrides={"D5": ("low", "the plan was registered before unblinding")})
    return review


def test_export_reimports_to_the_same_values(tmp_path: Path) -> None:
    """Exporting, importing into a fresh review and exporting again gives the same file and judgements."""
    source = rob2_folder(tmp_path, "a", ["BREEZE-AD1"])
    assessed(source).engine.dispose()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    result = rob(source, "export", str(first))
    assert result.exit_code == 0, result.output
    text = first.read_text(encoding="utf-8")
    assert "BREEZE-AD1,IGA,alice,no,rob2,assignment,D5,some_concerns," in text
    assert "BREEZE-AD1,IGA,carol,yes,rob2,assignment,1.2,PY," in text
    target = rob2_folder(tmp_path, "b", ["BREEZE-AD1"])
    result = rob(target, "import", str(first))
    assert result.exit_code == 0, result.output
    assert rob(target, "export", str(second)).exit_code == 0
    # The consensus is recorded as its importer (alice, a lead), not as the file's carol.
    assert second.read_text(encoding="utf-8") == text.replace(",carol,yes,", ",alice,yes,")
    review = open_review(target)
    (row,) = assess_summary.rob_summary(review)
    assert row.judgements["overall"] == "low"
    views = assess_view.all_views(review)
    assert [v.finished for v in views] == [True, True, True]
    assert views[0].domain("D5").overridden and views[0].supports["1.1"] == "p. 1.1"
    review.engine.dispose()


@pytest.mark.parametrize(("line", "needle"), [
    ("NOPE,IGA,alice,no,rob2,assignment,1.1,Y,", "no study 'NOPE'"),
    ("BREEZE-AD1,IGA,zed,no,rob2,assignment,1.1,Y,", "unknown assessor 'zed'"),
    ("BREEZE-AD1,IGA,alice,no,rob2,assignment,9.1,Y,", "unknown question '9.1'"),
    ("BREEZE-AD1,IGA,alice,no,rob2,assignment,1.2,maybe,", "1.2=maybe"),
    ("BREEZE-AD1,IGA,alice,no,rob2,assignment,2.4,Y,", "does not apply"),
    ("BREEZE-AD1,IGA,alice,no,rob2,assignment,D1,high,", "justification"),
    ("BREEZE-AD1,IGA,alice,no,rob1,,D1,low,", "protocol uses rob2"),
    ("BREEZE-AD1,IGA,alice,no,rob2,assignment,1.2,\x00Y,", "NUL character"),
])
def test_a_bad_row_names_its_line_and_nothing_is_imported(tmp_path: Path, line: str, needle: str) -> None:
    """Any bad row fails the whole import with an error naming line 3; no answer is stored."""
    folder = rob2_folder(tmp_path, "r", ["BREEZE-AD1"])
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(HEADER + "BREEZE-AD1,IGA,alice,no,rob2,assignment,1.1,Y,\n" + line + "\n", encoding="utf-8")
    result = rob(folder, "import", str(csv_file))
    assert result.exit_code == 1
    assert "line 3" in result.stderr and needle in result.stderr, result.stderr
    review = open_review(folder)
    with session_scope(review.engine) as s:
        assert s.exec(select(func.count()).select_from(RobAnswerRow)).one() == 0
    review.engine.dispose()


def test_plot_and_disagreements(tmp_path: Path) -> None:
    """Plots draw the consensus; disagreements --json lists question and domain differences."""
    folder = rob2_folder(tmp_path, "p", ["BREEZE-AD1"])
    assessed(folder).engine.dispose()
    svg = tmp_path / "tl.svg"
    result = rob(folder, "plot", "--kind", "traffic-light", str(svg))
    assert result.exit_code == 0, result.output
    assert "BREEZE-AD1" in svg.read_text(encoding="utf-8")
    assert rob(folder, "plot", "--kind", "summary", str(tmp_path / "s.png")).exit_code == 0
    result = rob(folder, "disagreements", "--json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["assessors"] == ["alice", "bob"]
    keys = [(d["level"], d["key"]) for d in entry["disagreements"]]
    assert ("question", "1.2") in keys and ("domain", "D1") in keys and ("domain", "D5") in keys


def test_assess_from_the_command_line(tmp_path: Path) -> None:
    """start, answer, override and finish work from the CLI; a missing justification is refused."""
    folder = rob2_folder(tmp_path, "c", ["BREEZE-AD1"])
    result = rob(folder, "start", "BREEZE-AD1", "--outcome", "IGA", "--json")
    assert result.exit_code == 0, result.output
    aid = json.loads(result.stdout)["id"]
    for qid, code in ALL_LOW.items():
        assert rob(folder, "answer", str(aid), qid, code).exit_code == 0
    refused = CliRunner().invoke(cli, ["-C", str(folder), "--reviewer", "alice", "rob", "override", str(aid),
                                       "D1", "high", "--justification", " "])
    assert refused.exit_code == 1 and "justification" in refused.stderr
    result = rob(folder, "finish", str(aid))
    assert result.exit_code == 0 and "finished" in result.stdout
    assert "overall  low" in result.stdout


@pytest.mark.parametrize("command", [("rob", "export"), ("export", "rob")])
def test_an_assessors_export_hides_the_other_assessment_until_both_are_finished(tmp_path: Path,
                                                                                 command: tuple[str, str]) -> None:
    """bob (a screener) finished, carol not: bob's file has only his rows and none of carol's answers;
    once carol finishes it has both. alice, the lead, gets carol's unfinished answers all along."""
    folder = rob2_folder(tmp_path, "b", ["BREEZE-AD1"])
    review = open_review(folder)
    b = assess.start_assessment(review, "bob", 1, "IGA").id
    for qid, code in ALL_LOW.items():
        assess.answer(review, "bob", b, qid, code)
    assess.finish(review, "bob", b)
    c = assess.start_assessment(review, "carol", 1, "IGA").id
    assess.answer(review, "carol", c, "1.1", "N", support="carol's draft")

    def exported(reviewer: str) -> set[str]:
        out = tmp_path / f"{reviewer}.csv"
        result = CliRunner().invoke(cli, ["-C", str(folder), "--reviewer", reviewer, *command, str(out)])
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        assert ("carol's draft" in text) == (reviewer in ("alice", "carol"))
        return {line.split(",")[2] for line in text.splitlines()[1:]}

    assert exported("bob") == {"bob"}
    assert exported("alice") == {"bob", "carol"}
    for qid, code in ALL_LOW.items():
        # "" removes her draft note: answering again without a support would keep it.
        assess.answer(review, "carol", c, qid, code, support="")
    assess.finish(review, "carol", c)
    assert exported("bob") == {"bob", "carol"}
    review.engine.dispose()


@pytest.fixture
def rob2_any(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """rob2_folder on each database in turn (the CLI reads REVIEWKIT_DATABASE_URL too)."""
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    return rob2_folder(tmp_path, "any", ["BREEZE-AD1"])


def _stored_answers(folder: Path) -> tuple[int, int]:
    review = open_review(folder)
    with session_scope(review.engine) as s:
        counts = (s.exec(select(func.count()).select_from(RobAnswerRow)).one(),
                  len(rob_store.assessments(s, study_id=1, outcome="IGA")))
    review.engine.dispose()
    return counts


def test_an_unterminated_quote_is_refused_with_file_and_line(rob2_any: Path, tmp_path: Path) -> None:
    """A support whose quote never closes would swallow the rows after it into one cell: the import
    is refused naming the file and the line the quote opened on (after a rightly quoted two-line
    support), and nothing is stored."""
    csv_file = tmp_path / "open.csv"
    csv_file.write_text(HEADER + 'BREEZE-AD1,IGA,alice,no,rob2,assignment,1.1,Y,"p. 3,\ntable 2"\n'
                        'BREEZE-AD1,IGA,alice,no,rob2,assignment,1.2,PY,"p. 4\n'
                        "BREEZE-AD1,IGA,alice,no,rob2,assignment,1.3,N,\n", encoding="utf-8")
    result = rob(rob2_any, "import", str(csv_file))
    assert result.exit_code == 1
    assert f"{csv_file}, line 4: a quote opened on this line is never closed" in result.stderr, result.stderr
    assert _stored_answers(rob2_any) == (0, 0)


def test_a_bad_row_after_a_multiline_support_names_its_own_line(rob2_any: Path, tmp_path: Path) -> None:
    """Lines are the file's: a support over three lines puts the next row on line 5, and the error says so."""
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(HEADER + 'BREEZE-AD1,IGA,alice,no,rob2,assignment,1.1,Y,"p. 3\nline two\nline three"\n'
                        "BREEZE-AD1,IGA,alice,no,rob2,assignment,1.2,maybe,\n", encoding="utf-8")
    result = rob(rob2_any, "import", str(csv_file))
    assert result.exit_code == 1
    assert f"{csv_file}, line 5:" in result.stderr and "1.2=maybe" in result.stderr, result.stderr
    assert _stored_answers(rob2_any) == (0, 0)
    csv_file.write_text(HEADER + 'BREEZE-AD1,IGA,alice,no,rob2,assignment,1.1,Y,"p. 3\nline two"\n', encoding="utf-8")
    assert rob(rob2_any, "import", str(csv_file)).exit_code == 0
    review = open_review(rob2_any)
    (view,) = assess_view.all_views(review)
    review.engine.dispose()
    assert view.supports["1.1"] == "p. 3\nline two"


def test_start_refuses_a_slip_of_a_used_outcome_and_new_outcome_goes_on(rob2_any: Path, tmp_path: Path) -> None:
    """`rob start` with a slip of a result name already used exits 1 naming it and --new-outcome, storing
    nothing; --new-outcome starts it as a new result; a case variant is read as the name used (a note says
    so on stderr, the JSON on stdout still parses). `rob import --new-outcome NAME` lets a file's in."""
    assert rob(rob2_any, "start", "BREEZE-AD1", "--outcome", "IGA 0/1 week 16").exit_code == 0
    refused = rob(rob2_any, "start", "BREEZE-AD1", "--outcome", "IGA 0/1 wek 16", reviewer="bob")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "'IGA 0/1 week 16'" in refused.stderr and "--new-outcome" in refused.stderr, refused.stderr
    resumed = rob(rob2_any, "start", "BREEZE-AD1", "--outcome", "iga 0/1 WEEK 16 ", "--json", reviewer="bob")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["outcome"] == "IGA 0/1 week 16"
    assert "read as 'IGA 0/1 week 16'" in resumed.stderr
    new = rob(rob2_any, "start", "BREEZE-AD1", "--outcome", "IGA 0/1 wek 16", "--new-outcome", "--json")
    assert new.exit_code == 0, new.output
    assert json.loads(new.stdout)["outcome"] == "IGA 0/1 wek 16" and new.stderr == ""
    csv_file = tmp_path / "slip.csv"
    csv_file.write_text(HEADER + "BREEZE-AD1,IGA 0/1 weke 16,bob,no,rob2,assignment,1.1,Y,\n", encoding="utf-8")
    result = rob(rob2_any, "import", str(csv_file), reviewer="bob")
    assert result.exit_code == 1 and "line 2" in result.stderr and "--new-outcome" in result.stderr, result.stderr
    result = rob(rob2_any, "import", str(csv_file), "--new-outcome", "IGA 0/1 weke 16", reviewer="bob")
    assert result.exit_code == 0 and "1 row imported" in result.stdout, result.output
    review = open_review(rob2_any)
    with session_scope(review.engine) as s:
        assert sorted(a.outcome for a in rob_store.assessments(s)) == sorted(
            ["IGA 0/1 week 16", "IGA 0/1 week 16", "IGA 0/1 wek 16", "IGA 0/1 weke 16"])
    review.engine.dispose()


def test_a_rob1_import_names_the_domain_of_a_bad_judgement(review_dir: Path) -> None:
    """A RoB 1 file's row with an unknown judgement is refused on its line, naming its domain."""
    review = open_review(review_dir)
    with session_scope(review.engine, write=True) as s:
        rob_store.add_study(s, "BREEZE-AD1")
    review.engine.dispose()
    csv_file = review_dir / "rob1.csv"
    csv_file.write_text(HEADER + "BREEZE-AD1,iga_0_1,bob,no,rob1,,D1,low,computer list\n"
                                 "BREEZE-AD1,iga_0_1,bob,no,rob1,,D5,sometimes,\n", encoding="utf-8")
    result = rob(review_dir, "import", str(csv_file), reviewer="bob")
    assert result.exit_code == 1, result.output
    assert "line 3: D5: unknown RoB 1 judgement 'sometimes'" in result.stderr, result.stderr

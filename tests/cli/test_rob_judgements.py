"""`reviewkit rob` and the judgements: the escalation choice, the consensus of overrides, the CSV's judgement rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewkit.services import assess, assess_view
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review, init_review, open_review
from reviewkit.store import rob as rob_store
from reviewkit.store.db import session_scope
from tests.cli.test_rob_io import ALL_LOW, rob, rob2_folder

#: D4 and D5 at Some concerns, the rest Low.
TWO_CONCERNS = {**ALL_LOW, "4.2": "NI", "5.1": "N"}


@pytest.fixture
def folder(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A RoB 2 review with BREEZE-AD1, on each database in turn."""
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    return rob2_folder(tmp_path, "r", ["BREEZE-AD1"])


@pytest.fixture
def on_sqlite_then_each(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A RoB 2 review with BREEZE-AD1 on SQLite, to export from. A round trip needs two databases at once,
    and REVIEWKIT_DATABASE_URL names one for every folder, so the source is SQLite and the review the
    test imports into (`into`) is on each database in turn."""
    monkeypatch.delenv("REVIEWKIT_DATABASE_URL", raising=False)
    yield rob2_folder(tmp_path, "source", ["BREEZE-AD1"])


def into(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """The review to import into: BREEZE-AD1 on the test's database (from here on, the CLI's too)."""
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    return rob2_folder(tmp_path, name, ["BREEZE-AD1"])


def started(folder: Path, who: str, answers: dict[str, str], outcome: str = "IGA") -> int:
    """`who`'s assessment of BREEZE-AD1's outcome, answered through the CLI; its id."""
    result = rob(folder, "start", "BREEZE-AD1", "--outcome", outcome, "--json", reviewer=who)
    assert result.exit_code == 0, result.output
    aid = int(json.loads(result.stdout)["id"])
    for qid, code in answers.items():
        assert rob(folder, "answer", str(aid), qid, code, reviewer=who).exit_code == 0
    return aid


def test_finish_asks_the_escalation_choice(folder: Path) -> None:
    """Two Some concerns: `rob show` says the choice is open and how to make it; `rob finish` is refused
    (nothing finished) until --escalate with --reason makes it; the choice then shows with its reason."""
    aid = started(folder, "alice", TWO_CONCERNS)
    shown = rob(folder, "show", str(aid))
    assert "Some concerns in D4, D5" in shown.stdout and f"rob finish {aid} --escalate yes|no" in shown.stdout
    refused = rob(folder, "finish", str(aid))
    assert refused.exit_code == 1 and "--escalate yes|no" in refused.stderr, refused.output
    assert json.loads(rob(folder, "show", str(aid), "--json").stdout)["finished"] is False
    assert rob(folder, "finish", str(aid), "--escalate", "no").exit_code == 1  # no reason
    done = rob(folder, "finish", str(aid), "--escalate", "no", "--reason", "minor, separate sources")
    assert done.exit_code == 0, done.output
    assert "· finished" in done.stdout
    assert "overall  some concerns (not escalated to High: minor, separate sources)" in done.stdout
    assert "decide whether" not in done.stdout


def test_a_one_sided_override_holds_up_the_consensus(folder: Path) -> None:
    """alice overrides D3 to High, bob does not: `rob disagreements` says the consensus must judge D3 (text
    and JSON, with alice's reason); `rob consensus` exits 1 naming it; with --override it records High."""
    a = started(folder, "alice", ALL_LOW)
    assert rob(folder, "override", str(a), "D3", "high", "--justification", "30% dropout").exit_code == 0
    assert rob(folder, "finish", str(a)).exit_code == 0
    b = started(folder, "bob", ALL_LOW)
    assert rob(folder, "finish", str(b), reviewer="bob").exit_code == 0
    listed = rob(folder, "disagreements", reviewer="carol")
    assert "domain D3: alice high (with the reason: 30% dropout) vs bob low" in listed.stdout, listed.output
    assert "the consensus must judge it (--override D3=JUDGEMENT:justification)" in listed.stdout
    (entry,) = json.loads(rob(folder, "disagreements", "--json", reviewer="carol").stdout)
    d3 = next(d for d in entry["disagreements"] if d["key"] == "D3")
    assert (d3["a_reason"], d3["b_reason"], d3["to_decide"]) == ("30% dropout", None, True)
    refused = rob(folder, "consensus", "BREEZE-AD1", "--outcome", "IGA", reviewer="carol")
    assert refused.exit_code == 1 and "D3" in refused.stderr and "assessment 3" not in refused.stderr
    done = rob(folder, "consensus", "BREEZE-AD1", "--outcome", "IGA", "--override", "D3=high:30% dropout, agreed",
               reviewer="carol")
    assert done.exit_code == 0, done.output
    summary = json.loads(rob(folder, "summary", "--json").stdout)
    assert summary[0]["judgements"]["D3"] == "high" and summary[0]["judgements"]["overall"] == "high"


def test_consensus_outcome_slip_suggests_the_name(folder: Path) -> None:
    """`rob consensus --outcome` with a slip of the assessed result names it (assess_outcomes' rule: the
    same numbers, a letter or two off)."""
    for who in ("alice", "bob"):
        aid = started(folder, who, ALL_LOW, "EASI 75 week 16")
        assert rob(folder, "finish", str(aid), reviewer=who).exit_code == 0
    result = rob(folder, "consensus", "BREEZE-AD1", "--outcome", "ESAI 75 week 16", reviewer="carol")
    assert result.exit_code == 1 and "no assessment of 'ESAI 75 week 16'" in result.stderr
    assert "did you mean 'EASI 75 week 16'?" in result.stderr, result.stderr


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_has_every_judgement_and_imports_back(on_sqlite_then_each: Path, tmp_path: Path, database_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each domain and the overall get a row (final, proposed, overridden, reason), the escalation choice
    among them; imported into a fresh review the assessments come back finished with the same
    judgements, and exporting again gives the same rows."""
    folder = on_sqlite_then_each
    a = started(folder, "alice", TWO_CONCERNS)
    assert rob(folder, "override", str(a), "D3", "high", "--justification", "30% dropout").exit_code == 0
    assert rob(folder, "finish", str(a)).exit_code == 0  # D3 High: no choice to make
    b = started(folder, "bob", TWO_CONCERNS)
    assert rob(folder, "finish", str(b), "--escalate", "yes", "--reason", "together serious", reviewer="bob"
               ).exit_code == 0
    first = tmp_path / "first.csv"
    assert rob(folder, "export", str(first)).exit_code == 0
    judged = {(r["assessor"], r["question"]): (r["answer"], r["proposed"], r["overridden"], r["support"])
              for r in rows(first) if not r["question"][0].isdigit()}
    assert judged[("alice", "D3")] == ("high", "low", "yes", "30% dropout")
    assert judged[("alice", "D4")] == ("some_concerns", "some_concerns", "no", "")
    assert judged[("alice", "overall")] == ("high", "high", "no", "")
    assert judged[("bob", "overall")] == ("high", "some_concerns", "yes", "together serious")
    assert {k[1] for k in judged} == {"D1", "D2", "D3", "D4", "D5", "overall"}
    target = into(tmp_path, database_url, monkeypatch, "copy")
    imported = rob(target, "import", str(first))
    assert imported.exit_code == 0, imported.output
    second = tmp_path / "second.csv"
    assert rob(target, "export", str(second)).exit_code == 0
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
    review = open_review(target)
    assert [v.finished for v in assess_view.all_views(review)] == [True, True]
    review.engine.dispose()


def test_an_answer_edited_against_its_judgement_row_is_refused(on_sqlite_then_each: Path, tmp_path: Path,
                                                               database_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """alice's D1 row says proposed Low; the file's 1.2 is edited to N (the answers now give High): the
    import refuses on the D1 row's line rather than read its Low as an unjustified override. A file
    that leaves the escalation choice open imports, but its assessment stays open, and the import says so."""
    folder = on_sqlite_then_each
    a = started(folder, "alice", ALL_LOW)
    assert rob(folder, "finish", str(a)).exit_code == 0
    path = tmp_path / "x.csv"
    assert rob(folder, "export", str(path)).exit_code == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line.replace(",1.2,PY,", ",1.2,N,") for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = into(tmp_path, database_url, monkeypatch, "edited")
    result = rob(target, "import", str(path))
    d1_line = next(i for i, line in enumerate(lines, start=1) if ",D1,low," in line)
    assert result.exit_code == 1 and f"line {d1_line}" in result.stderr, result.stderr
    assert "proposed judgement is low, but the answers give high" in result.stderr
    # Without the proposed cell the row is read against the answers: Low over their High is an override.
    path.write_text("\n".join(line.replace(",D1,low,,low,no", ",D1,low,,,") for line in lines) + "\n",
                    encoding="utf-8")
    result = rob(target, "import", str(path))
    assert result.exit_code == 1 and "needs its justification" in result.stderr, result.stderr
    # A file whose judgement rows leave the escalation choice open imports, left open, and says so.
    open_choice = tmp_path / "open.csv"
    open_choice.write_text("study,outcome,assessor,consensus,tool,variant,question,answer,support\n" + "".join(
        f"BREEZE-AD1,IGA,bob,no,rob2,assignment,{q},{c},\n" for q, c in TWO_CONCERNS.items()), encoding="utf-8")
    result = rob(target, "import", str(open_choice))
    assert result.exit_code == 0, result.output
    assert "left open" in result.stderr and "escalate" in result.stderr


def test_rob1_export_has_the_summary_row(tmp_path: Path) -> None:
    """RoB 1: the domain rows are the answers; the summary gets its judgement row."""
    protocol = tmp_path / "p.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8"), encoding="utf-8")
    review: Review = init_review(tmp_path / "r1", protocol)
    with session_scope(review.engine, write=True) as s:
        rob_store.add_study(s, "BREEZE-AD1")
    aid = assess.start_assessment(review, "bob", 1).id
    for i in range(1, 8):
        assess.answer(review, "bob", aid, f"D{i}", "unclear" if i == 3 else "low")
    assess.finish(review, "bob", aid)
    review.engine.dispose()
    path = tmp_path / "r1.csv"
    assert rob(tmp_path / "r1", "export", str(path)).exit_code == 0
    overall = [r for r in rows(path) if r["question"] == "overall"]
    assert [(r["answer"], r["proposed"], r["overridden"]) for r in overall] == [("unclear", "unclear", "no")]
    assert len(rows(path)) == 8


def test_finish_says_an_escalation_choice_lapsed(folder: Path) -> None:
    """Escalated, reopened, then D5 back to Low: `rob finish` finishes at Some concerns and says that the
    escalation choice no longer applies, with its reason."""
    aid = started(folder, "alice", TWO_CONCERNS)
    assert rob(folder, "finish", str(aid), "--escalate", "yes", "--reason", "together serious").exit_code == 0
    assert rob(folder, "reopen", str(aid)).exit_code == 0
    assert rob(folder, "answer", str(aid), "5.1", "Y").exit_code == 0
    done = rob(folder, "finish", str(aid))
    assert done.exit_code == 0, done.output
    assert "· finished" in done.stdout and "overall  some concerns" in done.stdout
    assert "note: the escalation choice recorded for the overall, High (escalated): together serious, no longer " \
           "applies" in done.stdout

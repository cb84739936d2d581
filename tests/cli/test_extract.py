"""Tests for `reviewkit extract`: export/import round trips (CSV, XLSX), bad rows, differences, consensus."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services import extract
from reviewkit.services.extract_consensus import record_consensus
from reviewkit.services.extract_convert import convert
from reviewkit.services.extract_io import extraction_rows, read_table
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review, init_review, open_review
from reviewkit.store.db import session_scope
from reviewkit.store.tables import StudyRow
from tests.extraction_required import fill_required


def run(folder: Path, *args: str, reviewer: str | None = None) -> tuple[int, str, str]:
    """Invoke the CLI on a review folder; exit code, stdout, stderr."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    result = CliRunner().invoke(cli, [*pre, "extract", *args])
    return result.exit_code, result.stdout, result.stderr


def _fill(review: Review) -> None:
    """Two extractors, a consensus, study and arm fields, a converted SD."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1", nct_id="NCT03334396").id
    for who, events in (("alice", "12"), ("bob", "13")):
        extract.set_value(review, who, sid, "trial_name", "BREEZE-AD1")
        extract.set_value(review, who, sid, "tcs", "no")
        extract.set_arm(review, who, sid, "Placebo", intervention="placebo", n_randomised=249, fields={"dose_mg": 0})
        extract.set_arm(review, who, sid, "Baricitinib 4 mg, once daily", intervention="baricitinib",
                        dose="4 mg", n_randomised=125, fields={"dose_mg": 4})
        extract.set_arm(review, who, sid, "Baricitinib 1 mg", dose="1 mg")
        extract.set_value(review, who, sid, "events", events, arm="Placebo", outcome="iga_0_1")
        extract.set_value(review, who, sid, "total", "249", arm="Placebo", outcome="iga_0_1")
        for field, value in (("n", "120"), ("mean", "-3.25"), ("se", "0.47")):
            extract.set_value(review, who, sid, field, value, arm="Baricitinib 4 mg, once daily",
                              outcome="dlqi_change")
        convert(review, who, sid, arm="Baricitinib 4 mg, once daily", outcome="dlqi_change")
        finish_extraction(review, who, sid)  # the consensus waits for both
    record_consensus(review, "carol", sid, take={"value|Placebo|iga_0_1|week 16|events": "alice"})
    extract.create_study(review, "alice", "Empty study")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_into_a_fresh_review_gives_the_same_table(review: Review, tmp_path: Path,
                                                                      suffix: str) -> None:
    """Every value, arm, study field, consensus flag and conversion record survives the round trip."""
    _fill(review)
    out = tmp_path / f"table{suffix}"
    code, stdout, _ = run(review.folder, "export", str(out), reviewer="alice")  # a lead: every extractor
    assert code == 0 and re.search(r"Wrote \d+ rows to ", stdout)
    fresh = init_review(tmp_path / "fresh")
    if str(fresh.engine.url) != str(review.engine.url):  # on PostgreSQL both share the test database
        # The consensus rows wait until both extractions are finished in the fresh review too.
        code, _, err = run(fresh.folder, "import", str(out), *NEW, reviewer="alice")
        assert code == 1 and "consensus: alice may not write study 1's consensus" in err and "finish" in err
    independent = tmp_path / f"independent{suffix}"
    _without_consensus(out, independent)
    if str(fresh.engine.url) != str(review.engine.url):  # on PostgreSQL both share the test database (and study)
        code, stdout, err = run(fresh.folder, "import", str(independent), reviewer="alice")
        assert code == 1 and "line 2, study: no study 'BREEZE-AD1' in this review" in err  # not created unasked
        assert "--new-study 'BREEZE-AD1'" in err and "line 3, study" not in err  # said once, on its first line
    code, stdout, err = run(fresh.folder, "import", str(independent), *NEW, reviewer="alice")
    assert code == 0, err
    assert "1 new study (BREEZE-AD1)" in stdout or str(fresh.engine.url) == str(review.engine.url)
    for who in ("alice", "bob"):
        assert run(fresh.folder, "finish", "BREEZE-AD1", reviewer=who)[0] == 0
    code, stdout, err = run(fresh.folder, "import", str(out), *NEW, reviewer="alice")  # the same rows, and the consensus
    assert code == 0, err
    before = [r for r in extraction_rows(review, "alice") if r["study"] != "Empty study"]
    after = extraction_rows(open_review(fresh.folder), "alice")
    # The consensus is recorded as its importer, not as whoever the file says wrote it (carol).
    assert any(r["consensus"] == "yes" and r["extractor"] == "carol" for r in before)
    if str(fresh.engine.url) != str(review.engine.url):  # on PostgreSQL both share the test database
        assert all(r["extractor"] == "alice" for r in after if r["consensus"] == "yes")
    assert len(after) == len(before)
    assert after == [{**r, "extractor": a["extractor"]} if r["consensus"] == "yes" else r
                     for r, a in zip(before, after, strict=True)]
    sd_row = next(r for r in after if r["outcome"] == "dlqi_change" and r["consensus"] == "no")
    assert json.loads(sd_row["converted_from"])["sd"]["inputs"] == {"SE": 0.47, "n": 120}


#: The import's declaration of the study it creates in a fresh review.
NEW = ("--new-study", "BREEZE-AD1")


def _without_consensus(table: Path, dest: Path) -> None:
    """A copy of an exported table without its consensus rows."""
    rows = [cells for _, cells in read_table(table, ("intervention",)) if cells["consensus"] != "yes"]
    if table.suffix == ".csv":
        with dest.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for cells in rows:
        sheet.append(list(cells.values()))
    book.save(dest)


def test_csv_layout(review: Review, tmp_path: Path) -> None:
    """One row per study × arm × outcome × timepoint per extractor, columns in the documented order."""
    _fill(review)
    out = tmp_path / "t.csv"
    run(review.folder, "export", str(out), reviewer="alice")
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:10] == ["study", "nct_id", "arm", "intervention", "dose", "co_intervention",
                           "n_randomised", "outcome", "timepoint", "unit"]
    assert header[10:23] == ["events", "total", "mean", "sd", "se", "ci_lower", "ci_upper", "median", "q1",
                             "q3", "min", "max", "n"]
    assert header[23:27] == ["extractor", "consensus", "converted_from", "arm.dose_mg"]
    alice = [(r["arm"], r["outcome"], r["unit"]) for r in rows if r["extractor"] == "alice"]
    # dlqi_change's protocol unit is "points"; iga_0_1 has none, nor has a row without an outcome.
    assert alice == [("Placebo", "iga_0_1", ""), ("Baricitinib 4 mg, once daily", "dlqi_change", "points"),
                     ("Baricitinib 1 mg", "", "")]
    assert {r["study.tcs"] for r in rows if r["study"] == "BREEZE-AD1"} == {"no"}


def test_bad_rows_import_nothing_and_name_line_and_field(review: Review, tmp_path: Path) -> None:
    """Errors name each bad line and field; not one row is imported."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "study,arm,outcome,timepoint,events,total,extractor,consensus,arm.dose_mg,study.tcs\n"
        "S1,Placebo,iga_0_1,week 16,10,100,alice,no,0,yes\n"
        "S1,Placebo,iga_0_1,week 16,,,alice,no,0,maybe\n"
        "S2,Active,easi75,week 16,120,100,bob,no,4,\n"
        "S3,Active,easi75,week 16,1,2,zoe,no,,\n", encoding="utf-8")
    code, out, err = run(review.folder, "import", str(bad), *_new("S1", "S2", "S3"), reviewer="alice")
    assert code == 1 and out == ""
    assert "line 3, study.tcs: 'maybe' differs from 'yes' on line 2" in err
    assert "line 4, events: events (120) cannot exceed the total (100)" in err
    assert "line 4, total" not in err  # one problem, said once, on the count that causes it
    assert "line 5, extractor: unknown reviewer 'zoe'" in err
    assert "nothing imported" in err
    assert extract.list_studies(review) == []


def _new(*labels: str) -> list[str]:
    """--new-study for each label: the studies a test's file brings into an empty review."""
    return [arg for label in labels for arg in ("--new-study", label)]


def test_import_refuses_unknown_columns_and_missing_ones(review: Review, tmp_path: Path) -> None:
    """A file without the key columns, or with a column the table lacks, is refused whole."""
    bad = tmp_path / "bad.csv"
    bad.write_text("study,arm\nS1,Placebo\n", encoding="utf-8")
    code, _, err = run(review.folder, "import", str(bad), reviewer="alice")
    assert code == 1 and "line 1" in err and "outcome" in err
    bad.write_text("study,arm,outcome,timepoint,extractor,colour\nS1,,,,alice,red\n", encoding="utf-8")
    code, _, err = run(review.folder, "import", str(bad), reviewer="alice")
    assert code == 1 and "line 1, colour: not a column" in err


def test_differences_and_consensus_commands(review: Review) -> None:
    """`differences --json` lists values side by side; `consensus --take` settles them."""
    _fill(review)
    sid = extract.create_study(review, "alice", "BREEZE-AD2").id
    for who, total in (("alice", "244"), ("bob", "224")):
        fill_required(review, who, sid)
        extract.set_arm(review, who, sid, "Placebo")
        extract.set_value(review, who, sid, "total", total, arm="Placebo", outcome="easi75")
    code, _, err = run(review.folder, "consensus", str(sid), reviewer="carol")
    assert code == 1 and f"may not write study {sid}'s consensus yet" in err and "(0 of 2 finished)" in err
    for who in ("alice", "bob"):
        assert run(review.folder, "finish", str(sid), reviewer=who)[0] == 0
    code, out, _ = run(review.folder, "differences", "--study", str(sid), "--json", reviewer="alice")
    assert code == 0
    (item,) = json.loads(out)
    assert item["extractors"] == ["alice", "bob"]
    assert [(d["key"], d["values"], d["consensus"]) for d in item["differences"]] == [
        ("value|Placebo|easi75|week 16|total", {"alice": "244", "bob": "224"}, None)]
    code, out, _ = run(review.folder, "consensus", str(sid), reviewer="carol")
    assert code == 0 and "still differs: value|Placebo|easi75|week 16|total" in out
    code, out, _ = run(review.folder, "consensus", str(sid), "--take",
                       "value|Placebo|easi75|week 16|total=alice", reviewer="carol")
    assert code == 0 and "still differs" not in out
    code, out, _ = run(review.folder, "differences", reviewer="alice")
    assert code == 0 and "value|Placebo|easi75|week 16|total: alice=244  bob=224  → consensus 244" in out
    assert "study 2: extractors none; 0 differences" in out


def test_differences_mark_an_arm_removed_from_the_consensus(review: Review) -> None:
    """bob's stray arm, removed from the consensus, needs no choice: `differences` says so (it read as a
    difference waiting for one, which `consensus` no longer lists)."""
    sid = extract.create_study(review, "alice", "BREEZE-AD2").id
    for who in ("alice", "bob"):
        fill_required(review, who, sid)
        extract.set_arm(review, who, sid, "Placebo")
        extract.set_value(review, who, sid, "total", "244", arm="Placebo", outcome="easi75")
    extract.set_arm(review, "bob", sid, "Plac")
    extract.set_value(review, "bob", sid, "total", "9", arm="Plac", outcome="easi75")
    for who in ("alice", "bob"):
        assert run(review.folder, "finish", str(sid), reviewer=who)[0] == 0
    code, out, _ = run(review.folder, "differences", "--study", str(sid), reviewer="alice")
    assert code == 0 and "value|Plac|easi75|week 16|total: alice=—  bob=9\n" in out
    assert run(review.folder, "remove-arm", str(sid), "Plac", "--consensus", reviewer="carol")[0] == 0
    code, out, _ = run(review.folder, "differences", "--study", str(sid), reviewer="alice")
    assert code == 0 and "value|Plac|easi75|week 16|total: alice=—  bob=9  → arm removed from the consensus" in out
    code, out, _ = run(review.folder, "differences", "--study", str(sid), "--json", reviewer="alice")
    (item,) = json.loads(out)
    assert {d["key"] for d in item["differences"] if d["arm_removed"]} == {
        d["key"] for d in item["differences"] if d["arm"] == "Plac"} != set()


def test_differences_and_consensus_keep_extraction_blinded(review: Review) -> None:
    """No --reviewer: refused. bob, who alone extracted a study, must finish and then waits for the second
    finished extraction; on a study only alice extracted he is a bystander: refused there too, and his
    consensus stores nothing. carol (the adjudicator) compares any study; once alice has extracted bob's
    study too and both have finished (`extract finish`), bob compares it."""
    sid = extract.create_study(review, "alice", "BREEZE-AD2").id
    other = extract.create_study(review, "alice", "BREEZE-AD4").id
    extract.set_arm(review, "bob", sid, "Placebo")
    extract.set_value(review, "bob", sid, "total", "224", arm="Placebo", outcome="easi75")
    fill_required(review, "bob", sid)
    extract.set_arm(review, "alice", other, "Placebo")
    extract.set_value(review, "alice", other, "total", "244", arm="Placebo", outcome="easi75")
    code, out, err = run(review.folder, "differences", "--json")
    assert code == 1 and "no reviewer given" in err and out == ""
    code, out, err = run(review.folder, "differences", "--study", str(sid), reviewer="bob")
    assert code == 1 and "finish your own extraction first" in err and "224" not in out + err
    code, out, err = run(review.folder, "differences", "--study", str(other), "--json", reviewer="bob")
    assert code == 1 and "only its extractors, leads and adjudicators" in err and "244" not in out + err
    code, out, err = run(review.folder, "consensus", str(other), "--value",
                         "value|Placebo|easi75|week 16|total=1", reviewer="bob")
    assert code == 1 and "bob may not compare" in err and "244" not in out + err
    assert extract.study_form(review, "alice", other, consensus=True).values == ()
    code, out, _ = run(review.folder, "differences", reviewer="bob")
    assert code == 0 and "224" not in out and "244" not in out and "No study's extractions are open to bob" in out
    code, out, _ = run(review.folder, "differences", "--json", reviewer="carol")
    assert code == 0 and [(i["study_id"], i["extractors"]) for i in json.loads(out)] == [
        (sid, ["bob"]), (other, ["alice"])]
    extract.set_arm(review, "alice", sid, "Placebo")
    extract.set_value(review, "alice", sid, "total", "244", arm="Placebo", outcome="easi75")
    fill_required(review, "alice", sid)
    code, out, _ = run(review.folder, "differences", reviewer="bob")
    assert code == 0 and "244" not in out and "No study's extractions are open to bob" in out
    for who in ("bob", "alice"):
        code, _, err = run(review.folder, "finish", "BREEZE-AD2", reviewer=who)
        assert code == 0, err
    code, out, _ = run(review.folder, "differences", "--json", reviewer="bob")
    assert code == 0
    (item,) = json.loads(out)
    assert item["study_id"] == sid and item["differences"][0]["values"] == {"alice": "244", "bob": "224"}
    code, out, _ = run(review.folder, "consensus", str(sid), reviewer="bob")
    assert code == 0 and "still differs: value|Placebo|easi75|week 16|total: alice=244  bob=224" in out


def test_scripted_extraction_with_set_arm_and_convert(review: Review) -> None:
    """A whole arm can be extracted from the shell; refusals print the reason and exit 1."""
    code, out, _ = run(review.folder, "add-study", "BREEZE-AD4", "--nct", "NCT03428100", reviewer="alice")
    assert code == 0 and "Study 1: BREEZE-AD4 NCT03428100" in out
    code, _, err = run(review.folder, "arm", "1", "Placebo", "--n", "93", "--field", "dose_mg=0",
                       reviewer="alice")
    assert code == 0, err
    for field, value in (("n", "93"), ("mean", "-6.1"), ("ci_lower", "-7.2"), ("ci_upper", "-5.0")):
        code, _, err = run(review.folder, "set", "1", field, value, "--arm", "Placebo", "--outcome",
                           "dlqi_change", reviewer="alice")
        assert code == 0, err
    code, out, _ = run(review.folder, "convert", "1", "--arm", "Placebo", "--outcome", "dlqi_change",
                       reviewer="alice")
    assert code == 0 and out.startswith("sd = 5.412") and "95% CI of mean" in out
    code, _, err = run(review.folder, "set", "1", "tcs", "maybe", reviewer="alice")
    assert code == 1 and "tcs: 'maybe' is not yes or no" in err
    code, out, _ = run(review.folder, "studies")
    assert out.strip() == "1\tBREEZE-AD4\tNCT03428100\t0 reports"


def test_a_statistic_that_is_no_number_names_line_and_column(review: Review, tmp_path: Path) -> None:
    """events = abc is refused on its line and column, as `extract set` refuses it; nothing is stored."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "study,arm,outcome,timepoint,events,total,extractor,consensus\n"
        "S1,Placebo,iga_0_1,week 16,10,100,alice,no\n"
        "S1,Active,iga_0_1,week 16,abc,100,alice,no\n", encoding="utf-8")
    code, out, err = run(review.folder, "import", str(bad), *_new("S1"), reviewer="alice")
    assert code == 1 and out == ""
    assert err.startswith("error: bad.csv: nothing imported: line 3, events: ") and "'abc' is not a number" in err
    assert "Traceback" not in err and "line 3, total" not in err  # the good cell is not blamed
    assert extract.list_studies(review) == []


def test_new_study_with_an_existing_studys_nct_id_is_refused(review: Review, tmp_path: Path) -> None:
    """A misspelt label would split a trial in two: the row is refused, naming the study that has the NCT id."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1", nct_id="NCT03334396").id
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "study,nct_id,arm,outcome,timepoint,extractor,consensus,study.tcs\n"
        "BREEZE-AD11,NCT03334396,,,,alice,no,no\n", encoding="utf-8")
    for declared in ((), _new("BREEZE-AD11")):  # declared new or not, the NCT id names the study
        code, _, err = run(review.folder, "import", str(bad), *declared, reviewer="alice")
        assert code == 1
        assert (f"line 2, study: no study 'BREEZE-AD11', and NCT03334396 is the NCT id of study 'BREEZE-AD1' "
                f"(id {sid})") in err
    assert [s.label for s in extract.list_studies(review)] == ["BREEZE-AD1"]


def test_an_nct_id_stored_in_another_hand_still_names_its_study(review: Review, tmp_path: Path) -> None:
    """An id stored as 'nct 03334396' (an archive, a hand edit) is the same trial as NCT03334396 in the file."""
    with session_scope(review.engine, write=True) as session:
        session.add(StudyRow(label="BREEZE-AD1", nct_id="nct 03334396", created_by="alice"))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "study,nct_id,arm,outcome,timepoint,extractor,consensus,study.tcs\n"
        "BREEZE-AD11,NCT03334396,,,,alice,no,no\n", encoding="utf-8")
    code, _, err = run(review.folder, "import", str(bad), reviewer="alice")
    assert code == 1 and "NCT03334396 is the NCT id of study 'BREEZE-AD1'" in err
    assert [s.label for s in extract.list_studies(review)] == ["BREEZE-AD1"]


def test_two_new_studies_with_one_nct_id_in_a_file_are_refused(review: Review, tmp_path: Path) -> None:
    """The second label with the same NCT id in one file is refused too (the first is new in the same import)."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "study,nct_id,arm,outcome,timepoint,extractor,consensus,study.tcs\n"
        "BREEZE-AD1,NCT03334396,,,,alice,no,no\n"
        "BREEZE-AD1b,NCT03334396,,,,alice,no,no\n", encoding="utf-8")
    code, _, err = run(review.folder, "import", str(bad), *_new("BREEZE-AD1", "BREEZE-AD1b"), reviewer="alice")
    assert code == 1 and "line 3, study: no study 'BREEZE-AD1b', and NCT03334396 is the NCT id" in err
    assert extract.list_studies(review) == []


def test_add_study_with_an_existing_studys_nct_id_is_refused(review: Review) -> None:
    """add-study, like import, refuses a second study of one trial and names the study that has the NCT id."""
    code, out, err = run(review.folder, "add-study", "BREEZE-AD4", "--nct", "NCT03428100", reviewer="alice")
    assert code == 0, err
    code, out, err = run(review.folder, "add-study", "BREEZE AD4", "--nct", "nct 03428100", reviewer="bob")
    assert code == 1 and out == ""
    assert err.strip() == ("error: NCT03428100 is already the NCT id of study 'BREEZE-AD4' (id 1) "
                           "(a trial is one study: use study 1)")
    code, out, _ = run(review.folder, "studies")
    assert out.strip() == "1\tBREEZE-AD4\tNCT03428100\t0 reports"


def test_an_unterminated_quote_is_refused_with_file_and_line(review: Review, tmp_path: Path) -> None:
    """A quote never closed would make the rest of the file one cell (S2 silently lost): refused with the
    file and the line the quote opened on, after a rightly quoted two-line country; nothing is stored."""
    bad = tmp_path / "open.csv"
    bad.write_text(
        "study,arm,outcome,timepoint,events,total,extractor,consensus,study.country\n"
        'S1,Placebo,iga_0_1,week 16,10,100,alice,no,"United\nStates"\n'
        'S1,Active,iga_0_1,week 16,12,100,alice,no,"Japan\n'
        "S2,Active,iga_0_1,week 16,12,100,alice,no,\n", encoding="utf-8")
    code, out, err = run(review.folder, "import", str(bad), reviewer="alice")
    assert code == 1 and out == ""
    assert f"{bad}, line 4: a quote opened on this line is never closed" in err, err
    assert extract.list_studies(review) == []


def test_a_bad_row_spanning_lines_and_the_row_after_it_name_their_first_lines(review: Review, tmp_path: Path) -> None:
    """Line numbers are where a row starts: a bad row whose country runs over lines 2-3 is line 2, the
    bad row after it line 4; a line break in a statistic is a quote left open."""
    bad = tmp_path / "bad.csv"
    head = "study,arm,outcome,timepoint,events,total,extractor,consensus,study.country\n"
    bad.write_text(head + 'S1,Placebo,iga_0_1,week 16,abc,100,alice,no,"United\nStates"\n'
                          "S2,Active,iga_0_1,week 16,xyz,100,alice,no,Japan\n", encoding="utf-8")
    code, _, err = run(review.folder, "import", str(bad), *_new("S1", "S2"), reviewer="alice")
    assert code == 1 and "line 2, events: " in err and "line 4, events: " in err, err
    assert "line 3, events" not in err and extract.list_studies(review) == []
    bad.write_text(head + 'S1,Placebo,iga_0_1,week 16,"10\n",100,alice,no,\n', encoding="utf-8")
    code, _, err = run(review.folder, "import", str(bad), *_new("S1"), reviewer="alice")
    assert code == 1 and "line 2: the events field runs over several lines" in err, err
    bad.write_text(head + 'S1,Placebo,iga_0_1,week 16,10,100,alice,no,"United\nStates"\n', encoding="utf-8")
    code, _, err = run(review.folder, "import", str(bad), *_new("S1"), reviewer="alice")
    assert code == 0, err
    from reviewkit.store import extraction as extraction_store
    from reviewkit.store.db import session_scope

    with session_scope(review.engine) as s:
        countries = [row.value for values in extraction_store.current_values(s).values()
                     for key, row in values.items() if key[3] == "country"]
    assert countries == ["United\nStates"]


def test_import_needs_a_reviewer(review: Review, tmp_path: Path) -> None:
    """`extract import` without --reviewer is refused before anything is stored."""
    table = tmp_path / "t.csv"
    table.write_text("study,arm,outcome,timepoint,extractor\nS1,,,,alice\n", encoding="utf-8")
    code, _, err = run(review.folder, "import", str(table))
    assert code == 1 and "no reviewer given" in err
    assert extract.list_studies(review) == []


def test_remove_arm_command_withdraws_a_mistaken_arm(review: Review) -> None:
    """`extract remove-arm` takes back an arm entered by mistake (it had no command: the arm stayed for good),
    naming the close arm for a slip, and refusing once the extraction is finished."""
    sid = extract.create_study(review, "alice", "Typo trial").id
    extract.set_arm(review, "alice", sid, "Placebo", intervention="placebo")
    extract.set_arm(review, "alice", sid, "Placebbo", intervention="placebo")
    extract.set_value(review, "alice", sid, "events", "3", arm="Placebbo", outcome="iga_0_1")
    code, _, err = run(review.folder, "remove-arm", "Typo trial", "placebbo", reviewer="alice")
    assert code == 1 and "did you mean 'Placebbo'" in err
    code, out, _ = run(review.folder, "remove-arm", "Typo trial", "Placebbo", reviewer="alice")
    assert code == 0 and "removed (1 value cleared with it)" in out
    form = extract.study_form(review, "alice", sid)
    assert [a.label for a in form.arms] == ["Placebo"] and form.values == ()


def test_import_refuses_an_arm_spelt_like_another(review: Review, tmp_path: Path) -> None:
    """A table row whose arm is an existing arm's label in other case or punctuation ("placebo" for
    "Placebo") made a second arm: in the consensus, two control arms, and the analysis skipped the study.
    It is refused on its line, nothing stored."""
    _fill(review)
    out = tmp_path / "table.csv"
    assert run(review.folder, "export", str(out), reviewer="alice")[0] == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    line = next(i for i, r in enumerate(rows) if r["consensus"] == "yes" and r["arm"] == "Placebo")
    rows[line]["arm"], rows[line]["events"] = "placebo", "14"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, _, err = run(review.folder, "import", str(out), reviewer="alice")
    assert code == 1 and f"line {line + 2}, arm: 'placebo'" in err and "spelt like 'Placebo'" in err
    sid = extract.list_studies(review)[0].id
    form = extract.study_form(review, "carol", sid, consensus=True)
    assert "placebo" not in [a.label for a in form.arms]
    assert form.stats("Placebo", "iga_0_1", "week 16")["events"] == "12"


def test_xlsx_percent_cell_is_read_as_shown(review: Review, tmp_path: Path) -> None:
    """A workbook cell formatted as a percentage shows "12.5%" but holds 0.125: it was imported as 0.125.
    Read as shown, it is refused on its line and column, as "12.5%" in a CSV is, and nothing is stored."""
    from openpyxl import load_workbook

    _fill(review)
    out = tmp_path / "table.xlsx"
    assert run(review.folder, "export", str(out), reviewer="alice")[0] == 0
    book = load_workbook(out)
    sheet = book["extraction"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2)
               if r[header.index("consensus")].value == "yes" and r[header.index("mean")].value is not None)
    cell = row[header.index("mean")]
    cell.value, cell.number_format = -0.0325, "0.00%"
    book.save(out)
    code, _, err = run(review.folder, "import", str(out), reviewer="alice")
    assert code == 1 and f"line {cell.row}, mean: unit '%' not accepted" in err
    sid = extract.list_studies(review)[0].id
    form = extract.study_form(review, "carol", sid, consensus=True)
    assert form.stats("Baricitinib 4 mg, once daily", "dlqi_change", "week 16")["mean"] == "-3.25"

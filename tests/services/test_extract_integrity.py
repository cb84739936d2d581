"""Tests that extracted data holds together: a consensus never keeps a converted value without the statistics
it came from, an import never stores a converted value its record contradicts, a misspelt study label in an
import is not a new study, finishing (and the consensus) waits for the form's required fields, and an
import's problem is said once, on the field that causes it."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.domain.conversions import mean_sd_from_quantiles
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract_analysis_data import consensus_data
from reviewkit.services.extract_consensus import record_consensus
from reviewkit.services.extract_convert import convert, derive, recompute
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import export_table
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review, open_review
from reviewkit.store import extraction as store
from reviewkit.store.db import session_scope
from tests.extraction_required import REQUIRED, fill_required
from tests.factories import write_csv

ARM = "Bari 4 mg"
GROUP = f"value|{ARM}|dlqi_change|week 16"


def run(folder: Path, *args: str, reviewer: str | None = None) -> tuple[int, str, str]:
    """`reviewkit extract …` on a review folder; exit code, stdout, stderr."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    result = CliRunner().invoke(cli, [*pre, "extract", *args])
    return result.exit_code, result.stdout, result.stderr


def quantiles(review: Review, who: str, sid: int, q3: str) -> None:
    """`who` enters q1 6, median 10, q3 and n 50 for the arm, converts them to a mean and SD, and finishes."""
    fill_required(review, who, sid)
    extract.set_arm(review, who, sid, ARM)
    for field, value in (("q1", "6"), ("median", "10"), ("q3", q3), ("n", "50")):
        extract.set_value(review, who, sid, field, value, arm=ARM, outcome="dlqi_change")
    convert(review, who, sid, arm=ARM, outcome="dlqi_change")
    finish_extraction(review, who, sid)


def consensus_stats(review: Review, sid: int) -> dict[str, str | None]:
    return extract.study_form(review, "carol", sid, consensus=True).stats(ARM, "dlqi_change", "week 16")


# --- 1. a converted value in the consensus keeps its inputs ------------------------------------------------


def test_a_converted_value_taken_without_its_inputs_is_refused(review: Review) -> None:
    """alice's q3 16 and bob's 17, each converted: taking q3 from bob and the mean and SD from alice stored
    q3 17 with a mean and SD computed from q3 16. Now it is refused, naming the values and their inputs,
    nothing stored; taking everything from bob stores bob's estimate, which is what q3 17 gives."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    quantiles(review, "alice", sid, "16")
    quantiles(review, "bob", sid, "17")
    mixed = {f"{GROUP}|q3": "bob", f"{GROUP}|mean": "alice", f"{GROUP}|sd": "alice"}
    with pytest.raises(ReviewkitError) as refused:
        record_consensus(review, "carol", sid, take=mixed)
    message = str(refused.value)
    assert (f"study {sid}'s consensus would contradict itself, nothing stored: {GROUP}: alice's mean 10.7078 and "
            "sd 7.63") in message
    assert "were converted from q1 6, median 10, q3 16, n 50, but the consensus has q3 17 (bob's)" in message
    assert "take the inputs and the converted values from the same extractor" in message
    assert f"`reviewkit extract convert {sid} --consensus --arm 'Bari 4 mg' --outcome dlqi_change" in message
    assert consensus_stats(review, sid) == {}
    assert extract.study_form(review, "carol", sid, consensus=True).arms == ()
    record_consensus(review, "carol", sid, take={**mixed, f"{GROUP}|mean": "bob", f"{GROUP}|sd": "bob"})
    (data,) = consensus_data(review, "dlqi_change")
    (arm,) = data.arms
    expected = mean_sd_from_quantiles(50, 10, q1=6, q3=17)
    assert (arm.statistics["q3"], arm.mean, arm.sd, arm.sd_source) == (
        17, pytest.approx(expected.mean), pytest.approx(expected.sd), "converted")
    assert arm.converted_from["sd"]["inputs"]["q3"] == 17


def test_the_inputs_alone_then_convert_on_the_consensus(review: Review) -> None:
    """The other way out the refusal names: take q3 only and convert the consensus (`extract convert
    --consensus`). A later change of q3 in the consensus clears that conversion, and says so."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    quantiles(review, "alice", sid, "16")
    quantiles(review, "bob", sid, "17")
    result = record_consensus(review, "carol", sid, take={f"{GROUP}|q3": "bob"})
    assert {d.field for d in result.unresolved} == {"mean", "sd"}
    assert {"mean", "sd"}.isdisjoint(consensus_stats(review, sid))
    code, out, err = run(review.folder, "convert", str(sid), "--consensus", "--arm", ARM, "--outcome", "dlqi_change",
                         reviewer="carol")
    assert code == 0, err
    expected = mean_sd_from_quantiles(50, 10, q1=6, q3=17)
    assert float(consensus_stats(review, sid)["sd"] or 0) == pytest.approx(expected.sd)
    result = record_consensus(review, "carol", sid, take={f"{GROUP}|q3": "alice"})
    assert result.cleared == tuple(
        f"{GROUP}|{field} (converted from q3) cleared: convert again (`reviewkit extract convert {sid} --consensus "
        f"--arm 'Bari 4 mg' --outcome dlqi_change --timepoint 'week 16'`)" for field in ("mean", "sd"))
    assert consensus_stats(review, sid) == {"q1": "6", "median": "10", "q3": "16", "n": "50"}


def test_an_agreed_conversion_whose_input_the_consensus_corrects_is_cleared(review: Review) -> None:
    """Both entered q3 16 and converted (agreed); the consensus types q3 17 from the paper. The agreed mean
    and SD came from q3 16: cleared, said, as one extractor's are; the analysis then derives them from 17."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    quantiles(review, "alice", sid, "16")
    quantiles(review, "bob", sid, "16")
    code, out, err = run(review.folder, "consensus", str(sid), "--value", f"{GROUP}|q3=17", reviewer="carol")
    assert code == 0, err
    assert f"{GROUP}|sd (converted from q3) cleared: convert again" in out
    assert consensus_stats(review, sid) == {"q1": "6", "median": "10", "q3": "17", "n": "50"}
    (arm,) = consensus_data(review, "dlqi_change")[0].arms
    assert (arm.sd, arm.sd_source) == (pytest.approx(mean_sd_from_quantiles(50, 10, q1=6, q3=17).sd), "derived")


# --- 2. an imported converted value agrees with its record ------------------------------------------------


@pytest.mark.parametrize("stats", [
    {"n": 100.0, "se": 0.47},
    {"n": 30.0, "ci_lower": -7.2, "ci_upper": -5.0},  # n < 60: a t divisor
    {"n": 50.0, "median": 10.0, "q1": 6.0, "q3": 16.0},
    {"n": 50.0, "median": 10.0, "min": 1.0, "max": 30.0},
    {"n": 50.0, "median": 10.0, "q1": 6.0, "q3": 16.0, "min": 1.0, "max": 30.0},
])
def test_a_recorded_conversion_computes_again_to_what_convert_stored(stats: dict[str, float]) -> None:
    """recompute reads a record as convert wrote it (JSON, as the export carries it) and gives its values back."""
    derived = derive(stats)
    record = json.loads(json.dumps(derived.converted_from))
    assert recompute(record) is not None
    assert {k: v for k, v in (recompute(record) or {}).items() if k in derived.values} == pytest.approx(derived.values)
    assert recompute({**record, "method": "guess"}) is None


def _bobs_row(review: Review, tmp_path: Path) -> tuple[int, Path, dict[str, str]]:
    """A study bob extracted with a converted SD, exported as bob: (study, file, bob's dlqi_change row)."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_arm(review, "bob", sid, ARM)
    for field, value in (("q1", "6"), ("median", "10"), ("q3", "16"), ("n", "50"), ("mean", "11")):
        extract.set_value(review, "bob", sid, field, value, arm=ARM, outcome="dlqi_change")
    convert(review, "bob", sid, arm=ARM, outcome="dlqi_change")  # a reported mean: the SD alone is estimated
    table = tmp_path / "bob.csv"
    export_table(review, table, actor="bob")
    with table.open(newline="", encoding="utf-8") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["outcome"] == "dlqi_change"]
    return sid, table, row


def test_an_imported_sd_its_record_contradicts_is_refused(review: Review, tmp_path: Path) -> None:
    """sd changed to 3 while converted_from still says the SD was estimated from q1 6 … n 50: stored as it
    stood before. Now refused on its line and column, nothing stored; the SD rounded to what the record
    shows agrees; a reported SD is imported by removing its record."""
    sid, _, row = _bobs_row(review, tmp_path)
    estimate = mean_sd_from_quantiles(50, 10, q1=6, q3=16).sd
    assert float(row["sd"]) == pytest.approx(estimate)
    changed = write_csv(tmp_path / "changed.csv", {**row, "sd": "3"})
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, changed, actor="bob")
    assert (f"line 2, sd: 3 is not what its converted_from record gives (sd {row['sd']} from median 10, n 50, "
            "q1 6, q3 16): put that back, or, if 3 is a reported sd, remove its \"sd\" entry from converted_from"
            ) in str(refused.value)
    assert "line 2, mean" not in str(refused.value)  # the reported mean has no record: nothing to check
    assert extract.study_form(review, "bob", sid).stats(ARM, "dlqi_change", "week 16")["sd"] == row["sd"]
    assert import_table(review, write_csv(tmp_path / "rounded.csv", {**row, "sd": f"{estimate:.3f}"}),
                        actor="bob").values_stored == 1
    with pytest.raises(ReviewkitError, match="line 2, sd: 7.6 is not what"):  # 2 significant digits: another SD
        import_table(review, write_csv(tmp_path / "short.csv", {**row, "sd": "7.6"}), actor="bob")
    records = json.loads(row["converted_from"])
    del records["sd"]
    reported = {**row, "sd": "3", "converted_from": json.dumps(records)}
    import_table(review, write_csv(tmp_path / "reported.csv", reported), actor="bob")
    form = extract.study_form(review, "bob", sid)
    (sd,) = [v for v in form.values if v.field == "sd"]
    assert (sd.value, sd.converted_from) == ("3", {})


# --- 3. a study label in an import --------------------------------------------------------------------------


@pytest.fixture
def studies(review: Review) -> Review:
    for label in ("BREEZE-AD1", "BREEZE-AD2"):
        extract.create_study(review, "alice", label)
    return review


HEAD = "study,arm,outcome,timepoint,extractor,consensus,intervention\n"


def test_a_label_spelt_otherwise_is_the_existing_study(studies: Review, tmp_path: Path) -> None:
    """'BREEZE AD-1' and 'breeze-ad 1' are BREEZE-AD1 (case, spaces and punctuation aside): no new study,
    and the import says how it read them."""
    table = tmp_path / "t.csv"
    table.write_text(HEAD + "BREEZE AD-1,Placebo,,,bob,no,placebo\nbreeze-ad 1,Active,,,bob,no,bari\n"
                     "BREEZE AD-1,Other,,,bob,no,x\n", encoding="utf-8")
    result = import_table(studies, table, actor="bob")
    assert (result.studies_created, result.new_studies) == (0, ())
    assert result.read_as == ("study 'BREEZE AD-1' read as 'BREEZE-AD1' (id 1), first on line 2",
                              "study 'breeze-ad 1' read as 'BREEZE-AD1' (id 1), first on line 3")
    assert [a.label for a in extract.study_form(studies, "bob", 1).arms] == ["Placebo", "Active", "Other"]


def test_a_misspelt_or_unknown_label_is_refused_unless_declared_new(studies: Review, tmp_path: Path) -> None:
    """'BREZE-AD2' used to create a study ("1 new study", its rows in it for good: studies are never
    deleted). Now a near-miss is refused naming the close label, a label far from every study is refused
    too, each once; --new-study creates exactly the studies it names."""
    table = tmp_path / "t.csv"
    table.write_text(HEAD + "BREZE-AD2,Placebo,,,bob,no,placebo\nBREZE-AD2,Active,,,bob,no,bari\n"
                     "Smith 2020,Placebo,,,bob,no,placebo\n", encoding="utf-8")
    with pytest.raises(ReviewkitError) as refused:
        import_table(studies, table, actor="bob")
    message = str(refused.value)
    assert ("line 2, study: no study 'BREZE-AD2', but it is close to 'BREEZE-AD2': give that label, or, if "
            "'BREZE-AD2' is another study, create it with --new-study 'BREZE-AD2'") in message
    assert "line 3" not in message  # said once, on the label's first line
    assert ("line 4, study: no study 'Smith 2020' in this review (`reviewkit studies` lists them); to create it "
            "from this file, declare it with --new-study 'Smith 2020'") in message
    assert [s.label for s in extract.list_studies(studies)] == ["BREEZE-AD1", "BREEZE-AD2"]
    with pytest.raises(ReviewkitError, match="no study 'BREZE-AD2', but it is close to 'BREEZE-AD2'"):
        import_table(studies, table, actor="bob", new_studies=["Smith 2020"])
    code, out, err = run(studies.folder, "import", str(table), "--new-study", "Smith 2020", "--new-study",
                         "BREZE-AD2", reviewer="bob")
    assert code == 0, err
    assert "2 new studies (BREZE-AD2, Smith 2020)" in out
    assert [s.label for s in extract.list_studies(studies)] == ["BREEZE-AD1", "BREEZE-AD2", "BREZE-AD2", "Smith 2020"]


def test_a_label_two_studies_could_be_is_refused(studies: Review, tmp_path: Path) -> None:
    """Studies 'S-1' and 'S1' may both exist (labels differ by a hyphen); 'S 1' could be either: refused."""
    extract.create_study(studies, "alice", "S-1")
    extract.create_study(studies, "alice", "S1")
    table = tmp_path / "t.csv"
    table.write_text(HEAD + "S 1,Placebo,,,bob,no,placebo\nS1,Placebo,,,bob,no,placebo\n", encoding="utf-8")
    with pytest.raises(ReviewkitError, match=r"line 2, study: 'S 1' could be any of 'S-1' \(id 3\), 'S1' \(id 4\)"):
        import_table(studies, table, actor="bob")


# --- 4. required fields ------------------------------------------------------------------------------------


@pytest.fixture
def required_dose(review_dir: Path) -> Iterator[Review]:
    """The example review with the arm field dose_mg required too."""
    toml = review_dir / "review.toml"
    text = toml.read_text(encoding="utf-8")
    field = 'name = "dose_mg"\nlabel = "Baricitinib dose"\ntype = "number"\nunit = "mg"\n'
    assert field in text
    toml.write_text(text.replace(field, field + "required = true\n"), encoding="utf-8")
    review = open_review(review_dir)
    yield review
    review.engine.dispose()


def test_finishing_waits_for_the_required_fields(required_dose: Review) -> None:
    """bob finished an extraction without tcs and his arms' doses; now finishing is refused, naming what is
    missing per arm, nothing stored; once entered, it finishes."""
    review = required_dose
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_value(review, "bob", sid, "trial_name", "BREEZE-AD1")
    extract.set_arm(review, "bob", sid, "Placebo", fields={"dose_mg": 0})
    extract.set_arm(review, "bob", sid, "Bari 2 mg")
    extract.set_arm(review, "bob", sid, "Bari 4 mg")
    with pytest.raises(ReviewkitError) as refused:
        finish_extraction(review, "bob", sid)
    assert str(refused.value).startswith(
        f"bob's extraction of study {sid} (BREEZE-AD1) cannot be finished: required fields missing: "
        "study: tcs; arm 'Bari 2 mg': dose_mg; arm 'Bari 4 mg': dose_mg (enter them (`reviewkit extract set")
    assert not extract.study_form(review, "bob", sid).finished
    extract.remove_arm(review, "bob", sid, "Bari 2 mg")  # a removed arm asks for nothing
    extract.set_arm(review, "bob", sid, "Bari 4 mg", fields={"dose_mg": 4})
    code, _, err = run(review.folder, "finish", str(sid), reviewer="bob")
    assert code == 1 and "required field missing: study: tcs" in err and "arm" not in err.split("(")[0]
    extract.set_value(review, "bob", sid, "tcs", "no")
    assert finish_extraction(review, "bob", sid).changed


def test_the_consensus_waits_for_the_required_fields(required_dose: Review) -> None:
    """Extractions finished before the rule (by an older reviewkit) lack tcs and a dose: a consensus made of
    them is refused, naming what is missing and how to give it; given, it is stored. A required field
    the extractors differ on is not missing: it waits for a choice."""
    review = required_dose
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    for who, name in (("alice", "BREEZE-AD1"), ("bob", "BREEZE AD1")):
        extract.set_value(review, who, sid, "trial_name", name)
        extract.set_arm(review, who, sid, "Placebo")
    with session_scope(review.engine, write=True) as session:  # as an older reviewkit finished them
        for who in ("alice", "bob"):
            store.add_status(session, study_id=sid, extractor=extract.reviewer(session, who), status=store.FINISHED,
                             actor=who, previous=store.OPEN)
    with pytest.raises(ReviewkitError) as refused:
        record_consensus(review, "carol", sid)
    assert str(refused.value) == (
        f"study {sid}'s consensus lacks required fields, nothing stored: study: tcs; arm 'Placebo': dose_mg "
        "(give them: --value 'study|tcs=VALUE', --value 'arm|Placebo|fields.dose_mg=VALUE')")
    assert extract.study_form(review, "carol", sid, consensus=True).arms == ()
    result = record_consensus(review, "carol", sid, values={"study|tcs": "no", "arm|Placebo|fields.dose_mg": "0"})
    assert [d.key for d in result.unresolved] == ["study|trial_name"]
    form = extract.study_form(review, "carol", sid, consensus=True)
    assert (form.study_fields(), [a.fields for a in form.arms]) == ({"tcs": "no"}, [{"dose_mg": "0"}])


async def test_tui_f_names_the_missing_required_fields(review: Review) -> None:
    """f on bob's form without tcs: the refusal with the missing field, in a notice; not finished."""
    from reviewkit.tui.app import make_app
    from reviewkit.tui.screens.extraction import ExtractionScreen
    from tests.tui.test_extraction_form import _settle

    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_value(review, "bob", sid, "trial_name", REQUIRED["trial_name"])
    app = make_app(review, reviewer="bob")
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ExtractionScreen(review, "bob"))
        await _settle(app, pilot)
        await pilot.press("f")
        await _settle(app, pilot)
        assert any("cannot be finished: required field missing: study: tcs" in str(n.message)
                   for n in app._notifications)
    assert not extract.study_form(review, "bob", sid).finished


# --- 5. an import's problem, once, on its field -------------------------------------------------------------


def test_an_import_problem_is_named_once_on_its_field(studies: Review, tmp_path: Path) -> None:
    """sd = -1 was reported six times (under sd, mean, median, min, max and n); a maximum below Q3 was
    named 'maximum'. Now each problem is said once, on the statistic that causes it, nothing stored."""
    table = tmp_path / "t.csv"
    table.write_text("study,arm,outcome,timepoint,extractor,consensus,mean,sd,median,q1,q3,min,max,n\n"
                     "BREEZE-AD1,Placebo,dlqi_change,week 16,bob,no,-5,-1,-5,-8,-2,-12,4,100\n"
                     "BREEZE-AD1,Active,dlqi_change,week 16,bob,no,-5,2,-5,-8,5,-12,3,100\n", encoding="utf-8")
    with pytest.raises(ReviewkitError) as refused:
        import_table(studies, table, actor="bob")
    problems = str(refused.value).removeprefix("t.csv: nothing imported: ").split("; ")
    assert problems == ["line 2, sd: SD must be > 0, got -1", "line 3, max: max (3) is below Q3 (5)"]
    assert extract.study_form(studies, "bob", 1).values == ()


def test_a_stored_count_the_row_contradicts_is_named_once(studies: Review, tmp_path: Path) -> None:
    """bob stored 50 events; a row sets the total to 40 without the events: said once, on the total."""
    extract.set_arm(studies, "bob", 1, "Placebo")
    extract.set_value(studies, "bob", 1, "events", "50", arm="Placebo", outcome="iga_0_1")
    table = tmp_path / "t.csv"
    table.write_text("study,arm,outcome,timepoint,extractor,consensus,total,n_randomised\n"
                     "BREEZE-AD1,Placebo,iga_0_1,week 16,bob,no,40,\n", encoding="utf-8")
    with pytest.raises(ReviewkitError) as refused:
        import_table(studies, table, actor="bob")
    assert str(refused.value) == "t.csv: nothing imported: line 2, total: events (50) cannot exceed the total (40)"

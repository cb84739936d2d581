"""Tests that a CI converted to an SD is read at the level the report gives (90%, 99%, not always 95%), that
the level is recorded so an import computes the same SD again, that a level that is not one is refused by
name, and that the extraction table carries each outcome's unit."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract_convert import convert, derive, recompute
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import export_table
from reviewkit.services.project import Review
from tests.factories import write_csv

ARM = "Bari 4 mg"
#: Φ⁻¹(0.95) and Φ⁻¹(0.975), from tables, so the expected SDs do not come from the code under test.
Z90, Z95 = 1.6448536, 1.9599640
#: √100 × (3.8 − 1.2)/(2 × 1.6448536) = 26/3.2897072 = 7.9034388.
SD90 = 10 * (3.8 - 1.2) / (2 * Z90)


def run(folder: Path, *args: str, reviewer: str | None = "alice") -> tuple[int, str, str]:
    """`reviewkit extract …` on a review folder; exit code, stdout, stderr."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    result = CliRunner().invoke(cli, [*pre, "extract", *args])
    return result.exit_code, result.stdout, result.stderr


def ci_arm(review: Review, **extra: str) -> int:
    """A study in which alice enters ARM's dlqi_change CI 1.2–3.8 and n 100 (and `extra` statistics)."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_arm(review, "alice", sid, ARM)
    for field, value in {"ci_lower": "1.2", "ci_upper": "3.8", "n": "100", **extra}.items():
        extract.set_value(review, "alice", sid, field, value, arm=ARM, outcome="dlqi_change")
    return sid


def sd_of(review: Review, sid: int) -> extract.ValueView:
    (sd,) = [v for v in extract.study_form(review, "alice", sid).values if v.field == "sd"]
    return sd


def exported_row(review: Review, path: Path) -> dict[str, str]:
    """alice's dlqi_change row of the extraction table she exports to `path`."""
    export_table(review, path, actor="alice")
    with path.open(newline="", encoding="utf-8") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["outcome"] == "dlqi_change"]
    return row


# --- the level of a CI -----------------------------------------------------------------------------------------


def test_a_90_percent_ci_gives_the_sd_hand_computation_gives(review: Review) -> None:
    """90% CI 1.2–3.8, n 100 (≥ 60, so z): SD = √100 × (3.8 − 1.2)/(2 × Φ⁻¹(0.95)) = 26/(2 × 1.6448536)
    = 7.9034388; read as 95% it was 26/(2 × 1.959964) = 6.6327749, 16% too small. The record holds the level
    and says it in words; recompute, as an import runs it, gives the same SD."""
    sid = ci_arm(review)
    (stored,) = convert(review, "alice", sid, arm=ARM, outcome="dlqi_change", method="ci", level=0.9)
    assert float(stored.value or "") == pytest.approx(SD90, rel=1e-7)
    assert float(stored.value or "") == pytest.approx(7.9034388, abs=1e-7)
    record = sd_of(review, sid).converted_from
    assert record["inputs"] == {"lower": 1.2, "upper": 3.8, "n": 100, "level": 0.9}
    assert "90% CI of mean; normal divisor 3.2897" in record["text"]
    assert recompute(json.loads(json.dumps(record))) == {"sd": pytest.approx(SD90, rel=1e-7)}
    # Without a level the CI is 95%, as before.
    assert derive({"ci_lower": 1.2, "ci_upper": 3.8, "n": 100}).values == {
        "sd": pytest.approx(26 / (2 * Z95), rel=1e-7)}


def test_a_small_sample_99_percent_ci_uses_t_at_that_level() -> None:
    """99% CI 1.2–3.8, n 20 (< 60, so t on 19 df, as at 95%): t(0.995, 19) = 2.8609346 (tables: 2.861),
    SD = √20 × 2.6/(2 × 2.8609346) = 11.627553/5.7218692 = 2.0321250."""
    derived = derive({"ci_lower": 1.2, "ci_upper": 3.8, "n": 20}, "ci", 0.99)
    assert derived.values == {"sd": pytest.approx(math.sqrt(20) * 2.6 / (2 * 2.8609346), rel=1e-7)}
    assert derived.values["sd"] == pytest.approx(2.0321250, abs=1e-7)
    assert "t divisor 5.7219" in derived.converted_from["text"]


def test_the_cli_takes_the_level_and_refuses_one_that_is_not(review: Review) -> None:
    """`--level 0.9` prints SD 7.903 (as above); 95 (a percentage), 0, 1, nan and 'abc' are refused naming
    --level, before anything is stored."""
    sid = ci_arm(review)
    for bad, says in (("95", "got 95.0"), ("0", "got 0.0"), ("1", "got 1.0"), ("nan", "got nan"),
                      ("abc", "'abc' is not a valid float")):
        code, _, err = run(review.folder, "convert", str(sid), "--arm", ARM, "--outcome", "dlqi_change",
                           "--level", bad)
        assert code == 2, bad
        assert "Invalid value for '--level'" in err and says in err, err
        if bad != "abc":
            assert "a number between 0 and 1, exclusive (0.9 for a 90% CI" in err
    assert [v.field for v in extract.study_form(review, "alice", sid).values if v.field == "sd"] == []
    code, out, err = run(review.folder, "convert", str(sid), "--arm", ARM, "--outcome", "dlqi_change",
                         "--level", "0.9")
    assert (code, err) == (0, "")
    assert out.startswith("sd = 7.903  (SD 7.903 from lower 1.2, upper 3.8, n 100, level 0.9 (90% CI of mean")


def test_a_level_for_a_conversion_not_from_the_ci_is_refused(review: Review) -> None:
    """With SE 0.5 entered too, "auto" converts the SE: a level given then would be ignored, so it is refused,
    naming --method ci, which converts the CI at that level; a service call with 1.5 is refused as well."""
    sid = ci_arm(review, se="0.5")
    with pytest.raises(ReviewkitError, match=r"applies to a CI conversion only, .* from the SE: name the CI "
                                             r"with --method ci"):
        convert(review, "alice", sid, arm=ARM, outcome="dlqi_change", level=0.9)
    with pytest.raises(ReviewkitError, match=r"confidence level must be a number between 0 and 1, exclusive .* "
                                             r"got 1.5"):
        convert(review, "alice", sid, arm=ARM, outcome="dlqi_change", method="ci", level=1.5)
    (stored,) = convert(review, "alice", sid, arm=ARM, outcome="dlqi_change", method="ci", level=0.9)
    assert float(stored.value or "") == pytest.approx(SD90, rel=1e-7)


def test_an_import_recomputes_at_the_recorded_level(review: Review, tmp_path: Path) -> None:
    """The exported SD 7.9034388 and its record (level 0.9) import again unchanged. The record's level
    changed to 0.95 gives 6.6327749, so the SD is refused; a level of "0.9" (text), 95 or 0 is refused
    naming the record's "level", not read as 95%."""
    sid = ci_arm(review)
    convert(review, "alice", sid, arm=ARM, outcome="dlqi_change", level=0.9)
    row = exported_row(review, tmp_path / "t.csv")
    assert float(row["sd"]) == pytest.approx(SD90, rel=1e-7)
    assert import_table(review, write_csv(tmp_path / "same.csv", row), actor="alice").values_stored == 0
    records = json.loads(row["converted_from"])

    def with_level(level: object) -> dict[str, str]:
        changed = {**records, "sd": {**records["sd"], "inputs": {**records["sd"]["inputs"], "level": level}}}
        return {**row, "converted_from": json.dumps(changed)}

    with pytest.raises(ReviewkitError) as refused:
        import_table(review, write_csv(tmp_path / "95.csv", with_level(0.95)), actor="alice")
    assert f"line 2, sd: {float(row['sd']):g} is not what its converted_from record gives (sd 6.63277" in str(
        refused.value)
    for level, shown in (("0.9", '"0.9"'), (95, "95"), (0, "0")):
        with pytest.raises(ReviewkitError) as refused:
            import_table(review, write_csv(tmp_path / "bad.csv", with_level(level)), actor="alice")
        assert (f"line 2, sd: its converted_from record's \"level\" is {shown}, not a number between 0 and 1, "
                "exclusive") in str(refused.value)
    assert sd_of(review, sid).value == row["sd"]


def test_an_import_of_a_ci_record_naming_no_level_says_it_is_read_as_95(review: Review, tmp_path: Path) -> None:
    """A file whose SD record names no level (written by hand, or from before levels were recorded) imports,
    read as a 95% CI (6.6327749), and the import says so at once, naming the line, the arm and the command
    that records the report's level (alice's own values: no --consensus); the CLI prints it. The same row with
    its level (0.9) says nothing."""
    sid = ci_arm(review)
    convert(review, "alice", sid, arm=ARM, outcome="dlqi_change", level=0.9)
    row = exported_row(review, tmp_path / "t.csv")
    assert import_table(review, write_csv(tmp_path / "same.csv", row), actor="alice").cleared == ()
    records = json.loads(row["converted_from"])
    inputs = {k: v for k, v in records["sd"]["inputs"].items() if k != "level"}
    sd95 = 10 * (3.8 - 1.2) / (2 * Z95)
    no_level = {**row, "sd": f"{sd95:.7f}",
                "converted_from": json.dumps({**records, "sd": {**records["sd"], "inputs": inputs}})}
    result = import_table(review, write_csv(tmp_path / "old.csv", no_level), actor="alice")
    (note,) = result.cleared
    assert note.startswith(f"line 2: sd of {ARM} (dlqi_change) is converted from a CI whose level the record "
                           "does not name: read as 95%"), note
    assert f"`reviewkit extract convert {sid} --arm 'Bari 4 mg' --outcome dlqi_change" in note
    assert "--consensus" not in note and "--method ci --level 0.9`" in note
    assert float(sd_of(review, sid).value) == pytest.approx(sd95, rel=1e-7)
    code, out, _ = run(review.folder, "import", str(write_csv(tmp_path / "old2.csv", no_level)))
    assert code == 0 and "read as 95%" in out, out


# --- the outcome's unit in the table -----------------------------------------------------------------------------


def test_the_table_carries_the_outcome_unit_and_the_import_checks_it(review: Review, tmp_path: Path) -> None:
    """dlqi_change's protocol unit is "points": its row says so, after timepoint, in the CSV and the XLSX. An
    import takes "points" or an empty cell and refuses another unit (the values would be stored as points),
    and a unit on a row without an outcome."""
    sid = ci_arm(review)
    row = exported_row(review, tmp_path / "t.csv")
    assert row["unit"] == "points"
    assert list(row).index("unit") == list(row).index("timepoint") + 1
    from openpyxl import load_workbook

    export_table(review, tmp_path / "t.xlsx", actor="alice")
    book = load_workbook(tmp_path / "t.xlsx", read_only=True)
    header, *cells = list(book["extraction"].iter_rows(values_only=True))
    book.close()
    (xlsx_row,) = [dict(zip(header, c, strict=True)) for c in cells if c[header.index("outcome")] == "dlqi_change"]
    assert xlsx_row["unit"] == "points"
    assert import_table(review, write_csv(tmp_path / "same.csv", row), actor="alice").values_stored == 0
    assert import_table(review, write_csv(tmp_path / "empty.csv", {**row, "unit": ""}), actor="alice").values_stored == 0
    with pytest.raises(ReviewkitError) as refused:
        import_table(review, write_csv(tmp_path / "mg.csv", {**row, "unit": "mg/dL", "n": "101"}), actor="alice")
    assert ("line 2, unit: 'mg/dL' is not the unit of dlqi_change (the protocol's is 'points'): convert the "
            "statistics to it and write that unit, or leave the cell empty") in str(refused.value)
    no_outcome = {**row, "outcome": "", "timepoint": "", "unit": "points",
                  **{k: "" for k in ("ci_lower", "ci_upper", "n", "converted_from")}}
    with pytest.raises(ReviewkitError, match="line 2, unit: 'points' without an outcome"):
        import_table(review, write_csv(tmp_path / "arm.csv", no_outcome), actor="alice")
    assert extract.study_form(review, "alice", sid).stats(ARM, "dlqi_change", "week 16")["n"] == "100"


def test_an_outcome_without_a_unit_has_an_empty_cell(review: Review, tmp_path: Path) -> None:
    """iga_0_1 has no unit in the protocol: its cell is empty, and a unit given for it is refused."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    extract.set_arm(review, "alice", sid, ARM)
    extract.set_value(review, "alice", sid, "events", "12", arm=ARM, outcome="iga_0_1")
    export_table(review, tmp_path / "t.csv", actor="alice")
    with (tmp_path / "t.csv").open(newline="", encoding="utf-8") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["outcome"] == "iga_0_1"]
    assert row["unit"] == ""
    with pytest.raises(ReviewkitError, match=r"line 2, unit: '%' is not the unit of iga_0_1 \(the protocol gives "
                                             r"it none\)"):
        import_table(review, write_csv(tmp_path / "pct.csv", {**row, "unit": "%"}), actor="alice")


def test_the_level_asked_again_after_a_correction_is_that_of_the_last_conversion(review: Review) -> None:
    """The extraction form keeps the level the SD was last converted at from its CI, across the clearing a
    CI correction makes (the TUI's c opens its level prompt there); a later conversion that names no level
    (converted with the default) ends it, so a 90% from before is not offered for it."""
    sid = ci_arm(review)
    key = (ARM, "dlqi_change", "week 16")
    convert(review, "alice", sid, arm=ARM, outcome="dlqi_change", level=0.9)
    extract.set_value(review, "alice", sid, "ci_upper", "4.0", arm=ARM, outcome="dlqi_change")
    assert extract.study_form(review, "alice", sid).ci_levels == {key: 0.9}
    convert(review, "alice", sid, arm=ARM, outcome="dlqi_change")
    assert "as no level was given" in sd_of(review, sid).converted_from["text"]
    extract.set_value(review, "alice", sid, "ci_upper", "3.8", arm=ARM, outcome="dlqi_change")
    assert extract.study_form(review, "alice", sid).ci_levels == {}
    assert extract.study_form(review, "bob", sid).ci_levels == {}  # alice's conversions are hers

"""Tests services.meta_input: how `reviewkit meta` reads and checks a CSV of studies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.services.meta_input import read_studies, study_effects

BINARY = "study,events_treat,n_treat,events_ctrl,n_ctrl\n"


def _write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "studies.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _refused(path: Path, line: int, message: str, measure: str = "RR", **options: str) -> None:
    """read_studies refuses the file with an error naming it, the line and the problem."""
    with pytest.raises(ParseError) as info:
        read_studies(path, measure, **options)
    assert str(info.value).startswith(f"{path}, line {line}: "), str(info.value)
    assert re.search(message, str(info.value)), str(info.value)


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "utf-8-sig"])
def test_spreadsheet_encodings_are_read_as_import_reads_them(tmp_path: Path, encoding: str) -> None:
    """UTF-16 with BOM, Windows-1252 and UTF-8 with BOM (what Excel writes) read to the same names."""
    path = _write(tmp_path, BINARY + "Müller 2001,3,40,6,42\nSøren 2003,10,100,12,98\n", encoding=encoding)
    studies = read_studies(path, "RR")
    assert [r["study"] for r in studies.rows] == ["Müller 2001", "Søren 2003"]
    assert studies.rows[0]["n_ctrl"] == "42"


def test_header_names_ignore_spaces_and_case(tmp_path: Path) -> None:
    """" Study", "Events_Treat " and the like name the usual columns."""
    path = _write(tmp_path, "Study, Events_Treat ,N_TREAT,events_ctrl,n_ctrl\nA,3,40,6,42\n")
    assert read_studies(path, "RR").rows == ({"study": "A", "events_treat": "3", "n_treat": "40",
                                               "events_ctrl": "6", "n_ctrl": "42"},)


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    """'Study' and 'study' are one column twice: which one counts would be a guess."""
    _refused(_write(tmp_path, "Study,study,events_treat,n_treat,events_ctrl,n_ctrl\nA,B,3,40,6,42\n"), 1,
             r"column 'study' is named twice in the header \(as 'Study' and 'study'\)")


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_separated_files_are_read_with_a_note(tmp_path: Path, separator: str, name: str) -> None:
    """A header without a comma but with semicolons (or tabs) is read with that separator, and says so."""
    text = (BINARY + "A,3,40,6,42\nB,10,100,12,98\n").replace(",", separator)
    path = _write(tmp_path, text)
    studies = read_studies(path, "RR")
    assert [r["events_ctrl"] for r in studies.rows] == ["6", "12"]
    assert studies.notes == (f"{path}: read as a {name}-separated file (its header has no comma)",)


def test_a_decimal_comma_in_a_semicolon_file_is_refused_with_its_line(tmp_path: Path) -> None:
    """"0,05" in a semicolon file is a number written with a decimal comma: refused, saying so."""
    path = _write(tmp_path, "study;yi;vi\nA;0.1;0.05\nB;0.2;0,05\n")
    _refused(path, 3, r"study 'B': column 'vi' is not a number \('0,05'\) \(write decimals with a point",
             measure="generic")


def test_rows_with_every_field_empty_are_skipped(tmp_path: Path) -> None:
    """Excel's ",,,," rows (after the data or between) are not studies; the lines stay the file's."""
    path = _write(tmp_path, BINARY + "A,3,40,6,42\n,,,,\nB,10,100,12,98\n,,,,\n , ,,,\n")
    studies = read_studies(path, "RR")
    assert [r["study"] for r in studies.rows] == ["A", "B"]
    assert studies.lines == (2, 4)


def test_duplicate_study_names_are_refused_naming_both_lines(tmp_path: Path) -> None:
    """A study given twice (in any case) would be pooled twice: refused, naming both lines."""
    path = _write(tmp_path, BINARY + "Smith 2001,3,40,6,42\nJones,1,20,2,20\nsmith 2001,10,100,12,98\n")
    _refused(path, 4, r"study 'smith 2001' appears twice: on lines 2 and 4")


def test_an_empty_study_name_is_refused(tmp_path: Path) -> None:
    """A row without a name is refused, not called "Study 2"."""
    _refused(_write(tmp_path, BINARY + "A,3,40,6,42\n ,10,100,12,98\n"), 3, r"the study name is empty")


@pytest.mark.parametrize(
    ("row", "message"),
    [("A,-1,40,6,42", r"study 'A': column 'events_treat' is negative \(-1\)"),
     ("A,3,40,6,", r"study 'A': column 'n_ctrl' is empty"),
     ("A,3,forty,6,42", r"study 'A': column 'n_treat' is not a number \('forty'\)")],
)
def test_counts_must_be_numbers_not_below_zero(tmp_path: Path, row: str, message: str) -> None:
    """Events and totals count people: a negative or no number is refused on its line."""
    _refused(_write(tmp_path, BINARY + "B,10,100,12,98\n" + row + "\n"), 3, message)


def test_fractional_counts_are_noted_with_their_lines(tmp_path: Path) -> None:
    """Counts that are not whole are kept (a split control group gives them) and noted by line."""
    rows = "".join(f"S{i},3,40,{6 + i / 3},42\n" for i in range(1, 6))
    studies = read_studies(_write(tmp_path, BINARY + rows), "RR")
    assert studies.rows[0]["events_ctrl"] == str(6 + 1 / 3)
    assert len(studies.notes) == 1
    assert f"line 2 (study 'S1', events_ctrl {6 + 1 / 3})" in studies.notes[0]
    assert "line 4 (study 'S3'" not in studies.notes[0]  # whole: 7.0
    assert studies.notes[0].count("line ") == 3 and "and 1 more" in studies.notes[0]


def test_an_empty_subgroup_cell_names_the_subgroup_column(tmp_path: Path) -> None:
    """--subgroup grp with an empty cell names 'grp' (as written in the header), not 'subgroup'."""
    path = _write(tmp_path, "study,events_treat,n_treat,events_ctrl,n_ctrl,Grp\nA,3,40,6,42,x\nB,1,20,2,20,\n")
    _refused(path, 3, r"study 'B': column 'Grp' is empty", subgroup="grp")


def test_subgroup_labels_reach_pooling(tmp_path: Path) -> None:
    """The named column (in any case) becomes each study's subgroup label."""
    path = _write(tmp_path, "study,events_treat,n_treat,events_ctrl,n_ctrl,Grp\nA,3,40,6,42,x\nB,1,20,2,20,y\n")
    effects, _ = study_effects(path, "RR", subgroup="GRP")
    assert effects.subgroups == ("x", "y")


def test_pooling_refusals_name_the_study_line(tmp_path: Path) -> None:
    """What pooling refuses about a study (events above its total) carries the study's line."""
    path = _write(tmp_path, BINARY + "A,3,40,6,42\nAB,30,20,6,42\n")
    with pytest.raises(ParseError, match=re.escape(f"{path}, line 3: study 'AB': column 'events_treat' (30) "
                                                   "is greater than 'n_treat' (20)")):
        study_effects(path, "RR")


def test_generic_estimate_outside_its_ci_is_refused(tmp_path: Path) -> None:
    """An estimate below its lower limit (as written) is a typo, refused on its line."""
    path = _write(tmp_path, "study,estimate,ci_lower,ci_upper\nB,0.8,0.6,1.0667\nA,0.5,0.6,1.0\n")
    _refused(path, 3, r"study 'A': the estimate 0\.5 lies outside its own CI \(0\.6 to 1\.0\)",
             measure="generic", scale="ratio")


def test_generic_estimate_rounded_coarser_than_its_ci_is_accepted(tmp_path: Path) -> None:
    """0.56 [0.6, 1.0]: a limit rounded to one decimal may be 0.55, below the estimate."""
    path = _write(tmp_path, "study,estimate,ci_lower,ci_upper\nA,0.56,0.6,1.0\nB,0.8,0.6,1.0667\n")
    assert len(read_studies(path, "generic", scale="ratio").rows) == 2


def test_generic_vi_and_se_that_disagree_are_refused_naming_both(tmp_path: Path) -> None:
    """vi 0.0512 is SE 0.226; se 0.30 says otherwise: refused, with both values and the line."""
    path = _write(tmp_path, "study,yi,vi,se\nA,-0.2175,0.0512,0.23\nB,-0.7861,0.0069,0.30\n")
    _refused(path, 3, r"study 'B': vi 0\.0069 \(SE 0\.08307\) and se 0\.30 give different standard errors",
             measure="generic")


def test_generic_se_and_ci_that_disagree_are_refused(tmp_path: Path) -> None:
    """A hazard ratio's CI 0.60 to 1.07 means SE 0.148 on the log scale; se 0.25 contradicts it."""
    path = _write(tmp_path, "study,estimate,ci_lower,ci_upper,se\nA,0.80,0.60,1.07,0.15\nB,0.80,0.60,1.07,0.25\n")
    _refused(path, 3, r"se 0\.25 and the CI 0\.60 to 1\.07 \(SE 0\.1476\) give different standard errors",
             measure="generic", scale="ratio")


def test_generic_missing_columns_list_every_accepted_set(tmp_path: Path) -> None:
    """Without a complete column set, the error lists all three sets and the columns found."""
    path = _write(tmp_path, "study,yi,ci_lower\nA,0.1,0.0\n")
    _refused(path, 1, r"generic data need one of these column sets: yi, vi; yi, se; estimate, ci_lower, "
                      r"ci_upper \(columns found: study, yi, ci_lower\)", measure="generic")


def test_ragged_rows_and_open_quotes_keep_their_lines(tmp_path: Path) -> None:
    """The strict reader's refusals reach meta with the file and line, without "nothing was imported"."""
    path = _write(tmp_path, BINARY + "A,3,40,6,42\nB,1,20,2,20,7\n")
    _refused(path, 3, r"row has 6 fields but the header has 5")
    with pytest.raises(ParseError) as info:
        read_studies(path, "RR")
    assert "imported" not in str(info.value)
    _refused(_write(tmp_path, BINARY + 'A,3,40,6,42\n"B,1,20,2,20\nC,1,20,2,20\n', name="q.csv"), 3,
             r"a quote opened on this line is never closed")


def test_a_header_only_file_is_refused(tmp_path: Path) -> None:
    """No rows (or only empty ones) is not an analysis."""
    with pytest.raises(ReviewkitError, match="no study rows"):
        read_studies(_write(tmp_path, BINARY + ",,,,\n"), "RR")


def test_generic_ratios_without_scale_ratio_are_refused(tmp_path: Path) -> None:
    """0.50 [0.20, 1.25] is central on the log scale only: a ratio. Read as a difference it would be pooled
    as 0.50 ± 0.525, against the file's own CI; refused on its line, with the fix."""
    path = _write(tmp_path, "study,estimate,ci_lower,ci_upper\nA,0.50,0.20,1.25\nB,0.80,0.60,1.07\n")
    with pytest.raises(ParseError) as info:
        read_studies(path, "generic")
    assert str(info.value).startswith(f"{path}, line 2: study 'A': the estimate 0.50 is off the centre of its CI")
    assert info.value.hint == "ratio data? add --scale ratio"
    assert len(read_studies(path, "generic", scale="ratio").rows) == 2


def test_generic_differences_with_scale_ratio_are_refused(tmp_path: Path) -> None:
    """0.50 [0.20, 0.80] is central on the natural scale and not the log scale: a difference given as a ratio."""
    path = _write(tmp_path, "study,estimate,ci_lower,ci_upper\nA,0.50,0.20,0.80\n")
    with pytest.raises(ParseError) as info:
        read_studies(path, "generic", scale="ratio")
    assert str(info.value).startswith(f"{path}, line 2: study 'A': the estimate 0.50 is off the centre of its CI")
    assert info.value.hint == "difference data? drop --scale ratio"
    assert len(read_studies(path, "generic").rows) == 1


@pytest.mark.parametrize(("rows", "scale"), [
    # published ratios, rounded to 2 decimals (1.5 [1.1, 2.1] is central on both scales within its rounding)
    ("A,0.74,0.61,0.90\nB,0.03,0.01,0.12\nC,1.5,1.1,2.1\nD,0.95,0.90,1.00\n", "ratio"),
    # differences: central within rounding; an asymmetric CI that is no ratio's; negative estimates
    ("A,0.25,-0.10,0.61\nB,0.40,0.10,0.90\nC,-0.30,-0.52,-0.08\nD,2,1,4\n", "difference"),
])
def test_published_estimates_and_cis_pass_the_scale_check(tmp_path: Path, rows: str, scale: str) -> None:
    """Rounding is allowed for: only a row off-centre beyond it, and central on the other scale, is refused."""
    path = _write(tmp_path, "study,estimate,ci_lower,ci_upper\n" + rows)
    assert len(read_studies(path, "generic", scale=scale).rows) == 4

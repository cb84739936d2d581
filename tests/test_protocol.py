"""Tests for the protocol schema and its error messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.protocol import load_protocol, parse_protocol
from reviewkit.protocol_errors import key_lines
from reviewkit.services.project import EXAMPLE_PROTOCOL

EXAMPLE = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(needle)


def _refusal(text: str) -> str:
    """The message parse_protocol refuses the text with."""
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(text)
    return str(err.value)


def test_example_protocol_loads() -> None:
    """The worked example's protocol is valid and holds the review's question and analyses."""
    p = load_protocol(EXAMPLE_PROTOCOL)
    assert "baricitinib" in p.title.lower()
    assert p.question.study_design == "Randomised controlled trials"
    assert p.sources.pubmed is not None and "LY3009104" in p.sources.pubmed.query
    assert p.screening.screeners_per_record == 2
    assert p.risk_of_bias.tool == "rob1"
    assert {r.name for r in p.reviewers} == {"alice", "bob", "carol"}
    assert "adjudicator" in p.reviewer("carol").roles  # type: ignore[union-attr]
    iga = p.analyses[0]
    assert (iga.outcome, iga.measure, iga.method, iga.tau2, iga.flavour, iga.multiarm) == (
        "iga_0_1", "RR", "MH", "DL", "revman5", "naive")
    assert iga.subgroups == ["dose_mg", "tcs"]
    assert p.outcome("iga_0_1").type == "dichotomous"  # type: ignore[union-attr]
    assert "Conference abstract" in p.screening.exclusion_reasons


def test_protocols_folder_holds_the_example() -> None:
    """protocols/baricitinib-ad.toml is the example protocol init uses."""
    top = Path(__file__).resolve().parent.parent / "protocols" / "baricitinib-ad.toml"
    assert top.read_text(encoding="utf-8") == EXAMPLE


def test_unknown_key_named_with_line_and_suggestion() -> None:
    """A misspelt key is refused with its dotted name, its line and the likely intended key."""
    bad = EXAMPLE.replace('measure = "MD"', 'mesure = "MD"')
    msg = _refusal(bad)
    assert "unknown key 'analyses[3].mesure'" in msg
    assert f"line {_line_of(bad, 'mesure')}" in msg
    assert "did you mean 'measure'" in msg


def test_wrong_type_named_with_line() -> None:
    """A value of the wrong type names the key, its line and what was given."""
    bad = EXAMPLE.replace("screeners_per_record = 2", 'screeners_per_record = "two"')
    msg = _refusal(bad)
    assert "'screening.screeners_per_record'" in msg
    assert f"line {_line_of(bad, 'screeners_per_record')}" in msg
    assert "'two'" in msg


def test_bad_choice_lists_allowed_values() -> None:
    """An unknown RoB tool lists the allowed ones."""
    bad = EXAMPLE.replace('tool = "rob1"', 'tool = "rob3"')
    with pytest.raises(ReviewkitError, match=r"risk_of_bias.tool.*'rob2' or 'rob1'"):
        parse_protocol(bad)


def test_missing_field_names_table_line_and_fix() -> None:
    """A missing required key names the key, the line of its table and what to add."""
    bad = EXAMPLE.replace('study_design = "Randomised controlled trials"\n', "")
    msg = _refusal(bad)
    assert "missing key 'question.study_design'" in msg
    assert f"line {_line_of(bad, '[question]')}" in msg
    assert "add `study_design = ...`" in msg


def test_toml_syntax_error_names_line() -> None:
    """Broken TOML is refused with tomllib's line and column."""
    bad = EXAMPLE.replace('tool = "rob1"', 'tool = "rob1')
    with pytest.raises(ReviewkitError, match=r"not valid TOML.*line \d+"):
        parse_protocol(bad, source="x/review.toml")


def test_analysis_must_name_a_form_outcome() -> None:
    """An analysis of an outcome the extraction form lacks is refused, listing the outcomes."""
    bad = EXAMPLE.replace('outcome = "iga_0_1"', 'outcome = "iga"')
    with pytest.raises(ReviewkitError, match="names outcome 'iga'"):
        parse_protocol(bad)


def test_mh_needs_a_binary_measure() -> None:
    """Mantel-Haenszel with a mean difference is refused with the fix."""
    bad = EXAMPLE.replace('measure = "MD"\nmethod = "IV"', 'measure = "MD"\nmethod = "MH"')
    with pytest.raises(ReviewkitError, match="method MH applies to RR, OR or RD"):
        parse_protocol(bad)


def test_key_lines_index_arrays_of_tables() -> None:
    """key_lines gives each [[array]] entry its index."""
    text = '[[a]]\nx = 1\n\n[[a]]\nx = 2\n[b.c]\ny = 3\n'
    lines = key_lines(text)
    assert lines[("a", 0, "x")] == 2
    assert lines[("a", 1, "x")] == 5
    assert lines[("b", "c", "y")] == 7


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    """Opening a folder without a protocol tells the user about init."""
    with pytest.raises(ReviewkitError, match="reviewkit init"):
        load_protocol(tmp_path / "review.toml")


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        # A second alice, differing only in case: named at its own name line.
        (lambda t: t + '\n[[reviewers]]\nname = "Alice"\nrole = "screener"\n',
         "'reviewers[3].name'", "already used by reviewers[0] ('alice')"),
        (lambda t: t.replace("screeners_per_record = 2", "screeners_per_record = 3"),
         "'screening.screeners_per_record'", "only 2 reviewers screen (alice, bob)"),
        (lambda t: t.replace('subgroups = ["dose_mg"]', 'subgroups = ["dose"]', 1),
         "'analyses[2].subgroups[0]'", "'dose', which is not a study or arm field"),
    ],
)
def test_cross_key_problems_name_the_key_and_its_line(change, where: str, says: str) -> None:  # noqa: ANN001
    """A problem across keys names the key it is about and its line, never the whole protocol back."""
    text = change(EXAMPLE)
    assert text != EXAMPLE
    with pytest.raises(ReviewkitError) as info:
        parse_protocol(text)
    message = str(info.value)
    assert f"{where}: " in message and says in message and "line " in message
    assert "got {" not in message and len(message) < 400


def test_a_reason_listed_twice_is_refused_at_its_line() -> None:
    """The same exclusion reason twice (case aside) points at the second one."""
    reasons = 'exclusion_reasons = ['
    assert reasons in EXAMPLE
    text = EXAMPLE.replace(reasons, f"{reasons}\"review\", ", 1)
    with pytest.raises(ReviewkitError, match=r"'screening\.exclusion_reasons\[\d+\]': exclusion reason "):
        parse_protocol(text)



@pytest.mark.parametrize(("old", "new", "where", "says"), [
    ('name = "nct_id"', 'name = "trial_name"', "extraction.fields[1].name",
     "field name 'trial_name' is already used by fields[0]"),
    ('name = "easi50"', 'name = "iga_0_1"', "extraction.outcomes[1].name",
     "outcome name 'iga_0_1' is already used by outcomes[0]"),
])
def test_a_form_field_or_outcome_named_twice_is_refused(old: str, new: str, where: str, says: str) -> None:
    """Two form fields (or outcomes) of one name made an extraction table with two columns of that name, which
    `extract import` then refused: the protocol is refused instead, at the second one's key."""
    assert EXAMPLE.count(old) == 1
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(EXAMPLE.replace(old, new))
    assert f"'{where}': " in str(err.value) and says in str(err.value)


@pytest.mark.parametrize(("value", "says"), [
    ('"2"', "Input should be a valid integer (got the text '2': write the value without quotes)"),
    ("2.0", "Input should be a valid integer"),
    ("true", "Input should be a valid integer"),
    ("0", "Input should be greater than or equal to 1 (got 0)"),
])
def test_screeners_per_record_must_be_a_whole_number_from_one(value: str, says: str) -> None:
    """Not read leniently: "2" (a string), 2.0 and true were accepted as 2, 2 and 1."""
    bad = EXAMPLE.replace("screeners_per_record = 2", f"screeners_per_record = {value}")
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(bad)
    assert f"line {_line_of(bad, 'screeners_per_record')}: 'screening.screeners_per_record': {says}" in str(err.value)


@pytest.mark.parametrize("reason", ['""', '"   "'])
def test_an_empty_exclusion_reason_is_refused_at_its_key(reason: str) -> None:
    """An exclusion reason with no text (it was accepted) is refused, naming the key and its line."""
    reasons = 'exclusion_reasons = ['
    text = EXAMPLE.replace(reasons, f"{reasons}\n  {reason},", 1)
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(text)
    line = _line_of(text, reasons)  # the list's line: key_lines does not index a list's items
    assert f"line {line}: 'screening.exclusion_reasons[0]': is empty: give it text, or remove it" in str(err.value)

#: Analyses that could never run, each refused at the key to change (the first [[analyses]] is IGA 0/1,
#: a dichotomous outcome; the fourth is the continuous DLQI change).
IMPOSSIBLE = [
    ('measure = "RR"\nmethod = "MH"', 'measure = "MD"\nmethod = "IV"', "'analyses[0].measure'", 'measure = "MD"',
     "measure MD needs a continuous outcome, but outcome 'iga_0_1' is dichotomous: use RR, OR or RD"),
    ('measure = "MD"\nmethod = "IV"', 'measure = "OR"\nmethod = "IV"', "'analyses[3].measure'", 'measure = "OR"',
     "measure OR needs a dichotomous outcome, but outcome 'dlqi_change' is continuous: use MD or SMD"),
    ('measure = "RR"\nmethod = "MH"', 'measure = "generic"\nmethod = "IV"', "'analyses[0].measure'",
     'measure = "generic"', "not extracted arms"),
    ('measure = "RR"\nmethod = "MH"\nmodel = "random"', 'measure = "OR"\nmethod = "Peto"\nmodel = "random"',
     "'analyses[0].model'", 'model = "random"', 'the Peto method is fixed-effect only (as in RevMan): set model = "fixed"'),
    ('model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"', "'analyses[0].tau2'", 'tau2 = "DL"',
     'remove tau2 or set model = "random"'),
    ('model = "random"\ntau2 = "DL"', 'model = "fixed"\nhksj = true', "'analyses[0].hksj'", "hksj = true",
     'remove hksj or set model = "random"'),
    # the ad hoc HKSJ (max(1, q)) modifies HKSJ: refused where there is none for it to modify
    ('model = "random"\ntau2 = "DL"', 'model = "fixed"\nhksj_adhoc = true', "'analyses[0].hksj_adhoc'",
     "hksj_adhoc = true", 'adjusts random-effects models only, but model = "fixed": remove hksj_adhoc or set '
     'model = "random"'),
    ('model = "random"\ntau2 = "DL"', 'model = "random"\ntau2 = "DL"\nhksj = false\nhksj_adhoc = true',
     "'analyses[0].hksj_adhoc'", "hksj_adhoc = true", "but hksj = false: remove hksj_adhoc or set hksj = true"),
    ('model = "random"\ntau2 = "DL"', 'model = "random"\ntau2 = "DL"\nhksj_adhoc = true',
     "'analyses[0].hksj_adhoc'", "hksj_adhoc = true",
     'but flavour "revman5" does not use HKSJ unless asked: set hksj = true or remove hksj_adhoc'),
    ('model = "random"\ntau2 = "DL"', 'model = "fixed"\nprediction_interval = true',
     "'analyses[0].prediction_interval'", "prediction_interval = true",
     'a fixed-effect model has none), but model = "fixed": remove prediction_interval or set model = "random"'),
    ('timepoint = "week 16"', 'timepoint = "week 12"', "'analyses[0].timepoint'", 'timepoint = "week 12"',
     "outcome 'iga_0_1' has no timepoint 'week 12' (its timepoints: week 16)"),
    ('name = "EASI 75 at week 16"', 'name = "IGA 0/1 AT WEEK 16"', "'analyses[1].name'", 'name = "IGA 0/1 AT',
     "already used by analyses[0]"),
    # a blank control matched every arm's label (a substring ""), so each study was left out at analyze time
    ('control = "placebo"', 'control = ""', "'analyses[0].control'", 'control = ""',
     "is empty: name the comparator's intervention"),
    ('control = "placebo"', 'control = "  "', "'analyses[0].control'", 'control = "  "',
     "is empty: name the comparator's intervention"),
]


@pytest.mark.parametrize(("old", "new", "key", "line_text", "says"), IMPOSSIBLE)
def test_protocol_check_refuses_an_analysis_that_cannot_run(old: str, new: str, key: str, line_text: str,
                                                           says: str) -> None:
    """A measure that does not fit its outcome's type, Peto under random effects, a tau² estimator or HKSJ on a
    fixed-effect model, a timepoint the form lacks, a name used twice: refused at the key and its line."""
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    with pytest.raises(ReviewkitError) as info:
        parse_protocol(text)
    message = str(info.value)
    assert f"line {_line_of(text, line_text)}: {key}: " in message and says in message, message


@pytest.mark.parametrize(("value", "says"), [
    ('"yes"', "Input should be a valid boolean (got the text 'yes': write true or false, without quotes)"),
    ('"true"', "Input should be a valid boolean (got the text 'true': write true or false, without quotes)"),
    ("1", "Input should be a valid boolean (got 1: write true or false)"),
])
def test_prediction_interval_must_be_true_or_false(value: str, says: str) -> None:
    """Not read leniently ("yes" and 1 would be taken as true, "no" as false): refused naming the file, the
    line and the key."""
    text = EXAMPLE.replace('flavour = "revman5"', f'flavour = "revman5"\nprediction_interval = {value}', 1)
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(text, source="x/review.toml")
    line = _line_of(text, "prediction_interval =")
    assert f"x/review.toml: line {line}: 'analyses[0].prediction_interval': {says}" in str(err.value)


@pytest.mark.parametrize(("old", "new", "key"), [
    ('flavour = "revman5"', 'flavour = "revman5"\nhksj = "yes"', "analyses[0].hksj"),
    ("screeners_per_record = 2", 'screeners_per_record = 2\nprioritise = "yes"', "screening.prioritise"),
    ("tool = \"rob1\"", 'tool = "rob1"\nassessors_per_study = "2"', "risk_of_bias.assessors_per_study"),
    ('name = "trial_name"\ntype = "text"\nrequired = true', 'name = "trial_name"\ntype = "text"\nrequired = 1',
     "extraction.fields[0].required"),
    ("higher_is_better = false", 'higher_is_better = "false"', "extraction.outcomes["),
])
def test_switches_and_counts_take_only_toml_booleans_and_integers(old: str, new: str, key: str) -> None:
    """hksj = "yes" was read as true, and "false" in quotes as false: every protocol switch and count is now
    strict, refused naming the file, the line and the key, so a quoted value never silently turns a method on."""
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(text, source="x/review.toml")
    changed = new.split("\n")[-1]
    line = _line_of(text, changed)
    assert f"x/review.toml: line {line}: '{key}" in str(err.value), str(err.value)
    assert "valid boolean" in str(err.value) or "valid integer" in str(err.value)


def test_prediction_interval_left_out_is_the_flavours_and_false_is_harmless_under_fixed_effect() -> None:
    """Absent, None (the flavour decides); true or false kept; false on a fixed-effect model asks for nothing
    it cannot have, so it is accepted, as hksj = false is."""
    assert all(a.prediction_interval is None for a in parse_protocol(EXAMPLE).analyses)
    for value in (True, False):
        text = EXAMPLE.replace('flavour = "revman5"', f'flavour = "revman5"\nprediction_interval = {str(value).lower()}', 1)
        assert parse_protocol(text).analyses[0].prediction_interval is value
    fixed = EXAMPLE.replace('model = "random"\ntau2 = "DL"', 'model = "fixed"\nprediction_interval = false', 1)
    assert parse_protocol(fixed).analyses[0].prediction_interval is False


def test_hksj_adhoc_is_accepted_where_hksj_is_on_and_strictly_boolean() -> None:
    """hksj_adhoc = true with hksj = true, or under cochrane2025 whose default HKSJ it modifies, is a valid
    analysis; left out it is false; a quoted "true" is refused naming the key, as hksj's is."""
    assert all(a.hksj_adhoc is False for a in parse_protocol(EXAMPLE).analyses)
    with_hksj = EXAMPLE.replace('tau2 = "DL"', 'tau2 = "DL"\nhksj = true\nhksj_adhoc = true', 1)
    a = parse_protocol(with_hksj).analyses[0]
    assert (a.hksj, a.hksj_adhoc) == (True, True)
    default = EXAMPLE.replace('flavour = "revman5"', 'flavour = "cochrane2025"\nhksj_adhoc = true', 1)
    a = parse_protocol(default).analyses[0]
    assert (a.flavour, a.hksj, a.hksj_adhoc) == ("cochrane2025", None, True)
    quoted = EXAMPLE.replace('tau2 = "DL"', 'tau2 = "DL"\nhksj = true\nhksj_adhoc = "true"', 1)
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(quoted, source="x/review.toml")
    line = _line_of(quoted, "hksj_adhoc =")
    assert f"x/review.toml: line {line}: 'analyses[0].hksj_adhoc': Input should be a valid boolean" in str(err.value)


def test_peto_fixed_is_accepted() -> None:
    """Peto with a fixed-effect model (no tau2, no HKSJ) is a valid analysis."""
    text = EXAMPLE.replace('measure = "RR"\nmethod = "MH"\nmodel = "random"\ntau2 = "DL"\n',
                           'measure = "OR"\nmethod = "Peto"\nmodel = "fixed"\n', 1)
    assert text != EXAMPLE
    assert parse_protocol(text).analyses[0].method == "Peto"


@pytest.mark.parametrize(("old", "new", "key", "line_text", "says"), IMPOSSIBLE)
def test_a_lenient_load_keeps_each_analysis_problem_as_check_words_it(old: str, new: str, key: str,
                                                                      line_text: str, says: str) -> None:
    """Opening a review loads leniently: a protocol with an analysis that cannot run still loads, and the
    problem is kept under that analysis's index in the very words (file, line, key, fix) a strict check gives."""
    text = EXAMPLE.replace(old, new, 1)
    with pytest.raises(ReviewkitError) as strict:
        parse_protocol(text, source="x/review.toml")
    protocol = parse_protocol(text, source="x/review.toml", lenient_analyses=True)
    index = int(key.split("[")[1].split("]")[0])
    assert protocol.analysis_problems == {index: [str(strict.value)]}
    assert f"line {_line_of(text, line_text)}: {key}: " in str(strict.value) and says in str(strict.value)
    assert "analysis_problems" not in protocol.model_dump()
    assert len(protocol.analyses) == len(parse_protocol(EXAMPLE).analyses)


@pytest.mark.parametrize("value", ['"false"', '"yes"', "1"])
def test_a_quoted_switch_of_an_analysis_skips_it_on_open_and_is_refused_by_check(value: str) -> None:
    """hksj = "false" was read as false before switches were strict: a review holding it still opens (the
    analysis is kept with the strict check's words, for analyze to skip), while a strict load refuses it. A
    wrong type outside the analyses is refused either way."""
    text = EXAMPLE.replace('flavour = "revman5"', f'flavour = "revman5"\nhksj = {value}', 1)
    with pytest.raises(ReviewkitError) as strict:
        parse_protocol(text, source="x/review.toml")
    protocol = parse_protocol(text, source="x/review.toml", lenient_analyses=True)
    assert protocol.analysis_problems == {0: [str(strict.value)]}
    assert f"line {_line_of(text, 'hksj =')}: 'analyses[0].hksj'" in str(strict.value)
    assert len(protocol.analyses) == len(parse_protocol(EXAMPLE).analyses)
    elsewhere = text.replace("screeners_per_record = 2", 'screeners_per_record = 2\nprioritise = "yes"', 1)
    with pytest.raises(ReviewkitError, match="screening.prioritise"):
        parse_protocol(elsewhere, source="x/review.toml", lenient_analyses=True)


def test_a_lenient_load_keeps_every_problem_of_an_analysis() -> None:
    """Two problems in one analysis (tau2 and hksj on a fixed-effect model) are both kept, each at its line;
    the other analyses have none, and a strict load of the example keeps none either."""
    text = EXAMPLE.replace('model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"\nhksj = true', 1)
    problems = parse_protocol(text, lenient_analyses=True).analysis_problems
    assert list(problems) == [0]
    tau2, hksj = problems[0]
    assert f"line {_line_of(text, 'tau2 = ')}: 'analyses[0].tau2': " in tau2
    assert f"line {_line_of(text, 'hksj = true')}: 'analyses[0].hksj': " in hksj
    assert parse_protocol(EXAMPLE).analysis_problems == {}
    assert parse_protocol(EXAMPLE, lenient_analyses=True).analysis_problems == {}


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('measure = "MD"', 'mesure = "MD"', "unknown key 'analyses[3].mesure'"),
        ('measure = "RR"', 'measure = "HR"', "'analyses[0].measure'"),
        ('outcome = "iga_0_1"', 'outcome = "iga"', "names outcome 'iga'"),
        ('subgroups = ["dose_mg"]', 'subgroups = ["dose"]', "'dose', which is not a study or arm field"),
        ('screeners_per_record = 2', 'screeners_per_record = 3', "only 2 reviewers screen"),
        ('study_design = "Randomised controlled trials"\n', "", "missing key 'question.study_design'"),
    ],
)
def test_a_lenient_load_still_refuses_structural_errors(old: str, new: str, says: str) -> None:
    """Unknown keys, wrong values, an outcome or subgroup field the form lacks, reviewer and screening
    problems: refused when a review opens as well, not kept as an analysis problem."""
    assert old in EXAMPLE
    with pytest.raises(ReviewkitError, match=re.escape(says)):
        parse_protocol(EXAMPLE.replace(old, new, 1), lenient_analyses=True)


def test_strict_load_names_every_cross_key_problem_at_once() -> None:
    """A reviewer named twice, an exclusion reason listed twice and an analysis whose measure does not fit
    its outcome: all three in one refusal, each with its key and line (it stopped at the first)."""
    from reviewkit.protocol_errors import ProtocolError

    text = EXAMPLE.replace('[[reviewers]]\nname = "bob"', '[[reviewers]]\nname = "Alice"', 1)
    reasons = re.search(r"exclusion_reasons = \[\s*\"([^\"]+)\"", text)
    assert reasons is not None and 'name = "Alice"' in text
    text = text.replace(reasons.group(0), f'{reasons.group(0)}, "{reasons.group(1)}"', 1)
    text = text.replace('measure = "RR"', 'measure = "MD"', 1)
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text)
    keys = [re.search(r"'([^']+)': ", p).group(1) for p in caught.value.problems]  # type: ignore[union-attr]
    assert keys[0] == "reviewers[1].name" and keys[1].startswith("screening.exclusion_reasons[")
    assert "analyses[0].measure" in keys and "analyses[0].method" in keys
    assert all(re.match(r"review\.toml: line \d+: '", p) for p in caught.value.problems)
    # The one-line form other commands print keeps them all too.
    assert str(caught.value).count("line ") == len(caught.value.problems)


def test_a_team_without_a_lead_is_refused_unless_loading_leniently() -> None:
    """No lead: nobody could change the protocol, read the audit or back up. `protocol check` and `replace`
    refuse it at the reviewers' line; an existing review's review.toml (lenient load) still loads."""
    text = EXAMPLE.replace('roles = ["screener", "lead"]', 'roles = ["screener"]', 1)
    assert '"lead"' not in text
    with pytest.raises(ReviewkitError) as info:
        parse_protocol(text, source="review.toml")
    assert (f"review.toml: line {_line_of(text, '[[reviewers]]')}: 'reviewers': no reviewer is a lead "
            "(alice, bob, carol)") in str(info.value)
    lenient = parse_protocol(text, lenient_analyses=True)
    assert not any("lead" in r.roles for r in lenient.reviewers)


def test_a_line_separator_inside_a_string_does_not_shift_the_lines_named() -> None:
    """TOML lines end at a newline only: a U+2028 pasted into a label (a word processor's line break) is
    text, not a line, so the errors after it still name their own line."""
    text = EXAMPLE.replace('label = "Baricitinib dose"', 'label = "Baricitinib\u2028dose"', 1)
    bad = text.replace('measure = "MD"', 'mesure = "MD"')
    assert bad != text != EXAMPLE
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(bad)
    line = bad.split("\n").index('mesure = "MD"') + 1
    assert f"line {line}: unknown key 'analyses[3].mesure'" in str(err.value)


@pytest.mark.parametrize(("lines", "key", "says"), [
    ("mindate = 2020-01-01\nmaxdate = 2021-06-30", "sources.pubmed.mindate",
     "(got the date 2020-01-01: write it as text, in quotes, as \"2020/01/01\")"),
    ("mindate = 2020\nmaxdate = 2021", "sources.pubmed.maxdate",
     "(got the number 2021: write it as text, in quotes, as \"2021\")"),
])
def test_a_value_that_should_be_text_says_to_quote_it(lines: str, key: str, says: str) -> None:
    """A TOML date or a number where text belongs is refused saying how to write it, not showing Python's
    datetime.date(2020, 1, 1)."""
    text = EXAMPLE.replace("\n[sources.ctgov]", f"{lines}\n\n[sources.ctgov]", 1)
    message = _refusal(text)
    assert f"'{key}': Input should be a valid string {says}" in message
    assert "datetime" not in message


@pytest.mark.parametrize(("old", "new", "key"), [
    ('timepoints = ["week 16"]', 'timepoints = ["week 16", " "]', "extraction.outcomes[0].timepoints[1]"),
    ('choices = ["2", "3"]', 'choices = ["2", ""]', "extraction.fields[2].choices[1]"),
    ('"Placebo comparator",', '"",', "eligibility.inclusion[3]"),
])
def test_an_empty_text_in_a_list_is_refused_at_its_key(old: str, new: str, key: str) -> None:
    """A blank timepoint, choice or criterion (accepted: a timepoint nobody can name, a choice nobody can
    see) is refused as a blank exclusion reason is."""
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(EXAMPLE.replace(old, new, 1))
    assert f"'{key}': is empty: give it text" in str(err.value)


def test_a_timepoint_listed_twice_is_refused_at_its_key() -> None:
    """An outcome's timepoint twice (case aside) would give the extraction table two rows of one timepoint."""
    text = EXAMPLE.replace('timepoints = ["week 16"]', 'timepoints = ["week 16", "Week 16"]', 1)
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(text)
    assert ("'extraction.outcomes[0].timepoints[1]': timepoint 'Week 16' is listed twice" in str(err.value))


def test_exclusion_reasons_differing_only_in_spacing_are_refused() -> None:
    """"Case  report" beside "Case report" reads as one reason and would count as two in PRISMA."""
    text = EXAMPLE.replace('"Case report",', '"Case report",\n  "Case  report",', 1)
    with pytest.raises(ReviewkitError, match=r"exclusion_reasons\[4\]': exclusion reason 'Case  report' is listed "):
        parse_protocol(text)


@pytest.mark.parametrize(("data", "says"), [
    (EXAMPLE.encode("utf-16"), "UTF-16 text"),
    (EXAMPLE.replace("title = \"", "title = \"\u00e9", 1).encode("latin-1", errors="replace"), "line 5"),
])
def test_a_protocol_not_in_utf8_says_where_and_how_to_fix_it(tmp_path: Path, data: bytes, says: str) -> None:
    """A review.toml saved as UTF-16 (Windows' "Unicode") or in a legacy encoding names the file, where the
    first bad byte is, and that it must be saved as UTF-8."""
    path = tmp_path / "review.toml"
    path.write_bytes(data)
    with pytest.raises(ReviewkitError) as err:
        load_protocol(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and says in message and "save it as UTF-8" in message


def test_a_lenient_load_still_opens_a_review_with_near_twin_reasons_or_timepoints() -> None:
    """A review.toml accepted before these checks (its decisions may give both reasons) still opens;
    `protocol check` refuses it."""
    text = EXAMPLE.replace('"Case report",', '"Case report",\n  "Case  report",', 1).replace(
        'timepoints = ["week 16"]', 'timepoints = ["week 16", "Week 16"]', 1)
    assert parse_protocol(text, lenient_analyses=True).screening.exclusion_reasons[4] == "Case  report"
    with pytest.raises(ReviewkitError):
        parse_protocol(text)


def test_a_top_level_key_written_below_a_table_says_to_move_it_up() -> None:
    """`database_url = ...` appended to the file lands in the last [[analyses]] table, as TOML reads it: the
    error says it is a top-level key to move above the first table, not only which keys analyses allow."""
    text = EXAMPLE + '\ndatabase_url = "postgresql://me@db/review"\n'
    message = _refusal(text)
    line = text.split("\n").index('database_url = "postgresql://me@db/review"') + 1
    assert f"line {line}: unknown key 'analyses[3].database_url'" in message
    assert "top-level key" in message and "above the first [table]" in message


def test_a_nul_escape_is_refused_naming_each_key_and_line() -> None:
    """TOML reads "\\u0000" as a NUL character: a reviewer so named was stored on SQLite, and on PostgreSQL
    `init` and every open failed with a traceback (it refuses NUL in text). Refused alike, key and line named."""
    bad = EXAMPLE.replace('name = "carol"', 'name = "ca\\u0000rol"').replace('"Animal study"', '"Animal\\u0000study"')
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(bad)
    assert err.value.problems == [  # type: ignore[attr-defined]
        f"review.toml: line {_line_of(bad, 'ca' + chr(92) + 'u0000rol')}: 'reviewers[2].name': holds a NUL "
        "character (\\u0000), which no review stores: remove it",
        f"review.toml: line {_line_of(bad, 'exclusion_reasons = [')}: 'screening.exclusion_reasons[0]': "
        "holds a NUL character (\\u0000), which no review stores: remove it"]

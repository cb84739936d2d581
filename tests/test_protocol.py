"""Tests for the protocol schema and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.protocol import key_lines, load_protocol, parse_protocol
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
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(bad)
    msg = str(err.value)
    assert "unknown key 'analyses[3].mesure'" in msg
    assert f"line {_line_of(bad, 'mesure')}" in msg
    assert "did you mean 'measure'" in msg


def test_wrong_type_named_with_line() -> None:
    """A value of the wrong type names the key, its line and what was given."""
    bad = EXAMPLE.replace("screeners_per_record = 2", 'screeners_per_record = "two"')
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(bad)
    msg = str(err.value)
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
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(bad)
    msg = str(err.value)
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
         "'screening.screeners_per_record'", "only 2 reviewer(s) screen (alice, bob)"),
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

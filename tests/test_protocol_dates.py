"""Tests that a PubMed date range PubMed would refuse, or that finds nothing, is refused by `protocol check`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import parse_protocol
from reviewkit.services.project import EXAMPLE_PROTOCOL

EXAMPLE = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")


def _with(lines: str) -> str:
    return EXAMPLE.replace("\n[sources.ctgov]", f"{lines}\n\n[sources.ctgov]", 1)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(needle))


@pytest.mark.parametrize(("lines", "key", "needle", "why"), [
    ('mindate = "2020"', "maxdate", "[sources.pubmed]", "mindate is set but maxdate is not"),
    ('maxdate = "2020"', "mindate", "[sources.pubmed]", "maxdate is set but mindate is not"),
    ('mindate = "2020"\nmaxdate = "2019"', "maxdate", "maxdate", "maxdate 2019 is before mindate 2020"),
    ('mindate = "2020/07"\nmaxdate = "2020/06/30"', "maxdate", "maxdate", "is before mindate 2020/07"),
])
def test_bad_date_range_is_refused_naming_key_and_line(lines: str, key: str, needle: str, why: str) -> None:
    """One limit alone (search then failed naming no key), or a range ending before it starts (searched)."""
    text = _with(lines)
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(text, source="review.toml")
    msg = str(err.value)
    assert msg.startswith("review.toml") and f"line {_line(text, needle)}: 'sources.pubmed.{key}'" in msg
    assert why in msg


@pytest.mark.parametrize("lines", ['mindate = "2020/06"\nmaxdate = "2020"', 'mindate = "2019"\nmaxdate = "2020/01/01"',
                                   'mindate = "2020"\nmaxdate = "2020"'])
def test_good_date_ranges_pass(lines: str) -> None:
    """Limits of different precision compare on the parts both give: 2020/06 lies within 2020."""
    parse_protocol(_with(lines))


def test_protocol_check_refuses_a_lone_mindate(tmp_path) -> None:  # noqa: ANN001
    """`protocol check` no longer prints OK for a protocol `search` then fails on."""
    path = tmp_path / "p.toml"
    path.write_text(_with('mindate = "2020"'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["protocol", "check", str(path)])
    assert result.exit_code != 0 and "OK" not in result.output
    assert "sources.pubmed.maxdate" in result.output + result.stderr


@pytest.mark.parametrize(("lines", "key"), [
    ('mindate = "2020/13/45"\nmaxdate = "2021"', "mindate"),
    ('mindate = "2020/02/30"\nmaxdate = "2021"', "mindate"),
    ('mindate = "2020/00"\nmaxdate = "2021"', "mindate"),
    ('mindate = "2020/01/00"\nmaxdate = "2021"', "mindate"),
    ('mindate = "2020"\nmaxdate = "2021/02/29"', "maxdate"),
    ('mindate = "0000"\nmaxdate = "2021"', "mindate"),
])
def test_a_date_that_does_not_exist_is_refused_naming_key_and_line(lines: str, key: str) -> None:
    """Only the pattern was checked: month 13, 30 February or month 00 passed `protocol check`."""
    text = _with(lines)
    with pytest.raises(ReviewkitError) as err:
        parse_protocol(text, source="review.toml")
    msg = str(err.value)
    assert f"line {_line(text, key)}: 'sources.pubmed.{key}': no such date" in msg


@pytest.mark.parametrize("lines", ['mindate = "2020/02/29"\nmaxdate = "2020/12/31"',
                                   'mindate = "2019/01"\nmaxdate = "2019/12"'])
def test_real_dates_pass(lines: str) -> None:
    """A leap day and the last day of a year are dates."""
    parse_protocol(_with(lines))


def test_protocol_check_refuses_an_impossible_date(tmp_path) -> None:  # noqa: ANN001
    """`protocol check` names the key and exits non-zero instead of printing OK."""
    path = tmp_path / "p.toml"
    path.write_text(_with('mindate = "2020/02/30"\nmaxdate = "2021"'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["protocol", "check", str(path)])
    assert result.exit_code == 1 and "OK" not in result.output
    assert "'sources.pubmed.mindate': no such date" in result.stderr

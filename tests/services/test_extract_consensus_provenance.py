"""Tests that the consensus never silently loses how a value was derived: an SD one extractor converted from a
CI and the other entered as reported (or converted at another recorded level) agrees in its number only, so
it is a difference the consensus must settle, shown with both provenances; the choice keeps the chosen
extractor's record (or none), and identical conversions still agree."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services import extract
from reviewkit.services.extract_analysis_data import consensus_data
from reviewkit.services.extract_consensus import extraction_differences, record_consensus
from reviewkit.services.extract_convert import convert
from reviewkit.services.extract_status import finish_extraction
from reviewkit.services.project import Review
from tests.extraction_required import fill_required

SD_KEY = "value|Placebo|dlqi_change|week 16|sd"
CI = {"mean": "-2", "ci_lower": "-3.1", "ci_upper": "-0.9", "n": "100"}


def _ci_study(review: Review) -> int:
    """alice and bob enter Placebo's mean, 95% CI and n alike (not finished yet)."""
    sid = extract.create_study(review, "alice", "BREEZE-AD1").id
    for who in ("alice", "bob"):
        fill_required(review, who, sid)
        extract.set_arm(review, who, sid, "Placebo", intervention="placebo")
        for field, value in CI.items():
            extract.set_value(review, who, sid, field, value, arm="Placebo", outcome="dlqi_change")
    return sid


def _finish(review: Review, sid: int) -> None:
    for who in ("alice", "bob"):
        finish_extraction(review, who, sid)


def _converted_vs_reported(review: Review) -> tuple[int, str]:
    """bob converts Placebo's SD from its CI at a recorded 90%; alice (first by name) types the same SD as
    reported. The SD they give, as text."""
    sid = _ci_study(review)
    (sd,) = convert(review, "bob", sid, arm="Placebo", outcome="dlqi_change", method="ci", level=0.9)
    assert sd.value is not None
    extract.set_value(review, "alice", sid, "sd", sd.value, arm="Placebo", outcome="dlqi_change")
    _finish(review, sid)
    return sid, sd.value


def test_a_value_converted_by_one_and_reported_by_the_other_is_a_difference(review: Review) -> None:
    """The numbers agree, the provenance does not: the item differs, each side saying how it was derived, and
    the consensus does not take either silently (it would keep alice's, dropping bob's record)."""
    sid, sd = _converted_vs_reported(review)
    (diff,) = extraction_differences(review, "carol", sid)
    assert diff.key == SD_KEY and diff.values == {"alice": sd, "bob": sd}
    assert diff.provenance["alice"] is None
    assert diff.provenance["bob"] is not None and diff.provenance["bob"].startswith("converted (ci): ")
    assert "level 0.9" in diff.provenance["bob"]
    result = record_consensus(review, "carol", sid)
    assert [d.key for d in result.unresolved] == [SD_KEY]
    (data,) = consensus_data(review, "dlqi_change")
    (placebo,) = data.arms
    # Not silently "reported": the SD is still to settle, so the analysis derives one from the CI meanwhile.
    assert placebo.sd_source == "derived"


def test_taking_the_converted_value_keeps_its_record_and_level(review: Review) -> None:
    """--take bob keeps bob's conversion record: the analysis knows the SD was converted at 90%, and gives no
    warning that 95% was assumed."""
    sid, sd = _converted_vs_reported(review)
    result = record_consensus(review, "carol", sid, take={SD_KEY: "bob"})
    assert result.unresolved == ()
    (data,) = consensus_data(review, "dlqi_change")
    (placebo,) = data.arms
    assert (placebo.sd, placebo.sd_source) == (float(sd), "converted")
    assert placebo.converted_from["sd"]["inputs"]["level"] == 0.9
    assert placebo.assumed_level is None and data.sd_warnings() == {}
    assert extraction_differences(review, "carol", sid)[0].consensus == sd


def test_taking_the_reported_value_stores_it_as_reported(review: Review) -> None:
    """--take alice is the reviewers' decision that the report gives the SD: stored without a record."""
    sid, sd = _converted_vs_reported(review)
    record_consensus(review, "carol", sid, take={SD_KEY: "alice"})
    (data,) = consensus_data(review, "dlqi_change")
    (placebo,) = data.arms
    assert (placebo.sd, placebo.sd_source, placebo.converted_from) == (float(sd), "reported", {})


def test_conversions_at_another_recorded_level_differ(review: Review) -> None:
    """alice converts without --level (no level recorded, read as 95%), bob names 0.95: the same SD, but the
    consensus taking alice's (first by name) would warn that 95% was assumed though bob recorded it."""
    sid = _ci_study(review)
    (a,) = convert(review, "alice", sid, arm="Placebo", outcome="dlqi_change", method="ci")
    (b,) = convert(review, "bob", sid, arm="Placebo", outcome="dlqi_change", method="ci", level=0.95)
    assert a.value == b.value
    _finish(review, sid)
    (diff,) = extraction_differences(review, "carol", sid)
    assert diff.key == SD_KEY and diff.provenance["alice"] != diff.provenance["bob"]
    assert record_consensus(review, "carol", sid, take={SD_KEY: "bob"}).unresolved == ()
    (data,) = consensus_data(review, "dlqi_change")
    assert data.arms[0].converted_from["sd"]["inputs"]["level"] == 0.95 and data.sd_warnings() == {}


def test_identical_conversions_still_agree(review: Review) -> None:
    """Both convert from the CI at 90%: nothing differs, and the agreed consensus keeps the record."""
    sid = _ci_study(review)
    for who in ("alice", "bob"):
        convert(review, who, sid, arm="Placebo", outcome="dlqi_change", method="ci", level=0.9)
    _finish(review, sid)
    assert extraction_differences(review, "carol", sid) == []
    assert record_consensus(review, "carol", sid).unresolved == ()
    (data,) = consensus_data(review, "dlqi_change")
    (placebo,) = data.arms
    assert placebo.sd_source == "converted" and placebo.converted_from["sd"]["inputs"]["level"] == 0.9


def test_the_differences_command_shows_both_provenances(review: Review) -> None:
    """`extract differences` (text and --json) and `extract consensus`'s "still differs" say which side was
    reported and which converted, and from what."""
    sid, sd = _converted_vs_reported(review)

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "carol", "extract", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    (item,) = json.loads(run("differences", "--study", str(sid), "--json"))
    (d,) = item["differences"]
    assert d["key"] == SD_KEY and d["values"] == {"alice": sd, "bob": sd}
    assert d["provenance"]["alice"] is None and "level 0.9" in d["provenance"]["bob"]
    out = run("differences", "--study", str(sid))
    assert f"{SD_KEY}: alice={sd} [reported]  bob={sd} [converted (ci): " in out and "level 0.9" in out
    out = run("consensus", str(sid))
    assert f"still differs: {SD_KEY}: alice={sd} [reported]  bob={sd} [converted (ci): " in out

"""Tests that a paper reporting two trials counts as two studies whether or not their registry records were
found, and that `studies add` creates a study for an NCT id (`studies link NCT... RECORD` said "no study")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services.project import Review
from reviewkit.services.report import prisma_counts
from reviewkit.services.status import review_status

ALPHA, BETA = "NCT00000001", "NCT00000002"
_PAPER = f"""TY  - JOUR
DB  - PubMed
ID  - p1
TI  - Baricitinib in two randomised trials ALPHA and BETA of adult atopic dermatitis
AU  - Alpha, Ann
PY  - 2021
DO  - 10.1000/p1
AB  - Two separate trials: ALPHA ({ALPHA}) and BETA ({BETA}) randomised adults.
ER  - 
"""


def _rk(review: Review, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", *args])
    assert result.exit_code == 0, result.output
    return result


def _registry(path: Path, *ncts: str) -> Path:
    def study(nct: str) -> dict[str, object]:
        return {"protocolSection": {"identificationModule": {"nctId": nct, "briefTitle": f"Trial {nct} of baricitinib"},
                                    "statusModule": {"overallStatus": "COMPLETED"}}, "hasResults": False}

    path.write_text(json.dumps({"studies": [study(n) for n in ncts]}), encoding="utf-8")
    return path


def _include_all(review: Review, tmp_path: Path, records: int) -> None:
    lines = ["record,reviewer,stage,decision,reason,note"]
    lines += [f"{r},{who},{stage},include,," for r in range(1, records + 1) for stage in ("ta", "ft")
              for who in ("alice", "bob")]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _rk(review, "decisions", "import", "--ids", "reviewkit", str(tmp_path / "d.csv"))


@pytest.mark.parametrize("registered", [(ALPHA,), ()], ids=["one registry record", "none"])
def test_a_two_trial_paper_counts_as_two_studies(review: Review, tmp_path: Path, registered: tuple[str, ...]) -> None:
    """Only ALPHA's registry record (or neither) was found: BETA got no study, and PRISMA said 1 study."""
    (tmp_path / "p.ris").write_text(_PAPER, encoding="utf-8")
    files = [str(tmp_path / "p.ris")] + ([str(_registry(tmp_path / "ct.json", *registered))] if registered else [])
    _rk(review, "import", *files)
    _rk(review, "dedup")
    _include_all(review, tmp_path, len(files))
    listing = json.loads(_rk(review, "studies", "--json").output)
    assert sorted(s["nct_id"] for s in listing) == [ALPHA, BETA]
    beta = next(s for s in listing if s["nct_id"] == BETA)
    assert beta["label"] == BETA and [r["record"] for r in beta["reports"]] == [1]
    assert review_status(review).studies == prisma_counts(review).counts.studies_included == 2
    # A study is named by its NCT id too: BETA's link is confirmed by it.
    assert "confirmed" in _rk(review, "studies", "confirm", BETA, "1").output


def test_studies_add_creates_a_study_for_an_nct_id(review: Review, tmp_path: Path) -> None:
    """A trial whose NCT number no record names (the paper calls it only by name): `studies add` makes its
    study, LABEL standing for the NCT id, and links the paper; `studies link` then finds it by NCT id."""
    (tmp_path / "p.ris").write_text(_PAPER.replace(f" ({BETA})", ""), encoding="utf-8")
    _rk(review, "import", str(tmp_path / "p.ris"))
    _rk(review, "dedup")
    refused = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "studies", "link", BETA, "1"])
    assert refused.exit_code != 0 and f"studies add {BETA}" in refused.output
    out = _rk(review, "studies", "add", BETA, "1").output
    assert f"{BETA} added ({BETA}), 1 report linked" in out
    assert "already confirmed" in _rk(review, "studies", "link", BETA, "1").output  # found by its NCT id
    gamma = _rk(review, "studies", "add", "GAMMA", "--nct", "NCT00000003").output
    assert "GAMMA added (NCT00000003)" in gamma
    _include_all(review, tmp_path, 1)
    assert review_status(review).studies == prisma_counts(review).counts.studies_included == 2
    again = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "studies", "add", "X",
                                     "--nct", BETA])
    assert again.exit_code != 0 and "a trial is one study" in again.output


def test_studies_counted_from_proposed_links_are_warned_about(review: Review, tmp_path: Path) -> None:
    """The paper's two NCT numbers propose two studies, which "Studies included" counts: `prisma` says the
    count rests on proposals until a reviewer confirms or rejects them (a paper naming another trial's NCT
    number in passing would otherwise add a study unnoticed)."""
    (tmp_path / "p.ris").write_text(_PAPER, encoding="utf-8")
    _rk(review, "import", str(tmp_path / "p.ris"))
    _rk(review, "dedup")
    _include_all(review, tmp_path, 1)
    warned = _rk(review, "prisma", "--format", "json", "-o", "-")
    assert "1 included report is linked to its studies only by proposals ([1])" in warned.output
    _rk(review, "studies", "confirm", ALPHA, "1")
    _rk(review, "studies", "reject", BETA, "1")
    settled = _rk(review, "prisma", "--format", "json", "-o", "-")
    assert "only by proposals" not in settled.output
    assert prisma_counts(review).counts.studies_included == 1

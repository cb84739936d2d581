"""Shared by the extraction tests: the study fields the example protocol requires, which finishing an
extraction (and recording a consensus) waits for."""

from __future__ import annotations

from reviewkit.services import extract
from reviewkit.services.project import Review

#: The example protocol's required study fields (protocols/baricitinib-ad.toml: `required = true`).
REQUIRED = {"trial_name": "BREEZE-AD1", "tcs": "no"}


def fill_required(review: Review, who: str, sid: int, *, consensus: bool = False) -> None:
    """`who` enters every required study field of the study (into the consensus with `consensus`)."""
    for name, value in REQUIRED.items():
        extract.set_value(review, who, sid, name, value, consensus=consensus)


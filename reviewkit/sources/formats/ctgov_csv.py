"""Provides reading a row of ClinicalTrials.gov's CSV download (the website's, or the API's format=csv) as a registry record."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reviewkit.domain.records import RegistryInfo, find_nct_ids, parse_year

__all__ = ["CTGOV", "CTGOV_COLUMNS", "is_ctgov_header", "registry_fields"]

CTGOV = "ClinicalTrials.gov"
#: Our field -> ClinicalTrials.gov's CSV column names (lower case); taken before the generic CSV names.
CTGOV_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("nct number",), "title": ("study title",), "abstract": ("brief summary",),
    "url": ("study url",), "source_type": ("study type",),
}
#: "DRUG: Oxytocin": the CSV puts each intervention's type before its name.
_TYPED = re.compile(r"^[A-Z_]+:\s*")


def is_ctgov_header(names: set[str]) -> bool:
    """Whether lower-cased header names are ClinicalTrials.gov's CSV columns (it always has NCT Number)."""
    return "nct number" in names and bool(names & {"study title", "study url"})


def registry_fields(cell: Callable[[str], str]) -> dict[str, Any]:
    """build_record fields that make a row a registry record, like parse_study's; {} for a row without an NCT number.

    `cell(name)` is the row's value under a lower-cased column name ("" when the file has no such column).
    Registry records carry exactly their own NCT number: one named in another column (Other IDs) is kept
    in the raw row only, as the JSON import keeps aliases out of nct_ids.
    """
    found = find_nct_ids(cell("nct number"))
    if not found:
        return {}
    nct = found[0]
    enrollment = cell("enrollment")
    registry = RegistryInfo(
        nct_id=nct, brief_title=cell("study title"),
        conditions=_listed(cell("conditions")),
        interventions=tuple(_TYPED.sub("", v) for v in _listed(cell("interventions"))),
        phase=tuple(v for v in _listed(cell("phases")) if v.upper() != "NA"),
        status=cell("study status"),
        enrollment=int(enrollment) if enrollment.isdigit() else None,
        start_date=cell("start date"), completion_date=cell("completion date"),
        has_results=cell("study results").upper() == "YES",
    )
    return {
        "kind": "registry", "registry": registry, "source_db": CTGOV, "nct_ids": (nct,),
        "year": parse_year(cell("start date")) or parse_year(cell("first posted")),
        "url": cell("study url") or f"https://clinicaltrials.gov/study/{nct}",
    }


def _listed(value: str) -> tuple[str, ...]:
    """The CSV's "|"-separated list cell as its items."""
    return tuple(v.strip() for v in value.split("|") if v.strip())

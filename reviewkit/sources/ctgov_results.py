"""Provides read_results: a ClinicalTrials.gov study's posted results as typed dataclasses, for extraction prefill."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reviewkit.sources.ctgov import get_path, nonempty_strings

__all__ = [
    "GroupValue", "OutcomeCategory", "OutcomeClass", "OutcomeKind", "OutcomeResult", "ProtocolArm",
    "ResultGroup", "StudyResults", "read_results",
]

OutcomeKind = Literal["dichotomous", "continuous", "other"]
_CONTINUOUS = {"MEAN", "LEAST_SQUARES_MEAN", "GEOMETRIC_MEAN", "GEOMETRIC_LEAST_SQUARES_MEAN",
               "LOG_MEAN", "MEDIAN"}


@dataclass(frozen=True)
class ResultGroup:
    """An arm as a results module reports it (OG000 ...); map to protocol arms by title."""

    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class ProtocolArm:
    """An arm as registered (label, EXPERIMENTAL/PLACEBO_COMPARATOR..., interventions)."""

    label: str
    type: str
    description: str = ""
    interventions: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupValue:
    """One group's measurement: count (events) or mean with its dispersion, and n analysed.

    `events` is set for dichotomous outcomes; `events_derived` marks events computed from a
    percentage (round(value × n / 100)), which extraction should flag.
    """

    group_id: str
    value: float | None
    n: int | None
    events: int | None = None
    events_derived: bool = False
    spread: float | None = None
    lower: float | None = None
    upper: float | None = None
    text: str = ""  # the value as posted ("NA", "12.5")
    comment: str = ""


@dataclass(frozen=True)
class OutcomeCategory:
    """A category of a class ("Responder", or the single unnamed one): one value per group."""

    title: str
    values: tuple[GroupValue, ...]


@dataclass(frozen=True)
class OutcomeClass:
    """A class of an outcome measure (often a time point or a subgroup: "Week 12")."""

    title: str
    categories: tuple[OutcomeCategory, ...]


@dataclass(frozen=True)
class OutcomeResult:
    """One posted outcome measure, typed for extraction: dichotomous, continuous or other."""

    kind: OutcomeKind
    type: str  # PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED, POST_HOC
    title: str
    time_frame: str
    description: str
    population: str
    param_type: str  # normalised enum: MEAN, COUNT_OF_PARTICIPANTS ...
    dispersion_type: str  # normalised enum: STANDARD_DEVIATION, CONFIDENCE_95 ... or ""
    unit: str
    groups: tuple[ResultGroup, ...]
    classes: tuple[OutcomeClass, ...]


@dataclass(frozen=True)
class StudyResults:
    """The registered results of a study: protocol arms and posted outcome measures."""

    nct_id: str
    arms: tuple[ProtocolArm, ...]
    outcomes: tuple[OutcomeResult, ...]


def read_results(study: Mapping[str, Any]) -> StudyResults:
    """Outcome measures of resultsSection as plain dataclasses; no results → no outcomes."""
    protocol = study.get("protocolSection")
    arms = tuple(
        ProtocolArm(str(a.get("label") or ""), str(a.get("type") or ""),
                    str(a.get("description") or ""), nonempty_strings(a.get("interventionNames")))
        for a in get_path(protocol, "armsInterventionsModule", "armGroups") or []
        if isinstance(a, Mapping)
    )
    measures = get_path(study, "resultsSection", "outcomeMeasuresModule", "outcomeMeasures") or []
    outcomes = tuple(
        _outcome(m) for m in measures
        if isinstance(m, Mapping) and m.get("reportingStatus", "POSTED") == "POSTED"
    )
    return StudyResults(get_path(protocol, "identificationModule", "nctId") or "", arms, outcomes)


def _enum(value: Any) -> str:
    """API enums from either spelling: older records say "Standard Error", "95% Confidence Interval"."""
    text = str(value or "").strip()
    confidence = re.match(r"^(\d+(?:\.\d+)?)% Confidence Interval$", text, re.IGNORECASE)
    if confidence:
        return "CONFIDENCE_" + confidence.group(1).replace(".", "")
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def _number(value: Any) -> float | None:
    """A posted number ("12", "-0.4", "1,234"); None for "NA", "", or anything not finite."""
    try:
        number = float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _denoms(denoms: Any) -> dict[str, int]:
    """Participants analysed per group id (the "Participants" denominator; other units skipped)."""
    counts: dict[str, int] = {}
    for denom in denoms or []:
        if str(denom.get("units", "")).lower() != "participants":
            continue
        for item in denom.get("counts") or []:
            number = _number(item.get("value"))
            if number is not None:
                counts[item.get("groupId", "")] = int(number)
    return counts


def _outcome(measure: Mapping[str, Any]) -> OutcomeResult:
    param = _enum(measure.get("paramType"))
    unit = str(measure.get("unitOfMeasure") or "")
    percent = "percent" in unit.lower()
    about_people = any(word in unit.lower() for word in ("participant", "subject", "patient"))
    if param == "COUNT_OF_PARTICIPANTS" or (param == "NUMBER" and about_people):
        kind: OutcomeKind = "dichotomous"
    elif param in _CONTINUOUS:
        kind = "continuous"
    else:
        kind = "other"
    measure_n = _denoms(measure.get("denoms"))
    classes = []
    for cls in measure.get("classes") or []:
        n_by_group = {**measure_n, **_denoms(cls.get("denoms"))}  # class-level first (ctgov.md §5)
        categories = tuple(
            OutcomeCategory(str(cat.get("title") or ""), tuple(
                _value(m, n_by_group.get(m.get("groupId", "")), kind, percent)
                for m in cat.get("measurements") or []
            ))
            for cat in cls.get("categories") or []
        )
        classes.append(OutcomeClass(str(cls.get("title") or ""), categories))
    return OutcomeResult(
        kind=kind, type=str(measure.get("type") or ""), title=str(measure.get("title") or ""),
        time_frame=str(measure.get("timeFrame") or ""),
        description=str(measure.get("description") or ""),
        population=str(measure.get("populationDescription") or ""),
        param_type=param, dispersion_type=_enum(measure.get("dispersionType")), unit=unit,
        groups=tuple(ResultGroup(g.get("id", ""), g.get("title", ""), g.get("description", ""))
                     for g in measure.get("groups") or []),
        classes=tuple(classes),
    )


def _value(m: Mapping[str, Any], n: int | None, kind: OutcomeKind, percent: bool) -> GroupValue:
    value = _number(m.get("value"))
    events, derived = None, False
    if kind == "dichotomous" and value is not None:
        if percent:
            events, derived = (round(value * n / 100), True) if n is not None else (None, False)
        else:
            events = int(round(value))
    return GroupValue(
        group_id=str(m.get("groupId", "")), value=value, n=n, events=events,
        events_derived=derived, spread=_number(m.get("spread")),
        lower=_number(m.get("lowerLimit")), upper=_number(m.get("upperLimit")),
        text=str(m.get("value") or ""), comment=str(m.get("comment") or ""),
    )

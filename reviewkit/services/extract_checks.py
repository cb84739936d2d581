"""Provides extraction's pure checks, which the TUI calls as values are typed: a value against the protocol's
form and the arm's other statistics, how a value is stored as text, and which stored conversions a changed
statistic leaves stale; and those an import runs on a whole row: its statistics checked together, each
problem once, a converted value against what its record gives, a study label against the review's."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rapidfuzz.distance import OSA

from reviewkit.domain.extraction import (
    FieldSpec,
    FieldType,
    Problem,
    parse_field,
    validate_continuous,
    validate_dichotomous,
)
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import FormField, Outcome, Protocol
from reviewkit.services.assess_outcomes import is_near_miss, numbers_in

DICHOTOMOUS_FIELDS = ("events", "total")
CONTINUOUS_FIELDS = ("mean", "sd", "se", "ci_lower", "ci_upper", "median", "q1", "q3", "min", "max", "n")
#: Every outcome statistic, in the order the export and the form show them.
STAT_FIELDS = DICHOTOMOUS_FIELDS + CONTINUOUS_FIELDS
_COUNTS = {"events", "total", "n"}
_KWARG = {"min": "minimum", "max": "maximum"}  # validate_continuous's spelling
_STAT = {v: k for k, v in _KWARG.items()}  # and back, for the problems it names
ORIGINS = ("manual", "ctgov", "import")
#: A conversion's recorded input (converted_from["inputs"], as domain.conversions names it) → the statistic.
_INPUT_STATS = {"SE": "se", "lower": "ci_lower", "upper": "ci_upper"}


def spec_of(form_field: FormField) -> FieldSpec:
    """The domain spec of a protocol form field."""
    return FieldSpec(form_field.name, FieldType.parse(form_field.type), form_field.required,
                     tuple(form_field.choices), form_field.unit)


def stat_spec(name: str) -> FieldSpec:
    """How a statistic's cell reads: counts as whole numbers ≥ 0, the rest as numbers."""
    if name in _COUNTS:
        return FieldSpec(name, FieldType.INTEGER, minimum=0)
    return FieldSpec(name, FieldType.NUMBER)


def canonical(value: Any) -> str | None:
    """How a typed value is stored as text: yes/no, ISO dates, numbers without trailing zeros."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def number(text: str | None) -> float | None:
    """A stored statistic as a float (None when empty)."""
    return None if text in (None, "") else float(text)


def outcome_of(protocol: Protocol, name: str, timepoint: str) -> tuple[Outcome, str]:
    """The protocol outcome and its timepoint ("" means its only timepoint); unknown ones are refused."""
    outcome = protocol.outcome(name)
    if outcome is None:
        known = ", ".join(o.name for o in protocol.extraction.outcomes)
        raise ReviewkitError(f"unknown outcome '{name}'", hint=f"the protocol's outcomes: {known}")
    if not timepoint and len(outcome.timepoints) == 1:
        timepoint = outcome.timepoints[0]
    if timepoint not in outcome.timepoints:
        raise ReviewkitError(f"outcome '{name}' has no timepoint '{timepoint}'",
                             hint="use " + ", ".join(outcome.timepoints))
    return outcome, timepoint


def check_value(protocol: Protocol, name: str, text: str | None, *, arm: str = "", outcome: str = "",
                timepoint: str = "", current: Mapping[str, str | None] | None = None
                ) -> tuple[str | None, str | None, list[Problem]]:
    """Validate one entry: (canonical text, unit, problems). `current` holds the arm's other statistics.

    Study fields follow the protocol's form; statistics must suit the outcome's type and agree with
    the values already entered (events ≤ total, SD > 0, a CI containing its mean …).
    """
    if not outcome:
        if arm:
            return None, None, [Problem(name, "an arm's values belong to an outcome: give the outcome")]
        spec = next((spec_of(f) for f in protocol.extraction.fields if f.name == name), None)
        if spec is None:
            known = ", ".join(f.name for f in protocol.extraction.fields)
            return None, None, [Problem(name, f"not a field of the extraction form (fields: {known})")]
        parsed = parse_field(spec, text)
        return canonical(parsed.value), spec.unit, list(parsed.problems)
    found, _ = outcome_of(protocol, outcome, timepoint)
    allowed = DICHOTOMOUS_FIELDS if found.type == "dichotomous" else CONTINUOUS_FIELDS
    if name not in allowed:
        return None, None, [Problem(name, f"not a statistic of a {found.type} outcome (use {', '.join(allowed)})")]
    if not arm:
        return None, None, [Problem(name, "an outcome statistic belongs to an arm: give the arm")]
    parsed = parse_field(stat_spec(name), text)
    if parsed.problems:
        return None, None, list(parsed.problems)
    merged = {k: number(v) for k, v in (current or {}).items() if k in allowed}
    merged[name] = None if parsed.value is None else float(parsed.value)  # type: ignore[arg-type]
    if found.type == "dichotomous":
        problems = validate_dichotomous(merged.get("events"), merged.get("total"))  # type: ignore[arg-type]
    else:
        problems = validate_continuous(**{_KWARG.get(k, k): v for k, v in merged.items()})  # type: ignore[arg-type]
        problems = [Problem(_STAT.get(p.field, p.field), p.reason) for p in problems]
    unit = found.unit if name not in _COUNTS else None
    return canonical(parsed.value), unit, problems


def conversion_inputs(converted_from: Mapping[str, Any]) -> dict[str, float]:
    """statistic → the value a stored conversion was computed from (converted_from["inputs"]: "SE" → se,
    "lower"/"upper" → ci_lower/ci_upper; settings such as the CI level are no statistic). A record
    without readable inputs (an imported one, say) gives nothing."""
    inputs = converted_from.get("inputs") if isinstance(converted_from, Mapping) else None
    out: dict[str, float] = {}
    for name, value in (inputs.items() if isinstance(inputs, Mapping) else ()):
        stat = _INPUT_STATS.get(name, name)
        if stat in CONTINUOUS_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
            out[stat] = float(value)
    return out


def stale_by(converted_from: Mapping[str, Any], name: str, stored: str | None) -> bool:
    """Whether a value converted from `converted_from` no longer holds once statistic `name` is `stored`
    (None: cleared): it was computed from another value of `name`."""
    inputs = conversion_inputs(converted_from)
    if name not in inputs:
        return False
    try:
        return stored is None or float(stored) != inputs[name]
    except ValueError:
        return True


def row_problems(protocol: Protocol, stats: Mapping[str, str], *, arm: str, outcome: str, timepoint: str,
                 current: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(column, reason) of each problem with an imported row's statistics, once, on the statistic that
    causes it: an SD of -1 is the SD's problem, not that of the mean, median and n checked beside it;
    events above the total is the events' (as validate_dichotomous names it). A problem with a stored
    statistic the row leaves as it is goes to the first column whose check raised it. `current`: the
    arm's statistics as the row will leave them."""
    found: dict[tuple[str, str], str] = {}
    for name, text in stats.items():
        _, _, problems = check_value(protocol, name, text, arm=arm, outcome=outcome, timepoint=timepoint,
                                     current=current)
        for p in problems:
            found.setdefault((p.field, p.reason), p.field if p.field in stats else name)
    return [(column, reason) for (_, reason), column in found.items()]


def agrees(text: str, value: float) -> bool:
    """Whether a number as a table cell shows it (`text`) is `value` at the cell's precision.

    The export writes a converted value in full, which a spreadsheet may keep to 15 significant digits
    or round as it displays it; a cell rounded to its last digit still agrees, down to the 4
    significant digits the conversion's own text shows ("SD 7.633"). Fewer ("8" for 7.633) do not: that
    is another value, not the same one rounded.
    """
    number = float(text)
    if math.isclose(number, value, rel_tol=1e-9, abs_tol=1e-12):
        return True
    match = re.fullmatch(r"\s*[-+]?(\d*)\.?(\d*)\s*", text)
    if match is None:  # an exponent: compared in full only
        return False
    whole, decimals = match.group(1).lstrip("0"), match.group(2)
    significant = len((whole + decimals).lstrip("0"))
    return significant >= 4 and abs(number - value) <= 0.5 * 10 ** -len(decimals) * (1 + 1e-9)


def label_key(label: str) -> str:
    """A study label as an import matches it: without case, spaces or punctuation ('BREEZE AD-1' is
    'BREEZE-AD1'), as a slip in a spreadsheet cell is most often one of those."""
    return "".join(c for c in label.casefold() if c.isalnum())


def close_labels(label: str, known: Iterable[str]) -> list[str]:
    """The known labels `label` is a near-miss of (assess_outcomes.is_near_miss on the keys above: the same
    numbers, one or two letters typed differently), closest first."""
    # The numbers are compared on the labels as typed: the keys drop the punctuation that tells
    # "Study 1/2" from "Study 12".
    close = [k for k in dict.fromkeys(known)
             if numbers_in(label) == numbers_in(k) and is_near_miss(label_key(label), label_key(k))]
    return sorted(close, key=lambda k: OSA.distance(label_key(label), label_key(k)))

"""Provides validation of extracted values: typed form fields and outcome data, as they are entered."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from reviewkit.errors import ReviewkitError

Value = str | int | float | bool | dt.date | None


class FieldType(StrEnum):
    """The types an extraction-form field may have."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    CHOICE = "choice"
    YES_NO = "yes_no"
    DATE = "date"

    @classmethod
    def parse(cls, text: str) -> FieldType:
        """Read a type as a protocol may spell it ("yes/no", "yes-no", "int", "float", …)."""
        key = text.strip().lower().replace("/", "_").replace("-", "_").replace(" ", "_")
        key = {"yesno": "yes_no", "bool": "yes_no", "boolean": "yes_no", "int": "integer",
               "float": "number", "numeric": "number", "string": "text", "str": "text"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            raise ReviewkitError(f"unknown field type {text!r}",
                                 hint="use " + ", ".join(t.value for t in cls)) from None


@dataclass(frozen=True)
class FieldSpec:
    """One extraction-form field: its type, whether it is required, its choices or unit and bounds."""

    name: str
    type: FieldType
    required: bool = False
    choices: tuple[str, ...] = ()
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Problem:
    """A value the form should flag: which field and why, in words a reviewer understands."""

    field: str
    reason: str


@dataclass(frozen=True)
class Parsed:
    """A field's typed value (None when empty or unreadable) and any problems with it."""

    value: Value
    problems: tuple[Problem, ...]


_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def _number(spec: FieldSpec, text: str) -> tuple[float | None, str | None]:
    if re.match(r"\s*[-+]?\d+,\d+\b", text):
        return None, f"{text!r} is not a number (use a point for decimals)"
    match = _NUMBER.match(text)
    if not match:
        return None, f"{text!r} is not a number"
    number, unit = float(match.group(1)), match.group(2)
    if unit and unit != (spec.unit or ""):
        expected = f"expected {spec.unit}" if spec.unit else "this field takes no unit"
        return None, f"unit {unit!r} not accepted ({expected})"
    if not math.isfinite(number):
        return None, f"{text!r} is not a finite number"
    return number, None


def _bound(value: float) -> str:
    """A bound as a reviewer reads it: 2147483647, not :g's 2.14748e+09."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def parse_field(spec: FieldSpec, raw: str | None) -> Parsed:
    """Read a typed value from what was typed; problems say what is wrong and how to fix it."""
    text = (raw or "").strip()
    if not text:
        return Parsed(None, (Problem(spec.name, "required"),) if spec.required else ())
    value: Value = None
    reason: str | None = None
    if spec.type is FieldType.TEXT:
        value = text
    elif spec.type in (FieldType.INTEGER, FieldType.NUMBER):
        number, reason = _number(spec, text)
        if number is not None and spec.type is FieldType.INTEGER and not number.is_integer():
            reason = f"{text!r} is not a whole number"
        elif number is not None:
            value = int(number) if spec.type is FieldType.INTEGER else number
            if spec.minimum is not None and number < spec.minimum:
                reason = f"must be ≥ {_bound(spec.minimum)}"
            elif spec.maximum is not None and number > spec.maximum:
                reason = f"must be ≤ {_bound(spec.maximum)}"
    elif spec.type is FieldType.CHOICE:
        folded = {c.casefold(): c for c in spec.choices}
        value = folded.get(text.casefold())
        if value is None:
            reason = f"{text!r} is not one of: {', '.join(spec.choices)}"
    elif spec.type is FieldType.YES_NO:
        low = text.casefold()
        value = True if low in _YES else False if low in _NO else None
        if value is None:
            reason = f"{text!r} is not yes or no"
    else:  # DATE
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            reason = f"{text!r} is not a date (use YYYY-MM-DD)"
    if reason:
        return Parsed(None, (Problem(spec.name, reason),))
    return Parsed(value, ())


def validate_form(specs: Iterable[FieldSpec], values: Mapping[str, str | None]) -> list[Problem]:
    """Every problem in a form's values: each field by its spec, and values for unknown fields."""
    specs = list(specs)
    problems = [p for s in specs for p in parse_field(s, values.get(s.name)).problems]
    known = {s.name for s in specs}
    problems += [Problem(name, "not a field of this form") for name in values if name not in known]
    return problems


def validate_dichotomous(events: int | None, total: int | None, prefix: str = "") -> list[Problem]:
    """Events and total of one arm: whole numbers with 0 ≤ events ≤ total and total ≥ 1."""
    problems: list[Problem] = []
    for name, v in (("events", events), ("total", total)):
        if v is not None and (not float(v).is_integer() or v < 0):
            problems.append(Problem(prefix + name, f"must be a whole number ≥ 0, got {v:g}"))
    if total is not None and total == 0:
        problems.append(Problem(prefix + "total", "must be at least 1"))
    if events is not None and total is not None and events > total:
        problems.append(Problem(prefix + "events",
                                f"events ({events:g}) cannot exceed the total ({total:g})"))
    return problems


_ORDER = ("minimum", "q1", "median", "q3", "maximum")
_NAMES = {"minimum": "min", "q1": "Q1", "median": "median", "q3": "Q3", "maximum": "max"}


def validate_continuous(*, n: float | None = None, mean: float | None = None,
                        sd: float | None = None, se: float | None = None,
                        ci_lower: float | None = None, ci_upper: float | None = None,
                        median: float | None = None, q1: float | None = None,
                        q3: float | None = None, minimum: float | None = None,
                        maximum: float | None = None, prefix: str = "") -> list[Problem]:
    """Continuous summaries of one arm; checks only what has been entered so far.

    N ≥ 1 (whole), SD > 0, SE > 0, CI lower < upper and containing the mean,
    min ≤ Q1 ≤ median ≤ Q3 ≤ max, and a mean inside [min, max].
    """
    problems: list[Problem] = []

    def flag(name: str, reason: str) -> None:
        problems.append(Problem(prefix + name, reason))

    if n is not None and (n < 1 or not float(n).is_integer()):
        flag("n", f"N must be a whole number ≥ 1, got {n:g}")
    if sd is not None and not sd > 0:
        flag("sd", f"SD must be > 0, got {sd:g}")
    if se is not None and not se > 0:
        flag("se", f"SE must be > 0, got {se:g}")
    if ci_lower is not None and ci_upper is not None:
        if not ci_lower < ci_upper:
            flag("ci_upper", f"CI upper ({ci_upper:g}) must exceed lower ({ci_lower:g})")
        elif mean is not None and not ci_lower <= mean <= ci_upper:
            flag("mean", f"mean {mean:g} lies outside its CI {ci_lower:g} to {ci_upper:g}")
    given = {"minimum": minimum, "q1": q1, "median": median, "q3": q3, "maximum": maximum}
    present = [(k, v) for k in _ORDER if (v := given[k]) is not None]
    for (k1, v1), (k2, v2) in zip(present, present[1:], strict=False):
        if v1 > v2:
            flag(k2, f"{_NAMES[k2]} ({v2:g}) is below {_NAMES[k1]} ({v1:g})")
    if mean is not None and minimum is not None and mean < minimum:
        flag("mean", f"mean {mean:g} is below the minimum {minimum:g}")
    if mean is not None and maximum is not None and mean > maximum:
        flag("mean", f"mean {mean:g} is above the maximum {maximum:g}")
    return problems


@dataclass(frozen=True)
class Missing:
    """Required form fields without a value: the study's (`arm` empty) or one arm's."""

    arm: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        where = f"arm '{self.arm}'" if self.arm else "study"
        return f"{where}: {', '.join(self.fields)}"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_required(study_specs: Iterable[FieldSpec], arm_specs: Iterable[FieldSpec],
                     study_values: Mapping[str, object], arms: Mapping[str, Mapping[str, object]]) -> list[Missing]:
    """The required fields an extraction (or a consensus) lacks: study fields, then each arm's arm fields.

    Protocols mark `required` on study fields and arm fields only; outcome statistics have no such
    flag (a study may not report an outcome at all), so none is asked for here. `arms`: arm label →
    its arm fields, for every arm the extraction holds.
    """
    out: list[Missing] = []
    study = tuple(s.name for s in study_specs if s.required and _blank(study_values.get(s.name)))
    if study:
        out.append(Missing("", study))
    required_arm = [s.name for s in arm_specs if s.required]
    for label, fields in arms.items():
        lacking = tuple(name for name in required_arm if _blank(fields.get(name)))
        if lacking:
            out.append(Missing(label, lacking))
    return out


def describe_missing(missing: Iterable[Missing]) -> str:
    """Missing required fields in one line: "study: tcs; arm 'Placebo': dose_mg"."""
    return "; ".join(str(m) for m in missing)

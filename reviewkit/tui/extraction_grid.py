"""Provides the extraction form's grid content: arms × outcomes × timepoints rows, and reading an arm line."""

from __future__ import annotations

from dataclasses import dataclass

from reviewkit.errors import ReviewkitError
from reviewkit.protocol import Protocol
from reviewkit.services.extract import CONTINUOUS_FIELDS, DICHOTOMOUS_FIELDS, STAT_FIELDS, StudyForm

#: Shown in a cell whose statistic does not belong to the row's outcome type.
NOT_APPLICABLE = "·"
KEY_COLUMNS = ("Arm", "Outcome", "Timepoint")


@dataclass(frozen=True)
class GridRow:
    """One row of the grid: an arm at an outcome and timepoint, with the cells to show."""

    arm: str
    outcome: str
    timepoint: str
    outcome_type: str
    cells: tuple[str, ...]

    def allows(self, field: str) -> bool:
        """Whether the statistic belongs to this row's outcome type."""
        return field in (DICHOTOMOUS_FIELDS if self.outcome_type == "dichotomous" else CONTINUOUS_FIELDS)


def _cell(value: str | None, converted: bool) -> str:
    if value is None:
        return ""
    # A derived value is marked so it is never mistaken for a reported one.
    return f"≈{value[:8]}" if converted else value


def grid_rows(protocol: Protocol, form: StudyForm) -> list[GridRow]:
    """Every arm at every protocol outcome and timepoint, with the values entered so far."""
    by_key = {(v.arm, v.outcome, v.timepoint, v.field): v for v in form.values}
    rows: list[GridRow] = []
    for arm in form.arms:
        for outcome in protocol.extraction.outcomes:
            allowed = DICHOTOMOUS_FIELDS if outcome.type == "dichotomous" else CONTINUOUS_FIELDS
            for timepoint in outcome.timepoints:
                cells = []
                for field in STAT_FIELDS:
                    if field not in allowed:
                        cells.append(NOT_APPLICABLE)
                        continue
                    v = by_key.get((arm.label, outcome.name, timepoint, field))
                    cells.append(_cell(v.value if v else None, bool(v and v.converted_from)))
                rows.append(GridRow(arm.label, outcome.name, timepoint, outcome.type, tuple(cells)))
    return rows


def parse_arm_line(text: str, arm_fields: list[str]) -> dict[str, object]:
    """Read "label; intervention; dose; co-intervention; N; dose_mg=4" into set_arm's arguments."""
    parts = [p.strip() for p in text.split(";")]
    positional = [p for p in parts if "=" not in p]
    named = dict(p.split("=", 1) for p in parts if "=" in p)
    if not positional or not positional[0]:
        raise ReviewkitError("an arm needs a label", hint="label; intervention; dose; co-intervention; N")
    unknown = [k.strip() for k in named if k.strip() not in arm_fields]
    if unknown:
        raise ReviewkitError(f"'{unknown[0]}' is not an arm field", hint=f"arm fields: {', '.join(arm_fields)}")
    positional += [""] * (5 - len(positional))
    return {"label": positional[0], "intervention": positional[1], "dose": positional[2],
            "co_intervention": positional[3], "n_randomised": positional[4],
            "fields": {k.strip(): v.strip() for k, v in named.items()}}

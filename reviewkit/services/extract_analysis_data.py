"""Provides the consensus extraction as pooling takes it: per study, its arms' numbers for an outcome, with
where each SD came from and what the analysis must say of one from a CI whose level nobody recorded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewkit.domain.extraction import Value, parse_field
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract_convert import (
    DEFAULT_LEVEL,
    convert_command,
    derive,
    names_no_level,
)
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from reviewkit.store.tables import ArmRow, ExtractionValueRow


@dataclass(frozen=True)
class ArmData:
    """A consensus arm and its data for one outcome: events/total, or mean/SD/n.

    `sd_source` says where the SD came from: "reported", "converted" (a conversion recorded at
    extraction, see `converted_from`), "derived" (computed here from SE/CI/quantiles, see
    `converted_from["sd"]`) or "" (no SD). `n` is the number analysed as entered; `n_randomised`
    is kept separately. `statistics` holds every statistic entered, as numbers.
    """

    label: str
    intervention: str
    dose: str
    co_intervention: str
    n_randomised: int | None
    fields: dict[str, Value]
    events: int | None
    total: int | None
    mean: float | None
    sd: float | None
    n: int | None
    sd_source: str
    converted_from: dict[str, dict[str, Any]]
    statistics: dict[str, float]

    @property
    def assumed_level(self) -> float | None:
        """The confidence level assumed for an SD from a CI whose level nobody recorded: one derived here
        from a CI entered as statistics (none is recorded with those), or one converted at extraction whose
        record names none (converted without --level, or a file from before levels were recorded: read as
        DEFAULT_LEVEL, as recompute reads it). None otherwise: reported, converted with its level, or from SE or quantiles (no level)."""
        record = self.converted_from.get("sd", {})
        if self.sd_source in ("derived", "converted") and names_no_level(record):
            return DEFAULT_LEVEL
        return None


@dataclass(frozen=True)
class StudyArmData:
    """One study's consensus data for an outcome at a timepoint: its study fields (typed) and its arms."""

    study_id: int
    study: str
    nct_id: str | None
    outcome: str
    outcome_type: str
    timepoint: str
    fields: dict[str, Value]
    arms: tuple[ArmData, ...]

    def sd_warnings(self) -> dict[str, str]:
        """Arm label → what an analysis pooling the arm must say of its SD: one from a CI whose level was
        assumed (95%), derived here or converted by a record naming no level, and the command that records
        the report's level instead. A 90% CI read as 95% gives an SD 16% too small, and the pooled weights
        with it, without anyone having chosen so."""
        out: dict[str, str] = {}
        for arm in self.arms:
            level = arm.assumed_level
            if level is None or arm.sd is None:
                continue
            inputs = arm.converted_from["sd"]["inputs"]
            ci = f"{_shown(inputs.get('lower'))} to {_shown(inputs.get('upper'))} (n {_shown(inputs.get('n'))})"
            how = (f"derived from its CI {ci} assumed to be a {level * 100:g}% CI, as no level is recorded"
                   if arm.sd_source == "derived" else
                   f"converted from a CI read as {level * 100:g}% (no level recorded), {ci}")
            command = convert_command(self.study_id, arm.label, self.outcome, self.timepoint,
                                      "--method", "ci", "--level", "0.9")
            # A record may hold the CI that the arm's statistics lack (an imported SD without its CI cells);
            # convert takes the CI from the statistics, so it would have nothing to convert.
            first = "" if {"ci_lower", "ci_upper", "n"} <= arm.statistics.keys() else (
                "enter the CI as its ci_lower and ci_upper, then ")
            out[arm.label] = (
                f"{self.study}: the SD of arm '{arm.label}' ({arm.sd:.4g}) was {how}: if the report gives "
                f"another, record it (a 90% CI: {first}{command}, or --level {DEFAULT_LEVEL:g} to confirm "
                f"{DEFAULT_LEVEL * 100:g}%)")
        return out


def _shown(value: object) -> str:
    """A recorded conversion input as a warning shows it: a number as %g, anything else (a record written by
    hand may hold text) as JSON, so the warning is still given rather than failing the analysis."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return json.dumps(value)


def _typed(specs: dict[str, Any], raw: Mapping[str, Any]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, text in raw.items():
        spec = specs.get(name)
        out[name] = parse_field(spec, str(text)).value if spec is not None else text
    return out


def _arm_data(arm: ArmRow, rows: dict[str, ExtractionValueRow], specs: dict[str, Any]) -> ArmData:
    stats = {k: float(r.value) for k, r in rows.items() if r.value not in (None, "")}
    converted = {k: dict(r.converted_from) for k, r in rows.items() if r.converted_from}
    sd, mean = stats.get("sd"), stats.get("mean")
    source = ("converted" if "sd" in converted else "reported") if sd is not None else ""
    if sd is None:
        try:
            found = derive(stats)
        except ReviewkitError:
            found = None
        if found is not None:
            sd, source = found.values["sd"], "derived"
            mean = mean if mean is not None else found.values.get("mean")
            converted = {**converted, **{k: found.converted_from for k in found.values}}
    whole = {k: int(v) for k, v in stats.items() if k in ("events", "total", "n")}
    return ArmData(arm.label, arm.intervention, arm.dose, arm.co_intervention, arm.n_randomised,
                   _typed(specs, {k: v for k, v in arm.fields.items() if not k.startswith("_")}),
                   whole.get("events"), whole.get("total"), mean, sd, whole.get("n"), source, converted, stats)


def consensus_data(review: Review, outcome: str, timepoint: str | None = None) -> list[StudyArmData]:
    """Per study, its consensus arms with data for the outcome at the timepoint, and its study fields.

    Only consensus rows count. Arms without any value for the outcome are left out, and so are
    studies without such an arm. `timepoint` None means the outcome's only (or first) timepoint.
    """
    found = review.protocol.outcome(outcome)
    _, tp = extract.outcome_of(review.protocol, outcome, timepoint or (found.timepoints[0] if found else ""))
    assert found is not None
    study_specs = {f.name: extract.spec_of(f) for f in review.protocol.extraction.fields}
    arm_specs = {f.name: extract.spec_of(f) for f in review.protocol.extraction.arm_fields}
    consensus = (True, None)
    out: list[StudyArmData] = []
    with session_scope(review.engine) as session:
        arms = store.current_arms(session)
        values = store.current_values(session)
        for study in store.studies(session):
            assert study.id is not None
            mine = values.get((study.id, consensus), {})
            per_arm: dict[str, dict[str, ExtractionValueRow]] = {}
            for (arm, o, t, field), row in mine.items():
                if arm and o == outcome and t == tp and row.value is not None:
                    per_arm.setdefault(arm, {})[field] = row
            data = tuple(_arm_data(a, per_arm[label], arm_specs)
                         for label, a in arms.get((study.id, consensus), {}).items() if label in per_arm)
            if not data:
                continue
            fields = {k[3]: r.value for k, r in mine.items() if not k[0] and not k[1] and r.value is not None}
            out.append(StudyArmData(study.id, study.label, study.nct_id, outcome, found.type, tp,
                                    _typed(study_specs, fields), data))
    return out

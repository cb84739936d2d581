"""Provides conversions of entered statistics to an SD (or mean and SD), stored with their source values, and
the check of a converted value against its record."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from reviewkit.domain import conversions
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract import ValueView
from reviewkit.services.extract_access import check_consensus_writer
from reviewkit.services.extract_checks import agrees, canonical
from reviewkit.services.project import Review
from reviewkit.store import extraction as store
from reviewkit.store.db import retry_conflicts, session_scope

Method = Literal["auto", "se", "ci", "quantiles"]
METHODS: tuple[str, ...] = ("auto", "se", "ci", "quantiles")
#: The CI level assumed when none is given, and when a recorded CI conversion names none (one written by hand, or
#: a file from before levels were recorded: imported as such, and an analysis pooling it says so).
DEFAULT_LEVEL = 0.95
_LEVEL_RULE = "a number between 0 and 1, exclusive (0.9 for a 90% CI, 0.99 for a 99% one)"


def confidence_level(level: object) -> float:
    """`level` as a CI level, refused unless a finite number strictly between 0 and 1.

    95 (a percentage) or 1.5 would otherwise give a divisor for a level nobody meant, or none at all.
    """
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ReviewkitError(f"confidence level must be {_LEVEL_RULE}, got {level!r}")
    return float(level)


def level_from_text(text: str) -> float:
    """A confidence level as typed ("0.9"), refused as confidence_level refuses one ("95", "abc")."""
    try:
        number: object = float(text)
    except ValueError:
        number = text.strip()
    return confidence_level(number)


@dataclass(frozen=True)
class Derived:
    """Statistics derived from others: the values (sd, and mean from quantiles) and what they came from."""

    values: dict[str, float]
    converted_from: dict[str, Any]


def _record(result: conversions.SdConversion | conversions.MeanSdEstimate, method: str,
            text: str | None = None) -> dict[str, Any]:
    return {"method": method, "inputs": {k: v for k, v in result.inputs}, "reference": result.reference,
            "text": text or result.converted_from()}


def _number(value: str | float | None) -> float | None:
    if value is None or isinstance(value, float | int):
        return value
    try:
        return float(value)
    except ValueError:
        return None


def _allows(stats: Mapping[str, float | None], how: str) -> bool:
    """Whether the statistics hold what conversion `how` ("se", "ci", "quantiles") takes."""
    if stats.get("n") is None:
        return False
    if how == "se":
        return stats.get("se") is not None
    if how == "ci":
        return stats.get("ci_lower") is not None and stats.get("ci_upper") is not None
    return how == "quantiles" and stats.get("median") is not None and (
        (stats.get("q1") is not None and stats.get("q3") is not None)
        or (stats.get("min") is not None and stats.get("max") is not None))


def auto_method(stats: Mapping[str, str | float | None]) -> str | None:
    """The conversion `derive` makes under "auto" from these statistics ("se", "ci" or "quantiles"; None:
    none applies). Text (a form's values) counts where it is a number. Only "ci" takes a level: the TUI
    asks for one then, and only then."""
    numbers = {k: _number(v) for k, v in stats.items()}
    return next((how for how in ("se", "ci", "quantiles") if _allows(numbers, how)), None)


def derive(stats: Mapping[str, float | None], method: Method = "auto", level: float | None = None) -> Derived:
    """An SD from SE and n, from a CI of the mean and n, or mean and SD from a median with IQR/range.

    "auto" takes the first that the entered statistics allow, in that order (auto_method). A reported
    mean is kept; only what is missing is estimated. `level` is the CI's confidence level (None: 95%); it
    is recorded with the conversion, so `recompute` gives the same SD. A level given for a conversion
    that is not from the CI is refused: it would be ignored while the reviewer believes it applied.
    """
    ci_level = DEFAULT_LEVEL if level is None else confidence_level(level)
    how = auto_method(stats) if method == "auto" else method if _allows(stats, method) else None
    if how is None:
        needs = {"auto": "n with SE, a CI (ci_lower, ci_upper) or a median with q1/q3 or min/max",
                 "se": "n and se", "ci": "n, ci_lower and ci_upper",
                 "quantiles": "n and a median with q1 and q3 and/or min and max"}[method]
        raise ReviewkitError(f"nothing to convert: enter {needs} first")
    given = {k: v for k, v in stats.items() if v is not None}  # holding what _allows found for `how`
    n = int(given["n"])
    if how == "se":
        if level is not None:
            raise ReviewkitError(f"a confidence level ({level:g}) applies to a CI conversion only, but this one "
                                 "would be from the SE: name the CI with --method ci")
        se_result = conversions.sd_from_se(given["se"], n)
        return Derived({"sd": se_result.sd}, _record(se_result, "se"))
    if how == "ci":
        ci_result = conversions.sd_from_ci(given["ci_lower"], given["ci_upper"], n, ci_level)
        if level is None:
            # Nobody named the level: the record says so (no "level"), as one from before levels were kept,
            # so the analysis warns that 95% was assumed instead of passing it off as the report's; its text
            # says so too.
            ci_result = replace(ci_result, inputs=tuple(i for i in ci_result.inputs if i[0] != "level"),
                                method=f"{ci_result.method}, as no level was given")
        return Derived({"sd": ci_result.sd}, _record(ci_result, "ci"))
    if level is not None:
        raise ReviewkitError(f"a confidence level ({level:g}) applies to a CI conversion only, but this one "
                             "would be from the median and quantiles: enter ci_lower and ci_upper")
    est = conversions.mean_sd_from_quantiles(n, given["median"], minimum=given.get("min"), q1=given.get("q1"),
                                             q3=given.get("q3"), maximum=given.get("max"))
    if given.get("mean") is not None:  # the reported mean is kept: the record shows no estimated one
        return Derived({"sd": est.sd}, _record(est, "quantiles", est.converted_from(with_mean=False)))
    return Derived({"mean": est.mean, "sd": est.sd}, _record(est, "quantiles"))


def convert_command(study_id: int, arm: str, outcome: str, timepoint: str, *options: str,
                    consensus: bool = True) -> str:
    """The `reviewkit extract convert` command that converts an arm's statistics, the consensus's or (with
    consensus=False) the acting extractor's own, with `options` (e.g. "--method", "ci", "--level", "0.9"),
    in backticks, for a message to name."""
    words = [str(study_id), *(["--consensus"] if consensus else []), "--arm", _quoted(arm), "--outcome", outcome,
             "--timepoint", _quoted(timepoint), *options]
    return f"`reviewkit extract convert {' '.join(words)}`"


def _quoted(text: str) -> str:
    # shlex.quote, not quotes around white space only: a label such as Bari(4mg) or Lilly's must paste
    # into a shell as one word.
    return shlex.quote(text)


@retry_conflicts
def convert(review: Review, extractor: str | None, study_id: int, *, arm: str, outcome: str,
            timepoint: str = "", method: Method = "auto", consensus: bool = False,
            level: float | None = None) -> tuple[ValueView, ...]:
    """Derive an arm's SD (or mean and SD) and store it with `converted_from` = the inputs and method.

    `level` is a CI's confidence level (None: 95%; see derive). A reported SD is never overwritten by
    an estimate; converting again replaces an earlier estimate.
    """
    if method not in METHODS:
        raise ReviewkitError(f"unknown conversion '{method}' (use {', '.join(METHODS)})")
    if level is not None:  # refused before anything is read, as an unknown method is
        confidence_level(level)
    found, timepoint = extract.outcome_of(review.protocol, outcome, timepoint)
    if found.type != "continuous":
        raise ReviewkitError(f"outcome '{outcome}' is dichotomous: there is no SD to derive")
    with session_scope(review.engine, write=True) as session:
        who = extract.reviewer(session, extractor)
        extract.study_row(session, study_id)
        # Who may write comes first: "nothing to convert" would send someone who may not write at all
        # off to enter values they will then be refused.
        if consensus:
            check_consensus_writer(session, who, study_id, review.protocol.extraction.extractors_per_study)
        else:
            extract.check_own_write(session, review.protocol, who, study_id)
        # Then the arm: "nothing to convert" for an arm the extraction does not have (a slip of its
        # label, 'placebo' for 'Placebo') would send the reviewer off to enter statistics it already holds.
        extract.check_arm(session, who, study_id, arm, consensus=consensus)
        mine = store.current_values(session, [study_id]).get((study_id, extract.author(who, consensus)), {})
        rows = {k[3]: row for k, row in mine.items() if k[:3] == (arm, outcome, timepoint) and row.value}
        if "sd" in rows and not rows["sd"].converted_from:
            raise ReviewkitError(f"arm '{arm}' has a reported SD ({rows['sd'].value}); nothing to convert")
        # An earlier estimate is not an input to the next one.
        stats = {k: float(r.value) for k, r in rows.items()  # type: ignore[arg-type]
                 if not (r.converted_from and k in ("sd", "mean"))}
        derived = derive(stats, method, level)
        names = store.reviewers_by_id(session)
        stored = []
        for name, value in derived.values.items():
            row = extract.value_in(session, review.protocol, who, study_id, name, repr(value), arm=arm,
                                   outcome=outcome, timepoint=timepoint, converted_from=derived.converted_from,
                                   origin=rows[next(iter(rows))].origin if rows else "manual",
                                   consensus=consensus)
            stored.append(extract.value_view(row, names))
        return tuple(stored)


def recompute(converted_from: Mapping[str, Any]) -> dict[str, float] | None:
    """What a recorded conversion's inputs give (statistic → value), computed again with domain.conversions
    as `derive` computed it; None when the record does not say how (an unknown method, inputs missing).

    An import checks a converted value against its record with this: a value edited in a spreadsheet
    while its record still says what it was converted from would pass an estimate off as something else.
    """
    inputs = converted_from.get("inputs")
    method = converted_from.get("method")
    if not isinstance(inputs, Mapping):
        return None

    def number(name: str) -> float | None:
        value = inputs.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    n = number("n")
    try:
        if n is None:
            return None
        if method == "se" and (se := number("SE")) is not None:
            return {"sd": conversions.sd_from_se(se, int(n)).sd}
        lower, upper = number("lower"), number("upper")
        if method == "ci" and lower is not None and upper is not None:
            # A record without a level (written by hand) is read as 95%, convert's default; a level that is
            # not one (level_problem) is nothing to compute with, not a reason to assume 95%.
            level = number("level") if "level" in inputs else DEFAULT_LEVEL
            if level is None:
                return None
            return {"sd": conversions.sd_from_ci(lower, upper, int(n), level).sd}
        median = number("median")
        if method == "quantiles" and median is not None:
            reference = str(converted_from.get("reference", ""))
            est = conversions.mean_sd_from_quantiles(
                int(n), median, minimum=number("min"), q1=number("q1"), q3=number("q3"), maximum=number("max"),
                mean_method="wan" if reference.startswith("Wan 2014 mean") else "luo",
                sd_method="wan" if "Wan 2014 SD" in reference else "shi")
            return {"mean": est.mean, "sd": est.sd}
    except ReviewkitError:  # inputs no conversion accepts: nothing to compare with
        return None
    return None


def names_no_level(converted_from: Mapping[str, Any]) -> bool:
    """Whether a recorded conversion is from a CI but names no level (a file from before levels were
    recorded, or a record written by hand), so recompute, and an analysis, read it as DEFAULT_LEVEL."""
    inputs = converted_from.get("inputs")
    return converted_from.get("method") == "ci" and isinstance(inputs, Mapping) and "level" not in inputs


def level_problem(converted_from: Mapping[str, Any]) -> str | None:
    """Why a recorded CI conversion's "level" is no confidence level (None: it is one, or there is none).

    Without this an import would read a level of "0.9" (text) or 95 (a percentage) as no level at all,
    and pass an SD off as converted from a CI of a level nobody recorded.
    """
    inputs = converted_from.get("inputs")
    if converted_from.get("method") != "ci" or not isinstance(inputs, Mapping) or "level" not in inputs:
        return None
    try:
        confidence_level(inputs["level"])
    except ReviewkitError:
        return f"its converted_from record's \"level\" is {json.dumps(inputs['level'])}, not {_LEVEL_RULE}"
    return None


def record_problems(stats: dict[str, str], conv: Any) -> list[tuple[str, str]]:
    """(column, reason) for each converted value of an imported row (`stats`: statistic → cell; `conv`: the
    row's converted_from) that is not what its record's inputs give (recompute), at the cell's precision
    (extract_checks.agrees).

    Refused rather than stored without its record: an SD typed over an estimate while its record still
    says "estimated from q1 6, median 10, q3 16, n 50" is either a slip (the estimate is what holds) or a
    reported SD (then the record must go); which, only the importer knows. Dropping the record silently
    would pass a typo off as a reported SD in the analyses.
    """
    out: list[tuple[str, str]] = []
    for name, text in stats.items():
        record = conv.get(name) if isinstance(conv, dict) else None
        if isinstance(record, dict) and (problem := level_problem(record)):
            out.append((name, problem))
            continue
        given = recompute(record) if isinstance(record, dict) else None
        if given is None or name not in given:
            continue
        try:
            number = float(text)
        except ValueError:  # not a number: refused on its own column (row_problems)
            continue
        if not agrees(text, given[name]):
            inputs = ", ".join(f"{k} {v:g}" for k, v in record["inputs"].items()  # type: ignore[index]
                               if isinstance(v, int | float))
            # A record naming no level was read as 95%: an SD converted at another level differs for that
            # reason alone, and the fix is then the record's level, not the SD.
            fix = "): "
            if isinstance(record, dict) and names_no_level(record):
                fix = (f"; it names no level, so its CI was read as {DEFAULT_LEVEL * 100:g}%): add the report's "
                       "(\"level\": 0.9 for a 90% CI) to its inputs, ")
            out.append((name, f"{number:g} is not what its converted_from record gives ({name} "
                              f"{canonical(given[name])} from {inputs}{fix}put that back, or, if "
                              f"{number:g} is a reported {name}, remove its \"{name}\" entry from converted_from"))
    return out

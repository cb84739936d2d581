"""Provides reading and checking the CSV of studies that `reviewkit meta` pools.

Every refusal names the file and the line, so the reviewer can fix the spreadsheet and run again;
pooling gets only the columns its measure uses, with one checked row per study.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from statistics import NormalDist

from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.pooling import MEASURES, EffectSizes, effects_from_rows
from reviewkit.pooling.analysis import BINARY_COLUMNS, CONTINUOUS_COLUMNS
from reviewkit.pooling.effects import (
    BINARY_MEASURES,
    CONTINUOUS_MEASURES,
    MAX_ABS_ESTIMATE,
    MAX_VARIANCE,
)
from reviewkit.services.common import NOTHING_IMPORTED, read_csv_rows
from reviewkit.sources.formats._text import read_head

#: The column sets generic inverse-variance data may come in, in the order one is chosen
#: (pooling.generic_effects reads these three).
GENERIC_SETS: tuple[tuple[str, ...], ...] = (("yi", "vi"), ("yi", "se"), ("estimate", "ci_lower", "ci_upper"))
#: Generic columns checked against the chosen set when a file gives them too.
GENERIC_COLUMNS = ("yi", "vi", "se", "estimate", "ci_lower", "ci_upper")
#: Numbers of events or participants: not negative (whole, or noted).
COUNT_COLUMNS = frozenset({"events_treat", "n_treat", "events_ctrl", "n_ctrl"})
#: How far apart two standard errors of one study (from vi, se, the CI) may be beyond their rounding.
SE_TOLERANCE = 0.01
#: Generic CIs are 95% CIs, as pooling.generic_effects reads them.
_Z95 = NormalDist().inv_cdf(0.975)
#: Separators some spreadsheets write into a "CSV" (a semicolon where the comma is the decimal mark).
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab"}

Fail = Callable[[str], ParseError]


@dataclass(frozen=True, slots=True)
class StudyRows:
    """A meta CSV's studies, checked: per study the columns pooling reads, as text."""

    #: The file read.
    path: Path
    #: Per study: 'study', the measure's columns and (with --subgroup) 'subgroup'.
    rows: tuple[dict[str, str], ...]
    #: The line each study is on.
    lines: tuple[int, ...]
    #: What reading did that the user should hear about (a semicolon-separated file read as such).
    notes: tuple[str, ...] = ()

    def line_of(self, message: str) -> int | None:
        """The line of the study a pooling error names first ("study 'A': ..."), if any."""
        found = [(len(row["study"]), line) for row, line in zip(self.rows, self.lines, strict=True)
                 if message.startswith(f"study '{row['study']}'")]
        return max(found)[1] if found else None  # the longest name: 'A' is a prefix of 'A 2'


def study_effects(
    path: Path, measure: str, *, subgroup: str | None = None, scale: str = "difference",
    smd_variance: str = "metafor", rd_estimate: str = "metafor",
) -> tuple[EffectSizes, tuple[str, ...]]:
    """The per-study effects of the CSV at `path`, and notes on how it was read.

    What read_studies refuses, and what pooling refuses (events above the total, a CI the wrong
    way round), is a ParseError naming the file and the study's line.
    """
    studies = read_studies(path, measure, subgroup=subgroup, scale=scale)
    try:
        effects = effects_from_rows(studies.rows, measure, smd_variance=smd_variance,
                                    use_subgroups=subgroup is not None, generic_scale=scale,
                                    rd_estimate=rd_estimate)
    except ReviewkitError as exc:
        line = studies.line_of(exc.message)
        if line is None:
            raise ReviewkitError(exc.message, where=str(path), hint=exc.hint) from None
        raise ParseError(exc.message, file=str(path), line=line, hint=exc.hint) from None
    return effects, studies.notes


def read_studies(path: Path, measure: str, *, subgroup: str | None = None,
                 scale: str = "difference") -> StudyRows:
    """Read and check the studies of a meta CSV (refusals name the file and line).

    Read as `reviewkit import` reads text (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252)
    and as strictly as every CSV a user hands in (services.common.read_csv_rows: quoting, ragged
    rows); a header without a comma but with semicolons or tabs is read with that separator.
    Column names are matched without surrounding spaces and case; rows with every field empty (a
    spreadsheet's ",,,,") are skipped. Refused: a column named twice, a missing column (for generic
    data: no complete column set), an empty or repeated study name, an empty subgroup label, a
    cell that is empty or not a number, a negative count, and generic data that contradict
    themselves (an estimate outside its CI; vi, se and the CI giving different SEs). A count that
    is not a whole number is pooled with a note naming its line: splitting a shared control group
    (`analyze --multiarm split`) gives such counts, and `meta` must reproduce those analyses.
    """
    try:
        head = read_head(path)
    except FileNotFoundError:
        raise ReviewkitError("no such file", where=str(path)) from None
    delimiter = _delimiter(head)
    notes = [] if delimiter == "," else [
        f"{path}: read as a {_OTHER_DELIMITERS[delimiter]}-separated file (its header has no comma)"]
    try:
        table = read_csv_rows(path, (), (), any_encoding=True, delimiter=delimiter)
    except ParseError as exc:
        raise _without_import_hint(exc) from None
    names = _header(head, delimiter)
    if table and {n.lower() for n in names if n} != {k.lower() for k in table[0][1] if k}:
        names = list(table[0][1])  # the head decoded otherwise than the whole file: trust the reader
    real = _column_names(path, names)
    found = f"columns found: {', '.join(real.values()) or 'none'}"
    records = [(line, {key.strip().lower(): value.strip() for key, value in raw.items() if key.strip()})
               for line, raw in table]
    if not records:
        raise ParseError("no study rows (the file is empty or has only a header)", file=str(path))
    if "study" not in real:
        raise ParseError("column 'study' is missing", file=str(path), line=1, hint=found)
    group = None
    if subgroup is not None:
        group = subgroup.strip().lower()
        if group not in real:
            raise ParseError(f"subgroup column '{subgroup}' is missing", file=str(path), line=1, hint=found)
    used, others = _measure_columns(path, measure, set(real), found)
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    fractional: list[str] = []
    for line, row in records:
        def fail(message: str, *, line: int = line, hint: str | None = None) -> ParseError:
            return ParseError(message, file=str(path), line=line, hint=hint)

        study = row["study"]
        if not study:
            raise fail("the study name is empty", hint="every row needs a study name")
        if study.casefold() in seen:
            raise fail(f"study '{study}' appears twice: on lines {seen[study.casefold()]} and {line}",
                       hint="give each study one row and a distinct name (e.g. 'Smith 2001a', 'Smith 2001b')")
        seen[study.casefold()] = line

        def cell_fail(message: str, *, study: str = study, line: int = line) -> ParseError:
            return ParseError(f"study '{study}': {message}", file=str(path), line=line)

        values = {c: (_number(cell_fail, c, row[c]), row[c]) for c in used}
        fractional.extend(f"line {line} (study '{study}', {c} {row[c]})" for c in used
                          if c in COUNT_COLUMNS and not values[c][0].is_integer())
        values.update((c, (_number(cell_fail, c, row[c]), row[c])) for c in others if row[c])
        if measure == "generic":
            _check_generic(cell_fail, values, ratio=scale == "ratio")
        out = {"study": study, **{c: row[c] for c in used}}
        if group is not None:
            if not row[group]:
                raise cell_fail(f"column '{real[group]}' is empty (the subgroup column needs a label on every row)")
            out["subgroup"] = row[group]
        rows.append(out)
    if fractional:
        more = f" and {len(fractional) - 3} more" if len(fractional) > 3 else ""
        notes.append(f"{path}: counts that are not whole numbers were pooled as given: "
                     f"{', '.join(fractional[:3])}{more} (a split shared control group gives such counts; "
                     "otherwise check for a typo)")
    return StudyRows(path, tuple(rows), tuple(line for line, _ in records), tuple(notes))


def _delimiter(head: str) -> str:
    """',' unless the header line has no comma but semicolons or tabs (the more of the two)."""
    first = head.splitlines()[0] if head else ""
    if "," in first:
        return ","
    counts = {d: first.count(d) for d in _OTHER_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header(head: str, delimiter: str) -> list[str]:
    """The header's names as written: the rows' keys keep only one of a name given twice."""
    try:
        return [h.strip() for h in next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), [])]
    except csv.Error:  # read_csv_rows has read the whole file without complaint; this is only its head
        return []


def _column_names(path: Path, names: Sequence[str]) -> dict[str, str]:
    """Lower-case name → the name as written; a name given twice (in any case) is refused."""
    real: dict[str, str] = {}
    for name in names:
        key = name.lower()
        if not key:
            continue
        if key in real:
            also = "" if real[key] == name else f" (as '{real[key]}' and '{name}')"
            raise ParseError(f"column '{key}' is named twice in the header{also}", file=str(path), line=1,
                             hint="rename or delete one of them")
        real[key] = name
    return real


def _measure_columns(path: Path, measure: str, present: set[str], found: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns pooling reads for `measure`, and (generic data) the others, checked against them."""
    if measure in BINARY_MEASURES or measure in CONTINUOUS_MEASURES:
        needed = BINARY_COLUMNS if measure in BINARY_MEASURES else CONTINUOUS_COLUMNS
        missing = [c for c in needed if c not in present]
        if missing:
            raise ParseError(f"column '{missing[0]}' is missing ({measure} needs study, {', '.join(needed)})",
                             file=str(path), line=1, hint=found)
        return needed, ()
    if measure == "generic":
        for columns in GENERIC_SETS:
            if present.issuperset(columns):
                return columns, tuple(c for c in GENERIC_COLUMNS if c in present and c not in columns)
        sets = "; ".join(", ".join(s) for s in GENERIC_SETS)
        raise ParseError(f"generic data need one of these column sets: {sets}", file=str(path), line=1,
                         hint=found)
    raise ReviewkitError(f"unknown measure '{measure}' (use one of {', '.join(MEASURES)})")


def _number(fail: Fail, column: str, text: str) -> float:
    """The cell as a finite number; a count must not be negative."""
    if not text:
        raise fail(f"column '{column}' is empty")
    try:
        if "_" in text:  # float() reads "1_000"; a spreadsheet never means that
            raise ValueError(text)
        value = float(text)
    except ValueError:
        hint = " (write decimals with a point: 0.5)" if "," in text else ""
        raise fail(f"column '{column}' is not a number ({text!r}){hint}") from None
    if not math.isfinite(value):
        raise fail(f"column '{column}' is not a number ({text!r})")
    # Named here, by its column: pooling would overflow (pooling.effects.check_poolable refuses the
    # estimate or variance it would give, but cannot tell which cell made it).
    limit = MAX_VARIANCE if column == "vi" else MAX_ABS_ESTIMATE
    if abs(value) > limit:
        raise fail(f"column '{column}' is too large to pool ({text}; at most {limit:g} in absolute value)")
    if column in COUNT_COLUMNS and value < 0:
        raise fail(f"column '{column}' is negative ({text})")
    return value


def _half_unit(text: str) -> float:
    """Half the last written digit's place ('0.15' → 0.005): how far rounding may have moved the value."""
    try:
        exponent = Decimal(text).as_tuple().exponent
    except InvalidOperation:
        return 0.0
    return 0.5 * 10.0 ** exponent if isinstance(exponent, int) else 0.0


def _less(a: str, b: str) -> bool:
    """Whether the number written `a` is below `b` at the coarser of their precisions.

    Rounding keeps order, so an estimate truly inside its CI never reads below the lower limit
    when both are written to the same decimals; "0.5 [0.6, 1.0]" is a typo, not rounding.
    """
    try:
        x, y = Decimal(a), Decimal(b)
        places = max(x.as_tuple().exponent, y.as_tuple().exponent)
        if not isinstance(places, int):
            return float(a) < float(b)
        unit = Decimal(1).scaleb(places)
        return x.quantize(unit) < y.quantize(unit)
    except InvalidOperation:
        return float(a) < float(b)


def _check_generic(fail: Fail, values: dict[str, tuple[float, str]], *, ratio: bool) -> None:
    """Refuse a row whose numbers contradict each other, rounding of the written digits allowed for:
    an estimate (or yi) outside the row's CI, an estimate and CI on the other scale than --scale says
    (_check_scale), or SEs from vi, se and the CI that differ by more than SE_TOLERANCE. A CI pooling
    refuses anyway (upper below lower, a ratio ≤ 0) is left to it."""
    ci, ci_text = None, ""
    if "ci_lower" in values and "ci_upper" in values:
        (lo, lo_text), (hi, hi_text) = values["ci_lower"], values["ci_upper"]
        if lo < hi and (lo > 0 or not ratio):
            ci = (lo - _half_unit(lo_text), lo + _half_unit(lo_text), hi - _half_unit(hi_text),
                  hi + _half_unit(hi_text))
            ci_text = f"{lo_text} to {hi_text}"
    if ci is not None:
        lo_text, hi_text = values["ci_lower"][1], values["ci_upper"][1]
        if "estimate" in values and (not ratio or values["estimate"][0] > 0):  # pooling refuses a ratio ≤ 0
            text = values["estimate"][1]
            if _less(text, lo_text) or _less(hi_text, text):
                raise fail(f"the estimate {text} lies outside its own CI ({ci_text})")
            _check_scale(fail, values, ci_text, ratio=ratio)
        if "yi" in values:  # on the CI's scale only up to its rounding (a log, when the CI is a ratio)
            value, text = values["yi"]
            low, high = value - _half_unit(text), value + _half_unit(text)
            shown = text
            if ratio:
                low, high, shown = math.exp(low), math.exp(high), f"{text} (ratio {math.exp(value):.4g})"
            if high < ci[0] or low > ci[3]:
                raise fail(f"the yi {shown} lies outside the row's CI ({ci_text})")
    ses: list[tuple[str, float, float]] = []  # what gives the SE, its lowest and highest value
    if "vi" in values:
        vi, text = values["vi"]
        half = _half_unit(text)
        ses.append((f"vi {text} (SE {math.sqrt(max(vi, 0.0)):.4g})", math.sqrt(max(vi - half, 0.0)),
                    math.sqrt(max(vi + half, 0.0))))
    if "se" in values:
        se, text = values["se"]
        ses.append((f"se {text}", se - _half_unit(text), se + _half_unit(text)))
    if ci is not None:
        scale: Callable[[float], float] = math.log if ratio else (lambda x: x)
        lo_min, lo_max, hi_min, hi_max = ci
        widest = scale(hi_max) - (scale(lo_min) if lo_min > 0 or not ratio else -math.inf)
        narrowest = scale(hi_min) - scale(lo_max) if hi_min > lo_max else 0.0
        centre = (scale(values["ci_upper"][0]) - scale(values["ci_lower"][0])) / (2 * _Z95)
        ses.append((f"the CI {ci_text} (SE {centre:.4g})", narrowest / (2 * _Z95), widest / (2 * _Z95)))
    for i, (what, low, high) in enumerate(ses):
        for other, other_low, other_high in ses[i + 1:]:
            if low > other_high * (1 + SE_TOLERANCE) or other_low > high * (1 + SE_TOLERANCE):
                raise fail(f"{what} and {other} give different standard errors (beyond rounding)")


def _rounded(values: dict[str, tuple[float, str]], column: str) -> tuple[float, float]:
    """The lowest and highest value the written number may have been before rounding."""
    value, text = values[column]
    half = _half_unit(text)
    return value - half, value + half


def _centred(values: dict[str, tuple[float, str]], *, log: bool) -> bool:
    """Whether the estimate may be the midpoint of its CI, rounding of the written digits allowed for:
    on the natural scale (a difference's Wald CI) or the log scale (a ratio's)."""
    (e_lo, e_hi), (l_lo, l_hi), (u_lo, u_hi) = (_rounded(values, c) for c in ("estimate", "ci_lower", "ci_upper"))
    slack = 1e-9 * max(abs(e_hi), abs(u_hi), 1e-300)  # the half units are binary fractions, not exact
    if not log:
        return 2 * e_lo <= l_hi + u_hi + slack and 2 * e_hi >= l_lo + u_lo - slack
    if e_hi <= 0 or l_hi <= 0:
        return False  # no log of a number ≤ 0
    # log e = (log l + log u) / 2 ⟺ e² = l·u
    return (max(e_lo, 0.0) ** 2 <= l_hi * u_hi * (1 + 1e-9)
            and e_hi**2 >= max(l_lo, 0.0) * max(u_lo, 0.0) * (1 - 1e-9))


def _check_scale(fail: Fail, values: dict[str, tuple[float, str]], ci_text: str, *, ratio: bool) -> None:
    """Refuse an estimate and CI read on the wrong scale: a ratio's CI is symmetric on the log scale,
    a difference's on the natural one. Pooled as a difference, 0.50 [0.20, 1.25] would become
    0.50 ± 0.525, a CI the file does not give. Only a row off-centre beyond rounding on the scale
    asked for, and centred within rounding on the other, is refused: other asymmetric CIs pass."""
    text = values["estimate"][1]
    if not ratio and not _centred(values, log=False) and _centred(values, log=True):
        error = fail(f"the estimate {text} is off the centre of its CI ({ci_text}) on the difference scale, "
                     "but central on the log scale, as a ratio's is")
        raise ParseError(error.message, file=error.file, line=error.line, hint="ratio data? add --scale ratio")
    if ratio and _centred(values, log=False) and not _centred(values, log=True):
        error = fail(f"the estimate {text} is off the centre of its CI ({ci_text}) on the log scale, "
                     "but central on the natural scale, as a difference's is")
        raise ParseError(error.message, file=error.file, line=error.line,
                         hint="difference data? drop --scale ratio")


def _without_import_hint(exc: ParseError) -> ParseError:
    """The reader's error without "nothing was imported": meta imports nothing."""
    hint = exc.hint
    if hint is not None:
        hint = hint.replace(f"; {NOTHING_IMPORTED}", "").replace(NOTHING_IMPORTED, "") or None
    return ParseError(exc.message, file=exc.file, line=exc.line, offset=exc.offset, hint=hint)

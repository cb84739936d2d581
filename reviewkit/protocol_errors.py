"""Provides where a protocol error points: the key, its line in review.toml, and the fix; and the
checks of single planned analyses, which an open review keeps rather than refuses.

tomllib keeps no positions, so the lines come from a light scan of the text (key_lines); pydantic's
error locations are matched to them.
"""

from __future__ import annotations

import datetime
import difflib
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from reviewkit.errors import ReviewkitError

if TYPE_CHECKING:
    from reviewkit.protocol import Analysis, Extraction, Protocol


class ProtocolProblem(ValueError):
    """A problem found across keys, raised with the location it is about (as pydantic's loc), so the
    message names that key and its line rather than the whole protocol."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class ProtocolProblems(ValueError):
    """Several ProtocolProblems found by one check, raised together so each is told (pydantic keeps one
    error per validator that raises)."""

    def __init__(self, problems: list[ProtocolProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class ProtocolError(ReviewkitError):
    """A protocol refused for one problem or several; `problems` holds each as its own line (file, line,
    key and fix), for `protocol check` to print one per line."""

    def __init__(self, problems: list[str], *, where: str) -> None:
        self.problems = [f"{where}: {p}" for p in problems]
        super().__init__("; ".join(problems), where=where)


def explain(exc: ValidationError, text: str, source: str, root: type[BaseModel]) -> ProtocolError:
    """Turn pydantic's errors on `root` (the protocol model) into one message per problem, each with key,
    line and fix."""
    lines = key_lines(text)
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = _dotted(loc)
        line = _nearest_line(lines, loc)
        at = f"line {line}: " if line else ""
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = _model_for(root, loc[:-1])
            allowed = sorted(parent.model_fields) if parent else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
            if not close and len(loc) > 1 and loc[-1] in root.model_fields:
                # database_url appended at the end of the file: TOML puts it in the last table.
                fix = (f"'{loc[-1]}' is a top-level key, and TOML reads every key below a [table] header as "
                       "that table's: move it above the first [table] header")
            problems.append(f"{at}unknown key '{key}' ({fix})")
        elif kind == "missing":
            table = _dotted(loc[:-1]) or "the top level"
            problems.append(f"{at}missing key '{key}' (add `{loc[-1]} = ...` to {table})")
        elif isinstance(problem := err.get("ctx", {}).get("error"), ProtocolProblem):
            # A cross-key check: name the key it is about, not the table that holds it all.
            problems.append(_problem_text(lines, loc + problem.loc, problem))
        elif isinstance(several := err.get("ctx", {}).get("error"), ProtocolProblems):
            problems += [_problem_text(lines, loc + p.loc, p) for p in several.problems]
        else:
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            # A whole table or list as "got" would repeat the file back to its author; a database URL may hold a
            # password.
            shown = "" if isinstance(got, dict | list) or loc == ("database_url",) else f" (got {got!r})"
            if isinstance(got, str) and len(got) > 80:  # a name over the length limit: its start is enough
                shown = f" (got {got[:60]!r}…, {len(got):,} characters)"
            if kind == "bool_type" and isinstance(got, str):
                # "yes" without its quotes is no TOML value either: name the two that are
                shown = f" (got the text {got!r}: write true or false, without quotes)"
            elif kind == "bool_type" and not isinstance(got, dict | list):
                shown = f" (got {got!r}: write true or false)"
            elif kind in ("int_type", "float_type") and isinstance(got, str):
                shown = f" (got the text {got!r}: write the value without quotes)"
            elif kind == "string_type" and isinstance(got, datetime.date | datetime.time | int | float):
                # A TOML date or number (mindate = 2020-01-01) shown as Python writes it said nothing of the fix.
                shown = _quote_it(got, loc)
            elif kind == "string_too_short" and isinstance(got, str) and not got.strip():
                msg, shown = "is empty: give it text" + (", or remove it" if isinstance(loc[-1], int) else ""), ""
            problems.append(f"{at}'{key}': {msg}{shown}")
    return ProtocolError(problems, where=source)


def _quote_it(got: datetime.date | datetime.time | int | float, loc: tuple[Any, ...]) -> str:
    """How to write a TOML date, time, number or boolean as the text a key takes."""
    if isinstance(got, bool):
        what = text = str(got).lower()
    elif isinstance(got, datetime.date | datetime.time):
        kind = "time" if isinstance(got, datetime.time) else "date"
        what, text = f"the {kind} {got.isoformat()}", got.isoformat()
        if loc[-1] in ("mindate", "maxdate") and isinstance(got, datetime.date):
            text = got.strftime("%Y/%m/%d")  # as PubMed writes it
    else:
        what, text = f"the number {got}", str(got)
    return f" (got {what}: write it as text, in quotes, as \"{text}\")"


def explain_problems(found: dict[int, list[ProtocolProblem]], text: str, source: str) -> dict[int, list[str]]:
    """Each analysis's problems (located from the protocol's root) as the one-line messages a strict
    load refuses the protocol with: file, line, key and fix."""
    if not found:
        return {}
    lines = key_lines(text)
    return {i: [str(ReviewkitError(_problem_text(lines, p.loc, p), where=source)) for p in problems]
            for i, problems in found.items()}


def nul_error(data: Any, text: str, source: str) -> ProtocolError | None:
    """The parsed protocol's values holding a NUL character, each named by key and line, or None.

    TOML reads one from a "\\u0000" escape. PostgreSQL refuses it in text, so a reviewer so named opened
    on SQLite and failed with a traceback on PostgreSQL; no review stores one (as no file reader takes one).
    """
    found = _nul_locations(data)
    if not found:
        return None
    lines = key_lines(text)
    return ProtocolError([_problem_text(lines, loc, ProtocolProblem(
        "holds a NUL character (\\u0000), which no review stores: remove it", loc)) for loc in found], where=source)


def _nul_locations(data: Any) -> list[tuple[Any, ...]]:
    """Where the parsed TOML holds a NUL (a key's location for a key with one), in the file's order."""
    # A stack, not recursion: a file may nest tables thousands deep (pydantic then refuses it, as it should).
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(loc)
        elif isinstance(value, dict):
            # A key holding one is reported at its own location, as a value holding one would be.
            stack += [(loc + (k,), "\x00" if "\x00" in k else v) for k, v in reversed(value.items())]
        elif isinstance(value, list):
            stack += [(loc + (i,), v) for i, v in reversed(list(enumerate(value)))]
    return found


def _problem_text(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...], problem: ProtocolProblem) -> str:
    line = _nearest_line(lines, loc)
    return f"{'line ' + str(line) + ': ' if line else ''}'{_dotted(loc)}': {problem}"


def settings_problems(a: Analysis) -> list[ProtocolProblem]:
    """Settings of one analysis that contradict each other; each names the key to change, so the
    message points at its line."""
    found = []
    if not a.control.strip():
        # Every study would then be left out for want of a control arm, one warning each, at analyze time.
        found.append(ProtocolProblem("is empty: name the comparator's intervention as the arms record it "
                                     "(e.g. control = \"placebo\"), or remove the key to compare with \"placebo\"",
                                     ("control",)))
    if a.method in ("MH", "Peto") and a.measure not in ("RR", "OR", "RD"):
        found.append(ProtocolProblem(f"method {a.method} applies to RR, OR or RD, not {a.measure}", ("method",)))
    if a.method == "Peto" and a.measure != "OR":
        found.append(ProtocolProblem("the Peto method pools odds ratios only: set measure = \"OR\"", ("measure",)))
    if a.method == "Peto" and a.model != "fixed":
        found.append(ProtocolProblem("the Peto method is fixed-effect only (as in RevMan): set model = \"fixed\" "
                                     "(random is the default when model is not given)", ("model",)))
    if a.model == "fixed" and a.tau2 is not None:
        found.append(ProtocolProblem(f"tau2 = \"{a.tau2}\" estimates the between-study variance of a random-effects "
                                     "model, but model = \"fixed\": remove tau2 or set model = \"random\"", ("tau2",)))
    if a.model == "fixed" and a.hksj:
        found.append(ProtocolProblem("hksj (Hartung-Knapp-Sidik-Jonkman) adjusts random-effects models only, but "
                                     "model = \"fixed\": remove hksj or set model = \"random\"", ("hksj",)))
    if a.hksj_adhoc:
        found.extend(_adhoc_problems(a))
    if a.model == "fixed" and a.prediction_interval:
        # a fixed-effect model assumes one true effect, so there is no between-study spread to predict
        found.append(ProtocolProblem("a prediction interval needs a random-effects model (a fixed-effect model has "
                                     "none), but model = \"fixed\": remove prediction_interval or set "
                                     "model = \"random\"", ("prediction_interval",)))
    return found


def _adhoc_problems(a: Analysis) -> list[ProtocolProblem]:
    """hksj_adhoc = true where there is no HKSJ for it to modify: pool() would ignore it (with a note),
    so the analysis would not run as planned."""
    what = "hksj_adhoc (the ad hoc Hartung-Knapp, max(1, q)) modifies HKSJ"
    if a.model == "fixed":
        return [ProtocolProblem(f"{what}, which adjusts random-effects models only, but model = \"fixed\": "
                                "remove hksj_adhoc or set model = \"random\"", ("hksj_adhoc",))]
    if a.hksj is False:
        return [ProtocolProblem(f"{what}, but hksj = false: remove hksj_adhoc or set hksj = true", ("hksj_adhoc",))]
    if a.hksj is None:
        # imported here: the flavours live in the pooling package, which loads numpy and scipy
        from reviewkit.pooling.flavours import get_flavour

        if not get_flavour(a.flavour).default_hksj:
            return [ProtocolProblem(f"{what}, but flavour \"{a.flavour}\" does not use HKSJ unless asked: "
                                    "set hksj = true or remove hksj_adhoc", ("hksj_adhoc",))]
    return []


#: The measures an analysis of extracted arms can use, by the outcome's type.
MEASURES_FOR_TYPE: dict[str, tuple[str, ...]] = {"dichotomous": ("RR", "OR", "RD"), "continuous": ("MD", "SMD")}


def find_analysis_problems(protocol: Protocol) -> dict[int, list[ProtocolProblem]]:
    """Each planned analysis's problems, by index, located from the protocol's root."""
    found: dict[int, list[ProtocolProblem]] = {}
    names: dict[str, int] = {}
    for i, analysis in enumerate(protocol.analyses):
        problems = [ProtocolProblem(str(p), ("analyses", i, *p.loc)) for p in settings_problems(analysis)]
        problems += _outcome_problems(analysis, i, protocol.extraction)
        first = names.setdefault(analysis.name.casefold(), i)
        if first != i:
            # Their results, plots and export rows would be told apart by position only.
            problems.append(ProtocolProblem(f"analysis name '{analysis.name}' is already used by "
                                            f"analyses[{first}]; names must be unique", ("analyses", i, "name")))
        if problems:
            found[i] = problems
    return found


def _outcome_problems(analysis: Analysis, i: int, extraction: Extraction) -> list[ProtocolProblem]:
    """The measure fits the outcome's type and the timepoint is one the form extracts."""
    outcome = next((o for o in extraction.outcomes if o.name == analysis.outcome), None)
    if outcome is None:
        return []  # the protocol's own check names the outcome the form lacks
    fits = MEASURES_FOR_TYPE[outcome.type]
    found = []
    if analysis.measure not in fits:
        why = ("pools ready-made estimates (`reviewkit meta`), not extracted arms" if analysis.measure == "generic"
               else f"needs a {'continuous' if outcome.type == 'dichotomous' else 'dichotomous'} outcome")
        found.append(ProtocolProblem(f"analysis '{analysis.name}': measure {analysis.measure} {why}, but outcome "
                                     f"'{outcome.name}' is {outcome.type}: use {', '.join(fits[:-1])} or {fits[-1]}",
                                     ("analyses", i, "measure")))
    if analysis.timepoint is not None and analysis.timepoint not in outcome.timepoints:
        found.append(ProtocolProblem(f"analysis '{analysis.name}': outcome '{outcome.name}' has no timepoint "
                                     f"'{analysis.timepoint}' (its timepoints: {', '.join(outcome.timepoints)})",
                                     ("analyses", i, "timepoint")))
    return found


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        elif part in ("function-after[_role_alias(), Reviewer]",):
            continue
        else:
            parts.append(str(part))
    return ".".join(parts)


def _nearest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    """The line of the key, or of the closest enclosing table when the key is absent."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _model_for(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The protocol model class at a location, to list the keys it allows."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _inner_model(field.annotation)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path in TOML text to its 1-based line (tomllib keeps no positions).

    Array-of-tables entries get their index, so ("analyses", 1, "measure") is the second
    [[analyses]] table's `measure`. Good enough for error messages; not a TOML parser.
    """
    found: dict[tuple[Any, ...], int] = {}
    counters: dict[tuple[str, ...], int] = {}
    prefix: tuple[Any, ...] = ()
    in_multiline = False
    # split("\n"), not splitlines(): TOML ends a line at a newline only, so a U+2028 or U+0085 inside a
    # string (pasted from a word processor) must not count as one, or every later line named is off.
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if in_multiline:
            if stripped.count('"""') % 2 == 1 or stripped.count("'''") % 2 == 1:
                in_multiline = False
            continue
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            path = tuple(_unquote(p) for p in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counters.get(path, -1) + 1
                counters[path] = index
                prefix = (*_with_indexes(path[:-1], counters), path[-1], index)
                found.setdefault(prefix[:-1], number)
            else:
                prefix = _with_indexes(path, counters)
            found[prefix] = number
            continue
        key = _KEY.match(line)
        if key:
            path = (*prefix, *(_unquote(p) for p in key.group(1).split(".")))
            found.setdefault(path, number)
            if stripped.count('"""') == 1 or stripped.count("'''") == 1:
                in_multiline = True
    return found


def _with_indexes(path: tuple[str, ...], counters: dict[tuple[str, ...], int]) -> tuple[Any, ...]:
    """Insert the current array index after each prefix that names an array of tables."""
    out: list[Any] = []
    for i, part in enumerate(path):
        out.append(part)
        if path[: i + 1] in counters:
            out.append(counters[path[: i + 1]])
    return tuple(out)


def _unquote(part: str) -> str:
    return part.strip().strip("\"'")

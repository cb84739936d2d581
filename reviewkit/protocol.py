"""Provides the review protocol (review.toml): its pydantic schema and a loader whose errors name key and line."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reviewkit.errors import ReviewkitError

PROTOCOL_FILE = "review.toml"

Role = Literal["screener", "adjudicator", "lead"]
Measure = Literal["RR", "OR", "RD", "MD", "SMD", "generic"]
Method = Literal["MH", "IV", "Peto"]
Model = Literal["fixed", "random"]
Tau2 = Literal["DL", "REML", "PM", "ML", "HE", "SJ", "EB"]
Flavour = Literal["revman5", "metafor", "cochrane2025"]
MultiArm = Literal["naive", "split", "combine"]
FieldType = Literal["text", "integer", "number", "choice", "yesno", "date"]
SourceKind = Literal["database", "register", "website", "organisation", "citation", "other"]


class ProtocolProblem(ValueError):
    """A problem found across keys, raised with the location it is about (as pydantic's loc), so the
    message names that key and its line rather than the whole protocol."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    """Base for protocol tables: unknown keys are refused, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Question(_Strict):
    """The review question in PICOS form."""

    population: str
    intervention: str
    comparator: str
    outcomes: list[str] = Field(min_length=1)
    study_design: str


class PubMedSource(_Strict):
    """A PubMed search (NCBI E-utilities)."""

    query: str = Field(min_length=1)
    #: Publication-date limits as PubMed writes them: YYYY, YYYY/MM or YYYY/MM/DD.
    mindate: str | None = None
    maxdate: str | None = None
    #: NCBI asks every tool to send a contact email; the user config or NCBI_EMAIL may give it instead.
    email: str | None = None

    @field_validator("mindate", "maxdate")
    @classmethod
    def _date_form(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{4}(/\d{2}(/\d{2})?)?", value):
            raise ValueError("write the date as YYYY, YYYY/MM or YYYY/MM/DD")
        return value


class CtgovSource(_Strict):
    """A ClinicalTrials.gov search (API v2 query parameters)."""

    condition: str | None = None
    intervention: str | None = None
    term: str | None = None

    @model_validator(mode="after")
    def _some_query(self) -> CtgovSource:
        if not (self.condition or self.intervention or self.term):
            raise ValueError("give at least one of condition, intervention or term")
        return self


class OtherSource(_Strict):
    """A source searched outside reviewkit (Embase via Ovid, citation searching, a website...)."""

    name: str = Field(min_length=1)
    kind: SourceKind = "database"


class Sources(_Strict):
    """Where records come from."""

    pubmed: PubMedSource | None = None
    ctgov: CtgovSource | None = None
    other: list[OtherSource] = []


class Eligibility(_Strict):
    """Eligibility criteria, shown beside each record, and keywords highlighted in titles and abstracts."""

    inclusion: list[str] = Field(min_length=1)
    exclusion: list[str] = []
    include_keywords: list[str] = []
    exclude_keywords: list[str] = []


class Reviewer(_Strict):
    """A member of the review team; one person may hold several roles."""

    name: str = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _role_alias(cls, data: Any) -> Any:
        # `role = "lead"` reads naturally for one role; `roles = [...]` for several.
        if isinstance(data, dict) and "role" in data and "roles" not in data:
            data = dict(data)
            role = data.pop("role")
            data["roles"] = [role] if isinstance(role, str) else role
        return data


class Screening(_Strict):
    """How screening runs."""

    screeners_per_record: int = Field(default=2, ge=1, le=5)
    #: Full-text exclusion reasons, in the protocol's priority order (PRISMA counts one per report).
    exclusion_reasons: list[str] = Field(min_length=1)
    prioritise: bool = False
    #: The ranker when prioritise is on: naive Bayes (fastest; best of ours on three of the four
    #: benchmark sets), a linear SVM (ASReview's default kind) or logistic regression; figures for
    #: each in bench/README.md, "Screening prioritisation".
    prioritise_model: Literal["nb", "svm", "logistic"] = "nb"


class RiskOfBias(_Strict):
    """Which risk-of-bias tool the review uses."""

    tool: Literal["rob2", "rob1"] = "rob2"
    #: RoB 2 domain 2 variant: the effect of assignment (ITT) or of adhering to the intervention.
    variant: Literal["assignment", "adherence"] = "assignment"
    assessors_per_study: int = Field(default=2, ge=1, le=3)


class FormField(_Strict):
    """A study-level field of the extraction form."""

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType = "text"
    label: str | None = None
    unit: str | None = None
    required: bool = False
    choices: list[str] = []

    @model_validator(mode="after")
    def _choices_for_choice(self) -> FormField:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field '{self.name}' is a choice: list its `choices`")
        return self


class Outcome(_Strict):
    """An outcome to extract, per arm."""

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    label: str | None = None
    type: Literal["dichotomous", "continuous"]
    timepoints: list[str] = Field(min_length=1)
    unit: str | None = None
    #: Whether higher values are better (continuous) or the event is desirable (dichotomous);
    #: decides which side of a forest plot reads "favours experimental".
    higher_is_better: bool = True


class Extraction(_Strict):
    """The extraction form: study fields, arm fields and outcomes."""

    fields: list[FormField] = []
    #: Extra per-arm fields beyond the fixed ones (name, intervention, dose, co-intervention, n randomised).
    arm_fields: list[FormField] = []
    outcomes: list[Outcome] = Field(min_length=1)
    extractors_per_study: int = Field(default=2, ge=1, le=3)


class Analysis(_Strict):
    """One planned meta-analysis of one outcome at one timepoint."""

    name: str = Field(min_length=1)
    outcome: str
    timepoint: str | None = None
    measure: Measure
    method: Method = "IV"
    model: Model = "random"
    tau2: Tau2 = "REML"
    hksj: bool = False
    #: Numerical conventions: revman5 reproduces RevMan 5.3 exactly; cochrane2025 is Cochrane's
    #: current recommendation for new reviews (REML, Q-profile CI, HKSJ, prediction interval).
    flavour: Flavour = "cochrane2025"
    #: Study or arm fields to form subgroups by (e.g. dose, tcs).
    subgroups: list[str] = []
    sensitivity: list[Literal["leave-one-out", "cumulative", "egger", "trimfill"]] = []
    #: How a trial with several experimental arms against one control enters the analysis
    #: (Cochrane Handbook 23.3.4): naive = each arm against the whole control group.
    multiarm: MultiArm = "split"
    #: Which arms are the comparator (matched against arm names, case-insensitive).
    control: str = "placebo"

    @model_validator(mode="after")
    def _method_fits_measure(self) -> Analysis:
        if self.method in ("MH", "Peto") and self.measure not in ("RR", "OR", "RD"):
            raise ValueError(f"method {self.method} applies to RR, OR or RD, not {self.measure}")
        if self.method == "Peto" and self.measure != "OR":
            raise ValueError("the Peto method pools odds ratios only: set measure = \"OR\"")
        return self


class Protocol(_Strict):
    """A whole review protocol: the contents of review.toml."""

    title: str = Field(min_length=1)
    question: Question
    sources: Sources
    eligibility: Eligibility
    reviewers: Annotated[list[Reviewer], Field(min_length=1)]
    screening: Screening
    risk_of_bias: RiskOfBias = RiskOfBias()
    extraction: Extraction
    analyses: list[Analysis] = []
    #: SQLAlchemy URL of a shared PostgreSQL database; absent means reviewkit.db in the folder.
    database_url: str | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> Protocol:
        # Names are compared without case: "Alice" and "alice" would be one person at a glance and
        # two reviewers to the database.
        seen: dict[str, int] = {}
        for i, reviewer in enumerate(self.reviewers):
            first = seen.setdefault(reviewer.name.casefold(), i)
            if first != i:
                raise ProtocolProblem(f"reviewer name '{reviewer.name}' is already used by reviewers[{first}] "
                                      f"('{self.reviewers[first].name}'); names must be unique",
                                      ("reviewers", i, "name"))
        screeners = [r.name for r in self.reviewers if "screener" in r.roles]
        if self.screening.screeners_per_record > len(screeners):
            raise ProtocolProblem(
                f"{self.screening.screeners_per_record} screeners per record, but only {len(screeners)} "
                f"reviewer(s) screen ({', '.join(screeners) or 'none'}): no record could be decided",
                ("screening", "screeners_per_record"))
        reasons = [r.strip().casefold() for r in self.screening.exclusion_reasons]
        for i, reason in enumerate(reasons):
            if reasons.index(reason) != i:
                raise ProtocolProblem(f"exclusion reason '{self.screening.exclusion_reasons[i]}' is listed twice",
                                      ("screening", "exclusion_reasons", i))
        outcomes = {o.name for o in self.extraction.outcomes}
        fields = {f.name for f in self.extraction.fields} | {f.name for f in self.extraction.arm_fields}
        for i, analysis in enumerate(self.analyses):
            if analysis.outcome not in outcomes:
                raise ProtocolProblem(
                    f"analysis '{analysis.name}' names outcome '{analysis.outcome}', which the "
                    f"extraction form lacks (outcomes: {', '.join(sorted(outcomes))})", ("analyses", i, "outcome"))
            for j, variable in enumerate(analysis.subgroups):
                if variable not in fields:
                    raise ProtocolProblem(
                        f"analysis '{analysis.name}' forms subgroups by '{variable}', which is not a study or "
                        f"arm field of the extraction form (fields: {', '.join(sorted(fields)) or 'none'})",
                        ("analyses", i, "subgroups", j))
        return self

    def reviewer(self, name: str) -> Reviewer | None:
        """The reviewer called `name`, or None."""
        return next((r for r in self.reviewers if r.name == name), None)

    def outcome(self, name: str) -> Outcome | None:
        """The extraction outcome called `name`, or None."""
        return next((o for o in self.extraction.outcomes if o.name == name), None)


def load_protocol(path: Path) -> Protocol:
    """Read and validate a protocol file; errors name the file, the key, its line and the fix."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReviewkitError(
            "no protocol here", where=str(path), hint="run `reviewkit init DIR` to create a review"
        ) from None
    except UnicodeDecodeError as exc:
        raise ReviewkitError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    return parse_protocol(text, source=str(path))


def parse_protocol(text: str, *, source: str = PROTOCOL_FILE) -> Protocol:
    """Validate protocol TOML text; see load_protocol."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReviewkitError(f"not valid TOML: {exc}", where=source) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ReviewkitError("not valid TOML: arrays or tables nested too deeply", where=source) from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, text, source) from None


def _explain(exc: ValidationError, text: str, source: str) -> ReviewkitError:
    """Turn pydantic's errors into one message per problem, each with key, line and fix."""
    lines = key_lines(text)
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = _dotted(loc)
        line = _nearest_line(lines, loc)
        at = f"line {line}: " if line else ""
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = _model_for(loc[:-1])
            allowed = sorted(parent.model_fields) if parent else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
            problems.append(f"{at}unknown key '{key}' ({fix})")
        elif kind == "missing":
            table = _dotted(loc[:-1]) or "the top level"
            problems.append(f"{at}missing key '{key}' (add `{loc[-1]} = ...` to {table})")
        elif isinstance(problem := err.get("ctx", {}).get("error"), ProtocolProblem):
            # A cross-key check: name the key it is about, not the table that holds it all.
            loc = loc + problem.loc
            line = _nearest_line(lines, loc)
            at = f"line {line}: " if line else ""
            problems.append(f"{at}'{_dotted(loc)}': {problem}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            # A whole table or list as "got" would repeat the file back to its author.
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            problems.append(f"{at}'{key}': {msg}{shown}")
    return ReviewkitError("; ".join(problems), where=source)


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


def _model_for(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The protocol model class at a location, to list the keys it allows."""
    model: Any = Protocol
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
    for number, line in enumerate(text.splitlines(), start=1):
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

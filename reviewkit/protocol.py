"""Provides the review protocol (review.toml): its pydantic schema and a loader whose errors name key and line."""

from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reviewkit.domain.names import NAME_MAX
from reviewkit.errors import ReviewkitError
from reviewkit.protocol_errors import (
    ProtocolProblem,
    ProtocolProblems,
    explain,
    explain_problems,
    find_analysis_problems,
    nul_error,
)
from reviewkit.wording import counted

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
#: An item of a list of texts: a blank one could not be chosen, named or told apart from another.
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    """Base for protocol tables: unknown keys are refused, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Question(_Strict):
    """The review question in PICOS form."""

    population: str
    intervention: str
    comparator: str
    outcomes: list[Text] = Field(min_length=1)
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
        if value is not None:
            # A date that does not exist (month 13, 30 February, month or day 00): PubMed would not say so,
            # it would search some other range.
            parts = [int(p) for p in value.split("/")] + [1, 1]
            try:
                datetime.date(parts[0], parts[1], parts[2])
            except ValueError:
                raise ValueError("no such date: write YYYY, YYYY/MM or YYYY/MM/DD with a year from 0001, "
                                 "a month 01-12 and a day the month has") from None
        return value

    @model_validator(mode="after")
    def _date_range(self) -> PubMedSource:
        # PubMed takes both limits or neither; a range ending before it starts finds nothing. Dates
        # of different precision compare on the parts both give (2020/06 lies within 2020).
        if (self.mindate is None) != (self.maxdate is None):
            given, missing = ("mindate", "maxdate") if self.mindate is not None else ("maxdate", "mindate")
            raise ProtocolProblem(f"{given} is set but {missing} is not: PubMed needs both or neither "
                                  f"(add `{missing} = \"YYYY\"`, or remove {given})", (missing,))
        if self.mindate is not None and self.maxdate is not None:
            low, high = self.mindate.split("/"), self.maxdate.split("/")
            n = min(len(low), len(high))
            if [int(p) for p in low[:n]] > [int(p) for p in high[:n]]:
                raise ProtocolProblem(f"maxdate {self.maxdate} is before mindate {self.mindate}: the search "
                                      "would find nothing", ("maxdate",))
        return self


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

    name: str = Field(min_length=1, max_length=NAME_MAX)
    kind: SourceKind = "database"


class Sources(_Strict):
    """Where records come from."""

    pubmed: PubMedSource | None = None
    ctgov: CtgovSource | None = None
    other: list[OtherSource] = []


class Eligibility(_Strict):
    """Eligibility criteria, shown beside each record, and keywords highlighted in titles and abstracts."""

    inclusion: list[Text] = Field(min_length=1)
    exclusion: list[Text] = []
    include_keywords: list[str] = []
    exclude_keywords: list[str] = []


class Reviewer(_Strict):
    """A member of the review team; one person may hold several roles."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
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

    #: Strict: "2" (a string) is refused, not read as 2; so is true, or 2.0.
    screeners_per_record: int = Field(default=2, ge=1, le=5, strict=True)
    #: Full-text exclusion reasons, in the protocol's priority order (PRISMA counts one per report);
    #: each has text (an empty one could not be chosen, nor told apart in PRISMA).
    exclusion_reasons: list[Text] = Field(min_length=1)
    prioritise: bool = Field(default=False, strict=True)
    #: The ranker when prioritise is on: naive Bayes (fastest; best of ours on three of the four
    #: benchmark sets), a linear SVM (ASReview's default kind) or logistic regression; figures for
    #: each in bench/README.md, "Screening prioritisation".
    prioritise_model: Literal["nb", "svm", "logistic"] = "nb"


class RiskOfBias(_Strict):
    """Which risk-of-bias tool the review uses."""

    tool: Literal["rob2", "rob1"] = "rob2"
    #: RoB 2 domain 2 variant: the effect of assignment (ITT) or of adhering to the intervention.
    variant: Literal["assignment", "adherence"] = "assignment"
    assessors_per_study: int = Field(default=2, ge=1, le=3, strict=True)


class FormField(_Strict):
    """A study-level field of the extraction form."""

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType = "text"
    label: str | None = None
    unit: str | None = None
    required: bool = Field(default=False, strict=True)
    choices: list[Text] = []

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
    timepoints: list[Text] = Field(min_length=1)
    unit: str | None = None
    #: Whether higher values are better (continuous) or the event is desirable (dichotomous);
    #: decides which side of a forest plot reads "favours experimental".
    higher_is_better: bool = Field(default=True, strict=True)


class Extraction(_Strict):
    """The extraction form: study fields, arm fields and outcomes."""

    fields: list[FormField] = []
    #: Extra per-arm fields beyond the fixed ones (name, intervention, dose, co-intervention, n randomised).
    arm_fields: list[FormField] = []
    outcomes: list[Outcome] = Field(min_length=1)
    extractors_per_study: int = Field(default=2, ge=1, le=3, strict=True)


class Analysis(_Strict):
    """One planned meta-analysis of one outcome at one timepoint."""

    name: str = Field(min_length=1)
    outcome: str
    timepoint: str | None = None
    measure: Measure
    #: method, model, tau2 and hksj left out take the flavour's defaults (revman5: MH for binary
    #: measures, DL; cochrane2025: REML with HKSJ), as `reviewkit meta` does; fixed values here
    #: used to override the flavour, so a cochrane2025 analysis silently ran without HKSJ.
    method: Method | None = None
    model: Model | None = None
    tau2: Tau2 | None = None
    hksj: bool | None = Field(default=None, strict=True)
    #: The ad hoc Hartung-Knapp, max(1, q) (Röver, Knapp & Friede 2015; R meta's adhoc.hakn.ci = "se"): the
    #: CI is never narrower than the plain SE's with t(k−1). It modifies HKSJ, so it needs HKSJ on (hksj =
    #: true, or left out under cochrane2025) and random effects; no flavour turns it on. Strict, as hksj.
    hksj_adhoc: bool = Field(default=False, strict=True)
    #: Whether text and plots show the prediction interval; left out, the flavour's choice (revman5: no,
    #: as RevMan 5; metafor, cochrane2025: yes). PRISMA 2020 and the Cochrane Handbook recommend it with
    #: random effects, so a review reproducing RevMan 5 may still show it. Strict: only TOML's true and
    #: false; "true", "yes" or 1 are refused with the key named (pydantic's lax bool would guess).
    prediction_interval: bool | None = Field(default=None, strict=True)
    #: Numerical conventions: revman5 reproduces RevMan 5.3 exactly; cochrane2025 is Cochrane's
    #: current recommendation for new reviews (REML, Q-profile CI, HKSJ, prediction interval).
    flavour: Flavour = "cochrane2025"
    #: Study or arm fields to form subgroups by (e.g. dose, tcs).
    subgroups: list[str] = []
    sensitivity: list[Literal["leave-one-out", "cumulative", "egger", "trimfill"]] = []
    #: How a trial with several experimental arms against one control enters the analysis
    #: (Cochrane Handbook 23.3.4): naive = each arm against the whole control group.
    multiarm: MultiArm = "split"
    #: Which arm of each study is the comparator: the one whose intervention is this text (case and
    #: spacing aside; an arm extracted without an intervention is matched by its label), the whole
    #: text, never a part. Every other arm of the study is experimental. Blank is refused.
    control: str = "placebo"

    # Whether its settings fit together (settings_problems) is checked by Protocol._cross_checks with the
    # rest of each analysis's problems, so `protocol check` names them all at once, as analyze does.


#: The validation context key under which a lenient load collects each analysis's problems (by index).
_KEPT = "analysis_problems"


def _lenient(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and _KEPT in info.context


def is_database_kind(url: str) -> bool:
    """Whether a database URL names a database reviewkit keeps reviews in (PostgreSQL, or an SQLite file).
    Anything else reached SQLAlchemy and came back as "Can't load plugin: sqlalchemy.dialects:…"."""
    return url.partition("://")[0].partition("+")[0] in ("postgresql", "postgres", "sqlite")


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
    _analysis_problems: dict[int, list[str]] = PrivateAttr(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _database_kind(cls, value: str | None) -> str | None:
        if value is not None and not is_database_kind(value):
            raise ValueError("reviewkit keeps a shared review in PostgreSQL: write "
                             "postgresql://USER@HOST:PORT/DATABASE (or leave database_url out for the "
                             "review's own SQLite file)")
        return value

    @property
    def analysis_problems(self) -> dict[int, list[str]]:
        """Why planned analyses cannot run, by index in `analyses`, each as `protocol check` words it.

        Only a lenient load (parse_protocol(lenient_analyses=True), as opening a review does) keeps
        any: a strict one refuses the protocol instead.
        """
        return self._analysis_problems

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Protocol:
        # Collected, not raised one by one: `protocol check` lists every problem of the file at once.
        found: list[ProtocolProblem] = []
        # Names are compared without case: "Alice" and "alice" would be one person at a glance and
        # two reviewers to the database.
        seen: dict[str, int] = {}
        for i, reviewer in enumerate(self.reviewers):
            first = seen.setdefault(reviewer.name.casefold(), i)
            if first != i:
                found.append(ProtocolProblem(f"reviewer name '{reviewer.name}' is already used by reviewers[{first}] "
                                             f"('{self.reviewers[first].name}'); names must be unique",
                                             ("reviewers", i, "name")))
        if not any("lead" in r.roles for r in self.reviewers) and not _lenient(info):
            # Only a lead may change the protocol, read the audit or back up: a team without one would lock
            # everybody out of them. A review whose review.toml already lacks one still opens (lenient), so
            # the file can be mended by hand.
            names = ", ".join(r.name for r in self.reviewers)
            found.append(ProtocolProblem(f"no reviewer is a lead ({names}): give one of them the role, e.g. "
                                         'roles = ["screener", "lead"]; only a lead may change the protocol, '
                                         "read the audit log or back up the review", ("reviewers",)))
        screeners = [r.name for r in self.reviewers if "screener" in r.roles]
        if self.screening.screeners_per_record > len(screeners):
            found.append(ProtocolProblem(
                f"{self.screening.screeners_per_record} screeners per record, but only "
                f"{counted(len(screeners), 'reviewer')} {'screens' if len(screeners) == 1 else 'screen'} "
                f"({', '.join(screeners) or 'none'}): no record could be decided",
                ("screening", "screeners_per_record")))
        # Case and spacing aside: "Case  report" beside "Case report" reads as one reason, and PRISMA would
        # count it as two. Spacing only when strict: a review whose list already has such a pair still
        # opens, as its decisions may give both.
        reasons = [(r.strip() if _lenient(info) else " ".join(r.split())).casefold()
                   for r in self.screening.exclusion_reasons]
        for i, reason in enumerate(reasons):
            if reasons.index(reason) != i:
                found.append(ProtocolProblem(f"exclusion reason '{self.screening.exclusion_reasons[i]}' is listed "
                                             "twice", ("screening", "exclusion_reasons", i)))
        found += _repeated_names(self.extraction, timepoints=not _lenient(info))
        outcomes = {o.name for o in self.extraction.outcomes}
        fields = {f.name for f in self.extraction.fields} | {f.name for f in self.extraction.arm_fields}
        for i, analysis in enumerate(self.analyses):
            if analysis.outcome not in outcomes:
                found.append(ProtocolProblem(
                    f"analysis '{analysis.name}' names outcome '{analysis.outcome}', which the "
                    f"extraction form lacks (outcomes: {', '.join(sorted(outcomes))})", ("analyses", i, "outcome")))
            for j, variable in enumerate(analysis.subgroups):
                if variable not in fields:
                    found.append(ProtocolProblem(
                        f"analysis '{analysis.name}' forms subgroups by '{variable}', which is not a study or "
                        f"arm field of the extraction form (fields: {', '.join(sorted(fields)) or 'none'})",
                        ("analyses", i, "subgroups", j)))
        # What only matters when analysing: strict, the protocol is refused; lenient (a review that
        # loaded before these checks existed must still open), the problems are kept for analyze to
        # skip that analysis with.
        problems = find_analysis_problems(self)
        if found or not _lenient(info):
            # A protocol refused anyway says its analyses' problems too, rather than after the others are fixed.
            found += [p for kept in problems.values() for p in kept]
        if found:
            raise ProtocolProblems(found)
        if _lenient(info):
            info.context[_KEPT].update(problems)  # type: ignore[index]
        return self

    def reviewer(self, name: str) -> Reviewer | None:
        """The reviewer called `name`, or None."""
        return next((r for r in self.reviewers if r.name == name), None)

    def outcome(self, name: str) -> Outcome | None:
        """The extraction outcome called `name`, or None."""
        return next((o for o in self.extraction.outcomes if o.name == name), None)


def _repeated_names(form: Extraction, *, timepoints: bool) -> list[ProtocolProblem]:
    """A form field or outcome named twice: the extraction table would have two columns of one name (and
    could not be imported back), a subgroup variable or an analysis would not know which it means. Study
    and arm fields share one namespace, as subgroups name either. With `timepoints`, an outcome's
    timepoint listed twice too."""
    found: list[ProtocolProblem] = []
    seen: dict[str, tuple[str | int, ...]] = {}
    for key, items in (("fields", form.fields), ("arm_fields", form.arm_fields)):
        for i, item in enumerate(items):
            first = seen.setdefault(item.name, ("extraction", key, i))
            if first != ("extraction", key, i):
                found.append(ProtocolProblem(f"field name '{item.name}' is already used by {first[1]}[{first[2]}]; "
                                             "form field names must be unique", ("extraction", key, i, "name")))
    names: dict[str, int] = {}
    for i, outcome in enumerate(form.outcomes):
        first_outcome = names.setdefault(outcome.name, i)
        if first_outcome != i:
            found.append(ProtocolProblem(f"outcome name '{outcome.name}' is already used by "
                                         f"outcomes[{first_outcome}]; outcome names must be unique",
                                         ("extraction", "outcomes", i, "name")))
        if timepoints:
            # A timepoint twice (case aside) would give the extraction table two rows of one outcome and
            # timepoint; only when strict, so a review whose form already repeats one still opens.
            told = [t.casefold() for t in outcome.timepoints]
            found += [ProtocolProblem(f"timepoint '{outcome.timepoints[j]}' is listed twice for outcome "
                                      f"'{outcome.name}'", ("extraction", "outcomes", i, "timepoints", j))
                      for j, timepoint in enumerate(told) if told.index(timepoint) != j]
    return found


def load_protocol(path: Path, *, lenient_analyses: bool = False) -> Protocol:
    """Read and validate a protocol file; errors name the file, the key, its line and the fix.

    `lenient_analyses` keeps the problems of single planned analyses (a measure that does not fit
    its outcome, tau2 on a fixed-effect model...) in Protocol.analysis_problems instead of refusing
    the file: a review must still open when a later reviewkit checks more than the one that
    accepted its protocol. Everything else is refused either way.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReviewkitError(
            "no protocol here", where=str(path), hint="run `reviewkit init DIR` to create a review"
        ) from None
    except UnicodeDecodeError as exc:
        raise not_utf8(exc, path) from None
    return parse_protocol(text, source=str(path), lenient_analyses=lenient_analyses)


def not_utf8(exc: UnicodeDecodeError, path: Path) -> ReviewkitError:
    """The error for a protocol file that is not UTF-8: where its first bad byte is, and the fix."""
    data = exc.object if isinstance(exc.object, bytes) else b""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows' "Unicode" (Notepad, PowerShell's Out-File): every line would be wrong, so name the encoding.
        what = "UTF-16 text, not UTF-8"
    else:
        line = data[:exc.start].count(b"\n") + 1
        what = f"line {line}: not UTF-8 text ({exc.reason} at byte {exc.start + 1})"
    return ReviewkitError(what, where=str(path), hint="save it as UTF-8, the encoding TOML files take")


def parse_protocol(text: str, *, source: str = PROTOCOL_FILE, lenient_analyses: bool = False) -> Protocol:
    """Validate protocol TOML text; see load_protocol."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReviewkitError(f"not valid TOML: {exc}", where=source) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ReviewkitError("not valid TOML: arrays or tables nested too deeply", where=source) from None
    if (nul := nul_error(data, text, source)) is not None:
        raise nul
    kept: dict[int, list[ProtocolProblem]] = {}
    typed: dict[int, list[str]] = {}
    try:
        protocol = Protocol.model_validate(data, context={_KEPT: kept} if lenient_analyses else None)
    except ValidationError as exc:
        wrong = _analysis_values_of_wrong_type(exc) if lenient_analyses else None
        if wrong is None:
            raise explain(exc, text, source, Protocol) from None
        # An open review skips an analysis whose switch is quoted (hksj = "false", read as false before
        # switches were strict) rather than refusing to open; `protocol check` still refuses the file.
        told = explain(exc, text, source, Protocol).problems
        for (index, _), message in zip(wrong, told, strict=True):
            typed.setdefault(index, []).append(message)
        analyses = [dict(a) for a in data["analyses"]]
        for index, key in wrong:
            analyses[index].pop(key)
        try:
            protocol = Protocol.model_validate({**data, "analyses": analyses}, context={_KEPT: kept})
        except ValidationError as again:
            raise explain(again, text, source, Protocol) from None
    problems = explain_problems(kept, text, source)
    for index, messages in typed.items():
        problems[index] = [*messages, *problems.get(index, [])]
    protocol._analysis_problems = problems
    return protocol


def _analysis_values_of_wrong_type(exc: ValidationError) -> list[tuple[int, str]] | None:
    """(analysis index, key) of each error when every one is a planned analysis's value of the wrong type
    (a quoted true or number); None when any other error is among them, which refuses the protocol."""
    found: list[tuple[int, str]] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if not (len(loc) == 3 and loc[0] == "analyses" and isinstance(loc[1], int) and isinstance(loc[2], str)
                and err["type"] in ("bool_type", "int_type", "float_type")):
            return None
        found.append((loc[1], loc[2]))
    return found

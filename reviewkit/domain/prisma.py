"""Provides PrismaCounts (every box of the PRISMA 2020 flow diagram), its arithmetic checks and export forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: "error" breaks the arithmetic; "note" is a difference PRISMA allows when documented; "pending" is a
#: difference that records or reports still waiting for a decision explain (the counts are not final).
Severity = Literal["error", "note", "pending"]

#: Why a record identified via other methods was not sought for retrieval (OtherMethods.not_sought).
NOT_SOUGHT_DUPLICATES = "Duplicates of records counted elsewhere"
NOT_SOUGHT_EXCLUDED = "Excluded on title/abstract"
#: Not sought yet: a diagram is not drawn while any record waits, but the counts can be written.
NOT_SOUGHT_PENDING = "Awaiting title/abstract decisions"

#: Names under which the PRISMA2020 R package / Shiny app (Haddaway et al. 2022, data template
#: inst/extdata/PRISMA.csv) has a box of its own in the other-methods column.
OTHER_SOURCE_KEYS: dict[str, str] = {
    "websites": "website_results",
    "organisations": "organisation_results",
    "organizations": "organisation_results",
    "citation searching": "citations_results",
}


@dataclass(frozen=True)
class OtherMethods:
    """The right-hand column of PRISMA 2020 template B ("Identification of studies via other methods").

    It has no deduplication or title/abstract screening: records go straight to "Reports sought for
    retrieval" (prisma2020.md §3). Not all are sought (§5 item 6): `not_sought` says why the others were
    not (duplicates of records counted elsewhere, records excluded on title and abstract), so that
    identified = sought + not sought and no record leaves the diagram unaccounted for; the figure draws
    it as a side box only when it holds any record.
    """

    identified: Mapping[str, int]  # "Websites", "Organisations", "Citation searching", …
    sought: int
    not_retrieved: int
    assessed: int
    excluded: Mapping[str, int]  # reason → reports excluded
    not_sought: Mapping[str, int] = field(default_factory=dict)  # why → records identified, not sought

    def __post_init__(self) -> None:
        # Copies, so a caller mutating its dict later cannot change a frozen count.
        object.__setattr__(self, "identified", dict(self.identified))
        object.__setattr__(self, "excluded", dict(self.excluded))
        object.__setattr__(self, "not_sought", dict(self.not_sought))

    @property
    def not_sought_total(self) -> int:
        """Records identified by other methods and not sought for retrieval, for every reason."""
        return sum(self.not_sought.values())

    @property
    def identified_total(self) -> int:
        """Records identified by all other methods together."""
        return sum(self.identified.values())

    @property
    def excluded_total(self) -> int:
        """Reports excluded at full text in this column, all reasons together."""
        return sum(self.excluded.values())

    @property
    def reports_included(self) -> int:
        """Eligible reports from this column (identity 6: assessed minus excluded)."""
        return self.assessed - self.excluded_total


@dataclass(frozen=True)
class PreviousReview:
    """The updated-review boxes: the previous version's included studies and the new totals."""

    studies: int
    reports: int
    total_studies: int
    total_reports: int


@dataclass(frozen=True)
class PrismaCounts:
    """Every count of a PRISMA 2020 flow diagram (Page et al., BMJ 2021;372:n71, Figure 1).

    The "Records identified" totals are derived from the per-source mappings, so identity 1 of
    prisma2020.md §5 holds by construction. `other` set means template B; `previous` set means the
    updated-review variant, in which `studies_included`/`reports_included` are the *new* ones.
    """

    databases: Mapping[str, int]
    registers: Mapping[str, int]
    duplicates_removed: int
    automation_ineligible: int
    removed_other_reasons: int
    records_screened: int
    records_excluded: int
    reports_sought: int
    reports_not_retrieved: int
    reports_assessed: int
    reports_excluded: Mapping[str, int]  # reason → reports excluded, in display order
    studies_included: int
    reports_included: int  # reports of included studies, both columns
    other: OtherMethods | None = None
    previous: PreviousReview | None = None
    # Footnote ** of the template: how many of records_excluded an automation tool excluded.
    records_excluded_by_automation: int | None = None

    def __post_init__(self) -> None:
        for name in ("databases", "registers", "reports_excluded"):
            object.__setattr__(self, name, dict(getattr(self, name)))

    @property
    def databases_total(self) -> int:
        """Records identified from all databases."""
        return sum(self.databases.values())

    @property
    def registers_total(self) -> int:
        """Records identified from all registers."""
        return sum(self.registers.values())

    @property
    def records_identified(self) -> int:
        """IDENT of identity 1: databases plus registers."""
        return self.databases_total + self.registers_total

    @property
    def removed_before_screening(self) -> int:
        """Duplicates, automation-ineligible and otherwise removed records together."""
        return self.duplicates_removed + self.automation_ineligible + self.removed_other_reasons

    @property
    def reports_excluded_total(self) -> int:
        """FTX of identity 5: full-text exclusions over all reasons."""
        return sum(self.reports_excluded.values())

    @property
    def reports_included_dbr(self) -> int:
        """INCL_REPORTS_dbr of identity 5: assessed minus excluded in the databases column."""
        return self.reports_assessed - self.reports_excluded_total


@dataclass(frozen=True)
class Pending:
    """What still waits for a human, per column, for the identities that would otherwise not add up.

    `title_abstract`: records in "Records screened" with no settled title/abstract outcome (not started,
    in progress, or in conflict), so neither in "Records excluded" nor in "Reports sought for retrieval".
    `full_text`: reports sought, not marked not retrieved, with no settled full-text outcome, so not
    (yet) in "Reports assessed for eligibility". The `other_` fields are the other-methods column's.
    `duplicate_pairs`: uncertain duplicate pairs no one has confirmed or rejected; both copies of each
    count in "Records screened" until then.
    """

    title_abstract: int = 0
    full_text: int = 0
    other_title_abstract: int = 0
    other_full_text: int = 0
    duplicate_pairs: int = 0

    def __bool__(self) -> bool:
        return any((self.title_abstract, self.full_text, self.other_title_abstract, self.other_full_text,
                    self.duplicate_pairs))


def _records(n: int, one: str = "record", many: str = "records") -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class IdentityViolation:
    """One broken identity of prisma2020.md §5: which boxes, what the arithmetic expects, what is there.

    `relation` reads "actual <relation> expected" ("=", "<=", ">="). `severity` "note" marks a
    difference PRISMA allows when documented (several reports per record, previously included
    studies later excluded); only "error" stops the diagram from being drawn.
    """

    name: str
    expected: int
    actual: int
    explanation: str
    boxes: tuple[str, ...]
    relation: str = "="
    severity: Severity = "error"

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.explanation} (expected {self.relation} {self.expected}, "
            f"found {self.actual}; boxes {', '.join(self.boxes)})"
        )


def _other_box(name: str) -> str:
    return OTHER_SOURCE_KEYS.get(name.strip().lower(), "other_results")


def _holds(actual: int, relation: str, expected: int) -> bool:
    if relation == "=":
        return actual == expected
    if relation == "<=":
        return actual <= expected
    return actual >= expected


def _nonnegative(counts: PrismaCounts) -> list[tuple[str, int]]:
    """Every (box key, value) pair, for identity 10's "every count is a non-negative integer"."""
    pairs: list[tuple[str, int]] = [(f"database_results:{k}", v) for k, v in counts.databases.items()]
    pairs += [(f"register_results:{k}", v) for k, v in counts.registers.items()]
    pairs += [
        ("duplicates", counts.duplicates_removed),
        ("excluded_automatic", counts.automation_ineligible),
        ("excluded_other", counts.removed_other_reasons),
        ("records_screened", counts.records_screened),
        ("records_excluded", counts.records_excluded),
        ("dbr_sought_reports", counts.reports_sought),
        ("dbr_notretrieved_reports", counts.reports_not_retrieved),
        ("dbr_assessed", counts.reports_assessed),
        ("new_studies", counts.studies_included),
        ("new_reports", counts.reports_included),
    ]
    pairs += [(f"dbr_excluded:{k}", v) for k, v in counts.reports_excluded.items()]
    if counts.records_excluded_by_automation is not None:
        pairs.append(("records_excluded", counts.records_excluded_by_automation))
    if (o := counts.other) is not None:
        pairs += [(f"{_other_box(k)}:{k}", v) for k, v in o.identified.items()]
        pairs += [
            ("other_sought_reports", o.sought),
            ("other_notretrieved_reports", o.not_retrieved),
            ("other_assessed", o.assessed),
        ]
        pairs += [(f"other_excluded:{k}", v) for k, v in o.excluded.items()]
        pairs += [(f"other_not_sought:{k}", v) for k, v in o.not_sought.items()]
    if (p := counts.previous) is not None:
        pairs += [
            ("previous_studies", p.studies),
            ("previous_reports", p.reports),
            ("total_studies", p.total_studies),
            ("total_reports", p.total_reports),
        ]
    return pairs


def check_identities(counts: PrismaCounts, pending: Pending | None = None) -> list[IdentityViolation]:
    """Return every arithmetic identity of prisma2020.md §5 the counts break (empty when consistent).

    With `pending`, a difference that the records or reports still waiting for a decision account for
    exactly is reported as such (severity "pending", naming them) rather than as a broken identity or a
    note with some other cause; what they do not account for is checked as before.
    """
    found: list[IdentityViolation] = []
    wait = pending or Pending()

    def check(
        name: str, actual: int, relation: str, expected: int, why: str, boxes: tuple[str, ...],
        severity: Severity = "error",
    ) -> None:
        if not _holds(actual, relation, expected):
            found.append(IdentityViolation(name, expected, actual, why, boxes, relation, severity))

    c = counts
    # 10: every count is a non-negative integer (bool is an int in Python but not a count).
    whole = True
    for box, value in _nonnegative(c):
        if not isinstance(value, int) or isinstance(value, bool):
            whole = False
            found.append(IdentityViolation(
                "whole number", 0, -1, f"{box} is {value!r}, not a whole number",
                (box.split(":")[0],), ">=",
            ))
        else:
            check("non-negative", value, ">=", 0, f"{box} is a count and cannot be negative",
                  (box.split(":")[0],))
    if not whole:
        return found  # the sums below are meaningless over non-integers

    ident_boxes = ("database_results", "register_results")
    removed = ("duplicates", "excluded_automatic", "excluded_other")
    # 10: a side box never exceeds the box it branches from.
    check("removed <= identified", c.removed_before_screening, "<=", c.records_identified,
          "more records removed before screening than were identified", ident_boxes + removed)
    # 2: SCR = IDENT - dup - auto - other.
    check("records screened", c.records_screened, "=", c.records_identified - c.removed_before_screening,
          "records screened must equal records identified minus those removed before screening",
          ("records_screened", *ident_boxes, *removed))
    check("excluded <= screened", c.records_excluded, "<=", c.records_screened,
          "more records excluded than screened", ("records_excluded", "records_screened"))
    if c.records_excluded_by_automation is not None:
        check("automation <= excluded", c.records_excluded_by_automation, "<=", c.records_excluded,
              "more records excluded by automation than excluded in all", ("records_excluded",))
    # 3: SOUGHT = SCR - EXC; a note only, since one record may lead to several reports (or none).
    # Records still waiting for a title/abstract outcome are in neither box yet.
    sought_boxes = ("dbr_sought_reports", "records_screened", "records_excluded")
    if wait.title_abstract:
        check("reports sought", c.reports_sought, "=", c.records_screened - c.records_excluded - wait.title_abstract,
              "reports sought differ from records screened minus records excluded minus the records still "
              "waiting for a title/abstract decision; document why (several reports per record, or records "
              "resolved without retrieval)", sought_boxes, "note")
        found.append(IdentityViolation(
            "records awaiting title/abstract decisions", c.records_screened - c.records_excluded,
            c.reports_sought,
            f"{_records(wait.title_abstract)} in Records screened still "
            f"{'waits' if wait.title_abstract == 1 else 'wait'} for a title/abstract decision (not started, "
            "in progress or in conflict), so in neither Records excluded nor Reports sought for retrieval yet",
            sought_boxes, "=", "pending"))
    else:
        check("reports sought", c.reports_sought, "=", c.records_screened - c.records_excluded,
              "reports sought differ from records screened minus records excluded; document why "
              "(several reports per record, or records resolved without retrieval)", sought_boxes, "note")
    check("not retrieved <= sought", c.reports_not_retrieved, "<=", c.reports_sought,
          "more reports not retrieved than sought", ("dbr_notretrieved_reports", "dbr_sought_reports"))
    # 4: ASSESS = SOUGHT - NR, once every retrieved report has a full-text decision.
    assessed_boxes = ("dbr_assessed", "dbr_sought_reports", "dbr_notretrieved_reports")
    check("reports assessed", c.reports_assessed, "=", c.reports_sought - c.reports_not_retrieved - wait.full_text,
          "reports assessed must equal reports sought minus reports not retrieved"
          + (" minus the reports awaiting assessment" if wait.full_text else ""), assessed_boxes)
    if wait.full_text:
        found.append(_awaiting_assessment(wait.full_text, c.reports_sought - c.reports_not_retrieved,
                                          c.reports_assessed, assessed_boxes))
    # 5: FTX = sum of reasons, and INCL_REPORTS_dbr = ASSESS - FTX cannot be negative.
    check("excluded <= assessed", c.reports_excluded_total, "<=", c.reports_assessed,
          "more reports excluded (all reasons) than assessed", ("dbr_excluded", "dbr_assessed"))
    incl_other = 0
    if (o := c.other) is not None:
        # 6: the other-methods column.
        check("other: sought <= identified", o.sought, "<=", o.identified_total,
              "more reports sought via other methods than records identified by them",
              ("other_sought_reports", *sorted({_other_box(k) for k in o.identified})))
        if o.not_sought:
            # Every record identified via other methods is either sought or not sought for a reason.
            check("other: sought + not sought", o.sought + o.not_sought_total, "=", o.identified_total,
                  "reports sought plus records not sought (other methods) must equal the records identified "
                  "by other methods", ("other_sought_reports", "other_not_sought",
                                       *sorted({_other_box(k) for k in o.identified})))
        check("other: not retrieved <= sought", o.not_retrieved, "<=", o.sought,
              "more reports not retrieved than sought (other methods)",
              ("other_notretrieved_reports", "other_sought_reports"))
        other_boxes = ("other_assessed", "other_sought_reports", "other_notretrieved_reports")
        check("other: reports assessed", o.assessed, "=", o.sought - o.not_retrieved - wait.other_full_text,
              "reports assessed (other methods) must equal reports sought minus not retrieved"
              + (" minus the reports awaiting assessment" if wait.other_full_text else ""), other_boxes)
        if wait.other_full_text:
            found.append(_awaiting_assessment(wait.other_full_text, o.sought - o.not_retrieved, o.assessed,
                                              other_boxes, " (other methods)"))
        check("other: excluded <= assessed", o.excluded_total, "<=", o.assessed,
              "more reports excluded than assessed (other methods)", ("other_excluded", "other_assessed"))
        incl_other = o.reports_included
    # 7: reports of included studies = INCL_REPORTS_dbr + INCL_REPORTS_o.
    incl_boxes: tuple[str, ...] = ("new_reports", "dbr_assessed", "dbr_excluded")
    if o is not None:
        incl_boxes += ("other_assessed", "other_excluded")
    check("reports included", c.reports_included, "=", c.reports_included_dbr + incl_other,
          "reports of included studies must equal reports assessed minus reports excluded"
          + (", summed over both columns" if o is not None else ""), incl_boxes)
    # 8: studies <= reports, and at least one study once any report is included. The first is a
    # note, not an error: one paper can report several trials (BREEZE-AD1 and -AD2 in one paper),
    # so when only such a paper is included there are more studies than reports.
    check("studies <= reports", c.studies_included, "<=", c.reports_included,
          "more studies included than reports of included studies: right only when a report "
          "describes several studies (one paper reporting two trials); check the study links",
          ("new_studies", "new_reports"), "note")
    if c.reports_included > 0:
        check("studies >= 1", c.studies_included, ">=", 1,
              "reports are included but no study is", ("new_studies", "new_reports"))
    if (p := c.previous) is not None:
        # 9: totals; fewer is allowed when previously included studies are now excluded (a note).
        for what, total, prev, new in (
            ("studies", p.total_studies, p.studies, c.studies_included),
            ("reports", p.total_reports, p.reports, c.reports_included),
        ):
            boxes = (f"total_{what}", f"previous_{what}", f"new_{what}")
            check(f"total {what}", total, "<=", prev + new,
                  f"total {what} exceed previous plus new {what}", boxes)
            check(f"total {what}", total, ">=", prev + new,
                  f"total {what} are fewer than previous plus new {what}; document which "
                  "previously included studies are now excluded", boxes, "note")
    return found


def _awaiting_assessment(n: int, retrieved: int, assessed: int, boxes: tuple[str, ...],
                         where: str = "") -> IdentityViolation:
    return IdentityViolation(
        f"reports awaiting assessment{where}", retrieved, assessed,
        f"{_records(n, 'report', 'reports')} sought{where} and not marked not retrieved "
        f"{'has' if n == 1 else 'have'} no full-text decision yet (not started, in progress or in conflict), "
        "so not yet in Reports assessed for eligibility", boxes, "=", "pending")


def errors_only(violations: list[IdentityViolation]) -> list[IdentityViolation]:
    """The violations that stop a diagram from being drawn (severity "error")."""
    return [v for v in violations if v.severity == "error"]

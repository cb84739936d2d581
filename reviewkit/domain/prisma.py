"""Provides PrismaCounts (every box of the PRISMA 2020 flow diagram), its arithmetic checks and export forms."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reviewkit.errors import ReviewkitError

Severity = Literal["error", "note"]

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
    retrieval" (prisma2020.md §3).
    """

    identified: Mapping[str, int]  # "Websites", "Organisations", "Citation searching", …
    sought: int
    not_retrieved: int
    assessed: int
    excluded: Mapping[str, int]  # reason → reports excluded

    def __post_init__(self) -> None:
        # Copies, so a caller mutating its dict later cannot change a frozen count.
        object.__setattr__(self, "identified", dict(self.identified))
        object.__setattr__(self, "excluded", dict(self.excluded))

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
    if (p := counts.previous) is not None:
        pairs += [
            ("previous_studies", p.studies),
            ("previous_reports", p.reports),
            ("total_studies", p.total_studies),
            ("total_reports", p.total_reports),
        ]
    return pairs


def check_identities(counts: PrismaCounts) -> list[IdentityViolation]:
    """Return every arithmetic identity of prisma2020.md §5 the counts break (empty when consistent)."""
    found: list[IdentityViolation] = []

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
    check("reports sought", c.reports_sought, "=", c.records_screened - c.records_excluded,
          "reports sought differ from records screened minus records excluded; document why "
          "(several reports per record, or records resolved without retrieval)",
          ("dbr_sought_reports", "records_screened", "records_excluded"), "note")
    check("not retrieved <= sought", c.reports_not_retrieved, "<=", c.reports_sought,
          "more reports not retrieved than sought", ("dbr_notretrieved_reports", "dbr_sought_reports"))
    # 4: ASSESS = SOUGHT - NR.
    check("reports assessed", c.reports_assessed, "=", c.reports_sought - c.reports_not_retrieved,
          "reports assessed must equal reports sought minus reports not retrieved",
          ("dbr_assessed", "dbr_sought_reports", "dbr_notretrieved_reports"))
    # 5: FTX = sum of reasons, and INCL_REPORTS_dbr = ASSESS - FTX cannot be negative.
    check("excluded <= assessed", c.reports_excluded_total, "<=", c.reports_assessed,
          "more reports excluded (all reasons) than assessed", ("dbr_excluded", "dbr_assessed"))
    incl_other = 0
    if (o := c.other) is not None:
        # 6: the other-methods column.
        check("other: sought <= identified", o.sought, "<=", o.identified_total,
              "more reports sought via other methods than records identified by them",
              ("other_sought_reports", *sorted({_other_box(k) for k in o.identified})))
        check("other: not retrieved <= sought", o.not_retrieved, "<=", o.sought,
              "more reports not retrieved than sought (other methods)",
              ("other_notretrieved_reports", "other_sought_reports"))
        check("other: reports assessed", o.assessed, "=", o.sought - o.not_retrieved,
              "reports assessed (other methods) must equal reports sought minus not retrieved",
              ("other_assessed", "other_sought_reports", "other_notretrieved_reports"))
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
    # 8: studies <= reports, and at least one study once any report is included.
    check("studies <= reports", c.studies_included, "<=", c.reports_included,
          "more studies included than reports of included studies", ("new_studies", "new_reports"))
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


def errors_only(violations: list[IdentityViolation]) -> list[IdentityViolation]:
    """The violations that stop a diagram from being drawn (severity "error")."""
    return [v for v in violations if v.severity == "error"]


# --- The PRISMA2020 R package / Shiny app data template ------------------------------------------
# Haddaway et al., Campbell Syst Rev 2022;18:e1230; template inst/extdata/PRISMA.csv of
# github.com/prisma-flowdiagram/PRISMA2020. Its columns, and for each box its `data` key, node and
# box ids and label; the tool reads `n`. Reasons (and, in the later template, per-database counts)
# go in one cell as "Reason1, n; Reason2, n".
PRISMA2020_CSV_COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")
_CSV_BOXES: tuple[tuple[str, str, str, str], ...] = (
    ("NA", "node4", "prevstud", "Previous studies"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review"),
    ("previous_reports", "NA", "box1", "Reports of studies included in previous version of review"),
    ("NA", "node6", "newstud", "Identification of new studies via databases and registers"),
    ("database_results", "node7", "box2", "Databases"),
    ("database_specific_results", "NA", "box2", "Specific Databases"),
    ("register_results", "NA", "box2", "Registers"),
    ("register_specific_results", "NA", "box2", "Specific Registers"),
    ("NA", "node16", "othstud", "Identification of new studies via other methods"),
    ("website_results", "node17", "box11", "Websites"),
    ("organisation_results", "NA", "box11", "Organisations"),
    ("citations_results", "NA", "box11", "Citation searching"),
    ("duplicates", "node8", "box3", "Duplicate records"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons"),
    ("records_screened", "node9", "box4", "Records screened"),
    ("records_excluded", "node10", "box5", "Records excluded"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility"),
    ("dbr_excluded", "node14", "box9", "Reports excluded"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility"),
    ("other_excluded", "node21", "box15", "Reports excluded"),
    ("new_studies", "node15", "box10", "New studies included in review"),
    ("new_reports", "NA", "box10", "Reports of new included studies"),
    ("total_studies", "node22", "box16", "Total studies included in review"),
    ("total_reports", "NA", "box16", "Reports of total included studies"),
    ("identification", "node1", "identification", "Identification"),
    ("screening", "node2", "screening", "Screening"),
    ("included", "node3", "included", "Included"),
)


def _cell_list(pairs: Mapping[str, int]) -> str:
    """ "Name1, n; Name2, n" as the template wants; "," and ";" inside a name would split it, so they
    become "/" (the JSON form keeps names unchanged)."""
    if not pairs:
        return "NA"
    clean = (name.replace(";", "/").replace(",", "/") for name in pairs)
    return "; ".join(f"{name}, {n}" for name, n in zip(clean, pairs.values(), strict=True))


def _csv_values(c: PrismaCounts) -> dict[str, str]:
    values: dict[str, int | str] = {
        "database_results": c.databases_total, "database_specific_results": _cell_list(c.databases),
        "register_results": c.registers_total, "register_specific_results": _cell_list(c.registers),
        "duplicates": c.duplicates_removed, "excluded_automatic": c.automation_ineligible,
        "excluded_other": c.removed_other_reasons, "records_screened": c.records_screened,
        "records_excluded": c.records_excluded, "dbr_sought_reports": c.reports_sought,
        "dbr_notretrieved_reports": c.reports_not_retrieved, "dbr_assessed": c.reports_assessed,
        "dbr_excluded": _cell_list(c.reports_excluded),
        "new_studies": c.studies_included, "new_reports": c.reports_included,
    }
    if (o := c.other) is not None:
        for name, n in o.identified.items():
            key = OTHER_SOURCE_KEYS.get(name.strip().lower())
            if key is None:
                raise ReviewkitError(
                    f"the PRISMA2020 CSV has no box for the other-methods source {name!r}",
                    hint="name it Websites, Organisations or Citation searching, or export JSON",
                )
            values[key] = int(values.get(key, 0)) + n  # "Organizations" joins "Organisations"
        values |= {
            "other_sought_reports": o.sought, "other_notretrieved_reports": o.not_retrieved,
            "other_assessed": o.assessed, "other_excluded": _cell_list(o.excluded),
        }
    if (p := c.previous) is not None:
        values |= {
            "previous_studies": p.studies, "previous_reports": p.reports,
            "total_studies": p.total_studies, "total_reports": p.total_reports,
        }
    return {key: str(v) for key, v in values.items()}


def to_prisma2020_csv_rows(counts: PrismaCounts) -> list[dict[str, str]]:
    """Rows of the PRISMA2020 R package / Shiny app data template, `n` filled from the counts.

    Boxes the diagram does not use (other methods in template A, previous studies in a new
    review) hold "NA", as the R package reads missing values.
    """
    values = _csv_values(counts)
    rows: list[dict[str, str]] = []
    for data, node, box, label in _CSV_BOXES:
        if counts.previous is None:
            # A new review's template has no "new" in its titles (prisma2020.md §2 and §3).
            label = label.replace("of new studies", "of studies").replace("New studies", "Studies")
            label = label.replace("of new included", "of included")
        n = "0" if data == "NA" or data in ("identification", "screening", "included") else "NA"
        rows.append({
            "data": data, "node": node, "box": box, "description": label, "boxtext": label,
            "tooltips": label, "url": "NA", "n": values.get(data, n),
        })
    return rows


def to_prisma2020_csv(counts: PrismaCounts) -> str:
    """The PRISMA2020 data template as CSV text, ready for the R package or the Shiny app."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PRISMA2020_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(to_prisma2020_csv_rows(counts))
    return buffer.getvalue()


# --- JSON ------------------------------------------------------------------------------------------
JSON_FORMAT = "reviewkit-prisma2020"
_JSON_INTS = {
    "duplicates": "duplicates_removed", "excluded_automatic": "automation_ineligible",
    "excluded_other": "removed_other_reasons", "records_screened": "records_screened",
    "records_excluded": "records_excluded", "dbr_sought_reports": "reports_sought",
    "dbr_notretrieved_reports": "reports_not_retrieved", "dbr_assessed": "reports_assessed",
    "new_studies": "studies_included", "new_reports": "reports_included",
}


def to_json_dict(counts: PrismaCounts) -> dict[str, Any]:
    """A JSON-ready dict with the PRISMA2020 keys plus the per-source and per-reason mappings."""
    c = counts
    out: dict[str, Any] = {
        "format": JSON_FORMAT, "version": 1,
        "databases": dict(c.databases), "registers": dict(c.registers),
        "database_results": c.databases_total, "register_results": c.registers_total,
    }
    out |= {key: getattr(c, attr) for key, attr in _JSON_INTS.items()}
    out["records_excluded_by_automation"] = c.records_excluded_by_automation
    out["dbr_excluded"] = dict(c.reports_excluded)
    out["other"] = None if c.other is None else {
        "identified": dict(c.other.identified), "sought": c.other.sought,
        "not_retrieved": c.other.not_retrieved, "assessed": c.other.assessed,
        "excluded": dict(c.other.excluded),
    }
    out["previous"] = None if c.previous is None else {
        "studies": c.previous.studies, "reports": c.previous.reports,
        "total_studies": c.previous.total_studies, "total_reports": c.previous.total_reports,
    }
    return out


def _bad(field_name: str, problem: str) -> ReviewkitError:
    return ReviewkitError(f"PRISMA counts, field {field_name!r}: {problem}",
                          hint="see to_json_dict() for the expected layout")


def _int(data: Mapping[str, Any], key: str, where: str = "") -> int:
    if key not in data:
        raise _bad(where + key, "missing")
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(where + key, f"{value!r} is not a whole number")
    return value


def _counts_map(data: Mapping[str, Any], key: str, where: str = "") -> dict[str, int]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise _bad(where + key, "must map names to counts")
    return {str(name): _int(value, name, f"{where}{key}.") for name in value}


def from_json_dict(data: Mapping[str, Any]) -> PrismaCounts:
    """Rebuild PrismaCounts from `to_json_dict` output; raises ReviewkitError naming a bad field."""
    if data.get("format", JSON_FORMAT) != JSON_FORMAT:
        raise _bad("format", f"{data.get('format')!r} is not {JSON_FORMAT!r}")
    if data.get("version", 1) != 1:
        raise _bad("version", f"{data.get('version')!r} is newer than this reviewkit reads (1)")
    databases, registers = _counts_map(data, "databases"), _counts_map(data, "registers")
    # The stated totals are redundant; a file whose totals disagree with its parts is refused
    # rather than silently trusting one of them (identity 1).
    for key, parts in (("database_results", databases), ("register_results", registers)):
        if key in data and _int(data, key) != sum(parts.values()):
            raise _bad(key, f"{data[key]} is not the sum of its sources ({sum(parts.values())})")
    other = previous = None
    if (o := data.get("other")) is not None:
        if not isinstance(o, Mapping):
            raise _bad("other", "must be an object or null")
        other = OtherMethods(
            identified=_counts_map(o, "identified", "other."), sought=_int(o, "sought", "other."),
            not_retrieved=_int(o, "not_retrieved", "other."), assessed=_int(o, "assessed", "other."),
            excluded=_counts_map(o, "excluded", "other."),
        )
    if (p := data.get("previous")) is not None:
        if not isinstance(p, Mapping):
            raise _bad("previous", "must be an object or null")
        previous = PreviousReview(*(_int(p, k, "previous.") for k in
                                    ("studies", "reports", "total_studies", "total_reports")))
    automation = data.get("records_excluded_by_automation")
    return PrismaCounts(
        databases=databases, registers=registers,
        reports_excluded=_counts_map(data, "dbr_excluded"),
        other=other, previous=previous,
        records_excluded_by_automation=None if automation is None else _int(
            data, "records_excluded_by_automation"),
        **{attr: _int(data, key) for key, attr in _JSON_INTS.items()},
    )

"""Provides the PRISMA counts in other tools' forms: the PRISMA2020 R package's CSV and reviewkit's JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from reviewkit.domain.prisma import OTHER_SOURCE_KEYS, OtherMethods, PreviousReview, PrismaCounts
from reviewkit.errors import ReviewkitError

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


def _cell_list(pairs: Mapping[str, int], empty: str = "NA") -> str:
    """ "Name1, n; Name2, n" as the template wants; "," and ";" inside a name would split it, so they
    become "/" (the JSON form keeps names unchanged). `empty` stands for no pairs at all."""
    if not pairs:
        return empty
    clean = (name.replace(";", "/").replace(",", "/") for name in pairs)
    return "; ".join(f"{name}, {n}" for name, n in zip(clean, pairs.values(), strict=True))


#: The template's fixed rows of the other-methods "Records identified from" box, in its order.
_OTHER_ROWS = ("website_results", "organisation_results", "citations_results")


def _other_rows(identified: Mapping[str, int]) -> tuple[dict[str, int], dict[str, str]]:
    """The other-methods sources on the template's rows: row key → n, and row key → label for rows
    that carry a source under its own name.

    The template has three fixed rows (Websites, Organisations, Citation searching) and no row for
    any other method; the R package and the Shiny app draw each row's `boxtext` as its label. A
    source of another name (a hand search, experts contacted) takes a row the review does not use,
    with its name as the row's text; should more such sources come than rows are free, the last row
    they reach carries the rest too, their names joined ("Hand search / Experts").
    """
    values: dict[str, int] = {}
    named: list[tuple[str, int]] = []
    for name, n in identified.items():
        key = OTHER_SOURCE_KEYS.get(name.strip().lower())
        if key is None:
            named.append((name, n))
        else:
            values[key] = values.get(key, 0) + n  # "Organizations" joins "Organisations"
    labels: dict[str, str] = {}
    free = [key for key in _OTHER_ROWS if key not in values]
    for i, (name, n) in enumerate(named):
        if free:
            key = free[min(i, len(free) - 1)]
        else:  # every row is taken: the last one carries the rest, named beside its own
            key = _OTHER_ROWS[-1]
            labels.setdefault(key, next(label for data, _, _, label in _CSV_BOXES if data == key))
        clean = name.replace(";", "/").replace(",", "/")
        labels[key] = f"{labels[key]} / {clean}" if key in labels else clean
        values[key] = values.get(key, 0) + n
    return values, labels


def _csv_values(c: PrismaCounts) -> dict[str, str]:
    values: dict[str, int | str] = {
        "database_results": c.databases_total, "database_specific_results": _cell_list(c.databases),
        "register_results": c.registers_total, "register_specific_results": _cell_list(c.registers),
        "duplicates": c.duplicates_removed, "excluded_automatic": c.automation_ineligible,
        "excluded_other": c.removed_other_reasons, "records_screened": c.records_screened,
        "records_excluded": c.records_excluded, "dbr_sought_reports": c.reports_sought,
        "dbr_notretrieved_reports": c.reports_not_retrieved, "dbr_assessed": c.reports_assessed,
        # No report excluded is a count, 0, as the diagram draws it: "NA" is a box the review does not use,
        # which the R package reads as missing (and older versions stop on).
        "dbr_excluded": _cell_list(c.reports_excluded, "0"),
        "new_studies": c.studies_included, "new_reports": c.reports_included,
    }
    if (o := c.other) is not None:
        values |= _other_rows(o.identified)[0]
        values |= {
            "other_sought_reports": o.sought, "other_notretrieved_reports": o.not_retrieved,
            "other_assessed": o.assessed, "other_excluded": _cell_list(o.excluded, "0"),
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
    review) hold "NA", as the R package reads missing values. An other-methods source the template
    has no row for takes a free row of that box under its own name (see _other_rows).
    """
    values = _csv_values(counts)
    own_names = _other_rows(counts.other.identified)[1] if counts.other is not None else {}
    rows: list[dict[str, str]] = []
    for data, node, box, label in _CSV_BOXES:
        label = own_names.get(data, label)
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
    """The PRISMA2020 data template as CSV text, ready for the R package or the Shiny app.

    Lines end in CRLF (RFC 4180, the csv module's default), as every other CSV reviewkit exports; R's read.csv
    and the Shiny app read either. The caller writes the text unchanged (newline=""), with no BOM.
    """
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=PRISMA2020_CSV_COLUMNS)
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
        "excluded": dict(c.other.excluded), "not_sought": dict(c.other.not_sought),
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
            not_sought=_counts_map(o, "not_sought", "other."),
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

"""Provides the analyses file `reviewkit export analyses` writes: JSON (everything) or CSV (a results table)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reviewkit.errors import ReviewkitError
from reviewkit.services.analyze_sensitivity import csv_cells

if TYPE_CHECKING:
    pass

#: Columns of the analyses CSV: what a results table in a paper shows, the settings that reproduce
#: each result (multi-arm handling, measure, method, model, tau² estimator, HKSJ and whether its ad hoc
#: max(1, q) variant was used, flavour, level),
#: Egger's test and trim-and-fill when planned, and why a planned analysis did not run. The prediction
#: interval's cells are empty where the analysis does not show it (PI_COLUMNS), which
#: show_prediction_interval says, so an empty cell reads as "not shown", not "could not be estimated".
RESULT_COLUMNS = ("analysis", "outcome", "timepoint", "multiarm", "measure", "method", "model",
                  "tau2_estimator", "hksj", "hksj_adhoc", "flavour", "level", "k", "effect", "effect_ci_lower", "effect_ci_upper",
                  "p", "Q", "Q_df", "Q_p", "I2", "tau2", "show_prediction_interval", "effect_pi_lower", "effect_pi_upper",
                  "egger_t", "egger_df", "egger_p", "trimfill_k0", "trimfill_effect", "trimfill_effect_ci_lower",
                  "trimfill_effect_ci_upper", "warnings", "plots", "skipped")


#: The prediction interval's columns: filled only where text and plots show it (show_prediction_interval:
#: the analysis's `prediction_interval`, else its flavour's), as a results table reports what the analysis
#: reports; the JSON keeps the numbers with that flag. Kept either way, so the file's shape is stable.
PI_COLUMNS = ("effect_pi_lower", "effect_pi_upper")


class _Written(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def write_results(outputs: Sequence[_Written], path: Path) -> int:
    """Write analysis results as JSON (everything) or CSV (one row per analysis run or skipped).

    Returns the number of entries written: every analysis, skipped ones included (each with its
    reason: in the CSV, in the `skipped` column).
    """
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ReviewkitError(f"cannot write '{path.suffix}' files", where=str(path), hint="use .json or .csv")
    rows = [o.to_dict() for o in outputs]
    if suffix == ".json":
        path.write_text(json.dumps(rows, indent=2, allow_nan=False), encoding="utf-8")
        return len(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(RESULT_COLUMNS)
        for row in rows:
            # One warning per line of the cell: warnings themselves hold "; " (a Handbook reference, a fix),
            # so joined with it one would read as two. Plot paths hold no "; ".
            cells = {**row, **csv_cells(row), "plots": "; ".join(row.get("plots", [])),
                     "warnings": "\n".join(row.get("warnings", []))}
            if not row.get("show_prediction_interval"):
                cells.update(dict.fromkeys(PI_COLUMNS))
            writer.writerow([_cell(cells.get(c)) for c in RESULT_COLUMNS])
    return len(rows)


def _cell(value: Any) -> Any:
    """Empty for none, yes/no for a flag (as reviewkit's other CSVs), else the value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value

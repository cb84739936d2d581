"""Provides Cohen's kappa with its 95% CI and percentage agreement for two screeners' paired decisions."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

Decision = Literal["include", "exclude", "maybe"]
DECISIONS: tuple[Decision, ...] = ("include", "exclude", "maybe")

#: Two-sided 95% normal quantile, Phi^-1(0.975).
_Z95 = 1.959963984540054
#: Below this, the variance's numerator is zero up to rounding (it is of the order of 1 otherwise).
_DEGENERATE = 1e-12


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement between two raters over the records both decided.

    kappa is Cohen's (1960) kappa; kappa_se is its large-sample standard error (Fleiss, Cohen &
    Everitt 1969, the non-null variance, which is the one for a confidence interval) and
    kappa_se_null the SE under kappa = 0 (for a test of chance agreement). The CI is
    kappa +/- 1.96 SE, clipped to [-1, 1]; when the SE is 0 (perfect agreement, or one rater put
    every record in one category) the CI is not estimable and its bounds are None, kappa still
    given. When kappa is undefined (both raters put every record
    in the same single category, so chance agreement is 1), kappa and its CI are None and `reason`
    says why; percent_agreement is still given. percent_agreement and expected_agreement are
    proportions in [0, 1] (multiply by 100 to print a percentage). table[i][j] counts records
    rater A put in categories[i] and rater B in categories[j].
    """

    kappa: float | None
    kappa_ci_lower: float | None
    kappa_ci_upper: float | None
    percent_agreement: float | None
    n: int
    table: tuple[tuple[int, ...], ...]
    categories: tuple[str, ...]
    collapse_maybe: bool
    kappa_se: float | None = None
    kappa_se_null: float | None = None
    expected_agreement: float | None = None
    reason: str = ""


def _collapse(decision: str, collapse_maybe: bool) -> str:
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(DECISIONS)}")
    # Title/abstract screening asks "does this record move forward?": a maybe moves forward to
    # full text, so by default it counts as an include.
    return "include" if collapse_maybe and decision == "maybe" else decision


def cohen_kappa(
    pairs: Iterable[tuple[str, str]], *, collapse_maybe: bool = True
) -> Agreement:
    """Return Cohen's kappa, its 95% CI and percentage agreement for paired decisions.

    `pairs` holds (rater A's decision, rater B's decision) per record, each "include", "exclude"
    or "maybe". With collapse_maybe (the default) "maybe" counts as "include"; otherwise it is a
    third category.
    """
    categories: tuple[str, ...] = ("include", "exclude") if collapse_maybe else DECISIONS
    position = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    counts = [[0] * k for _ in range(k)]
    for a, b in pairs:
        counts[position[_collapse(a, collapse_maybe)]][position[_collapse(b, collapse_maybe)]] += 1
    return kappa_from_table(counts, categories=categories, collapse_maybe=collapse_maybe)


def kappa_from_table(
    counts: Sequence[Sequence[int]], *, categories: Sequence[str] | None = None,
    collapse_maybe: bool = False,
) -> Agreement:
    """Return Cohen's kappa and its CI from a square table of counts (rows rater A, columns B)."""
    k = len(counts)
    if any(len(row) != k for row in counts):
        raise ValueError("the agreement table must be square")
    if any(c < 0 for row in counts for c in row):
        raise ValueError("the agreement table holds a negative count")
    cats = tuple(categories) if categories is not None else tuple(str(i) for i in range(k))
    table = tuple(tuple(int(c) for c in row) for row in counts)
    n = sum(sum(row) for row in table)
    base = Agreement(None, None, None, None, n, table, cats, collapse_maybe)
    if n == 0:
        return replace(base, reason="no record decided by both raters")
    # Agreement and kappa from the integer counts, divided once: in proportions, rounding made a
    # rater who chose one category every time come out at kappa -6.9e-17 (printed "-0.000") and
    # perfect agreement at 0.9999999999999998 or 1.0000000000000002 (past the bound of 1).
    row_n = [sum(row) for row in table]
    col_n = [sum(table[i][j] for i in range(k)) for j in range(k)]
    agree_n = sum(table[i][i] for i in range(k))
    chance_n = sum(row_n[i] * col_n[i] for i in range(k))  # n^2 times the chance agreement
    p_o, p_e = agree_n / n, chance_n / n**2
    if chance_n == n**2:
        # Chance agreement is 1 only when both raters used one and the same category for every
        # record: kappa is 0/0, so we say so instead of reporting NaN.
        only = cats[max(range(k), key=lambda i: row_n[i])]
        return replace(base, percent_agreement=p_o, expected_agreement=p_e,
                       reason=f"both raters chose {only!r} for every record")
    kappa = (n * agree_n - chance_n) / (n**2 - chance_n)
    p = [[c / n for c in row] for row in table]
    rows = [r / n for r in row_n]
    cols = [c / n for c in col_n]
    # Fleiss, Cohen & Everitt (1969), Psychol Bull 72:323-327, eq. 13: large-sample variance of
    # kappa when it is not zero; the same SE Fleiss, Levin & Paik (2003, ch. 18) give for CIs.
    a = sum(p[i][i] * (1.0 - (rows[i] + cols[i]) * (1.0 - kappa)) ** 2 for i in range(k))
    b = (1.0 - kappa) ** 2 * sum(
        p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(k) for j in range(k) if i != j
    )
    c = (kappa - p_e * (1.0 - kappa)) ** 2
    # a + b - c is of the order of 1 when the variance is not zero; below _DEGENERATE it is zero
    # up to rounding (perfect agreement, or a rater who put every record in one category).
    spread = a + b - c
    se = 0.0 if spread < _DEGENERATE else math.sqrt(spread / (n * (1.0 - p_e) ** 2))
    # The same paper's variance under the null hypothesis kappa = 0 (for a test, not a CI).
    var0 = (p_e + p_e**2 - sum(rows[i] * cols[i] * (rows[i] + cols[i]) for i in range(k)))
    se0 = math.sqrt(max(var0, 0.0) / (n * (1.0 - p_e) ** 2))
    if se == 0.0:
        # The large-sample interval would have zero width, claiming a certainty that so few (or so
        # one-sided) decisions cannot give: it is not estimable, and said so (None).
        lower = upper = None
    else:
        lower, upper = max(-1.0, kappa - _Z95 * se), min(1.0, kappa + _Z95 * se)
    return replace(base, kappa=kappa, kappa_ci_lower=lower, kappa_ci_upper=upper,
                   percent_agreement=p_o, kappa_se=se, kappa_se_null=se0, expected_agreement=p_e)

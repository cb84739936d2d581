"""Provides what RoB 2 and RoB 1 share: consensus comparison, Cohen's kappa and the plot-ready table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from reviewkit.errors import ReviewkitError


class Assessment(Protocol):
    """What compare_assessments needs from a RoB 2 or RoB 1 assessment."""

    def question_answers(self) -> Mapping[str, str]:
        """Signalling-question id → answer code (empty for RoB 1, which has no questions)."""
        ...

    def domain_values(self) -> Mapping[str, str | None]:
        """Domain key ("D1"…, "overall") → final judgement code, None when not judged."""
        ...


@dataclass(frozen=True)
class Disagreement:
    """One place where two reviewers' independent assessments differ (rob2.md §7: log them)."""

    level: Literal["question", "domain"]
    key: str
    a_value: str | None
    b_value: str | None


def _sort_key(key: str) -> tuple[int, ...]:
    # "1.10" after "1.9", "D2" after "D1", "overall" last.
    digits = "".join(c if c.isdigit() else " " for c in key).split()
    return tuple(int(d) for d in digits) if digits else (10**6,)


def compare_assessments(a: Assessment, b: Assessment) -> list[Disagreement]:
    """List every signalling-question answer and domain judgement on which a and b differ.

    Questions come first (in question order), then domains and the overall judgement;
    a value one reviewer gave and the other did not counts as a disagreement.
    """
    found: list[Disagreement] = []
    qa, qb = a.question_answers(), b.question_answers()
    for key in sorted(set(qa) | set(qb), key=_sort_key):
        if qa.get(key) != qb.get(key):
            found.append(Disagreement("question", key, qa.get(key), qb.get(key)))
    da, db = a.domain_values(), b.domain_values()
    for key in sorted(set(da) | set(db), key=_sort_key):
        if da.get(key) != db.get(key):
            found.append(Disagreement("domain", key, da.get(key), db.get(key)))
    return found


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa for two raters over paired categorical judgements."""

    kappa: float
    observed_agreement: float
    expected_agreement: float
    n: int


def cohens_kappa(a: Sequence[str], b: Sequence[str]) -> Kappa:
    """Cohen's kappa (Cohen 1960) on paired judgements, e.g. the domain judgements of two reviewers.

    κ = (p_o − p_e)/(1 − p_e); when p_e = 1 (both raters used one identical category) κ is 1
    if they agree fully, by the usual convention.
    """
    if len(a) != len(b):
        raise ReviewkitError(f"kappa needs paired judgements: got {len(a)} and {len(b)}")
    if not a:
        raise ReviewkitError("kappa needs at least one pair of judgements")
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    categories = set(a) | set(b)
    p_e = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in categories)
    kappa = 1.0 if p_e == 1.0 else (p_o - p_e) / (1.0 - p_e)
    return Kappa(kappa=kappa, observed_agreement=p_o, expected_agreement=p_e, n=n)


@dataclass(frozen=True)
class Level:
    """One judgement level as plots show it: its code, display label and robvis-style symbol."""

    code: str
    label: str
    symbol: str


@dataclass(frozen=True)
class RobRow:
    """One study (or result) in a RoB table: its judgements per domain and overall."""

    label: str
    values: tuple[str | None, ...]
    overall: str | None
    weight: float | None = None
    #: The result (outcome) the judgements are of: RoB is judged per result, so one study may have a
    #: row per outcome ("": assessed without one; None: not said, as in a table of one outcome).
    outcome: str | None = None


@dataclass(frozen=True)
class RobTable:
    """Plot-ready RoB judgements: what the traffic-light and summary plots take (design.md)."""

    tool: Literal["rob2", "rob1"]
    domain_keys: tuple[str, ...]
    domain_names: tuple[str, ...]
    levels: tuple[Level, ...]
    rows: tuple[RobRow, ...]
    missing: Level

    def level(self, code: str | None) -> Level:
        """The Level for a judgement code; None (not judged) is the 'missing' level."""
        if code is None:
            return self.missing
        for lvl in self.levels:
            if lvl.code == code:
                return lvl
        raise ReviewkitError(f"unknown {self.tool} judgement {code!r}")

    @property
    def weighted(self) -> bool:
        """True when every row carries a weight (the summary plot then weights by it)."""
        return bool(self.rows) and all(r.weight is not None for r in self.rows)

    def by_outcome(self) -> list[tuple[str | None, RobTable]]:
        """The table split per outcome, each part with its rows in order: one part when every row is of
        the same outcome (or none says), else one per outcome by name, "" (no outcome) last. A study
        assessed for two outcomes is a row in each part, so a part's shares are of its studies."""
        outcomes = list(dict.fromkeys(r.outcome for r in self.rows))
        if len(outcomes) <= 1:
            return [(outcomes[0] if outcomes else None, self)]
        outcomes.sort(key=lambda o: (not o, (o or "").casefold(), o or ""))
        return [(o, replace(self, rows=tuple(r for r in self.rows if r.outcome == o))) for o in outcomes]


def check_weights(labels: Sequence[str], weights: Mapping[str, float] | Sequence[float] | None
                  ) -> list[float | None]:
    """Line weights up with labels; a negative or missing weight is the user's error."""
    if weights is None:
        return [None] * len(labels)
    if isinstance(weights, Mapping):
        missing = [lab for lab in labels if lab not in weights]
        if missing:
            raise ReviewkitError(f"no weight given for {', '.join(missing)}")
        values = [float(weights[lab]) for lab in labels]
    else:
        if len(weights) != len(labels):
            raise ReviewkitError(f"{len(weights)} weights for {len(labels)} studies")
        values = [float(w) for w in weights]
    bad = [lab for lab, w in zip(labels, values, strict=True) if not w >= 0]
    if bad:
        raise ReviewkitError(f"weights must be ≥ 0: {', '.join(bad)}")
    return list(values)


@dataclass(frozen=True)
class Decision:
    """A proposed judgement and the assessor's final one (rob2.md §7: store both).

    `overridden` is True when final differs from proposed; a justification is then required.
    """

    key: str
    proposed: str | None
    final: str | None
    overridden: bool
    justification: str = ""


def decide(key: str, proposed: str | None, final: str | None = None,
           justification: str = "") -> Decision:
    """Accept the proposal, or override it; an override without a written reason is refused."""
    if final is None or final == proposed:
        return Decision(key, proposed, proposed, False, justification.strip())
    if not justification.strip():
        raise ReviewkitError(
            f"{key}: overriding the proposed judgement ({proposed or 'incomplete'}) with "
            f"{final} needs a written justification")
    return Decision(key, proposed, final, True, justification.strip())


def judgement_shares(table: RobTable, weighted: bool = True) -> dict[str, dict[str, float]]:
    """Percent of studies (or of total weight, when weighted and every row has one) per level.

    Keys are the domain keys plus "overall"; each inner dict maps a level code (and the
    missing level, when any row lacks a judgement) to a percentage summing to 100.
    """
    use_weights = weighted and table.weighted
    columns = [*table.domain_keys, "overall"]
    shares: dict[str, dict[str, float]] = {}
    for i, key in enumerate(columns):
        totals: dict[str, float] = {lvl.code: 0.0 for lvl in table.levels}
        for row in table.rows:
            value = row.overall if key == "overall" else row.values[i]
            code = table.level(value).code
            totals[code] = totals.get(code, 0.0) + ((row.weight or 0.0) if use_weights else 1.0)
        whole = sum(totals.values())
        shares[key] = {c: (100.0 * v / whole if whole else 0.0) for c, v in totals.items()}
    return shares

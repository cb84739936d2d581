"""Provides the original Cochrane risk-of-bias tool (RoB 1, Handbook 5.1 ch. 8): domains and summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from reviewkit.domain.rob_common import Level, RobRow, RobTable, check_weights, decide
from reviewkit.errors import ReviewkitError


class Rob1Judgement(StrEnum):
    """RoB 1 judgement levels (Handbook 5.1 Table 8.5.a; rob2.md §8)."""

    LOW = "low"
    HIGH = "high"
    UNCLEAR = "unclear"

    @property
    def label(self) -> str:
        """Display text: "Low risk", "High risk", "Unclear risk"."""
        return f"{self.value.capitalize()} risk"


class Rob1Domain(StrEnum):
    """The seven RoB 1 domains, keyed D1…D7 as in robvis."""

    D1 = "D1"
    D2 = "D2"
    D3 = "D3"
    D4 = "D4"
    D5 = "D5"
    D6 = "D6"
    D7 = "D7"

    @property
    def full_name(self) -> str:
        """The domain name with its bias type, as Table 8.5.a words it."""
        return ROB1_DOMAIN_NAMES[self]


ROB1_DOMAIN_NAMES: dict[Rob1Domain, str] = {
    Rob1Domain.D1: "Random sequence generation (selection bias)",
    Rob1Domain.D2: "Allocation concealment (selection bias)",
    Rob1Domain.D3: "Blinding of participants and personnel (performance bias)",
    Rob1Domain.D4: "Blinding of outcome assessment (detection bias)",
    Rob1Domain.D5: "Incomplete outcome data (attrition bias)",
    Rob1Domain.D6: "Selective reporting (reporting bias)",
    Rob1Domain.D7: "Other bias",
}

#: Domains judged per outcome rather than per study (Table 8.5.a; rob2.md §8): blinding of participants
#: and personnel, blinding of outcome assessment, incomplete outcome data.
PER_OUTCOME: frozenset[Rob1Domain] = frozenset({Rob1Domain.D3, Rob1Domain.D4, Rob1Domain.D5})
#: The other domains are judged once per study: one judgement holds for every outcome of the study.
PER_STUDY: tuple[Rob1Domain, ...] = tuple(d for d in Rob1Domain if d not in PER_OUTCOME)


@dataclass(frozen=True)
class Rob1Entry:
    """One domain's judgement with its "Support for judgement" text."""

    judgement: Rob1Judgement
    support: str = ""


def summarise(judgements: Mapping[Rob1Domain | str, Rob1Judgement | str | None],
              key_domains: Iterable[Rob1Domain | str] | None = None) -> Rob1Judgement | None:
    """The summary risk of bias for a study and outcome (Handbook 5.1 Table 8.7.a).

    High if any key domain is high; else unclear if any key domain is unclear; low if all key
    domains are low. Which domains are "key" is the review's choice; the default, all seven, is
    the commonly used reading. None when a key domain is not yet judged.
    """
    keys = [Rob1Domain(k) for k in (key_domains or list(Rob1Domain))]
    if not keys:
        raise ReviewkitError("RoB 1 summary needs at least one key domain")
    given = {Rob1Domain(k): v for k, v in judgements.items()}
    values = [given.get(k) for k in keys]
    if any(v is None for v in values):
        return None
    levels = [Rob1Judgement(v) for v in values if v is not None]
    if Rob1Judgement.HIGH in levels:
        return Rob1Judgement.HIGH
    if Rob1Judgement.UNCLEAR in levels:
        return Rob1Judgement.UNCLEAR
    return Rob1Judgement.LOW


@dataclass(frozen=True)
class Rob1Assessment:
    """A RoB 1 assessment of one study (and outcome, for the per-outcome domains)."""

    study: str
    outcome: str
    entries: Mapping[Rob1Domain, Rob1Entry]
    key_domains: tuple[Rob1Domain, ...]
    proposed: Rob1Judgement | None
    summary: Rob1Judgement | None
    overridden: bool = False
    justification: str = ""

    def question_answers(self) -> Mapping[str, str]:
        """RoB 1 has no signalling questions."""
        return {}

    def domain_values(self) -> Mapping[str, str | None]:
        """Judgement codes by domain key, plus "overall" (the summary)."""
        values: dict[str, str | None] = {
            d.value: (self.entries[d].judgement.value if d in self.entries else None)
            for d in Rob1Domain}
        values["overall"] = self.summary.value if self.summary else None
        return values


def parse_judgement(raw: str) -> Rob1Judgement:
    """Read "low", "high", "unclear" (or "Low risk", "?") into a judgement."""
    text = raw.strip().lower().removesuffix(" risk").replace("?", "unclear")
    try:
        return Rob1Judgement(text)
    except ValueError:
        raise ReviewkitError(f"unknown RoB 1 judgement {raw!r}",
                             hint="use low, high or unclear") from None


def assess_rob1(entries: Mapping[Rob1Domain | str, Rob1Entry | Rob1Judgement | str], *,
                study: str = "", outcome: str = "",
                key_domains: Iterable[Rob1Domain | str] | None = None,
                summary_override: tuple[Rob1Judgement | str, str] | None = None,
                ) -> Rob1Assessment:
    """Build a RoB 1 assessment; unknown domains or levels raise ReviewkitError naming them."""
    clean: dict[Rob1Domain, Rob1Entry] = {}
    bad: list[str] = []
    for key, value in entries.items():
        if str(key) not in Rob1Domain.__members__:
            bad.append(f"unknown domain {key!r}")
            continue
        if isinstance(value, Rob1Entry):
            clean[Rob1Domain(key)] = value
            continue
        try:
            clean[Rob1Domain(key)] = Rob1Entry(parse_judgement(str(value)))
        except ReviewkitError:
            bad.append(f"{key}={value} (allowed: low/high/unclear)")
    if bad:
        raise ReviewkitError("invalid RoB 1 judgements: " + "; ".join(bad))
    keys = tuple(Rob1Domain(k) for k in (key_domains or list(Rob1Domain)))
    proposed = summarise({d: e.judgement for d, e in clean.items()}, keys)
    final, why = summary_override or (None, "")
    dec = decide("RoB 1 summary", proposed.value if proposed else None,
                 parse_judgement(str(final)).value if final else None, why)
    return Rob1Assessment(study, outcome, clean, keys, proposed,
                          Rob1Judgement(dec.final) if dec.final else None, dec.overridden,
                          dec.justification if dec.overridden else "")


ROB1_LEVELS = (Level("low", "Low risk", "+"), Level("unclear", "Unclear risk", "?"),
               Level("high", "High risk", "×"))
#: A domain not judged: "?" is taken by "unclear" in RoB 1.
ROB1_MISSING = Level("no_information", "No information", "–")


def rob1_table(assessments: Sequence[Rob1Assessment],
               weights: Mapping[str, float] | Sequence[float] | None = None) -> RobTable:
    """RoB 1 judgements of several studies as a plot-ready table (the summary as "Overall")."""
    labels = [a.study + (f" ({a.outcome})" if a.outcome else "") for a in assessments]
    rows = tuple(
        RobRow(label, tuple(a.domain_values()[d.value] for d in Rob1Domain),
               a.summary.value if a.summary else None, w)
        for label, a, w in zip(labels, assessments, check_weights(labels, weights), strict=True))
    return RobTable("rob1", tuple(d.value for d in Rob1Domain),
                    tuple(d.full_name for d in Rob1Domain), ROB1_LEVELS, rows, ROB1_MISSING)

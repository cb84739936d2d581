"""Provides the RoB 2 vocabulary (answers, judgements, domains, variants) and its signalling questions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Answer(StrEnum):
    """Signalling-question answers (rob2.md §1)."""

    Y = "Y"
    PY = "PY"
    PN = "PN"
    N = "N"
    NI = "NI"
    NA = "NA"


class Judgement(StrEnum):
    """Domain and overall judgements (rob2.md §1)."""

    LOW = "low"
    SOME_CONCERNS = "some_concerns"
    HIGH = "high"

    @property
    def label(self) -> str:
        """Display text, as the RoB 2 tool prints it."""
        return {"low": "Low risk", "some_concerns": "Some concerns", "high": "High risk"}[self.value]

    @property
    def short(self) -> str:
        """Plain lower-case words, as the CLI prints them: "low", "some concerns", "high"."""
        return self.value.replace("_", " ")


class Direction(StrEnum):
    """Optional predicted direction of bias per domain; it does not feed the algorithm (rob2.md §1)."""

    NA = "NA"
    FAVOURS_EXPERIMENTAL = "favours_experimental"
    FAVOURS_COMPARATOR = "favours_comparator"
    TOWARDS_NULL = "towards_null"
    AWAY_FROM_NULL = "away_from_null"
    UNPREDICTABLE = "unpredictable"


class Variant(StrEnum):
    """Effect of interest, which picks the domain 2 variant (rob2.md §3)."""

    ASSIGNMENT = "assignment"
    ADHERENCE = "adherence"


class Domain(StrEnum):
    """The five RoB 2 domains."""

    D1 = "D1"
    D2 = "D2"
    D3 = "D3"
    D4 = "D4"
    D5 = "D5"

    @property
    def full_name(self) -> str:
        """The domain's official name."""
        return DOMAIN_NAMES[self]


DOMAIN_NAMES: dict[Domain, str] = {
    Domain.D1: "Bias arising from the randomization process",
    Domain.D2: "Bias due to deviations from intended interventions",
    Domain.D3: "Bias due to missing outcome data",
    Domain.D4: "Bias in measurement of the outcome",
    Domain.D5: "Bias in selection of the reported result",
}

YES = frozenset({Answer.Y, Answer.PY})
NO = frozenset({Answer.N, Answer.PN})
YES_NI = YES | {Answer.NI}
NO_NI = NO | {Answer.NI}
_BASIC = (Answer.Y, Answer.PY, Answer.PN, Answer.N, Answer.NI)
_COND = (Answer.NA, *_BASIC)
#: 3.2 alone offers no NI (rob2.md §1, the official answer options).
_NO_NI_COND = (Answer.NA, Answer.Y, Answer.PY, Answer.PN, Answer.N)

Answers = Mapping[str, Answer | None]
#: Judgements by domain, keyed by Domain or by its code ("D1").
DomainJudgements = Mapping[Domain, Judgement | None] | Mapping[str, Judgement | None]
Condition = Callable[[Answers], bool]


def _always(_: Answers) -> bool:
    return True


def _any_in(qids: tuple[str, ...], allowed: frozenset[Answer]) -> Condition:
    return lambda a: any(a.get(q) in allowed for q in qids)


def _all_in(qids: tuple[str, ...], allowed: frozenset[Answer]) -> Condition:
    return lambda a: all(a.get(q) in allowed for q in qids)


@dataclass(frozen=True)
class Question:
    """One signalling question: id ("1.1"), official wording, allowed answers and when it applies.

    `if_applicable` marks the adherence-variant questions the assessor may answer NA even when
    asked (rob2.md §3b); elsewhere NA means only "the condition was not met".
    """

    id: str
    domain: Domain
    text: str
    answers: tuple[Answer, ...]
    condition: str = "always"
    if_applicable: bool = False
    applies: Condition = field(default=_always, compare=False, repr=False)


def _q(qid: str, text: str, answers: tuple[Answer, ...] = _BASIC, condition: str = "always",
       applies: Condition = _always, if_applicable: bool = False) -> Question:
    return Question(qid, Domain(f"D{qid[0]}"), text, answers, condition, if_applicable, applies)


# Wording: the official RoB 2 cribsheet (Higgins et al., 22 August 2019); conditions: rob2.md §2–§6.
_D1 = (
    _q("1.1", "Was the allocation sequence random?"),
    _q("1.2", "Was the allocation sequence concealed until participants were enrolled and "
              "assigned to interventions?"),
    _q("1.3", "Did baseline differences between intervention groups suggest a problem with the "
              "randomization process?"),
)
_AWARE_21 = _q("2.1", "Were participants aware of their assigned intervention during the trial?")
_AWARE_22 = _q("2.2", "Were carers and people delivering the interventions aware of participants' "
                      "assigned intervention during the trial?")
_EITHER_AWARE = _any_in(("2.1", "2.2"), YES_NI)
_D2_ASSIGNMENT = (
    _AWARE_21, _AWARE_22,
    _q("2.3", "Were there deviations from the intended intervention that arose because of the "
              "trial context?", _COND, "If Y/PY/NI to 2.1 or 2.2", _EITHER_AWARE),
    _q("2.4", "Were these deviations likely to have affected the outcome?", _COND,
       "If Y/PY to 2.3", _all_in(("2.3",), YES)),
    _q("2.5", "Were these deviations from intended intervention balanced between groups?", _COND,
       "If Y/PY/NI to 2.4", _all_in(("2.4",), YES_NI)),
    _q("2.6", "Was an appropriate analysis used to estimate the effect of assignment to "
              "intervention?"),
    _q("2.7", "Was there potential for a substantial impact (on the result) of the failure to "
              "analyse participants in the group to which they were randomized?", _COND,
       "If N/PN/NI to 2.6", _all_in(("2.6",), NO_NI)),
)
_D2_ADHERENCE = (
    _AWARE_21, _AWARE_22,
    _q("2.3", "[If applicable:] Were important non-protocol interventions balanced across "
              "intervention groups?", _COND, "If Y/PY/NI to 2.1 or 2.2", _EITHER_AWARE, True),
    _q("2.4", "[If applicable:] Were there failures in implementing the intervention that could "
              "have affected the outcome?", _COND, "always (NA if not applicable)",
       if_applicable=True),
    _q("2.5", "[If applicable:] Was there non-adherence to the assigned intervention regimen that "
              "could have affected participants' outcomes?", _COND,
       "always (NA if not applicable)", if_applicable=True),
    _q("2.6", "Was an appropriate analysis used to estimate the effect of adhering to the "
              "intervention?", _COND, "If N/PN/NI to 2.3, or Y/PY/NI to 2.4 or 2.5",
       lambda a: a.get("2.3") in NO_NI or a.get("2.4") in YES_NI or a.get("2.5") in YES_NI),
)
_D3 = (
    _q("3.1", "Were data for this outcome available for all, or nearly all, participants "
              "randomized?"),
    _q("3.2", "Is there evidence that the result was not biased by missing outcome data?",
       _NO_NI_COND, "If N/PN/NI to 3.1", _all_in(("3.1",), NO_NI)),
    _q("3.3", "Could missingness in the outcome depend on its true value?", _COND,
       "If N/PN to 3.2", _all_in(("3.2",), NO)),
    _q("3.4", "Is it likely that missingness in the outcome depended on its true value?", _COND,
       "If Y/PY/NI to 3.3", _all_in(("3.3",), YES_NI)),
)
_D4 = (
    _q("4.1", "Was the method of measuring the outcome inappropriate?"),
    _q("4.2", "Could measurement or ascertainment of the outcome have differed between "
              "intervention groups?"),
    _q("4.3", "Were outcome assessors aware of the intervention received by study participants?",
       _COND, "If N/PN/NI to 4.1 and 4.2", _all_in(("4.1", "4.2"), NO_NI)),
    _q("4.4", "Could assessment of the outcome have been influenced by knowledge of intervention "
              "received?", _COND, "If Y/PY/NI to 4.3", _all_in(("4.3",), YES_NI)),
    _q("4.5", "Is it likely that assessment of the outcome was influenced by knowledge of "
              "intervention received?", _COND, "If Y/PY/NI to 4.4", _all_in(("4.4",), YES_NI)),
)
_D5 = (
    _q("5.1", "Were the data that produced this result analysed in accordance with a "
              "pre-specified analysis plan that was finalized before unblinded outcome data were "
              "available for analysis?"),
    _q("5.2", "Is the numerical result being assessed likely to have been selected, on the basis "
              "of the results, from multiple eligible outcome measurements (e.g. scales, "
              "definitions, time points) within the outcome domain?"),
    _q("5.3", "Is the numerical result being assessed likely to have been selected, on the basis "
              "of the results, from multiple eligible analyses of the data?"),
)


def questions(domain: Domain | str, variant: Variant | str = Variant.ASSIGNMENT) -> list[Question]:
    """All signalling questions of a domain, in order (domain 2 depends on the variant)."""
    domain, variant = Domain(domain), Variant(variant)
    if domain is Domain.D2:
        return list(_D2_ASSIGNMENT if variant is Variant.ASSIGNMENT else _D2_ADHERENCE)
    return list({Domain.D1: _D1, Domain.D3: _D3, Domain.D4: _D4, Domain.D5: _D5}[domain])

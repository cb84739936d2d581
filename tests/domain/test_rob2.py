"""Tests for the RoB 2 questions and algorithms against an independent encoding of the decision tables."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from reviewkit.domain import rob2
from reviewkit.domain.rob2 import Judgement
from reviewkit.errors import ReviewkitError

# --- The independent encoding: answer sets, when each question is asked, and decision tables ----
# Written from the RoB 2 guidance tables (Sterne 2019; guidance of 22 Aug 2019), not from the code.
Y = {"Y", "PY"}
N = {"N", "PN"}
NI = {"NI"}
NA = {"NA"}
YNI = Y | NI
NNI = N | NI
FIVE = ("Y", "PY", "PN", "N", "NI")
SIX = (*FIVE, "NA")
L, S, H = "low", "some_concerns", "high"

Spec = list[tuple[str, tuple[str, ...], Callable[[dict[str, str]], bool]]]


def always(_: dict[str, str]) -> bool:
    """Asked whatever came before."""
    return True


SPECS: dict[tuple[str, str], Spec] = {
    ("D1", "assignment"): [("1.1", FIVE, always), ("1.2", FIVE, always), ("1.3", FIVE, always)],
    ("D2", "assignment"): [
        ("2.1", FIVE, always), ("2.2", FIVE, always),
        ("2.3", FIVE, lambda a: a["2.1"] in YNI or a["2.2"] in YNI),
        ("2.4", FIVE, lambda a: a["2.3"] in Y),
        ("2.5", FIVE, lambda a: a["2.4"] in YNI),
        ("2.6", FIVE, always),
        ("2.7", FIVE, lambda a: a["2.6"] in NNI),
    ],
    ("D2", "adherence"): [
        ("2.1", FIVE, always), ("2.2", FIVE, always),
        ("2.3", SIX, lambda a: a["2.1"] in YNI or a["2.2"] in YNI),
        ("2.4", SIX, always), ("2.5", SIX, always),
        ("2.6", FIVE, lambda a: a["2.3"] in NNI or a["2.4"] in YNI or a["2.5"] in YNI),
    ],
    ("D3", "assignment"): [
        ("3.1", FIVE, always),
        ("3.2", ("Y", "PY", "PN", "N"), lambda a: a["3.1"] in NNI),
        ("3.3", FIVE, lambda a: a["3.2"] in N),
        ("3.4", FIVE, lambda a: a["3.3"] in YNI),
    ],
    ("D4", "assignment"): [
        ("4.1", FIVE, always), ("4.2", FIVE, always),
        ("4.3", FIVE, lambda a: a["4.1"] in NNI and a["4.2"] in NNI),
        ("4.4", FIVE, lambda a: a["4.3"] in YNI),
        ("4.5", FIVE, lambda a: a["4.4"] in YNI),
    ],
    ("D5", "assignment"): [("5.1", FIVE, always), ("5.2", FIVE, always), ("5.3", FIVE, always)],
}

Row = tuple[dict[str, set[str]], str]

D1_TABLE: list[Row] = [
    ({"1.2": N}, H),
    ({"1.2": NI, "1.3": Y}, H),
    ({"1.2": NI, "1.3": NNI}, S),
    ({"1.2": Y, "1.1": N}, S),
    ({"1.2": Y, "1.1": YNI, "1.3": Y}, S),
    ({"1.2": Y, "1.1": YNI, "1.3": NNI}, L),
]

_AWARE = [{"2.1": YNI}, {"2.1": N, "2.2": YNI}]
D2_PART1: list[Row] = [({"2.1": N, "2.2": N, "2.3": NA, "2.4": NA, "2.5": NA}, L)]
for _aw in _AWARE:
    D2_PART1 += [
        ({**_aw, "2.3": N, "2.4": NA, "2.5": NA}, L),
        ({**_aw, "2.3": NI, "2.4": NA, "2.5": NA}, S),
        ({**_aw, "2.3": Y, "2.4": N, "2.5": NA}, S),
        ({**_aw, "2.3": Y, "2.4": YNI, "2.5": Y}, S),
        ({**_aw, "2.3": Y, "2.4": YNI, "2.5": NNI}, H),
    ]
D2_PART2: list[Row] = [({"2.6": Y, "2.7": NA}, L), ({"2.6": NNI, "2.7": N}, S),
                       ({"2.6": NNI, "2.7": YNI}, H)]
D2_COMBINE = {(L, L): L, (L, S): S, (S, L): S, (S, S): S,
              (L, H): H, (S, H): H, (H, L): H, (H, S): H, (H, H): H}

D2_ADHERENCE: list[Row] = []
_FINE = {"2.4": N | NA, "2.5": N | NA, "2.6": NA}
_PROBLEM_245 = [{"2.4": YNI}, {"2.4": N | NA, "2.5": YNI}]
for _base in [{"2.1": N, "2.2": N, "2.3": NA},
              {"2.1": YNI, "2.3": Y | NA}, {"2.1": N, "2.2": YNI, "2.3": Y | NA}]:
    D2_ADHERENCE.append(({**_base, **_FINE}, L))
    for _p in _PROBLEM_245:
        D2_ADHERENCE += [({**_base, **_p, "2.6": Y}, S), ({**_base, **_p, "2.6": NNI}, H)]
for _bad in [{"2.1": YNI, "2.3": NNI}, {"2.1": N, "2.2": YNI, "2.3": NNI}]:
    D2_ADHERENCE += [({**_bad, "2.6": Y}, S), ({**_bad, "2.6": NNI}, H)]

D3_TABLE: list[Row] = [
    ({"3.1": Y, "3.2": NA, "3.3": NA, "3.4": NA}, L),
    ({"3.1": NNI, "3.2": Y, "3.3": NA, "3.4": NA}, L),
    ({"3.1": NNI, "3.2": N, "3.3": N, "3.4": NA}, L),
    ({"3.1": NNI, "3.2": N, "3.3": YNI, "3.4": N}, S),
    ({"3.1": NNI, "3.2": N, "3.3": YNI, "3.4": YNI}, H),
]

# rob2.md §5 "Full table", row for row.
D4_TABLE: list[Row] = [
    ({"4.1": NNI, "4.2": N, "4.3": N, "4.4": NA, "4.5": NA}, L),
    ({"4.1": NNI, "4.2": N, "4.3": YNI, "4.4": N, "4.5": NA}, L),
    ({"4.1": NNI, "4.2": N, "4.3": YNI, "4.4": YNI, "4.5": N}, S),
    ({"4.1": NNI, "4.2": N, "4.3": YNI, "4.4": YNI, "4.5": YNI}, H),
    ({"4.1": NNI, "4.2": NI, "4.3": N, "4.4": NA, "4.5": NA}, S),
    ({"4.1": NNI, "4.2": NI, "4.3": YNI, "4.4": N, "4.5": NA}, S),
    ({"4.1": NNI, "4.2": NI, "4.3": YNI, "4.4": YNI, "4.5": N}, S),
    ({"4.1": NNI, "4.2": NI, "4.3": YNI, "4.4": YNI, "4.5": YNI}, H),
    ({"4.1": Y, "4.3": NA, "4.4": NA, "4.5": NA}, H),
    ({"4.2": Y, "4.3": NA, "4.4": NA, "4.5": NA}, H),
]

D5_TABLE: list[Row] = [
    ({"5.2": Y}, H), ({"5.3": Y}, H),
    ({"5.1": Y, "5.2": N, "5.3": N}, L),
    ({"5.1": NNI, "5.2": N, "5.3": N}, S),
    ({"5.2": NI, "5.3": NNI}, S),
    ({"5.2": N, "5.3": NI}, S),
]


def combos(spec: Spec) -> Iterator[dict[str, str]]:
    """Every answer combination of the questions asked; a question not asked is NA."""
    def walk(i: int, acc: dict[str, str]) -> Iterator[dict[str, str]]:
        if i == len(spec):
            yield dict(acc)
            return
        qid, options, asked = spec[i]
        for ans in (options if asked(acc) else ("NA",)):
            acc[qid] = ans
            yield from walk(i + 1, acc)
        del acc[qid]
    yield from walk(0, {})


def lookup(table: list[Row], answers: dict[str, str]) -> str:
    """The table's verdict: at least one row must match, and all matching rows must agree."""
    verdicts = {res for pattern, res in table
                if all(answers[q] in allowed for q, allowed in pattern.items())}
    assert len(verdicts) == 1, f"table gives {verdicts or 'nothing'} for {answers}"
    return verdicts.pop()


def expected(domain: str, variant: str, answers: dict[str, str]) -> str:
    """The independent encoding's judgement for a full set of answers."""
    if domain == "D2" and variant == "assignment":
        return D2_COMBINE[(lookup(D2_PART1, answers), lookup(D2_PART2, answers))]
    table = {"D1": D1_TABLE, "D2": D2_ADHERENCE, "D3": D3_TABLE, "D4": D4_TABLE,
             "D5": D5_TABLE}[domain]
    return lookup(table, answers)


CASES = [pytest.param(d, v, id=f"{d}-{v}") for d, v in SPECS]


@pytest.mark.parametrize(("domain", "variant"), CASES)
def test_every_answer_combination_matches_the_decision_table(domain: str, variant: str) -> None:
    """Each full combination of applicable answers gets the judgement the guidance table gives."""
    seen = set()
    for answers in combos(SPECS[(domain, variant)]):
        prop = rob2.propose_domain(domain, answers, variant)
        assert prop.proposed is not None, answers
        assert prop.proposed.value == expected(domain, variant, answers), answers
        assert prop.unanswered == ()
        seen.add(prop.proposed.value)
    assert seen == {L, S, H}


@pytest.mark.parametrize(("domain", "variant"), CASES)
def test_applicable_questions_follow_the_conditions(domain: str, variant: str) -> None:
    """applicable_questions lists exactly the questions the guidance asks for each combination."""
    spec = SPECS[(domain, variant)]
    for answers in combos(spec):
        asked = [qid for qid, _, when in spec if when(answers)]
        shown = rob2.applicable_questions(domain, variant, {k: rob2.Answer(v) for k, v in answers.items()})
        assert [q.id for q in shown] == asked, answers


@pytest.mark.parametrize(("domain", "variant"), CASES)
def test_a_missing_answer_is_never_guessed(domain: str, variant: str) -> None:
    """With one applicable answer removed, the domain is incomplete or gives the full answer's verdict."""
    spec = SPECS[(domain, variant)]
    for answers in combos(spec):
        full = expected(domain, variant, answers)
        for qid, _, when in spec:
            if not when(answers):
                continue
            partial = {k: v for k, v in answers.items() if k != qid}
            prop = rob2.propose_domain(domain, partial, variant)
            assert prop.proposed is None or prop.proposed.value == full, (answers, qid)
            assert qid in prop.unanswered


@pytest.mark.parametrize(("domain", "variant"), CASES)
def test_answers_to_questions_not_asked_are_ignored(domain: str, variant: str) -> None:
    """A stray answer to a question whose condition fails changes nothing and is reported."""
    spec = SPECS[(domain, variant)]
    for answers in combos(spec):
        stray = {qid: "Y" for qid, _, when in spec if not when(answers)}
        prop = rob2.propose_domain(domain, {**answers, **stray}, variant)
        assert prop.proposed is not None
        assert prop.proposed.value == expected(domain, variant, answers)
        assert set(prop.ignored) == set(stray)


def test_missing_needed_answer_makes_domain_incomplete() -> None:
    """Without 1.2 domain 1 cannot be decided; the unanswered applicable questions are listed."""
    prop = rob2.propose_domain("D1", {"1.1": "Y"})
    assert prop.proposed is None and prop.incomplete
    assert prop.unanswered == ("1.2", "1.3")


def test_decided_domain_still_lists_unanswered_questions() -> None:
    """4.1 = Y decides High whatever 4.2 says, but 4.2 is still reported as unanswered."""
    prop = rob2.propose_domain("D4", {"4.1": "Y"})
    assert prop.proposed is Judgement.HIGH
    assert prop.unanswered == ("4.2",)


def test_overall_rule_over_every_combination_of_domain_judgements() -> None:
    """All 3^5 domain combinations: Low iff all Low, High iff any High, escalation offered on ≥2 concerns."""
    levels = list(Judgement)
    for combo in itertools.product(levels, repeat=5):
        judged = dict(zip(rob2.Domain, combo, strict=True))
        highs = sum(j is Judgement.HIGH for j in combo)
        concerns = sum(j is Judgement.SOME_CONCERNS for j in combo)
        want = H if highs else (L if concerns == 0 else S)
        dec = rob2.decide_overall(judged)
        assert dec.proposed is not None and dec.proposed.value == want
        assert dec.final is dec.proposed
        assert dec.escalation_required == (highs == 0 and concerns >= 2)
        if dec.escalation_required:
            up = rob2.decide_overall(judged, escalate=True, reason="three weak domains together")
            assert up.final is Judgement.HIGH and up.escalated and up.proposed.value == S
            down = rob2.decide_overall(judged, escalate=False)
            assert down.final is Judgement.SOME_CONCERNS and not down.escalated
        else:
            with pytest.raises(ReviewkitError):
                rob2.decide_overall(judged, escalate=True, reason="x")


def test_escalation_needs_a_reason() -> None:
    """Escalating two Some concerns to High without a written reason is refused."""
    judged = {"D1": S, "D2": S, "D3": L, "D4": L, "D5": L}
    with pytest.raises(ReviewkitError, match="reason"):
        rob2.decide_overall({k: Judgement(v) for k, v in judged.items()}, escalate=True, reason=" ")


def test_overall_incomplete_when_a_domain_is_unjudged() -> None:
    """One unjudged domain leaves the overall judgement undecided."""
    judged = {d: Judgement.LOW for d in rob2.Domain}
    judged[rob2.Domain.D3] = None  # type: ignore[assignment]
    assert rob2.decide_overall(judged).final is None


LOW_ANSWERS = {"1.1": "Y", "1.2": "Y", "1.3": "N", "2.1": "N", "2.2": "N", "2.6": "Y",
               "3.1": "Y", "4.1": "N", "4.2": "N", "4.3": "N", "5.1": "Y", "5.2": "N", "5.3": "N"}


def test_assess_records_proposal_and_final() -> None:
    """A full low-risk set of answers gives Low in every domain and overall, nothing overridden."""
    a = rob2.assess(LOW_ANSWERS, study="Smith 2020", result="mortality at 12 weeks")
    assert [d.final for d in a.domains] == [Judgement.LOW] * 5
    assert a.overall.final is Judgement.LOW
    assert not any(d.overridden for d in a.domains)


def test_override_requires_justification_naming_the_domain() -> None:
    """A blank justification for an override is refused with a message naming the domain."""
    with pytest.raises(ReviewkitError, match="D3"):
        rob2.assess(LOW_ANSWERS, overrides={"D3": ("high", "   ")})


def test_override_with_justification_is_recorded() -> None:
    """A justified override keeps the proposal, sets final and flags it, and feeds the overall."""
    a = rob2.assess(LOW_ANSWERS, overrides={"D3": ("high", "Differential drop-out by arm")})
    d3 = a.domain("D3")
    assert d3.proposed is Judgement.LOW and d3.final is Judgement.HIGH and d3.overridden
    assert d3.justification == "Differential drop-out by arm"
    assert a.overall.final is Judgement.HIGH


def test_unknown_ids_and_answers_are_named() -> None:
    """Unknown question ids and answers not offered for a question are errors naming them."""
    with pytest.raises(ReviewkitError, match="1.9"):
        rob2.propose_domain("D1", {"1.9": "Y"})
    with pytest.raises(ReviewkitError, match="3.2=NI"):
        rob2.propose_domain("D3", {"3.1": "N", "3.2": "NI"})
    with pytest.raises(ReviewkitError, match="2.7"):
        rob2.propose_domain("D2", {"2.7": "Y"}, "adherence")
    with pytest.raises(ReviewkitError, match="9.1"):
        rob2.assess({"9.1": "Y"})


def test_na_on_an_asked_question_is_refused_unless_if_applicable() -> None:
    """NA to a conditional question whose condition is met is refused; the adherence items allow it."""
    with pytest.raises(ReviewkitError, match="2.3"):
        rob2.propose_domain("D2", {"2.1": "Y", "2.2": "Y", "2.3": "NA"}, "assignment")
    prop = rob2.propose_domain("D2", {"2.1": "Y", "2.2": "Y", "2.3": "NA", "2.4": "NA",
                                      "2.5": "NA"}, "adherence")
    assert prop.proposed is Judgement.LOW


def test_question_bank_is_complete() -> None:
    """Each domain holds the official questions, 3.2 offers no NI, and every text is a question."""
    ids = {(d.value, v.value): [q.id for q in rob2.questions(d, v)]
           for d in rob2.Domain for v in rob2.Variant}
    assert ids[("D2", "assignment")] == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"]
    assert ids[("D2", "adherence")] == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6"]
    assert ids[("D4", "assignment")] == ["4.1", "4.2", "4.3", "4.4", "4.5"]
    q32 = rob2.questions("D3")[1]
    assert rob2.Answer.NI not in q32.answers
    assert all(q.text.endswith("?") for d in rob2.Domain for q in rob2.questions(d))
    assert rob2.Judgement.SOME_CONCERNS.label == "Some concerns"


def test_overall_override_needs_justification() -> None:
    """The overall judgement may be overridden only with a written justification; both are kept."""
    with pytest.raises(ReviewkitError, match="overall"):
        rob2.assess(LOW_ANSWERS, overall_override=("some_concerns", ""))
    a = rob2.assess(LOW_ANSWERS, overall_override=("some_concerns", "industry-run outcome"))
    assert a.overall.proposed is Judgement.LOW
    assert a.overall.final is Judgement.SOME_CONCERNS and a.overall.overridden
    same = rob2.decide_overall({d: Judgement.LOW for d in rob2.Domain}, final="low")
    assert not same.overridden


def test_variant_changes_domain_two_only() -> None:
    """The same awareness answers are judged by the variant's own algorithm."""
    adherence = rob2.assess({"2.1": "Y", "2.2": "Y", "2.3": "Y", "2.4": "N", "2.5": "Y", "2.6": "Y"},
                            "adherence")
    assert adherence.variant is rob2.Variant.ADHERENCE
    assert adherence.domain("D2").proposed is Judgement.SOME_CONCERNS
    assert adherence.domain("D1").proposed is None
    assert adherence.overall.final is None


def test_applicable_questions_for_a_form() -> None:
    """A form may pass plain strings and all its answers; unanswered prerequisites hide followers."""
    shown = rob2.applicable_questions("D3", "assignment", {"1.1": "Y", "3.1": "pn"})
    assert [q.id for q in shown] == ["3.1", "3.2"]
    assert shown[1].condition == "If N/PN/NI to 3.1"
    assert [q.id for q in rob2.applicable_questions("D4", "assignment", {"4.1": "N"})] == ["4.1", "4.2"]


def test_direction_of_bias_is_recorded_without_affecting_judgement() -> None:
    """A predicted direction of bias is stored per domain and leaves the judgement alone."""
    a = rob2.assess(LOW_ANSWERS, directions={"D3": "towards_null"})
    assert a.domain("D3").direction is rob2.Direction.TOWARDS_NULL
    assert a.domain("D3").final is Judgement.LOW
    with pytest.raises(ReviewkitError, match="direction"):
        rob2.assess(LOW_ANSWERS, directions={"D3": "sideways"})

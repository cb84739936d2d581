# ruff: noqa: SIM114  (the reference algorithms are kept branch by branch, as rob2.md writes them)
"""Exhaustive check of the RoB 2 algorithms against an independent reading of rob2.md (§1–§7).

Everything here is written from the reference text, not from reviewkit's code: which questions
are asked (and with which answer options), the domain algorithms and the overall rule. Every
combination of answers a form can hold is generated and compared with `propose_domain`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from reviewkit.domain import rob2
from reviewkit.errors import ReviewkitError

Y, PY, PN, N, NI, NA = "Y", "PY", "PN", "N", "NI", "NA"
LOW, SC, HIGH = "low", "some_concerns", "high"
BASIC = (Y, PY, PN, N, NI)
YES = {Y, PY}
NO = {N, PN}
YES_NI = {Y, PY, NI}
NO_NI = {N, PN, NI}

Ans = dict[str, str]


def _always(_: Ans) -> bool:
    return True


# (id, options when asked, applies-when) per rob2.md; a question not asked is NA.
# "[If applicable]" adherence questions may also be answered NA when asked (§3b).
Spec = tuple[str, tuple[str, ...], Callable[[Ans], bool]]

D1: list[Spec] = [("1.1", BASIC, _always), ("1.2", BASIC, _always), ("1.3", BASIC, _always)]
D2_ASSIGN: list[Spec] = [
    ("2.1", BASIC, _always),
    ("2.2", BASIC, _always),
    ("2.3", BASIC, lambda a: a["2.1"] in YES_NI or a["2.2"] in YES_NI),
    ("2.4", BASIC, lambda a: a["2.3"] in YES),
    ("2.5", BASIC, lambda a: a["2.4"] in YES_NI),
    ("2.6", BASIC, _always),
    ("2.7", BASIC, lambda a: a["2.6"] in NO_NI),
]
D2_ADHERE: list[Spec] = [
    ("2.1", BASIC, _always),
    ("2.2", BASIC, _always),
    ("2.3", (NA, *BASIC), lambda a: a["2.1"] in YES_NI or a["2.2"] in YES_NI),
    ("2.4", (NA, *BASIC), _always),
    ("2.5", (NA, *BASIC), _always),
    ("2.6", BASIC, lambda a: a["2.3"] in NO_NI or a["2.4"] in YES_NI or a["2.5"] in YES_NI),
]
D3: list[Spec] = [
    ("3.1", BASIC, _always),
    ("3.2", (Y, PY, PN, N), lambda a: a["3.1"] in NO_NI),  # 3.2 offers no NI
    ("3.3", BASIC, lambda a: a["3.2"] in NO),
    ("3.4", BASIC, lambda a: a["3.3"] in YES_NI),
]
D4: list[Spec] = [
    ("4.1", BASIC, _always),
    ("4.2", BASIC, _always),
    ("4.3", BASIC, lambda a: a["4.1"] in NO_NI and a["4.2"] in NO_NI),
    ("4.4", BASIC, lambda a: a["4.3"] in YES_NI),
    ("4.5", BASIC, lambda a: a["4.4"] in YES_NI),
]
D5: list[Spec] = [("5.1", BASIC, _always), ("5.2", BASIC, _always), ("5.3", BASIC, _always)]


def ref_d1(a: Ans) -> str:
    if a["1.2"] in NO:
        return HIGH
    if a["1.2"] == NI:
        return HIGH if a["1.3"] in YES else SC
    if a["1.1"] in NO:
        return SC
    if a["1.3"] in YES:
        return SC
    return LOW


def ref_d2_assignment(a: Ans) -> str:
    if a["2.1"] in NO and a["2.2"] in NO:
        part1 = LOW
    elif a["2.3"] in NO:
        part1 = LOW
    elif a["2.3"] == NI:
        part1 = SC
    elif a["2.4"] in NO:
        part1 = SC
    elif a["2.5"] in YES:
        part1 = SC
    else:
        part1 = HIGH
    if a["2.6"] in YES:
        part2 = LOW
    elif a["2.7"] in NO:
        part2 = SC
    else:
        part2 = HIGH
    if HIGH in (part1, part2):
        return HIGH
    return LOW if part1 == part2 == LOW else SC


def ref_d2_adherence(a: Ans) -> str:
    aware = a["2.1"] in YES_NI or a["2.2"] in YES_NI
    analysis = aware and a["2.3"] in NO_NI
    if not analysis and not (a["2.4"] in {NA, N, PN} and a["2.5"] in {NA, N, PN}):
        analysis = True
    if not analysis:
        return LOW
    return SC if a["2.6"] in YES else HIGH


def ref_d3(a: Ans) -> str:
    if a["3.1"] in YES:
        return LOW
    if a["3.2"] in YES:
        return LOW
    if a["3.3"] in NO:
        return LOW
    if a["3.4"] in NO:
        return SC
    return HIGH


def ref_d4(a: Ans) -> str:
    if a["4.1"] in YES or a["4.2"] in YES:
        return HIGH
    if a["4.3"] in NO:
        base = LOW
    elif a["4.4"] in NO:
        base = LOW
    elif a["4.5"] in NO:
        base = SC
    else:
        base = HIGH
    if a["4.2"] == NI and base == LOW:
        return SC
    return base


def ref_d5(a: Ans) -> str:
    if a["5.2"] in YES or a["5.3"] in YES:
        return HIGH
    if a["5.2"] in NO and a["5.3"] in NO:
        return LOW if a["5.1"] in YES else SC
    return SC


CASES: dict[str, tuple[str, str, list[Spec], Callable[[Ans], str]]] = {
    "D1": ("D1", "assignment", D1, ref_d1),
    "D2-assignment": ("D2", "assignment", D2_ASSIGN, ref_d2_assignment),
    "D2-adherence": ("D2", "adherence", D2_ADHERE, ref_d2_adherence),
    "D3": ("D3", "assignment", D3, ref_d3),
    "D4": ("D4", "assignment", D4, ref_d4),
    "D5": ("D5", "assignment", D5, ref_d5),
}


def forms(spec: list[Spec]) -> Iterator[Ans]:
    """Every complete form: each asked question takes each of its options, the others NA."""
    def walk(i: int, done: Ans) -> Iterator[Ans]:
        if i == len(spec):
            yield dict(done)
            return
        qid, options, applies = spec[i]
        for value in (options if applies(done) else (NA,)):
            done[qid] = value
            yield from walk(i + 1, done)
        del done[qid]
    yield from walk(0, {})


#: How many complete forms each domain has (a guard that the enumeration really is exhaustive).
EXPECTED_FORMS = {"D1": 125, "D2-assignment": 13277, "D2-adherence": 20988, "D3": 110,
                  "D4": 493, "D5": 125}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_complete_form_matches_the_reference(case: str) -> None:
    domain, variant, spec, reference = CASES[case]
    count, wrong = 0, []
    for form in forms(spec):
        count += 1
        # Omit the NA of questions not asked, and give it explicitly: both must work alike.
        asked = {k: v for k, v in form.items() if v != NA or any(
            s[0] == k and NA in s[1] for s in spec)}
        for given in (asked, form):
            got = rob2.propose_domain(domain, given, variant)
            want = reference(form)
            if got.proposed is None or got.proposed.value != want or got.unanswered:
                wrong.append((given, got.proposed, want, got.unanswered))
    assert count == EXPECTED_FORMS[case]
    assert not wrong, f"{len(wrong)} disagreements, e.g. {wrong[:5]}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_answers_to_questions_not_asked_are_ignored(case: str) -> None:
    # The full product over every option of every question: an answer typed into a question
    # whose condition is not met reads as NA (the official form greys it out).
    domain, variant, spec, reference = CASES[case]
    options = [(NA, *BASIC) for _ in spec]
    for combo in itertools.product(*options):
        typed = dict(zip((s[0] for s in spec), combo, strict=True))
        effective: Ans = {}
        # A code the question never offers (NI on 3.2) is refused even where it is not asked.
        bad = any(v != NA and v not in opts for v, (_, opts, _a) in zip(combo, spec, strict=True))
        for qid, opts, applies in spec:
            if bad:
                break
            if applies(effective):
                if typed[qid] not in opts:
                    bad = True
                    break
                effective[qid] = typed[qid]
            else:
                effective[qid] = NA
        if bad:
            # NA (or NI on 3.2) where the question is asked is refused, never guessed.
            with pytest.raises(ReviewkitError):
                rob2.propose_domain(domain, typed, variant)
            continue
        got = rob2.propose_domain(domain, typed, variant)
        assert got.proposed is not None and got.proposed.value == reference(effective), typed


def ref_overall(values: tuple[str, ...]) -> str:
    if HIGH in values:
        return HIGH
    if all(v == LOW for v in values):
        return LOW
    return SC


def test_overall_rule_every_combination() -> None:
    n = 0
    for values in itertools.product((LOW, SC, HIGH), repeat=5):
        n += 1
        judged = {d: rob2.Judgement(v) for d, v in zip(("D1", "D2", "D3", "D4", "D5"), values,
                                                      strict=True)}
        want = ref_overall(values)
        dec = rob2.decide_overall(judged)
        assert dec.proposed is not None and dec.proposed.value == want
        several = values.count(SC) >= 2 and HIGH not in values
        assert dec.escalation_required is several
        # Never a hard-coded "≥ 2 Some concerns → High".
        assert dec.final is not None and dec.final.value == want
        if several:
            up = rob2.decide_overall(judged, escalate=True, reason="three domains")
            assert up.final is rob2.Judgement.HIGH
            keep = rob2.decide_overall(judged, escalate=False, reason="minor")
            assert keep.final is rob2.Judgement.SOME_CONCERNS
            with pytest.raises(ReviewkitError):
                rob2.decide_overall(judged, escalate=True, reason=" ")
        else:
            with pytest.raises(ReviewkitError):
                rob2.decide_overall(judged, escalate=True, reason="x")
    assert n == 243


def test_overall_rule_reads_judgement_codes_too() -> None:
    # "low"/"some_concerns" strings (what views and exports carry) are judged as the enum values are:
    # before, all-Low codes came out as Some concerns and two Some concerns raised no escalation choice.
    for values in itertools.product((LOW, SC, HIGH), repeat=5):
        codes = dict(zip(("D1", "D2", "D3", "D4", "D5"), values, strict=True))
        dec = rob2.decide_overall(codes)  # type: ignore[arg-type]
        assert dec.proposed is not None and dec.proposed.value == ref_overall(values)
        assert dec.escalation_required is (values.count(SC) >= 2 and HIGH not in values)


def ref_rob1_summary(values: tuple[str, ...]) -> str:
    # rob2.md §8 (Handbook 5.1 Table 8.7.a): High if any key domain is high, else Unclear if any is
    # unclear, else Low (all key domains low).
    if "high" in values:
        return "high"
    if "unclear" in values:
        return "unclear"
    return "low"


def test_rob1_summary_every_combination() -> None:
    from reviewkit.domain import rob1

    n = 0
    keys = [d.value for d in rob1.Rob1Domain]
    assert len(keys) == 7
    for values in itertools.product(("low", "unclear", "high"), repeat=7):
        n += 1
        got = rob1.summarise(dict(zip(keys, values, strict=True)))
        assert got is not None and got.value == ref_rob1_summary(values)
        # Key domains chosen by the review: only those count.
        got = rob1.summarise(dict(zip(keys, values, strict=True)), key_domains=keys[:3])
        assert got is not None and got.value == ref_rob1_summary(values[:3])
    assert n == 3 ** 7

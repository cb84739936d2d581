"""Provides risk-of-bias answer and judgement codes: typed answers read as the tool's codes and checked.

RoB 2 answers are checked against the variant's questions and against each other (a question applies
or not given the earlier answers); RoB 1 "answers" are the domain judgements themselves.
"""

from __future__ import annotations

from collections.abc import Mapping

from reviewkit.domain import rob1, rob2
from reviewkit.errors import ReviewkitError
from reviewkit.services.assess_form import rob2_domain


def domain_keys(tool: str) -> list[str]:
    """The domain keys of a tool, in order."""
    return [d.value for d in (rob1.Rob1Domain if tool == "rob1" else rob2.Domain)]


def judgement_code(tool: str, text: str) -> str:
    """A typed judgement ("Some concerns", "high", "?") as the tool's code; unknown ones are errors."""
    if tool == "rob1":
        return rob1.parse_judgement(text).value
    code = text.strip().lower().removesuffix(" risk").replace(" ", "_")
    try:
        return rob2.Judgement(code).value
    except ValueError:
        raise ReviewkitError(f"unknown RoB 2 judgement {text!r}", hint="use low, some concerns or high") from None


def normalise_answers(tool: str, variant: str | None, answers: Mapping[str, str]
                      ) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Answer codes checked as a whole set: (clean codes, [(question, problem)]).

    RoB 2: known question of the variant, an allowed code, and either NA or a question that
    applies given the other answers (NA only where its condition is not met, or "[If applicable]").
    """
    clean: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for qid, raw in answers.items():
        try:
            clean[qid] = answer_code(tool, variant, qid, raw)
        except ReviewkitError as exc:
            problems.append((qid, exc.message.split(": ", 1)[-1]))
    if tool == "rob2":
        for qid, code in clean.items():
            problem = _applies(variant, clean, qid, code)
            if problem:
                problems.append((qid, problem))
    return clean, problems


def answer_code(tool: str, variant: str | None, qid: str, raw: str) -> str:
    """One answer's code, checked against the question's allowed answers (not against the others)."""
    if tool == "rob1":
        if qid not in rob1.Rob1Domain.__members__:
            raise ReviewkitError(f"unknown RoB 1 domain '{qid}' (use D1…D7)")
        try:
            return rob1.parse_judgement(raw).value
        except ReviewkitError as exc:
            # Named: a refusal of one answer among several (a consensus, an import row) must say which.
            raise ReviewkitError(f"{qid}: {exc.message}", hint=exc.hint) from None
    domain = rob2_domain(qid)
    if domain is None:
        raise ReviewkitError(f"unknown question '{qid}'")
    return rob2.validate_answers(domain, variant or "assignment", {qid: raw})[qid].value


def _applies(variant: str | None, answers: Mapping[str, str], qid: str, code: str) -> str | None:
    """Why this answer cannot stand given the others, or None. A question's condition reads only
    earlier questions, so its own answer is left out."""
    domain = rob2_domain(qid)
    assert domain is not None
    own = {q: a for q, a in answers.items() if rob2_domain(q) is domain and q != qid}
    shown = {q.id: q for q in rob2.applicable_questions(domain, variant or "assignment", own)}
    question = shown.get(qid)
    if question is None and code != "NA":
        cond = next(q.condition for q in rob2.questions(domain, variant or "assignment") if q.id == qid)
        return f"does not apply given the other answers ({cond}); answer NA or leave it out"
    if question is not None and code == "NA" and not question.if_applicable:
        return f"NA, but its condition is met ({question.condition})"
    return None


def check_answer(tool: str, variant: str | None, current: Mapping[str, str], qid: str, raw: str) -> str:
    """One answer checked against the assessment's current answers; returns its code."""
    code = answer_code(tool, variant, qid, raw)
    if tool == "rob2":
        problem = _applies(variant, current, qid, code)
        if problem:
            raise ReviewkitError(f"{qid}: {problem}")
    return code


def shown(code: str | None) -> str:
    return code.replace("_", " ") if code else "incomplete"

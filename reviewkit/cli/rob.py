"""Provides the `rob` commands: `rob judge` proposes RoB 2 / RoB 1 judgements from typed answers."""

from __future__ import annotations

import json

import click

from reviewkit.cli.common import run_guarded
from reviewkit.domain import rob1, rob2
from reviewkit.errors import ReviewkitError


def parse_pairs(text: str) -> dict[str, str]:
    """Read "1.1=Y,1.2=PY" into {"1.1": "Y", "1.2": "PY"}; malformed or repeated items are named."""
    pairs: dict[str, str] = {}
    bad: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            bad.append(f"{item!r} (expected id=answer)")
        elif key in pairs:
            bad.append(f"{key} given twice")
        else:
            pairs[key] = value
    if bad:
        raise ReviewkitError("bad --answers: " + "; ".join(bad))
    if not pairs:
        raise ReviewkitError("--answers is empty", hint="e.g. --answers 1.1=Y,1.2=PY,1.3=N")
    return pairs


def judge_rob2(answers: dict[str, str], variant: str, escalate: bool | None, reason: str
               ) -> tuple[dict[str, str | None], list[str]]:
    """Proposed judgement per answered domain (and overall when all five are); plus notes."""
    grouped = rob2.split_answers(answers, variant)
    out: dict[str, str | None] = {}
    notes: list[str] = []
    judged: dict[rob2.Domain, rob2.Judgement | None] = {}
    for domain in rob2.Domain:
        if domain not in grouped:
            continue
        prop = rob2.propose_domain(domain, grouped[domain], variant)
        judged[domain] = prop.proposed
        out[domain.value] = prop.proposed.short if prop.proposed else None
        if prop.proposed is None:
            notes.append(f"{domain} incomplete: unanswered {', '.join(prop.unanswered)}")
        if prop.ignored:
            notes.append(f"{domain}: ignored answers to questions not asked: "
                         f"{', '.join(prop.ignored)}")
    if len(judged) == len(rob2.Domain) and all(judged.values()):
        overall = rob2.decide_overall(judged, escalate=escalate, reason=reason)
        out["overall"] = overall.final.short if overall.final else None
        if overall.escalation_required and escalate is None:
            notes.append(f"Some concerns in {', '.join(overall.concerns)}: decide whether this "
                         "substantially lowers confidence (--escalate yes|no --reason ...)")
    elif escalate is not None:
        raise ReviewkitError("--escalate needs answers deciding all five domains")
    return out, notes


def judge_rob1(answers: dict[str, str]) -> dict[str, str | None]:
    """RoB 1 judgements as given (normalised), plus the summary when all seven are judged."""
    assessment = rob1.assess_rob1(answers)
    out: dict[str, str | None] = {d.value: e.judgement.value
                                  for d, e in sorted(assessment.entries.items())}
    if len(assessment.entries) == len(rob1.Rob1Domain):
        out["overall"] = assessment.summary.value if assessment.summary else None
    return out


@click.group("rob")
def rob_group() -> None:
    """Risk of bias: propose judgements (RoB 2, RoB 1)."""


@rob_group.command("judge")
@click.option("--tool", type=click.Choice(["rob2", "rob1"]), default="rob2", show_default=True)
@click.option("--variant", type=click.Choice(["assignment", "adherence"]), default="assignment",
              show_default=True, help="RoB 2 domain 2: effect of assignment or of adhering.")
@click.option("--answers", required=True,
              help="RoB 2: 1.1=Y,1.2=PY,… (Y/PY/PN/N/NI/NA). RoB 1: D1=low,D2=unclear,…")
@click.option("--escalate", type=click.Choice(["yes", "no"]), default=None,
              help="RoB 2 overall with Some concerns in several domains: escalate to High?")
@click.option("--reason", default="", help="Why (required with --escalate yes).")
def judge(tool: str, variant: str, answers: str, escalate: str | None, reason: str) -> None:
    """Print the proposed judgement of each domain answered, and the overall, as JSON."""
    def body() -> None:
        pairs = parse_pairs(answers)
        if tool == "rob1":
            click.echo(json.dumps(judge_rob1(pairs)))
            return
        out, notes = judge_rob2(pairs, variant, None if escalate is None else escalate == "yes",
                                reason)
        click.echo(json.dumps(out))
        for note in notes:
            click.echo(f"note: {note}", err=True)

    run_guarded(body)


def register(group: click.Group) -> None:
    """Add the `rob` group to the top-level command."""
    group.add_command(rob_group)

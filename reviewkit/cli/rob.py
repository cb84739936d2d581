"""Provides the `rob` commands: judge typed answers, assess in a review, consensus, CSV, plots."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from reviewkit.cli.common import ROW_ID, CliState, output_file, run_guarded
from reviewkit.domain import rob1, rob2
from reviewkit.domain.rob_common import Disagreement
from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_consensus, assess_summary, assess_view
from reviewkit.services.assess_differences import RecordedConsensus, StudyDisagreements
from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.project import Review, open_review
from reviewkit.services.study_ref import find_study
from reviewkit.wording import counted, noun


class _Answers(click.ParamType):
    """--answers of `rob judge` and `rob consensus`: "1.1=Y,1.2=PY" read into {"1.1": "Y", "1.2": "PY"}.

    A value not of that form is a usage error (exit 2, click's usage block), as any other bad option value is;
    it was an `error:` line and exit 1, the status of a problem with the review or a file. `may_be_empty`: a
    blank value is no answers (consensus settles overrides alone), not an error.
    """

    name = "answers"
    _FORM = "give ID=ANSWER pairs separated by commas, e.g. 1.1=Y,1.2=PY (RoB 2) or D1=low,D2=unclear (RoB 1)"

    def __init__(self, *, may_be_empty: bool = False) -> None:
        self.may_be_empty = may_be_empty

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, str]:
        if isinstance(value, dict):
            return value
        if self.may_be_empty and not str(value).strip():
            return {}
        pairs: dict[str, str] = {}
        malformed: list[str] = []
        twice: list[str] = []
        for item in (part.strip() for part in str(value).split(",")):
            if not item:
                continue
            key, sep, answer = item.partition("=")
            key, answer = key.strip(), answer.strip()
            if not sep or not key or not answer:
                malformed.append(repr(item))
            elif key in pairs:
                twice.append(key)
            else:
                pairs[key] = answer
        if malformed:
            self.fail(f"{', '.join(malformed)} {noun(len(malformed), 'is', 'are')} not ID=ANSWER; {self._FORM}",
                      param, ctx)
        if twice:
            self.fail(f"{', '.join(twice)} {noun(len(twice), 'is', 'are')} given twice; give each ID once",
                      param, ctx)
        if not pairs:
            self.fail(f"no answers; {self._FORM}", param, ctx)
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


@click.group("rob", short_help="Risk of bias: assess, judge, agree, plot.")
def rob_group() -> None:
    """Risk of bias: propose judgements, assess studies, consensus, CSV import/export, plots."""


@rob_group.command("judge", short_help="Propose judgements from answers, as JSON.")
@click.option("--tool", type=click.Choice(["rob2", "rob1"]), default="rob2", show_default=True,
              help="RoB 2 (per result) or the Cochrane RoB 1 tool.")
@click.option("--variant", type=click.Choice(["assignment", "adherence"]), default="assignment",
              show_default=True, help="RoB 2 domain 2: effect of assignment or of adhering.")
@click.option("--answers", type=_Answers(), required=True, metavar="ID=ANSWER,...",
              help="RoB 2: 1.1=Y,1.2=PY,… (Y/PY/PN/N/NI/NA). RoB 1: D1=low,D2=unclear,…")
@click.option("--escalate", type=click.Choice(["yes", "no"]), default=None,
              help="RoB 2 overall with Some concerns in several domains: escalate to High?")
@click.option("--reason", default="", help="Why (required with --escalate yes).")
@click.pass_context
def judge(ctx: click.Context, tool: str, variant: str, answers: dict[str, str], escalate: str | None,
          reason: str) -> None:
    """Print the proposed judgement of each domain answered, and the overall, as JSON."""
    try:
        # A question the tool does not ask, or an answer it does not take, is a bad --answers value too.
        if tool == "rob1":
            rob1.assess_rob1(answers)
        else:
            rob2.split_answers(answers, variant)
    except ReviewkitError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--answers'") from None

    def body() -> None:
        if tool == "rob1":
            click.echo(json.dumps(judge_rob1(answers)))
            return
        out, notes = judge_rob2(answers, variant, None if escalate is None else escalate == "yes",
                                reason)
        click.echo(json.dumps(out))
        for note in notes:
            click.echo(f"note: {note}", err=True)

    run_guarded(body)


def _review(state: CliState) -> Review:
    return open_review(state.review)


def _label(code: str | None) -> str:
    return code.replace("_", " ") if code else "—"


def _print_view(view: AssessmentView) -> None:
    who = "consensus" if view.is_consensus else view.assessor
    state = "finished" if view.finished else "open"
    click.echo(f"assessment {view.id}: {view.study} · {view.outcome or '(no outcome)'} · {view.tool}"
               f"{' ' + view.variant if view.variant else ''} · {who} · {state}")
    for q in view.questions:
        click.echo(f"  {q.id:<4} {q.answer or '·':<8} {q.text}")
    asked = {q.id for q in view.questions}
    for d in (*view.domains, view.overall):
        if d.key in asked and not d.overridden:
            continue  # a RoB 1 domain is its own question, judged directly: its line above says it all
        if d.overridden:
            mark = f" (overridden; proposed {_label(d.proposed)}: {d.justification})"
        elif d.chosen:
            kept = "not escalated to High" if d.key == "overall" and view.concerns else "the proposal, kept"
            mark = f" ({kept}: {d.justification})"
        else:
            mark = ""
        click.echo(f"  {d.key:<8} {_label(d.final)}{mark}")
    if view.escalation_required:
        how = ("--override overall=high:REASON or overall=some_concerns:REASON" if view.is_consensus
               else f'`reviewkit rob finish {view.id} --escalate yes|no --reason "..."`')
        click.echo(f"  note: Some concerns in {', '.join(view.concerns)} and none High: decide whether that "
                   f"amounts to High overall ({how}); it cannot be finished until then")
    for note in view.notes:
        click.echo(f"  note: {note}")


def _emit(view: AssessmentView, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(view), indent=2, default=dict))
    else:
        _print_view(view)


@rob_group.command("studies", short_help="List the studies and your assessments of them.")
@click.pass_obj
def studies_cmd(state: CliState) -> None:
    """List the studies with your assessments of them (--reviewer)."""
    def go() -> None:
        for task in assess_view.studies_to_assess(_review(state), state.reviewer):
            mine = ", ".join(f"#{m.id} {m.outcome or '(no outcome)'}{' ✓' if m.finished else ''}"
                             for m in task.mine)
            click.echo(f"[{task.study_id}] {task.label}" + (f"  mine: {mine}" if mine else ""))

    run_guarded(go)


@rob_group.command("start")
@click.argument("study")
@click.option("--outcome", metavar="OUTCOME", default="",
              help="The result assessed (RoB 2 is per result; RoB 1 judges blinding and incomplete outcome data per "
                   "outcome, its other domains once per study).")
@click.option("--new-outcome", "new_outcome", is_flag=True,
              help="--outcome is a new result, although its name is close to one already used (refused otherwise).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def start_cmd(state: CliState, study: str, outcome: str, new_outcome: bool, as_json: bool) -> None:
    """Start (or resume) your assessment of STUDY (label or id)."""
    def go() -> None:
        review = _review(state)
        view = assess.start_assessment(review, state.reviewer, find_study(review, study), outcome,
                                       new_outcome=new_outcome)
        if view.outcome != outcome.strip():
            # Said on stderr, so --json stays parseable: the name typed is not the name stored.
            click.echo(f"note: outcome '{outcome.strip()}' read as '{view.outcome}', as the review spells it", err=True)
        _emit(view, as_json)

    run_guarded(go)


@rob_group.command("answer", short_help="Answer a signalling question (RoB 1: a domain).")
@click.argument("assessment", type=ROW_ID)
@click.argument("question")
@click.argument("answer")
@click.option("--support", default=None,
              help="Support for the answer (quote, page); left out, the support already given stays; \"\" removes it.")
@click.pass_obj
def answer_cmd(state: CliState, assessment: int, question: str, answer: str, support: str | None) -> None:
    """Answer QUESTION (RoB 2 "1.1" with Y/PY/PN/N/NI/NA; RoB 1 "D1" with low/high/unclear)."""
    run_guarded(lambda: _print_view(assess.answer(_review(state), state.reviewer, assessment, question, answer,
                                                  support)))


@rob_group.command("override", short_help="Override a domain's proposed judgement.")
@click.argument("assessment", type=ROW_ID)
@click.argument("domain")
@click.argument("final")
@click.option("--justification", required=True, help="Why the proposal is overridden (required).")
@click.pass_obj
def override_cmd(state: CliState, assessment: int, domain: str, final: str, justification: str) -> None:
    """Override DOMAIN's (D1…, overall) proposed judgement with FINAL."""
    run_guarded(lambda: _print_view(assess.override(_review(state), state.reviewer, assessment, domain, final,
                                                    justification)))


@rob_group.command("finish", short_help="Mark your assessment finished.")
@click.argument("assessment", type=ROW_ID)
@click.option("--escalate", type=click.Choice(["yes", "no"]), default=None,
              help="RoB 2 with Some concerns in several domains and none High: escalate the overall to High?")
@click.option("--reason", default="", help="Why escalate or not (required with --escalate).")
@click.pass_obj
def finish_cmd(state: CliState, assessment: int, escalate: str | None, reason: str) -> None:
    """Mark your assessment finished (every domain judged; RoB 2: the escalation choice made)."""
    run_guarded(lambda: _print_view(assess.finish(_review(state), state.reviewer, assessment,
                                                  escalate=None if escalate is None else escalate == "yes",
                                                  reason=reason)))


@rob_group.command("reopen", short_help="Reopen your finished assessment.")
@click.argument("assessment", type=ROW_ID)
@click.pass_obj
def reopen_cmd(state: CliState, assessment: int) -> None:
    """Reopen your finished assessment to change it (until every assessor of the study has finished)."""
    run_guarded(lambda: _print_view(assess.reopen(_review(state), state.reviewer, assessment)))


@rob_group.command("show", short_help="Show an assessment.")
@click.argument("assessment", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def show_cmd(state: CliState, assessment: int, as_json: bool) -> None:
    """Show an assessment (another assessor's only once all have finished)."""
    run_guarded(lambda: _emit(assess_view.assessment_view(_review(state), state.reviewer, assessment), as_json))


def _overrides(items: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for item in items:
        key, sep, rest = item.partition("=")
        final, sep2, why = rest.partition(":")
        if not sep or not sep2:
            raise ReviewkitError(f"bad --override {item!r}", hint="DOMAIN=JUDGEMENT:justification")
        out[key.strip()] = (final.strip(), why.strip())
    return out


@rob_group.command("consensus", short_help="Record or revise the consensus for a study.")
@click.argument("study")
@click.option("--outcome", metavar="OUTCOME", default="", help="The result whose assessments it settles (RoB 2 is per result).")
@click.option("--answers", type=_Answers(may_be_empty=True), default="", metavar="ID=ANSWER,...",
              help="Settled answers: 1.2=Y,2.1=N (RoB 1: D3=unclear).")
@click.option("--override", "overrides", metavar="DOMAIN=JUDGEMENT:WHY", multiple=True,
              help="DOMAIN=JUDGEMENT:justification (repeatable); DOMAIN=accept: takes back the consensus's own.")
@click.option("--with", "co_signer", metavar="ASSESSOR", default=None, help="The other assessor, when an assessor records it.")
@click.pass_obj
def consensus_cmd(state: CliState, study: str, outcome: str, answers: dict[str, str], overrides: tuple[str, ...],
                  co_signer: str | None) -> None:
    """Record the consensus of STUDY's assessments (what plots and analyses use); again: revise it."""
    def go() -> None:
        review = _review(state)
        recorded = assess_consensus.record_consensus(review, state.reviewer, find_study(review, study), outcome,
                                           answers=answers, overrides=_overrides(overrides), co_signer=co_signer)
        _print_view(recorded)
        _print_changes(recorded)

    run_guarded(go)


def _print_changes(recorded: RecordedConsensus) -> None:
    """A revision says what it changed (the earlier answers and judgements stay in the history), so a
    call that was meant to change one thing shows it changed only that."""
    if not recorded.revised:
        click.echo("Recorded the consensus.")
    elif not recorded.changes:
        click.echo("Nothing changed: the consensus stands as recorded before.")
    else:
        click.echo(f"Revised the consensus ({counted(len(recorded.changes), 'change')}; the earlier answers and judgements "
                   "stay in its history):")
        for change in recorded.changes:
            click.echo(f"  - {change}")


@rob_group.command("disagreements", short_help="List where finished assessments differ.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def disagreements_cmd(state: CliState, as_json: bool) -> None:
    """List where assessors differ, for every study whose assessments are all finished (--reviewer:
    an assessor of the study, a lead or an adjudicator)."""
    def go() -> None:
        found = assess_consensus.all_disagreements(_review(state), state.reviewer)
        if as_json:
            click.echo(json.dumps([
                {"study": d.study, "outcome": d.outcome, "assessors": [d.assessor_a, d.assessor_b],
                 "disagreements": [_item_json(d, i) for i in d.items]} for d in found], indent=2))
            return
        if not any(d.items for d in found):
            click.echo("No disagreements.")
        for d in found:
            for i in d.items:
                a_why, b_why = d.reason(i.key) if i.level == "domain" else (None, None)
                line = (f"{d.study} · {d.outcome or '-'} · {i.level} {i.key}: "
                        f"{d.assessor_a} {i.a_value or '—'}{_why(a_why)} vs {d.assessor_b} {i.b_value or '—'}"
                        f"{_why(b_why)}")
                if i.key in d.to_decide and i.level == "domain":
                    line += f" · the consensus must judge it (--override {i.key}=JUDGEMENT:justification)"
                click.echo(line)
                # what each based the answer on: a consensus meeting settles a difference from these
                for who, text in zip((d.assessor_a, d.assessor_b), d.support(i.key), strict=True):
                    if text:
                        click.echo(f"    {who}: {text}")

    run_guarded(go)


def _why(reason: str | None) -> str:
    return f" (with the reason: {reason})" if reason else ""


def _item_json(d: StudyDisagreements, i: Disagreement) -> dict[str, object]:
    """One disagreement for --json; a domain's also carries each assessor's reason (null: the proposal)
    and whether the consensus must judge it explicitly; each carries each assessor's support (null: none)."""
    out: dict[str, object] = {"level": i.level, "key": i.key, "a": i.a_value, "b": i.b_value}
    if i.level == "domain":
        a_why, b_why = d.reason(i.key)
        out |= {"a_reason": a_why, "b_reason": b_why, "to_decide": i.key in d.to_decide}
    a_support, b_support = d.support(i.key)
    return out | {"a_support": a_support, "b_support": b_support}


@rob_group.command("summary")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def summary_cmd(state: CliState, as_json: bool) -> None:
    """The consensus judgements per study and outcome."""
    def go() -> None:
        rows = assess_summary.rob_summary(_review(state))
        if as_json:
            click.echo(json.dumps([{"study": r.study, "outcome": r.outcome, "tool": r.tool,
                                    "judgements": dict(r.judgements), "overridden": list(r.overridden)}
                                   for r in rows], indent=2))
            return
        for r in rows:
            cells = " ".join(f"{k}={_label(v)}" for k, v in r.judgements.items())
            click.echo(f"{r.study} · {r.outcome or '-'}: {cells}")

    run_guarded(go)


@rob_group.command("export", short_help="Write the assessments you may see to a CSV file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export_cmd(state: CliState, file: Path) -> None:
    """Write the assessments you may see to FILE.csv (one row per study, outcome, assessor and question)."""
    from reviewkit.services.assess_export import export_rob

    def go() -> None:
        with output_file(file, (".csv",), "rob export") as temp:
            n = export_rob(_review(state), temp, actor=state.reviewer)
        click.echo(f"{counted(n, 'row')} written to {file}")

    run_guarded(go)


@rob_group.command("import", short_help="Import assessments from a CSV file (all or none).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--with", "co_signer", metavar="ASSESSOR", default=None,
              help="The other assessor, when an assessor imports consensus rows.")
@click.option("--new-outcome", "new_outcomes", multiple=True, metavar="NAME",
              help="An outcome of the file that is a new result, although close to a name already used "
                   "(refused otherwise; repeatable).")
@click.pass_obj
def import_cmd(state: CliState, file: Path, co_signer: str | None, new_outcomes: tuple[str, ...]) -> None:
    """Read assessments from FILE.csv as --reviewer: all rows, or none if any row is bad or not yours to
    import (a lead may import anyone's; consensus rows as `rob consensus` allows)."""
    from reviewkit.services.assess_import import import_rob

    def go() -> None:
        done = import_rob(_review(state), file, actor=state.reviewer, co_signer=co_signer,
                          new_outcomes=new_outcomes)
        present = f" ({done.present} already present, not stored again)" if done.present else ""
        click.echo(f"{counted(done.stored, 'row')} imported from {file}{present}")
        for note in done.left_open:
            click.echo(f"note: left open (not finished): {note}", err=True)

    run_guarded(go)


@rob_group.command("plot")
@click.option("--kind", type=click.Choice(["traffic-light", "summary"]), default="traffic-light",
              show_default=True, help="Each study's judgements per domain, or per domain the share of studies at each judgement (a panel per outcome).")
@click.option("--outcome", metavar="OUTCOME", default=None, help="Only this outcome's assessments.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def plot_cmd(state: CliState, kind: str, outcome: str | None, file: Path) -> None:
    """Draw the consensus judgements to FILE (.svg, .png or .pdf)."""
    from reviewkit.services.assess_plots import plot_rob  # loads matplotlib: only when asked

    def go() -> None:
        with output_file(file, (".svg", ".png", ".pdf"), "rob plot") as temp:
            plot_rob(_review(state), kind, temp, outcome=outcome)
        click.echo(f"written {file}")

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add the `rob` group to the top-level command."""
    group.add_command(rob_group)

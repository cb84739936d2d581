"""Provides the `extract` commands: studies, arms and values, conversions, the table (CSV/XLSX), consensus."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from reviewkit.cli.common import ROW_ID, CliState, RangeInWords, output_file, run_guarded
from reviewkit.errors import ReviewkitError
from reviewkit.services import extract as service
from reviewkit.services.extract_consensus import (
    Difference,
    compare_extractions,
    open_comparisons,
    record_consensus,
)
from reviewkit.services.extract_convert import METHODS, confidence_level, convert
from reviewkit.services.extract_import import import_table
from reviewkit.services.extract_io import export_table
from reviewkit.services.extract_status import (
    StatusChange,
    describe,
    finish_extraction,
    reopen_extraction,
)
from reviewkit.services.project import Review, open_review
from reviewkit.services.study_ref import find_study
from reviewkit.wording import counted


@click.group("extract", short_help="Data extraction: arms, values, consensus.")
def extract_group() -> None:
    """Data extraction: studies, the extraction table (CSV/XLSX), differences and consensus."""


@extract_group.command("studies", short_help="List the studies and where extraction stands.")
@click.pass_obj
def studies(state: CliState) -> None:
    """List the studies: id, label, NCT id and linked reports; as --reviewer, also whether your extraction
    is finished and how many of the protocol's extractions are (who finished: to a lead or an adjudicator)."""
    def go() -> None:
        review = open_review(state.review)
        required = review.protocol.extraction.extractors_per_study
        for s in service.list_studies(review, state.reviewer):
            line = f"{s.id}\t{s.label}\t{s.nct_id or ''}\t{counted(s.reports, 'report')}"
            if state.reviewer:
                names = f" ({', '.join(s.finished_by)})" if s.finished_by else ""
                # A lead or an adjudicator may compare any study: say so apart from its extractors' comparison.
                opened = ("; comparison open" if s.compare_open and (s.extractors_compare or not s.oversees)
                          else "; comparison open to leads and adjudicators" if s.compare_open else "")
                line += (f"\tmine {'finished' if s.mine_finished else 'not finished'}"
                         f"\t{s.finished} of {required} finished{names}{opened}")
            click.echo(line)

    run_guarded(go)


@extract_group.command("finish", short_help="Mark your extraction of a study finished.")
@click.argument("study")
@click.pass_obj
def finish(state: CliState, study: str) -> None:
    """Mark your extraction of STUDY (id or label) finished, as --reviewer: it cannot change any more
    (reopen it until the comparison opens), and the comparison opens to the study's extractors once
    every independent extraction of it, at least the protocol's number, is finished."""
    _change_status(state, study, finish_extraction)


@extract_group.command("reopen", short_help="Reopen your finished extraction of a study.")
@click.argument("study")
@click.pass_obj
def reopen(state: CliState, study: str) -> None:
    """Reopen your finished extraction of STUDY (id or label), as --reviewer, to change it: possible only
    until the study's comparison opens (then changes go into the consensus)."""
    _change_status(state, study, reopen_extraction)


def _change_status(state: CliState, study: str, change: Callable[[Review, str | None, int], StatusChange]) -> None:
    """Finish or reopen the acting reviewer's extraction of STUDY and say what it did."""
    def go() -> None:
        review = open_review(state.review)
        done = change(review, state.reviewer, find_study(review, study))
        click.echo(describe(done, review.protocol.extraction.extractors_per_study))

    run_guarded(go)


@extract_group.command("add-study")
@click.argument("label")
@click.option("--nct", metavar="NCT", default=None, help="The trial's NCT id.")
@click.option("--record", "records", cls=RangeInWords, metavar="RECORD", type=ROW_ID, multiple=True,
              help="A report's record id (repeatable).")
@click.pass_obj
def add_study(state: CliState, label: str, nct: str | None, records: tuple[int, ...]) -> None:
    """Create a study LABEL and link its report records."""
    def go() -> None:
        s = service.create_study(open_review(state.review), state.reviewer, label, nct_id=nct, record_ids=records)
        click.echo(f"Study {s.id}: {s.label} {s.nct_id or ''} ({counted(s.reports, 'report')})")

    run_guarded(go)


@extract_group.command("export", short_help="Write the extraction table (CSV or XLSX).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export(state: CliState, file: Path) -> None:
    """Write the extraction table to FILE.csv or FILE.xlsx (one row per study × arm × outcome × timepoint;
    a lead gets every extractor's values, anyone else the consensus, their own, and others' where
    `extract differences` is open to them)."""
    def go() -> None:
        with output_file(file, (".csv", ".xlsx"), "extract export") as temp:
            n = export_table(open_review(state.review), temp, actor=state.reviewer)
        click.echo(f"Wrote {counted(n, 'row')} to {file}")

    run_guarded(go)


@extract_group.command("import", short_help="Import an extraction table (CSV or XLSX).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--new-study", "new_studies", multiple=True, metavar="LABEL",
              help="A study of the file that is new to the review: create it (repeatable; a label of no "
                   "study is refused otherwise).")
@click.pass_obj
def import_(state: CliState, file: Path, new_studies: tuple[str, ...]) -> None:
    """Import an extraction table (CSV or XLSX) as --reviewer: all rows or none; errors name the line and
    column. A lead may import anyone's rows, anyone else only their own; consensus rows need what
    `extract consensus` needs. A row states its arm whole: an empty arm cell empties that attribute.
    Studies are read by label (case, spaces and punctuation aside); a new one needs --new-study."""
    def go() -> None:
        result = import_table(open_review(state.review), file, actor=state.reviewer, new_studies=new_studies)
        present = f" ({result.present} already present, not stored again)" if result.present else ""
        created = f" ({', '.join(result.new_studies)})" if result.new_studies else ""
        click.echo(f"Imported {counted(result.stored, 'row')}, {counted(result.values_stored, 'value')} from {file}{present}; "
                   f"{result.studies_created} new stud{'y' if result.studies_created == 1 else 'ies'}{created}")
        for note in (*result.read_as, *result.cleared):
            click.echo(f"  {note}")

    run_guarded(go)


@extract_group.command("arm", short_help="Record or change an arm of a study.")
@click.argument("study")
@click.argument("label")
@click.option("--intervention", default=None, help="What the arm receives (matched against an analysis's control).")
@click.option("--dose", default=None, help="The dose, as the report gives it (\"\" clears it).")
@click.option("--co-intervention", "co_intervention", default=None, help="Given alongside, e.g. TCS (\"\" clears it).")
@click.option("--n", "n_randomised", metavar="N", default=None, help="Number randomised.")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="A protocol arm field (repeatable; NAME= clears it).")
@click.option("--consensus", is_flag=True, help="Write the consensus arm instead of your own.")
@click.pass_obj
def arm(state: CliState, study: str, label: str, intervention: str | None, dose: str | None,
        co_intervention: str | None, n_randomised: str | None, fields: tuple[str, ...], consensus: bool) -> None:
    """Record (or change) arm LABEL of STUDY (id or label) as the acting reviewer. Changing an arm changes
    only the options given (--dose "" clears the dose); the others keep their values."""
    def go() -> None:
        review = open_review(state.review)
        study_id = find_study(review, study)
        a = service.set_arm(review, state.reviewer, study_id, label, intervention=intervention,
                            dose=dose, co_intervention=co_intervention, n_randomised=n_randomised,
                            fields=_pairs(fields, "--field"), consensus=consensus)
        click.echo(f"Arm {a.label} of study {study_id} saved")

    run_guarded(go)


@extract_group.command("remove-arm", short_help="Remove an arm entered by mistake.")
@click.argument("study")
@click.argument("label")
@click.option("--consensus", is_flag=True, help="Remove the consensus arm instead of your own.")
@click.pass_obj
def remove_arm(state: CliState, study: str, label: str, consensus: bool) -> None:
    """Remove arm LABEL of STUDY (id or label), entered by mistake, with its values, as the acting reviewer
    (until your extraction is finished; --consensus: from the consensus, which `extract consensus` then
    does not bring back). The history stays in the audit trail."""
    def go() -> None:
        review = open_review(state.review)
        study_id = find_study(review, study)
        cleared = service.remove_arm(review, state.reviewer, study_id, label, consensus=consensus)
        click.echo(f"Arm {label} of study {study_id} removed{'' if not consensus else ' from the consensus'}"
                   f" ({counted(cleared, 'value')} cleared with it)")

    run_guarded(go)


# Negative values ("-6.1") must read as the VALUE argument, not as an unknown option.
@extract_group.command("set", context_settings={"ignore_unknown_options": True},
                       short_help="Record a study field or an outcome statistic.")
@click.argument("study")
@click.argument("field")
@click.argument("value")
@click.option("--arm", metavar="ARM", default="", help="The arm (for an outcome statistic).")
@click.option("--outcome", metavar="OUTCOME", default="", help="The protocol outcome (for an outcome statistic).")
@click.option("--timepoint", metavar="TIMEPOINT", default="", help="The outcome's timepoint (default: its only one).")
@click.option("--consensus", is_flag=True, help="Write the consensus value instead of your own.")
@click.pass_obj
def set_(state: CliState, study: str, field: str, value: str, arm: str, outcome: str, timepoint: str,
         consensus: bool) -> None:
    """Record FIELD = VALUE in STUDY (id or label): a study field, or with --arm and --outcome an outcome
    statistic ("" clears)."""
    def go() -> None:
        review = open_review(state.review)
        v = service.set_value(review, state.reviewer, find_study(review, study), field, value, arm=arm,
                              outcome=outcome, timepoint=timepoint, consensus=consensus)
        click.echo(f"{field} = {v.value if v.value is not None else '(cleared)'}")
        for note in v.cleared:
            click.echo(note)

    run_guarded(go)


def _level(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    """--level checked as click reads it, so the refusal names the option (95, a percentage, is refused)."""
    if value is None:
        return None
    try:
        return confidence_level(value)
    except ReviewkitError as exc:
        raise click.BadParameter(exc.message) from None


@extract_group.command("convert", short_help="Derive an arm's SD from SE, a CI or quantiles.")
@click.argument("study")
@click.option("--arm", metavar="ARM", required=True, help="The arm whose statistics are converted.")
@click.option("--outcome", metavar="OUTCOME", required=True, help="The protocol outcome.")
@click.option("--timepoint", metavar="TIMEPOINT", default="", help="The outcome's timepoint (default: its only one).")
@click.option("--method", type=click.Choice(list(METHODS)), default="auto", show_default=True,
              help="The source of the SD: SE, CI or quantiles (auto: the first the statistics allow).")
@click.option("--level", type=float, default=None, callback=_level,
              help="The CI's confidence level, as the report gives it (default 0.95; 0.9 for a 90% CI).")
@click.option("--consensus", is_flag=True, help="Convert the consensus's statistics instead of your own.")
@click.pass_obj
def convert_(state: CliState, study: str, arm: str, outcome: str, timepoint: str, method: str,
             level: float | None, consensus: bool) -> None:
    """Derive an arm's SD (or mean and SD) in STUDY (id or label) from SE, a CI (95% unless --level) or median
    with IQR/range, recording the source and the CI's level."""
    def go() -> None:
        review = open_review(state.review)
        for v in convert(review, state.reviewer, find_study(review, study), arm=arm, outcome=outcome,
                         timepoint=timepoint, method=method, consensus=consensus,  # type: ignore[arg-type]
                         level=level):
            click.echo(f"{v.field} = {float(v.value or 0):.4g}  ({v.converted_from.get('text', '')})")

    run_guarded(go)


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    """KEY=VALUE options as a dict (the last = splits, so keys may hold '=' but values may not)."""
    out = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        if not sep or not key:
            raise ReviewkitError(f"bad {option} '{item}'", hint=f"{option} KEY=VALUE")
        out[key] = value
    return out


def _difference_dict(d: Difference) -> dict[str, object]:
    return {"key": d.key, "kind": d.kind, "arm": d.arm, "outcome": d.outcome, "timepoint": d.timepoint,
            "field": d.field, "values": d.values, "provenance": d.provenance, "consensus": d.consensus,
            "arm_removed": d.arm_removed}


def _sides(values: dict[str, str | None], provenance: dict[str, str | None]) -> str:
    """Each extractor's value side by side; where any of them was converted, how each was derived (a value
    converted by one and reported by the other differs even when the numbers agree)."""
    shown = any(provenance.values())

    def side(name: str, value: str | None) -> str:
        if value is None:
            return f"{name}=—"
        how = provenance.get(name)
        return f"{name}={value}" + (f" [{how or 'reported'}]" if shown else "")
    return "  ".join(side(k, v) for k, v in values.items())


@extract_group.command("differences", short_help="List where a study's extractors differ.")
@click.option("--study", metavar="STUDY", default=None, help="Only this study, by id or label (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def differences(state: CliState, study: str | None, as_json: bool) -> None:
    """List where the extractors of each study differ, each extractor's value side by side (as --reviewer:
    a lead or an adjudicator sees every study, an extractor a study once every independent extraction of
    it, theirs among them, is finished: `extract finish`)."""
    def go() -> None:
        review = open_review(state.review)
        comparisons = ([compare_extractions(review, state.reviewer, find_study(review, study))] if study is not None
                       else open_comparisons(review, state.reviewer, [s.id for s in service.list_studies(review)]))
        out = [{"study_id": c.study_id, "extractors": list(c.extractors), "required": c.required,
                "differences": [_difference_dict(d) for d in c.differing]} for c in comparisons]
        if as_json:
            click.echo(json.dumps(out, indent=2, ensure_ascii=False))
            return
        if not out:
            click.echo(f"No study's extractions are open to {state.reviewer} for comparison (an extractor "
                       "compares a study once every independent extraction of it is finished)")
        for item in out:
            diffs = item["differences"]
            click.echo(f"study {item['study_id']}: extractors {', '.join(item['extractors']) or 'none'}; "  # type: ignore[arg-type]
                       f"{counted(len(diffs), 'difference')}")  # type: ignore[arg-type]
            for d in diffs:  # type: ignore[attr-defined]
                sides = _sides(d["values"], d["provenance"])
                settled = (f"  → consensus {d['consensus']}" if d["consensus"] is not None
                           else "  → arm removed from the consensus" if d["arm_removed"] else "")
                click.echo(f"  {d['key']}: {sides}{settled}")

    run_guarded(go)


@extract_group.command("consensus", short_help="Store the consensus of a study's extractions.")
@click.argument("study")
@click.option("--take", "takes", multiple=True, metavar="KEY=EXTRACTOR",
              help="For a differing item, take this extractor's value (repeatable).")
@click.option("--value", "values", multiple=True, metavar="KEY=VALUE",
              help="For an item, store this consensus value (repeatable).")
@click.pass_obj
def consensus(state: CliState, study: str, takes: tuple[str, ...], values: tuple[str, ...]) -> None:
    """Store agreed items of STUDY (id or label) as consensus, and differing ones as chosen; list what still
    differs (once every independent extraction of the study is finished; as --reviewer: a lead, an
    adjudicator or one of its extractors). Choices for an arm that still waits for one of its attributes
    are not stored: it says which, and exits with status 1 when nothing was stored."""
    def go() -> None:
        review = open_review(state.review)
        study_id = find_study(review, study)
        result = record_consensus(review, state.reviewer, study_id,
                                  take=_pairs(takes, "--take"), values=_pairs(values, "--value"))
        click.echo(f"Stored {counted(result.stored, 'consensus item')} for study {study_id}")
        for d in result.unresolved:
            sides = _sides(d.values, d.provenance)
            click.echo(f"  still differs: {d.key}: {sides}")
        for waiting in result.not_stored:
            click.echo(f"  not stored: {waiting}")
        for note in result.cleared:
            click.echo(f"  {note}")
        if result.not_stored and not result.stored:
            raise ReviewkitError(f"nothing stored for study {study_id}: the choices given wait for their arms",
                                 hint="settle the arms' differing attributes too (--take arm|ARM|FIELD=EXTRACTOR "
                                      "or --value arm|ARM|FIELD=VALUE)")

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add the `extract` group to the top-level command."""
    group.add_command(extract_group)

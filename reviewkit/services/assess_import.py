"""Provides the all-or-nothing risk-of-bias CSV import (what a row is: assess_export).

Importing a judgement row (the safe rule: a judgement never changes silently, so it is checked
against the file's answers, not trusted): its `proposed`, when given, must be what the answers
(and, for the overall, the domain judgements) propose, or the row is refused on its line (an answer
or the judgement was edited and the two no longer go together). A final judgement equal to the
proposal is the proposal: stored only with a reason, as a judgement kept with it, and without one it
returns the domain to the proposal; a different one is an override and needs its justification in
the support column. `overridden` is for readers and is not read back (it follows from the two).
Imported assessments that judge every domain, and whose RoB 2 escalation choice is made, are marked
finished (an import records done work); the others stay open, and the import names those left open
only by the escalation choice (before it was asked, they would have been finished).

Who may import what is who may enter it by hand: a lead any assessor's rows, anyone else only their
own; consensus rows follow record_consensus's rule (assess_access.check_consensus). Everything is
recorded as the importing reviewer. A row the importer may not write that states what is stored is
left out as present before those checks, so a reviewer's own export (with others' assessments once
blinding has ended for them, and the consensus) imports back: but only a row their export would
write (assess_export.visible_views) is ever matched, so a row of an assessment still blinded to them
is refused as before, and whether it counts as present tells nothing of it (_Exported).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from reviewkit.domain import rob2
from reviewkit.errors import ParseError, PermissionDenied, ReviewkitError
from reviewkit.services.assess_access import check_consensus, consensus_waits
from reviewkit.services.assess_agreed import refuse_contradicting, shared_answers
from reviewkit.services.assess_codes import (
    answer_code,
    domain_keys,
    judgement_code,
    normalise_answers,
)
from reviewkit.services.assess_export import (
    BASE_COLUMNS,
    COLUMNS,
    export_rows,
    row_order,
    visible_views,
)
from reviewkit.services.assess_form import AssessmentView, build_view
from reviewkit.services.assess_outcomes import (
    OutcomeNearMiss,
    known_outcomes,
    outcome_key,
    protocol_outcomes,
    resolve_outcome,
    stored_outcomes,
)
from reviewkit.services.assess_study_domains import carry_into, refuse_unalike
from reviewkit.services.assess_view import all_finished
from reviewkit.services.common import acting_reviewer, read_csv_rows
from reviewkit.services.project import Review
from reviewkit.services.study_ref import study_id_in
from reviewkit.store import rob as store
from reviewkit.store.db import session_scope
from reviewkit.store.screening import reviewer_by_name
from reviewkit.store.tables import ReviewerRow, RobAssessmentRow


@dataclass
class _Group:
    """The rows of one assessment in the file."""

    study_id: int
    outcome: str
    assessor: str
    consensus: bool
    variant: str | None
    first_line: int
    answers: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)
    #: Judgement rows: domain or "overall" → (final, reason or "", line, the file's proposed or None).
    judgements: dict[str, tuple[str, str, int, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class RobImport:
    """What a CSV import did: the rows stored, the rows whose answer or judgement was already the
    stored one (an export imported again stores nothing), and the assessments it left open, each with why."""

    stored: int
    present: int
    left_open: tuple[str, ...] = ()


def import_rob(review: Review, path: Path, *, actor: str | None, co_signer: str | None = None,
               new_outcomes: Collection[str] = ()) -> RobImport:
    """Import assessments from CSV as `actor`: all rows, or none when any is bad or refused (the error
    names its line). A lead may import any assessor's rows, anyone else only their own; consensus rows
    need record_consensus's rule (`co_signer` as there: the other assessor, when an assessor imports it).
    An outcome is read as `rob start` reads it: a new name close to a known one (stored, the protocol's,
    or an earlier row's) is refused unless `new_outcomes` names it as a different result.

    A non-lead's consensus rows wait for the independent assessments finished before the import (one this
    file finishes does not count): checked against the other assessor's answers, a refusal that stores
    nothing would tell an assessor who had not finished what the other answered.

    A row of another assessor (from a non-lead), or a consensus row `actor` may not record, is left out
    and counted as present when `actor`'s own export would write it as it stands (_Exported: their
    export imported back), and refused as before otherwise."""
    # Only the support (a justification) may run over several lines; a line break elsewhere is a quote left open.
    table = read_csv_rows(path, ("study", "assessor", "question", "answer"), BASE_COLUMNS, multiline=("support",))
    # A column of another table (a misspelt "suport") was dropped unread; refused once, as the header's, as
    # `extract import` refuses one. A column left empty throughout is ignored, as there.
    unknown = [c for c in dict.fromkeys(k for _, raw in table for k in raw)
               if c not in COLUMNS and any((raw.get(c) or "").strip() for _, raw in table)]
    if unknown:
        raise ParseError(f"{', '.join(unknown)}: not {'a column' if len(unknown) == 1 else 'columns'} of a "
                         f"risk-of-bias table (columns: {', '.join(COLUMNS)})", file=str(path), line=1,
                         hint="nothing was imported")
    tool = review.protocol.risk_of_bias.tool
    count = 0
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor)
        # Read before anything is written: the file's rows are all read first (the loop below).
        exported = _Exported(session, review, who)
        groups: dict[tuple[int, str, str, bool], _Group] = {}
        outcomes = _Outcomes(stored_outcomes(session), protocol_outcomes(review), {outcome_key(n) for n in new_outcomes})
        for line, raw in table:
            def fail(message: str, line: int = line) -> ParseError:
                return ParseError(message, file=str(path), line=line, hint="nothing was imported")

            cell = {k: (raw.get(k) or "").strip() for k in COLUMNS}
            study_id = _study(session, cell["study"], fail)
            consensus = _yes_no(cell["consensus"], fail)
            if cell["assessor"] and reviewer_by_name(session, cell["assessor"]) is None:
                raise fail(f"unknown assessor '{cell['assessor']}'")
            if not cell["assessor"] and not consensus:
                raise fail("empty assessor (only a consensus row may leave it empty)")
            if consensus:
                may_not = not exported.may_record_consensus(study_id, cell["outcome"], co_signer)
            else:
                may_not = cell["assessor"] != who.name and "lead" not in who.roles
            if may_not and exported.shows(study_id, consensus, cell):
                # What is stored, as their export shows it: their export imported back stores nothing.
                count += 1
                continue
            if not consensus and cell["assessor"] != who.name and "lead" not in who.roles:
                # Checked before any stored answer is read: their errors would tell another's answers.
                raise PermissionDenied(f"{who.name} may import only their own assessments, not "
                                       f"{cell['assessor']}'s (a lead may import anyone's)",
                                       where=f"{path}, line {line}", hint="nothing was imported")
            if cell["tool"] and cell["tool"].lower() != tool:
                raise fail(f"tool '{cell['tool']}' but the protocol uses {tool}")
            variant = _variant(tool, cell["variant"] or (review.protocol.risk_of_bias.variant if tool != "rob1" else ""),
                               fail)
            # A consensus row's assessor is whoever recorded it: one consensus per study and outcome.
            assessor = "" if consensus else cell["assessor"]
            # One result however it is typed, as `rob start` reads it (stored, protocol, or this file's).
            outcome = outcomes.read(study_id, cell["outcome"], groups, path, line)
            key = (study_id, outcome, assessor, consensus)
            group = groups.setdefault(key, _Group(study_id, outcome, assessor, consensus, variant, line))
            if group.variant != variant:
                raise fail(f"variant '{variant}' differs from line {group.first_line}'s ({group.variant})")
            _add_row(group, tool, cell, line, fail)
            count += 1
        # Each study's assessments are read below and added to, so its row is locked first, as
        # start_assessment and record_consensus lock it (in one order: two imports cannot deadlock).
        for study_id in sorted({g.study_id for g in groups.values()}):
            store.study(session, study_id, lock=True)
        stored = 0
        left_open: list[str] = []
        for group in groups.values():
            _check_group(tool, group, path)
        # Blinding: a non-lead's consensus rows wait for the assessments finished BEFORE this import. An
        # assessor's own assessment finished by this very file would otherwise open the comparison inside
        # an all-or-nothing transaction: the consensus rows would be checked against the other assessor's
        # answers (_check_shared names the answers both gave) and a refusal would store nothing, telling an
        # assessor who has not finished what the other answered. A lead sees every assessment anyway.
        ready = {(g.study_id, g.outcome): "lead" in who.roles or all_finished(session, review, g.study_id, g.outcome)
                 for g in groups.values() if g.consensus}
        # The independent assessments first: a consensus waits until they are finished.
        for group in sorted(groups.values(), key=lambda g: g.consensus):
            if group.consensus:
                _check_consensus(session, review, who, group, co_signer, path)
                if not ready[(group.study_id, group.outcome)]:
                    exc = consensus_waits(review, group.study_id, group.outcome)
                    raise ReviewkitError(exc.message, where=f"{path}, line {group.first_line}",
                                         hint="nothing was imported; import your own assessment first (it is "
                                              "finished when it judges every domain), then the consensus rows")
            changed, still_open = _write_group(session, review, tool, group, who, path)
            stored += changed
            if still_open:
                label = store.study(session, group.study_id)
                left_open.append(f"{label.label if label else group.study_id} / {group.outcome or '(no outcome)'} "
                                 f"({'consensus' if group.consensus else group.assessor}): {still_open}")
        if tool == "rob1":
            refuse_unalike(session, sorted({g.study_id for g in groups.values()}), str(path))
    return RobImport(stored, count - stored, tuple(left_open))


class _Exported:
    """The rows `who`'s export (assess_export) would write, to leave out those of a file that state what
    is stored where `who` may not write them: another assessor's rows (from a non-lead), and consensus rows
    `who` may not record (assess_access.check_consensus). Only what `who` may see is matched (a lead's
    export has every assessment; anyone else's the consensus, their own, and others' once blinding has
    ended for them), so a row of an assessment blinded to them is never present: it is refused as every
    such row was, before its stored answers are read. A row is matched as the import reads it: study by
    id, answer without case, an empty tool or variant as the protocol's, an empty `proposed` as any
    (`overridden` is not read); the rest, support included, as written."""

    def __init__(self, session: Session, review: Review, who: ReviewerRow) -> None:
        self.session, self.review, self.who = session, review, who
        self.tool = review.protocol.risk_of_bias.tool
        self.variant = "" if self.tool == "rob1" else (review.protocol.risk_of_bias.variant or "").lower()
        self._rows: tuple[set[tuple[object, ...]], set[tuple[object, ...]]] | None = None
        self._consensus: dict[tuple[int, str], bool] = {}

    def _key(self, study_id: int, consensus: bool, cell: dict[str, str]) -> tuple[object, ...]:
        variant = "" if self.tool == "rob1" else (cell["variant"] or self.variant).lower()
        # The consensus's assessor is whoever recorded it last: the import does not read it.
        return (study_id, cell["outcome"], "" if consensus else cell["assessor"], consensus,
                (cell["tool"] or self.tool).lower(), variant, cell["question"], cell["answer"].lower(),
                cell["support"])

    def _load(self) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
        if self._rows is None:
            # The latest of an assessor's (or the consensus's) assessments: the one an import writes into.
            latest = {(v.study_id, v.outcome, v.is_consensus, "" if v.is_consensus else v.assessor): v
                      for v in visible_views(self.session, self.review, self.who)}
            full: set[tuple[object, ...]] = set()
            for view in latest.values():
                for row in export_rows([view]):
                    cell = {k: v.strip() for k, v in zip(COLUMNS, row, strict=True)}
                    full.add((*self._key(view.study_id, view.is_consensus, cell), cell["proposed"]))
            self._rows = full, {key[:-1] for key in full}
        return self._rows

    def shows(self, study_id: int, consensus: bool, cell: dict[str, str]) -> bool:
        """Whether the row, one `who` may not write, is one of their export's (read as the class says)."""
        full, any_proposed = self._load()
        key = self._key(study_id, consensus, cell)
        return (*key, cell["proposed"]) in full if cell["proposed"] else key in any_proposed

    def may_record_consensus(self, study_id: int, outcome: str, co_signer: str | None) -> bool:
        """Whether `who` may record the consensus of the study's outcome (the import checks it again)."""
        if (study_id, outcome) not in self._consensus:
            try:
                check_consensus(self.session, self.review, self.who, study_id, outcome, co_signer)
            except ReviewkitError:
                self._consensus[(study_id, outcome)] = False
            else:
                self._consensus[(study_id, outcome)] = True
        return self._consensus[(study_id, outcome)]


def _study(session: Session, ref: str, fail: Callable[[str], ParseError]) -> int:
    """The row's study, read as every command reads one (study_ref), its refusal on the row's line."""
    try:
        return study_id_in(session, ref)
    except ReviewkitError as exc:
        raise fail(exc.message if not exc.hint else f"{exc.message} ({exc.hint})") from None


@dataclass
class _Outcomes:
    """How an import reads its rows' outcomes: as `rob start` does (assess_outcomes), against the names
    stored when it began (read once, not per row), the protocol's and the file's earlier rows'."""

    stored: list[tuple[int, str]]
    protocol: list[str]
    #: The names (outcome_key) given as new results (--new-outcome).
    confirmed: set[str]
    #: (study, outcome_key) → the name read: the rows of one assessment repeat it.
    read_before: dict[tuple[int, str], str] = field(default_factory=dict)

    def read(self, study_id: int, name: str, groups: Collection[tuple[int, str, str, bool]], path: Path,
             line: int) -> str:
        """The row's outcome as the review or an earlier row spells it; a near-miss is refused on the
        row's line, naming the close names and how to import it as a new result."""
        key = (study_id, outcome_key(name))
        if key in self.read_before:
            return self.read_before[key]
        # This study's earlier rows first, as its stored assessments come first: a second assessor joins the first.
        also = [k[1] for k in groups if k[0] == study_id] + [k[1] for k in groups if k[0] != study_id]
        known = known_outcomes(self.stored, self.protocol, study_id, also)
        try:
            self.read_before[key] = resolve_outcome(name, known, self.protocol, new_outcome=key[1] in self.confirmed)
        except OutcomeNearMiss as exc:
            named = ", ".join(f"'{c}'" for c in exc.close)
            raise ParseError(
                f"outcome '{exc.outcome}' is close to {named}, already used (by an assessment, the protocol or an "
                "earlier row): a second spelling would make a separate result", file=str(path), line=line,
                hint=f"nothing was imported; write '{exc.close[0]}', or, if '{exc.outcome}' is a different result, "
                     f"import again with --new-outcome '{exc.outcome}'") from None
        return self.read_before[key]


def _yes_no(value: str, fail: Callable[[str], ParseError]) -> bool:
    if value.lower() in ("yes", "y", "true", "1"):
        return True
    if value.lower() in ("", "no", "n", "false", "0"):
        return False
    raise fail(f"consensus '{value}' is not yes or no")


def _variant(tool: str, value: str, fail: Callable[[str], ParseError]) -> str | None:
    """The row's RoB 2 variant (`value`: the cell, else the protocol's); RoB 1 has none, so a cell giving
    one is refused rather than dropped."""
    if tool == "rob1":
        if value:
            raise fail(f"variant '{value}': the protocol uses rob1, which has no variant (leave the column empty)")
        return None
    try:
        return rob2.Variant(value.lower()).value
    except ValueError:
        raise fail(f"variant '{value}' is not a RoB 2 variant (use assignment or adherence)") from None


def _add_row(group: _Group, tool: str, cell: dict[str, str], line: int, fail: Callable[[str], ParseError]) -> None:
    qid, support = cell["question"], cell["support"] or None
    if qid in group.answers or qid in group.judgements:
        raise fail(f"question '{qid}' given twice for this assessment")
    if qid == "overall" or (tool == "rob2" and qid in domain_keys(tool)):
        try:
            final = judgement_code(tool, cell["answer"])
            proposed = judgement_code(tool, cell["proposed"]) if cell["proposed"] else None
        except ReviewkitError as exc:
            raise fail(f"{qid}: {exc.message}") from None
        group.judgements[qid] = (final, support or "", line, proposed)
        return
    try:
        code = answer_code(tool, group.variant, qid, cell["answer"])
    except ReviewkitError as exc:
        raise fail(exc.message) from None
    group.answers[qid] = (code, support, line)


def _check_group(tool: str, group: _Group, path: Path) -> None:
    """The answers of one assessment as a whole: conditions between questions are met."""
    _, problems = normalise_answers(tool, group.variant, {q: a for q, (a, _, _) in group.answers.items()})
    if problems:
        qid, problem = problems[0]
        raise ParseError(f"question {qid}: {problem}", file=str(path), line=group.answers[qid][2],
                         hint="nothing was imported")


def _check_consensus(session: Session, review: Review, who: ReviewerRow, group: _Group, co_signer: str | None,
                     path: Path) -> None:
    """Refuse a consensus group unless `who` may record that consensus (assess_access.check_consensus)."""
    try:
        check_consensus(session, review, who, group.study_id, group.outcome, co_signer)
    except ReviewkitError as exc:
        raise type(exc)(exc.message, where=f"{path}, line {group.first_line}", hint="nothing was imported") from None


def _write_group(session: Session, review: Review, tool: str, group: _Group, actor: ReviewerRow, path: Path
                 ) -> tuple[int, str]:
    """Store one assessment's rows; returns how many of them changed what is stored, and why the
    assessment is left open ("" when it is finished)."""
    # A consensus is recorded as the importing reviewer, as record_consensus records it.
    who = actor if group.consensus else reviewer_by_name(session, group.assessor)
    existing = [a for a in store.assessments(session, study_id=group.study_id, outcome=group.outcome)
                if a.is_consensus == group.consensus and (group.consensus or a.assessor_id == (who.id if who else None))]
    row = existing[-1] if existing else None
    where = f"{path}, line {group.first_line}"
    if row is None:
        independents = [a for a in store.assessments(session, study_id=group.study_id, outcome=group.outcome)
                        if not a.is_consensus]
        if not group.consensus and len(independents) >= review.protocol.risk_of_bias.assessors_per_study:
            raise ReviewkitError("the study and outcome already have all their assessors", where=where,
                                 hint="nothing was imported")
        row = store.add_assessment(session, study_id=group.study_id, outcome=group.outcome, tool=tool,
                                   variant=group.variant, assessor=who, is_consensus=group.consensus,
                                   actor=actor.name)
        # RoB 1: a new outcome starts from the assessor's per-study judgements of the study, as `rob start`
        # does; the file's rows then change them (refuse_unalike keeps the outcomes alike)
        carry_into(session, row, actor.name)
    assert row.id is not None
    clean, _ = normalise_answers(tool, group.variant, {q: a for q, (a, _, _) in group.answers.items()})
    if group.consensus:
        _check_shared(session, tool, group, clean, path)
    finished = store.is_finished(session, row.id)
    who_acts = actor.name
    stored = 0
    for qid in sorted(clean, key=row_order):
        added = store.add_answer(session, row, qid, clean[qid], group.answers[qid][1], who_acts)
        stored += added is not None
        if added is not None and finished and not group.consensus:
            raise ReviewkitError(f"the assessment by {group.assessor} is finished; it cannot be changed",
                                 where=f"{path}, line {group.answers[qid][2]}", hint="nothing was imported")
    # Domains first: the overall's proposal follows from their judgements.
    for key in sorted(group.judgements, key=row_order):
        stored += _write_judgement(session, row, group, key, who_acts, finished, path)
    view = _view(session, row)
    still_open = _why_open(view)
    complete = all(d.final is not None for d in (*view.domains, view.overall))
    if not finished and complete and not still_open:
        store.add_judgement(session, row, store.STATUS, proposed=None, final="finished", justification=None,
                            actor=who_acts, action="finish")
    return stored, "" if finished else still_open


def _check_shared(session: Session, tool: str, group: _Group, clean: dict[str, str], path: Path) -> None:
    """Consensus rows keep the answers the assessors share, as `rob consensus` does (refused on the line
    of the first that contradicts one)."""
    shared = shared_answers(session, group.study_id, group.outcome)
    clash = sorted((q for q in clean if q in shared and shared[q][0] != clean[q]), key=row_order)
    if not clash:
        return
    try:
        refuse_contradicting(tool, shared, {q: clean[q] for q in clash}, "the consensus")
    except ReviewkitError as exc:
        line = group.answers[clash[0]][2]
        raise ReviewkitError(exc.message, where=f"{path}, line {line}",
                             hint=f"nothing was imported; {exc.hint}") from None


def _write_judgement(session: Session, row: RobAssessmentRow, group: _Group, key: str, actor: str, finished: bool,
                     path: Path) -> int:
    """Store one judgement row as the module's docstring says (checked against the answers stored by
    now); returns 1 if it changed what is stored."""
    final, why, line, proposed_in_file = group.judgements[key]
    view = _view(session, row)
    current = view.domain(key)
    proposed = current.proposed

    def refuse(message: str, hint: str = "nothing was imported") -> ReviewkitError:
        return ReviewkitError(f"{key}: {message}", where=f"{path}, line {line}", hint=hint)

    if proposed_in_file is not None and proposed_in_file != proposed:
        raise refuse(f"the row says the proposed judgement is {_shown(proposed_in_file)}, but the answers give "
                     f"{_shown(proposed)}: an answer or this judgement was changed, and they no longer go together",
                     hint="nothing was imported; correct the answers, or the judgement row (an override of what "
                          "the answers give needs its justification in the support column; an empty proposed "
                          "cell reads the row against the answers as they are)")
    if final != proposed and not why:
        raise refuse(f"the override of {key} ({_shown(proposed)} → {_shown(final)}) needs its justification in "
                     "the support column")
    if final == proposed and not why:
        if not current.chosen:
            return 0  # the proposal, as stored: nothing to record
        final_code: str | None = None  # back to the proposal, as `rob override` without a reason
    else:
        stored_row = store.current_judgements(session, row.id).get(key)  # type: ignore[arg-type]
        if stored_row is not None and stored_row.final == final and (stored_row.justification or "") == why:
            return 0
        final_code = final
    if finished and not group.consensus:
        raise ReviewkitError(f"the assessment by {group.assessor} is finished; it cannot be changed",
                             where=f"{path}, line {line}", hint="nothing was imported")
    store.add_judgement(session, row, key, proposed=proposed, final=final_code, justification=why or None,
                        actor=actor, action="override" if final_code is not None else "accept")
    return 1


def _shown(code: str | None) -> str:
    return code.replace("_", " ") if code else "incomplete"


def _why_open(view: AssessmentView) -> str:
    """Why an imported assessment that judges every domain is not marked finished ("" when it may be,
    or when it is incomplete: it then stays open as it always has)."""
    missing = [d.key for d in (*view.domains, view.overall) if d.final is None]
    if missing:
        # Not named by the import: a file of answers only, or part of them, is usual and has always stayed open.
        return ""
    if view.escalation_required:
        return (f"Some concerns in {', '.join(view.concerns)}: the choice to escalate to High or not is open "
                "(an overall row with the reason records it)")
    return ""


def _view(session: Session, row: RobAssessmentRow) -> AssessmentView:
    assert row.id is not None
    return build_view(row, "", None, store.current_answers(session, row.id), store.current_judgements(session, row.id))

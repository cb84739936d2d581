"""Provides studies and their reports: listing, naming, linking, confirming or rejecting proposed links.

Dedup proposes the links (a registry record and the papers citing its NCT number); a reviewer on the
team confirms, rejects, adds or marks the main report. Every change is audited and nothing is deleted:
a rejected link stays, as rejected, and PRISMA counts every link that is not rejected. When dedup
removes a linked record as a duplicate, its links carry over to the group's primary record
(`carry_links_to_primary`); the removed record's own link stays, shown, but no longer counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewkit.domain.names import name_too_long
from reviewkit.domain.records import find_nct_ids
from reviewkit.errors import Fix, ReviewkitError
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.store import dedup as store
from reviewkit.store.db import retry_conflicts, session_scope
from reviewkit.store.tables import AuditEventRow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlmodel import Session

    from reviewkit.store.tables import RecordRow, StudyReportRow, StudyRow

#: Where a refusal points for the list of studies and their reports.
LIST_HINT = "list them with `reviewkit studies`"
# The refusals' `fix` (the studies screen words it in its keys, as `hint` names the CLI's commands):
# Fix("link", (study, record)) links the record to the study; Fix("list") lists the studies and their
# reports; Fix("record_ids") finds a record's id.


@dataclass(frozen=True)
class ReportView:
    """One record linked to a study: the link's status and main flag, and the record for display."""

    record_id: int
    #: proposed (by dedup's NCT matching), confirmed or rejected.
    status: str
    main: bool
    title: str
    year: int | None
    first_author: str
    pmid: str | None
    #: citation or registry.
    kind: str
    #: The primary record of the duplicate group that removed this record (None: not a removed duplicate).
    duplicate_of: int | None = None
    #: A registry record's own trial id (its NCT number).
    registry_id: str = ""

    @property
    def label(self) -> str:
        """A short name: first author and year, or "registry NCT…" for a registry record."""
        if self.kind == "registry":
            return f"registry {self.registry_id}".strip()
        return " ".join(p for p in (self.first_author, str(self.year or "")) if p) or f"record {self.record_id}"


@dataclass(frozen=True)
class StudyView:
    """A study with its reports: record id → link status of the records that count (removed duplicates
    left out), and each link in full, removed duplicates' included (`links`)."""

    id: int
    label: str
    nct_id: str | None
    reports: dict[int, str]
    links: tuple[ReportView, ...] = ()

    @property
    def main_report(self) -> int | None:
        """The record marked as the study's main report, if any."""
        return next((r.record_id for r in self.links if r.main), None)

    @property
    def proposed(self) -> int:
        """Links still waiting for a reviewer's confirmation or rejection (a removed duplicate's link
        waits for nobody: its group's primary record carries it)."""
        return sum(r.status == "proposed" and r.duplicate_of is None for r in self.links)

    @property
    def report_count(self) -> int:
        """The reports that count: links not rejected, of records that are not removed duplicates."""
        return sum(r.status != "rejected" and r.duplicate_of is None for r in self.links)


def list_studies(review: Review, *, proposed_only: bool = False) -> list[StudyView]:
    """Every study (only those with proposals waiting, when asked) with its report links, oldest first."""
    with session_scope(review.engine) as session:
        views = _views(session, store.study_rows(session))
    return [v for v in views if v.proposed] if proposed_only else views


def study_view(review: Review, study_id: int) -> StudyView:
    """One study with its report links; an unknown id is refused by its number."""
    with session_scope(review.engine) as session:
        return _views(session, [_study(session, study_id)])[0]


def _views(session: Session, studies: list[StudyRow]) -> list[StudyView]:
    wanted = {s.id for s in studies}
    links = [ln for ln in store.study_report_links(session) if ln.study_id in wanted]
    records = store.linked_records(session, (ln.record_id for ln in links))
    removed = _removed_duplicates(session)
    by_study: dict[int, list[ReportView]] = {}
    for ln in links:
        by_study.setdefault(ln.study_id, []).append(_report_view(ln, records[ln.record_id], removed))
    out = []
    for s in studies:
        assert s.id is not None  # read from the database
        reports = tuple(by_study.get(s.id, ()))
        counted = {r.record_id: r.status for r in reports if r.duplicate_of is None}
        out.append(StudyView(s.id, s.label, s.nct_id, counted, reports))
    return out


def _report_view(link: StudyReportRow, row: RecordRow, removed: dict[int, tuple[int, int]]) -> ReportView:
    first = row.authors[0].split(",")[0].strip() if row.authors else ""
    return ReportView(link.record_id, link.status, link.is_main_report, row.title, row.year, first, row.pmid,
                      row.kind, removed[link.record_id][1] if link.record_id in removed else None,
                      str((row.registry_info or {}).get("nct_id") or "") if row.kind == "registry" else "")


def _removed_duplicates(session: Session) -> dict[int, tuple[int, int]]:
    """record → (its live duplicate group, that group's primary record), for records dedup removed."""
    return {m: (gid, primary) for gid, (primary, members) in store.live_groups(session).items()
            for m in members if m != primary}


def carry_links_to_primary(session: Session, primary: int, removed: list[int], actor: str,
                           group_id: int | None = None) -> tuple[int, list[str]]:
    """Carry the study links of records a duplicate group removed over to its primary record (inside the
    caller's transaction): the links changed, and the conflicts left for a reviewer to settle.

    The primary gets the link a removed record had (status and main flag), unless it has one a
    reviewer already decided (confirmed or rejected): a human verdict is never overwritten, and one
    that disagrees is reported. A link an undone merge withdrew was nobody's verdict, so it is carried to. A proposal never changes a decided link. The removed record's own
    link row stays (it only gives up the main flag, one main report per study); nothing is deleted.
    """
    changed, conflicts = 0, []
    for rid in sorted(removed):
        for study_id in sorted({ln.study_id for ln in store.links_of_record(session, rid)}):
            store.study(session, study_id, lock=True)  # as every change to a study's links (see store.study)
            link, have = store.study_link(session, study_id, rid), store.study_link(session, study_id, primary)
            if link is None:
                continue
            # A link an undone merge withdrew is no reviewer's verdict: it takes the carry like a proposal.
            undecided = have is not None and (have.status == "proposed" or store.withdrawn_by_undo(session, have))
            if have is None or (undecided and link.status != "proposed"):
                store.carry_link(session, study_id, primary, link.status, actor, from_record=rid, group_id=group_id)
                changed += 1
            elif link.status not in ("proposed", have.status):
                conflicts.append(f"study {study_id}: record {rid} is {link.status}, its primary record {primary} "
                                 f"{have.status}")
                continue
            if link.is_main_report and store.set_main_report(session, study_id, primary, actor):
                session.add(AuditEventRow(actor=actor, entity="study_report", record_id=primary, action="carry main",
                                          new={"study": study_id, "from_record": rid, "group": group_id}))
                changed += 1
    return changed, conflicts


def take_back_carried_links(session: Session, group_id: int, actor: str) -> list[str]:
    """Undo what a group's merge carried to its primary (inside the caller's transaction), newest first:
    the main report goes back to the record it came from, and a link the primary got only from the
    merge is withdrawn (rejected, audited as such: nothing is deleted) or set back to what it was.
    A link a reviewer changed since is left as they set it, and named in the returned notes."""
    notes: list[str] = []
    why = {"reason": f"merge of duplicate group {group_id} undone"}
    for event in reversed(store.carried_by_group(session, group_id)):
        new, primary = event.new, event.record_id
        study_id, source = int(new["study"]), int(new["from_record"])
        store.study(session, study_id, lock=True)
        if event.action == "carry main":
            back = store.study_link(session, study_id, source)
            now = store.study_link(session, study_id, primary)  # type: ignore[arg-type]
            if now is not None and now.is_main_report and back is not None and back.status != "rejected":
                store.set_main_report(session, study_id, source, actor)
            continue
        link = store.study_link(session, study_id, primary)  # type: ignore[arg-type]
        if link is None:
            continue
        if link.status != new["status"]:
            notes.append(f"study {study_id}: record {primary}'s link, carried from record {source}, was set to "
                         f"{link.status} since; left as it is")
            continue
        before = (event.old or {}).get("status") or _as_dedup_would(session, study_id, link.record_id)
        store.withdraw_link(session, link, before, actor, "carry undone", why)
    return notes


def _as_dedup_would(session: Session, study_id: int, record_id: int) -> str:
    """A link the record had only from a merge: "proposed" when the record itself cites the study's NCT
    number (as dedup proposes such links), else "rejected" (withdrawn; a rejection also keeps it from
    being proposed again)."""
    study = store.study(session, study_id)
    row = store.linked_records(session, [record_id]).get(record_id)
    cited = find_nct_ids(*(row.nct_ids or []), row.title, row.abstract) if row is not None else ()
    return "proposed" if study is not None and study.nct_id in cited else "rejected"


def study_with_nct(session: Session, nct_id: str) -> StudyRow | None:
    """The (oldest) study registered as `nct_id`, NCT ids compared without case or spaces.

    Stored ids come from several hands (dedup proposals, imports, archives), so one written
    'nct 03334396' is still the same trial as NCT03334396.
    """
    wanted = _nct_key(nct_id)
    return next((s for s in store.study_rows(session) if s.nct_id and _nct_key(s.nct_id) == wanted), None)


def _nct_key(nct_id: str) -> str:
    return "".join(nct_id.split()).upper()


@retry_conflicts
def rename_study(review: Review, actor: str | None, study_id: int, label: str) -> str:
    """Give a study its usual name (e.g. the trial's acronym), audited; returns the name it had."""
    if not label.strip():
        raise ReviewkitError("a study needs a name")
    if (long := name_too_long(label.strip(), "the study's name")) is not None:
        raise ReviewkitError(long, hint="name a study by its trial's acronym or registry id")
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor).name
        study = _study(session, study_id)
        old = study.label
        if old != label.strip():
            # Imported here, its only user in this module. Imports find studies by label: a shared
            # one would send one study's data to the other.
            from reviewkit.services.study_labels import check_label_free

            check_label_free(session, label.strip(), other_than=study_id)
            store.set_study_label(session, study_id, label.strip(), who)
        return old


def rename_summary(study_id: int, old: str, label: str) -> str:
    """What a rename did, in one line."""
    new = label.strip()
    return (f"study {study_id}: renamed {old!r} → {new!r}" if old != new
            else f"study {study_id} is already named {new!r}; nothing changed")


@dataclass(frozen=True)
class LinkChange:
    """What a change to a study's report links did (or, `changed` False, that it was so already)."""

    study_id: int
    study_label: str
    record_id: int
    #: The link's status before (None: the record was not linked) and after.
    old_status: str | None
    status: str
    main: bool
    changed: bool
    #: The study's main report before, when another record was (after `set_main_report` or a rejection).
    main_before: int | None = None

    def summary(self) -> str:
        """What happened, in one line (the CLI prints it, the TUI shows it)."""
        head = f"study {self.study_id} ({self.study_label}): record {self.record_id}"
        if not self.changed:
            return f"{head} is already {'the main report' if self.main else self.status}; nothing changed"
        was = f" (was {self.old_status})" if self.old_status else ""
        if self.status == "rejected":
            lost = "; it is no longer the main report" if self.main_before == self.record_id else ""
            return f"{head} rejected{was}: it no longer counts as a report of this study{lost}"
        if self.main:
            before = f" instead of record {self.main_before}" if self.main_before is not None else ""
            confirmed = f" (its {self.old_status} link confirmed)" if self.old_status == "proposed" else ""
            return f"{head} is now the main report{before}{confirmed}"
        if self.old_status is None:
            return f"{head} linked as a confirmed report"
        return f"{head} confirmed as a report{was}"


@retry_conflicts
def set_report_link(review: Review, actor: str | None, study_id: int, record_id: int,
                    confirmed: bool) -> LinkChange:
    """Confirm (or reject) that a record reports a study; a proposal is never used silently.

    Only an existing link is confirmed or rejected (`link_report` adds one). A rejected link stays,
    marked rejected, and is no longer the study's main report; a removed duplicate's link may be
    rejected but not confirmed (its group's primary record is the report to link).
    """
    status = "confirmed" if confirmed else "rejected"
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor).name
        study = _study(session, study_id, lock=True)
        _record(session, record_id, study_id, check_duplicate=confirmed)
        link = store.study_link(session, study_id, record_id)
        if link is None:
            what = "nothing to reject" if not confirmed else "nothing to confirm"
            raise ReviewkitError(f"record {record_id} is not linked to study {study_id} ({study.label}): {what}",
                                 hint=f"to add the link: reviewkit studies link {study_id} {record_id}"
                                 if confirmed else LIST_HINT,
                                 fix=Fix("link", (study_id, record_id)) if confirmed else Fix("list"))
        old, was_main = link.status, link.is_main_report
        # A link an undone merge withdrew reads "rejected" but nobody rejected it: a reviewer's rejection
        # of it is recorded, so that a later merge does not carry over it (carry_links_to_primary).
        if old == status and not (status == "rejected" and store.withdrawn_by_undo(session, link)):
            return LinkChange(study_id, study.label, record_id, old, status, was_main, False)
        store.set_link_status(session, study_id, record_id, status, who)
        return LinkChange(study_id, study.label, record_id, old, status, link.is_main_report, True,
                          record_id if was_main and not link.is_main_report else None)


@retry_conflicts
def link_report(review: Review, actor: str | None, study_id: int, record_id: int) -> LinkChange:
    """Link a record to a study as a confirmed report (a paper without an NCT number, or the second trial
    of a paper reporting two); a proposed or rejected link of the pair is confirmed, never duplicated."""
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor).name
        study = _study(session, study_id, lock=True)
        _record(session, record_id, study_id)
        link = store.study_link(session, study_id, record_id)
        if link is not None and link.status == "confirmed":
            return LinkChange(study_id, study.label, record_id, "confirmed", "confirmed", link.is_main_report, False)
        old = store.confirm_study_link(session, study_id, record_id, who)
        return LinkChange(study_id, study.label, record_id, old, "confirmed", bool(link and link.is_main_report),
                          True)


@retry_conflicts
def set_main_report(review: Review, actor: str | None, study_id: int, record_id: int) -> LinkChange:
    """Mark the study's main report (one per study: the one marked before is unmarked).

    The record must be linked to the study and not rejected; a proposed link is confirmed, since
    naming a record the main report says it reports the study.
    """
    with session_scope(review.engine, write=True) as session:
        who = acting_reviewer(session, actor).name
        study = _study(session, study_id, lock=True)
        _record(session, record_id, study_id)
        link = store.study_link(session, study_id, record_id)
        if link is None or link.status == "rejected":
            why = "is not linked to" if link is None else "was rejected as a report of"
            raise ReviewkitError(f"record {record_id} {why} study {study_id} ({study.label}), so it cannot be "
                                 "its main report", hint=f"link it first: reviewkit studies link {study_id} {record_id}",
                                 fix=Fix("link", (study_id, record_id)))
        old = link.status
        if link.is_main_report and old == "confirmed":
            return LinkChange(study_id, study.label, record_id, old, old, True, False)
        before = store.set_main_report(session, study_id, record_id, who)
        return LinkChange(study_id, study.label, record_id, old, "confirmed", True, True,
                          before[0] if before else None)


def _study(session: Session, study_id: int, *, lock: bool = False) -> StudyRow:
    """The study, or an error naming the id; `lock` before changing its links (see store.study):
    a change checked on the links read (one main report, no link yet) then still holds."""
    study = store.study(session, study_id, lock=lock)
    if study is None:
        raise ReviewkitError(f"no study {study_id}", hint=LIST_HINT, fix=Fix("list"))
    return study


def link_in_session(session: Session, study_id: int, record_id: int, actor: str) -> str | None:
    """Link a record to a study as a confirmed report inside the caller's transaction, under the same
    rules as link_report (a known record, not a removed duplicate); the status the link had."""
    store.study(session, study_id, lock=True)  # as link_report: another link of the pair may be on its way
    _record(session, record_id, study_id)
    return store.confirm_study_link(session, study_id, record_id, actor)


def check_report_record(session: Session, record_id: int) -> None:
    """Refuse a record a new study could not take as a report (unknown, or a removed duplicate), before the
    study is made: the refusal then names no study id, as the study it would name is never created."""
    _record(session, record_id, None)


def _record(session: Session, record_id: int, study_id: int | None, *, check_duplicate: bool = True) -> None:
    """Refuse an unknown record, and (check_duplicate) one dedup removed, naming its group's primary
    (and the command linking it to `study_id`, when the study exists)."""
    if not store.linked_records(session, [record_id]):
        raise ReviewkitError(f"no record {record_id}", hint="record ids are in `reviewkit dedup export FILE.csv`",
                             fix=Fix("record_ids"))
    removed = _removed_duplicates(session).get(record_id) if check_duplicate else None
    if removed is not None:
        group, primary = removed
        raise ReviewkitError(f"record {record_id} is a removed duplicate: duplicate group {group} keeps record "
                             f"{primary} as its primary record",
                             hint=f"link the primary instead: reviewkit studies link {study_id} {primary}"
                             if study_id is not None else f"give the primary, record {primary}, instead",
                             fix=Fix("link", (study_id, primary)) if study_id is not None else None)


def add_study(review: Review, actor: str | None, label: str, *, nct_id: str | None = None,
              record_ids: Sequence[int] = ()) -> str:
    """Create a study and link records to it as confirmed reports (`studies add`): the second trial of a
    paper reporting two, whose registry record was not found. A label that is an NCT id is the study's
    NCT id too. Returns what was done, in a line."""
    return new_study(review, actor, label, nct_id=nct_id, record_ids=record_ids)[1]


def new_study(review: Review, actor: str | None, label: str, *, nct_id: str | None = None,
              record_ids: Sequence[int] = ()) -> tuple[int, str]:
    """`add_study`, returning the new study's id as well (`a` on the studies screen moves to it, so the
    `l` that links its reports next acts on it) and what was done, in a line."""
    from reviewkit.services.extract import create_study  # extract imports this module

    own = find_nct_ids(label)
    nct = nct_id or (own[0] if len(own) == 1 and own[0] == label.strip().upper() else None)
    made = create_study(review, actor, label, nct_id=nct, record_ids=record_ids)
    reports = f", {made.reports} report{'s' if made.reports != 1 else ''} linked" if made.reports else ""
    return made.id, f"study {made.id} {made.label} added{f' ({made.nct_id})' if made.nct_id else ''}{reports}"


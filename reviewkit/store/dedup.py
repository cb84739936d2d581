"""Provides the dedup writes and reads: groups, members, candidate pairs, study proposals (nothing deleted)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from sqlmodel import Session, col, select

from reviewkit.store.studies import NctTaken, add_study
from reviewkit.store.tables import (
    AdjudicationRow,
    AuditEventRow,
    DuplicateGroupRow,
    DuplicateMemberRow,
    DuplicatePairRow,
    RecordRow,
    RecordSourceRow,
    ScreeningDecisionRow,
    StudyReportRow,
    StudyRow,
    utcnow,
)


def live_groups(session: Session) -> dict[int, tuple[int, list[int]]]:
    """group id → (primary record id, member record ids) for groups not undone."""
    out: dict[int, tuple[int, list[int]]] = {}
    for group, member in session.exec(
        select(DuplicateGroupRow, DuplicateMemberRow.record_id)
        .join(DuplicateMemberRow, col(DuplicateMemberRow.group_id) == col(DuplicateGroupRow.id))
        .where(col(DuplicateGroupRow.undone_at).is_(None))
        .order_by(col(DuplicateGroupRow.id), col(DuplicateMemberRow.record_id))
    ):
        assert group.id is not None  # read from the database, so it has its primary key
        out.setdefault(group.id, (group.primary_record_id, []))[1].append(member)
    return out


def undone_member_sets(session: Session) -> list[set[int]]:
    """Member sets of groups a human undid (their pairs must not be merged again automatically)."""
    sets: dict[int, set[int]] = {}
    for gid, rid in session.exec(
        select(DuplicateMemberRow.group_id, DuplicateMemberRow.record_id)
        .join(DuplicateGroupRow, col(DuplicateMemberRow.group_id) == col(DuplicateGroupRow.id))
        .where(col(DuplicateGroupRow.undone_at).is_not(None))
    ):
        sets.setdefault(gid, set()).add(rid)
    return list(sets.values())


def add_group(
    session: Session, primary: int, members: Iterable[tuple[int, str, float | None]], actor: str,
    restored_from: int | None = None,
) -> DuplicateGroupRow:
    """A new group with its members (record id, how matched, score), audited (`restored_from`: the group an
    undo brought back, services.dedup_undo)."""
    group = DuplicateGroupRow(primary_record_id=primary, created_by=actor)
    session.add(group)
    session.flush()
    listed = list(members)
    for rid, method, score in listed:
        session.add(DuplicateMemberRow(group_id=group.id, record_id=rid, method=method, score=score))  # type: ignore[arg-type]
    session.add(AuditEventRow(actor=actor, entity="duplicate_group", entity_id=group.id, record_id=primary,
                              action="merge", old=None,
                              new={"primary": primary, "members": [m for m, _, _ in listed],
                                   **({"restored_from": restored_from} if restored_from is not None else {})}))
    return group


def undo_group(session: Session, group_id: int, actor: str, reason: str = "", superseded_by: int | None = None
               ) -> DuplicateGroupRow | None:
    """Mark a live group undone (its records count as separate again), audited; `superseded_by` is the
    larger group that took its records in (an undo of that one brings this one back: services.dedup_undo)."""
    group = session.get(DuplicateGroupRow, group_id)
    if group is None or group.undone_at is not None:
        return None
    group.undone_at = utcnow()
    group.undone_by = actor
    session.add(group)
    members = [m for m in session.exec(select(DuplicateMemberRow.record_id)
                                       .where(DuplicateMemberRow.group_id == group_id))]
    session.add(AuditEventRow(actor=actor, entity="duplicate_group", entity_id=group_id,
                              record_id=group.primary_record_id, action="undo",
                              old={"primary": group.primary_record_id, "members": members},
                              new={"undone": True, "reason": reason,
                                   **({"superseded_by": superseded_by} if superseded_by is not None else {})}))
    return group


def superseded_groups(session: Session, group_id: int, members: Collection[int]) -> list[int]:
    """The groups `group_id` took in when it was made (undone with superseded_by = it), oldest first. Their
    undo events are on their primaries, which are among `members`."""
    found: list[int] = []
    ids = sorted(members)
    for start in range(0, len(ids), 2_000):
        for event in session.exec(
            select(AuditEventRow).where(AuditEventRow.entity == "duplicate_group")
            .where(AuditEventRow.action == "undo")
            .where(col(AuditEventRow.record_id).in_(ids[start:start + 2_000]))
        ):
            if isinstance(event.new, dict) and event.new.get("superseded_by") == group_id and event.entity_id:
                found.append(event.entity_id)
    return sorted(set(found))


def restored_from(session: Session, group_id: int) -> int | None:
    """The group an undo brought back as `group_id` (its merge event's restored_from), or None."""
    for event in session.exec(select(AuditEventRow).where(AuditEventRow.entity == "duplicate_group")
                              .where(AuditEventRow.action == "merge").where(AuditEventRow.entity_id == group_id)):
        if isinstance(event.new, dict) and isinstance(event.new.get("restored_from"), int):
            return int(event.new["restored_from"])
    return None


def group_members(session: Session, group_id: int) -> list[DuplicateMemberRow]:
    """A group's member rows (record, how matched, score), live or undone."""
    return list(session.exec(select(DuplicateMemberRow).where(DuplicateMemberRow.group_id == group_id)
                             .order_by(col(DuplicateMemberRow.record_id))))


def pairs(session: Session, status: str | None = None) -> list[DuplicatePairRow]:
    """Candidate pairs, best first."""
    query = select(DuplicatePairRow).order_by(col(DuplicatePairRow.score).desc(), col(DuplicatePairRow.id))
    if status:
        query = query.where(DuplicatePairRow.status == status)
    return list(session.exec(query))


def open_pairs(session: Session) -> list[DuplicatePairRow]:
    """The pending pairs still worth a human's look, best first: a pair whose two records are already
    in one live group (merged through other pairs or an automatic merge) has nothing left to decide."""
    member_of = {m: gid for gid, (_, members) in live_groups(session).items() for m in members}
    return [p for p in pairs(session, "pending")
            if p.record_a_id not in member_of or member_of[p.record_a_id] != member_of.get(p.record_b_id)]


def open_pair_count(session: Session) -> int:
    """How many pairs wait for a human (`open_pairs`): what every "pairs to check" count shows."""
    return len(open_pairs(session))


def screening_progress(session: Session, record_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    """record → (stage reached: 2 full text, 1 title/abstract; its current decisions and adjudications),
    for the records screening has touched (each reviewer's latest decision per stage, retractions dropped);
    only those of `record_ids` when given (a handful: one group's members)."""
    decisions = select(ScreeningDecisionRow.record_id, ScreeningDecisionRow.reviewer_id, ScreeningDecisionRow.stage,
                       ScreeningDecisionRow.decision).order_by(col(ScreeningDecisionRow.id))
    adjudications = select(AdjudicationRow.record_id, AdjudicationRow.stage)
    if record_ids is not None:
        decisions = decisions.where(col(ScreeningDecisionRow.record_id).in_(record_ids))
        adjudications = adjudications.where(col(AdjudicationRow.record_id).in_(record_ids))
    latest: dict[tuple[int, int, str], str] = {}
    for rid, reviewer, stage, decision in session.exec(decisions):
        latest[(rid, reviewer, stage)] = decision
    current = [(rid, stage) for (rid, _, stage), decision in latest.items() if decision != "retracted"]
    current += list(session.exec(adjudications))
    out: dict[int, tuple[int, int]] = {}
    for rid, stage in current:
        reached, count = out.get(rid, (0, 0))
        out[rid] = (max(reached, 2 if stage == "ft" else 1), count + 1)
    return out


def add_pair(session: Session, a: int, b: int, score: float, fields: dict[str, float]) -> bool:
    """Queue a pair for a human unless it was queued before (in either order)."""
    a, b = min(a, b), max(a, b)
    exists = session.exec(select(DuplicatePairRow.id).where(DuplicatePairRow.record_a_id == a)
                          .where(DuplicatePairRow.record_b_id == b)).first()
    if exists is not None:
        return False
    session.add(DuplicatePairRow(record_a_id=a, record_b_id=b, score=score, fields=fields))
    return True


def pair(session: Session, pair_id: int, *, lock: bool = False) -> DuplicatePairRow | None:
    """One candidate pair by id; `lock`: locked (FOR UPDATE) until the transaction ends, read as
    committed after any other transaction holding it, so a verdict checked on it stays true."""
    return session.get(DuplicatePairRow, pair_id, with_for_update=lock)


def decide_pair(session: Session, pair_id: int, status: str, actor: str) -> DuplicatePairRow | None:
    """Set a pair's status (confirmed/rejected), audited."""
    pair = session.get(DuplicatePairRow, pair_id)
    if pair is None:
        return None
    old = pair.status
    pair.status = status
    pair.decided_by = actor
    pair.decided_at = utcnow()
    session.add(pair)
    session.add(AuditEventRow(actor=actor, entity="duplicate_pair", entity_id=pair_id,
                              record_id=pair.record_a_id, action=status,
                              old={"status": old}, new={"status": status, "records": [pair.record_a_id,
                                                                                       pair.record_b_id]}))
    return pair


def reopen_pair(session: Session, pair_id: int, actor: str) -> DuplicatePairRow | None:
    """Put a decided pair back in the queue (pending), audited with the verdict it undoes."""
    pair = session.get(DuplicatePairRow, pair_id)
    if pair is None:
        return None
    # The row describes the pair's current state; the verdict it had (and who gave it, when)
    # stays in the trail: its own event, and this one's `old`.
    old = {"status": pair.status, "decided_by": pair.decided_by,
           "decided_at": pair.decided_at.isoformat() if pair.decided_at else None}
    pair.status = "pending"
    pair.decided_by = None
    pair.decided_at = None
    session.add(pair)
    session.add(AuditEventRow(actor=actor, entity="duplicate_pair", entity_id=pair_id,
                              record_id=pair.record_a_id, action="reopen",
                              old=old, new={"status": "pending", "records": [pair.record_a_id, pair.record_b_id]}))
    return pair


def rejected_pairs(session: Session) -> set[tuple[int, int]]:
    """Pairs a human said are not duplicates."""
    return {(p.record_a_id, p.record_b_id) for p in pairs(session, "rejected")}


def records_with_ids(session: Session) -> list[RecordRow]:
    """Every record row, by id."""
    return list(session.exec(select(RecordRow).order_by(col(RecordRow.id))))


def first_source_ids(session: Session) -> dict[int, str]:
    """record → the source file's own id from its first provenance row."""
    out: dict[int, str] = {}
    for rid, sid in session.exec(select(RecordSourceRow.record_id, RecordSourceRow.source_record_id)
                                 .order_by(col(RecordSourceRow.id))):
        out.setdefault(rid, sid)
    return out


def studies_by_nct(session: Session) -> dict[str, int]:
    """Existing studies by NCT id."""
    return {nct: sid for nct, sid in session.exec(select(StudyRow.nct_id, StudyRow.id)) if nct}  # type: ignore[misc]


def add_study_links(session: Session, nct: str, label: str, record_ids: Sequence[int], actor: str) -> int:
    """Propose records as reports of the study registered as `nct` (created if new); returns links added."""
    study_id = studies_by_nct(session).get(nct)
    if study_id is not None:
        study(session, study_id, lock=True)  # its links are read, then added to (see study())
    else:
        try:
            study_id = add_study(session, label, nct_id=nct, actor=actor).id
        except NctTaken as taken:  # a concurrent run made it first: add to that one
            study_id = taken.owner.id
            assert study_id is not None
            study(session, study_id, lock=True)
    have = set(session.exec(select(StudyReportRow.record_id).where(StudyReportRow.study_id == study_id)))
    added = 0
    for rid in record_ids:
        if rid not in have:
            session.add(StudyReportRow(study_id=study_id, record_id=rid, status="proposed", created_by=actor))  # type: ignore[arg-type]
            added += 1
    return added


def study_rows(session: Session) -> list[StudyRow]:
    """Every study, by id."""
    return list(session.exec(select(StudyRow).order_by(col(StudyRow.id))))


def set_study_label(session: Session, study_id: int, label: str, actor: str) -> None:
    """Rename a study (audited)."""
    study = session.get(StudyRow, study_id)
    if study is None:
        return
    old = study.label
    study.label = label
    session.add(study)
    session.add(AuditEventRow(actor=actor, entity="study", entity_id=study_id, action="rename",
                              old={"label": old}, new={"label": label}))


def set_link_status(session: Session, study_id: int, record_id: int, status: str, actor: str) -> bool:
    """Confirm or reject a proposed report–study link (audited); False when there is no such link.

    A rejected link is no report of the study, so it stops being the study's main report.
    """
    link = study_link(session, study_id, record_id)
    if link is None:
        return False
    old = {"status": link.status, "main": link.is_main_report}
    link.status = status
    link.is_main_report = link.is_main_report and status != "rejected"
    session.add(link)
    session.add(AuditEventRow(actor=actor, entity="study_report", entity_id=link.id, record_id=record_id,
                              action=status, old=old,
                              new={"status": status, "main": link.is_main_report, "study": study_id}))
    return True


def study(session: Session, study_id: int, *, lock: bool = False) -> StudyRow | None:
    """The study with this id; `lock`: locked (FOR UPDATE) until the transaction ends.

    Every change to a study's links locks the study first: they are checked together (one main
    report, one link per record), and a link not yet inserted has no row to lock. FOR NO KEY
    UPDATE (key_share): rows merely referencing the study (data extracted for it) are not held up.
    """
    return session.get(StudyRow, study_id, with_for_update={"key_share": True} if lock else False)


def study_links(session: Session, study_id: int) -> list[StudyReportRow]:
    """The study's report links, oldest first."""
    return list(session.exec(select(StudyReportRow).where(StudyReportRow.study_id == study_id)
                             .order_by(col(StudyReportRow.id))))


def study_link(session: Session, study_id: int, record_id: int) -> StudyReportRow | None:
    """The link saying `record_id` reports `study_id` (whatever its status), if there is one."""
    return session.exec(select(StudyReportRow).where(StudyReportRow.study_id == study_id)
                        .where(StudyReportRow.record_id == record_id)).first()


def confirm_study_link(session: Session, study_id: int, record_id: int, actor: str) -> str | None:
    """Make the record a confirmed report of the study: a new link, or its proposed or rejected one
    confirmed (audited as a link); the status it had (None: there was no link)."""
    link = study_link(session, study_id, record_id)
    old = None if link is None else link.status
    if link is None:
        link = StudyReportRow(study_id=study_id, record_id=record_id, status="confirmed", created_by=actor)
    link.status = "confirmed"
    session.add(link)
    session.flush()
    session.add(AuditEventRow(actor=actor, entity="study_report", entity_id=link.id, record_id=record_id,
                              action="link", old=None if old is None else {"status": old},
                              new={"status": "confirmed", "main": link.is_main_report, "study": study_id}))
    return old


def set_main_report(session: Session, study_id: int, record_id: int, actor: str) -> list[int]:
    """Make the record (linked, not rejected) the study's one main report, confirming a proposed link;
    each link changed is audited. Returns the records that were the study's main report before."""
    links = study_links(session, study_id)
    before = [ln.record_id for ln in links if ln.is_main_report and ln.record_id != record_id]
    # The old main report is unmarked first, so the trail never shows two at once.
    for link in sorted(links, key=lambda ln: ln.record_id == record_id):
        main = link.record_id == record_id
        if link.is_main_report == main and (not main or link.status == "confirmed"):
            continue
        old = {"status": link.status, "main": link.is_main_report}
        link.is_main_report = main
        link.status = "confirmed" if main else link.status
        session.add(link)
        session.add(AuditEventRow(actor=actor, entity="study_report", entity_id=link.id, record_id=link.record_id,
                                  action="main" if main else "not main", old=old,
                                  new={"status": link.status, "main": main, "study": study_id}))
    return before


def links_of_record(session: Session, record_id: int) -> list[StudyReportRow]:
    """The record's study links (any status), oldest first."""
    return list(session.exec(select(StudyReportRow).where(StudyReportRow.record_id == record_id)
                             .order_by(col(StudyReportRow.id))))


def carry_link(session: Session, study_id: int, record_id: int, status: str, actor: str, from_record: int,
               group_id: int | None = None) -> str | None:
    """Give `record_id` the study link status `status` carried over from `from_record`, a removed duplicate
    of it in group `group_id`: a new link, or its existing one's status set (audited, naming both and the
    group, so undoing the group can take it back). The status it had."""
    link = study_link(session, study_id, record_id)
    old = None if link is None else link.status
    if link is None:
        link = StudyReportRow(study_id=study_id, record_id=record_id, status=status, created_by=actor)
    link.status = status
    link.is_main_report = link.is_main_report and status != "rejected"
    session.add(link)
    session.flush()
    session.add(AuditEventRow(actor=actor, entity="study_report", entity_id=link.id, record_id=record_id,
                              action="carry over", old=None if old is None else {"status": old},
                              new={"status": status, "main": link.is_main_report, "study": study_id,
                                   "from_record": from_record, "group": group_id}))
    return old


CARRIED = ("carry over", "carry main")


def carried_by_group(session: Session, group_id: int) -> list[AuditEventRow]:
    """The link changes a group's merge carried to its primary (carry_link, a main report moved), oldest first."""
    rows = session.exec(select(AuditEventRow).where(AuditEventRow.entity == "study_report")
                        .where(col(AuditEventRow.action).in_(CARRIED)).order_by(col(AuditEventRow.id)))
    return [e for e in rows if isinstance(e.new, dict) and e.new.get("group") == group_id]


def withdrawn_by_undo(session: Session, link: StudyReportRow) -> bool:
    """Whether the link's status was last set by an undone merge taking back what it carried (not by a
    reviewer): such a rejection is a withdrawal, which a later merge may carry over again."""
    last = session.exec(select(AuditEventRow.action).where(AuditEventRow.entity == "study_report")
                        .where(AuditEventRow.entity_id == link.id)
                        .order_by(col(AuditEventRow.id).desc()).limit(1)).first()
    return last == "carry undone"


def withdraw_link(session: Session, link: StudyReportRow, status: str, actor: str, action: str,
                  why: Mapping[str, object]) -> None:
    """Set a link's status (a rejected link is no main report), audited with `why` beside the new state."""
    old = {"status": link.status, "main": link.is_main_report}
    link.status = status
    link.is_main_report = link.is_main_report and status != "rejected"
    session.add(link)
    session.add(AuditEventRow(actor=actor, entity="study_report", entity_id=link.id, record_id=link.record_id,
                              action=action, old=old,
                              new={"status": status, "main": link.is_main_report, "study": link.study_id, **why}))


def study_report_links(session: Session) -> list[StudyReportRow]:
    """Every report–study link."""
    return list(session.exec(select(StudyReportRow).order_by(col(StudyReportRow.id))))


def linked_records(session: Session, record_ids: Iterable[int]) -> dict[int, RecordRow]:
    """record id → row for these records (a group's members, the records linked to studies); read in chunks:
    SQLite caps bound parameters."""
    wanted = sorted(set(record_ids))
    out: dict[int, RecordRow] = {}
    for start in range(0, len(wanted), 500):
        for row in session.exec(select(RecordRow).where(col(RecordRow.id).in_(wanted[start:start + 500]))):
            out[row.id] = row  # type: ignore[index]
    return out

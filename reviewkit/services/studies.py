"""Provides studies and their reports: listing, naming, and confirming or rejecting proposed links."""

from __future__ import annotations

from dataclasses import dataclass

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.store import dedup as store
from reviewkit.store.db import session_scope


@dataclass(frozen=True)
class StudyView:
    """A study with its reports (record ids) by link status."""

    id: int
    label: str
    nct_id: str | None
    reports: dict[int, str]


def list_studies(review: Review) -> list[StudyView]:
    """Every study with its report links."""
    with session_scope(review.engine) as session:
        studies = store.study_rows(session)
        links = store.study_report_links(session)
    return [
        StudyView(s.id, s.label, s.nct_id, {ln.record_id: ln.status for ln in links if ln.study_id == s.id})  # type: ignore[arg-type]
        for s in studies
    ]


def rename_study(review: Review, actor: str | None, study_id: int, label: str) -> None:
    """Give a study its usual name (e.g. the trial's acronym)."""
    if not label.strip():
        raise ReviewkitError("a study needs a name")
    with session_scope(review.engine, write=True) as session:
        store.set_study_label(session, study_id, label.strip(), actor or "")


def set_report_link(review: Review, actor: str | None, study_id: int, record_id: int, confirmed: bool) -> None:
    """Confirm (or reject) that a record reports a study; a proposal is never used silently."""
    with session_scope(review.engine, write=True) as session:
        if not store.set_link_status(session, study_id, record_id, "confirmed" if confirmed else "rejected",
                                     actor or ""):
            raise ReviewkitError(f"record {record_id} is not linked to study {study_id}")

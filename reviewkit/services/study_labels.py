"""Provides the one rule for study labels: no two studies share a label, compared without case or spaces.

Imports and commands find a study by its label (`extract import`, `rob import`, `rob consensus STUDY`),
so a second study labelled like the first would take the first one's data, or be taken for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.errors import ReviewkitError
from reviewkit.store import dedup as store

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import StudyRow


def label_key(label: str) -> str:
    """A label as labels are compared: 'breeze ad1' is 'BREEZE-AD1' without the hyphen, so it differs."""
    return "".join(label.split()).casefold()


def study_labelled(session: Session, label: str, *, other_than: int | None = None) -> StudyRow | None:
    """The study (other than `other_than`) whose label is `label` but for case and spaces, if any."""
    wanted = label_key(label)
    return next((s for s in store.study_rows(session) if s.id != other_than and label_key(s.label) == wanted), None)


def check_label_free(session: Session, label: str, *, other_than: int | None = None) -> None:
    """Refuse a label another study has (but for case and spaces), naming that study."""
    owner = study_labelled(session, label, other_than=other_than)
    if owner is not None:
        raise ReviewkitError(f"study {owner.id} is already labelled '{owner.label}'",
                             hint="two studies cannot share a label (case and spaces aside): choose another")

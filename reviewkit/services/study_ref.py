"""Provides the one reading of a study a user types (a command's STUDY): its id or its label.

Every command that takes a study reads it here, so `rob start BREEZE-AD2` and `extract consensus
BREEZE-AD2` find the same study, and a typo gets the same one-line answer everywhere.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from reviewkit.domain.records import find_nct_ids
from reviewkit.errors import ReviewkitError
from reviewkit.services.study_labels import label_key
from reviewkit.store import dedup as store
from reviewkit.store.db import session_scope

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.services.project import Review
    from reviewkit.store.tables import StudyRow

#: Where a user finds the ids and labels.
LIST_HINT = "`reviewkit studies` lists their ids and labels"


def find_study(review: Review, ref: str | int) -> int:
    """The id of the study `ref` names (see study_id_in)."""
    with session_scope(review.engine) as session:
        return study_id_in(session, ref)


def study_id_in(session: Session, ref: str | int) -> int:
    """The id of the study `ref` names: its label as typed, else its label without case or spaces (as
    labels are compared, study_labels), else its NCT id (a registered trial is one study), else its id. An unknown or ambiguous reference is an error
    naming the close labels, or how to list the studies.

    A label wins over an id: a study labelled "2" is found by its label, as typed.
    """
    text = str(ref).strip()
    if not text:
        raise ReviewkitError("no study given", hint=f"give a study's id or label; {LIST_HINT}")
    rows = store.study_rows(session)
    for same in (lambda s: s.label == text, lambda s: label_key(s.label) == label_key(text)):
        found = [s for s in rows if same(s)]
        if len(found) > 1:  # only in a database older than the one-label rule
            raise ReviewkitError(f"study '{text}' is ambiguous: studies {', '.join(str(s.id) for s in found)} "
                                 "have that label", hint="give the study's id")
        if found:
            return found[0].id  # type: ignore[return-value]
    nct = find_nct_ids(text)
    if len(nct) == 1 and nct[0] == text.upper():
        owner = [s for s in rows if s.nct_id == nct[0]]  # a trial is one study (the NCT id is unique)
        if owner:
            return owner[0].id  # type: ignore[return-value]
        raise ReviewkitError(f"no study has the NCT id {nct[0]}",
                             hint=f"create it: reviewkit studies add {nct[0]} [RECORD_ID ...]; {LIST_HINT}")
    if text.isdigit() and any(s.id == int(text) for s in rows):
        return int(text)
    raise ReviewkitError(f"no study {text}" if text.isdigit() else f"no study '{text}'", hint=_suggestion(text, rows))


def _suggestion(text: str, rows: list[StudyRow]) -> str:
    """The labels close to `text` (compared without case), else how to list the studies."""
    by_key = {label_key(s.label): s for s in rows}
    close = [by_key[k] for k in difflib.get_close_matches(label_key(text), list(by_key), n=3, cutoff=0.6)]
    if not rows:
        return ("the review has no studies yet: `reviewkit dedup` proposes them from NCT numbers, "
                "`reviewkit studies add LABEL` adds one")
    if not close:
        return f"give a study's id or label; {LIST_HINT}"
    names = [f"{s.label} (id {s.id})" for s in close]
    either = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
    return f"did you mean {either}? {LIST_HINT}"

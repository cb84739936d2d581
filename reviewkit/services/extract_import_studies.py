"""Provides the studies an extraction-table import's rows name: each label read as an existing study's, or
created when the importer declared it new; and RowErrors, the problems of one row, each naming its line."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from reviewkit.domain.names import name_too_long
from reviewkit.domain.records import find_nct_ids
from reviewkit.services.extract_checks import close_labels, label_key
from reviewkit.services.studies import study_with_nct
from reviewkit.store import extraction as store
from reviewkit.store.studies import NctTaken

if TYPE_CHECKING:
    from sqlmodel import Session

    from reviewkit.store.tables import StudyRow


class RowErrors(Exception):
    """The problems of one row of an import ("line 3, n: ..."), raised to leave the row; an empty list
    when the row's problem was said already (a refused study label, on its first line)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class ImportStudies:
    """The studies an import's rows name, each label read once: as an existing study's label (exactly,
    else without case, spaces or punctuation), or as a new study the importer declared (`--new-study`).

    A label of no study is refused, not created: a study is never deleted, so a slip ('BREEZE AD-11')
    would leave a study with nothing but the slip's rows and no report behind it for good. A label
    close to an existing one (the same numbers, a letter or two apart: extract_checks.close_labels) is
    named in the refusal; a study new to the review is created only when declared. Each refusal is
    given once, on the label's first line.
    """

    def __init__(self, session: Session, declared: Collection[str], actor: str) -> None:
        self.session, self.actor = session, actor
        self.declared = {label_key(d) for d in declared}
        self.found: dict[str, StudyRow | None] = {}  # label as written → its study (None: refused)
        self.created: list[str] = []
        self.read_as: list[str] = []

    def find(self, cells: dict[str, str], label: str, line: int) -> StudyRow:
        if label in self.found:
            study = self.found[label]
            if study is None:
                raise RowErrors([])  # refused on the label's first line
            return study
        self.found[label] = None
        study = store.study_by_label(self.session, label) or self._same(label, line)
        if study is None:
            if label_key(label) not in self.declared:
                _nct_owner(self.session, cells, label, line)  # the likelier slip: named first
                raise RowErrors([self._refusal(label, line)])
            study = _new_study(self.session, cells, label, line, self.actor)
            self.created.append(study.label)
        self.found[label] = study
        return study

    def _same(self, label: str, line: int) -> StudyRow | None:
        """The one study whose label is `label` but for case, spaces and punctuation."""
        same = [s for s in store.studies(self.session) if label_key(s.label) == label_key(label)]
        if len(same) > 1:
            raise RowErrors([f"line {line}, study: '{label}' could be any of "
                              + ", ".join(f"'{s.label}' (id {s.id})" for s in same) + ": give the label exactly"])
        if same:
            self.read_as.append(f"study '{label}' read as '{same[0].label}' (id {same[0].id}), first on line {line}")
            return same[0]
        return None

    def _refusal(self, label: str, line: int) -> str:
        close = close_labels(label, [s.label for s in store.studies(self.session)])
        if close:
            names = " or ".join(f"'{c}'" for c in close)
            return (f"line {line}, study: no study '{label}', but it is close to {names}: give that label, or, if "
                    f"'{label}' is another study, create it with --new-study '{label}'")
        return (f"line {line}, study: no study '{label}' in this review (`reviewkit studies` lists them); "
                f"to create it from this file, declare it with --new-study '{label}'")


def _nct_owner(session: Session, cells: dict[str, str], label: str, line: int) -> str | None:
    """The row's NCT id (None: none), refused when it is not one or another study already has it."""
    nct = cells.get("nct_id", "")
    found = find_nct_ids(nct) if nct else ()
    if nct and len(found) != 1:
        raise RowErrors([f"line {line}, nct_id: '{nct}' is not an NCT id"])
    nct_id = found[0] if found else None
    owner = study_with_nct(session, nct_id) if nct_id else None
    if owner is not None:
        raise RowErrors([f"line {line}, study: no study '{label}', and {nct_id} is the NCT id of study "
                          f"'{owner.label}' (id {owner.id}); use that study's label"])
    return nct_id


def _new_study(session: Session, cells: dict[str, str], label: str, line: int, actor: str) -> StudyRow:
    """A study the table names for the first time; refused when its NCT id is another study's.

    A trial has one NCT id, so a new label with a known id is almost always a misspelt label:
    creating it would split one trial's data between two studies.
    """
    if (long := name_too_long(label, "the new study's label")) is not None:
        raise RowErrors([f"line {line}, study: {long}"])
    nct_id = _nct_owner(session, cells, label, line)
    try:
        return store.add_study(session, label=label, nct_id=nct_id, actor=actor)
    except NctTaken as taken:  # another writer made it since the check above
        raise RowErrors([f"line {line}, study: no study '{label}', and {taken}; use that study's label"]) from None

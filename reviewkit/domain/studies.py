"""Provides report-to-study proposals: registry records and the papers citing their NCT numbers.

A study (a registered trial) may have many reports, and one paper may report several trials (a
single paper reported BREEZE-AD1 and BREEZE-AD2 and carries both NCT numbers), so the link is
many-to-many: each proposal names one NCT number and every record that reports it, and a record
may appear in several proposals. Proposals are suggestions for the reviewer, never applied silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reviewkit.domain.dedup import DuplicateGroup
from reviewkit.domain.records import Record, find_nct_ids


@dataclass(frozen=True, slots=True)
class StudyProposal:
    """One registered study and the records proposed as its reports (indexes into the input)."""

    nct_id: str
    #: Every record naming the NCT number: registry records and papers, in input order.
    report_indexes: tuple[int, ...]
    #: The registry records among them (kind == "registry").
    registry_indexes: tuple[int, ...] = ()


def record_nct_ids(record: Record) -> tuple[str, ...]:
    """Every NCT number a record names: its registry id, its secondary ids, its title and abstract."""
    own = (record.registry.nct_id,) if record.registry is not None else ()
    return find_nct_ids(*own, *record.nct_ids, record.title, record.abstract)


def propose_studies(
    records: Sequence[Record],
    groups: Iterable[DuplicateGroup] = (),
    *,
    min_reports: int = 1,
) -> list[StudyProposal]:
    """Propose studies: for each NCT number, the records that report it.

    A proposal is made when a registry record names the NCT number or at least `min_reports`
    records do: by default every NCT number cited, registry record or not, so a paper reporting two
    trials is proposed as a report of both even when only one trial's registry record was found (or
    none; the caller labels such a study by its NCT id). Duplicates already grouped (`groups`) count
    once, by their primary record, so the same paper found in two databases is not proposed as two
    reports.
    """
    secondary = {m: g.primary for g in groups for m in g.members if m != g.primary}
    by_nct: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        if index in secondary:
            continue
        for nct in record_nct_ids(record):
            by_nct.setdefault(nct, []).append(index)
    proposals = []
    for nct, indexes in by_nct.items():
        registry = tuple(i for i in indexes if records[i].kind == "registry")
        if registry or len(indexes) >= min_reports:
            proposals.append(StudyProposal(nct, tuple(indexes), registry))
    proposals.sort(key=lambda p: p.nct_id)
    return proposals


def studies_by_record(proposals: Iterable[StudyProposal]) -> dict[int, tuple[str, ...]]:
    """The many-to-many link seen from the records: each record index to the NCT numbers it reports."""
    out: dict[int, list[str]] = {}
    for proposal in proposals:
        for index in proposal.report_indexes:
            out.setdefault(index, []).append(proposal.nct_id)
    return {index: tuple(ncts) for index, ncts in out.items()}

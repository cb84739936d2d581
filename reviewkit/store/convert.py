"""Provides conversions between domain Records and record rows (no live ORM object leaves a service)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from reviewkit.domain.records import Record, RegistryInfo
from reviewkit.store.tables import RecordRow


def strip_nul(value: Any) -> Any:
    """The value with NUL characters removed from every string in it (lists and dicts included).

    PostgreSQL refuses NUL in text and JSON, and a NUL never means anything in a citation. Import
    files are refused at their first NUL before they get here (sources/formats/_text.nul_error), so
    what this removes comes from the APIs (a `\u0000` escape in ClinicalTrials.gov or PubMed JSON/XML)
    or from a caller building Records itself; without it SQLite would keep the NUL and PostgreSQL
    would fail with a driver error.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list | tuple):
        return [strip_nul(v) for v in value]
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    return value


def record_values(record: Record, run_id: int) -> dict[str, Any]:
    """The column values of a new record row for `record`, brought by run `run_id` (NULs removed)."""
    return {k: strip_nul(v) for k, v in _record_values(record, run_id).items()}


def _record_values(record: Record, run_id: int) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "year": record.year,
        "journal": record.journal,
        "journal_abbrev": record.journal_abbrev,
        "volume": record.volume,
        "issue": record.issue,
        "pages": record.pages,
        "doi": record.doi,
        "pmid": record.pmid,
        "pmcid": record.pmcid,
        "nct_ids": list(record.nct_ids),
        "publication_types": list(record.publication_types),
        "keywords": list(record.keywords),
        "mesh_terms": list(record.mesh_terms),
        "language": record.language,
        "issn": record.issn,
        "url": record.url,
        "source_type": record.source_type,
        "source_db": record.source_db,
        "registry_info": _registry_dict(record.registry),
        "extra": _jsonable(record.extra),
        "format": record.format,
        "raw": record.raw,
        "first_run_id": run_id,
    }


def row_to_record(row: RecordRow) -> Record:
    """The domain Record of a stored row (source_id is the first provenance's; see record_source)."""
    registry = RegistryInfo(**_registry_args(row.registry_info)) if row.registry_info else None
    return Record(
        title=row.title,
        abstract=row.abstract,
        authors=tuple(row.authors),
        year=row.year,
        journal=row.journal,
        journal_abbrev=row.journal_abbrev,
        volume=row.volume,
        issue=row.issue,
        pages=row.pages,
        doi=row.doi,
        pmid=row.pmid,
        pmcid=row.pmcid,
        nct_ids=tuple(row.nct_ids),
        publication_types=tuple(row.publication_types),
        keywords=tuple(row.keywords),
        mesh_terms=tuple(row.mesh_terms),
        language=row.language,
        issn=row.issn,
        url=row.url,
        source_type=row.source_type,
        source_db=row.source_db,
        kind=row.kind,  # type: ignore[arg-type]
        registry=registry,
        raw=row.raw,
        format=row.format,
        extra=dict(row.extra),
    )


def _registry_dict(info: RegistryInfo | None) -> dict[str, Any]:
    if info is None:
        return {}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(info).items()}


def _registry_args(data: dict[str, Any]) -> dict[str, Any]:
    known = RegistryInfo.__dataclass_fields__
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}


def _jsonable(value: Any) -> Any:
    """Readers may keep tuples or other simple values in `extra`; JSON wants lists and strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)

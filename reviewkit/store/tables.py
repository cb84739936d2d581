"""Provides the sqlmodel tables of a review: every stage's rows, append-only where decisions are kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, MetaData, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Alembic needs stable constraint names to alter tables later (batch mode on SQLite).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    """Now, timezone-aware UTC: every timestamp in the store is UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones and hands back naive values; PostgreSQL hands back its session's
    zone. Either way the program sees UTC, so times compare and export the same on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    # The column default serves bulk (Core) inserts, which skip the model's default_factory.
    return Field(
        default_factory=utcnow,
        sa_column=Column(UtcDateTime(), nullable=False, default=utcnow, **kw),
    )


def _json(default: Any = None) -> Any:
    factory = (lambda: list(default)) if isinstance(default, list) else (lambda: dict(default or {}))
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False, default=factory))


def _text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ReviewerRow(SQLModel, table=True):
    """A reviewer known to the review (mirrors the protocol's [[reviewers]]; kept when removed there)."""

    __tablename__ = "reviewer"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    roles: list[str] = _json([])
    created_at: datetime = _ts()


class SourceRunRow(SQLModel, table=True):
    """One import of a file or one run of a search: PRISMA's "records identified" come from these."""

    __tablename__ = "source_run"
    id: int | None = Field(default=None, primary_key=True)
    #: "import" (a file) or "search" (PubMed, ClinicalTrials.gov).
    kind: str = Field(index=True)
    #: The database or register's name as PRISMA lists it: "PubMed", "ClinicalTrials.gov", "Embase".
    source: str = Field(index=True)
    #: PRISMA column: database, register, website, organisation, citation, other.
    source_kind: str = "database"
    file_name: str | None = None
    #: SHA-256 of an imported file; importing the very same file twice is refused.
    sha256: str | None = Field(default=None, index=True)
    file_format: str | None = None
    query: str | None = Field(default=None, sa_column=Column(Text))
    query_translation: str | None = Field(default=None, sa_column=Column(Text))
    #: "running" until every batch is stored, then "complete"; "failed" with `error` otherwise (resumable);
    #: "abandoned" once a search is started over (`search --restart`): never resumed, its records kept.
    status: str = Field(default="running", index=True)
    error: str | None = Field(default=None, sa_column=Column(Text))
    #: Hits the service reported (esearch Count, totalCount); record_count is what was stored.
    total_count: int | None = None
    record_count: int = 0
    new_record_count: int = 0
    #: Resume state of a search (WebEnv/query_key/date slices, next page token, batches done).
    state: dict[str, Any] = _json({})
    previous_run_id: int | None = Field(default=None, foreign_key="source_run.id")
    started_by: str | None = None
    started_at: datetime = _ts()
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class RunNoteRow(SQLModel, table=True):
    """A problem a reader or a search met in a record it still stored ("in press" in a year field, a
    batch PubMed could not fetch), kept with its run so the review shows it long after the import."""

    __tablename__ = "run_note"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="source_run.id", index=True)
    #: The note's place among its run's notes (file order for an import, arrival order for a search).
    position: int = 0
    #: The file the note is about ("" for a search).
    file: str = ""
    #: The file's line; None where the reader knows no line (XML) or for a search.
    line: int | None = None
    #: The field (tag, column, element) the problem is in; "" when it is in none.
    field: str = ""
    message: str = _text()
    #: Names the record when no line is known: "the article with PMID 123 (record 5)".
    record: str = ""


class RecordRow(SQLModel, table=True):
    """A citation or registry record as imported (normalised fields plus the raw source text)."""

    __tablename__ = "record"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="citation", index=True)
    title: str = _text()
    abstract: str = _text()
    authors: list[str] = _json([])
    year: int | None = Field(default=None, index=True)
    journal: str = ""
    journal_abbrev: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str | None = Field(default=None, index=True)
    pmid: str | None = Field(default=None, index=True)
    pmcid: str | None = Field(default=None, index=True)
    nct_ids: list[str] = _json([])
    publication_types: list[str] = _json([])
    keywords: list[str] = _json([])
    mesh_terms: list[str] = _json([])
    language: str = ""
    issn: str = ""
    url: str = _text()
    source_type: str = ""
    source_db: str = ""
    #: RegistryInfo fields for registry records (ClinicalTrials.gov), else {}.
    registry_info: dict[str, Any] = _json({})
    extra: dict[str, Any] = _json({})
    format: str = ""
    raw: str = _text()
    #: First run that brought it; every run that brought it is in record_source.
    first_run_id: int = Field(foreign_key="source_run.id", index=True)
    created_at: datetime = _ts()


class RecordSourceRow(SQLModel, table=True):
    """Provenance: this record came from this import or search (a record may come from several)."""

    __tablename__ = "record_source"
    __table_args__ = (UniqueConstraint("record_id", "run_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    run_id: int = Field(foreign_key="source_run.id", index=True)
    #: The source's own id for the record (RIS ID/AN, MEDLINE PMID, CSV id, NCT id).
    source_record_id: str = ""
    #: 0-based position in the file or result list.
    position: int = 0


class DuplicateGroupRow(SQLModel, table=True):
    """A group of records judged to be one: one primary record, the rest removed as duplicates."""

    __tablename__ = "duplicate_group"
    id: int | None = Field(default=None, primary_key=True)
    primary_record_id: int = Field(foreign_key="record.id", index=True)
    created_by: str = "dedup"
    created_at: datetime = _ts()
    #: Undo marks the group undone; rows are never deleted.
    undone_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    undone_by: str | None = None


class DuplicateMemberRow(SQLModel, table=True):
    """A record's membership in a duplicate group, with how it was matched."""

    __tablename__ = "duplicate_member"
    __table_args__ = (UniqueConstraint("group_id", "record_id"),)
    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="duplicate_group.id", index=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    #: "doi", "pmid", "fuzzy", "human" ...
    method: str = ""
    score: float | None = None


class DuplicatePairRow(SQLModel, table=True):
    """A candidate pair for a human to confirm or reject (the uncertain band)."""

    __tablename__ = "duplicate_pair"
    __table_args__ = (UniqueConstraint("record_a_id", "record_b_id"),)
    id: int | None = Field(default=None, primary_key=True)
    record_a_id: int = Field(foreign_key="record.id", index=True)
    record_b_id: int = Field(foreign_key="record.id", index=True)
    score: float = 0.0
    fields: dict[str, Any] = _json({})
    #: pending, confirmed, rejected.
    status: str = Field(default="pending", index=True)
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    created_at: datetime = _ts()


class StudyRow(SQLModel, table=True):
    """A study (e.g. one RCT); its reports are records linked through study_report."""

    __tablename__ = "study"
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(index=True)
    #: Unique: a trial is one study (NULLs, studies without a registration, may repeat).
    nct_id: str | None = Field(default=None, index=True, unique=True)
    created_by: str = ""
    created_at: datetime = _ts()


class StudyReportRow(SQLModel, table=True):
    """Many-to-many: one paper can report two trials, one trial has many reports."""

    __tablename__ = "study_report"
    __table_args__ = (UniqueConstraint("study_id", "record_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    #: proposed (by NCT matching), confirmed, rejected.
    status: str = "proposed"
    is_main_report: bool = False
    created_by: str = ""
    created_at: datetime = _ts()


class ScreeningDecisionRow(SQLModel, table=True):
    """One reviewer's decision on one record at one stage; a change or undo is a new row."""

    __tablename__ = "screening_decision"
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    reviewer_id: int = Field(foreign_key="reviewer.id", index=True)
    #: "ta" (title/abstract) or "ft" (full text).
    stage: str = Field(index=True)
    #: include, exclude, maybe; "retracted" when the reviewer undid their decision.
    decision: str
    reason: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    #: The row this one replaces (a change of mind), for the audit trail.
    supersedes_id: int | None = Field(default=None, foreign_key="screening_decision.id")
    created_at: datetime = _ts(index=True)


class AdjudicationRow(SQLModel, table=True):
    """The adjudicator's final decision on a conflict."""

    __tablename__ = "adjudication"
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    stage: str = Field(index=True)
    adjudicator_id: int = Field(foreign_key="reviewer.id")
    decision: str
    reason: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts()


class FullTextRow(SQLModel, table=True):
    """A full-text retrieval status change: sought, retrieved (path or URL), not retrieved."""

    __tablename__ = "full_text"
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    status: str
    location: str | None = Field(default=None, sa_column=Column(Text))
    note: str | None = Field(default=None, sa_column=Column(Text))
    reviewer_id: int | None = Field(default=None, foreign_key="reviewer.id")
    created_at: datetime = _ts()


class RobAssessmentRow(SQLModel, table=True):
    """One assessor's (or the consensus) risk-of-bias assessment of one study's result."""

    __tablename__ = "rob_assessment"
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    outcome: str = ""
    tool: str = "rob2"
    variant: str | None = None
    assessor_id: int | None = Field(default=None, foreign_key="reviewer.id")
    is_consensus: bool = False
    created_at: datetime = _ts()


class RobAnswerRow(SQLModel, table=True):
    """An answer to a signalling question (RoB 2) or a domain judgement (RoB 1); append-only."""

    __tablename__ = "rob_answer"
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="rob_assessment.id", index=True)
    #: "1.1" for RoB 2 questions; "D1".."D7" for RoB 1 domains.
    question: str
    answer: str
    support: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts()


class RobJudgementRow(SQLModel, table=True):
    """A domain or overall judgement: the algorithm's proposal and the final one (override justified)."""

    __tablename__ = "rob_judgement"
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="rob_assessment.id", index=True)
    domain: str
    proposed: str | None = None
    final: str | None = None
    justification: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts()


class ArmRow(SQLModel, table=True):
    """An arm of a study as one extractor (or the consensus) recorded it."""

    __tablename__ = "arm"
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    label: str
    intervention: str = ""
    dose: str = ""
    co_intervention: str = ""
    n_randomised: int | None = None
    fields: dict[str, Any] = _json({})
    extractor_id: int | None = Field(default=None, foreign_key="reviewer.id")
    is_consensus: bool = False
    created_at: datetime = _ts()


class ExtractionValueRow(SQLModel, table=True):
    """One extracted value (study field, or an outcome statistic of an arm at a timepoint); append-only."""

    __tablename__ = "extraction_value"
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: The arm's label for arm-level values; "" for study-level fields.
    arm: str = ""
    outcome: str = ""
    timepoint: str = ""
    #: Field name: a study field, or events/total/mean/sd/se/ci_lower/ci_upper/median/q1/q3/n ...
    field: str
    value: str | None = None
    unit: str | None = None
    #: A conversion's inputs and method when the value was derived (SE → SD ...).
    converted_from: dict[str, Any] = _json({})
    #: "manual", "ctgov" (prefilled and confirmed), "import".
    origin: str = "manual"
    extractor_id: int | None = Field(default=None, foreign_key="reviewer.id")
    is_consensus: bool = False
    created_at: datetime = _ts()


class ExtractionStatusRow(SQLModel, table=True):
    """An extractor's extraction of a study marked finished, or opened again; append-only: the newest
    row per study and extractor is the state (none: open). The comparison waits for finished ones."""

    __tablename__ = "extraction_status"
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    extractor_id: int = Field(foreign_key="reviewer.id")
    #: "finished" or "open".
    status: str
    #: Who marked it (the extractor; a migration names itself).
    actor: str = ""
    at: datetime = _ts()


class AuditEventRow(SQLModel, table=True):
    """Append-only history: who changed what, when, from what to what."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = ""
    #: The kind of thing changed: record, decision, adjudication, duplicate_group, rob, extraction ...
    entity: str = Field(index=True)
    entity_id: int | None = Field(default=None, index=True)
    record_id: int | None = Field(default=None, index=True)
    action: str = ""
    old: Any = Field(default=None, sa_column=Column(JSON))
    new: Any = Field(default=None, sa_column=Column(JSON))


ALL_TABLES: tuple[type[SQLModel], ...] = (
    ReviewerRow, SourceRunRow, RunNoteRow, RecordRow, RecordSourceRow, DuplicateGroupRow, DuplicateMemberRow,
    DuplicatePairRow, StudyRow, StudyReportRow, ScreeningDecisionRow, AdjudicationRow, FullTextRow,
    RobAssessmentRow, RobAnswerRow, RobJudgementRow, ArmRow, ExtractionValueRow, ExtractionStatusRow,
    AuditEventRow,
)

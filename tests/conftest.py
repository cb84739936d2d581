"""Shared fixtures: the fixtures folder, databases (SQLite always, PostgreSQL when configured), reviews."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from reviewkit.services.project import Review

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: A PostgreSQL URL on a server where the tests may create and drop scratch databases.
#: CI sets it (.ci/run); without it the PostgreSQL variants skip, so a plain `pytest` passes.
PG_ENV = "REVIEWKIT_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def _isolated_user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own config or database override."""
    config = tmp_path_factory.mktemp("cfg") / "config.toml"
    config.write_text("", encoding="utf-8")  # an empty config: a missing one named by REVIEWKIT_CONFIG is an error
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    monkeypatch.delenv("REVIEWKIT_DATABASE_URL", raising=False)
    monkeypatch.delenv("NCBI_API_KEY", raising=False)


def _pg_scratch_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    admin_url = os.environ[PG_ENV]
    if admin_url.startswith("postgresql://"):
        admin_url = "postgresql+psycopg://" + admin_url.removeprefix("postgresql://")
    name = f"rk_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, and (when configured) a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reviewkit.db'}"
        return
    if not os.environ.get(PG_ENV):
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} to run the store tests on it")
    yield from _pg_scratch_database()


@pytest.fixture
def review_dir(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new review folder from the example protocol, on each database in turn."""
    from reviewkit.services.project import init_review

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    folder = tmp_path / "review"
    init_review(folder)
    return folder


@pytest.fixture
def review(review_dir: Path):  # noqa: ANN201 - a services.project.Review
    """The opened review of review_dir."""
    from reviewkit.services.project import open_review

    r = open_review(review_dir)
    yield r
    r.engine.dispose()


@pytest.fixture
def empty_copy(review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Review]:
    """A second, empty review on the same kind of database (a scratch database on PostgreSQL)."""
    from reviewkit.services.project import init_review

    gen = None
    if review.engine.dialect.name != "sqlite":
        gen = _pg_scratch_database()
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", next(gen))
    copy = init_review(tmp_path / "copy")
    yield copy
    copy.engine.dispose()
    if gen is not None:
        gen.close()


@pytest.fixture
def demo(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Review:
    """The worked example's review (six studies, consensus extraction and RoB), built on each database."""
    from reviewkit.services.demo import build_demo

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    return build_demo(tmp_path / "demo")


@pytest.fixture
def rob2_review(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Review]:
    """A review whose protocol uses RoB 2 (the example protocol with tool = "rob2"), on each database in turn."""
    from reviewkit.services.project import EXAMPLE_PROTOCOL, init_review

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    protocol = tmp_path / "rob2.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace('tool = "rob1"', 'tool = "rob2"'),
                        encoding="utf-8")
    review = init_review(tmp_path / "r2", protocol)
    yield review
    review.engine.dispose()

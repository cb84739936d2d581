"""Provides alembic's migration environment: runs revisions on the engine reviewkit hands it."""

from __future__ import annotations

from typing import Any

from alembic import context

from reviewkit.store.tables import UtcDateTime, metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write the UTC timestamp type as plain sa.DateTime, so revisions never import the models."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


config = context.config
given = config.attributes.get("connection")
if given is not None:  # store.db.migrate: inside its locked transaction, which it commits
    _run(given)
else:
    engine = config.attributes.get("engine")
    if engine is None:  # `alembic` on the command line: the URL comes from -x url=...
        from reviewkit.store.db import make_engine

        engine = make_engine(context.get_x_argument(as_dictionary=True)["url"])
    with engine.connect() as connection:
        _run(connection)
        connection.commit()

"""Provides alembic's migration environment: runs revisions on the engine reviewkit hands it."""

from __future__ import annotations

from alembic import context

from reviewkit.store.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` on the command line: the URL comes from -x url=...
    from reviewkit.store.db import make_engine

    engine = make_engine(context.get_x_argument(as_dictionary=True)["url"])

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

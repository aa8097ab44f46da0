"""Alembic environment: runs on the connection the caller passes, or on DATABASE_URL."""
from __future__ import annotations

import os

from alembic import context

from exchange import models  # noqa: F401  (registers every table on Base.metadata)
from exchange.db import Base, make_engine

config = context.config
target_metadata = models.all_metadata()


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
    engine = make_engine(url)
    with engine.connect() as conn:
        run_on(conn)
        conn.commit()
    engine.dispose()

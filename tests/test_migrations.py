"""Alembic migrations run forward and back on the backend under test."""
from __future__ import annotations

from sqlalchemy import inspect

from exchange.db import make_engine
from exchange.migrate import downgrade, upgrade


def test_upgrade_downgrade_upgrade(database_factory):
    engine = make_engine(database_factory())
    try:
        with engine.begin() as connection:
            upgrade(connection)
        assert {"accounts", "divisions", "parcels", "audit_events"} <= set(inspect(engine).get_table_names())
        with engine.begin() as connection:
            downgrade(connection, "base")
        assert "accounts" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            upgrade(connection)
        assert "accounts" in inspect(engine).get_table_names()
    finally:
        engine.dispose()

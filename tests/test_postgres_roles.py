"""The PostgreSQL role setup the README documents: the application role cannot change ledger rows."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from exchange.cli import app_role_grants
from exchange.db import make_engine
from exchange.migrate import upgrade
from ledger.entry import make_entry
from ledger.storage import LedgerStore

from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="roles and grants are PostgreSQL's")


@pytest.fixture
def databases(database_factory):
    """(owner engine, application-role engine) on one fresh, migrated database."""
    url = database_factory()
    owner = make_engine(url)
    with owner.begin() as connection:
        upgrade(connection)
    role = f"exchange_app_{uuid.uuid4().hex[:8]}"
    with owner.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        for statement in app_role_grants(role):
            connection.execute(text(statement))
    app_engine = create_engine(make_url(url).set(username=role))
    yield owner, app_engine
    app_engine.dispose()
    with owner.begin() as connection:
        connection.execute(text(f'DROP OWNED BY "{role}"'))
        connection.execute(text(f'DROP ROLE "{role}"'))
    owner.dispose()


def _entry(n: int) -> tuple[str, bytes]:
    return "registration", make_entry("registration", [{"type": "parcel", "id": f"P{n}"}],
                                      {"role": "county", "division": "511723"}, {"n": n},
                                      datetime.now(timezone.utc))


def test_application_role_appends_but_cannot_change_or_remove_ledger_rows(databases):
    owner, app_engine = databases
    store = LedgerStore("test/log")
    with app_engine.begin() as connection:
        assert store.append(connection, [_entry(n) for n in range(5)]) == [0, 1, 2, 3, 4]
        connection.execute(text("INSERT INTO divisions (code, name, level) VALUES ('511723', '开江县', 'county')"))
        connection.execute(text("UPDATE divisions SET name = '开江县 ' WHERE code = '511723'"))
    for statement in ("UPDATE ledger_entries SET kind = 'transfer' WHERE idx = 1",
                      "DELETE FROM ledger_entries WHERE idx = 4",
                      "TRUNCATE ledger_nodes",
                      "DELETE FROM ledger_nodes"):
        with app_engine.connect() as connection, pytest.raises(DBAPIError, match="permission denied"):
            connection.execute(text(statement))
    # Even the tables' owner is stopped by the append-only triggers.
    for statement in ("UPDATE ledger_entries SET kind = 'transfer' WHERE idx = 1",
                      "DELETE FROM ledger_entries WHERE idx = 4",
                      "TRUNCATE ledger_entries"):
        with owner.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
    with owner.connect() as connection:
        assert store.size(connection) == 5
        assert connection.execute(text("SELECT kind FROM ledger_entries WHERE idx = 1")).scalar() == "registration"

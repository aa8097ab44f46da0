"""Fixtures: one database per test session (SQLite or PostgreSQL, chosen by TEST_DATABASE), migrated with
Alembic and loaded with the demo dataset; each test runs inside a transaction rolled back at its end."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from exchange import create_app
from exchange.db import db
from exchange.demo.data import DEMO_PASSWORD
from exchange.extensions import limiter

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")


class DatabaseFactory:
    """Creates empty databases on the backend under test and drops them at the end of the session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []

    def __call__(self) -> str:
        name = f"exchange_test_{uuid.uuid4().hex[:12]}"
        if BACKEND == "postgresql":
            server = os.environ.get("TEST_POSTGRES_URL")
            if not server:
                pytest.fail("TEST_DATABASE=postgresql needs TEST_POSTGRES_URL (make test starts a server)")
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.created.append(name)
            return server.rsplit("/", 1)[0] + "/" + name
        return f"sqlite:///{self.root / name}.sqlite3"

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(os.environ["TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory):
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def app(tmp_path_factory, database_factory):
    """The default instance: migrated, keys created, demo dataset loaded and committed."""
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_factory(),
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://localhost",
    })
    runner = app.test_cli_runner()
    for args in (["setup"], ["demo", "load"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output + repr(result.exception)
    yield app
    app.extensions["database"].engine.dispose()


@pytest.fixture
def connection(app):
    """Every session in this test joins one outer transaction, rolled back afterwards."""
    connection = app.extensions["database"].engine.connect()
    transaction = connection.begin()
    db.bind_to(app, connection)
    with app.app_context():
        limiter.reset()
    yield connection
    transaction.rollback()
    connection.close()
    db.unbind(app)


@pytest.fixture
def client(app, connection):
    return app.test_client()


@pytest.fixture
def app_ctx(app, connection):
    """For calling operations directly. Not to be combined with client requests in one test."""
    with app.test_request_context():
        yield app


@pytest.fixture
def runner(app, connection):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = DEMO_PASSWORD):
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@pytest.fixture
def login_as(client):
    def _login(username: str):
        login(client, username)
        return client
    return _login

"""Database engine, the declarative base and the request-scoped session.

Operations flush and never commit; the request or CLI boundary commits once (see style.md §2).
"""
from __future__ import annotations

import contextvars
from datetime import datetime, timezone

from dataclasses import dataclass

from flask import Flask, current_app, g, request
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# On SQLite a transaction that may write begins IMMEDIATE, so writers queue instead of failing
# half-way and the ledger's append sees a stable tail; reads (GET) begin deferred.
sqlite_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_write_intent", default=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")


def make_engine(url: str, **kwargs) -> Engine:
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


@dataclass
class _AppDatabase:
    """One application's engine, and what its sessions bind to (a test may bind them to one connection)."""

    engine: Engine
    bind: Engine | Connection
    join_transaction_mode: str = "conditional_savepoint"


class Database:
    """The engine of the current app and a session scoped to the Flask application context.

    State lives in ``app.extensions`` so that several apps (tests, tools) can coexist in one process.
    """

    def __init__(self) -> None:
        self.session: scoped_session[Session] = scoped_session(self._new_session, scopefunc=self._scope)

    @staticmethod
    def _scope():
        return id(g._get_current_object())

    @staticmethod
    def _state() -> _AppDatabase:
        return current_app.extensions["database"]

    def _new_session(self) -> Session:
        state = self._state()
        return Session(bind=state.bind, expire_on_commit=False, join_transaction_mode=state.join_transaction_mode)

    @property
    def engine(self) -> Engine:
        return self._state().engine

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["database"] = _AppDatabase(engine=engine, bind=engine)

        @app.before_request
        def _read_only_requests_begin_deferred():
            sqlite_write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

        @app.teardown_appcontext
        def _remove_session(exc):
            if exc is not None:
                self.session.rollback()
            self.session.remove()

    @staticmethod
    def bind_to(app: Flask, connection: Connection) -> None:
        """Tests: make every session of ``app`` join ``connection``'s outer transaction via savepoints."""
        state = app.extensions["database"]
        state.bind, state.join_transaction_mode = connection, "create_savepoint"

    @staticmethod
    def unbind(app: Flask) -> None:
        state = app.extensions["database"]
        state.bind, state.join_transaction_mode = state.engine, "conditional_savepoint"


db = Database()

"""A scratch database for one benchmark run: a SQLite file in ``folder``, or a database of its own on a PostgreSQL
server, created here and dropped by the function returned."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text


def make_database(postgres_url: str | None, folder: Path, name: str) -> tuple[str, Callable[[], None]]:
    """(URL, drop) for a scratch database called ``name`` (SQLite file ``name.sqlite3``, or ``name_<random>`` on
    the server at ``postgres_url``)."""
    if not postgres_url:
        return f"sqlite:///{folder / f'{name}.sqlite3'}", lambda: None
    if postgres_url.startswith("postgresql://"):
        postgres_url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    database = f"{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{database}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + "/" + database, drop

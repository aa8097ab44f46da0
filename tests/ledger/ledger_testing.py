"""Helpers shared by the ledger tests (imported as ``tests.ledger.ledger_testing``)."""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select

from ledger import storage
from ledger.entry import make_entry
from ledger.note import Signer
from ledger.policy import LogKey, Policy

REPO = Path(__file__).resolve().parents[2]
ORIGIN = "test.example/ledger"
ACTOR = {"role": "county", "division": "511723"}
AT = datetime(2025, 3, 1, 8, 30, tzinfo=timezone.utc)
KEYS_FROM = datetime(2020, 1, 1, tzinfo=timezone.utc)


def sample_entry(n: int, kind: str = "registration", **data) -> tuple[str, bytes]:
    """(kind, canonical bytes) of a distinct, valid entry."""
    return kind, make_entry(kind, [{"type": "parcel", "id": f"5117232010010{n:05d}"}], ACTOR,
                            {"n": n, **data}, AT)


def open_engine(url: str) -> Engine:
    """An engine as the ledger wants it: BEGIN IMMEDIATE and a busy timeout on SQLite."""
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    storage.use_immediate_transactions(engine)
    return engine


def new_ledger(url: str) -> Engine:
    engine = open_engine(url)
    with engine.begin() as connection:
        storage.create_tables(connection)
    return engine


def policy_for(*signers: Signer) -> Policy:
    return Policy(ORIGIN, [LogKey(s.verifier, KEYS_FROM) for s in signers])


def row_counts(connection) -> dict[str, int]:
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in (storage.entries, storage.nodes, storage.checkpoints, storage.cosignatures)
    }


def child_env() -> dict[str, str]:
    """Environment for a child Python that imports ``ledger`` from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


PYTHON = sys.executable

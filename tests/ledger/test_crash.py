"""A writer killed (SIGKILL) inside its transaction, after a large append and before the commit, leaves nothing."""
from __future__ import annotations

import os
import select
import signal
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from ledger import merkle
from ledger.audit import audit
from ledger.note import Signer
from ledger.storage import LedgerStore

from tests.ledger.ledger_testing import (ORIGIN, PYTHON, REPO, child_env, new_ledger, open_engine, policy_for,
                                        row_counts, sample_entry)

BATCH = 3000

CRASHER = r'''
import sys, time
from sqlalchemy import event
from ledger import storage
from tests.ledger.ledger_testing import open_engine, sample_entry

url, origin, start, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
engine = open_engine(url)
if engine.dialect.name == "sqlite":
    @event.listens_for(engine, "connect")
    def small_cache(dbapi_connection, _record):
        # a tiny page cache makes SQLite spill uncommitted pages into the database file before the commit,
        # so only the rollback journal can undo them after the crash
        dbapi_connection.execute("PRAGMA cache_size = 8")
items = [sample_entry(start + i, text="crash " * 20) for i in range(count)]
store = storage.LedgerStore(origin)
connection = engine.connect()
transaction = connection.begin()
indices = store.append(connection, items)
assert indices == list(range(start, start + count)), indices[:3]
assert store.size(connection) == start + count
print("appended", flush=True)
time.sleep(300)  # killed here, the transaction still open
'''


def test_a_writer_killed_before_commit_leaves_no_partial_entry(database_factory):
    url = database_factory()
    engine = new_ledger(url)
    store = LedgerStore(ORIGIN)
    signer = Signer.generate(ORIGIN)
    committed = [sample_entry(i) for i in range(10)]
    with engine.begin() as connection:
        store.append(connection, committed)
        store.make_checkpoint(connection, [signer])
    with engine.connect() as connection:
        counts = row_counts(connection)
        root = store.root(connection)
        connection.rollback()
    engine.dispose()  # no connection of ours is open while the writer runs

    with subprocess.Popen([PYTHON, "-c", CRASHER, url, ORIGIN, "10", str(BATCH)], cwd=REPO, env=child_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as writer:
        try:
            ready, _, _ = select.select([writer.stdout], [], [], 120)
            line = writer.stdout.readline() if ready else b""
            assert line == b"appended\n", (line, writer.poll(), writer.stderr.read() if writer.poll() is not None else "")
            if engine.dialect.name == "sqlite":
                journal = Path(make_url(url).database + "-journal")
                assert journal.exists() and journal.stat().st_size > 0  # the crash leaves a hot journal
            os.kill(writer.pid, signal.SIGKILL)
        finally:
            if writer.poll() is None:
                writer.kill()
            writer.wait(60)
    assert writer.returncode == -signal.SIGKILL

    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            assert store.size(connection) == 10
            assert row_counts(connection) == counts
            assert store.root(connection) == root
            report = audit(connection, store, policy_for(signer))
            assert report.ok and report.size == 10, report.problems
            connection.rollback()
        with engine.begin() as connection:
            assert store.append(connection, [sample_entry(10), sample_entry(11)]) == [10, 11]
            store.make_checkpoint(connection, [signer])
        with engine.connect() as connection:
            tree = merkle.MemoryTree()
            for _, raw in committed + [sample_entry(10), sample_entry(11)]:
                tree.append(raw)
            assert store.root(connection) == tree.root()
            report = audit(connection, store, policy_for(signer))
            assert report.ok and report.size == 12 and report.checkpoints == 2, report.problems
            connection.rollback()
    finally:
        engine.dispose()


"""Ledger storage on the backend under test (TEST_DATABASE): appends, proofs, append-only triggers, tiles,
entry bundles and checkpoints."""
from __future__ import annotations

import random
import struct
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ledger import merkle, note, storage
from ledger.audit import audit
from ledger.checkpoint import Checkpoint
from ledger.merkle import ProofError
from ledger.note import ALG_COSIGNATURE_V1, Signer
from ledger.policy import LogKey, Policy
from ledger.storage import APPEND_ONLY_MESSAGE, LedgerStore

from tests.conftest import BACKEND
from tests.ledger.ledger_testing import ORIGIN, new_ledger, policy_for, row_counts, sample_entry

TABLES = (storage.entries, storage.nodes, storage.checkpoints, storage.cosignatures)


def snapshot(connection) -> dict[str, list[tuple]]:
    """Every row of every ledger table, in key order."""
    out = {}
    for table in TABLES:
        rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
    return out


@pytest.fixture
def store():
    return LedgerStore(ORIGIN)


# --- appends and proofs --------------------------------------------------------------------------------------


def test_appends_across_transactions_match_memory_tree(ledger_engine, store):
    rng = random.Random(6962)
    tree = merkle.MemoryTree()
    written: list[bytes] = []
    with ledger_engine.connect() as connection:
        assert store.size(connection) == 0
        assert store.root(connection) == merkle.EMPTY_ROOT
        connection.rollback()
    n = 0
    for _ in range(60):
        batch = [sample_entry(n + i, text="x" * rng.randrange(0, 300)) for i in range(rng.choice([1, 1, 2, 3, 7, 16, 33]))]
        with ledger_engine.begin() as connection:
            assert store.append(connection, batch) == list(range(n, n + len(batch)))
        for _, raw in batch:
            tree.append(raw)
            written.append(raw)
        n += len(batch)
        with ledger_engine.connect() as connection:
            assert store.size(connection) == n == tree.size
            assert store.root(connection) == tree.root()
            connection.rollback()
    assert n > 300
    with ledger_engine.connect() as connection:
        for size in range(n + 1):
            assert store.root(connection, size) == tree.root(size), size
        for _ in range(150):
            size = rng.randint(1, n)
            index = rng.randrange(size)
            leaf, proof = store.inclusion_proof(connection, index, size)
            assert leaf == merkle.leaf_hash(written[index])
            assert proof == tree.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, leaf, proof, tree.root(size))
            old = rng.randint(1, size)
            proof = store.consistency_proof(connection, old, size)
            assert proof == tree.consistency_proof(old, size)
            merkle.verify_consistency(old, size, tree.root(old), tree.root(size), proof)
        assert store.entries(connection, 0, n) == list(enumerate(written))
        assert store.entries(connection, 17, 40) == [(i, written[i]) for i in range(17, 40)]
        assert [(i, e) for i, _, _, e in store.iter_entries(connection, batch=37)] == list(enumerate(written))
        connection.rollback()


def test_proof_requests_outside_the_tree_are_refused_and_change_nothing(ledger_engine, store):
    with ledger_engine.begin() as connection:
        store.append(connection, [sample_entry(i) for i in range(13)])
        store.make_checkpoint(connection, [Signer.generate(ORIGIN)])
    requests = [
        ("inclusion_proof", 13, 13), ("inclusion_proof", -1, 13), ("inclusion_proof", 0, 14),
        ("inclusion_proof", 0, 0), ("inclusion_proof", 5, 4), ("inclusion_proof", 0, -1),
        ("consistency_proof", 0, 13), ("consistency_proof", 0, 0), ("consistency_proof", 5, 14),
        ("consistency_proof", 9, 5), ("consistency_proof", -1, 5), ("consistency_proof", 14, 14),
        ("root", 14), ("root", -1),
        ("entries", 0, 14), ("entries", -1, 3), ("entries", 5, 4),
        ("tile", 0, 0, 14), ("tile", 0, 1, 1), ("tile", 1, 0, 1), ("tile", 0, 0, 0), ("tile", 0, 0, 257),
        ("tile", -1, 0, 1),
        ("entry_bundle", 0, 14), ("entry_bundle", 1, 1), ("entry_bundle", 0, 0), ("entry_bundle", -1, 1),
    ]
    with ledger_engine.connect() as connection:
        before = snapshot(connection)
        for name, *args in requests:
            with pytest.raises(ProofError):
                getattr(store, name)(connection, *args)
                pytest.fail(f"{name}{tuple(args)} answered")
        assert snapshot(connection) == before
        # the limits themselves are fine
        assert store.consistency_proof(connection, 13, 13) == []
        assert len(store.inclusion_proof(connection, 12, 13)[1]) == 2  # MTH(8:12), MTH(0:8)
        assert store.tile(connection, 0, 0, 13) and store.entry_bundle(connection, 0, 13)
        connection.rollback()


@pytest.mark.parametrize("how", ["rollback", "exception"])
def test_a_rolled_back_append_leaves_nothing(ledger_engine, store, how):
    with ledger_engine.begin() as connection:
        store.append(connection, [sample_entry(i) for i in range(3)])
    with ledger_engine.connect() as connection:
        before = snapshot(connection)
        connection.rollback()

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        with ledger_engine.begin() as connection:
            assert store.append(connection, [sample_entry(i) for i in range(3, 40)]) == list(range(3, 40))
            assert store.size(connection) == 40  # visible inside the transaction, nodes included
            assert row_counts(connection)["ledger_nodes"] > len(before["ledger_nodes"])
            if how == "rollback":
                connection.get_transaction().rollback()
            raise Abort
    with ledger_engine.connect() as connection:
        assert snapshot(connection) == before
        assert store.size(connection) == 3
        connection.rollback()
    with ledger_engine.begin() as connection:
        assert store.append(connection, [sample_entry(100), sample_entry(101)]) == [3, 4]
        tree = merkle.MemoryTree()
        for raw in [sample_entry(i)[1] for i in range(3)] + [sample_entry(100)[1], sample_entry(101)[1]]:
            tree.append(raw)
        assert store.root(connection) == tree.root()
        assert audit(connection, store, policy_for()).ok


# --- append-only triggers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def populated(database_factory):
    """A small log with rows in all four tables; the trigger tests must leave it exactly as it is."""
    engine = new_ledger(database_factory())
    store = LedgerStore(ORIGIN)
    log_key = Signer.generate(ORIGIN)
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    with engine.begin() as connection:
        store.append(connection, [sample_entry(i) for i in range(5)])
        cp = store.make_checkpoint(connection, [log_key])
        line = witness.signature_line(note.parse(cp.note).body)
        store.add_cosignature(connection, cp.id, witness.name, witness.verifier.key_id.hex(), line)
    with engine.connect() as connection:
        before = snapshot(connection)
        connection.rollback()
    assert all(before.values())
    yield engine, before
    engine.dispose()


CHANGES = {
    "ledger_entries": ("UPDATE ledger_entries SET kind = 'transfer' WHERE idx = 1",
                       "DELETE FROM ledger_entries WHERE idx = 4"),
    "ledger_nodes": ("UPDATE ledger_nodes SET hash = hash", "DELETE FROM ledger_nodes WHERE level = 2"),
    "ledger_checkpoints": ("UPDATE ledger_checkpoints SET note = note || 'x'",
                           "DELETE FROM ledger_checkpoints WHERE id = 1"),
    "ledger_cosignatures": ("UPDATE ledger_cosignatures SET line = ''", "DELETE FROM ledger_cosignatures"),
}
T = datetime(2025, 1, 1, tzinfo=timezone.utc)
UPSERTS = {
    "ledger_entries": ("INSERT INTO ledger_entries (idx, kind, leaf_hash, entry) VALUES (1, 'registration', :h, :b) "
                       "ON CONFLICT (idx) DO UPDATE SET entry = excluded.entry", {"h": b"\0" * 32, "b": b"{}"}),
    "ledger_nodes": ("INSERT INTO ledger_nodes (level, idx, hash) VALUES (1, 0, :h) "
                     "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash", {"h": b"\0" * 32}),
    "ledger_checkpoints": ("INSERT INTO ledger_checkpoints (id, tree_size, root_hash, note, created_at) "
                           "VALUES (1, 0, :h, 'n', :t) ON CONFLICT (id) DO UPDATE SET note = excluded.note",
                           {"h": b"\0" * 32, "t": T}),
    "ledger_cosignatures": ("INSERT INTO ledger_cosignatures (id, checkpoint_id, witness, key_id, line, created_at) "
                            "VALUES (1, 1, 'w', '00000000', 'l', :t) ON CONFLICT (id) DO UPDATE SET line = excluded.line",
                            {"t": T}),
}


def _statements():
    for table, (update, delete) in CHANGES.items():
        yield pytest.param(update, {}, id=f"{table}-update")
        yield pytest.param(delete, {}, id=f"{table}-delete")
        yield pytest.param(f"DELETE FROM {table}", {}, id=f"{table}-delete-all")
        yield pytest.param(*UPSERTS[table], id=f"{table}-upsert")
        if BACKEND == "postgresql":
            yield pytest.param(f"TRUNCATE {table} CASCADE", {}, id=f"{table}-truncate")


@pytest.mark.parametrize("statement, params", list(_statements()))
def test_triggers_refuse_changes_and_the_data_stays(populated, statement, params):
    engine, before = populated
    with pytest.raises(DBAPIError, match=APPEND_ONLY_MESSAGE):
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    with engine.connect() as connection:
        assert snapshot(connection) == before
        connection.rollback()


REPLACES = {
    "ledger_entries": ("INSERT OR REPLACE INTO ledger_entries (idx, kind, leaf_hash, entry) "
                       "VALUES (1, 'registration', :h, :b)", {"h": b"\0" * 32, "b": b"{}"}),
    "ledger_nodes": ("INSERT OR REPLACE INTO ledger_nodes (level, idx, hash) VALUES (1, 0, :h)", {"h": b"\0" * 32}),
    "ledger_checkpoints": ("INSERT OR REPLACE INTO ledger_checkpoints (id, tree_size, root_hash, note, created_at) "
                           "VALUES (1, 0, :h, 'n', :t)", {"h": b"\0" * 32, "t": T}),
    "ledger_cosignatures": ("INSERT OR REPLACE INTO ledger_cosignatures "
                            "(id, checkpoint_id, witness, key_id, line, created_at) "
                            "VALUES (1, 1, 'w', '00000000', 'l', :t)", {"t": T}),
}


@pytest.mark.skipif(BACKEND != "sqlite", reason="INSERT OR REPLACE is SQLite's")
@pytest.mark.parametrize("table", REPLACES)
def test_insert_or_replace_is_refused_on_sqlite(populated, table):
    engine, before = populated
    statement, params = REPLACES[table]
    try:
        with pytest.raises(DBAPIError, match=APPEND_ONLY_MESSAGE):
            with engine.begin() as connection:
                connection.execute(text(statement), params)
                assert snapshot(connection) != before  # the row was replaced
                connection.get_transaction().rollback()  # keep the shared log intact for the other tests
    finally:
        with engine.connect() as connection:
            assert snapshot(connection) == before
            connection.rollback()


# --- tlog-tiles ----------------------------------------------------------------------------------------------


def test_tiles_and_entry_bundles(ledger_engine, store):
    items = [sample_entry(i, pad="é" * (i % 50)) for i in range(600)]
    tree = merkle.MemoryTree()
    with ledger_engine.begin() as connection:
        for start in range(0, 600, 150):
            store.append(connection, items[start:start + 150])
    for _, raw in items:
        tree.append(raw)
    with ledger_engine.connect() as connection:
        # level 0: leaf hashes; tiles 0 and 1 full, tile 2 partial (600 - 512 = 88 leaves)
        for index, width in [(0, 256), (1, 256), (2, 88), (2, 1), (0, 3)]:
            tile = store.tile(connection, 0, index, width)
            assert tile == b"".join(merkle.leaf_hash(raw) for _, raw in items[index * 256:index * 256 + width])
            assert tile == b"".join(tree.levels[0][index * 256:index * 256 + width])
        # level 1: hashes of Merkle level 8, i.e. of complete 256-leaf subtrees; 600 leaves make 2 of them
        tile = store.tile(connection, 1, 0, 2)
        assert tile == tree.levels[8][0] + tree.levels[8][1]
        assert tree.levels[8][0] == tree.root(256)
        assert tree.levels[8][1] == merkle.root_from_leaf_hashes(tree.levels[0][256:512])
        assert store.tile(connection, 1, 0, 1) == tile[:32]
        for level, index, width in [(0, 2, 89), (0, 3, 1), (1, 0, 3), (2, 0, 1)]:
            with pytest.raises(ProofError):
                store.tile(connection, level, index, width)
        # entry bundles: uint16 big-endian length, then the entry, for each entry of the bundle
        for index, width in [(0, 256), (1, 256), (2, 88), (2, 5)]:
            bundle = store.entry_bundle(connection, index, width)
            expected = b"".join(struct.pack(">H", len(raw)) + raw for _, raw in items[index * 256:index * 256 + width])
            assert bundle == expected
            parsed, offset = [], 0
            while offset < len(bundle):
                (length,) = struct.unpack_from(">H", bundle, offset)
                parsed.append(bundle[offset + 2:offset + 2 + length])
                offset += 2 + length
            assert parsed == [raw for _, raw in items[index * 256:index * 256 + width]]
        with pytest.raises(ProofError):
            store.entry_bundle(connection, 2, 89)
        connection.rollback()


# --- checkpoints ---------------------------------------------------------------------------------------------


def test_make_checkpoint(ledger_engine, store):
    old, new = Signer.generate(ORIGIN), Signer.generate(ORIGIN)
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    with ledger_engine.begin() as connection:
        assert store.latest_checkpoint(connection) is None
        store.append(connection, [sample_entry(i) for i in range(7)])
        first = store.make_checkpoint(connection, [old, new])
    with ledger_engine.begin() as connection:
        assert first.tree_size == 7 and first.root_hash == store.root(connection, 7)
        body, verified = note.verify(first.note, [old.verifier, new.verifier])
        assert len(verified) == 2
        assert Checkpoint.from_body(body.body) == Checkpoint(ORIGIN, 7, first.root_hash)
        again = store.make_checkpoint(connection, [old, new])
        assert (again.id, again.note, again.tree_size) == (first.id, first.note, 7)
        assert row_counts(connection)["ledger_checkpoints"] == 1
        line = witness.signature_line(body.body, 1_700_000_000)
        store.add_cosignature(connection, first.id, witness.name, witness.verifier.key_id.hex(), line)
    with ledger_engine.begin() as connection:
        same = store.make_checkpoint(connection, [new])
        assert same.id == first.id and same.cosignature_lines == (line,)
        assert same.text == first.note + line
        assert store.last_cosigned(connection, witness.name, witness.verifier.key_id.hex()).id == first.id
        store.append(connection, [sample_entry(7)])
        second = store.make_checkpoint(connection, [new])
    with ledger_engine.begin() as connection:
        assert second.id != first.id and second.tree_size == 8
        assert second.root_hash == store.root(connection) != first.root_hash
        _, verified = note.verify(second.note, [old.verifier, new.verifier])
        assert [v.verifier for v in verified] == [new.verifier]
        assert Checkpoint.from_note(second.note) == Checkpoint(ORIGIN, 8, second.root_hash)
        assert store.latest_checkpoint(connection).id == second.id
        assert store.checkpoint_for_size(connection, 7).id == first.id
        assert [c.id for c in store.all_checkpoints(connection)] == [first.id, second.id]
        assert row_counts(connection)["ledger_checkpoints"] == 2
        proof = store.consistency_proof(connection, 7, 8)
        merkle.verify_consistency(7, 8, first.root_hash, second.root_hash, proof)
        assert audit(connection, store, policy_for(old, new)).ok


def test_checkpoint_time_keeps_its_time_zone(ledger_engine, store):
    key = Signer.generate(ORIGIN)
    china = timezone(timedelta(hours=8))
    made_at = datetime(2025, 6, 1, 9, 0, tzinfo=china)  # 01:00 UTC
    policy = Policy(ORIGIN, [LogKey(key.verifier, made_at - timedelta(hours=1), made_at + timedelta(hours=1))])
    with ledger_engine.begin() as connection:
        store.append(connection, [sample_entry(1)])
        made = store.make_checkpoint(connection, [key], now=made_at)
    with ledger_engine.begin() as connection:
        report = audit(connection, store, policy)
        assert report.ok, report.problems
        assert store.latest_checkpoint(connection).created_at == made.created_at == made_at


def test_checkpoint_of_the_empty_log(ledger_engine, store):
    key = Signer.generate(ORIGIN)
    with ledger_engine.begin() as connection:
        empty = store.make_checkpoint(connection, [key])
        assert (empty.tree_size, empty.root_hash) == (0, merkle.EMPTY_ROOT)
        assert Checkpoint.from_note(empty.note) == Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT)
        assert store.make_checkpoint(connection, [key]).id == empty.id
        store.append(connection, [sample_entry(0)])
        one = store.make_checkpoint(connection, [key])
        assert one.id != empty.id and one.tree_size == 1 and one.root_hash == merkle.leaf_hash(sample_entry(0)[1])
        report = audit(connection, store, policy_for(key))
        assert report.ok and report.checkpoints == 2, report.problems

"""The audit finds every kind of tampering an owner of the tables could do once the append-only triggers are gone,
and names where it is."""
from __future__ import annotations

import base64
import hashlib
import re

import pytest
from sqlalchemy import delete, insert, select, update

from ledger import merkle, note, storage
from ledger.audit import audit
from ledger.checkpoint import Checkpoint
from ledger.note import ALG_COSIGNATURE_V1, Signer
from ledger.policy import LogKey, Policy, WitnessKey
from ledger.storage import LedgerStore, checkpoints, cosignatures, entries, nodes

from tests.ledger.ledger_testing import KEYS_FROM, ORIGIN, new_ledger, sample_entry

# 301 entries: the last index (300) is even, so appending index 301 must also write tree node (1, 150).
SIZE = 301
CHECKPOINT_SIZES = (1, 50, 128, 200, SIZE)


@pytest.fixture(scope="module")
def log(database_factory):
    engine = new_ledger(database_factory())
    store = LedgerStore(ORIGIN)
    old, new = Signer.generate(ORIGIN), Signer.generate(ORIGIN)
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    policy = Policy(ORIGIN, [LogKey(old.verifier, KEYS_FROM), LogKey(new.verifier, KEYS_FROM)],
                    [WitnessKey(witness.verifier)], 0)
    tree = merkle.MemoryTree()
    ids = {}
    done = 0
    for size in CHECKPOINT_SIZES:
        with engine.begin() as connection:
            items = [sample_entry(i, kind="registration" if i % 3 else "transfer") for i in range(done, size)]
            store.append(connection, items)
            for _, raw in items:
                tree.append(raw)
            done = size
            signers = [old] if size < 128 else [old, new] if size == 128 else [new]  # a key rotation
            cp = store.make_checkpoint(connection, signers)
            ids[size] = cp.id
            if size == 200:
                line = witness.signature_line(note.parse(cp.note).body)
                store.add_cosignature(connection, cp.id, witness.name, witness.verifier.key_id.hex(), line)
    yield engine, store, policy, tree, ids
    engine.dispose()


@pytest.fixture
def attacker(log):
    """A connection that has dropped the append-only triggers; everything is rolled back afterwards."""
    engine, store, policy, _, _ = log
    with engine.connect() as connection:
        transaction = connection.begin()
        for statement in storage.DROP_APPEND_ONLY_DDL[connection.dialect.name]:
            connection.exec_driver_sql(statement)
        yield connection
        transaction.rollback()
    with engine.connect() as connection:  # the next test starts from the intact log, triggers included
        assert audit(connection, store, policy).ok
        connection.rollback()


def test_an_intact_log_audits_ok(log):
    engine, store, policy, tree, _ = log
    with engine.connect() as connection:
        report = audit(connection, store, policy)
        connection.rollback()
    assert report.ok, report.problems
    assert (report.size, report.root, report.checkpoints) == (SIZE, tree.root(), len(CHECKPOINT_SIZES))
    assert "intact" in report.summary()


def _entry(connection, idx: int):
    return connection.execute(select(entries).where(entries.c.idx == idx)).one()


def _set_entry(connection, idx: int, **values) -> None:
    connection.execute(update(entries).where(entries.c.idx == idx).values(**values))


def change_entry_bytes(c, ids):
    raw = _entry(c, 137).entry
    _set_entry(c, 137, entry=bytes(raw).replace(b'"n":137', b'"n":731'))
    return r"\bentry 137\b"


def change_entry_to_non_canonical_json(c, ids):
    _set_entry(c, 137, entry=bytes(_entry(c, 137).entry).replace(b",", b", ", 1))
    return r"\bentry 137\b"


def change_leaf_hash(c, ids):
    _set_entry(c, 137, leaf_hash=hashlib.sha256(b"forged").digest())
    return r"\bentry 137\b"


def rewrite_entry_and_leaf_hash(c, ids):
    kind, raw = sample_entry(137, kind=_entry(c, 137).kind, forged=True)
    _set_entry(c, 137, entry=raw, leaf_hash=merkle.leaf_hash(raw))
    return r"\b137\b"  # the first tree node above it: level 1 index 68 (entries 136–137)


def change_kind_column(c, ids):
    _set_entry(c, 137, kind="freeze")
    return r"\bentry 137\b"


def delete_entry_in_the_middle(c, ids):
    c.execute(delete(entries).where(entries.c.idx == 137))
    return r"\bentry 137\b"


def delete_last_entry(c, ids):
    c.execute(delete(entries).where(entries.c.idx == SIZE - 1))
    # no tree node covers entry 300 alone; the checkpoint of size 301 does: the log now holds 300 entries (0..299)
    return rf"checkpoint {ids[SIZE]} \(size {SIZE}\).*\b{SIZE - 1}\b"


def swap_entry_bytes(c, ids):
    a, b = _entry(c, 40), _entry(c, 41)
    assert a.kind == b.kind
    _set_entry(c, 40, entry=bytes(b.entry))
    _set_entry(c, 41, entry=bytes(a.entry))
    return r"\bentry 40\b"


def swap_whole_rows(c, ids):
    a, b = _entry(c, 40), _entry(c, 41)
    _set_entry(c, 40, kind=b.kind, leaf_hash=bytes(b.leaf_hash), entry=bytes(b.entry))
    _set_entry(c, 41, kind=a.kind, leaf_hash=bytes(a.leaf_hash), entry=bytes(a.entry))
    return r"\b40\b"  # tree node level 1 index 20 (entries 40–41)


def insert_row_at_the_end(c, ids):
    kind, raw = sample_entry(SIZE)
    c.execute(insert(entries).values(idx=SIZE, kind=kind, leaf_hash=merkle.leaf_hash(raw), entry=raw))
    return rf"\b{SIZE}\b"


def change_node_hash(c, ids):
    c.execute(update(nodes).where(nodes.c.level == 3, nodes.c.idx == 10).values(hash=hashlib.sha256(b"x").digest()))
    return r"level 3 index 10\b"


def delete_node_row(c, ids):
    c.execute(delete(nodes).where(nodes.c.level == 5, nodes.c.idx == 3))
    return r"level 5 index 3\b"


def insert_node_row(c, ids):
    c.execute(insert(nodes).values(level=1, idx=150, hash=hashlib.sha256(b"x").digest()))
    return r"level 1 index 150\b"


def _checkpoint_row(c, size):
    return c.execute(select(checkpoints).where(checkpoints.c.tree_size == size)).one()


def change_checkpoint_root_in_note(c, ids):
    row = _checkpoint_row(c, 200)
    cp = Checkpoint.from_note(row.note)
    forged = row.note.replace(cp.body, Checkpoint(cp.origin, cp.size, hashlib.sha256(b"x").digest()).body)
    c.execute(update(checkpoints).where(checkpoints.c.id == row.id).values(note=forged))
    return rf"checkpoint {ids[200]} \(size 200\)"


def change_checkpoint_signature(c, ids):
    row = _checkpoint_row(c, 128)
    body, sigs = row.note.split("\n\n")
    name, blob = sigs.splitlines()[0][2:].split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    forged = body + "\n\n" + f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n" + \
        "".join(line + "\n" for line in sigs.splitlines()[1:])
    c.execute(update(checkpoints).where(checkpoints.c.id == row.id).values(note=forged))
    return rf"checkpoint {ids[128]} \(size 128\)"


def change_checkpoint_size_and_root_columns(c, ids):
    c.execute(update(checkpoints).where(checkpoints.c.id == ids[50])
              .values(tree_size=49, root_hash=_checkpoint_row(c, 1).root_hash))
    return rf"checkpoint {ids[50]} \(size 49\)"


def replace_checkpoint_signed_by_unknown_key(c, ids):
    row = _checkpoint_row(c, SIZE)
    forged = note.sign(note.parse(row.note).body, [Signer.generate(ORIGIN)])
    c.execute(update(checkpoints).where(checkpoints.c.id == row.id).values(note=forged))
    return rf"checkpoint {ids[SIZE]} \(size {SIZE}\)"


def change_cosignature(c, ids):
    line = c.execute(select(cosignatures.c.line)).scalar_one()
    forged = line[:-6] + ("A" if line[-6] != "A" else "B") + line[-5:]
    c.execute(update(cosignatures).values(line=forged))
    return rf"checkpoint {ids[200]} \(size 200\)"


TAMPERING = [change_entry_bytes, change_entry_to_non_canonical_json, change_leaf_hash, rewrite_entry_and_leaf_hash,
             change_kind_column, delete_entry_in_the_middle, delete_last_entry, swap_entry_bytes, swap_whole_rows,
             insert_row_at_the_end, change_node_hash, delete_node_row, insert_node_row, change_checkpoint_root_in_note,
             change_checkpoint_signature, change_checkpoint_size_and_root_columns,
             replace_checkpoint_signed_by_unknown_key, change_cosignature]


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.__name__ for t in TAMPERING])
def test_tampering_is_found_and_located(log, attacker, tamper):
    _, store, policy, _, ids = log
    where = tamper(attacker, ids)
    report = audit(attacker, store, policy)
    assert not report.ok
    assert re.search(where, report.problems[0]), report.problems[0]
    assert report.summary() == f"ledger damaged: {report.problems[0]}"


def test_a_new_checkpoint_signed_by_an_unknown_key_is_found(log):
    """No trigger needs dropping to insert a row; the audit still refuses a checkpoint no policy key signed."""
    engine, store, policy, tree, _ = log
    with engine.connect() as connection:
        transaction = connection.begin()
        stranger = Signer.generate(ORIGIN)
        forged = store.make_checkpoint(connection, [stranger])  # nothing appended: returns the real latest one
        new_id = connection.execute(
            insert(checkpoints).values(tree_size=SIZE, root_hash=tree.root(), created_at=forged.created_at,
                                       note=note.sign(Checkpoint(ORIGIN, SIZE, tree.root()).body, [stranger]))
            .returning(checkpoints.c.id)
        ).scalar_one()
        report = audit(connection, store, policy)
        transaction.rollback()
    assert not report.ok
    assert re.search(rf"checkpoint {new_id} \(size {SIZE}\).*no signature by a known key", report.problems[0]), \
        report.problems[0]

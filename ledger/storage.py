"""Ledger storage with SQLAlchemy Core, on SQLite and PostgreSQL.

Appends run inside the caller's transaction, so a state change and its entry commit together.
They are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the write
lock that ``BEGIN IMMEDIATE`` takes (see ``use_immediate_transactions``). Rows are append-only;
``APPEND_ONLY_DDL`` installs the triggers that refuse UPDATE, DELETE (and TRUNCATE) on them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    event,
    func,
    insert,
    or_,
    select,
)

from . import merkle
from .checkpoint import Checkpoint
from .merkle import NodeId, ProofError
from .note import Signer, add_signatures, sign

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("entry", LargeBinary, nullable=False),
)

# Complete subtrees above the leaves: (level, idx) covers leaves [idx << level, (idx + 1) << level).
nodes = Table(
    "ledger_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tree_size", BigInteger, nullable=False, index=True),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

cosignatures = Table(
    "ledger_cosignatures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("checkpoint_id", ForeignKey("ledger_checkpoints.id"), nullable=False, index=True),
    Column("witness", String(200), nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("line", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints", "ledger_cosignatures")
APPEND_ONLY_MESSAGE = "ledger rows are append-only"

APPEND_ONLY_DDL = {
    "sqlite": [
        stmt
        for table in APPEND_ONLY_TABLES
        for stmt in (
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: UPDATE on {table} refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: DELETE on {table} refused'); END",
        )
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME "
        "USING ERRCODE = 'insufficient_privilege'; END $$",
        *[
            stmt
            for table in APPEND_ONLY_TABLES
            for stmt in (
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
            )
        ],
    ],
}

DROP_APPEND_ONLY_DDL = {
    "sqlite": [f"DROP TRIGGER IF EXISTS {t}_no_{op}" for t in APPEND_ONLY_TABLES for op in ("update", "delete")],
    "postgresql": [
        *[f"DROP TRIGGER IF EXISTS {t}_no_{op} ON {t}" for t in APPEND_ONLY_TABLES for op in ("change", "truncate")],
        "DROP FUNCTION IF EXISTS ledger_refuse_change()",
    ],
}

# pg_advisory_xact_lock key: the ASCII of "ledger" — any constant shared by all writers works.
ADVISORY_LOCK_KEY = 0x6C6564676572
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_IN_CHUNK = 500  # bound on bound parameters per statement


def create_tables(connection: Connection) -> None:
    """Create the ledger tables and their append-only triggers (for stand-alone use and tests)."""
    metadata.create_all(connection)
    install_append_only(connection)


def install_append_only(connection: Connection) -> None:
    for stmt in APPEND_ONLY_DDL[connection.dialect.name]:
        connection.exec_driver_sql(stmt)


def use_immediate_transactions(engine: Engine) -> None:
    """Make every SQLite transaction on ``engine`` BEGIN IMMEDIATE, so appends are serialised."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime
    cosignature_lines: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The signed note with every witness cosignature recorded for it."""
        return add_signatures(self.note, list(self.cosignature_lines)) if self.cosignature_lines else self.note


class LedgerStore:
    """One log (one origin) in a database. Every method takes the caller's connection."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    # --- appending -------------------------------------------------------------------

    def lock(self, connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))

    def append(self, connection: Connection, items: Sequence[tuple[str, bytes]]) -> list[int]:
        """Append (kind, entry bytes) pairs; return their indices. Commits nothing."""
        if not items:
            return []
        self.lock(connection)
        size = self.size(connection)
        stack = [(level, idx, h) for (level, idx), h in zip(
            merkle.frontier(size), self._node_hashes(connection, merkle.frontier(size)), strict=True
        )]
        entry_rows, node_rows = [], []
        for offset, (kind, entry) in enumerate(items):
            index = size + offset
            h = merkle.leaf_hash(entry)
            entry_rows.append({"idx": index, "kind": kind, "leaf_hash": h, "entry": entry})
            level, idx = 0, index
            while stack and stack[-1][0] == level:
                h = merkle.node_hash(stack.pop()[2], h)
                level, idx = level + 1, idx >> 1
                node_rows.append({"level": level, "idx": idx, "hash": h})
            stack.append((level, idx, h))
        connection.execute(insert(entries), entry_rows)
        if node_rows:
            connection.execute(insert(nodes), node_rows)
        return list(range(size, size + len(items)))

    # --- reading ---------------------------------------------------------------------

    def size(self, connection: Connection) -> int:
        last = connection.execute(select(func.max(entries.c.idx))).scalar()
        return 0 if last is None else last + 1

    def get_nodes(self, connection: Connection, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
        wanted = list(wanted)
        found: dict[NodeId, bytes] = {}
        leaves = [i for level, i in wanted if level == 0]
        for chunk in _chunks(leaves):
            for idx, h in connection.execute(select(entries.c.idx, entries.c.leaf_hash).where(entries.c.idx.in_(chunk))):
                found[(0, idx)] = h
        inner = [n for n in wanted if n[0] > 0]
        for chunk in _chunks(inner):
            by_level: dict[int, list[int]] = {}
            for level, i in chunk:
                by_level.setdefault(level, []).append(i)
            cond = or_(*(and_(nodes.c.level == lv, nodes.c.idx.in_(ids)) for lv, ids in by_level.items()))
            for level, idx, h in connection.execute(select(nodes.c.level, nodes.c.idx, nodes.c.hash).where(cond)):
                found[(level, idx)] = h
        missing = [n for n in wanted if n not in found]
        if missing:
            raise ProofError(f"ledger storage lacks tree node(s) {missing[:3]}; run the audit")
        return found

    def _node_hashes(self, connection: Connection, wanted: list[NodeId]) -> list[bytes]:
        found = self.get_nodes(connection, wanted)
        return [found[n] for n in wanted]

    def _check_size(self, connection: Connection, size: int) -> int:
        current = self.size(connection)
        if not 0 <= size <= current:
            raise ProofError(f"tree size {size} is outside the log, which holds {current} entries")
        return current

    def root(self, connection: Connection, size: int | None = None) -> bytes:
        size = self.size(connection) if size is None else size
        self._check_size(connection, size)
        if size == 0:
            return merkle.EMPTY_ROOT
        return merkle.fold_subtrees(self._node_hashes(connection, merkle.frontier(size)))

    def inclusion_proof(self, connection: Connection, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash, proof) for entry ``index`` in the tree of ``size`` entries."""
        self._check_size(connection, size)
        if not 0 <= index < size:
            raise ProofError(f"index {index} is outside a tree of size {size}")
        ranges = merkle.inclusion_ranges(index, size)
        found = self.get_nodes(connection, merkle.nodes_for_ranges(ranges) + [(0, index)])
        proof = [merkle.fold_subtrees([found[n] for n in merkle.range_subtrees(s, e)]) for s, e in ranges]
        return found[(0, index)], proof

    def consistency_proof(self, connection: Connection, old_size: int, new_size: int) -> list[bytes]:
        self._check_size(connection, new_size)
        if old_size == new_size and old_size > 0:
            return []
        ranges = merkle.consistency_ranges(old_size, new_size)
        return merkle.hashes_for_ranges(ranges, lambda wanted: self.get_nodes(connection, wanted))

    def entries(self, connection: Connection, start: int, end: int) -> list[tuple[int, bytes]]:
        current = self.size(connection)
        if not 0 <= start <= end <= current:
            raise ProofError(f"entries [{start}, {end}) are outside the log, which holds {current} entries")
        rows = connection.execute(
            select(entries.c.idx, entries.c.entry).where(entries.c.idx >= start, entries.c.idx < end).order_by(entries.c.idx)
        )
        return [(i, bytes(e)) for i, e in rows]

    def iter_entries(self, connection: Connection, batch: int = 10000) -> Iterator[tuple[int, str, bytes, bytes]]:
        """Every row in index order as (idx, kind, leaf_hash, entry), in batches (for the audit)."""
        last = -1
        while True:
            rows = connection.execute(
                select(entries.c.idx, entries.c.kind, entries.c.leaf_hash, entries.c.entry)
                .where(entries.c.idx > last)
                .order_by(entries.c.idx)
                .limit(batch)
            ).all()
            if not rows:
                return
            for idx, kind, h, e in rows:
                yield idx, kind, bytes(h), bytes(e)
            last = rows[-1][0]

    # --- tlog-tiles ------------------------------------------------------------------

    def tile(self, connection: Connection, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
        """Hashes of tile (level, index): Merkle level ``8 * level``, up to ``width`` nodes."""
        if not 1 <= width <= TILE_WIDTH or level < 0 or index < 0:
            raise ProofError("tile width must be 1..256, level and index not negative")
        merkle_level = level * TILE_HEIGHT
        first = index * TILE_WIDTH
        if ((first + width) << merkle_level) > self.size(connection):
            raise ProofError(f"tile {level}/{index} of width {width} is beyond the log")
        wanted = [(merkle_level, first + i) for i in range(width)]
        return b"".join(self._node_hashes(connection, wanted))

    def entry_bundle(self, connection: Connection, index: int, width: int = TILE_WIDTH) -> bytes:
        """Entries [index*256, index*256+width) as a tlog-tiles entry bundle (uint16 length + bytes)."""
        if not 1 <= width <= TILE_WIDTH or index < 0:
            raise ProofError("entry bundle width must be 1..256 and the index not negative")
        start = index * TILE_WIDTH
        if start + width > self.size(connection):
            raise ProofError(f"entry bundle {index} of width {width} is beyond the log")
        return b"".join(struct.pack(">H", len(e)) + e for _, e in self.entries(connection, start, start + width))

    # --- checkpoints -----------------------------------------------------------------

    def latest_checkpoint(self, connection: Connection) -> StoredCheckpoint | None:
        row = connection.execute(select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)).first()
        return self._stored(connection, row) if row else None

    def checkpoint_for_size(self, connection: Connection, size: int) -> StoredCheckpoint | None:
        row = connection.execute(
            select(checkpoints).where(checkpoints.c.tree_size == size).order_by(checkpoints.c.id.desc()).limit(1)
        ).first()
        return self._stored(connection, row) if row else None

    def all_checkpoints(self, connection: Connection) -> list[StoredCheckpoint]:
        rows = connection.execute(select(checkpoints).order_by(checkpoints.c.id)).all()
        return [self._stored(connection, row) for row in rows]

    def _stored(self, connection: Connection, row) -> StoredCheckpoint:
        lines = connection.execute(
            select(cosignatures.c.line).where(cosignatures.c.checkpoint_id == row.id).order_by(cosignatures.c.id)
        ).scalars()
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
        return StoredCheckpoint(row.id, row.tree_size, bytes(row.root_hash), row.note, created, tuple(lines))

    def make_checkpoint(self, connection: Connection, signers: list[Signer], now: datetime | None = None) -> StoredCheckpoint:
        """The newest checkpoint, signing a new one first if entries were appended since."""
        self.lock(connection)
        size = self.size(connection)
        latest = self.latest_checkpoint(connection)
        if latest is not None and latest.tree_size == size:
            return latest
        root = self.root(connection, size)
        note = sign(Checkpoint(self.origin, size, root).body, signers)
        now = now or datetime.now(timezone.utc)
        new_id = connection.execute(
            insert(checkpoints).values(tree_size=size, root_hash=root, note=note, created_at=now).returning(checkpoints.c.id)
        ).scalar_one()
        return StoredCheckpoint(new_id, size, root, note, now)

    def add_cosignature(self, connection: Connection, checkpoint_id: int, witness: str, key_id: str, line: str) -> None:
        connection.execute(
            insert(cosignatures).values(
                checkpoint_id=checkpoint_id, witness=witness, key_id=key_id, line=line,
                created_at=datetime.now(timezone.utc),
            )
        )

    def last_cosigned(self, connection: Connection, witness: str, key_id: str) -> StoredCheckpoint | None:
        row = connection.execute(
            select(checkpoints)
            .join(cosignatures, cosignatures.c.checkpoint_id == checkpoints.c.id)
            .where(cosignatures.c.witness == witness, cosignatures.c.key_id == key_id)
            .order_by(checkpoints.c.tree_size.desc(), checkpoints.c.id.desc())
            .limit(1)
        ).first()
        return self._stored(connection, row) if row else None


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]



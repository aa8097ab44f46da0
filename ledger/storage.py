"""Ledger storage with SQLAlchemy Core, on SQLite and PostgreSQL.

Appends run inside the caller's transaction, so a state change and its entry commit together.
They are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the write
lock that ``BEGIN IMMEDIATE`` takes (see ``use_immediate_transactions``). Rows are append-only;
``APPEND_ONLY_DDL`` installs the triggers that refuse UPDATE, DELETE (and TRUNCATE) on them.

The hot paths (the size, tree nodes for proofs and roots, appended rows) run fixed SQL through
``exec_driver_sql`` rather than building SQLAlchemy expressions per call: building and compiling an
expression costs more than the query itself, and a proof should come back within a millisecond. A
proof's nodes and the log's size come back from one statement: primary-key lookups joined with
``UNION ALL`` (SQLite), or joined against arrays of node ids (PostgreSQL).

Journal mode and ``synchronous`` on SQLite are the caller's choice (the platform uses WAL with the default
``synchronous=FULL``, see ``exchange/db.py``); with the rollback journal every commit costs several
fsyncs, which bounds one-entry transactions. See ``benchmarks/README.md`` for measured figures.
"""

from __future__ import annotations

import functools
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
    event,
    insert,
    select,
    text,
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

_KEY_MATCH = {
    "ledger_entries": "idx = NEW.idx",
    "ledger_nodes": "level = NEW.level AND idx = NEW.idx",
    "ledger_checkpoints": "id = NEW.id",
    "ledger_cosignatures": "id = NEW.id",
}

APPEND_ONLY_DDL = {
    "sqlite": [
        stmt
        for table in APPEND_ONLY_TABLES
        for stmt in (
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: UPDATE on {table} refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: DELETE on {table} refused'); END",
            # INSERT OR REPLACE deletes the old row without firing delete triggers: refuse the insert itself.
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {_KEY_MATCH[table]}) "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: REPLACE on {table} refused'); END",
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
    "sqlite": [f"DROP TRIGGER IF EXISTS {t}_no_{op}" for t in APPEND_ONLY_TABLES
               for op in ("update", "delete", "replace")],
    "postgresql": [
        *[f"DROP TRIGGER IF EXISTS {t}_no_{op} ON {t}" for t in APPEND_ONLY_TABLES for op in ("change", "truncate")],
        "DROP FUNCTION IF EXISTS ledger_refuse_change()",
    ],
}

# pg_advisory_xact_lock key: the ASCII of "ledger" — any constant shared by all writers works.
ADVISORY_LOCK_KEY = 0x6C6564676572
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_UNION_CHUNK = 300  # SELECTs per UNION ALL: SQLite allows 500, and 999 parameters before 3.32


def create_tables(connection: Connection) -> None:
    """Create the ledger tables and their append-only triggers (for stand-alone use and tests)."""
    metadata.create_all(connection)
    install_append_only(connection)


def install_append_only(connection: Connection) -> None:
    for stmt in APPEND_ONLY_DDL[connection.dialect.name]:
        # text(), not exec_driver_sql: psycopg reads the "%" of RAISE's format string as a placeholder
        connection.execute(text(stmt))


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
            _driver_sql(connection, "SELECT pg_advisory_xact_lock(?)", (ADVISORY_LOCK_KEY,))

    def append(self, connection: Connection, items: Sequence[tuple[str, bytes]]) -> list[int]:
        """Append (kind, entry bytes) pairs; return their indices. Commits nothing."""
        if not items:
            return []
        self.lock(connection)
        size = self.size(connection)
        frontier = merkle.frontier(size)
        hashes = self._node_hashes(connection, frontier)
        stack = [(level, idx, h) for (level, idx), h in zip(frontier, hashes, strict=True)]
        entry_rows, node_rows = [], []
        leaf_hash, node_hash = merkle.leaf_hash, merkle.node_hash
        for index, (kind, entry) in enumerate(items, size):
            h = leaf_hash(entry)
            entry_rows.append((index, kind, h, entry))
            level, idx = 0, index
            while stack and stack[-1][0] == level:
                h = node_hash(stack.pop()[2], h)
                level, idx = level + 1, idx >> 1
                node_rows.append((level, idx, h))
            stack.append((level, idx, h))
        _insert(connection, entries, ("idx", "kind", "leaf_hash", "entry"), entry_rows)
        if node_rows:
            _insert(connection, nodes, ("level", "idx", "hash"), node_rows)
        return list(range(size, size + len(items)))

    # --- reading ---------------------------------------------------------------------

    def size(self, connection: Connection) -> int:
        last = _driver_sql(connection, f"SELECT max(idx) FROM {entries.name}").scalar()
        return 0 if last is None else last + 1

    def get_nodes(self, connection: Connection, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
        """Stored hashes of complete subtrees (level 0: the leaf hashes), in one round trip for a proof's nodes."""
        wanted = list(wanted)
        found, _ = _lookup(connection, wanted, with_size=False)
        _require(found, wanted)
        return found

    def _node_hashes(self, connection: Connection, wanted: list[NodeId]) -> list[bytes]:
        found = self.get_nodes(connection, wanted)
        return [found[n] for n in wanted]

    def _check_size(self, connection: Connection, size: int) -> int:
        return _within(size, self.size(connection))

    def _nodes_in_tree(self, connection: Connection, wanted: list[NodeId], size: int) -> dict[NodeId, bytes]:
        """``get_nodes`` after ``_check_size``, with the log's size read in the same round trip."""
        found, current = _lookup(connection, wanted, with_size=True)
        _within(size, current)
        _require(found, wanted)
        return found

    def root(self, connection: Connection, size: int | None = None) -> bytes:
        if size is None:
            size = self.size(connection)
            if size == 0:
                return merkle.EMPTY_ROOT
            return merkle.fold_subtrees(self._node_hashes(connection, merkle.frontier(size)))
        if size <= 0:
            self._check_size(connection, size)
            return merkle.EMPTY_ROOT
        wanted = merkle.frontier(size)
        found = self._nodes_in_tree(connection, wanted, size)
        return merkle.fold_subtrees([found[n] for n in wanted])

    def inclusion_proof(self, connection: Connection, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash, proof) for entry ``index`` in the tree of ``size`` entries."""
        if not 0 <= index < size:
            self._check_size(connection, size)
            raise ProofError(f"index {index} is outside a tree of size {size}")
        leaf = (0, index)
        proof, found = self._range_hashes(connection, merkle.inclusion_ranges(index, size), size, leaf)
        return found[leaf], proof

    def consistency_proof(self, connection: Connection, old_size: int, new_size: int) -> list[bytes]:
        if old_size == new_size or not 0 < old_size <= new_size:  # nothing to fetch: no proof, or an error
            self._check_size(connection, new_size)
            if old_size == new_size and old_size > 0:
                return []
        return self._range_hashes(connection, merkle.consistency_ranges(old_size, new_size), new_size)[0]

    def _range_hashes(
        self, connection: Connection, ranges: list[tuple[int, int]], size: int, *extra: NodeId
    ) -> tuple[list[bytes], dict[NodeId, bytes]]:
        """``merkle.hashes_for_ranges`` in a tree of ``size`` (checked), fetching ``extra`` nodes alongside."""
        parts = [merkle.range_subtrees(start, end) for start, end in ranges]
        wanted = list(dict.fromkeys([n for part in parts for n in part] + list(extra)))
        found = self._nodes_in_tree(connection, wanted, size)
        return [merkle.fold_subtrees([found[n] for n in part]) for part in parts], found

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
            rows = _driver_sql(connection, _ENTRY_ROWS, (last, batch)).all()
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
        # SQLite keeps no offset: store UTC so that the time reads back the same on both backends
        now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
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


def _within(size: int, current: int) -> int:
    if not 0 <= size <= current:
        raise ProofError(f"tree size {size} is outside the log, which holds {current} entries")
    return current


def _require(found: dict[NodeId, bytes], wanted: list[NodeId]) -> None:
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ProofError(f"ledger storage lacks tree node(s) {missing[:3]}; run the audit")


_ENTRY_ROWS = f"SELECT idx, kind, leaf_hash, entry FROM {entries.name} WHERE idx > ? ORDER BY idx LIMIT ?"
_SIZE = f"SELECT -1, max(idx), NULL FROM {entries.name}"  # level -1 marks the row carrying the log's last index

# PostgreSQL: one statement whatever the nodes (arrays), so psycopg prepares it after a few runs and the
# server stops planning it; elsewhere a UNION ALL of primary-key lookups, built for the nodes at hand.
_PG_NODES = (
    f"SELECT n.level, n.idx, n.hash FROM {nodes.name} n "
    "JOIN unnest(CAST(? AS smallint[]), CAST(? AS bigint[])) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx "
    f"UNION ALL SELECT 0, e.idx, e.leaf_hash FROM {entries.name} e "
    "JOIN unnest(CAST(? AS bigint[])) AS w(idx) ON e.idx = w.idx"
)
_PG_NODES_AND_SIZE = f"{_PG_NODES} UNION ALL {_SIZE}"


def _lookup(connection: Connection, wanted: Iterable[NodeId], with_size: bool) -> tuple[dict[NodeId, bytes], int | None]:
    """Stored hashes of the ``wanted`` nodes that exist and, if asked, the log's size."""
    wanted = set(wanted)
    rows: list = []
    if connection.dialect.name == "postgresql":
        if wanted or with_size:
            inner = [(level, idx) for level, idx in wanted if level]
            params = (_pg_array(n[0] for n in inner), _pg_array(n[1] for n in inner),
                      _pg_array(idx for level, idx in wanted if not level))
            rows = _driver_sql(connection, _PG_NODES_AND_SIZE if with_size else _PG_NODES, params).all()
    else:
        leaf_runs, node_runs = _runs(wanted)
        first = True
        while first or leaf_runs or node_runs:
            room = _UNION_CHUNK - (with_size and first)
            leaves, leaf_runs = leaf_runs[:room], leaf_runs[room:]
            inner, node_runs = node_runs[: room - len(leaves)], node_runs[room - len(leaves) :]
            sql, params = _union(leaves, inner, with_size and first)
            if sql:
                rows += _driver_sql(connection, sql, params).all()
            first = False
    found: dict[NodeId, bytes] = {}
    current = None
    for level, idx, h in rows:
        if level < 0:
            current = 0 if idx is None else idx + 1
        else:
            found[(level, idx)] = bytes(h)
    return found, current


def _pg_array(numbers: Iterable[int]) -> str:
    """An array literal: one parameter type whatever the values (so one prepared statement), and quick to send."""
    return "{" + ",".join(str(int(n)) for n in numbers) + "}"


def _runs(wanted: Iterable[NodeId]) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Runs of neighbouring nodes: leaves as (first, last), tree nodes as (level, first, last)."""
    runs: list[list[int]] = []
    for level, idx in sorted((int(level), int(idx)) for level, idx in wanted):
        if runs and runs[-1][0] == level and runs[-1][2] + 1 == idx:
            runs[-1][2] = idx
        else:
            runs.append([level, idx, idx])
    return [(lo, hi) for level, lo, hi in runs if level == 0], [(level, lo, hi) for level, lo, hi in runs if level]


def _padded(runs: list, step: int = 4) -> list:
    """``runs`` with its last run repeated up to a multiple of ``step``, so statements repeat (and stay prepared)."""
    return runs + runs[-1:] * (-len(runs) % step) if runs else runs


def _union(leaf_runs: list, node_runs: list, with_size: bool) -> tuple[str, list[int]]:
    leaf_runs, node_runs = _padded(leaf_runs), _padded(node_runs)
    params = [p for run in leaf_runs for p in run] + [p for run in node_runs for p in run]
    return _union_sql(len(leaf_runs), len(node_runs), with_size), params


_LEAF_RUN = f"SELECT 0, idx, leaf_hash FROM {entries.name} WHERE idx BETWEEN ? AND ?"
_NODE_RUN = f"SELECT level, idx, hash FROM {nodes.name} WHERE level = ? AND idx BETWEEN ? AND ?"


@functools.lru_cache(maxsize=256)
def _union_sql(leaf_runs: int, node_runs: int, with_size: bool) -> str:
    """One UNION ALL of primary-key lookups (SQLite and the rest; PostgreSQL takes arrays instead)."""
    return " UNION ALL ".join([_SIZE] * with_size + [_LEAF_RUN] * leaf_runs + [_NODE_RUN] * node_runs)


@functools.lru_cache(maxsize=512)
def _in_paramstyle(sql: str, paramstyle: str) -> str:
    """``sql`` written with ``?`` placeholders (and no other ``?``), in the DBAPI driver's parameter style."""
    if paramstyle == "qmark":
        return sql
    if paramstyle in ("format", "pyformat"):
        return sql.replace("?", "%s")
    parts = sql.split("?")
    if paramstyle in ("numeric", "numeric_dollar", "named"):
        mark = {"numeric": ":{}", "numeric_dollar": "${}", "named": ":p{}"}[paramstyle]
        return parts[0] + "".join(mark.format(i) + part for i, part in enumerate(parts[1:], 1))
    raise NotImplementedError(f"DBAPI parameter style {paramstyle!r}")


def _driver_params(params: Sequence, paramstyle: str):
    if paramstyle == "named":
        return {f"p{i}": p for i, p in enumerate(params, 1)}
    return tuple(params)


def _driver_sql(connection: Connection, sql: str, params: Sequence = ()):
    """Run fixed SQL (``?`` placeholders) on the DBAPI driver, skipping SQLAlchemy's expression compilation."""
    style = connection.dialect.paramstyle
    return connection.exec_driver_sql(_in_paramstyle(sql, style), _driver_params(params, style))


def _insert(connection: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order): the driver's executemany, without SQLAlchemy's per-row
    processing (on PostgreSQL, psycopg pipelines it; faster than SQLAlchemy's insert() by half there too)."""
    style = connection.dialect.paramstyle
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    connection.exec_driver_sql(_in_paramstyle(sql, style), [_driver_params(r, style) for r in rows])

#!/usr/bin/env python3
"""Ledger benchmark: append throughput, proof latency and full-audit time, with pymerkle for comparison.

Prints figures; it is not a test. It stops with an error only when a sanity check fails (our roots and
proofs, MemoryTree's, the audit's and pymerkle's must agree).

    .venv/bin/python benchmarks/ledger_bench.py                      # SQLite, 10^6 entries
    .venv/bin/python benchmarks/ledger_bench.py --quick              # SQLite, 20,000 entries (smoke run)
    .venv/bin/python benchmarks/ledger_bench.py --postgres URL       # SQLite, then PostgreSQL at URL
    scripts/with-postgres.sh .venv/bin/python benchmarks/ledger_bench.py --postgres-from-env --only postgresql

PostgreSQL runs in a schema of its own (created and dropped here), so URL may point at a database that
holds other data. See benchmarks/README.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, event  # noqa: E402

from ledger import merkle, storage  # noqa: E402
from ledger import audit as audit_module  # noqa: E402
from ledger.audit import audit  # noqa: E402
from ledger.entry import make_entry  # noqa: E402
from ledger.note import Signer  # noqa: E402
from ledger.policy import LogKey, Policy  # noqa: E402
from ledger.storage import LedgerStore  # noqa: E402

ORIGIN = "bench.example/ledger"
KEY_SINCE = datetime(2020, 1, 1, tzinfo=timezone.utc)

# --- targets (from the issue), on the 2-core reference machine ------------------------------------------

BATCH_APPENDS_PER_S = 3000
SINGLE_APPENDS_PER_S = 300
PROOF_MS = 1.0
AUDIT_S = 60.0


class SanityError(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SanityError(f"sanity check failed: {what}")


# --- entries: registrations of contract-land parcels, as the platform records them -----------------------

PARCEL_NAMES = ["大田", "秧田", "坡地", "河坝田", "堰塘湾", "屋后地", "沟边田", "长丘", "梯田", "竹林湾"]
LAND = [("arable", "水田"), ("arable", "旱地"), ("garden", "果园"), ("forest", "林地"), ("water", "养殖水面")]
ENTRY_START = datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))


def registration(i: int) -> bytes:
    """Entry ``i``: a parcel's registration (19-digit NY/T 2539 parcel code, area, land class, boundaries)."""
    block = i // 30000  # 30,000 parcels per village
    township = f"511723{101 + block // 30 % 900:03d}"
    village = f"{township}{201 + block % 30:03d}"
    land_class, land_use = LAND[i % 5]
    return make_entry(
        "registration",
        [{"type": "parcel", "id": f"{village}{i % 3 + 1:02d}{i % 100000:05d}"}],
        {"role": "township", "division": township, "account": f"clerk{i % 7}"},
        {
            "name": PARCEL_NAMES[i % 10],
            "area_m2": f"{500 + i * 7919 % 150000 / 100:.2f}",
            "land_class": land_class,
            "land_use": land_use,
            "basic_farmland": land_class == "arable" and i % 10 < 7,
            "boundaries": {"east": "沟", "south": "路", "west": "邻户承包地", "north": "田坎"},
        },
        ENTRY_START + timedelta(seconds=3 * i, microseconds=i % 1000),
    )


def _registrations(bounds: tuple[int, int]) -> list[bytes]:
    return [registration(i) for i in range(*bounds)]


def make_entries(n: int, workers: int) -> tuple[list[bytes], float]:
    """n entries made with ledger.entry.make_entry, on all cores; (entries, seconds)."""
    started = time.perf_counter()
    step = 5000
    chunks = [(i, min(i + step, n)) for i in range(0, n, step)]
    if workers > 1 and n > 2 * step:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_registrations, chunks, chunksize=1)
    else:
        parts = [_registrations(c) for c in chunks]
    result = [e for part in parts for e in part]
    return result, time.perf_counter() - started


# --- figures ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    target: str
    measured: str
    status: str  # PASS, MISS or "" (information)


@dataclass
class Results:
    backend: str
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    compare: list[tuple[str, str, str, str]] = field(default_factory=list)  # pymerkle table

    def target(self, name: str, value: float, limit: float, *, higher_is_better: bool, unit: str, fmt: str) -> None:
        ok = value >= limit if higher_is_better else value <= limit
        sign = "≥" if higher_is_better else "≤"
        self.rows.append(Row(name, f"{sign} {limit:{fmt}} {unit}", f"{value:{fmt}} {unit}", "PASS" if ok else "MISS"))

    def info(self, name: str, measured: str) -> None:
        self.rows.append(Row(name, "", measured, ""))

    def print(self) -> None:
        print()
        print(f"== {self.backend} ==")
        for note in self.notes:
            print(f"   {note}")
        widths = [max(len(r.name) for r in self.rows), max(len(r.target) for r in self.rows) or 1,
                  max(len(r.measured) for r in self.rows)]
        header = f"   {'figure':<{widths[0]}}  {'target':<{widths[1]}}  {'measured':>{widths[2]}}  result"
        print(header)
        print("   " + "-" * (len(header) - 3))
        for r in self.rows:
            print(f"   {r.name:<{widths[0]}}  {r.target:<{widths[1]}}  {r.measured:>{widths[2]}}  {r.status}")
        if self.compare:
            print()
            print("   same leaves in pymerkle (SqliteTree, RFC 6962 hashing), same machine, same run:")
            w = [max(len(c[i]) for c in self.compare) for i in range(4)]
            head = ("operation", "ledger", "pymerkle", "pymerkle ÷ ledger")
            w = [max(w[i], len(head[i])) for i in range(4)]
            print(f"   {head[0]:<{w[0]}}  {head[1]:>{w[1]}}  {head[2]:>{w[2]}}  {head[3]:>{w[3]}}")
            print("   " + "-" * (sum(w) + 6))
            for c in self.compare:
                print(f"   {c[0]:<{w[0]}}  {c[1]:>{w[1]}}  {c[2]:>{w[2]}}  {c[3]:>{w[3]}}")


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} /s"


def latency(samples: Sequence[float]) -> tuple[float, float, float]:
    """(mean, p99, max) of samples in seconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, int(round(0.99 * len(ordered))) - 1))]
    return statistics.fmean(ordered), p99, ordered[-1]


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


@contextmanager
def no_gc():
    """Proof latencies without a collector pause that the workload did not cause (the collector still runs between)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- backends ---------------------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    engine: Engine
    describe: list[str]
    cleanup: Callable[[], None]
    warm: Callable[[], str]  # read the ledger's tables and indexes once, so they are in the page cache
    sqlite_path: Path | None = None


def read_files(paths: Sequence[Path]) -> str:
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return f"read {total / 2**20:,.0f} MiB of database files"


def sqlite_backend(workdir: Path, journal: str, synchronous: str | None) -> Backend:
    path = workdir / f"ledger-{journal}.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    storage.use_immediate_transactions(engine)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # the caller's choice, as the application would make it
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA journal_mode={journal}")
        if synchronous:
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[conn.exec_driver_sql("PRAGMA synchronous").scalar()]
        version = conn.exec_driver_sql("select sqlite_version()").scalar()
        conn.rollback()
    describe = [f"SQLite {version}, file {path}, journal_mode={mode}, synchronous={sync}, BEGIN IMMEDIATE"]

    def cleanup() -> None:
        engine.dispose()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()

    def warm() -> str:
        return read_files(sorted(path.parent.glob(path.name + "*")))

    return Backend(f"SQLite ({mode})", engine, describe, cleanup, warm, path)


def postgres_backend(url: str) -> Backend:
    url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    schema = f"ledger_bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        settings = {
            name: conn.exec_driver_sql(f"SHOW {name}").scalar()
            for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
        }
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})

    def cleanup() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    describe = [
        f"PostgreSQL {settings['server_version']} at {engine.url.render_as_string(hide_password=True)}, "
        f"schema {schema}",
        f"fsync={settings['fsync']}, synchronous_commit={settings['synchronous_commit']}, "
        f"shared_buffers={settings['shared_buffers']}"
        + ("  (fsync off: commit rates are higher than on a durable server)" if settings["fsync"] == "off" else ""),
    ]
    def warm() -> str:
        relations = ["ledger_entries", "pk_ledger_entries", "ledger_nodes", "pk_ledger_nodes"]
        try:  # contrib's pg_prewarm (needs the right to create the extension), into the OS page cache
            with engine.begin() as conn:
                conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS pg_prewarm SCHEMA {schema}")
                blocks = sum(conn.exec_driver_sql(f"SELECT pg_prewarm('{r}', 'read')").scalar() for r in relations)
            return f"pg_prewarm read {blocks * 8 / 1024:,.0f} MiB"
        except Exception:  # noqa: BLE001 - no pg_prewarm: scan the tables, and the indexes with seqscan off
            with engine.begin() as conn:
                conn.exec_driver_sql("SELECT sum(length(entry)) FROM ledger_entries").scalar()
                conn.exec_driver_sql("SELECT sum(length(hash)) FROM ledger_nodes").scalar()
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                conn.exec_driver_sql("SELECT count(*) FROM ledger_entries WHERE idx >= 0").scalar()
                conn.exec_driver_sql("SELECT count(*) FROM ledger_nodes WHERE level >= 0").scalar()
            return "scanned the tables and their primary-key indexes"

    return Backend("PostgreSQL", engine, describe, cleanup, warm)


# --- the run ----------------------------------------------------------------------------------------------


def cross_check(backend: Backend, count: int = 300) -> None:
    """A few hundred entries: every root and a spread of proofs must equal MemoryTree's."""
    store = LedgerStore(ORIGIN + "/check")
    items = [("registration", registration(10_000_000 + i)) for i in range(count)]
    tree = merkle.MemoryTree()
    rng = random.Random(7)
    with backend.engine.connect() as conn:
        position = 0
        while position < count:  # uneven batches, so the frontier is rebuilt from storage each time
            take = min(count - position, rng.choice([1, 1, 2, 3, 7, 16, 33]))
            got = store.append(conn, items[position : position + take])
            check(got == list(range(position, position + take)), "append returns the new indices")
            for _, e in items[position : position + take]:
                tree.append(e)
            position += take
        for size in range(0, count + 1):
            check(store.root(conn, size) == tree.root(size), f"root of size {size} equals MemoryTree's")
        for size in [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 127, 128, 129, 255, 256, 257, count]:
            if size > count:
                continue
            for index in {0, size // 2, size - 1, rng.randrange(size)}:
                leaf, proof = store.inclusion_proof(conn, index, size)
                check(leaf == merkle.leaf_hash(items[index][1]), "stored leaf hash")
                check(proof == tree.inclusion_proof(index, size), f"inclusion proof {index}@{size}")
                merkle.verify_inclusion(index, size, leaf, proof, tree.root(size))
            for old in {1, size // 3 or 1, size - 1 or 1, size}:
                proof = store.consistency_proof(conn, old, size)
                check(proof == tree.consistency_proof(old, size), f"consistency proof {old}->{size}")
                merkle.verify_consistency(old, size, tree.root(old), tree.root(size), proof)
        conn.rollback()  # leave nothing behind


def run_backend(backend: Backend, entries: list[bytes], args: argparse.Namespace, pymerkle_dir: Path | None) -> Results:
    results = Results(backend.name, notes=list(backend.describe))
    engine = backend.engine
    n = len(entries)
    singles = min(args.singles, n)
    bulk = n - singles
    store = LedgerStore(ORIGIN)
    signer = Signer.generate(ORIGIN)
    policy = Policy(ORIGIN, [LogKey(signer.verifier, KEY_SINCE)])

    with engine.begin() as conn:
        storage.create_tables(conn)
    cross_check(backend)
    print(f"[{backend.name}] cross-check against MemoryTree: ok", flush=True)

    # 1. the bulk of the log, in batches of args.batch entries per transaction
    batch_seconds: list[float] = []
    checkpoint_every = max(args.batch, (bulk // 10) // args.batch * args.batch)
    started = time.perf_counter()
    for start in range(0, bulk, args.batch):
        items = [("registration", e) for e in entries[start : min(start + args.batch, bulk)]]
        t0 = time.perf_counter()
        with engine.begin() as conn:
            store.append(conn, items)
        batch_seconds.append(time.perf_counter() - t0)
        done = start + len(items)
        if done % checkpoint_every == 0 or done == bulk:
            with engine.begin() as conn:  # not timed: a checkpoint now and then, for the audit to check
                store.make_checkpoint(conn, [signer])
        if len(batch_seconds) % max(1, (bulk // args.batch) // 10) == 0:
            print(f"[{backend.name}] appended {done:,} / {bulk:,}  "
                  f"({done / (time.perf_counter() - started):,.0f} /s overall)", flush=True)
    appended = sum(batch_seconds)
    results.target(f"append, {args.batch:,} entries per transaction", bulk / appended, BATCH_APPENDS_PER_S,
                   higher_is_better=True, unit="/s", fmt=",.0f")
    tenth = max(1, len(batch_seconds) // 10)
    first, last = batch_seconds[:tenth], batch_seconds[-tenth:]
    results.info("  … first / last tenth of the batches",
                 f"{args.batch * len(first) / sum(first):,.0f} / {args.batch * len(last) / sum(last):,.0f} /s")

    # 2. one entry per transaction, on top of the large log (after the bulk build's writes reach the disk,
    #    so that they do not slow these commits' fsyncs)
    if hasattr(os, "sync"):
        os.sync()
    single_seconds = []
    for i in range(bulk, n):
        t0 = time.perf_counter()
        with engine.begin() as conn:
            got = store.append(conn, [("registration", entries[i])])
        single_seconds.append(time.perf_counter() - t0)
        check(got == [i], "single append index")
    with engine.begin() as conn:
        latest = store.make_checkpoint(conn, [signer])
    mean, p99, _ = latency(single_seconds)
    results.target(f"append, 1 entry per transaction ({singles:,} txns)", singles / sum(single_seconds),
                   SINGLE_APPENDS_PER_S, higher_is_better=True, unit="/s", fmt=",.0f")
    results.info("  … latency mean / p99", f"{ms(mean)} / {ms(p99)}")

    # 3. sanity: the stored root is the RFC 6962 root of the entries, computed from scratch
    with engine.connect() as conn:
        root = store.root(conn, n)
        check(store.size(conn) == n, "log size")
        conn.rollback()
    expected = merkle.root_from_leaf_hashes([merkle.leaf_hash(e) for e in entries])
    check(root == expected, "stored root equals root_from_leaf_hashes over the same entries")
    check(latest.tree_size == n and latest.root_hash == root, "latest checkpoint")

    # 4. proofs at size n, through the database, as a server answers them: first as the page cache happens
    #    to be (this VM's kernel drops idle file pages within minutes), then, measured against the targets,
    #    after reading the tables and indexes once, as on a server that has been answering for a while
    rng = random.Random(args.seed)
    indices = [rng.randrange(n) for _ in range(args.proofs)]
    pairs = [(rng.randrange(1, n), n) for _ in range(args.proofs)]  # from an earlier checkpoint to size n
    before = [rng.randrange(n) for _ in range(args.proofs)]
    ours = {}
    with engine.connect() as conn:
        store.size(conn)
        cold = []
        with no_gc():
            for index in before:
                t0 = time.perf_counter()
                store.inclusion_proof(conn, index, n)
                cold.append(time.perf_counter() - t0)
        conn.rollback()
    warmed = backend.warm()
    results.notes.append(f"before the proofs: {warmed}")
    with engine.connect() as conn:
        for index in indices[:20]:  # warm-up: statement compilation, prepared statements
            store.inclusion_proof(conn, index, n)
        inclusion = []
        with no_gc():
            for index in indices:
                t0 = time.perf_counter()
                leaf, proof = store.inclusion_proof(conn, index, n)
                inclusion.append(time.perf_counter() - t0)
                ours[index] = (leaf, proof)
        for index, (leaf, proof) in ours.items():
            check(leaf == merkle.leaf_hash(entries[index]), f"leaf hash of entry {index}")
            merkle.verify_inclusion(index, n, leaf, proof, root)
        for old, new in pairs[:20]:
            store.consistency_proof(conn, old, new)
        consistency = []
        consistency_proofs = []
        with no_gc():
            for old, new in pairs:
                t0 = time.perf_counter()
                proof = store.consistency_proof(conn, old, new)
                consistency.append(time.perf_counter() - t0)
                consistency_proofs.append(proof)
        for (old, new), proof in list(zip(pairs, consistency_proofs))[:100]:
            merkle.verify_consistency(old, new, store.root(conn, old), store.root(conn, new), proof)
        roots = []
        with no_gc():
            for size in [n] * 50 + [rng.randrange(1, n + 1) for _ in range(200)]:
                t0 = time.perf_counter()
                store.root(conn, size)
                roots.append(time.perf_counter() - t0)
        conn.rollback()
    mean, p99, worst = latency(cold)
    results.info(f"inclusion proof, {len(before):,} others, page cache not warmed",
                 f"mean {ms(mean)}, p99 {ms(p99)}")
    mean, p99, worst = latency(inclusion)
    results.target(f"inclusion proof at size {n:,}, mean of {len(indices):,}", mean * 1000, PROOF_MS,
                   higher_is_better=False, unit="ms", fmt=".3f")
    results.target("inclusion proof, p99", p99 * 1000, PROOF_MS, higher_is_better=False, unit="ms", fmt=".3f")
    results.info("  … max", ms(worst))
    c_mean, c_p99, c_worst = latency(consistency)
    results.target(f"consistency proof, random size → {n:,}, mean", c_mean * 1000, PROOF_MS,
                   higher_is_better=False, unit="ms", fmt=".3f")
    results.target("consistency proof, p99", c_p99 * 1000, PROOF_MS, higher_is_better=False, unit="ms", fmt=".3f")
    results.info("  … max", ms(c_worst))
    r_mean, r_p99, _ = latency(roots)
    results.info("root hash from storage, mean / p99", f"{ms(r_mean)} / {ms(r_p99)}")

    # 5. the full audit: as ledger.audit.audit runs it (worker processes for large logs, where it can), and
    #    in this process alone
    workers = audit_module._worker_count(n)
    runs = [(workers, None)] + ([(0, n + 1)] if workers else [])
    for count, parallel_from in runs:
        saved = audit_module.PARALLEL_FROM
        audit_module.PARALLEL_FROM = parallel_from or saved
        try:
            gc.collect()
            with engine.connect() as conn:
                report, seconds = timed(lambda: audit(conn, store, policy))
                conn.rollback()
        finally:
            audit_module.PARALLEL_FROM = saved
        check(report.ok, f"audit reports the log intact ({report.summary()})")
        check(report.size == n and report.root == root, "audit size and root")
        how = f"{count} worker processes" if count else "one process"
        if count or len(runs) == 1:
            results.target(f"full audit of {n:,} entries, {report.checkpoints} checkpoints ({how})", seconds,
                           AUDIT_S, higher_is_better=False, unit="s", fmt=".1f")
            results.info("  … audit rate", per_second(n, seconds))
        else:
            results.info(f"  … the same audit in {how}", f"{seconds:.1f} s ({n / seconds:,.0f} /s)")

    if backend.sqlite_path is not None:
        size = sum(p.stat().st_size for p in backend.sqlite_path.parent.glob(backend.sqlite_path.name + "*"))
        results.info("database file", f"{size / 2**20:,.0f} MiB")

    if pymerkle_dir is not None:
        compare_pymerkle(results, entries, pymerkle_dir, root, indices, ours, pairs, inclusion, consistency, roots,
                         appended / bulk)
    return results


def compare_pymerkle(results: Results, entries: list[bytes], workdir: Path, root: bytes, indices: list[int],
                     ours: dict, pairs: list, inclusion: list[float], consistency: list[float],
                     roots: list[float], bulk_per_entry: float) -> None:
    from pymerkle import SqliteTree

    n = len(entries)
    print(f"[pymerkle] building a SqliteTree of {n:,} entries", flush=True)
    # security on (the default) is RFC 6962's 0x00 / 0x01 domain separation; disable_security would drop it
    tree = SqliteTree(str(workdir / "pymerkle.sqlite"), algorithm="sha256")
    try:
        _, build = timed(lambda: tree.append_entries(entries))
        results.compare.append(("bulk build, per entry (ours: batches of --batch)", f"{bulk_per_entry * 1e6:.1f} µs",
                                f"{build / n * 1e6:.1f} µs", f"{build / n / bulk_per_entry:,.1f}×"))
        tree.cache_clear()
        their_root, cold = timed(lambda: tree.get_root(n))
        check(their_root == root, "pymerkle's root equals ours for the same leaves")
        warm = statistics.fmean(timed(lambda: tree.get_root(n))[1] for _ in range(20))
        our_root = statistics.fmean(roots[:50])
        results.compare.append((f"root of {n:,} (cold subroot cache)", ms(our_root), ms(cold), f"{cold / our_root:,.0f}×"))
        results.compare.append((f"root of {n:,} (warm cache)", ms(our_root), ms(warm), f"{warm / our_root:,.1f}×"))

        print(f"[pymerkle] {len(indices):,} inclusion proofs, cold cache", flush=True)
        read_files(sorted(workdir.glob("pymerkle.sqlite*")))  # its file in the page cache, as ours was
        tree.cache_clear()
        cold_times = []
        with no_gc():
            for index in indices:
                t0 = time.perf_counter()
                proof = tree.prove_inclusion(index + 1, n)  # pymerkle counts leaves from 1
                cold_times.append(time.perf_counter() - t0)
                leaf, path = ours[index]
                check(proof.path[0] == leaf and proof.path[1:] == path, f"pymerkle's inclusion path for {index}")
        warm_times = []
        with no_gc():
            for index in indices:
                t0 = time.perf_counter()
                tree.prove_inclusion(index + 1, n)
                warm_times.append(time.perf_counter() - t0)
        m, p, _ = latency(inclusion)
        cm, cp, _ = latency(cold_times)
        wm, wp, _ = latency(warm_times)
        results.compare.append(("inclusion proof mean (cold cache)", ms(m), ms(cm), f"{cm / m:,.0f}×"))
        results.compare.append(("inclusion proof p99 (cold cache)", ms(p), ms(cp), f"{cp / p:,.0f}×"))
        results.compare.append((f"inclusion proof mean (same {len(indices):,} again, warm)", ms(m), ms(wm),
                                f"{wm / m:,.1f}×"))
        results.compare.append(("inclusion proof p99 (warm)", ms(p), ms(wp), f"{wp / p:,.1f}×"))

        print(f"[pymerkle] {len(pairs):,} consistency proofs", flush=True)
        tree.cache_clear()
        times = []
        with no_gc():
            for old, new in pairs:
                t0 = time.perf_counter()
                tree.prove_consistency(old, new)
                times.append(time.perf_counter() - t0)
        m, _, _ = latency(consistency)
        tm, _, _ = latency(times)
        results.compare.append(("consistency proof mean (cold cache)", ms(m), ms(tm), f"{tm / m:,.0f}×"))
    finally:
        tree.close()
        for leftover in workdir.glob("pymerkle.sqlite*"):
            leftover.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, help="log size (default 1,000,000; 20,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 entries, 300 proofs")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL at URL")
    parser.add_argument("--postgres-from-env", action="store_true",
                        help="also run on PostgreSQL at $TEST_POSTGRES_URL (scripts/with-postgres.sh sets it)")
    parser.add_argument("--postgres-entries", type=int, help="log size on PostgreSQL (default: --entries)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="run one backend only")
    parser.add_argument("--batch", type=int, default=10_000, help="entries per transaction when building (10,000)")
    parser.add_argument("--singles", type=int, default=1000,
                        help="entries appended one per transaction, on top of the batches (1,000)")
    parser.add_argument("--proofs", type=int, default=1000, help="random proofs of each kind (1,000)")
    parser.add_argument("--sqlite-journal", default="delete", metavar="MODE[,MODE]",
                        help="SQLite journal_mode: delete (the default, SQLite's own), wal (what the platform uses, "
                             "see exchange/db.py), truncate or persist; several, comma-separated, run one after "
                             "the other on the same entries")
    parser.add_argument("--sqlite-synchronous", choices=["full", "normal", "off"],
                        help="SQLite synchronous (default: SQLite's own, FULL)")
    parser.add_argument("--no-pymerkle", action="store_true", help="skip the comparison with pymerkle")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes making entries")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tmpdir", help="where the SQLite files go (default: the system's temporary directory)")
    args = parser.parse_args(argv)
    if args.entries is None:
        args.entries = 20_000 if args.quick else 1_000_000
    if args.quick:
        args.proofs = min(args.proofs, 300)
        args.singles = min(args.singles, 300)
    postgres_url = args.postgres
    if args.postgres_from_env or (not postgres_url and os.environ.get("TEST_POSTGRES_URL")):
        postgres_url = postgres_url or os.environ.get("TEST_POSTGRES_URL")
        if not postgres_url:
            parser.error("--postgres-from-env: TEST_POSTGRES_URL is not set")
    if args.only == "postgresql" and not postgres_url:
        parser.error("--only postgresql needs --postgres URL or --postgres-from-env")
    journals = [j.strip().lower() for j in args.sqlite_journal.split(",") if j.strip()]
    if not journals or set(journals) - {"delete", "wal", "truncate", "persist"} or len(set(journals)) < len(journals):
        parser.error("--sqlite-journal: one or more of delete, wal, truncate, persist, each once")
    if args.singles >= min(args.entries, args.postgres_entries or args.entries):
        parser.error("--singles must be smaller than --entries")

    print(f"load average {load()} (other processes share these CPUs; figures vary with it)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.entries:,} entries "
          f"(batches of {args.batch:,}, then {args.singles:,} single appends), {args.proofs:,} proofs of each kind",
          flush=True)
    largest = max(args.entries, args.postgres_entries or 0)
    entries, made = make_entries(largest, args.workers)
    sizes = [len(e) for e in entries]
    print(f"made {largest:,} entries with ledger.entry.make_entry in {made:.1f} s on {args.workers} process(es) "
          f"({largest / made / args.workers:,.0f} /s per process); size mean {statistics.fmean(sizes):.0f} B, "
          f"min {min(sizes)}, max {max(sizes)}", flush=True)
    print(f"example: {entries[0].decode()}", flush=True)

    all_results = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="ledger-bench-", dir=args.tmpdir) as tmp:
        workdir = Path(tmp)
        plans = []
        if args.only != "postgresql":
            plans += [(journal, args.entries) for journal in journals]
        if postgres_url and args.only != "sqlite":
            plans.append(("postgresql", args.postgres_entries or args.entries))
        for number, (kind, size) in enumerate(plans):
            if kind == "postgresql":
                backend = postgres_backend(postgres_url)
            else:
                backend = sqlite_backend(workdir, kind, args.sqlite_synchronous)
            print(f"\n[{backend.name}] {size:,} entries", flush=True)
            try:
                pm_dir = workdir if (number == 0 and kind != "postgresql" and not args.no_pymerkle) else None
                results = run_backend(backend, entries[:size], args, pm_dir)
            except SanityError as exc:
                print(f"[{backend.name}] {exc}", file=sys.stderr)
                failed = True
                continue
            finally:
                backend.cleanup()
            results.notes.append(f"load average at the end: {load()}")
            results.print()
            all_results.append(results)
    print()
    if all_results:
        print("summary:")
        for r in all_results:
            misses = [row.name.strip() for row in r.rows if row.status == "MISS"]
            print(f"  {r.backend}: {'all targets met' if not misses else 'MISSED: ' + '; '.join(misses)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

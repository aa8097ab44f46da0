"""Full audit of a stored log: recompute every leaf and node hash and check every checkpoint.

Reports the first inconsistency: a changed, deleted, reordered or inserted row, a missing or
extra tree node, a checkpoint whose root or signatures do not match.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Connection, func, select

from . import merkle
from .checkpoint import Checkpoint, CheckpointError
from .entry import KINDS, EntryError, decode
from .policy import Policy, PolicyError
from .storage import LedgerStore, StoredCheckpoint, nodes


@dataclass
class AuditReport:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"ledger intact: {self.size} entries, {self.checkpoints} checkpoints, "
                f"root {merkle_b64(self.root)}"
            )
        return f"ledger damaged: {self.problems[0]}"


def merkle_b64(h: bytes) -> str:
    import base64

    return base64.b64encode(h).decode()


class _Mismatch(Exception):
    pass


def audit(connection: Connection, store: LedgerStore, policy: Policy, batch: int = 20000) -> AuditReport:
    report = AuditReport()
    stored_checkpoints = store.all_checkpoints(connection)
    roots_at = {cp.tree_size: None for cp in stored_checkpoints}
    try:
        report.size = _audit_tree(connection, store, roots_at, batch)
    except _Mismatch as exc:
        report.problems.append(str(exc))
        return report
    report.root = store.root(connection, report.size)
    for cp in stored_checkpoints:
        problem = _check_checkpoint(cp, store, policy, report.size, roots_at)
        if problem:
            report.problems.append(problem)
            return report
        report.checkpoints += 1
    return report


def _audit_tree(connection: Connection, store: LedgerStore, roots_at: dict, batch: int) -> int:
    stack: list[tuple[int, int, bytes]] = []  # (level, idx, hash) of the current frontier
    expected = 0
    pending: list[tuple[int, int, bytes]] = []  # computed nodes awaiting comparison with storage
    if 0 in roots_at:
        roots_at[0] = merkle.EMPTY_ROOT
    sha256 = hashlib.sha256
    rows_in_order = store.iter_entries(connection, batch)
    batches = iter(lambda: list(islice(rows_in_order, batch)), [])
    with _EntryChecker(_worker_count(store.size(connection))) as checker:
        for rows, problem in checker.checked(batches):
            bad_idx, bad = problem if problem else (None, "")
            for idx, _kind, stored_leaf, entry in rows:
                if idx != expected:
                    raise _Mismatch(
                        f"entry {expected} is missing (next stored index is {idx}): a row was deleted or renumbered"
                    )
                if idx == bad_idx:  # its bytes, checked ahead (maybe in another process): see _entry_problem
                    raise bad if isinstance(bad, Exception) else _Mismatch(bad)
                h = sha256(b"\x00" + entry).digest()  # merkle.leaf_hash, inlined: this loop runs once per entry
                if h != stored_leaf:
                    raise _Mismatch(
                        f"entry {idx} was changed, replaced or reordered: its leaf hash does not match its bytes"
                    )
                level, i = 0, idx
                while stack and stack[-1][0] == level:
                    h = sha256(b"\x01" + stack.pop()[2] + h).digest()  # merkle.node_hash
                    level, i = level + 1, i >> 1
                    pending.append((level, i, h))
                stack.append((level, i, h))
                expected += 1
                if expected in roots_at:
                    roots_at[expected] = merkle.fold_subtrees([s[2] for s in stack])
                if len(pending) >= batch:
                    _compare_nodes(connection, pending)
                    pending = []
    _compare_nodes(connection, pending)
    stored_count = connection.execute(select(func.count()).select_from(nodes)).scalar_one()
    if stored_count != expected - bin(expected).count("1"):
        extra = connection.execute(
            select(nodes.c.level, nodes.c.idx).where((nodes.c.idx + 1) * func.power(2, nodes.c.level) > expected).limit(1)
        ).first()
        where = f" (node level {extra[0]} index {extra[1]} lies beyond entry {expected - 1})" if extra else ""
        raise _Mismatch(
            f"tree node table holds {stored_count} rows where {expected} entries need "
            f"{expected - bin(expected).count('1')}: a row was inserted or deleted{where}"
        )
    return expected


# --- the canonical-form check, fast ---------------------------------------------------------------------
#
# ``entry.decode`` re-serialises every entry with the pure-Python rfc8785 package, which costs ~150 µs for a
# 400-byte entry: 2.5 minutes of a 10^6-entry audit. For the entries a log holds in practice (objects and
# arrays of strings, booleans, null, safe integers and plain decimals, keys within the Basic Multilingual
# Plane), the C-accelerated ``json`` module produces exactly the RFC 8785 bytes: the same escapes (only
# ``"``, ``\\`` and U+0000–U+001F, with the same short forms and lowercase ``\u00xx``), the same key order
# (UTF-16 order is code point order within the BMP), the same integers. ``_decode`` accepts an entry on
# that path only when the json module's output equals the stored bytes and nothing in it falls outside
# those cases; every other entry — any non-canonical one among them — goes to ``entry.decode``, whose
# verdict and message stand. So the audit accepts and rejects exactly what ``entry.decode`` does.

_SAFE_INT = 2**53 - 1  # rfc8785 refuses integers beyond ±(2^53 - 1)
_NOT_BMP = bytes(range(0xF0, 0x100))  # UTF-8 lead bytes of code points above U+FFFF (and invalid bytes)


class _Unsure(Exception):
    """A value the fast path leaves to entry.decode."""


def _safe_int(text: str) -> int:
    value = int(text)
    if not -_SAFE_INT <= value <= _SAFE_INT:
        raise _Unsure
    return value


def _plain_float(text: str) -> float:
    # rfc8785 writes a float from str(value): as is when that has no exponent and does not end in ".0"
    value = float(text)
    if str(value) != text or "e" in text or "E" in text or text.endswith(".0"):
        raise _Unsure
    return value


def _unsure(_text: str) -> Any:
    raise _Unsure  # NaN, Infinity, -Infinity


_fast_decoder = json.JSONDecoder(parse_int=_safe_int, parse_float=_plain_float, parse_constant=_unsure)
_fast_encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _decode(entry: bytes) -> dict[str, Any]:
    """``entry.decode(entry)``: the same value, the same EntryError for entries it refuses; faster."""
    if len(entry.translate(None, _NOT_BMP)) == len(entry):
        try:
            value = _fast_decoder.decode(entry.decode("utf-8"))
            if isinstance(value, dict) and _fast_encoder.encode(value).encode("utf-8") == entry:
                return value
        except (_Unsure, ValueError, TypeError, RecursionError):
            pass
    return decode(entry)


def _entry_problem(rows: list[tuple[int, str, bytes, bytes]]) -> tuple[int, str | Exception] | None:
    """The first row whose entry is not canonical or not of its kind column: (index, problem), else None.

    The problem is the report's text, or the exception that checking the entry raised (raised by the walk
    when it gets there, as if the entry had been checked then).
    """
    for idx, kind, _leaf, entry in rows:
        try:
            value = _decode(entry)
        except EntryError as exc:
            return idx, f"entry {idx} was changed: {exc}"
        except Exception as exc:  # noqa: BLE001 - e.g. RecursionError; not ours to judge here
            return idx, exc
        if value.get("kind") != kind or kind not in KINDS:
            return idx, f"entry {idx} was changed: its kind column {kind!r} does not match the entry"
    return None


# Checking entry bytes is most of an audit's work, and each batch can be checked on its own, so a large
# log's entries are checked by worker processes while this process reads rows and rebuilds the tree. A
# batch's verdict is applied when the walk reaches its first bad row, so the report names the same first
# problem either way. At most ``workers + 1`` batches are in flight, which bounds memory.
#
# Workers are forked, and only where that is safe and cheap: on Linux, from a process with no other thread
# (a web server's), unless the application chose another start method. "spawn" and "forkserver" would
# re-import the caller's main module in every worker, which an unguarded auditor's script does not expect.
# Anywhere else the audit runs in this process alone.
PARALLEL_FROM = 200_000  # entries; for smaller logs starting processes costs more than it saves
MAX_WORKERS = 4


def _worker_count(size: int) -> int:
    if size < PARALLEL_FROM or not sys.platform.startswith("linux") or threading.active_count() > 1:
        return 0
    if multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
        return 0
    cpus = len(os.sched_getaffinity(0))
    return min(cpus, MAX_WORKERS) if cpus > 1 else 0


class _EntryChecker:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = None

    def __enter__(self) -> _EntryChecker:
        if self.workers:
            try:
                self.pool = multiprocessing.get_context("fork").Pool(self.workers)
            except OSError:
                self.pool = None  # no processes to be had: check here
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()

    def checked(self, batches: Iterator[list]) -> Iterator[tuple[list, tuple[int, str | Exception] | None]]:
        """Each batch of rows with its first problem (``_entry_problem``), in order."""
        if self.pool is None:
            for rows in batches:
                yield rows, _entry_problem(rows)
            return
        in_flight: deque = deque()
        for rows in batches:
            in_flight.append((rows, self.pool.apply_async(_entry_problem, (rows,))))
            if len(in_flight) > self.workers:
                rows, verdict = in_flight.popleft()
                yield rows, verdict.get()
        while in_flight:
            rows, verdict = in_flight.popleft()
            yield rows, verdict.get()


def _compare_nodes(connection: Connection, computed: list[tuple[int, int, bytes]]) -> None:
    if not computed:
        return
    by_level: dict[int, list[tuple[int, bytes]]] = {}
    for level, i, h in computed:
        by_level.setdefault(level, []).append((i, h))
    for level, items in by_level.items():
        lo, hi = items[0][0], items[-1][0]
        stored = dict(
            connection.execute(
                select(nodes.c.idx, nodes.c.hash).where(nodes.c.level == level, nodes.c.idx >= lo, nodes.c.idx <= hi)
            ).all()
        )
        for i, h in items:
            got = stored.get(i)
            if got is None:
                raise _Mismatch(f"tree node level {level} index {i} (entries {i << level}–{((i + 1) << level) - 1}) is missing")
            if bytes(got) != h:
                raise _Mismatch(
                    f"tree node level {level} index {i} (entries {i << level}–{((i + 1) << level) - 1}) was changed"
                )


def _check_checkpoint(
    cp: StoredCheckpoint, store: LedgerStore, policy: Policy, size: int, roots_at: dict
) -> str | None:
    label = f"checkpoint {cp.id} (size {cp.tree_size})"
    if cp.tree_size > size:
        return f"{label} covers more entries than the log holds ({size}): entries were deleted"
    try:
        body = Checkpoint.from_note(cp.note)
    except CheckpointError as exc:
        return f"{label} is malformed: {exc}"
    if body.origin != store.origin:
        return f"{label} names log {body.origin!r}, not {store.origin!r}"
    if body.size != cp.tree_size or body.root != cp.root_hash:
        return f"{label}: its signed body does not match its size/root columns"
    if roots_at.get(cp.tree_size) != cp.root_hash:
        return f"{label}: its root does not match the entries now stored"
    try:
        verified = Policy(policy.origin, policy.log_keys, policy.witnesses, 0).verify_checkpoint(cp.text)
    except PolicyError as exc:
        return f"{label}: {exc}"
    signing = {k.verifier for k in policy.log_keys if k.signs_at(cp.created_at)}
    if not set(verified.log_keys) & signing:
        return f"{label}: signed by no key whose validity window includes {cp.created_at.isoformat()}"
    return None

"""Full audit of a stored log: recompute every leaf and node hash and check every checkpoint.

Reports the first inconsistency: a changed, deleted, reordered or inserted row, a missing or
extra tree node, a checkpoint whose root or signatures do not match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    for idx, kind, stored_leaf, entry in store.iter_entries(connection, batch):
        if idx != expected:
            raise _Mismatch(
                f"entry {expected} is missing (next stored index is {idx}): a row was deleted or renumbered"
            )
        try:
            value = decode(entry)
        except EntryError as exc:
            raise _Mismatch(f"entry {idx} was changed: {exc}") from exc
        if value.get("kind") != kind or kind not in KINDS:
            raise _Mismatch(f"entry {idx} was changed: its kind column {kind!r} does not match the entry")
        h = merkle.leaf_hash(entry)
        if h != stored_leaf:
            raise _Mismatch(f"entry {idx} was changed, replaced or reordered: its leaf hash does not match its bytes")
        level, i = 0, idx
        while stack and stack[-1][0] == level:
            h = merkle.node_hash(stack.pop()[2], h)
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

"""The platform's use of the ledger package: its keys, its policy, recording entries, publishing checkpoints.

``record()`` appends to the connection of the current database session, so the entry commits or
rolls back with the state change it records. Keys live in ``<instance>/keys/ledger`` (log keys)
and ``<instance>/keys/witnesses`` (the witnesses the platform runs), the published policy in
``<instance>/keys/ledger/policy.json``.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import current_app, has_request_context
from flask_login import current_user

from exchange.db import db
from ledger.entry import make_entry
from ledger.merkle import ProofError
from ledger.note import ALG_COSIGNATURE_V1, Signer
from ledger.policy import LogKey, Policy, WitnessKey
from ledger.storage import LedgerStore, StoredCheckpoint
from ledger.witness import TreeHead, Witness, WitnessError

SYSTEM_ACTOR = {"role": "system", "division": None, "account": "platform"}


def key_dir() -> Path:
    return Path(current_app.config["KEY_DIR"])


def _write_secret(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content + "\n")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name)


def policy_path() -> Path:
    return key_dir() / "ledger" / "policy.json"


class LedgerNotSetUp(RuntimeError):
    pass


def load_policy() -> Policy:
    if not policy_path().exists():
        raise LedgerNotSetUp(f"ledger keys are missing in {key_dir()}; run `flask --app wsgi setup` first")
    return Policy.from_json(policy_path().read_text())


def save_policy(policy: Policy) -> None:
    tmp = policy_path().with_suffix(".tmp")
    tmp.write_text(policy.to_json())
    tmp.replace(policy_path())


def store() -> LedgerStore:
    return LedgerStore(current_app.config["LEDGER_ORIGIN"])


def _log_signer_files() -> list[Path]:
    return sorted((key_dir() / "ledger").glob("log-*.skey"))


def log_signers(now: datetime | None = None) -> list[Signer]:
    """Private keys whose validity window in the policy includes ``now`` (two during a rotation)."""
    now = now or datetime.now(timezone.utc)
    active = {k.verifier.vkey for k in load_policy().signing_keys_at(now)}
    signers = [Signer.from_skey(p.read_text()) for p in _log_signer_files()]
    chosen = [s for s in signers if s.verifier.vkey in active]
    if not chosen:
        raise RuntimeError("no log key is valid now; run `flask --app wsgi ledger rotate-key`")
    return chosen


def current_vkey() -> str:
    """The newest log key in force: what `ledger vkey` prints and verifiers configure."""
    keys = load_policy().signing_keys_at(datetime.now(timezone.utc))
    return max(keys, key=lambda k: k.not_before).verifier.vkey


def witness_signers() -> list[Signer]:
    return [Signer.from_skey(p.read_text()) for p in sorted((key_dir() / "witnesses").glob("*.skey"))]


def ensure_ledger_keys(origin: str, witness_names: Sequence[str], quorum: int | None) -> list[str]:
    """Create the log key, the configured witness keys and the policy if missing. Never replaces a key."""
    lines = []
    now = datetime.now(timezone.utc)
    policy = load_policy() if policy_path().exists() else Policy(origin, [], [], 0)
    if policy.origin != origin:
        raise RuntimeError(f"the instance's ledger is {policy.origin!r}, configuration says {origin!r}")
    if not _log_signer_files():
        signer = Signer.generate(origin)
        _write_secret(key_dir() / "ledger" / f"log-{now:%Y%m%d%H%M%S%f}-{signer.verifier.key_id.hex()}.skey",
                      signer.skey)
        policy.log_keys.append(LogKey(signer.verifier, now))
        lines.append(f"ledger log key created: {signer.verifier.vkey}")
    known = {w.verifier.name for w in policy.witnesses}
    for name in witness_names:
        if name not in known:
            lines.append(f"witness key created: {add_witness(policy, name).vkey}")
    policy.witness_quorum = len(policy.witnesses) if quorum is None else min(quorum, len(policy.witnesses))
    save_policy(policy)
    lines.append(f"ledger policy: {policy_path()}")
    return lines


def add_witness(policy: Policy, name: str, description: str = ""):
    signer = Signer.generate(name, ALG_COSIGNATURE_V1)
    _write_secret(key_dir() / "witnesses" / f"{_slug(name)}.skey", signer.skey)
    policy.witnesses.append(WitnessKey(signer.verifier, description or name))
    return signer.verifier


def rotate_log_key(overlap: timedelta) -> tuple[str, str]:
    """A new log key in force from now; the old ones stop signing after ``overlap``."""
    policy = load_policy()
    now = datetime.now(timezone.utc)
    signer = Signer.generate(policy.origin)
    _write_secret(key_dir() / "ledger" / f"log-{now:%Y%m%d%H%M%S%f}-{signer.verifier.key_id.hex()}.skey", signer.skey)
    policy.log_keys = [
        LogKey(k.verifier, k.not_before, k.not_after if k.not_after and k.not_after < now + overlap else now + overlap,
               k.revoked)
        for k in policy.log_keys
    ] + [LogKey(signer.verifier, now)]
    save_policy(policy)
    return signer.verifier.vkey, (now + overlap).isoformat()


_acting_as: contextvars.ContextVar[dict | None] = contextvars.ContextVar("ledger_acting_as", default=None)


@contextlib.contextmanager
def ledger_actor(who: Mapping[str, Any]):
    """Record entries made inside the block as done by ``who`` (imports and CLI tools acting for an office)."""
    token = _acting_as.set(dict(who))
    try:
        yield
    finally:
        _acting_as.reset(token)


def actor() -> dict[str, Any]:
    """The acting account's role and jurisdiction, as an entry records them."""
    if _acting_as.get() is not None:
        return dict(_acting_as.get())
    if has_request_context() and current_user.is_authenticated:
        return {
            "role": current_user.role.value,
            "division": current_user.division.code if current_user.division else None,
            "account": current_user.username,
        }
    return dict(SYSTEM_ACTOR)


def record(kind: str, subjects: Sequence[Mapping[str, str]], data: Mapping[str, Any], *,
           by: Mapping[str, Any] | None = None, at: datetime | None = None) -> int:
    """Append one entry in the current transaction; return its index."""
    return record_many([(kind, subjects, data)], by=by, at=at)[0]


_batch: contextvars.ContextVar[tuple[int, list] | None] = contextvars.ContextVar("ledger_batch", default=None)


@contextlib.contextmanager
def ledger_batch():
    """Collect the entries recorded inside the block and append them in one go at its end (bulk imports).

    The append lock is taken first, so the indices handed out inside the block are the ones the entries get.
    If the block raises, nothing is appended (and the caller's transaction rolls back).
    """
    if _batch.get() is not None:
        yield
        return
    ledger, connection = store(), db.session.connection()
    ledger.lock(connection)
    base, pending = ledger.size(connection), []
    token = _batch.set((base, pending))
    try:
        yield
    finally:
        _batch.reset(token)
    if pending:
        indices = ledger.append(connection, pending)
        if indices[0] != base:
            raise RuntimeError(f"ledger grew during a batch: expected index {base}, got {indices[0]}")


def record_many(items: Sequence[tuple[str, Sequence[Mapping[str, str]], Mapping[str, Any]]], *,
                by: Mapping[str, Any] | None = None, at: datetime | None = None) -> list[int]:
    at = at or datetime.now(timezone.utc)
    who = dict(by or actor())
    entries = [(kind, make_entry(kind, subjects, who, data, at)) for kind, subjects, data in items]
    batch = _batch.get()
    if batch is not None:
        base, pending = batch
        first = base + len(pending)
        pending.extend(entries)
        return list(range(first, first + len(entries)))
    return store().append(db.session.connection(), entries)


class DatabaseWitnessState:
    """A platform-run witness's state: the newest checkpoint it cosigned, read from the cosignature rows."""

    def __init__(self, ledger: LedgerStore, signer: Signer) -> None:
        self.ledger, self.signer = ledger, signer

    def latest(self, origin: str) -> TreeHead | None:
        last = self.ledger.last_cosigned(db.session.connection(), self.signer.name, self.signer.verifier.key_id.hex())
        return TreeHead(last.tree_size, last.root_hash) if last else None

    def advance(self, origin: str, old: TreeHead | None, new: TreeHead) -> None:
        if self.latest(origin) != old:
            raise WitnessError("witness state changed while cosigning; try again")


def publish_checkpoint() -> StoredCheckpoint:
    """The newest checkpoint, signed now if entries were added since, cosigned by the platform's witnesses.

    Runs in the current transaction; the caller commits.
    """
    ledger = store()
    connection = db.session.connection()
    checkpoint = ledger.make_checkpoint(connection, log_signers())
    policy = load_policy()
    log_verifiers = [k.verifier for k in policy.log_keys if not k.revoked]
    for signer in witness_signers():
        key_id = signer.verifier.key_id.hex()
        if any(line.startswith(f"\u2014 {signer.name} ") for line in checkpoint.cosignature_lines):
            continue
        state = DatabaseWitnessState(ledger, signer)
        last = state.latest(ledger.origin)
        proof = []
        if last and 0 < last.size < checkpoint.tree_size:
            proof = ledger.consistency_proof(connection, last.size, checkpoint.tree_size)
        line = Witness(signer, log_verifiers, state).cosign(checkpoint.text, proof)
        ledger.add_cosignature(connection, checkpoint.id, signer.name, key_id, line)
    return ledger.latest_checkpoint(connection)


__all__ = ["ProofError", "WitnessError", "publish_checkpoint", "record", "record_many", "store"]

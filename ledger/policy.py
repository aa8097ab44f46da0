"""The verifier policy a log publishes: its keys with validity windows, its witnesses and the quorum.

A bank installs the policy (with the keys in it) once and checks every checkpoint against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from .checkpoint import Checkpoint, CheckpointError
from .note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteError, Verifier, verify


class PolicyError(ValueError):
    """A checkpoint that the policy does not accept, or a malformed policy."""


@dataclass(frozen=True)
class LogKey:
    """A log signing key. It signs new checkpoints inside [not_before, not_after); a revoked key counts never."""

    verifier: Verifier
    not_before: datetime
    not_after: datetime | None = None
    revoked: bool = False

    def signs_at(self, when: datetime) -> bool:
        return not self.revoked and self.not_before <= when and (self.not_after is None or when < self.not_after)


@dataclass(frozen=True)
class WitnessKey:
    verifier: Verifier
    description: str = ""


@dataclass(frozen=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    log_keys: list[Verifier]
    witnesses: dict[str, int]  # witness name -> cosignature time


@dataclass
class Policy:
    origin: str
    log_keys: list[LogKey]
    witnesses: list[WitnessKey] = field(default_factory=list)
    witness_quorum: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "origin": self.origin,
                "log_keys": [
                    {
                        "vkey": k.verifier.vkey,
                        "not_before": k.not_before.isoformat(),
                        "not_after": k.not_after.isoformat() if k.not_after else None,
                        "revoked": k.revoked,
                    }
                    for k in self.log_keys
                ],
                "witnesses": [{"vkey": w.verifier.vkey, "description": w.description} for w in self.witnesses],
                "witness_quorum": self.witness_quorum,
            },
            indent=2,
            ensure_ascii=False,
        ) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Policy:
        try:
            raw = json.loads(text)
            log_keys = [
                LogKey(
                    Verifier.from_vkey(k["vkey"]),
                    datetime.fromisoformat(k["not_before"]),
                    datetime.fromisoformat(k["not_after"]) if k.get("not_after") else None,
                    bool(k.get("revoked", False)),
                )
                for k in raw["log_keys"]
            ]
            witnesses = [WitnessKey(Verifier.from_vkey(w["vkey"]), w.get("description", "")) for w in raw.get("witnesses", [])]
            policy = cls(raw["origin"], log_keys, witnesses, int(raw.get("witness_quorum", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"policy is malformed: {exc}") from exc
        if any(k.verifier.algorithm != ALG_ED25519 for k in log_keys):
            raise PolicyError("log keys must be Ed25519 note keys (algorithm 0x01)")
        if any(w.verifier.algorithm != ALG_COSIGNATURE_V1 for w in witnesses):
            raise PolicyError("witness keys must be cosignature/v1 keys (algorithm 0x04)")
        if not 0 <= policy.witness_quorum <= len(witnesses):
            raise PolicyError("witness quorum must be between 0 and the number of witnesses")
        return policy

    def signing_keys_at(self, when: datetime) -> list[LogKey]:
        return [k for k in self.log_keys if k.signs_at(when)]

    def verify_checkpoint(self, text: str) -> VerifiedCheckpoint:
        """Accept a signed checkpoint only with a valid log signature and the witness quorum."""
        log_verifiers = [k.verifier for k in self.log_keys if not k.revoked]
        witness_verifiers = [w.verifier for w in self.witnesses]
        try:
            note, verified = verify(text, log_verifiers + witness_verifiers)
            checkpoint = Checkpoint.from_body(note.body)
        except (NoteError, CheckpointError) as exc:
            raise PolicyError(f"checkpoint rejected: {exc}") from exc
        if checkpoint.origin != self.origin:
            raise PolicyError(f"checkpoint is for log {checkpoint.origin!r}, the policy is for {self.origin!r}")
        logs = [v.verifier for v in verified if v.verifier.algorithm == ALG_ED25519]
        if not logs:
            raise PolicyError("checkpoint carries no valid signature by a log key in the policy")
        cosigned = {v.verifier.name: v.timestamp for v in verified if v.verifier.algorithm == ALG_COSIGNATURE_V1}
        if len(cosigned) < self.witness_quorum:
            raise PolicyError(
                f"checkpoint has {len(cosigned)} witness cosignature(s); the policy requires {self.witness_quorum}"
            )
        return VerifiedCheckpoint(checkpoint, logs, cosigned)

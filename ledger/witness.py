"""A witness: cosigns a log's checkpoint only after a consistency proof from the last one it cosigned.

It refuses a rollback (a smaller tree than it has seen), a fork (another root for a size it has
seen) and any checkpoint that the log's own key did not sign. Its state is one (size, root) per
log, updated with compare-and-swap so that two concurrent cosign calls cannot both advance it.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .checkpoint import Checkpoint, CheckpointError
from .merkle import ProofError, verify_consistency
from .note import ALG_COSIGNATURE_V1, NoteError, Signer, Verifier, verify


class WitnessError(ValueError):
    """The witness refuses to cosign."""


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


class WitnessState(Protocol):
    def latest(self, origin: str) -> TreeHead | None: ...

    def advance(self, origin: str, old: TreeHead | None, new: TreeHead) -> None:
        """Store ``new`` if the state is still ``old``; raise WitnessError otherwise."""


class FileWitnessState:
    """Witness state in a JSON file, replaced atomically (for a witness run on its own machine)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def _load(self) -> dict:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def latest(self, origin: str) -> TreeHead | None:
        item = self._load().get(origin)
        return TreeHead(item["size"], base64.b64decode(item["root"])) if item else None

    def advance(self, origin: str, old: TreeHead | None, new: TreeHead) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The compare and the swap hold an exclusive lock, so two processes cannot both pass the compare.
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._load()
            if self.latest(origin) != old:
                raise WitnessError("witness state changed while cosigning; try again")
            state[origin] = {"size": new.size, "root": base64.b64encode(new.root).decode()}
            fd, tmp = tempfile.mkstemp(dir=self.path.parent)
            with os.fdopen(fd, "w") as f:
                json.dump(state, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)


class Witness:
    def __init__(self, signer: Signer, log_verifiers: list[Verifier], state: WitnessState) -> None:
        if signer.algorithm != ALG_COSIGNATURE_V1:
            raise WitnessError("a witness signs with a cosignature/v1 key (algorithm 0x04)")
        self.signer = signer
        self.log_verifiers = log_verifiers
        self.state = state

    def cosign(self, checkpoint_text: str, proof: list[bytes], now: int | None = None) -> str:
        """Return this witness's cosignature line for the checkpoint, or raise WitnessError."""
        try:
            note, _ = verify(checkpoint_text, self.log_verifiers)
            checkpoint = Checkpoint.from_body(note.body)
        except (NoteError, CheckpointError) as exc:
            raise WitnessError(f"checkpoint not signed by the log's key: {exc}") from exc
        head = TreeHead(checkpoint.size, checkpoint.root)
        old = self.state.latest(checkpoint.origin)
        if old is not None:
            if head.size < old.size:
                raise WitnessError(
                    f"rollback refused: size {head.size} is smaller than the cosigned size {old.size}"
                )
            if head.size == old.size:
                if head.root != old.root:
                    raise WitnessError(f"fork refused: a different root for the cosigned size {old.size}")
            elif old.size == 0:
                pass
            else:
                try:
                    verify_consistency(old.size, head.size, old.root, head.root, proof)
                except ProofError as exc:
                    raise WitnessError(
                        f"fork refused: no valid consistency proof from size {old.size} to {head.size} ({exc})"
                    ) from exc
        self.state.advance(checkpoint.origin, old, head)
        return self.signer.signature_line(note.body, int(time.time()) if now is None else now)

"""C2SP tlog-proof (c2sp.org/tlog-proof@v1): an offline-verifiable proof that an entry is in the log.

    c2sp.org/tlog-proof@v1
    [extra <base64>]
    index <n>
    <base64 hash per line: the RFC 6962 inclusion proof, leaf's sibling first>
    <empty line>
    <the signed checkpoint, verbatim, with its cosignatures>
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from . import merkle
from .checkpoint import Checkpoint
from .policy import Policy, PolicyError, VerifiedCheckpoint

HEADER = "c2sp.org/tlog-proof@v1"


class TlogProofError(ValueError):
    """A malformed proof, or one that does not prove what it claims."""


@dataclass(frozen=True)
class TlogProof:
    index: int
    proof: list[bytes]
    checkpoint: str  # signed note text
    extra: bytes | None = None

    def encode(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str | bytes) -> TlogProof:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TlogProofError("proof is not UTF-8 text") from exc
        head, sep, checkpoint = text.partition("\n\n")
        if not sep:
            raise TlogProofError("proof has no empty line before its checkpoint")
        lines = head.split("\n")
        if lines[0] != HEADER:
            raise TlogProofError(f"proof does not start with {HEADER}")
        position, extra = 1, None
        try:
            if len(lines) > 1 and lines[1].startswith("extra "):
                extra = base64.b64decode(lines[1][6:], validate=True)
                position = 2
            if len(lines) <= position or not lines[position].startswith("index "):
                raise TlogProofError("proof has no index line")
            index_text = lines[position][6:]
            if not index_text.isdigit() or (index_text != "0" and index_text.startswith("0")):
                raise TlogProofError(f"proof index {index_text!r} is not a decimal number")
            hashes = [base64.b64decode(line, validate=True) for line in lines[position + 1 :]]
        except binascii.Error as exc:
            raise TlogProofError("proof holds a line that is not base64") from exc
        if any(len(h) != merkle.HASH_SIZE for h in hashes):
            raise TlogProofError("every proof hash must be 32 bytes")
        return cls(int(index_text), hashes, checkpoint, extra)

    def verify(self, entry: bytes, policy: Policy) -> VerifiedCheckpoint:
        """Check the checkpoint against the policy and the entry's inclusion in it; raise on any failure."""
        try:
            verified = policy.verify_checkpoint(self.checkpoint)
        except PolicyError as exc:
            raise TlogProofError(str(exc)) from exc
        checkpoint: Checkpoint = verified.checkpoint
        try:
            merkle.verify_inclusion(self.index, checkpoint.size, merkle.leaf_hash(entry), self.proof, checkpoint.root)
        except merkle.ProofError as exc:
            raise TlogProofError(f"the entry is not proved to be at index {self.index}: {exc}") from exc
        return verified

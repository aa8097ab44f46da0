"""C2SP tlog-checkpoint bodies: origin line, tree size, base64 root hash, optional extension lines."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .note import NoteError, parse


class CheckpointError(ValueError):
    """A checkpoint body that does not follow c2sp.org/tlog-checkpoint."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_body(cls, body: str) -> Checkpoint:
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs an origin line, a tree size line and a root hash line")
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise CheckpointError("checkpoint origin line is empty")
        if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise CheckpointError(f"checkpoint tree size {size_text!r} is not a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as exc:
            raise CheckpointError("checkpoint root hash is not base64") from exc
        if len(root) != 32:
            raise CheckpointError("checkpoint root hash must be 32 bytes")
        if any(not line for line in extensions):
            raise CheckpointError("checkpoint extension lines must not be empty")
        return cls(origin, int(size_text), root, tuple(extensions))

    @classmethod
    def from_note(cls, text: str) -> Checkpoint:
        try:
            return cls.from_body(parse(text).body)
        except NoteError as exc:
            raise CheckpointError(str(exc)) from exc

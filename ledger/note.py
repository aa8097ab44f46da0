"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, as Go's golang.org/x/mod/sumdb/note reads them.

A note is a UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(4-byte key id ‖ signature)>``. Key ids are
``SHA-256(name ‖ "\\n" ‖ algorithm byte ‖ public key)[:4]``; algorithm 0x01 is a plain Ed25519
note signature (what logs sign checkpoints with), 0x04 a timestamped cosignature/v1 (witnesses).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, PrivateFormat, NoEncryption

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "  # em dash and a space
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A malformed note or key, or a signature that does not verify."""


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces and without '+'")


def key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key that checks note signatures: from a vkey ``name+hex id+base64(alg ‖ key)``."""

    name: str
    algorithm: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.algorithm, self.public_key)

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3:
            raise NoteError("a verifier key has the form <name>+<8 hex digits>+<base64 key>")
        name, hex_id, material = parts
        _check_name(name)
        try:
            raw = base64.b64decode(material, validate=True)
            wanted_id = bytes.fromhex(hex_id)
        except ValueError as exc:
            raise NoteError(f"verifier key {vkey!r} is not valid hex/base64") from exc
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1) or len(wanted_id) != 4:
            raise NoteError("verifier key must hold an Ed25519 key (algorithm 0x01 or 0x04, 32 bytes)")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id != wanted_id:
            raise NoteError(f"verifier key id {hex_id} does not match its name and key")
        return verifier

    def signed_message(self, body: str, timestamp: int | None) -> bytes:
        if self.algorithm == ALG_COSIGNATURE_V1:
            return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()
        return body.encode()

    def check(self, body: str, signature: bytes) -> int | None:
        """Verify a signature (without key id); return the cosignature timestamp if any."""
        timestamp = None
        if self.algorithm == ALG_COSIGNATURE_V1:
            if len(signature) != 72:
                raise NoteError(f"cosignature by {self.name} has the wrong length")
            (timestamp,) = struct.unpack(">Q", signature[:8])
            if timestamp >= 1 << 63:
                raise NoteError(f"cosignature by {self.name} has an impossible timestamp")
            signature = signature[8:]
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature, self.signed_message(body, timestamp)
            )
        except InvalidSignature as exc:
            raise NoteError(f"signature by {self.name} ({self.key_id.hex()}) does not verify") from exc
        return timestamp


@dataclass(frozen=True)
class Signer:
    """A private key that signs notes; its skey is ``PRIVATE+KEY+name+hex id+base64(alg ‖ seed)``."""

    name: str
    algorithm: int
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, name: str, algorithm: int = ALG_ED25519) -> Signer:
        _check_name(name)
        return cls(name, algorithm, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key has the form PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>")
        name, hex_id, material = parts[2:]
        _check_name(name)
        try:
            raw = base64.b64decode(material, validate=True)
        except ValueError as exc:
            raise NoteError("signer key is not valid base64") from exc
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("signer key must hold an Ed25519 seed (algorithm 0x01 or 0x04)")
        signer = cls(name, raw[0], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"signer key id {hex_id} does not match its name and key")
        return signer

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.algorithm, _raw_public(self.private_key.public_key()))

    @property
    def skey(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        material = base64.b64encode(bytes([self.algorithm]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{material}"

    def signature_line(self, body: str, timestamp: int | None = None) -> str:
        prefix = b""
        if self.algorithm == ALG_COSIGNATURE_V1:
            timestamp = int(time.time()) if timestamp is None else timestamp
            prefix = struct.pack(">Q", timestamp)
        sig = prefix + self.private_key.sign(self.verifier.signed_message(body, timestamp))
        blob = base64.b64encode(self.verifier.key_id + sig).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes
    line: str


@dataclass
class Note:
    body: str
    signatures: list[SignatureLine]

    @property
    def text(self) -> str:
        return self.body + "\n" + "".join(s.line for s in self.signatures)


def _check_body(body: str) -> None:
    if not body.endswith("\n"):
        raise NoteError("note text must end with a newline")
    for c in body:
        if c != "\n" and (ord(c) < 0x20 or ord(c) == 0x7F):
            raise NoteError("note text must not contain control characters")


def sign(body: str, signers: list[Signer]) -> str:
    """The signed note text: body, blank line, one signature line per signer."""
    _check_body(body)
    if not signers:
        raise NoteError("a note needs at least one signer")
    return body + "\n" + "".join(s.signature_line(body) for s in signers)


def parse(text: str) -> Note:
    """Split a signed note into body and signature lines, checking the format only."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not valid UTF-8") from exc
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise NoteError("note has no blank line before its signatures or does not end with a newline")
    body, sig_block = text[: split + 1], text[split + 2 :]
    _check_body(body)
    signatures = []
    for line in sig_block.splitlines(keepends=True):
        if not line.startswith(SIGNATURE_PREFIX) or not line.endswith("\n"):
            raise NoteError(f"malformed signature line {line.rstrip()!r}")
        try:
            name, blob = line[len(SIGNATURE_PREFIX) : -1].split(" ")
            raw = base64.b64decode(blob, validate=True)
        except ValueError as exc:
            raise NoteError(f"malformed signature line {line.rstrip()!r}") from exc
        _check_name(name)
        if len(raw) < 5:
            raise NoteError(f"signature by {name} is too short")
        signatures.append(SignatureLine(name, raw[:4], raw[4:], line))
    if not signatures:
        raise NoteError("note carries no signature")
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"note carries more than {MAX_SIGNATURES} signatures")
    return Note(body, signatures)


@dataclass(frozen=True)
class VerifiedSignature:
    verifier: Verifier
    timestamp: int | None


def verify(text: str, verifiers: list[Verifier]) -> tuple[Note, list[VerifiedSignature]]:
    """Check every signature made by a known key; unknown keys are ignored, as Go does.

    Raises NoteError if a known key's signature is bad, or if no known key signed at all.
    """
    note = parse(text)
    by_id = {(v.name, v.key_id): v for v in verifiers}
    verified: list[VerifiedSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in note.signatures:
        verifier = by_id.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if (sig.name, sig.key_id) in seen:
            raise NoteError(f"note is signed twice by {sig.name} ({sig.key_id.hex()})")
        seen.add((sig.name, sig.key_id))
        timestamp = verifier.check(note.body, sig.signature)
        verified.append(VerifiedSignature(verifier, timestamp))
    if not verified:
        names = ", ".join(f"{s.name} ({s.key_id.hex()})" for s in note.signatures)
        raise NoteError(f"no signature by a known key (signed by: {names})")
    return note, verified


def add_signatures(text: str, lines: list[str]) -> str:
    """The note with extra signature lines (e.g. witness cosignatures) appended."""
    note = parse(text)
    existing = {s.line for s in note.signatures}
    return note.text + "".join(line for line in lines if line not in existing)

"""Personal identifiers at rest: encrypted (AES-GCM), looked up by a keyed hash, shown masked.

Keys live in the instance folder (``keys/pii.key``, ``keys/pii-lookup.key``) and never in the database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _load_or_create(path: Path, size: int = 32) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64encode(os.urandom(size)))
    return base64.b64decode(path.read_bytes())


class PersonalData:
    """Encrypts and hashes personal identifiers with keys from the instance folder."""

    def __init__(self, key_dir: Path) -> None:
        self._aead = AESGCM(_load_or_create(key_dir / "pii.key"))
        self._lookup_key = _load_or_create(key_dir / "pii-lookup.key")

    def encrypt(self, value: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, value.encode(), b"pii")).decode()

    def decrypt(self, token: str) -> str:
        raw = base64.b64decode(token)
        return self._aead.decrypt(raw[:12], raw[12:], b"pii").decode()

    def lookup_hash(self, value: str) -> str:
        """A keyed hash: equal identifiers match, yet the hash alone reveals nothing without the key."""
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()

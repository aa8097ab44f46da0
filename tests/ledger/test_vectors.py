"""The RFC 6962 proof vectors of transparency-dev/merkle: every valid proof accepted, every invalid one refused."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger import merkle

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "rfc6962"
FILES = sorted(VECTORS.rglob("*.json"))  # **/*.json; names hold '@' and '['


def _hash(value: str | None) -> bytes:
    return base64.b64decode(value, validate=True) if value is not None else b""


def _check(vector: dict) -> None:
    proof = [_hash(p) for p in vector["proof"] or []]
    if "leafIdx" in vector:
        merkle.verify_inclusion(vector["leafIdx"], vector["treeSize"], _hash(vector["leafHash"]), proof,
                                _hash(vector["root"]))
    else:
        merkle.verify_consistency(vector["size1"], vector["size2"], _hash(vector["root1"]),
                                  _hash(vector["root2"]), proof)


def test_the_vector_files_are_there():
    kinds = {path.relative_to(VECTORS).parts[0] for path in FILES}
    assert len(FILES) > 150, f"only {len(FILES)} vector files under {VECTORS}"
    assert kinds == {"inclusion", "consistency"}
    assert sum(json.loads(p.read_text())["wantErr"] is False for p in FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(VECTORS)) for p in FILES])
def test_vector(path: Path):
    vector = json.loads(path.read_text())
    assert set(vector) >= {"proof", "wantErr"}
    assert isinstance(vector["wantErr"], bool)
    if vector["wantErr"]:
        with pytest.raises(merkle.ProofError):
            _check(vector)
    else:
        _check(vector)

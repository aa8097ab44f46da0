"""The tree and its proofs against a literal transcription of RFC 6962 §2.1 (MTH, PATH, PROOF/SUBPROOF), and the
root against an independent library (pymerkle)."""
from __future__ import annotations

import hashlib
from functools import lru_cache

import pymerkle
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger import merkle

MAX_SIZE = 300
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- RFC 6962 §2.1, written out as the RFC states it -------------------------------------------------------


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: tuple[bytes, ...]) -> bytes:
    """MTH(D[n])."""
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    return subproof(m, d, True)


def subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


@lru_cache(maxsize=64)
def data(seed: bytes, n: int) -> tuple[bytes, ...]:
    return tuple(seed + i.to_bytes(2, "big") for i in range(n))


@lru_cache(maxsize=64)
def tree_of(seed: bytes, n: int) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for item in data(seed, n):
        tree.append(item)
    return tree


def flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


seeds = st.binary(min_size=0, max_size=8)


@st.composite
def size_and_index(draw):
    """(n, index, size): a tree of n leaves and an index inside its prefix of `size` leaves."""
    n = draw(st.integers(1, MAX_SIZE))
    size = draw(st.integers(1, n))
    index = draw(st.integers(0, size - 1))
    return n, index, size


@st.composite
def two_sizes(draw):
    n = draw(st.integers(1, MAX_SIZE))
    new = draw(st.integers(1, n))
    old = draw(st.integers(1, new))
    return n, old, new


# --- roots ---------------------------------------------------------------------------------------------------


@PROPERTY
@given(seeds, st.integers(0, MAX_SIZE), st.data())
def test_root_is_mth(seed, n, draw):
    d = data(seed, n)
    tree = tree_of(seed, n)
    assert tree.size == n
    assert tree.root() == mth(d)
    assert merkle.root_from_leaf_hashes([merkle.leaf_hash(x) for x in d]) == mth(d)
    size = draw.draw(st.integers(0, n))
    assert tree.root(size) == mth(d[:size])


def test_small_trees_by_hand():
    a, b, c = b"a", b"b", b"c"
    la, lb, lc = (hashlib.sha256(b"\x00" + x).digest() for x in (a, b, c))
    ab = hashlib.sha256(b"\x01" + la + lb).digest()
    assert merkle.MemoryTree().root() == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.MemoryTree([la]).root() == la
    assert merkle.MemoryTree([la, lb, lc]).root() == hashlib.sha256(b"\x01" + ab + lc).digest()


@pytest.mark.parametrize("n", [*range(0, 18), 31, 32, 33, 255, 256, 257, 300])
def test_root_matches_pymerkle(n):
    # pymerkle's default ("security" on) hashes leaves as H(0x00 || d) and nodes as H(0x01 || l || r), which is
    # RFC 6962; disable_security=True would drop those prefixes.
    d = data(b"pymerkle", n)
    other = pymerkle.InmemoryTree(algorithm="sha256")
    for item in d:
        other.append_entry(item)
    ours = tree_of(b"pymerkle", n)
    assert ours.root() == other.get_root() == mth(d)
    for size in {0, min(1, n), n // 3, n // 2, max(n - 1, 0), n}:
        assert ours.root(size) == other.get_root(size)


@pytest.mark.parametrize("size", [-1, 6, 100])
def test_root_of_a_size_the_tree_does_not_have_is_refused(size):
    with pytest.raises(merkle.ProofError):
        tree_of(b"", 5).root(size)


# --- inclusion -----------------------------------------------------------------------------------------------


@PROPERTY
@given(seeds, size_and_index())
def test_inclusion_proof_is_rfc_path_and_verifies(seed, shape):
    n, index, size = shape
    d = data(seed, n)
    tree = tree_of(seed, n)
    got = tree.inclusion_proof(index, size)
    assert got == path(index, d[:size])
    merkle.verify_inclusion(index, size, merkle.leaf_hash(d[index]), got, mth(d[:size]))


@PROPERTY
@given(seeds, size_and_index(), st.data())
def test_inclusion_tampering_is_refused(seed, shape, draw):
    n, index, size = shape
    d = data(seed, n)
    tree = tree_of(seed, n)
    leaf, root = merkle.leaf_hash(d[index]), mth(d[:size])
    good = tree.inclusion_proof(index, size)
    if good:
        i = draw.draw(st.integers(0, len(good) - 1))
        bad = list(good)
        bad[i] = flip(bad[i], draw.draw(st.integers(0, 255)))
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, leaf, bad, root)
        with pytest.raises(merkle.ProofError):  # one element short
            merkle.verify_inclusion(index, size, leaf, good[:-1], root)
    with pytest.raises(merkle.ProofError):  # one element too many
        merkle.verify_inclusion(index, size, leaf, good + [root], root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, flip(leaf, draw.draw(st.integers(0, 255))), good, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, leaf, good, flip(root, draw.draw(st.integers(0, 255))))
    other = draw.draw(st.integers(-2, size + 2))
    if other != index:  # another index in the same tree
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(other, size, leaf, good, root)
    # Another size, with that size's own root. (With the root of `size` the RFC 9162 algorithm rightly accepts
    # some other sizes whose proofs have the same shape, e.g. leaf 0 of 3 and of 4: the root binds the size.)
    wrong = draw.draw(st.integers(index + 1, n + 1))
    if wrong != size:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, wrong, leaf, good, mth(data(seed, wrong)))


def test_inclusion_proof_requests_outside_the_tree_are_refused():
    tree = tree_of(b"", 7)
    for index, size in [(7, 7), (-1, 7), (0, 0), (0, 8), (3, 2)]:
        with pytest.raises(merkle.ProofError):
            tree.inclusion_proof(index, size)


# --- consistency ---------------------------------------------------------------------------------------------


@PROPERTY
@given(seeds, two_sizes())
def test_consistency_proof_is_rfc_proof_and_verifies(seed, shape):
    n, old, new = shape
    d = data(seed, n)
    tree = tree_of(seed, n)
    got = tree.consistency_proof(old, new)
    assert got == proof(old, d[:new])
    merkle.verify_consistency(old, new, mth(d[:old]), mth(d[:new]), got)


@PROPERTY
@given(seeds, two_sizes(), st.data())
def test_consistency_tampering_is_refused(seed, shape, draw):
    n, old, new = shape
    d = data(seed, n)
    tree = tree_of(seed, n)
    old_root, new_root = mth(d[:old]), mth(d[:new])
    good = tree.consistency_proof(old, new)
    bit = draw.draw(st.integers(0, 255))
    if good:
        i = draw.draw(st.integers(0, len(good) - 1))
        bad = list(good)
        bad[i] = flip(bad[i], bit)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, old_root, new_root, bad)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, old_root, new_root, good[:-1])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old, new, old_root, new_root, good + [new_root])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old, new, flip(old_root, bit), new_root, good)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old, new, old_root, flip(new_root, bit), good)
    # Other sizes, each with its own true root.
    other_old = draw.draw(st.integers(0, new + 1))
    if other_old != old:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(other_old, new, mth(d[:other_old]), new_root, good)
    other_new = draw.draw(st.integers(max(old - 1, 0), n + 1))
    if other_new != new:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, other_new, old_root, mth(data(seed, other_new)), good)


@PROPERTY
@given(seeds, two_sizes(), seeds)
def test_a_fork_has_no_consistency_proof(seed, shape, other_seed):
    """A different tree of the new size (another entry somewhere in the old part) does not verify."""
    assume(other_seed != seed)
    n, old, new = shape
    d = data(seed, n)
    forked = data(other_seed, n)
    good = tree_of(seed, n).consistency_proof(old, new)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old, new, mth(forked[:old]), mth(d[:new]), good)


def test_consistency_proof_requests_that_cannot_exist_are_refused():
    tree = tree_of(b"", 7)
    for old, new in [(0, 7), (0, 0), (5, 4), (-1, 3), (3, 8)]:
        with pytest.raises(merkle.ProofError):
            tree.consistency_proof(old, new)
    assert tree.consistency_proof(4, 4) == []

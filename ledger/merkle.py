"""RFC 6962 / RFC 9162 Merkle tree hashing, proof generation and proof verification.

Trees are addressed by *complete subtrees*: node ``(level, index)`` is the hash of
leaves ``[index * 2**level, (index + 1) * 2**level)``. Those never change once the
tree has grown past them, so storage keeps them and every proof is assembled from
at most ``2 * log2(n)`` of them (the right edge of an incomplete tree is folded on
the fly, exactly as RFC 6962's MTH splits it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]  # (level, index)


class ProofError(ValueError):
    """A proof that does not verify, or a request for a proof that cannot exist."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k, for n >= 2 (RFC 6962 §2.1's split point)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves, iteratively (no recursion depth, O(n))."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return fold_subtrees(complete_subtree_hashes(leaf_hashes))


def complete_subtree_hashes(leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The hashes of the maximal complete subtrees covering the leaves, left to right."""
    stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing
    for h in leaf_hashes:
        level = 0
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
        stack.append((level, h))
    return [h for _, h in stack]


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Combine complete subtrees (left to right, sizes decreasing) the way MTH does."""
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def range_subtrees(start: int, end: int) -> list[NodeId]:
    """The complete subtrees whose concatenation is leaves [start, end).

    ``start`` must be aligned to a power of two at least as large as the range's
    largest part, which holds for every range RFC 6962 proofs ask about.
    """
    nodes: list[NodeId] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        # shrink until the subtree is aligned at start
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def frontier(size: int) -> list[NodeId]:
    """The complete subtrees that make up a tree of ``size`` leaves."""
    return range_subtrees(0, size)


# --- proof shapes: which leaf ranges a proof consists of ------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 6962 PATH(index, D[0:size]) as leaf ranges, bottom-up."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []

    def path(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = _largest_power_of_two_below(n)
        if m < k:
            path(m, lo, lo + k)
            ranges.append((lo + k, hi))
        else:
            path(m - k, lo + k, hi)
            ranges.append((lo, lo + k))

    path(index, 0, size)
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """RFC 6962 PROOF(old_size, D[0:new_size]) as leaf ranges."""
    if not 0 < old_size <= new_size:
        raise ProofError(
            f"no consistency proof from size {old_size} to size {new_size}: "
            "sizes must satisfy 0 < old size <= new size"
        )
    ranges: list[tuple[int, int]] = []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> None:
        n = hi - lo
        if m == n:
            if not complete:
                ranges.append((lo, hi))
            return
        k = _largest_power_of_two_below(n)
        if m <= k:
            subproof(m, lo, lo + k, complete)
            ranges.append((lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            ranges.append((lo, lo + k))

    subproof(old_size, 0, new_size, True)
    return ranges


def nodes_for_ranges(ranges: Iterable[tuple[int, int]]) -> list[NodeId]:
    wanted: dict[NodeId, None] = {}
    for start, end in ranges:
        for node in range_subtrees(start, end):
            wanted[node] = None
    return list(wanted)


def hashes_for_ranges(
    ranges: Sequence[tuple[int, int]], get_nodes: Callable[[list[NodeId]], Mapping[NodeId, bytes]]
) -> list[bytes]:
    """Assemble range hashes from stored complete subtrees, fetched in one call."""
    nodes = get_nodes(nodes_for_ranges(ranges))
    return [fold_subtrees([nodes[n] for n in range_subtrees(s, e)]) for s, e in ranges]


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be a {HASH_SIZE}-byte SHA-256 hash")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    if size <= 0 or not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn = index, size - 1
    r = bytes(leaf)
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree requires")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows ``leaf`` at ``index`` in the tree with ``root``."""
    _check_hash(root, "root hash")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for index {index} does not match the root of size {size}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless ``proof`` shows the tree ``old_root`` is a prefix of ``new_root``."""
    if old_size < 0 or new_size < 0:
        raise ProofError("tree sizes must not be negative")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing; ask from size 1")
    if old_size == new_size:
        # Same tree: nothing to prove, the two roots must simply be the same value.
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {old_size}")
        return
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for p in proof:
        _check_hash(p, "proof hash")
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is a complete subtree: its root is implied
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the trees require")
    if fr != old_root:
        raise ProofError(f"consistency proof does not reproduce the root of size {old_size}")
    if sr != new_root:
        raise ProofError(f"consistency proof does not reproduce the root of size {new_size}")


# --- an in-memory tree, for verifiers and tests ----------------------------------------


class MemoryTree:
    """All leaf hashes in memory; proofs computed from them (for auditors and tests)."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append_hash(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, entry: bytes) -> int:
        return self.append_hash(leaf_hash(entry))

    def append_hash(self, h: bytes) -> int:
        index = len(self.levels[0])
        self.levels[0].append(h)
        level, i = 0, index
        while i & 1:
            h = node_hash(self.levels[level][i - 1], h)
            level += 1
            i >>= 1
            if len(self.levels) == level:
                self.levels.append([])
            self.levels[level].append(h)
        return index

    def get_nodes(self, nodes: Iterable[NodeId]) -> dict[NodeId, bytes]:
        return {(lv, i): self.levels[lv][i] for lv, i in nodes}

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return fold_subtrees([self.levels[lv][i] for lv, i in frontier(size)])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        self._check_size(size)
        return hashes_for_ranges(inclusion_ranges(index, size), self.get_nodes)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        self._check_size(new_size)
        return hashes_for_ranges(consistency_ranges(old_size, new_size), self.get_nodes)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} is beyond the log's size {self.size}")

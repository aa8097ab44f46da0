"""Ledger entries: RFC 8785 (JCS) canonical JSON, the exact bytes that are hashed into the tree."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from typing import Any

import rfc8785

ENTRY_VERSION = 1
MAX_ENTRY_BYTES = 65535  # C2SP tlog-tiles entry bundles prefix each entry with a uint16 length

KINDS = {
    "registration": "登记 — a right, asset, holder or member is first recorded",
    "correction": "更正 — a new entry that supersedes an earlier one, with a reason",
    "transfer": "流转 — a right passes to another holder (lease, sub-contract, assignment)",
    "pledge": "抵押 — a right is pledged to a bank",
    "release": "解押 — a pledge is released",
    "freeze": "查封 — a right is frozen (court order, dispute)",
    "unfreeze": "解封 — a freeze is lifted",
    "expiry": "到期 — a right ends at its term",
    "listing": "挂牌 — a step of a listing on the exchange",
    "resolution": "决议 — a members' resolution of a collective",
    "membership": "成员 — a change in a collective's membership roll",
    "shares": "股份 — a quantification, transfer, exit or pledge of shares",
    "distribution": "分配 — an income distribution of a collective",
    "contract": "合同 — a contract signed by its parties, or a payment against its schedule",
    "certificate": "鉴证 — a certificate issued from earlier entries",
    "key": "密钥 — the log's own key or policy changed",
}

_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


class EntryError(ValueError):
    """An entry the ledger refuses to record."""


def _is_resident_id(text: str) -> bool:
    """A clear 18-character resident ID number: a real birth date and the GB 11643 check character.

    The birth date keeps 18-digit codes such as a household's 承包方编码 from being mistaken for one.
    """
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == text[17].upper()


def _refuse_clear_identifiers(value: Any, path: str) -> None:
    if isinstance(value, str):
        for match in _RESIDENT_ID.finditer(value):
            if _is_resident_id(match.group()):
                raise EntryError(
                    f"{path} holds a resident ID number in clear; record its masked form or keyed hash"
                )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_clear_identifiers(key, f"a key of {path}")  # before the key appears in a path
            _refuse_clear_identifiers(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _refuse_clear_identifiers(item, f"{path}[{i}]")


# Where a clear resident ID could stand in an entry's canonical bytes: the digits of a string, after whatever its
# preceding character became (itself, or an escape such as \n or \u001f). A superset of what
# _refuse_clear_identifiers finds in the value, so bytes without such a run need no walk of the value. The leading
# lookahead only repeats what the run's first character must be; it lets the scan skip most positions four
# times faster than trying the lookbehinds at each.
_ID_IN_JSON = re.compile(rb"(?=[1-9])(?:(?<![0-9A-Za-z])|(?<=\\[nrtbf])|(?<=\\u[0-9a-f]{4}))[1-9][0-9]{16}[0-9Xx]"
                         rb"(?![0-9A-Za-z])")
_SAFE_INT = 2**53 - 1  # RFC 8785 §3.2.2.3: integers an IEEE 754 double holds exactly
_BEYOND_BMP = re.compile("[\U00010000-\U0010FFFF\ud800-\udfff]")


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only what the standard library's JSON encoder writes exactly as RFC 8785 does:
    dicts with string keys, lists, strings, booleans, null and integers of the safe range (no floats, no
    subclasses such as enums)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INT <= value <= _SAFE_INT
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``. Plain values go through the standard library's encoder with sorted keys and no
    whitespace, which is the same text (same escapes; keys in code point order, which is UTF-16 order as long as no
    character lies beyond the BMP); anything else, or text with such characters, through rfc8785."""
    if _plain(value):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        if not _BEYOND_BMP.search(text):
            return text.encode("utf-8")
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EntryError(f"entry is not representable as canonical JSON: {exc}") from exc


def make_entry(
    kind: str,
    subjects: Sequence[Mapping[str, str]],
    actor: Mapping[str, Any],
    data: Mapping[str, Any],
    at: datetime,
) -> bytes:
    """The canonical bytes of one entry.

    ``subjects`` are the objects the change concerns (``{"type": "parcel", "id": "…"}``);
    ``actor`` names the acting account's role and jurisdiction (``division``).
    """
    if kind not in KINDS:
        raise EntryError(f"unknown entry kind {kind!r}; known kinds: {', '.join(KINDS)}")
    if not subjects or any(not s.get("type") or not s.get("id") for s in subjects):
        raise EntryError("an entry must name at least one subject, each with a type and an id")
    if not actor.get("role") or "division" not in actor:
        raise EntryError("an entry must name the acting role and its jurisdiction (division)")
    if at.tzinfo is None:
        raise EntryError("entry time must carry a time zone")
    value = {
        "v": ENTRY_VERSION,
        "kind": kind,
        "subjects": [dict(s) for s in subjects],
        "actor": dict(actor),
        "data": dict(data),
        "time": at.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }
    try:
        encoded = canonical(value)
    except EntryError:
        _refuse_clear_identifiers(value, "entry")  # a clear identifier is the first thing to report
        raise
    if any(_is_resident_id(m.group().decode()) for m in _ID_IN_JSON.finditer(encoded)):
        _refuse_clear_identifiers(value, "entry")  # names where it is; or it was digits of a number, or of two strings
    if len(encoded) > MAX_ENTRY_BYTES:
        raise EntryError(f"entry is {len(encoded)} bytes; at most {MAX_ENTRY_BYTES} fit a tlog-tiles entry bundle")
    return encoded


def decode(entry: bytes) -> dict[str, Any]:
    """Parse entry bytes, insisting that they are exactly the canonical form."""
    try:
        value = json.loads(entry.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EntryError(f"entry is not UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict) or canonical(value) != entry:
        raise EntryError("entry bytes are not canonical RFC 8785 JSON")
    return value

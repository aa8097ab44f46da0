"""The fast path of ``ledger.entry.canonical`` (the standard library's encoder) writes exactly rfc8785's bytes,
and the scan of those bytes for clear resident IDs misses nothing the walk of the value finds. Hypothesis draws
JSON values with the awkward parts: control characters, quotes and backslashes, characters beyond the BMP and
lone surrogates, keys that sort differently in UTF-16, floats, integers at and beyond 2^53, resident IDs after
characters that JSON escapes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.entry import EntryError, _refuse_clear_identifiers, canonical, make_entry
from tests.ledger.test_entry import VALID_ID, X_ID

AT = datetime(2026, 11, 23, tzinfo=timezone.utc)
AWKWARD = st.sampled_from(["\x00", "\x1f", "\x7f", "\b", "\f", "\n", "\r", "\t", '"', "\\", "/", "\u2028", "\ufb01",
                           "\U0001f600", "\ud800", "中", "X", "x", "0", "9", " ", VALID_ID, X_ID, X_ID.lower()])
TEXT = st.lists(st.one_of(AWKWARD, st.text(max_size=4)), max_size=6).map("".join)
SAFE = 2**53 - 1
NUMBER = st.one_of(st.integers(-SAFE - 2, SAFE + 2), st.sampled_from([SAFE, -SAFE, SAFE + 1, -SAFE - 1]),
                   st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(st.one_of(st.none(), st.booleans(), NUMBER, TEXT),
                    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
                    max_leaves=20)


def reference(value) -> bytes | str:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        return type(exc).__name__


@settings(max_examples=600, deadline=None)
@given(JSON)
def test_canonical_bytes_are_rfc8785s(value):
    expected = reference(value)
    if isinstance(expected, bytes):
        assert canonical(value) == expected
    else:
        with pytest.raises(EntryError):
            canonical(value)


@settings(max_examples=600, deadline=None)
@given(JSON)
def test_an_entry_is_refused_for_a_clear_id_exactly_when_the_walk_of_its_value_finds_one(value):
    data = {"value": value}
    try:
        _refuse_clear_identifiers(data, "entry")
        walk_refuses = False
    except EntryError:
        walk_refuses = True
    try:
        make_entry("registration", [{"type": "parcel", "id": "5117231002000100001"}],
                   {"role": "county", "division": "511723"}, data, AT)
        refused = False
    except EntryError as error:
        refused = "resident ID" in str(error)
    assert refused == walk_refuses


@pytest.mark.parametrize("before", ["\n", "\t", "\r", "\b", "\f", "\x01", "\x1f", '"', "\\", " ", "中"])
def test_an_id_after_a_character_json_escapes_is_refused(before):
    with pytest.raises(EntryError, match="resident ID"):
        make_entry("registration", [{"type": "parcel", "id": "1"}], {"role": "county", "division": "511723"},
                   {"note": before + VALID_ID}, AT)

"""Ledger entries: RFC 8785 canonical bytes, required fields, and no resident ID number in clear."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ledger.entry import EntryError, decode, make_entry

SUBJECTS = [{"type": "parcel", "id": "511723201001000012"}]
ACTOR = {"role": "county", "division": "511723"}
AT = datetime(2025, 3, 1, 16, 30, 5, 123456, tzinfo=timezone(timedelta(hours=8)))
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(first17: str) -> str:
    """GB 11643-1999: the check character of an 18-character citizen identity number."""
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


VALID_ID = resident_id("51172319900101123")  # born 1990-01-01 in 开江县
assert len(VALID_ID) == 18
X_ID = next(i for i in (resident_id(f"11010519850701{n:03d}") for n in range(1000)) if i.endswith("X"))
WRONG_CHECK = VALID_ID[:17] + str((int(VALID_ID[17]) + 1) % 10 if VALID_ID[17] != "X" else 0)


def test_bytes_are_rfc8785():
    data = {"zeta": 1, "alpha": {"y": [3, 2, 1], "b": True, "a": None}, "中文": "开江县 二〇二五", "price": 1.50,
            "big": 1e21, "esc": "tab\tquote\"slash/\u0001"}
    raw = make_entry("transfer", SUBJECTS, ACTOR, data, AT)
    assert isinstance(raw, bytes)
    text = raw.decode("utf-8")
    # keys sorted at every level, no whitespace between tokens, UTF-8 rather than \\u escapes
    assert text.startswith('{"actor":{"division":"511723","role":"county"},"data":{"alpha":{"a":null,"b":true,"y":[3,2,1]},')
    assert '"big":1e+21' in text and '"price":1.5' in text
    assert '"esc":"tab\\tquote\\"slash/\\u0001"' in text
    assert '"中文":"开江县 二〇二五"' in text
    assert text.endswith(',"kind":"transfer","subjects":[{"id":"511723201001000012","type":"parcel"}],'
                         '"time":"2025-03-01T08:30:05.123456Z","v":1}')
    value = decode(raw)
    assert value == {"v": 1, "kind": "transfer", "subjects": SUBJECTS, "actor": ACTOR,
                     "data": {**data, "price": 1.5}, "time": "2025-03-01T08:30:05.123456Z"}
    assert json.loads(text) == value


def test_keys_are_sorted_by_utf16_code_units():
    # RFC 8785 §3.2.3: U+1F600 (UTF-16 D83D DE00) sorts before U+FB01, unlike code-point order.
    raw = make_entry("registration", SUBJECTS, ACTOR, {"\ufb01": 1, "\U0001f600": 2, "\u20ac": 3, "a": 4}, AT)
    data = raw.decode()[raw.decode().index('"data":'):]
    assert data.startswith('"data":{"a":4,"\u20ac":3,"\U0001f600":2,"\ufb01":1}')


def test_same_content_same_bytes():
    one = make_entry("registration", SUBJECTS, ACTOR, {"b": 1, "a": 2}, AT)
    two = make_entry("registration", [dict(reversed(list(SUBJECTS[0].items())))], dict(reversed(list(ACTOR.items()))),
                     {"a": 2, "b": 1}, AT.astimezone(timezone.utc))
    assert one == two


def test_decode_refuses_non_canonical_bytes():
    raw = make_entry("registration", SUBJECTS, ACTOR, {"a": 1}, AT)
    for bad in [raw.replace(b",", b", ", 1), raw + b"\n", b" " + raw,
                json.dumps(json.loads(raw), sort_keys=False).encode(), b"[1]", b"\xff", b"{"]:
        with pytest.raises(EntryError):
            decode(bad)


@pytest.mark.parametrize("kwargs", [
    pytest.param({"kind": "gift"}, id="unknown kind"),
    pytest.param({"kind": ""}, id="empty kind"),
    pytest.param({"subjects": []}, id="no subject"),
    pytest.param({"subjects": [{"type": "parcel"}]}, id="subject without id"),
    pytest.param({"subjects": [{"id": "1"}]}, id="subject without type"),
    pytest.param({"subjects": [{"type": "parcel", "id": ""}]}, id="empty subject id"),
    pytest.param({"subjects": [SUBJECTS[0], {"type": "", "id": "2"}]}, id="second subject empty type"),
    pytest.param({"actor": {}}, id="no actor"),
    pytest.param({"actor": {"division": "511723"}}, id="actor without role"),
    pytest.param({"actor": {"role": "county"}}, id="actor without division"),
    pytest.param({"at": datetime(2025, 3, 1, 8, 30)}, id="naive datetime"),
    pytest.param({"data": {"x": float("nan")}}, id="NaN"),
    pytest.param({"data": {"x": 2**60}}, id="integer beyond 2^53"),
])
def test_refused_entries(kwargs):
    args = {"kind": "registration", "subjects": SUBJECTS, "actor": ACTOR, "data": {}, "at": AT, **kwargs}
    with pytest.raises(EntryError):
        make_entry(**args)


CLEAR_IDS = {
    "data value": {"data": {"holder_id": VALID_ID}},
    "in a sentence": {"data": {"note": f"承包方身份证号{VALID_ID}，已核实"}},
    "after a colon": {"data": {"note": f"ID: {VALID_ID}."}},
    "check character X": {"data": {"holder_id": X_ID}},
    "check character x": {"data": {"holder_id": X_ID.lower()}},
    "nested list": {"data": {"members": [{"name": "张三", "docs": ["a", VALID_ID]}]}},
    "subject id": {"subjects": [{"type": "person", "id": VALID_ID}]},
    "actor": {"actor": {**ACTOR, "by": VALID_ID}},
    "data key": {"data": {VALID_ID: "holder"}},
    "nested key": {"data": {"members": {VALID_ID: {"share": 1}}}},
}


@pytest.mark.parametrize("where", CLEAR_IDS)
def test_a_resident_id_in_clear_is_refused(where):
    args = {"kind": "registration", "subjects": SUBJECTS, "actor": ACTOR, "data": {}, "at": AT, **CLEAR_IDS[where]}
    with pytest.raises(EntryError) as refused:
        make_entry(**args)
    assert VALID_ID not in str(refused.value) and X_ID not in str(refused.value)  # not echoed into logs


@pytest.mark.parametrize("value", [
    pytest.param("5117231990****1234", id="masked"),
    pytest.param("511723********1234", id="masked birth date"),
    pytest.param(WRONG_CHECK, id="wrong check digit"),
    pytest.param(resident_id("51172300010203040"), id="no real birth date (a 承包方编码)"),
    pytest.param(VALID_ID[:17], id="17 digits"),
    pytest.param(VALID_ID + "7", id="19 digits"),
    pytest.param("91" + VALID_ID[2:], id="other leading digits, wrong check"),
    pytest.param("sha256:" + "ab" * 32, id="keyed hash"),
])
def test_look_alikes_are_accepted(value):
    raw = make_entry("registration", SUBJECTS, ACTOR, {"holder_id": value, "ids": [value], value: 1}, AT)
    assert decode(raw)["data"]["holder_id"] == value

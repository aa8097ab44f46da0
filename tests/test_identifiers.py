"""Resident IDs (GB 11643) and unified social credit codes (GB 32100), cross-checked with python-stdnum."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from exchange.identifiers import (
    IdentifierError, mask_resident_id, resident_id_check_char, uscc_check_char, validate_division_code,
    validate_resident_id, validate_uscc,
)


def make_id(area="511723", birth="19800101", seq="123"):
    first17 = area + birth + seq
    return first17 + resident_id_check_char(first17)


def test_known_valid_resident_id():
    # The GB 11643 worked example: 11010519491231002X.
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("value, code", [
    ("11010519491231002", "ID-FORMAT"),
    ("1101051949123100X2", "ID-FORMAT"),
    ("110105194912310021", "ID-CHECK-DIGIT"),
    (make_id(birth="19491332"), "ID-BIRTH-DATE"),
    (make_id(birth="20991231"), "ID-BIRTH-DATE"),
])
def test_invalid_resident_ids_are_refused_with_a_reason(value, code):
    with pytest.raises(IdentifierError) as error:
        validate_resident_id(value)
    assert error.value.code == code
    assert error.value.message_zh and error.value.message_en


def test_check_digit_message_says_what_would_be_accepted():
    with pytest.raises(IdentifierError) as error:
        validate_resident_id("110105194912310021")
    assert "“X”" in error.value.message_zh
    assert "'X'" in error.value.message_en


def test_late_registration_with_an_address_code_newer_than_the_birth_date_is_accepted():
    # 511723 (开江县) is used here with a 1930 birth date; the code is not checked against history.
    assert validate_resident_id(make_id(birth="19300101"))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)), st.integers(0, 999))
def test_stdnum_agrees_on_generated_resident_ids(birth, seq):
    number = make_id(area="110105", birth=birth.strftime("%Y%m%d"), seq=f"{seq:03d}")
    assert validate_resident_id(number) == number
    assert ric.is_valid(number)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert not ric.is_valid(wrong)
    with pytest.raises(IdentifierError):
        validate_resident_id(wrong)


def test_mask_shows_first_six_and_last_four():
    assert mask_resident_id("11010519491231002X") == "110105********002X"


def company_code(body="91510000MA6" + "ABCDEF"[:5] + "1"):
    return body + uscc_check_char(body)


def test_known_valid_credit_code():
    # A published code (Huawei Technologies Co., Ltd.).
    assert validate_uscc("914403001922038216") == "914403001922038216"
    assert uscc.is_valid("914403001922038216")


@pytest.mark.parametrize("level", ["N1", "N2", "N3"])
def test_collective_codes_are_accepted_though_stdnum_rejects_them(level):
    body = level + "511723" + "MA6CXK3A" + "1"
    code = body + uscc_check_char(body)
    assert validate_uscc(code) == code
    # python-stdnum 2.2 rejects the N (agricultural) registration authority: our validator is the authority.
    assert not uscc.is_valid(code)


@pytest.mark.parametrize("value, code", [
    ("91440300192203821", "USCC-FORMAT"),
    ("91440300192203821I", "USCC-FORMAT"),
    ("B14403001922038216", "USCC-AUTHORITY"),
    ("N5511723MA6CXK3A10", "USCC-AUTHORITY"),
    ("9144AB001922038216", "USCC-DIVISION"),
    ("914403001922038217", "USCC-CHECK-DIGIT"),
])
def test_invalid_credit_codes_are_refused(value, code):
    with pytest.raises(IdentifierError) as error:
        validate_uscc(value)
    assert error.value.code == code


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9))
def test_stdnum_agrees_on_generated_company_codes(org):
    body = "91" + "510100" + org
    code = body + uscc_check_char(body)
    assert validate_uscc(code) == code
    assert uscc.is_valid(code)


@pytest.mark.parametrize("value", ["511723", "511723100", "511723100200", "51172310020001"])
def test_division_codes(value):
    assert validate_division_code(value) == value


@pytest.mark.parametrize("value", ["5117", "5117231000", "abcdef", ""])
def test_bad_division_codes(value):
    with pytest.raises(IdentifierError) as error:
        validate_division_code(value)
    assert error.value.code == "DIVISION-CODE-FORMAT"

"""Validators for the identifiers of ../shared/domain.md §7.

Each failure raises ``IdentifierError`` with a stable code and a message in Chinese and English that
names what was wrong and what would be accepted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"

# GB 32100: the 31-character alphabet excludes I, O, S, V and Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# First character: the registration authority (1 机构编制 … 9 市场监管, A 军队, N 农业农村, Y 其他).
# Under N, the type is 1 group-level, 2 village-level, 3 township-level collective economic organization,
# 9 other. python-stdnum 2.2 rejects the N authority, so this module is the authority here.
USCC_AUTHORITIES = "123456789ANY"
COLLECTIVE_TYPES = "1239"


@dataclass
class IdentifierError(ValueError):
    code: str
    field: str
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message_en}"

    def message(self, locale: str) -> str:
        return self.message_en if locale.startswith("en") else self.message_zh


def resident_id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS))
    return RESIDENT_ID_CHECK[total % 11]


def validate_resident_id(value: str, field: str = "id_number") -> str:
    """Return the normalised 18-character resident ID (GB 11643) or raise IdentifierError.

    The birth date must be a real date not in the future. The address code is not checked against
    today's division list: a person registered late may carry a code newer than their birth date.
    """
    value = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise IdentifierError(
            "ID-FORMAT", field,
            f"身份证号码应为18位：17位数字加1位校验码（数字或X），收到的是“{value[:20]}”（{len(value)}位）。",
            f"A resident ID has 18 characters: 17 digits and a check character (digit or X); got {len(value)}.",
        )
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth > date.today() or birth.year < 1880:
        raise IdentifierError(
            "ID-BIRTH-DATE", field,
            f"身份证号码第7–14位的出生日期“{value[6:14]}”不是有效日期（应为YYYYMMDD，且不晚于今天）。",
            f"Characters 7–14 of the resident ID, '{value[6:14]}', are not a valid birth date (YYYYMMDD, not in the future).",
        )
    expected = resident_id_check_char(value[:17])
    if value[17] != expected:
        raise IdentifierError(
            "ID-CHECK-DIGIT", field,
            f"身份证号码校验码错误：最后一位应为“{expected}”，收到的是“{value[17]}”，请核对号码。",
            f"The resident ID's check character should be '{expected}', not '{value[17]}'; please check the number.",
        )
    return value


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str, field: str = "credit_code") -> str:
    """Return the normalised unified social credit code (GB 32100) or raise IdentifierError."""
    value = (value or "").strip().upper()
    if len(value) != 18 or any(c not in USCC_ALPHABET for c in value):
        raise IdentifierError(
            "USCC-FORMAT", field,
            "统一社会信用代码应为18位，只含数字和除I、O、S、V、Z以外的大写字母。",
            "A unified social credit code has 18 characters: digits and capital letters except I, O, S, V and Z.",
        )
    if value[0] not in USCC_AUTHORITIES or (value[0] == "N" and value[1] not in COLLECTIVE_TYPES):
        raise IdentifierError(
            "USCC-AUTHORITY", field,
            f"统一社会信用代码前两位“{value[:2]}”不是有效的登记管理部门和机构类别代码（如 91 企业、N2 村级集体经济组织）。",
            f"The first two characters '{value[:2]}' are not a known authority and type (e.g. 91 company, N2 village collective).",
        )
    if not value[2:8].isdigit():
        raise IdentifierError(
            "USCC-DIVISION", field,
            "统一社会信用代码第3–8位应为6位行政区划代码。",
            "Characters 3–8 of a unified social credit code are the 6-digit division code.",
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise IdentifierError(
            "USCC-CHECK-DIGIT", field,
            f"统一社会信用代码校验码错误：最后一位应为“{expected}”，收到的是“{value[17]}”。",
            f"The credit code's check character should be '{expected}', not '{value[17]}'.",
        )
    return value


def validate_division_code(value: str, field: str = "division_code") -> str:
    value = (value or "").strip()
    if not re.fullmatch(r"\d{6}|\d{9}|\d{12}|\d{14}", value):
        raise IdentifierError(
            "DIVISION-CODE-FORMAT", field,
            "行政区划代码应为6位（县）、9位（乡镇）、12位（村）或14位（村民小组）数字。",
            "A division code has 6 (county), 9 (township), 12 (village) or 14 (group) digits.",
        )
    return value


def mask_resident_id(value: str) -> str:
    """The form the public may see: the first 6 and last 4 characters, e.g. 510115********1234."""
    return value[:6] + "*" * 8 + value[-4:]

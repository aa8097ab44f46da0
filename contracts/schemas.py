"""``TermsSchema``: contract terms from JSON (a form, the API, the stored copy) and back.

The schema checks shape and consistency only: every field present and well-formed, derived values filled
(the kind's mode and standard clauses, the first due date, a rent in kind's price per 亩). Whether the terms
are lawful for the right they are drawn on is ``contracts.check``'s business, so that the refusal carries the
rule's code. Messages name the field, in Chinese, or in English when the request's language is English.
"""
from __future__ import annotations

import re
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from contracts.kinds import CLAUSES, KINDS, standard_clauses
from contracts.terms import Asset, ContractTerms, InKind, Party, PaymentPlan
from exchange.identifiers import IdentifierError, validate_resident_id
from exchange.registry.rules import AGRICULTURAL_USES

FEN = Decimal("0.01")
PARTY_KINDS = ("household", "organisation", "person", "collective")
PRICE_KINDS = ("rent", "lump_sum")
RENT_BASES = ("per_mu", "total")
PERIODS = (12, 6, 3, 1)
ALIGNMENTS = ("contract", "calendar")
BOUNDARIES = ("east", "south", "west", "north")
NON_AGRICULTURAL = {"5": "非农业用途"}
_MASKED = re.compile(r"[0-9A-Za-z]{0,8}\*{4,}[0-9Xx]{0,4}")
_CLEAR_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")


class Message(str):
    """A message in Chinese that carries its English form; ``format`` keeps both."""

    en: str

    def __new__(cls, zh: str, en: str) -> Message:
        item = super().__new__(cls, zh)
        item.en = en[:1].upper() + en[1:]  # English sentences often begin with a field's label
        return item

    def format(self, *args, **kwargs) -> Message:
        return Message(str.format(self, *args, **kwargs), self.en.format(*args, **kwargs))


def english() -> bool:
    """Whether the current request asked for English (flask_babel's locale); Chinese otherwise."""
    from flask import has_request_context

    if not has_request_context():
        return False
    from flask_babel import get_locale

    return str(get_locale() or "").startswith("en")


def _localise(messages: Any, en: bool) -> Any:
    if isinstance(messages, Message):
        return messages.en if en else str(messages)
    if isinstance(messages, dict):
        return {key: _localise(value, en) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_localise(value, en) for value in messages]
    return messages


def _messages(label_zh: str, label_en: str, hint_zh: str = "", hint_en: str = "") -> dict[str, Message]:
    return {
        "required": Message(f"请填写{label_zh}。", f"{label_en} is required."),
        "null": Message(f"{label_zh}不能为空值。", f"{label_en} may not be null."),
        "invalid": Message(f"{label_zh}的格式不正确{hint_zh}。", f"{label_en} is not valid{hint_en}."),
        "validator_failed": Message(f"{label_zh}的值不正确。", f"{label_en} has an invalid value."),
    }


_HINTS = {
    fields.Decimal: ("（应为数字，如 600.00）", " (a number such as 600.00)"),
    fields.Integer: ("（应为整数）", " (a whole number)"),
    fields.Date: ("（应为 YYYY-MM-DD 格式的日期）", " (a date as YYYY-MM-DD)"),
    fields.String: ("（应为文字）", " (text)"),
    fields.Dict: ("（应为对象）", " (an object)"),
    fields.Nested: ("（应为对象）", " (an object)"),
}


def field(cls, label_zh: str, label_en: str, *args, **kwargs):
    """A marshmallow field whose every message names it, in both languages."""
    hint_zh, hint_en = next((h for c, h in _HINTS.items() if issubclass(cls, c)), ("", ""))
    made = cls(*args, **kwargs)
    generic = _messages(label_zh, label_en, hint_zh, hint_en)
    for key in list(made.error_messages):
        made.error_messages[key] = generic.get(key, generic["invalid"])
    return made


def _one_of(choices, label_zh: str, label_en: str) -> validate.OneOf:
    listed = "、".join(str(c) for c in choices)
    return validate.OneOf(choices, error=Message(f"{label_zh}应为以下之一：{listed}，收到的是“{{input}}”。",
                                                 f"{label_en} must be one of {', '.join(map(str, choices))}, "
                                                 f"not '{{input}}'."))


class Money(fields.Decimal):
    """A decimal with at most two places, kept at exactly two (600 → 600.00), so its JSON form is canonical."""

    LIMIT = Decimal(10) ** 12

    def __init__(self, label_zh: str, label_en: str, **kwargs) -> None:
        self.labels = (label_zh, label_en)
        super().__init__(as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        number = super()._deserialize(value, attr, data, **kwargs)
        label_zh, label_en = self.labels
        if abs(number) >= self.LIMIT:
            raise ValidationError(Message(f"{label_zh}过大：应小于 10 的 12 次方。",
                                          f"{label_en} is too large: it must be less than 10^12."))
        if number != number.quantize(FEN):
            raise ValidationError(Message(f"{label_zh}最多保留 2 位小数，收到的是 {number}。",
                                          f"{label_en} has at most 2 decimals, not {number}."))
        return number.quantize(FEN)


def _text(label_zh: str, label_en: str, *, required: bool = False, max_length: int = 4000, **kwargs):
    too_long = Message(f"{label_zh}不能超过 {max_length} 个字。", f"{label_en} has at most {max_length} characters.")
    validators = [validate.Length(max=max_length, error=too_long)]
    if required:
        validators.insert(0, validate.Predicate("strip", error=Message(f"请填写{label_zh}。", f"{label_en} is required.")))
    else:
        kwargs.setdefault("load_default", "")
    return field(fields.String, label_zh, label_en, required=required, validate=validators, **kwargs)


def _money(label_zh: str, label_en: str, **kwargs):
    return field(Money, label_zh, label_en, label_zh, label_en, **kwargs)


class _Base(Schema):
    error_messages = {"unknown": Message("未知字段（请检查字段名）。", "Unknown field (check its name)."),
                      "type": Message("应为对象。", "Must be an object.")}

    def handle_error(self, error: ValidationError, data, *, many: bool, **kwargs):
        raise ValidationError(_localise(error.messages, english()), data=data, valid_data=error.valid_data)


class PartySchema(_Base):
    name = _text("当事人名称", "party name", required=True, max_length=200)
    kind = field(fields.String, "当事人类型", "party kind", required=True,
                 validate=_one_of(PARTY_KINDS, "当事人类型", "The party kind"))
    id_masked = _text("证件号码（脱敏）", "masked identifier", max_length=40)
    address = _text("住所", "address", max_length=300)
    representative = _text("代表人", "representative", max_length=100)

    @validates_schema
    def _masked(self, data, **_kwargs):
        value = data.get("id_masked") or ""
        if data.get("kind") == "person" and value and not _MASKED.fullmatch(value):
            raise ValidationError(Message("自然人的证件号码只能填写脱敏形式（如 510115********1234），不能填写完整号码。",
                                          "A person's identifier is given masked only (e.g. 510115********1234), "
                                          "never in full."), "id_masked")

    @post_load
    def _make(self, data, **_kwargs) -> Party:
        return Party(**data)


class AssetSchema(_Base):
    code = _text("标的编码", "asset code", required=True, max_length=40)
    name = _text("标的名称", "asset name", required=True, max_length=200)
    location = _text("坐落", "location", max_length=300)
    area_m2 = _money("面积（平方米）", "area (m²)", allow_none=True, load_default=None)
    quality_grade = _text("质量等级", "quality grade", max_length=40)
    land_use = _text("现状用途", "present use", max_length=100)
    boundaries = field(fields.Dict, "四至", "boundaries", keys=fields.String(), values=fields.String(),
                       load_default=dict)
    description = _text("标的说明", "asset description", max_length=2000)
    shares = _money("股份数", "number of shares", allow_none=True, load_default=None)

    @validates_schema
    def _boundaries(self, data, **_kwargs):
        unknown = sorted(set(data.get("boundaries") or {}) - set(BOUNDARIES))
        if unknown:
            raise ValidationError(Message(f"四至只能包含 east、south、west、north，不能有：{'、'.join(unknown)}。",
                                          "Boundaries are east, south, west and north only, "
                                          f"not: {', '.join(unknown)}."), "boundaries")

    @post_load
    def _make(self, data, **_kwargs) -> Asset:
        return Asset(**data)


class InKindSchema(_Base):
    crop = _text("实物租金品种", "crop of the rent in kind", required=True, max_length=40)
    kg_per_mu = _money("每亩每年实物数量（公斤）", "kilograms per mu per year", required=True)
    yuan_per_kg = _money("折价标准（元/公斤）", "conversion price (yuan per kg)", required=True)

    @post_load
    def _make(self, data, **_kwargs) -> InKind:
        return InKind(**data)


class PaymentSchema(_Base):
    period_months = field(fields.Integer, "支付周期（月）", "payment period (months)", load_default=12,
                          validate=_one_of(PERIODS, "支付周期（月）", "The payment period (months)"))
    first_due = field(fields.Date, "首期支付日", "first due date", allow_none=True, load_default=None)
    align = field(fields.String, "计租期间起算方式", "period alignment", load_default="contract",
                  validate=_one_of(ALIGNMENTS, "计租期间起算方式", "The period alignment"))
    escalation_percent = _money("递增比例（%）", "escalation (%)", allow_none=True, load_default=None)
    escalation_every_years = field(fields.Integer, "递增间隔（年）", "escalation interval (years)", allow_none=True,
                                   load_default=None,
                                   validate=validate.Range(min=1, max=70, error=Message(
                                       "递增间隔应为 1 至 70 年。", "The escalation interval is 1 to 70 years.")))
    in_kind = field(fields.Nested, "实物租金", "rent in kind", InKindSchema, allow_none=True, load_default=None)

    @validates_schema
    def _escalation(self, data, **_kwargs):
        if (data.get("escalation_percent") is None) != (data.get("escalation_every_years") is None):
            missing = "escalation_every_years" if data.get("escalation_every_years") is None else "escalation_percent"
            raise ValidationError(Message("租金递增须同时填写递增比例和递增间隔（年）。",
                                          "An escalation needs both its percentage and its interval in years."),
                                  missing)

    @post_load
    def _make(self, data, **_kwargs) -> PaymentPlan:
        return PaymentPlan(**data)


class TermsSchema(_Base):
    """Contract terms (``contracts.ContractTerms``); ``load`` returns the dataclass, ``dump`` the JSON form."""

    kind = field(fields.String, "合同种类", "contract kind", required=True,
                 validate=_one_of(tuple(KINDS), "合同种类", "The contract kind"))
    mode = _text("流转方式", "mode of transfer", max_length=20, load_default=None, allow_none=True)
    right_number = _text("权利编号", "right number", max_length=40)
    transferor = field(fields.Nested, "甲方", "transferor", PartySchema, required=True)
    transferee = field(fields.Nested, "乙方", "transferee", PartySchema, required=True)
    issuer = _text("发包方（集体经济组织）", "issuing collective", required=True, max_length=200)
    asset = field(fields.Nested, "标的", "asset", AssetSchema, required=True)
    start = field(fields.Date, "起始日期", "start date", required=True)
    end = field(fields.Date, "终止日期", "end date", required=True)
    permitted_use = _text("用途", "permitted use", required=True, max_length=100)
    use_description = _text("用途说明", "use description", max_length=500)
    price_kind = field(fields.String, "价款方式", "price kind", required=True,
                       validate=_one_of(PRICE_KINDS, "价款方式", "The price kind"))
    rent_basis = field(fields.String, "租金计算方式", "rent basis", load_default="total",
                       validate=_one_of(RENT_BASES, "租金计算方式", "The rent basis"))
    amount = _money("金额（元）", "amount (yuan)", load_default=None)
    payment = field(fields.Nested, "支付方式", "payment plan", PaymentSchema, load_default=dict)
    rights_and_duties = _text("双方的权利和义务", "rights and duties", load_default=None, max_length=8000)
    expropriation = _text("征收征用补偿归属", "compensation on expropriation", load_default=None, max_length=4000)
    liability = _text("违约责任", "liability for breach", load_default=None, max_length=4000)
    dispute_resolution = _text("争议解决", "dispute resolution", load_default=None, max_length=4000)
    deposit_applied = _money("保证金抵作价款（元）", "deposit applied (yuan)", load_default=Decimal("0.00"))
    other_terms = _text("其他约定", "other terms", max_length=4000)

    @pre_load
    def _no_clear_identifiers(self, data, **_kwargs):
        """Terms are stored, hashed and printed: a resident ID appears only masked, wherever it was typed."""
        if isinstance(data, dict):
            path = _find_resident_id(data)
            if path:
                error: Any = Message("不能填写完整的身份证号码，请只填写脱敏形式（如 510115********1234）。",
                                     "A full resident ID number may not appear; give it masked "
                                     "(e.g. 510115********1234).")
                for key in reversed(path):
                    error = {key: [error] if not isinstance(error, dict) else error}
                raise ValidationError(error)
        return data

    @pre_load
    def _payment_given(self, data, **_kwargs):
        if isinstance(data, dict) and data.get("payment") is None and "payment" in data:
            data = {**data, "payment": {}}
        return data

    @validates_schema(skip_on_field_errors=True)
    def _consistent(self, data, **_kwargs):
        payment: PaymentPlan = data.get("payment") or PaymentPlan()
        asset: Asset = data["asset"]
        if data["price_kind"] == "lump_sum":
            if data.get("rent_basis") == "per_mu":
                raise ValidationError(Message("一次性价款不按亩计算，租金计算方式应为 total。",
                                              "A lump sum is not per mu; the rent basis is total."), "rent_basis")
            if payment.in_kind or payment.escalation_percent is not None:
                raise ValidationError({"payment": [Message("一次性价款不能约定实物租金或租金递增。",
                                                           "A lump sum has no rent in kind or escalation.")]})
        if (data.get("rent_basis") == "per_mu" or payment.in_kind) and asset.area_m2 is None:
            raise ValidationError({"asset": {"area_m2": [Message("按亩计租须填写面积（平方米）。",
                                                                "A rent per mu needs the area (m²).")]}})
        if payment.in_kind:
            per_mu = (payment.in_kind.kg_per_mu * payment.in_kind.yuan_per_kg).quantize(FEN, ROUND_HALF_UP)
            if data.get("amount") is not None and data["amount"] != per_mu:
                raise ValidationError(Message(
                    f"实物租金折价后每亩每年应为 {per_mu} 元，与填写的金额 {data['amount']} 元不符（可不填金额）。",
                    f"The rent in kind is worth {per_mu} yuan per mu per year, not {data['amount']} "
                    "(the amount may be left out)."), "amount")
        elif data.get("amount") is None:
            raise ValidationError(Message("请填写金额（元）。", "The amount (yuan) is required."), "amount")

    @post_load
    def _make(self, data, **_kwargs) -> ContractTerms:
        kind = KINDS[data["kind"]]
        data["mode"] = data.get("mode") or kind.default_mode
        payment: PaymentPlan = data.get("payment") or PaymentPlan()
        if payment.first_due is None:
            payment = replace(payment, first_due=data["start"])
        data["payment"] = payment
        if payment.in_kind:
            data["rent_basis"] = "per_mu"
            data["amount"] = (payment.in_kind.kg_per_mu * payment.in_kind.yuan_per_kg).quantize(FEN, ROUND_HALF_UP)
        if kind.asset == "parcel":
            data["permitted_use"] = land_use_code(data["permitted_use"])
        standard = standard_clauses(kind.code)
        for name in CLAUSES:
            if data.get(name) is None:
                data[name] = standard[name]
        return ContractTerms(**data)


def land_use_code(value: str) -> str:
    """A land use by TDYT code (1 种植业 … 5 非农业用途), accepting the name for the code."""
    value = value.strip()
    names = {name: code for code, name in {**AGRICULTURAL_USES, **NON_AGRICULTURAL}.items()}
    return names.get(value, value)


def _find_resident_id(value: Any, path: tuple = ()) -> tuple | None:
    if isinstance(value, str):
        for match in _CLEAR_ID.finditer(value):
            try:
                validate_resident_id(match.group())
            except IdentifierError:
                continue
            return path
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _find_resident_id(item, (*path, key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_resident_id(item, (*path, index))
            if found:
                return found
    return None

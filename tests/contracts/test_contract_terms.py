"""TermsSchema: every kind loads with its standard clauses, the JSON form round-trips, and every refusal names
its field, in Chinese by default and in English when the request asks for it."""
from __future__ import annotations

import json
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from contract_testing import land_input, land_terms
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from contracts import CLAUSES, KINDS, ContractTerms, TermsSchema, contract_digest
from exchange.identifiers import mask_resident_id, resident_id_check_char

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "contracts"


def _errors(data: dict) -> dict:
    with pytest.raises(ValidationError) as refused:
        TermsSchema().load(data)
    return refused.value.messages


def test_every_kind_loads_on_its_demo_right_with_the_templates_standard_clauses(terms_input):
    for code, kind in KINDS.items():
        terms = TermsSchema().load(terms_input(code))
        assert isinstance(terms, ContractTerms) and terms.kind == code
        assert terms.mode == kind.modes[0]
        with (TEMPLATES / kind.template / "clauses.toml").open("rb") as f:
            standard = tomllib.load(f)
        for name in CLAUSES:
            assert getattr(terms, name) == standard[name].strip() != "", (code, name)
        assert (TEMPLATES / kind.template / "document.html").is_file()


def test_defaults_the_first_due_date_to_the_start_and_the_land_use_name_to_its_code():
    data = land_input(permitted_use="种植业")
    del data["payment"]
    terms = TermsSchema().load(data)
    assert terms.payment.first_due == date(2027, 1, 1) and terms.payment.period_months == 12
    assert terms.permitted_use == "1"
    assert terms.asset.area_mu == Decimal("3.00")


def test_an_edited_clause_is_kept_and_an_emptied_one_stays_empty_for_the_checks_to_refuse():
    terms = land_terms(liability="逾期一日按日千分之一计违约金。", expropriation="")
    assert terms.liability == "逾期一日按日千分之一计违约金。" and terms.expropriation == ""


def test_the_json_form_is_json_safe_and_loads_back_to_equal_terms(terms_input):
    for code in KINDS:
        terms = TermsSchema().load(terms_input(code))
        dumped = terms.to_json()
        assert json.loads(json.dumps(dumped, ensure_ascii=False)) == dumped
        assert dumped["amount"] == str(terms.amount) and dumped["start"] == terms.start.isoformat()
        assert TermsSchema().load(dumped) == terms


@settings(max_examples=80, deadline=None)
@given(amount=st.integers(1, 10**13).map(lambda fen: Decimal(fen) / 100),
       start=st.dates(date(2020, 1, 1), date(2050, 1, 1)), days=st.integers(1, 20 * 366),
       months=st.sampled_from([12, 6, 3, 1]), align=st.sampled_from(["contract", "calendar"]),
       escalation=st.none() | st.tuples(st.integers(1, 3000).map(lambda c: Decimal(c) / 100), st.integers(1, 10)),
       in_kind=st.none() | st.tuples(st.sampled_from(["稻谷", "小麦", "玉米"]),
                                     st.integers(1, 100000).map(lambda c: Decimal(c) / 100),
                                     st.integers(1, 1000).map(lambda c: Decimal(c) / 100)),
       text=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40))
def test_any_valid_terms_round_trip_and_keep_their_digest(amount, start, days, months, align, escalation, in_kind,
                                                          text):
    payment = {"period_months": months, "align": align, "first_due": start.isoformat()}
    if escalation:
        payment.update(escalation_percent=str(escalation[0]), escalation_every_years=escalation[1])
    if in_kind:
        payment["in_kind"] = {"crop": in_kind[0], "kg_per_mu": str(in_kind[1]), "yuan_per_kg": str(in_kind[2])}
    data = land_input(amount=None if in_kind else str(amount), start=start.isoformat(),
                      end=date.fromordinal(start.toordinal() + days).isoformat(), payment=payment,
                      other_terms=text, use_description=text[:500])
    terms = TermsSchema().load(data)
    again = TermsSchema().load(json.loads(json.dumps(terms.to_json())))
    assert again == terms
    assert contract_digest(again, "HT-1") == contract_digest(terms, "HT-1") != contract_digest(terms, "HT-2")


@pytest.mark.parametrize("change, path, needle", [
    ({"transferor": {"name": ""}}, ("transferor", "name"), "当事人名称"),
    ({"issuer": "   "}, ("issuer",), "请填写发包方"),
    ({"transferee": {"kind": "company"}}, ("transferee", "kind"), "当事人类型应为以下之一"),
    ({"amount": "12.345"}, ("amount",), "最多保留 2 位小数"),
    ({"amount": "six hundred"}, ("amount",), "金额（元）的格式不正确"),
    ({"amount": "NaN"}, ("amount",), "金额（元）"),
    ({"start": "2027-13-01"}, ("start",), "YYYY-MM-DD"),
    ({"kind": "sale"}, ("kind",), "合同种类应为以下之一"),
    ({"price_kind": "monthly"}, ("price_kind",), "价款方式应为以下之一"),
    ({"payment": {"period_months": 5}}, ("payment", "period_months"), "支付周期（月）应为以下之一"),
    ({"payment": {"escalation_percent": "5.00"}}, ("payment", "escalation_every_years"), "递增间隔"),
    ({"payment": {"in_kind": {"crop": "稻谷", "kg_per_mu": "400.00", "yuan_per_kg": "2.80"}}}, ("amount",), "1120.00"),
    ({"payment": {"in_kind": {"crop": "稻谷", "kg_per_mu": "400"}}}, ("payment", "in_kind", "yuan_per_kg"), "折价标准"),
    ({"asset": {"area_m2": None}}, ("asset", "area_m2"), "面积"),
    ({"asset": {"boundaries": {"east": "沟", "up": "天"}}}, ("asset", "boundaries"), "四至"),
    ({"price_kind": "lump_sum"}, ("rent_basis",), "一次性价款"),
    ({"deposit": "100"}, ("deposit",), "未知字段"),
])
def test_refusals_name_the_field_in_chinese(change, path, needle):
    errors = _errors(land_input(**change))
    node = errors
    for key in path:
        assert key in node, (path, errors)
        node = node[key]
    assert any(needle in message for message in node), (needle, node)


def _resident_id() -> str:
    first17 = "51172319800101123"
    return first17 + resident_id_check_char(first17)


def test_a_full_resident_id_is_refused_wherever_it_is_typed():
    clear = _resident_id()
    errors = _errors(land_input(transferor={"kind": "person", "id_masked": clear}))
    assert "完整的身份证号码" in errors["transferor"]["id_masked"][0]
    errors = _errors(land_input(other_terms=f"乙方代表身份证 {clear}。"))
    assert "完整的身份证号码" in errors["other_terms"][0]
    errors = _errors(land_input(transferor={"kind": "person", "id_masked": "ABC123"}))
    assert "脱敏" in errors["transferor"]["id_masked"][0]
    terms = land_terms(transferor={"kind": "person", "id_masked": mask_resident_id(clear)})
    assert terms.transferor.id_masked == mask_resident_id(clear)
    assert clear not in json.dumps(terms.to_json())


def test_messages_are_in_english_when_the_request_asks(app):
    data = land_input(amount="12.345", transferor={"name": ""})
    with app.test_request_context("/?lang=en"):
        errors = _errors(data)
    assert errors["amount"] == ["Amount (yuan) has at most 2 decimals, not 12.345."]
    assert errors["transferor"]["name"] == ["Party name is required."]
    with app.test_request_context("/"):
        errors = _errors(data)
    assert errors["amount"] == ["金额（元）最多保留 2 位小数，收到的是 12.345。"]
    assert errors["transferor"]["name"] == ["请填写当事人名称。"]

"""check() / enforce(): terms judged against real demo rights with the registry's own rules and the
contract's CONTRACT-* rules; each refusal carries its code and names the field of the terms it is about."""
from __future__ import annotations

from datetime import date

import pytest
from contract_testing import TODAY
from sqlalchemy import func, select

from contracts import KINDS, TermsSchema, art40, check, enforce
from exchange.db import db
from exchange.ledger_app import service
from exchange.registry import operations as registry
from exchange.registry.models import Organisation, OrganisationKind, Right
from exchange.registry.rules import ART40_FIELDS, RuleViolations


def _ledger_size() -> int:
    return service.store().size(db.session.connection())


def _rights() -> int:
    return db.session.scalar(select(func.count()).select_from(Right))


def _farm() -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.family_farm)).first()


def _codes(violations) -> list[str]:
    return [v.code for v in violations]


def _only(violations, code: str):
    found = [v for v in violations if v.code == code]
    assert len(found) == 1, (code, [(v.code, v.field, v.message_zh) for v in violations])
    return found[0]


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_passes_on_its_demo_right(kind, terms_input, right):
    source = right(kind)
    bank = db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.bank)).first()
    transferee = {"share_transfer": None, "mortgage": bank}.get(kind, _farm())
    terms = TermsSchema().load(terms_input(kind, source))
    assert check(terms, source, transferee=transferee, today=TODAY) == []
    enforce(terms, source, transferee=transferee, today=TODAY)


def test_art40_gives_the_registry_every_item_and_the_transfer_registers(terms_input, right):
    source = right("land_management_transfer")
    terms = TermsSchema().load(terms_input("land_management_transfer", source))
    contract = art40(terms)
    assert list(contract) == list(ART40_FIELDS) and all(text.strip() for text in contract.values())
    assert "质量等级：二等地" in contract["parcel"] and f"{terms.asset.area_m2} 平方米" in contract["parcel"]
    assert f"（{terms.asset.area_mu} 亩）" in contract["parcel"]
    assert terms.transferor.name in contract["parties"] and terms.transferee.address in contract["parties"]
    assert "2027年1月1日" in contract["term"] and "2036年12月31日" in contract["term"]
    assert "650.00" in contract["price_payment"] and "种植业" in contract["use"]
    before = _ledger_size()
    new = registry.transfer_management_right(
        source, _farm(), terms.start, terms.end, mode=terms.mode, permitted_use=terms.permitted_use,
        contract=contract, price=f"{terms.amount} 元/亩/年", consents={"filed_with_collective": True},
        applicant=source.holders[0].holder)
    assert _ledger_size() == before + 1
    assert new.terms["contract"] == contract and new.derived_from is source


@pytest.mark.parametrize("change, item, field", [
    ({"asset": {"quality_grade": ""}}, "质量等级", "asset.quality_grade"),
    ({"transferee": {"address": ""}}, "住所", "transferee.address"),
    ({"liability": ""}, "违约责任", "liability"),
    ({"expropriation": " "}, "补偿费的归属", "expropriation"),
    ({"rights_and_duties": ""}, "权利和义务", "rights_and_duties"),
])
def test_land_written_names_the_missing_art40_item(change, item, field, terms_input, right):
    source = right("land_management_transfer")
    data = terms_input("land_management_transfer", source)
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    terms = TermsSchema().load(data)
    violation = _only(check(terms, source, today=TODAY), "LAND-WRITTEN")
    assert violation.field == field and item in violation.message_zh
    assert violation.citation == "农村土地承包法 第40条"
    # The registry refuses the same contract, and the refusal leaves ledger and rights as they were.
    before = (_ledger_size(), _rights())
    with pytest.raises(RuleViolations) as refused:
        registry.transfer_management_right(
            source, _farm(), terms.start, terms.end, mode=terms.mode, permitted_use=terms.permitted_use,
            contract=art40(terms), price="650 元/亩/年", consents={"filed_with_collective": True},
            applicant=source.holders[0].holder)
    assert refused.value.codes == ["LAND-WRITTEN"] and item in refused.value.message_zh
    assert (_ledger_size(), _rights()) == before


def test_land_term_may_not_outlast_the_contract_right(terms_input, right):
    source = right("land_management_transfer")
    assert source.end_date == date(2057, 12, 31)
    terms = TermsSchema().load(terms_input("land_management_transfer", source, mode="入股", start="2040-01-01",
                                           end="2058-06-30", payment={"first_due": "2040-01-31"}))
    violations = check(terms, source, today=TODAY)
    assert _codes(violations) == ["LAND-TERM"]  # 入股 is not a lease: no 20-year limit
    assert violations[0].field == "end" and "2057-12-31" in violations[0].message_zh
    leased = check(TermsSchema().load(terms_input("land_management_transfer", source, start="2027-01-01",
                                                  end="2058-06-30")), source, today=TODAY)
    assert sorted(_codes(leased)) == ["LAND-TERM", "LEASE-20Y"]


@pytest.mark.parametrize("kind, end", [
    ("land_management_transfer", "2048-12-31"), ("homestead_lease", "2051-12-31"), ("asset_lease", "2047-06-30"),
    ("construction_lease", "2050-12-31"),
])
def test_a_lease_may_not_exceed_twenty_years(kind, end, terms_input, right):
    source = right(kind)
    terms = TermsSchema().load(terms_input(kind, source, end=end))
    violation = _only(check(terms, source, today=TODAY), "LEASE-20Y")
    assert violation.field == "end" and "二十年" in violation.message_zh and "20 years" in violation.message_en
    twenty = TermsSchema().load(terms_input(kind, source, end="2046-12-31"))
    assert check(twenty, source, today=TODAY) == []


def test_a_construction_land_grant_is_not_a_lease_and_may_run_forty_years(terms_input, right):
    source = right("construction_grant")
    terms = TermsSchema().load(terms_input("construction_grant", source, end="2066-12-31"))
    assert check(terms, source, today=TODAY) == []


@pytest.mark.parametrize("use", ["5", "非农业用途", "建设厂房"])
def test_land_keeps_its_agricultural_use(use, terms_input, right):
    source = right("land_management_transfer")
    terms = TermsSchema().load(terms_input("land_management_transfer", source, permitted_use=use))
    violation = _only(check(terms, source, today=TODAY), "LAND-AGRI-USE")
    assert violation.field == "permitted_use" and "农业用途" in violation.message_zh


def test_a_homestead_is_leased_never_sold(terms_input, right):
    source = right("homestead_lease")
    terms = TermsSchema().load(terms_input("homestead_lease", source, mode="转让"))
    violations = check(terms, source, today=TODAY)
    assert _codes(violations) == ["HOMESTEAD-NO-SALE"] and violations[0].field == "mode"


def test_a_mortgage_may_not_outlast_the_pledged_right(terms_input, right):
    source = right("mortgage")  # the demo management right, 2025-01-01 … 2034-12-31
    terms = TermsSchema().load(terms_input("mortgage", source, end="2035-06-30"))
    violation = _only(check(terms, source, today=TODAY), "LAND-TERM")
    assert violation.field == "end" and str(source.end_date) in violation.message_zh


@pytest.mark.parametrize("kind, change, code, field, needle", [
    ("land_management_transfer", {"end": "2026-12-31"}, "CONTRACT-DATES", "end", "应晚于起始日期"),
    ("asset_lease", {"start": "2020-01-01", "end": "2025-12-31", "payment": {"first_due": "2020-01-01"}},
     "CONTRACT-DATES", "end", "已过"),
    ("land_management_transfer", {"amount": "0.00"}, "CONTRACT-PRICE", "amount", "金额应大于 0"),
    ("homestead_lease", {"amount": "-100.00"}, "CONTRACT-PRICE", "amount", "金额应大于 0"),
    ("land_management_transfer", {"amount": None, "payment": {"in_kind": {"crop": "稻谷", "kg_per_mu": "0.00",
                                                                       "yuan_per_kg": "2.80"}}},
     "CONTRACT-PRICE", "payment.in_kind.kg_per_mu", "每亩每年实物数量"),
    ("land_management_transfer", {"asset": {"area_m2": "1.00"}}, "CONTRACT-PRICE", "asset.area_m2", "年租金不足"),
    ("asset_lease", {"payment": {"first_due": "2026-12-01"}}, "CONTRACT-SCHEDULE", "payment.first_due",
     "首期支付日"),
    ("construction_grant", {"payment": {"first_due": "2067-01-15"}}, "CONTRACT-SCHEDULE", "payment.first_due",
     "合同期限内"),
    ("land_management_transfer", {"deposit_applied": "50000.00"}, "CONTRACT-DEPOSIT", "deposit_applied",
     "超过合同价款合计"),
    ("land_management_transfer", {"asset": {"code": "5117231002009999999"}}, "CONTRACT-ASSET", "asset.code",
     "标的编码应为"),
    ("asset_lease", {"asset": {"area_m2": "99999.00"}}, "CONTRACT-ASSET", "asset.area_m2", "超过登记面积"),
    ("asset_lease", {"asset": {"area_m2": None}}, "CONTRACT-ASSET", "asset.area_m2", "面积"),
    ("share_transfer", {"asset": {"code": "GF-1", "name": "股份", "shares": "0.00"}}, "CONTRACT-ASSET",
     "asset.shares", "股份数"),
    ("land_management_transfer", {"transferor": {"name": "张三"}}, "CONTRACT-PARTY", "transferor.name", "权利人"),
    ("land_management_transfer", {"issuer": "石桥村股份经济合作联合社"}, "CONTRACT-ISSUER", "issuer", "发包方"),
    ("land_management_transfer", {"right_number": "CB0000000000000000000-001"}, "CONTRACT-RIGHT", "right_number",
     "权利编号"),
    ("land_management_transfer", {"mode": "出售"}, "CONTRACT-MODE", "mode", "出租、转包、入股"),
    ("asset_lease", {"liability": "", "dispute_resolution": ""}, "CONTRACT-CLAUSES", "liability", "违约责任、争议解决"),
    ("land_management_transfer", {"dispute_resolution": ""}, "CONTRACT-CLAUSES", "dispute_resolution", "争议解决"),
])
def test_contract_rules_name_their_field(kind, change, code, field, needle, terms_input, right):
    source = right(kind)
    data = terms_input(kind, source)
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    terms = TermsSchema().load(data)
    violation = _only(check(terms, source, today=TODAY), code)
    assert violation.field == field and needle in violation.message_zh, violation
    assert violation.message_en and violation.citation


def test_the_transferee_must_be_the_party_named(terms_input, right):
    source = right("land_management_transfer")
    terms = TermsSchema().load(terms_input("land_management_transfer", source))
    company = db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.company)).first()
    violation = _only(check(terms, source, transferee=company, today=TODAY), "CONTRACT-PARTY")
    assert violation.field == "transferee.name" and company.name in violation.message_zh
    assert check(terms, source, transferee=_farm(), today=TODAY) == []


@pytest.mark.parametrize("kind, other", [
    ("land_management_transfer", "homestead_lease"),  # a homestead use right is no land to transfer
    ("asset_lease", "construction_lease"),  # construction land has its own contracts
    ("construction_grant", "asset_lease"),  # an idle school is not construction land
    ("homestead_lease", "land_management_transfer"),
])
def test_a_contract_is_drawn_on_a_right_of_its_kind(kind, other, terms_input, right):
    wrong = right(other)
    terms = TermsSchema().load(terms_input(kind, right(kind)))
    violations = check(terms, wrong, today=TODAY)
    assert _codes(violations) == ["CONTRACT-RIGHT"] and violations[0].field == "right_number"
    assert wrong.number in violations[0].message_zh
    missing = check(terms, None, today=TODAY)
    assert _codes(missing) == ["CONTRACT-RIGHT"] and "所依据的权利" in missing[0].message_zh


def test_enforce_refuses_with_every_code_at_once(terms_input, right):
    source = right("land_management_transfer")
    terms = TermsSchema().load(terms_input("land_management_transfer", source, permitted_use="5", amount="0.00",
                                           end="2058-12-31"))
    with pytest.raises(RuleViolations) as refused:
        enforce(terms, source, today=TODAY)
    assert set(refused.value.codes) == {"LAND-AGRI-USE", "LAND-TERM", "LEASE-20Y", "CONTRACT-PRICE"}
    assert refused.value.code == "RULES" and refused.value.status == 422
    assert {d["field"] for d in refused.value.details} == {"permitted_use", "end", "amount"}

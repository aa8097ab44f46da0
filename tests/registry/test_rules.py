"""The rules engine, rule by rule, through the real operations: each refusal carries its code, citation and
messages in Chinese and English, and the nearest case on the allowed side of the line goes through.

Every rule of ``rules.RULES`` must have a test here marked ``@covers(code)``; a rule added without one
fails ``test_every_rule_has_a_test``.
"""
from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from exchange.db import db
from exchange.errors import DomainError
from exchange.registry import operations
from exchange.registry.rules import ART40_FIELDS, RULES, RuleViolations
from exchange.registry.models import RightType

RULE = {r.code: r for r in RULES}
START = date(2027, 1, 1)  # transfers start here (the demo contracts run to 2057-12-31)
CONTRACT_END = date(2057, 12, 31)

COVERED: dict[str, list[str]] = {}
_seen: list[set[str]] = []


def covers(code: str):
    """Marks a test as the one for ``code``; the test fails unless it saw a refusal with that code."""
    def mark(test):
        COVERED.setdefault(code, []).append(test.__name__)

        @functools.wraps(test)
        def run(*args, **kwargs):
            _seen.append(set())
            try:
                test(*args, **kwargs)
                assert code in _seen[-1], f"{test.__name__} never showed a {code} refusal"
            finally:
                _seen.pop()
        return run
    return mark


def refused(code: str, call, *args, **kwargs) -> RuleViolations:
    """Calls the operation, expects a refusal carrying ``code`` with the rule's citation and both messages."""
    with pytest.raises(RuleViolations) as info:
        call(*args, **kwargs)
    error = info.value
    assert code in error.codes, error.codes
    detail = next(d for d in error.details if d["code"] == code)
    assert detail["citation"] == RULE[code].citation and detail["citation"].strip()
    assert detail["message_zh"].strip() and detail["message_en"].strip()
    assert "{" not in detail["message_zh"] + detail["message_en"], "a message placeholder was not filled"
    assert detail["field"] == RULE[code].field
    assert f"{code}：" in error.message_zh and f"{code}: " in error.message_en
    assert error.status == 422
    if _seen:
        _seen[-1].add(code)
    return error


def detail_of(error: RuleViolations, code: str) -> dict:
    return next(d for d in error.details if d["code"] == code)


# --- LAND-AGRI-USE ---------------------------------------------------------------------------------------------


@covers("LAND-AGRI-USE")
@pytest.mark.parametrize("use", ["5", "", "9"])
def test_land_agri_use_refuses_a_non_agricultural_use(parcel_with_contract, organisation, split, use):
    held = parcel_with_contract()
    error = refused("LAND-AGRI-USE", split, held, organisation("family_farm"), START, date(2036, 12, 31),
                    permitted_use=use)
    assert error.codes == ["LAND-AGRI-USE"]  # nothing else is wrong with the proposal
    assert error.field == "permitted_use"


@pytest.mark.parametrize("use", ["1", "2", "3", "4"])
def test_land_agri_use_accepts_every_agricultural_use(parcel_with_contract, organisation, split, use):
    right = split(parcel_with_contract(), organisation("family_farm"), START, date(2036, 12, 31), permitted_use=use)
    assert right.permitted_use == use and right.right_type == RightType.management


# --- LAND-TERM -------------------------------------------------------------------------------------------------


@covers("LAND-TERM")
def test_land_term_a_transfer_may_not_outlast_the_contract_right(parcel_with_contract, organisation, split):
    held = parcel_with_contract()
    assert held.contract.end_date == CONTRACT_END
    farm = organisation("family_farm")
    error = refused("LAND-TERM", split, held, farm, START, date(2058, 1, 1), mode="转包")
    assert CONTRACT_END.isoformat() in detail_of(error, "LAND-TERM")["message_en"]
    right = split(held, farm, START, CONTRACT_END, mode="转包")  # to the contract's last day
    assert right.end_date == CONTRACT_END


@covers("LAND-TERM")
def test_land_term_a_re_transfer_or_pledge_may_not_outlast_the_management_right(parcel_with_contract, organisation,
                                                                                 split):
    farm, company, bank = organisation("family_farm"), organisation("company"), organisation("bank")
    management = split(parcel_with_contract(), farm, START, date(2036, 12, 31))
    refused("LAND-TERM", split, management, company, date(2028, 1, 1), date(2037, 1, 1))
    refused("LAND-TERM", operations.pledge, management, bank, Decimal("50000"), date(2028, 1, 1), date(2037, 1, 1),
            contract_number="DY-1", applicant=farm, consents={"contracting_household": True,
                                                              "filed_with_collective": True})
    encumbrance = operations.pledge(management, bank, Decimal("50000"), date(2028, 1, 1), date(2036, 12, 31),
                                    contract_number="DY-1", applicant=farm,
                                    consents={"contracting_household": True, "filed_with_collective": True})
    assert encumbrance.end_date == date(2036, 12, 31)
    again = split(management, company, date(2028, 1, 1), date(2036, 12, 31), consents={
        "contracting_household": True, "filed_with_collective": True, "pledgee": True})
    assert again.derived_from is management


# --- LAND-FILING -----------------------------------------------------------------------------------------------


@covers("LAND-FILING")
@pytest.mark.parametrize("consents", [{}, {"filed_with_collective": False}, {"contracting_household": True}])
def test_land_filing_a_household_transfer_is_filed_with_the_collective(parcel_with_contract, organisation, split,
                                                                       consents):
    held = parcel_with_contract()
    farm = organisation("family_farm")
    error = refused("LAND-FILING", split, held, farm, START, date(2036, 12, 31), consents=consents)
    assert error.codes == ["LAND-FILING"]
    right = split(held, farm, START, date(2036, 12, 31), consents={"filed_with_collective": True})
    assert right.terms["consents"] == {"filed_with_collective": True}


# --- LAND-WRITTEN ----------------------------------------------------------------------------------------------


@covers("LAND-WRITTEN")
@pytest.mark.parametrize("missing", list(ART40_FIELDS))
def test_land_written_names_each_missing_art40_field(parcel_with_contract, organisation, split, art40_contract,
                                                     missing):
    held = parcel_with_contract()
    contract = art40_contract()
    del contract[missing]
    error = refused("LAND-WRITTEN", split, held, organisation("family_farm"), START, date(2036, 12, 31),
                    contract=contract)
    detail = detail_of(error, "LAND-WRITTEN")
    zh, en = ART40_FIELDS[missing]
    assert zh in detail["message_zh"] and f"{missing} ({en})" in detail["message_en"]
    for other in set(ART40_FIELDS) - {missing}:  # only the missing one is named
        assert ART40_FIELDS[other][0] not in detail["message_zh"]


@covers("LAND-WRITTEN")
def test_land_written_blank_fields_count_as_missing_and_a_full_contract_passes(parcel_with_contract, organisation,
                                                                                split, art40_contract):
    held = parcel_with_contract()
    farm = organisation("family_farm")
    error = refused("LAND-WRITTEN", split, held, farm, START, date(2036, 12, 31),
                    contract=art40_contract(liability="   ", expropriation=""))
    detail = detail_of(error, "LAND-WRITTEN")
    assert "liability" in detail["message_en"] and "expropriation" in detail["message_en"]
    assert "price_payment" not in detail["message_en"]
    refused("LAND-WRITTEN", split, held, farm, START, date(2036, 12, 31), contract={})
    right = split(held, farm, START, date(2036, 12, 31), contract=art40_contract())
    assert set(right.terms["contract"]) == set(ART40_FIELDS)


# --- LAND-REGISTER-5Y ------------------------------------------------------------------------------------------


@covers("LAND-REGISTER-5Y")
def test_land_register_5y_a_long_transfer_cannot_be_left_unregistered(parcel_with_contract, organisation, split):
    held = parcel_with_contract()
    farm = organisation("family_farm")
    error = refused("LAND-REGISTER-5Y", split, held, farm, START, date(2036, 12, 31), register=False)
    assert error.codes == ["LAND-REGISTER-5Y"]
    short = split(held, farm, START, date(2031, 12, 30), register=False)  # a day short of five years
    assert short.terms["registered"] is False
    registered = split(parcel_with_contract(), farm, START, date(2036, 12, 31))  # registered by default
    assert registered.terms["registered"] is True


@covers("LAND-REGISTER-5Y")
@pytest.mark.parametrize("end", [date(2031, 12, 31), date(2032, 1, 1)], ids=["five years", "five years and a day"])
def test_land_register_5y_exactly_five_calendar_years_counts_as_five(parcel_with_contract, organisation, split, end):
    # 2027-01-01 to 2031-12-31 is five calendar years (both days in force), although it has 1826 days: whatever
    # leap days a term crosses, five years are five years (days / 365.25 made it 4.9993 and let it go unregistered)
    refused("LAND-REGISTER-5Y", split, parcel_with_contract(), organisation("family_farm"), START, end,
            register=False)


@covers("LAND-REGISTER-5Y")
def test_land_register_5y_a_term_from_29_february(parcel_with_contract, organisation, split):
    farm = organisation("family_farm")
    leap = date(2028, 2, 29)
    refused("LAND-REGISTER-5Y", split, parcel_with_contract(), farm, leap, date(2033, 2, 28), register=False)
    short = split(parcel_with_contract(), farm, leap, date(2033, 2, 27), register=False)  # a day short
    assert short.terms["registered"] is False


@covers("LAND-REGISTER-5Y")
def test_land_register_5y_an_unregistered_right_is_not_re_transferred_or_pledged(parcel_with_contract, organisation,
                                                                                 split):
    farm, company, bank = organisation("family_farm"), organisation("company"), organisation("bank")
    consents = {"contracting_household": True, "filed_with_collective": True}
    unregistered = split(parcel_with_contract(), farm, START, date(2029, 12, 31), register=False)
    error = refused("LAND-REGISTER-5Y", split, unregistered, company, date(2028, 1, 1), date(2029, 12, 31))
    assert error.codes == ["LAND-REGISTER-5Y"]
    refused("LAND-REGISTER-5Y", operations.pledge, unregistered, bank, Decimal("30000"), date(2028, 1, 1),
            date(2029, 12, 31), contract_number="DY-2", applicant=farm, consents=consents)
    # the same short right, registered, can be
    registered = split(parcel_with_contract(), farm, START, date(2029, 12, 31))
    operations.pledge(registered, bank, Decimal("30000"), date(2028, 1, 1), date(2029, 12, 31),
                      contract_number="DY-2", applicant=farm, consents=consents)
    again = split(registered, company, date(2028, 1, 1), date(2029, 12, 31), consents={**consents, "pledgee": True})
    assert again.derived_from is registered


# --- LAND-RETRANSFER -------------------------------------------------------------------------------------------


@covers("LAND-RETRANSFER")
@pytest.mark.parametrize("consents", [{}, {"contracting_household": True}, {"filed_with_collective": True}])
def test_land_retransfer_needs_the_households_consent_and_filing(parcel_with_contract, organisation, split,
                                                                  consents):
    farm, company, bank = organisation("family_farm"), organisation("company"), organisation("bank")
    management = split(parcel_with_contract(), farm, START, date(2036, 12, 31))
    error = refused("LAND-RETRANSFER", split, management, company, date(2028, 1, 1), date(2036, 12, 31),
                    consents=consents)
    assert error.codes == ["LAND-RETRANSFER"]
    refused("LAND-RETRANSFER", operations.pledge, management, bank, Decimal("50000"), date(2028, 1, 1),
            date(2030, 12, 31), contract_number="DY-3", applicant=farm, consents=consents)
    both = {"contracting_household": True, "filed_with_collective": True}
    operations.pledge(management, bank, Decimal("50000"), date(2028, 1, 1), date(2030, 12, 31),
                      contract_number="DY-3", applicant=farm, consents=both)
    again = split(management, company, date(2028, 1, 1), date(2036, 12, 31), consents={**both, "pledgee": True})
    assert again.holders[0].organisation is company


# --- LAND-CAPITAL-REVIEW ---------------------------------------------------------------------------------------


@pytest.fixture
def large_contracted(new_parcel, household):
    """A parcel larger than the configured review area, contracted to a demo household."""
    limit = Decimal(str(current_app.config["LAND_CAPITAL_REVIEW_AREA_M2"]))
    parcel = new_parcel(area_m2=(limit + 1000).quantize(Decimal("0.01")))
    holder = household(3)
    contract = operations.grant_contract_right(parcel, [(holder, Decimal(1))], date(2026, 1, 1), CONTRACT_END,
                                               contract_number="CB-TEST-LARGE")
    return contract


@covers("LAND-CAPITAL-REVIEW")
def test_land_capital_review_a_company_over_the_area_needs_the_county_review(large_contracted, organisation, split):
    company = organisation("company")
    error = refused("LAND-CAPITAL-REVIEW", split, large_contracted, company, START, date(2036, 12, 31))
    assert error.codes == ["LAND-CAPITAL-REVIEW"]
    message = detail_of(error, "LAND-CAPITAL-REVIEW")["message_zh"]
    assert "100.00 亩" in message and f"{large_contracted.parcel.area_mu} 亩" in message
    refused("LAND-CAPITAL-REVIEW", split, large_contracted, company, START, date(2036, 12, 31), county_review="  ")
    right = split(large_contracted, company, START, date(2036, 12, 31), county_review="开农审〔2026〕3号")
    assert right.terms["county_review"] == "开农审〔2026〕3号"


@pytest.mark.parametrize("kind", ["family_farm", "cooperative"])
def test_land_capital_review_does_not_apply_to_farms_and_cooperatives(large_contracted, organisation, split, kind):
    right = split(large_contracted, organisation(kind), START, date(2036, 12, 31))
    assert "county_review" not in right.terms


def test_land_capital_review_a_company_under_the_area_needs_no_review(parcel_with_contract, organisation, split):
    held = parcel_with_contract()
    assert held.parcel.area_m2 < Decimal(str(current_app.config["LAND_CAPITAL_REVIEW_AREA_M2"]))
    right = split(held, organisation("company"), START, date(2036, 12, 31))
    assert right.holders[0].organisation.kind.value == "company"


# --- LAND-OUTSIDER-CONTRACT ------------------------------------------------------------------------------------


OTHER_VILLAGE = "511723101200"  # 石桥村 (普安镇), another collective


@covers("LAND-OUTSIDER-CONTRACT")
def test_land_outsider_contract_needs_two_thirds_and_township_approval(new_parcel, household, resolution):
    parcel = new_parcel()
    outsider = household(0, village=OTHER_VILLAGE)
    assert outsider.collective.credit_code != parcel.collective.credit_code
    grant = functools.partial(operations.grant_contract_right, parcel, [(outsider, Decimal(1))], date(2026, 1, 1),
                              CONTRACT_END, contract_number="CB-OUT-1")
    approval = "新宁镇府〔2026〕8号"
    error = refused("LAND-OUTSIDER-CONTRACT", grant)
    assert error.codes == ["LAND-OUTSIDER-CONTRACT"]
    refused("LAND-OUTSIDER-CONTRACT", grant, resolution=resolution(30, 20))  # no township approval
    refused("LAND-OUTSIDER-CONTRACT", grant, township_approval=approval)  # no resolution
    refused("LAND-OUTSIDER-CONTRACT", grant, resolution=resolution(30, 19), township_approval=approval)
    right = grant(resolution=resolution(30, 20), township_approval=approval)  # exactly two thirds
    assert right.holders[0].household is outsider and right.terms["resolution"]["votes_for"] == 20


@covers("LAND-OUTSIDER-CONTRACT")
def test_land_outsider_contract_an_organisation_is_an_outsider(new_parcel, organisation, resolution):
    parcel = new_parcel()
    grant = functools.partial(operations.grant_contract_right, parcel, [(organisation("cooperative"), Decimal(1))],
                              date(2026, 1, 1), CONTRACT_END, contract_number="CB-OUT-2")
    refused("LAND-OUTSIDER-CONTRACT", grant)
    assert grant(resolution=resolution(3, 2), township_approval="新宁镇府〔2026〕9号").active


@pytest.mark.parametrize("n", [0, 20, 41])  # households of the first, second and third group of the village
def test_land_outsider_contract_a_member_household_needs_nothing(new_parcel, household, n):
    parcel = new_parcel()
    member = household(n)
    assert member.collective_id == parcel.collective_id
    right = operations.grant_contract_right(parcel, [(member, Decimal(1))], date(2026, 1, 1), CONTRACT_END,
                                            contract_number="CB-IN-1")
    assert right.derived_from.right_type == RightType.ownership and right.mode == "发包"


# --- LEASE-20Y -------------------------------------------------------------------------------------------------


@pytest.fixture
def lease_via(parcel_with_contract, organisation, split, household, homestead_rights, collective_asset, resolution):
    """lease_via(kind, start=2027-01-01) → a function end_date → the lease of that kind starting on ``start``."""
    company = organisation("company")

    def make(kind: str, start: date = START):
        if kind == "transfer_management":
            held = parcel_with_contract()
            return lambda end: split(held, organisation("family_farm"), start, end)
        if kind == "lease_use":
            holder = household(6)
            _, use = homestead_rights(holder)
            return lambda end: operations.lease_use_right(use, company, start, end, mode="出租", rent="6000 元/年",
                                                          applicant=holder)
        if kind == "lease_asset":
            school = collective_asset("闲置校舍")
            return lambda end: operations.lease_collective_asset(school, company, start, end, rent="8 万元/年",
                                                                 resolution=resolution(30, 20))
        site = collective_asset("经营性建设用地")
        return lambda end: operations.grant_construction_use(site, company, start, end, mode="出租", price="12 万元/年",
                                                             resolution=resolution(30, 20))
    return make


LEASES = ["transfer_management", "lease_use", "lease_asset", "grant_construction_use"]


@covers("LEASE-20Y")
@pytest.mark.parametrize("kind", LEASES)
def test_lease_20y_twenty_years_pass_and_a_month_more_is_refused(lease_via, kind):
    # The start and end dates are both days of the lease (a right expires the day after its end date), so twenty
    # years from 2027-01-01 end on 2046-12-31, the day before the twentieth anniversary.
    lease = lease_via(kind)
    error = refused("LEASE-20Y", lease, date(2047, 2, 1))  # 20 years and a month
    assert error.codes == ["LEASE-20Y"]
    message = detail_of(error, "LEASE-20Y")
    assert "20.1" in message["message_en"] and "2046-12-31" in message["message_en"] + message["message_zh"]
    right = lease(date(2046, 12, 31))  # 20 years to the day
    assert right.mode == "出租" and right.end_date == date(2046, 12, 31)


@covers("LEASE-20Y")
@pytest.mark.parametrize("kind", LEASES)
@pytest.mark.parametrize("end", [date(2047, 1, 1), date(2047, 1, 3)], ids=["a day over", "three days over"])
def test_lease_20y_days_over_twenty_years_are_refused(lease_via, kind, end):
    error = refused("LEASE-20Y", lease_via(kind), end)  # days / 365.25 with a 0.01-year margin let these through
    assert error.codes == ["LEASE-20Y"]
    assert f"{(end - date(2046, 12, 31)).days} day" in detail_of(error, "LEASE-20Y")["message_en"]


@covers("LEASE-20Y")
@pytest.mark.parametrize("kind", LEASES)
def test_lease_20y_from_29_february(lease_via, kind):
    lease = lease_via(kind, start=date(2028, 2, 29))
    refused("LEASE-20Y", lease, date(2048, 2, 29))  # the anniversary itself is a day too many
    assert lease(date(2048, 2, 28)).end_date == date(2048, 2, 28)


def test_lease_20y_does_not_limit_a_grant_or_a_sub_contract(collective_asset, organisation, resolution,
                                                           parcel_with_contract, split):
    company = organisation("company")
    grant = operations.grant_construction_use(collective_asset("经营性建设用地"), company, START, date(2066, 12, 31),
                                              mode="出让", price="300 万元", resolution=resolution(30, 20))
    assert grant.mode == "出让" and grant.permitted_use == "商业服务业"  # the planned use of the land
    sub = split(parcel_with_contract(), organisation("family_farm"), START, CONTRACT_END, mode="转包")
    assert sub.end_date == CONTRACT_END


# --- HOMESTEAD-ONE ---------------------------------------------------------------------------------------------


@covers("HOMESTEAD-ONE")
def test_homestead_one_a_household_with_a_homestead_gets_no_second(household, homestead_rights, new_homestead):
    holder = household(2)
    qualification, _ = homestead_rights(holder)
    error = refused("HOMESTEAD-ONE", operations.allocate_homestead, new_homestead("80.00"), holder)
    assert error.codes == ["HOMESTEAD-ONE"]
    detail = detail_of(error, "HOMESTEAD-ONE")
    assert qualification.homestead.code in detail["message_zh"] and qualification.homestead.code in detail["message_en"]


@covers("HOMESTEAD-ONE")
@pytest.mark.parametrize("members, standard", [(0, 90), (2, 90), (3, 90), (4, 120), (5, 150), (7, 150)])
def test_homestead_one_the_area_standard_follows_the_household_size(new_household, new_homestead, members,
                                                                    standard):
    # defaults: 30 m² a person, households of up to three count as three, of five or more as five
    home = new_household(members)
    assert len(home.members) == members
    error = refused("HOMESTEAD-ONE", operations.allocate_homestead,
                    new_homestead(Decimal(standard) + Decimal("0.01")), home)
    assert error.codes == ["HOMESTEAD-ONE"]
    assert f"{standard} m²" in detail_of(error, "HOMESTEAD-ONE")["message_en"]
    qualification, use = operations.allocate_homestead(new_homestead(Decimal(standard)), home)
    assert qualification.right_type == RightType.qualification and use.derived_from is qualification
    assert [h.household for h in use.holders] == [home]


# --- HOMESTEAD-NO-SALE -----------------------------------------------------------------------------------------


@covers("HOMESTEAD-NO-SALE")
@pytest.mark.parametrize("mode", ["出售", "转让", "赠与"])
def test_homestead_no_sale_a_homestead_is_not_sold(household, homestead_rights, person_factory, mode):
    holder = household(8)
    _, use = homestead_rights(holder)
    town_resident = person_factory(name="城镇居民")
    error = refused("HOMESTEAD-NO-SALE", operations.lease_use_right, use, town_resident, START, date(2036, 12, 31),
                    mode=mode, rent="30 万元", applicant=holder)
    assert error.codes == ["HOMESTEAD-NO-SALE"]
    assert mode in detail_of(error, "HOMESTEAD-NO-SALE")["message_zh"]


@pytest.mark.parametrize("mode", ["出租", "合作"])
def test_homestead_no_sale_lease_and_co_operation_pass(household, homestead_rights, person_factory, organisation,
                                                       mode):
    holder = household(9)
    _, use = homestead_rights(holder)
    lessee = person_factory(name="城镇居民") if mode == "出租" else organisation("cooperative")
    lease = operations.lease_use_right(use, lessee, START, date(2036, 12, 31), mode=mode, rent="6000 元/年",
                                       applicant=holder)
    assert lease.right_type == RightType.lease and lease.derived_from is use and use.active


# --- HOMESTEAD-REAPPLY -----------------------------------------------------------------------------------------


def _surrender(*rights) -> None:
    """A household gives its homestead back to the collective (no operation for it yet: set the end directly)."""
    from datetime import datetime, timezone

    for right in rights:
        right.ended_at, right.end_reason = datetime.now(timezone.utc), "surrendered"
    db.session.flush()


@covers("HOMESTEAD-REAPPLY")
def test_homestead_reapply_a_household_that_leased_its_house_gets_no_new_homestead(household, homestead_rights,
                                                                                  new_homestead, organisation):
    holder = household(10)
    qualification, use = homestead_rights(holder)
    operations.lease_use_right(use, organisation("company"), START, date(2036, 12, 31), mode="出租",
                               rent="6000 元/年", applicant=holder)
    error = refused("HOMESTEAD-REAPPLY", operations.allocate_homestead, new_homestead("80.00"), holder)
    detail = detail_of(error, "HOMESTEAD-REAPPLY")
    assert use.homestead.code in detail["message_zh"] and "leased" in detail["message_en"]
    # even after giving the homestead back, the lease counts
    _surrender(qualification, use)
    error = refused("HOMESTEAD-REAPPLY", operations.allocate_homestead, new_homestead("80.00"), holder)
    assert error.codes == ["HOMESTEAD-REAPPLY"]


def test_homestead_reapply_a_household_that_gave_back_an_unleased_homestead_may_reapply(household, homestead_rights,
                                                                                      new_homestead):
    holder = household(11)
    _surrender(*homestead_rights(holder))
    qualification, use = operations.allocate_homestead(new_homestead("80.00"), holder)
    assert qualification.active and use.active


# --- NO-PLEDGE -------------------------------------------------------------------------------------------------


@covers("NO-PLEDGE")
@pytest.mark.parametrize("kind", ["homestead_use", "qualification", "ownership"])
def test_no_pledge_homestead_and_ownership_rights_are_not_pledged(household, homestead_rights, parcel_with_contract,
                                                                  ownership, organisation, kind):
    holder = household(12)
    qualification, use = homestead_rights(holder)
    right = {"homestead_use": use, "qualification": qualification,
             "ownership": ownership(parcel_with_contract().parcel)}[kind]
    error = refused("NO-PLEDGE", operations.pledge, right, organisation("bank"), Decimal("100000"), START,
                    date(2029, 12, 31), contract_number="DY-NP")
    assert error.codes == ["NO-PLEDGE"]


@covers("NO-PLEDGE")
def test_no_pledge_a_frozen_right_is_not_pledged_a_free_one_is(parcel_with_contract, organisation, split):
    farm, bank = organisation("family_farm"), organisation("bank")
    consents = {"contracting_household": True, "filed_with_collective": True}
    management = split(parcel_with_contract(), farm, START, date(2036, 12, 31))
    item = operations.freeze(management, "开江县人民法院", "(2026)川1723执保88号", "财产保全")
    pledge = functools.partial(operations.pledge, management, bank, Decimal("80000"), date(2027, 3, 1),
                               date(2030, 2, 28), contract_number="DY-F", applicant=farm, consents=consents)
    error = refused("NO-PLEDGE", pledge)
    assert "frozen" in detail_of(error, "NO-PLEDGE")["message_en"]
    operations.unfreeze(item, "(2026)川1723执保88号之一")
    encumbrance = pledge()
    assert encumbrance.right is management and management.active_pledges() == [encumbrance]


def test_no_pledge_a_contract_right_may_be_pledged(parcel_with_contract, organisation):
    held = parcel_with_contract()
    encumbrance = operations.pledge(held.contract, organisation("bank"), Decimal("60000"), START, date(2029, 12, 31),
                                    contract_number="DY-CB", applicant=held.household)
    assert encumbrance.amount == Decimal("60000")


# --- COLLECTIVE-2-3 --------------------------------------------------------------------------------------------


@pytest.fixture
def dispose(collective_asset, organisation):
    """dispose(kind, resolution) → lease the idle school, or grant the construction land, with that resolution."""
    def run(kind: str, resolution: dict | None):
        company = organisation("company")
        if kind == "lease_asset":
            return operations.lease_collective_asset(collective_asset("闲置校舍"), company, START, date(2036, 12, 31),
                                                     rent="8 万元/年", resolution=resolution)
        return operations.grant_construction_use(collective_asset("经营性建设用地"), company, START,
                                                 date(2066, 12, 31), mode="出让", price="300 万元",
                                                 resolution=resolution)
    return run


@covers("COLLECTIVE-2-3")
@pytest.mark.parametrize("kind", ["lease_asset", "grant_construction_use"])
@pytest.mark.parametrize("total, votes_for", [(30, 19), (31, 20), (3, 1), (30, 31), (0, 0)])
def test_collective_two_thirds_refuses_less_than_two_thirds(dispose, resolution, kind, total, votes_for):
    error = refused("COLLECTIVE-2-3", dispose, kind, resolution(total, votes_for))
    assert error.codes == ["COLLECTIVE-2-3"]


@covers("COLLECTIVE-2-3")
@pytest.mark.parametrize("kind", ["lease_asset", "grant_construction_use"])
def test_collective_two_thirds_refuses_without_a_resolution(dispose, kind):
    error = refused("COLLECTIVE-2-3", dispose, kind, None)
    assert "no resolution" in detail_of(error, "COLLECTIVE-2-3")["message_en"]
    refused("COLLECTIVE-2-3", dispose, kind, {"members_total": 30})  # no vote count


@pytest.mark.parametrize("kind", ["lease_asset", "grant_construction_use"])
@pytest.mark.parametrize("total, votes_for", [(30, 20), (31, 21), (3, 2), (30, 30)])
def test_collective_two_thirds_passes_at_two_thirds(dispose, resolution, kind, total, votes_for):
    right = dispose(kind, resolution(total, votes_for))
    assert right.terms["resolution"]["votes_for"] == votes_for
    assert right.derived_from.right_type == RightType.ownership


# --- ENCUMBERED ------------------------------------------------------------------------------------------------


@covers("ENCUMBERED")
def test_encumbered_a_pledged_right_moves_only_with_the_pledgees_consent(parcel_with_contract, organisation, split):
    farm, company, bank = organisation("family_farm"), organisation("company"), organisation("bank")
    both = {"contracting_household": True, "filed_with_collective": True}
    management = split(parcel_with_contract(), farm, START, date(2036, 12, 31))
    operations.pledge(management, bank, Decimal("80000"), date(2027, 3, 1), date(2030, 2, 28),
                      contract_number="DY-E", applicant=farm, consents=both)
    error = refused("ENCUMBERED", split, management, company, date(2028, 1, 1), date(2036, 12, 31), consents=both)
    assert error.codes == ["ENCUMBERED"]
    assert bank.name in detail_of(error, "ENCUMBERED")["message_zh"]
    right = split(management, company, date(2028, 1, 1), date(2036, 12, 31), consents={**both, "pledgee": True})
    assert right.terms["consents"]["pledgee"] is True


def test_encumbered_a_released_pledge_needs_no_consent(parcel_with_contract, organisation, split):
    farm, company, bank = organisation("family_farm"), organisation("company"), organisation("bank")
    both = {"contracting_household": True, "filed_with_collective": True}
    management = split(parcel_with_contract(), farm, START, date(2036, 12, 31))
    encumbrance = operations.pledge(management, bank, Decimal("80000"), date(2027, 3, 1), date(2030, 2, 28),
                                    contract_number="DY-R", applicant=farm, consents=both)
    operations.release_pledge(encumbrance, "贷款已结清")
    assert split(management, company, date(2028, 1, 1), date(2036, 12, 31), consents=both).active


@covers("ENCUMBERED")
def test_encumbered_the_demo_frozen_right_is_not_transferred_even_with_consent(organisation, split):
    from sqlalchemy import select

    from exchange.registry.models import Freeze

    demo_freeze = db.session.scalars(select(Freeze).order_by(Freeze.id)).first()
    frozen = demo_freeze.right
    assert frozen.right_type == RightType.contract and frozen.active_freezes() == [demo_freeze]
    transfer = functools.partial(split, frozen, organisation("family_farm"), START, date(2036, 12, 31),
                                 consents={"filed_with_collective": True, "pledgee": True})
    error = refused("ENCUMBERED", transfer)
    assert error.codes == ["ENCUMBERED"]
    detail = detail_of(error, "ENCUMBERED")
    assert demo_freeze.authority in detail["message_zh"] and demo_freeze.document_number in detail["message_en"]
    operations.unfreeze(demo_freeze, "(2026)川1723执保17号之一")
    assert transfer().derived_from is frozen


@covers("ENCUMBERED")
def test_encumbered_a_frozen_homestead_is_not_leased(household, homestead_rights, organisation):
    holder = household(13)
    _, use = homestead_rights(holder)
    operations.freeze(use, "开江县人民法院", "(2026)川1723执保90号", "财产保全")
    refused("ENCUMBERED", operations.lease_use_right, use, organisation("company"), START, date(2036, 12, 31),
            mode="出租", rent="6000 元/年", applicant=holder, consents={"pledgee": True})


# --- TITLE-CLEAR -----------------------------------------------------------------------------------------------


@covers("TITLE-CLEAR")
def test_title_clear_the_applicant_must_hold_the_right(parcel_with_contract, household, organisation, split):
    held = parcel_with_contract()
    neighbour = household(1)
    assert neighbour is not held.household
    farm = organisation("family_farm")
    for applicant in (neighbour, farm):
        error = refused("TITLE-CLEAR", split, held, farm, START, date(2036, 12, 31), applicant=applicant)
        assert error.codes == ["TITLE-CLEAR"]
        assert "does not hold" in detail_of(error, "TITLE-CLEAR")["message_en"]
    assert split(held, farm, START, date(2036, 12, 31), applicant=held.household).active


@covers("TITLE-CLEAR")
def test_title_clear_an_ended_right_is_not_disposed_of(parcel_with_contract, organisation, split):
    farm, company, coop, bank = (organisation(k) for k in ("family_farm", "company", "cooperative", "bank"))
    both = {"contracting_household": True, "filed_with_collective": True}
    management = split(parcel_with_contract(), farm, START, date(2036, 12, 31))
    split(management, company, date(2028, 1, 1), date(2036, 12, 31), mode="转让")
    assert not management.active and management.end_reason == "transferred"
    error = refused("TITLE-CLEAR", split, management, coop, date(2028, 1, 1), date(2036, 12, 31))
    assert "ended" in detail_of(error, "TITLE-CLEAR")["message_en"]
    refused("TITLE-CLEAR", operations.pledge, management, bank, Decimal("10000"), date(2028, 1, 1),
            date(2030, 12, 31), contract_number="DY-T", applicant=farm, consents=both)


@covers("TITLE-CLEAR")
def test_title_clear_an_expired_right_is_not_disposed_of(parcel_with_contract, organisation, split):
    farm, company = organisation("family_farm"), organisation("company")
    expired = split(parcel_with_contract(), farm, date(2024, 1, 1), date(2025, 12, 31))
    assert expired.active  # nobody has run expire_rights yet, but its term is over
    error = refused("TITLE-CLEAR", split, expired, company, date(2025, 6, 1), date(2025, 12, 31))
    assert error.codes == ["TITLE-CLEAR"]
    assert "2025-12-31" in detail_of(error, "TITLE-CLEAR")["message_en"]


@covers("TITLE-CLEAR")
def test_title_clear_a_disputed_title_is_not_disposed_of(collective, organisation, resolution):
    from exchange.registry.models import AssetClass, CollectiveAsset

    owner = collective()
    asset = CollectiveAsset(code=f"{owner.division.code}-ZC901", name="争议仓库", collective=owner,
                            division=owner.division, asset_class=AssetClass.operating, category="仓库",
                            area_m2=Decimal("300"), book_value=Decimal("50000"), status="idle")
    ownership = operations.register_asset(asset, disputed=True)
    assert ownership.disputed
    error = refused("TITLE-CLEAR", operations.lease_collective_asset, asset, organisation("company"), START,
                    date(2031, 12, 31), rent="1 万元/年", resolution=resolution(30, 20))
    assert error.codes == ["TITLE-CLEAR"] and "disputed" in detail_of(error, "TITLE-CLEAR")["message_en"]


# --- DOUBLE-GRANT ----------------------------------------------------------------------------------------------


@covers("DOUBLE-GRANT")
def test_double_grant_contract_land_is_not_leased_twice_for_the_same_days(parcel_with_contract, organisation, split):
    farm, company, coop = organisation("family_farm"), organisation("company"), organisation("cooperative")
    held = parcel_with_contract()
    first = split(held, farm, START, date(2031, 12, 31))
    error = refused("DOUBLE-GRANT", split, held, company, date(2031, 12, 31), date(2036, 12, 31))  # one day shared
    assert error.codes == ["DOUBLE-GRANT"] and error.field == "start_date"
    detail = detail_of(error, "DOUBLE-GRANT")
    assert first.number in detail["message_zh"] and first.number in detail["message_en"]
    assert held.parcel.code in detail["message_en"] and "2027-01-01 to 2031-12-31" in detail["message_en"]
    after = split(held, company, date(2032, 1, 1), date(2036, 12, 31))  # the next day is free
    sublease = split(first, coop, date(2028, 1, 1), date(2029, 12, 31))  # carved out of the first: no double grant
    assert after.active and sublease.derived_from is first
    refused("DOUBLE-GRANT", split, first, company, date(2029, 12, 31), date(2030, 12, 31))  # but not twice


@covers("DOUBLE-GRANT")
def test_double_grant_an_assigned_management_right_still_holds_its_years(parcel_with_contract, organisation, split):
    farm, company = organisation("family_farm"), organisation("company")
    held = parcel_with_contract()
    first = split(held, farm, START, date(2036, 12, 31))
    assigned = split(first, company, date(2028, 1, 1), date(2036, 12, 31), mode="转让")
    assert not first.active  # the farm's right ended, the company's took its place for 2028–2036
    refused("DOUBLE-GRANT", split, held, farm, date(2030, 1, 1), date(2031, 12, 31))
    assert assigned.active


@covers("DOUBLE-GRANT")
def test_double_grant_a_contracted_parcel_is_not_contracted_again(parcel_with_contract, household):
    held = parcel_with_contract()
    other = household(1)
    error = refused("DOUBLE-GRANT", operations.grant_contract_right, held.parcel, [(other, Decimal(1))],
                    date(2030, 1, 1), date(2059, 12, 31), contract_number="CB-AGAIN")
    assert held.contract.number in detail_of(error, "DOUBLE-GRANT")["message_zh"]
    # the next round, from the day after the current contract ends, may be registered ahead
    after = operations.grant_contract_right(held.parcel, [(held.household, Decimal(1))], date(2058, 1, 1),
                                            date(2087, 12, 31), contract_number="CB-NEXT")
    assert after.active and held.contract.active


@covers("DOUBLE-GRANT")
def test_double_grant_is_seen_before_anything_is_flushed(collective, household):
    """A bulk import registers parcels and grants their contracts without flushing in between."""
    from exchange.registry.models import LandClass, Parcel

    first, second = household(0), household(1)
    model = db.session.scalars(select(Parcel).where(Parcel.collective_id == collective().id)).first()
    with db.session.no_autoflush:
        parcel = Parcel(code=f"{model.division.code}97777", name="导入地块", division=model.division,
                        collective=model.collective, area_m2=Decimal("900.00"), land_class=LandClass.arable,
                        land_use="1", basic_farmland=False, boundaries=model.boundaries, geometry=model.geometry)
        operations.register_asset(parcel)
        operations.grant_contract_right(parcel, [(first, Decimal(1))], date(1998, 1, 1), CONTRACT_END,
                                        contract_number="CB-IMPORT-1")
        assert parcel.id is None
        refused("DOUBLE-GRANT", operations.grant_contract_right, parcel, [(second, Decimal(1))], date(2020, 1, 1),
                CONTRACT_END, contract_number="CB-IMPORT-2")


@covers("DOUBLE-GRANT")
def test_double_grant_a_homestead_is_not_allocated_to_a_second_household(household, homestead_rights, new_household,
                                                                         new_homestead):
    qualification, use = homestead_rights(household(4))
    error = refused("DOUBLE-GRANT", operations.allocate_homestead, qualification.homestead, new_household(3))
    assert error.codes == ["DOUBLE-GRANT"]
    assert qualification.number in detail_of(error, "DOUBLE-GRANT")["message_en"]
    homestead, first, second = new_homestead("80.00"), new_household(3), new_household(3)
    operations.allocate_homestead(homestead, first)
    refused("DOUBLE-GRANT", operations.allocate_homestead, homestead, second)


@covers("DOUBLE-GRANT")
def test_double_grant_a_house_is_not_leased_twice_for_the_same_days(household, homestead_rights, organisation,
                                                                   person_factory):
    holder = household(7)
    _, use = homestead_rights(holder)
    lease = functools.partial(operations.lease_use_right, use, rent="6000 元/年", applicant=holder)
    first = lease(organisation("cooperative"), START, date(2036, 12, 31), mode="合作")
    error = refused("DOUBLE-GRANT", lease, person_factory(name="城镇居民"), date(2030, 1, 1), date(2031, 12, 31),
                    mode="出租")
    assert first.number in detail_of(error, "DOUBLE-GRANT")["message_zh"]
    assert lease(person_factory(name="城镇居民"), date(2037, 1, 1), date(2040, 12, 31), mode="出租").active


@covers("DOUBLE-GRANT")
def test_double_grant_a_collective_asset_is_not_leased_or_granted_twice(collective_asset, organisation, resolution):
    company, coop = organisation("company"), organisation("cooperative")
    school, site = collective_asset("闲置校舍"), collective_asset("经营性建设用地")
    lease = functools.partial(operations.lease_collective_asset, school, rent="8 万元/年", resolution=resolution(30, 20))
    lease(company, START, date(2036, 12, 31))
    refused("DOUBLE-GRANT", lease, coop, date(2036, 12, 31), date(2040, 12, 31))
    assert lease(coop, date(2037, 1, 1), date(2040, 12, 31)).active
    grant = functools.partial(operations.grant_construction_use, site, price="1", resolution=resolution(30, 20))
    granted = grant(company, START, date(2066, 12, 31), mode="出让")
    refused("DOUBLE-GRANT", grant, coop, date(2030, 1, 1), date(2039, 12, 31), mode="出租")  # leasing what it granted
    refused("DOUBLE-GRANT", operations.lease_collective_asset, site, coop, date(2030, 1, 1), date(2039, 12, 31),
            rent="1", resolution=resolution(30, 20))
    # the grantee may lease out its own use right
    sublease = operations.lease_use_right(granted, coop, date(2030, 1, 1), date(2039, 12, 31), mode="出租",
                                          rent="12 万元/年", applicant=company)
    assert sublease.derived_from is granted


# --- SHARES-SUM ------------------------------------------------------------------------------------------------


@covers("SHARES-SUM")
@pytest.mark.parametrize("shares", [("0.5", "0.4"), ("0.5", "0.6"), ("0.3", "0.3", "0.3")])
def test_shares_sum_co_holders_shares_must_sum_to_one(new_parcel, household, shares):
    holders = [(household(i), Decimal(s)) for i, s in enumerate(shares)]
    error = refused("SHARES-SUM", operations.grant_contract_right, new_parcel(), holders, date(2026, 1, 1),
                    CONTRACT_END, contract_number="CB-S")
    assert error.codes == ["SHARES-SUM"]
    total = sum((Decimal(s) for s in shares), Decimal(0)).normalize()
    assert f"not {total}" in detail_of(error, "SHARES-SUM")["message_en"]


@pytest.mark.parametrize("shares", [("0.5", "0.5"), ("0.25", "0.25", "0.5"), ("1",)])
def test_shares_sum_to_exactly_one_passes(new_parcel, household, shares):
    holders = [(household(i), Decimal(s)) for i, s in enumerate(shares)]
    right = operations.grant_contract_right(new_parcel(), holders, date(2026, 1, 1), CONTRACT_END,
                                            contract_number="CB-S")
    assert [h.share for h in right.holders] == [Decimal(s) for s in shares]
    assert [h.household for h in right.holders] == [h for h, _ in holders]


@covers("SHARES-SUM")
def test_shares_sum_a_correction_of_the_holders_is_checked_too(parcel_with_contract, household):
    held = parcel_with_contract()
    other = household(1)
    refused("SHARES-SUM", operations.correct_registration, held.contract,
            {"holders": [(held.household, Decimal("0.5")), (other, Decimal("0.4"))]}, "补录共有人")
    assert held.contract.active
    new = operations.correct_registration(held.contract, {"holders": [(held.household, Decimal("0.5")),
                                                                     (other, Decimal("0.5"))]}, "补录共有人")
    assert sorted(h.share for h in new.holders) == [Decimal("0.5"), Decimal("0.5")]


# --- several rules at once, and the list of rules ---------------------------------------------------------------


def test_a_proposal_failing_several_rules_reports_all_their_codes(parcel_with_contract, organisation, split,
                                                                  art40_contract):
    held = parcel_with_contract()
    contract = art40_contract()
    del contract["liability"]
    with pytest.raises(RuleViolations) as info:
        split(held, organisation("company"), START, date(2058, 6, 30), permitted_use="5", contract=contract,
              consents={}, register=False, mode="入股")
    error = info.value
    expected = ["LAND-AGRI-USE", "LAND-TERM", "LAND-FILING", "LAND-WRITTEN", "LAND-REGISTER-5Y"]
    assert sorted(error.codes) == sorted(expected)
    assert error.code == "RULES" and error.status == 422
    assert [d["code"] for d in error.details] == error.codes
    for code in expected:
        assert code in error.message_zh and code in error.message_en
        assert detail_of(error, code)["citation"] == RULE[code].citation
    assert isinstance(error, DomainError)


def test_rule_codes_are_unique_and_each_rule_is_complete():
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    for r in RULES:
        assert r.citation.strip() and r.message_zh.strip() and r.message_en.strip() and r.actions, r.code
        # a message is Chinese text, or filled in whole by the rule (reason_zh / reason_en)
        assert any("\u4e00" <= c <= "\u9fff" for c in r.message_zh) or \
            (r.message_zh, r.message_en) == ("{reason_zh}", "{reason_en}"), r.code


def test_every_rule_applies_to_an_action_an_operation_proposes():
    import inspect
    import re

    proposed = set(re.findall(r'Proposal\(\s*"([a-z_]+)"', inspect.getsource(operations)))
    assert proposed  # the pattern still finds the operations' proposals
    for r in RULES:
        assert r.actions <= proposed, (r.code, r.actions - proposed)


def test_every_rule_has_a_test():
    assert sorted(COVERED) == sorted(r.code for r in RULES)

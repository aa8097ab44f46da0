"""Registry operations: what a refusal leaves (nothing), what a success writes (one ledger entry naming the
asset and the right, with no clear resident ID, and a registry event pointing at it), and the lifecycle of
rights: transfer, re-transfer, pledge and release, freeze and unfreeze, expiry and correction.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable

import pytest
from flask import current_app
from sqlalchemy import select

from exchange.db import db
from exchange.errors import DomainError
from exchange.identifiers import IdentifierError, validate_resident_id
from exchange.registry import operations
from exchange.registry.models import Parcel, Person, RegistryEvent, Right, RightType
from exchange.registry.rules import RuleViolations

START = date(2027, 1, 1)
TEN_YEARS = date(2036, 12, 31)
CONTRACT_END = date(2057, 12, 31)
BOTH = {"contracting_household": True, "filed_with_collective": True}


class Fx:
    """The registry fixtures in one place, for scenario functions."""

    def __init__(self, request) -> None:
        for name in ("parcel_with_contract", "household", "organisation", "split", "new_parcel", "new_homestead",
                     "new_household", "homestead_rights", "collective_asset", "resolution", "person_factory",
                     "ownership"):
            setattr(self, name, request.getfixturevalue(name))

    def management(self, **overrides) -> Right:
        """A fresh management right of the family farm, 2027–2036, split off a demo household's contract right."""
        return self.split(self.parcel_with_contract(), self.organisation("family_farm"), START, TEN_YEARS, **overrides)

    def pledged(self):
        right = self.management()
        return operations.pledge(right, self.organisation("bank"), Decimal("80000"), date(2027, 3, 1),
                                 date(2030, 2, 28), contract_number="DY-OPS", applicant=right.holders[0].holder,
                                 consents=BOTH)

    def frozen(self):
        right = self.management()
        return operations.freeze(right, "开江县人民法院", "(2026)川1723执保101号", "财产保全")


@pytest.fixture
def fx(request) -> Fx:
    return Fx(request)


# --- refusals change nothing -------------------------------------------------------------------------------------

REFUSALS: dict[str, tuple[str, Callable[[Fx], Callable[[], Any]]]] = {
    # name: (code, setup → the refused call). The setup may write; the snapshot is taken after it.
    "transfer, non-agricultural use": ("LAND-AGRI-USE", lambda fx: lambda: fx.split(
        fx.parcel_with_contract(), fx.organisation("company"), START, TEN_YEARS, permitted_use="5")),
    "transfer, end before start": ("TERM-ORDER", lambda fx: lambda: fx.split(
        fx.parcel_with_contract(), fx.organisation("company"), START, date(2026, 12, 31))),
    "transfer of an ownership right": ("RIGHT-TYPE", lambda fx: (lambda own: lambda: fx.split(
        own, fx.organisation("company"), START, TEN_YEARS))(fx.ownership(fx.parcel_with_contract().parcel))),
    "re-transfer 转让 without consent": ("LAND-RETRANSFER", lambda fx: (lambda m: lambda: fx.split(
        m, fx.organisation("company"), START, TEN_YEARS, mode="转让", consents={}))(fx.management())),
    "re-transfer 转让 of a pledged right": ("ENCUMBERED", lambda fx: (lambda e: lambda: fx.split(
        e.right, fx.organisation("company"), START, TEN_YEARS, mode="转让"))(fx.pledged())),
    "contract, shares 0.9": ("SHARES-SUM", lambda fx: (lambda p: lambda: operations.grant_contract_right(
        p, [(fx.household(0), Decimal("0.5")), (fx.household(1), Decimal("0.4"))], START, CONTRACT_END,
        contract_number="CB-X"))(fx.new_parcel())),
    "contract to an outsider": ("LAND-OUTSIDER-CONTRACT", lambda fx: (lambda p: lambda: operations.grant_contract_right(
        p, [(fx.household(0, village="511723101200"), Decimal(1))], START, CONTRACT_END,
        contract_number="CB-X"))(fx.new_parcel())),
    "second homestead": ("HOMESTEAD-ONE", lambda fx: (lambda h: lambda: operations.allocate_homestead(
        h, fx.household(0)))(fx.new_homestead())),
    "homestead sold": ("HOMESTEAD-NO-SALE", lambda fx: (lambda buyer: lambda: operations.lease_use_right(
        fx.homestead_rights(fx.household(0))[1], buyer, START, TEN_YEARS, mode="出售", rent="1",
        applicant=fx.household(0)))(fx.person_factory())),
    "construction land without resolution": ("COLLECTIVE-2-3", lambda fx: lambda: operations.grant_construction_use(
        fx.collective_asset("经营性建设用地"), fx.organisation("company"), START, date(2066, 12, 31), mode="出让",
        price="1", resolution=None)),
    "asset lease of 25 years": ("LEASE-20Y", lambda fx: lambda: operations.lease_collective_asset(
        fx.collective_asset("闲置校舍"), fx.organisation("company"), START, date(2051, 12, 31), rent="1",
        resolution=fx.resolution(30, 20))),
    "pledge of a homestead": ("NO-PLEDGE", lambda fx: lambda: operations.pledge(
        fx.homestead_rights(fx.household(0))[1], fx.organisation("bank"), Decimal("1000"), START, TEN_YEARS,
        contract_number="DY-X")),
    "pledge of nothing": ("AMOUNT", lambda fx: (lambda m: lambda: operations.pledge(
        m, fx.organisation("bank"), Decimal("0"), START, TEN_YEARS, contract_number="DY-X",
        consents=BOTH))(fx.management())),
    "pledge released twice": ("ALREADY-RELEASED", lambda fx: (lambda e: (
        operations.release_pledge(e, "结清"), lambda: operations.release_pledge(e, "再次"))[1])(fx.pledged())),
    "freeze lifted twice": ("ALREADY-LIFTED", lambda fx: (lambda f: (
        operations.unfreeze(f, "解封"), lambda: operations.unfreeze(f, "再次"))[1])(fx.frozen())),
    "freeze without a document": ("REQUIRED", lambda fx: (lambda m: lambda: operations.freeze(
        m, "开江县人民法院", "  ", "财产保全"))(fx.management())),
    "correction without a reason": ("REASON-REQUIRED", lambda fx: (lambda m: lambda: operations.correct_registration(
        m, {"end_date": date(2035, 12, 31)}, "  "))(fx.management())),
    "correction of the number": ("NOT-CORRECTABLE", lambda fx: (lambda m: lambda: operations.correct_registration(
        m, {"number": "JY-OTHER"}, "录入错误"))(fx.management())),
    "correction, end before start": ("TERM-ORDER", lambda fx: (lambda m: lambda: operations.correct_registration(
        m, {"end_date": date(2026, 1, 1)}, "录入错误"))(fx.management())),
    "lease_use_right of a contract right": ("RIGHT-TYPE", lambda fx: (lambda held: lambda: operations.lease_use_right(
        held.contract, fx.organisation("company"), START, TEN_YEARS, mode="出租", rent="1",
        applicant=held.household))(fx.parcel_with_contract())),
    "a house leased twice": ("DOUBLE-GRANT", lambda fx: (lambda use: (operations.lease_use_right(
        use, fx.organisation("cooperative"), START, TEN_YEARS, mode="合作", rent="1", applicant=fx.household(0)),
        lambda: operations.lease_use_right(use, fx.organisation("company"), START, TEN_YEARS, mode="出租", rent="1",
                                           applicant=fx.household(0)))[1])(fx.homestead_rights(fx.household(0))[1])),
    "correction of an ended right": ("RIGHT-ENDED", lambda fx: (lambda m: (
        operations.correct_registration(m, {"permitted_use": "2"}, "录入错误"),
        lambda: operations.correct_registration(m, {"permitted_use": "3"}, "录入错误"))[1])(fx.management())),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_refusal_changes_nothing_and_writes_nothing(fx, snapshot, name):
    code, setup = REFUSALS[name]
    refused_call = setup(fx)
    before = snapshot()
    with pytest.raises(DomainError) as info:
        refused_call()
    error = info.value
    assert code in (error.codes if isinstance(error, RuleViolations) else [error.code])
    assert error.message_zh.strip() and error.message_en.strip()
    assert snapshot() == before


# --- every success: one ledger entry, naming the asset and the right, and an event pointing at it --------------


@dataclass
class Done:
    asset: Any
    right: Right  # the right the entry is about
    index: int  # the ledger index the operation reports
    kind: str
    persons: list[Person] = field(default_factory=list)  # whose resident IDs must not appear in clear


def _members(right: Right) -> list[Person]:
    people = []
    for holder in right.holders:
        if holder.household is not None:
            people.extend(holder.household.members)
        if holder.person is not None:
            people.append(holder.person)
    return people


def _do_register(fx):
    model = fx.parcel_with_contract().parcel
    parcel = Parcel(code=f"{model.division.code}98888", name="新增地块", division=model.division,
                    collective=model.collective, area_m2=Decimal("800.00"), land_class=model.land_class, land_use="1",
                    basic_farmland=False, boundaries=model.boundaries, geometry=model.geometry)

    def run():
        right = operations.register_asset(parcel, data={"source": "补充登记"})
        return Done(parcel, right, right.ledger_index, "registration")
    return run


def _do_grant(fx):
    parcel, holder = fx.new_parcel(), fx.household(5)

    def run():
        right = operations.grant_contract_right(parcel, [(holder, Decimal(1))], date(2026, 1, 1), CONTRACT_END,
                                                contract_number="CB-NEW-1")
        return Done(parcel, right, right.ledger_index, "registration", _members(right))
    return run


def _do_transfer(fx):
    held = fx.parcel_with_contract()

    def run():
        right = fx.split(held, fx.organisation("family_farm"), START, TEN_YEARS)
        return Done(held.parcel, right, right.ledger_index, "transfer", _members(held.contract))
    return run


def _do_retransfer(fx):
    source = fx.management()

    def run():
        right = fx.split(source, fx.organisation("company"), date(2028, 1, 1), TEN_YEARS, mode="转让")
        return Done(source.parcel, right, right.ledger_index, "transfer", _members(source.derived_from))
    return run


def _do_lease_house_to_person(fx):
    holder = fx.household(6)
    _, use = fx.homestead_rights(holder)
    lessee = fx.person_factory(name="城镇居民")

    def run():
        right = operations.lease_use_right(use, lessee, START, TEN_YEARS, mode="出租", rent="6000 元/年",
                                           applicant=holder)
        return Done(use.homestead, right, right.ledger_index, "transfer", [lessee, *holder.members])
    return run


def _do_construction(fx):
    site = fx.collective_asset("经营性建设用地")

    def run():
        right = operations.grant_construction_use(site, fx.organisation("company"), START, date(2066, 12, 31),
                                                  mode="出让", price="300 万元", resolution=fx.resolution(30, 20))
        return Done(site, right, right.ledger_index, "transfer")
    return run


def _do_asset_lease(fx):
    school = fx.collective_asset("闲置校舍")

    def run():
        right = operations.lease_collective_asset(school, fx.organisation("company"), START, TEN_YEARS,
                                                  rent="8 万元/年", resolution=fx.resolution(30, 20))
        return Done(school, right, right.ledger_index, "transfer")
    return run


def _do_pledge(fx):
    held = fx.parcel_with_contract()

    def run():
        encumbrance = operations.pledge(held.contract, fx.organisation("bank"), Decimal("60000"), START, TEN_YEARS,
                                        contract_number="DY-CB-1", applicant=held.household)
        return Done(held.parcel, held.contract, encumbrance.ledger_index, "pledge", _members(held.contract))
    return run


def _do_release(fx):
    encumbrance = fx.pledged()

    def run():
        index = operations.release_pledge(encumbrance, "贷款已结清")
        return Done(encumbrance.right.parcel, encumbrance.right, index, "release")
    return run


def _do_freeze(fx):
    held = fx.parcel_with_contract()

    def run():
        item = operations.freeze(held.contract, "开江县人民法院", "(2026)川1723执保102号", "财产保全")
        return Done(held.parcel, held.contract, item.ledger_index, "freeze", _members(held.contract))
    return run


def _do_unfreeze(fx):
    item = fx.frozen()

    def run():
        index = operations.unfreeze(item, "(2026)川1723执保101号之一")
        return Done(item.right.parcel, item.right, index, "unfreeze")
    return run


def _do_correct(fx):
    held = fx.parcel_with_contract()

    def run():
        right = operations.correct_registration(held.contract, {"end_date": date(2056, 12, 31)}, "合同录入错误")
        return Done(held.parcel, right, right.ledger_index, "correction", _members(right))
    return run


SUCCESSES = {
    "register_asset": _do_register, "grant_contract_right": _do_grant, "transfer_management_right": _do_transfer,
    "re-transfer 转让": _do_retransfer, "lease_use_right to a person": _do_lease_house_to_person,
    "grant_construction_use": _do_construction, "lease_collective_asset": _do_asset_lease, "pledge": _do_pledge,
    "release_pledge": _do_release, "freeze": _do_freeze, "unfreeze": _do_unfreeze,
    "correct_registration": _do_correct,
}
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def assert_no_clear_resident_id(text: str, persons: list[Person]) -> None:
    pii = current_app.extensions["pii"]
    for person in persons:
        clear = pii.decrypt(person.id_number_encrypted)
        assert clear not in text, f"{person.name}'s resident ID is in the entry in clear"
    for candidate in RESIDENT_ID.findall(text):
        with pytest.raises(IdentifierError):
            validate_resident_id(candidate)  # an 18-character code in the entry is no valid resident ID


def assert_entry_about(entry: dict, index: int, asset, right: Right, kind: str) -> None:
    subject = {"type": operations.ASSET_SUBJECT[type(asset)], "id": asset.code}
    assert entry["kind"] == kind
    assert subject in entry["subjects"] and {"type": "right", "id": right.number} in entry["subjects"]
    assert entry["data"]["right"] == right.number
    assert entry["actor"]["role"]
    event = db.session.scalar(select(RegistryEvent).where(RegistryEvent.ledger_index == index))
    assert event is not None, f"no registry event points at ledger index {index}"
    assert event.kind == kind and event.right_id == right.id
    asset_column = {"parcel": event.parcel_id, "homestead": event.homestead_id, "collective_asset": event.asset_id}
    assert asset_column[subject["type"]] == asset.id


@pytest.mark.parametrize("name", list(SUCCESSES))
def test_a_success_appends_one_entry_naming_asset_and_right(fx, ledger_size, ledger_entries, snapshot, name):
    run = SUCCESSES[name](fx)  # set up what the operation needs
    snapshot()  # flush it
    before = ledger_size()
    done = run()
    db.session.flush()
    assert ledger_size() == before + 1
    assert done.index == before
    [(index, entry)] = ledger_entries(before, before + 1)
    assert_entry_about(entry, index, done.asset, done.right, done.kind)
    assert_no_clear_resident_id(json.dumps(entry, ensure_ascii=False), done.persons)


def test_the_entry_of_a_lease_to_a_person_names_them_by_keyed_hash_and_masked_id(fx, ledger_entries, ledger_size):
    done = _do_lease_house_to_person(fx)()
    [(_, entry)] = ledger_entries(ledger_size() - 1, ledger_size())
    lessee = done.persons[0]
    [holder] = entry["data"]["holders"]
    assert holder == {"type": "person", "id_hash": lessee.id_number_hash, "id_masked": lessee.id_number_masked,
                      "share": "1"}
    assert "********" in holder["id_masked"] and lessee.clear_id not in str(entry)


def test_allocate_homestead_appends_two_entries_qualification_then_use(fx, ledger_size, ledger_entries, snapshot):
    homestead = fx.new_homestead("80.00")
    household = fx.new_household(3)
    snapshot()
    before = ledger_size()
    qualification, use = operations.allocate_homestead(homestead, household)
    assert ledger_size() == before + 2
    (i1, first), (i2, second) = ledger_entries(before, before + 2)
    assert (qualification.ledger_index, use.ledger_index) == (i1, i2) == (before, before + 1)
    assert_entry_about(first, i1, homestead, qualification, "registration")
    assert_entry_about(second, i2, homestead, use, "registration")
    assert first["data"]["right_type"] == "qualification" and second["data"]["right_type"] == "homestead_use"
    assert second["data"]["derived_from"] == qualification.number
    assert first["data"]["holders"] == [{"type": "household", "id": household.code, "share": "1"}]
    assert_no_clear_resident_id(str([first, second]), household.members)


# --- the lifecycle of rights ----------------------------------------------------------------------------------------


def test_a_management_transfer_keeps_the_contract_right_and_derives_from_it(fx):
    held = fx.parcel_with_contract()
    farm = fx.organisation("family_farm")
    management = fx.split(held, farm, START, TEN_YEARS)
    db.session.flush()
    assert held.contract.active and held.contract.end_reason is None
    assert [h.household for h in held.contract.holders] == [held.household]
    assert management.derived_from_id == held.contract.id and management.right_type == RightType.management
    assert [h.organisation for h in management.holders] == [farm]
    assert management.number.startswith(f"JY{held.parcel.code}-")
    assert (management.start_date, management.end_date, management.mode, management.permitted_use) == \
        (START, TEN_YEARS, "出租", "1")
    active = {r.right_type for r in operations.active_rights(held.parcel)}
    assert active == {RightType.ownership, RightType.contract, RightType.management}


def test_a_转让_re_transfer_ends_the_source_and_a_sublease_does_not(fx):
    company, coop = fx.organisation("company"), fx.organisation("cooperative")
    source = fx.management()
    sublease = fx.split(source, coop, date(2028, 1, 1), date(2030, 12, 31), mode="出租")
    assert source.active and sublease.derived_from is source
    assigned = fx.split(source, company, date(2031, 1, 1), TEN_YEARS, mode="转让")
    db.session.flush()
    assert not source.active and source.end_reason == "transferred" and source.ended_at is not None
    assert assigned.derived_from_id == source.id and assigned.active
    assert source.derived_from.active  # the household keeps its contract right


def test_release_pledge_twice_the_second_is_refused(fx, ledger_size):
    encumbrance = fx.pledged()
    right = encumbrance.right
    assert right.active_pledges() == [encumbrance]
    index = operations.release_pledge(encumbrance, "贷款已结清")
    assert encumbrance.released_at is not None and right.active_pledges() == []
    size = ledger_size()
    assert index == size - 1
    with pytest.raises(DomainError) as info:
        operations.release_pledge(encumbrance, "再次解押")
    assert info.value.code == "ALREADY-RELEASED" and info.value.status == 409
    assert ledger_size() == size


def test_unfreeze_lifts_the_freeze_and_the_right_can_move_again(fx, ledger_entries):
    item = fx.frozen()
    right = item.right
    assert right.active_freezes() == [item]
    with pytest.raises(RuleViolations):
        fx.split(right, fx.organisation("company"), date(2028, 1, 1), TEN_YEARS)
    index = operations.unfreeze(item, "(2026)川1723执保101号之一")
    assert item.lifted_at is not None and right.active_freezes() == []
    [(_, entry)] = ledger_entries(index, index + 1)
    assert entry["data"]["freeze_entry"] == item.ledger_index and entry["data"]["freeze"] == item.id
    assert fx.split(right, fx.organisation("company"), date(2028, 1, 1), TEN_YEARS).derived_from is right
    with pytest.raises(DomainError) as info:
        operations.unfreeze(item, "再次")
    assert info.value.code == "ALREADY-LIFTED"


def test_expire_rights_ends_the_rights_whose_term_has_passed(fx, ledger_size, ledger_entries, snapshot):
    farm = fx.organisation("family_farm")
    ended = fx.split(fx.parcel_with_contract(), farm, date(2024, 1, 1), date(2026, 6, 30))
    last_day = fx.split(fx.parcel_with_contract(), farm, date(2024, 1, 1), date(2026, 7, 1))
    snapshot()
    before = ledger_size()
    due = operations.expire_rights(date(2026, 7, 1))
    assert due == [ended]
    assert not ended.active and ended.end_reason == "expired"
    assert last_day.active  # 2026-07-01 is still within its term
    assert ledger_size() == before + 1
    [(index, entry)] = ledger_entries(before, before + 1)
    assert_entry_about(entry, index, ended.parcel, ended, "expiry")
    assert entry["data"]["end"] == "2026-06-30"
    # once is enough: nothing is due any more on the same day
    assert operations.expire_rights(date(2026, 7, 1)) == [] and ledger_size() == before + 1
    # the next day the other one goes
    assert operations.expire_rights(date(2026, 7, 2)) == [last_day]


def test_correct_registration_supersedes_the_old_right(fx, ledger_size, ledger_entries):
    old = fx.management()
    db.session.flush()  # registered earlier (see the next test for a correction in the same transaction)
    before = ledger_size()
    new = operations.correct_registration(old, {"end_date": date(2035, 12, 31), "permitted_use": "2"},
                                          "合同约定期限录入错误")
    db.session.flush()
    assert not old.active and old.end_reason == "corrected"
    assert new.active and new.supersedes_id == old.id and new.number != old.number
    assert (new.right_type, new.start_date, new.end_date, new.permitted_use, new.mode) == \
        (RightType.management, START, date(2035, 12, 31), "2", "出租")
    assert new.derived_from_id == old.derived_from_id and new.terms == old.terms
    assert [h.organisation for h in new.holders] == [h.organisation for h in old.holders]
    [(index, entry)] = ledger_entries(before, before + 1)
    assert_entry_about(entry, index, old.parcel, new, "correction")
    assert entry["data"]["supersedes"] == old.number and entry["data"]["reason"] == "合同约定期限录入错误"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_correct_registration_needs_a_reason(fx, reason):
    old = fx.management()
    with pytest.raises(DomainError) as info:
        operations.correct_registration(old, {"end_date": date(2035, 12, 31)}, reason)
    assert info.value.code == "REASON-REQUIRED" and info.value.field == "reason"
    assert old.active


@pytest.mark.parametrize("fields", [{"number": "X"}, {"right_type": RightType.lease}, {"disputed": True},
                                    {"end_date": date(2035, 1, 1), "parcel_id": 1}])
def test_correct_registration_refuses_unknown_fields(fx, fields):
    old = fx.management()
    with pytest.raises(DomainError) as info:
        operations.correct_registration(old, fields, "录入错误")
    unknown = sorted(set(fields) - operations.CORRECTABLE)
    assert info.value.code == "NOT-CORRECTABLE" and info.value.field == unknown[0]
    assert all(name in info.value.message_en for name in unknown)
    assert old.active


TERM_ORDER_CALLS = {
    "transfer_management_right": lambda fx, s, e: fx.split(fx.parcel_with_contract(), fx.organisation("company"), s, e),
    "grant_contract_right": lambda fx, s, e: operations.grant_contract_right(
        fx.new_parcel(), [(fx.household(0), Decimal(1))], s, e, contract_number="CB-T"),
    "lease_use_right": lambda fx, s, e: operations.lease_use_right(
        fx.homestead_rights(fx.household(0))[1], fx.organisation("company"), s, e, mode="出租", rent="1",
        applicant=fx.household(0)),
    "grant_construction_use": lambda fx, s, e: operations.grant_construction_use(
        fx.collective_asset("经营性建设用地"), fx.organisation("company"), s, e, mode="出让", price="1",
        resolution=fx.resolution(30, 20)),
    "lease_collective_asset": lambda fx, s, e: operations.lease_collective_asset(
        fx.collective_asset("闲置校舍"), fx.organisation("company"), s, e, rent="1", resolution=fx.resolution(30, 20)),
    "pledge": lambda fx, s, e: operations.pledge(fx.management(), fx.organisation("bank"), Decimal("1000"), s, e,
                                                 contract_number="DY-T", consents=BOTH),
    "correct_registration": lambda fx, s, e: operations.correct_registration(
        fx.management(), {"start_date": s, "end_date": e}, "录入错误"),
}


@pytest.mark.parametrize("end", [date(2028, 1, 1), date(2027, 12, 31)], ids=["end equals start", "end before start"])
@pytest.mark.parametrize("name", list(TERM_ORDER_CALLS))
def test_term_order_the_end_must_come_after_the_start(fx, name, end):
    with pytest.raises(DomainError) as info:
        TERM_ORDER_CALLS[name](fx, date(2028, 1, 1), end)
    assert info.value.code == "TERM-ORDER" and info.value.field == "end_date"
    assert str(end) in info.value.message_zh and str(end) in info.value.message_en


def test_term_order_refusal_writes_nothing(fx, snapshot):
    held = fx.parcel_with_contract()
    before = snapshot()
    with pytest.raises(DomainError):
        fx.split(held, fx.organisation("company"), START, START)
    assert snapshot() == before and held.contract.active


# --- found while writing these tests (bugs, now fixed) -------------------------------------------------------------


def test_a_correction_in_the_same_transaction_still_points_at_the_old_right(fx):
    old = fx.management()  # not flushed yet: an import or a CLI command doing both in one unit of work
    new = operations.correct_registration(old, {"end_date": date(2035, 12, 31)}, "录入错误")
    db.session.flush()
    assert old.id is not None and new.supersedes_id == old.id


@pytest.mark.parametrize("burden", ["freeze", "pledge"])
def test_a_correction_does_not_shake_off_a_freeze_or_a_pledge(fx, burden):
    item = fx.frozen() if burden == "freeze" else fx.pledged()
    right = item.right
    try:
        new = operations.correct_registration(right, {"permitted_use": "2"}, "用途录入错误")
    except DomainError:
        return  # refusing the correction is as good as carrying the burden over
    with pytest.raises(RuleViolations) as info:
        fx.split(new, fx.organisation("company"), date(2028, 1, 1), TEN_YEARS)  # no pledgee consent
    assert "ENCUMBERED" in info.value.codes


def test_a_correction_carries_the_pledge_over_and_the_bank_releases_it_on_the_new_right(fx, ledger_entries):
    encumbrance = fx.pledged()
    old = encumbrance.right
    new = operations.correct_registration(old, {"permitted_use": "2"}, "用途录入错误")
    db.session.flush()
    assert encumbrance.right is new and new.active_pledges() == [encumbrance] and old.active_pledges() == []
    [(_, entry)] = ledger_entries(new.ledger_index, new.ledger_index + 1)
    assert entry["data"]["pledges"] == [{"encumbrance": encumbrance.id, "pledge_entry": encumbrance.ledger_index}]
    assert "freezes" not in entry["data"]
    index = operations.release_pledge(encumbrance, "贷款已结清")
    [(_, release)] = ledger_entries(index, index + 1)
    assert release["data"]["right"] == new.number and new.active_pledges() == []
    assert fx.split(new, fx.organisation("company"), date(2028, 1, 1), TEN_YEARS).derived_from is new


@pytest.mark.parametrize("source", ["contract right", "ownership of a collective asset"])
def test_lease_use_right_only_leases_homestead_and_construction_land_use_rights(fx, source):
    company = fx.organisation("company")
    if source == "contract right":
        held = fx.parcel_with_contract()
        right, applicant = held.contract, held.household
    else:
        right, applicant = fx.ownership(fx.collective_asset("闲置校舍")), None
    with pytest.raises(DomainError) as info:
        # a non-agricultural lease of contract land, or a collective asset leased without any resolution
        operations.lease_use_right(right, company, START, TEN_YEARS, mode="出租", rent="1", applicant=applicant,
                                   use="5")
    assert info.value.code == "RIGHT-TYPE" and info.value.field == "right"


DOUBLE = {
    "a homestead allocated to a second household": lambda fx: (
        lambda homestead: lambda: operations.allocate_homestead(homestead, fx.new_household(5)))(
        fx.homestead_rights(fx.household(0))[0].homestead),
    "a contracted parcel contracted to another household": lambda fx: (
        lambda held: lambda: operations.grant_contract_right(
            held.parcel, [(fx.household(1), Decimal(1))], START, CONTRACT_END, contract_number="CB-TWICE"))(
        fx.parcel_with_contract()),
    "the idle school leased twice for the same years": lambda fx: (
        lambda school: (operations.lease_collective_asset(school, fx.organisation("company"), START, TEN_YEARS,
                                                          rent="8 万元/年", resolution=fx.resolution(30, 20)),
                        lambda: operations.lease_collective_asset(school, fx.organisation("cooperative"), START,
                                                                  TEN_YEARS, rent="9 万元/年",
                                                                  resolution=fx.resolution(30, 20)))[1])(
        fx.collective_asset("闲置校舍")),
    "contract land leased twice for the same years": lambda fx: (
        lambda held: (fx.split(held, fx.organisation("family_farm"), START, TEN_YEARS),
                      lambda: fx.split(held, fx.organisation("company"), START, TEN_YEARS))[1])(
        fx.parcel_with_contract()),
}


@pytest.mark.parametrize("case", list(DOUBLE))
def test_an_asset_is_not_given_twice(fx, snapshot, case):
    second = DOUBLE[case](fx)
    before = snapshot()
    with pytest.raises(DomainError) as info:
        second()
    assert info.value.codes == ["DOUBLE-GRANT"]
    assert snapshot() == before

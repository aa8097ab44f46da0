"""Factories for the rights registry's rules and operations, built on the demo dataset.

Every test here runs inside the per-test transaction of ``connection`` (rolled back at its end) and inside a
request context (``app_ctx``), so operations can be called directly and everything they write disappears.
The demo county (开江县) has 9 village collectives, 14 households per group with 7 contracted parcels each
(contracts 1998-01-01 … 2057-12-31), a homestead allocated to every household, and the organisations
bank / family_farm / company / cooperative. Its two example transactions (a pledged management right and a
frozen contract right) are left alone by ``parcel_with_contract``.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from exchange.db import db
from exchange.identifiers import mask_resident_id, resident_id_check_char
from exchange.ledger_app import service
from exchange.registry import operations
from exchange.registry.models import (
    Collective, CollectiveAsset, Encumbrance, Freeze, Homestead, Household, LandClass, Organisation,
    OrganisationKind, Parcel, Person, RegistryEvent, Right, RightHolder, RightType,
)
from ledger import entry as ledger_entry

DEMO_VILLAGE = "511723100200"  # 金山村
OTHER_VILLAGE = "511723101200"  # 石桥村 (普安镇): a different collective
ART40_KEYS = ("parties", "parcel", "term", "use", "rights_duties", "price_payment", "expropriation", "liability")

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _in_request(app_ctx):
    """Every registry test calls operations directly: it needs db.session inside the rolled-back transaction."""
    yield app_ctx


@dataclass
class Contracted:
    parcel: Parcel
    contract: Right
    household: Household


# --- people and organisations ------------------------------------------------------------------------------


def _collective_of_village(village_code: str) -> Collective:
    return db.session.scalar(select(Collective).where(Collective.division.has(code=village_code)))


@pytest.fixture
def collective():
    """collective(village_code=金山村) → the demo village collective."""
    def make(village_code: str = DEMO_VILLAGE) -> Collective:
        found = _collective_of_village(village_code)
        assert found is not None, village_code
        return found
    return make


@pytest.fixture
def household():
    """household(n=0, village=金山村) → the n-th demo household of a village (each holds a homestead)."""
    def make(n: int = 0, village: str = DEMO_VILLAGE) -> Household:
        collective = _collective_of_village(village)
        found = db.session.scalars(select(Household).where(Household.collective_id == collective.id)
                                   .order_by(Household.id).offset(n).limit(1)).first()
        assert found is not None, (n, village)
        return found
    return make


@pytest.fixture
def organisation():
    """organisation(kind) → the demo organisation of that kind: bank, family_farm, company, cooperative."""
    def make(kind: str | OrganisationKind) -> Organisation:
        kind = OrganisationKind(kind)
        found = db.session.scalars(select(Organisation).where(Organisation.kind == kind).order_by(Organisation.id)).first()
        assert found is not None, kind
        return found
    return make


def _resident_id(rng: random.Random, birth: date) -> str:
    first17 = f"511723{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + resident_id_check_char(first17)


@pytest.fixture
def person_factory():
    """person_factory(household=None, name=…) → a new person with an encrypted, hashed and masked resident ID.
    The clear ID is kept on the object as ``clear_id`` for the tests that look for it in ledger entries."""
    rng = random.Random(7)

    def make(household: Household | None = None, name: str = "测试人", relation: str = "户主") -> Person:
        pii = current_app.extensions["pii"]
        number = _resident_id(rng, date(1960 + rng.randrange(0, 40), 1 + rng.randrange(0, 12), 1 + rng.randrange(0, 28)))
        person = Person(household=household, name=name, sex="1", birth_date=None, relation=relation,
                        id_number_encrypted=pii.encrypt(number), id_number_hash=pii.lookup_hash(number),
                        id_number_masked=mask_resident_id(number))
        db.session.add(person)
        person.clear_id = number
        return person
    return make


@pytest.fixture
def new_household(collective, person_factory):
    """new_household(members=0, village=金山村) → a household of the collective with no homestead and no land."""
    def make(members: int = 0, village: str = DEMO_VILLAGE) -> Household:
        owner = collective(village)
        group = db.session.scalar(select(Household).where(Household.collective_id == owner.id)
                                  .order_by(Household.id).limit(1)).division
        household = Household(code=f"{group.code}{9000 + next(_serial):04d}", head_name=f"新户{next(_serial)}",
                              division=group, collective=owner, address="测试地址")
        db.session.add(household)
        for i in range(members):
            person_factory(household, name=f"成员{i}", relation="户主" if i == 0 else "子")
        db.session.flush()
        return household
    return make


# --- assets and rights ---------------------------------------------------------------------------------------


@pytest.fixture
def parcel_with_contract():
    """parcel_with_contract() → Contracted(parcel, contract, household): a demo parcel whose active contract
    right is held by one household, with no right derived from it, no pledge, no freeze and no dispute.
    Each call in a test returns a different parcel."""
    used: set[int] = set()

    def make(village: str = DEMO_VILLAGE) -> Contracted:
        derived = aliased(Right)
        collective = _collective_of_village(village)
        query = (select(Right).where(
            Right.right_type == RightType.contract, Right.ended_at.is_(None), Right.parcel_id.is_not(None),
            Right.collective_id == collective.id, Right.disputed.is_(False),
            ~exists().where(derived.derived_from_id == Right.id),
            ~exists().where(and_(Encumbrance.right_id == Right.id, Encumbrance.released_at.is_(None))),
            ~exists().where(and_(Freeze.right_id == Right.id, Freeze.lifted_at.is_(None))),
            Right.id.not_in(used or {-1}),
        ).order_by(Right.id.desc()).limit(1))
        contract = db.session.scalars(query).first()
        assert contract is not None
        used.add(contract.id)
        assert len(contract.holders) == 1 and contract.holders[0].household is not None
        return Contracted(contract.parcel, contract, contract.holders[0].household)
    return make


@pytest.fixture
def new_parcel(collective):
    """new_parcel(area_m2, village=金山村) → a registered parcel (ownership right, no contract yet)."""
    def make(area_m2: Decimal | str = "1200.00", village: str = DEMO_VILLAGE, land_use: str = "1") -> Parcel:
        owner = collective(village)
        model = db.session.scalars(select(Parcel).where(Parcel.collective_id == owner.id).order_by(Parcel.id)).first()
        parcel = Parcel(code=f"{model.division.code}9{next(_serial):04d}", name="测试地块", division=model.division,
                        collective=owner, area_m2=Decimal(area_m2), land_class=LandClass.arable, land_use=land_use,
                        basic_farmland=False, boundaries={"east": "沟", "south": "路", "west": "田", "north": "坎"},
                        geometry=model.geometry)
        operations.register_asset(parcel, data={"test": True})
        return parcel
    return make


@pytest.fixture
def new_homestead(collective):
    """new_homestead(area_m2, village=金山村) → a registered homestead (ownership right), not allocated."""
    def make(area_m2: Decimal | str = "80.00", village: str = DEMO_VILLAGE) -> Homestead:
        owner = collective(village)
        model = db.session.scalars(select(Homestead).where(Homestead.collective_id == owner.id)
                                   .order_by(Homestead.id)).first()
        homestead = Homestead(code=f"{model.division.code}K{next(_serial):04d}", division=model.division,
                              collective=owner, area_m2=Decimal(area_m2), house_floor_area_m2=Decimal("120"),
                              house_structure="砖混", address="测试宅基地")
        operations.register_asset(homestead, data={"test": True})
        return homestead
    return make


@pytest.fixture
def homestead_rights():
    """homestead_rights(household) → (qualification, homestead_use): the household's active homestead rights."""
    def find(household: Household) -> tuple[Right, Right]:
        rights = db.session.scalars(select(Right).join(RightHolder).where(
            RightHolder.household_id == household.id, Right.ended_at.is_(None),
            Right.right_type.in_([RightType.qualification, RightType.homestead_use])).order_by(Right.id)).all()
        by_type = {r.right_type: r for r in rights}
        return by_type[RightType.qualification], by_type[RightType.homestead_use]
    return find


@pytest.fixture
def collective_asset():
    """collective_asset(category, village=金山村) → a demo collective asset, e.g. 闲置校舍 or 经营性建设用地."""
    def find(category: str, village: str = DEMO_VILLAGE) -> CollectiveAsset:
        found = db.session.scalar(select(CollectiveAsset).where(
            CollectiveAsset.category == category, CollectiveAsset.division.has(code=village)))
        assert found is not None, category
        return found
    return find


@pytest.fixture
def ownership():
    """ownership(asset) → the asset's active ownership right."""
    def find(asset) -> Right:
        return next(r for r in operations.active_rights(asset) if r.right_type == RightType.ownership)
    return find


@pytest.fixture
def art40_contract():
    """art40_contract(**overrides) → a written transfer contract with every field of 农村土地承包法 Art 40."""
    def make(**overrides) -> dict:
        contract = {
            "parties": "出让方 王*明（511723100200010001）；受让方 开江县绿源家庭农场",
            "parcel": "大田，5117231002000100001，1200 平方米，二等地",
            "term": "2027-01-01 至 2036-12-31",
            "use": "种植业（水稻、油菜）",
            "rights_duties": "受让方不得改变农业用途，不得撂荒；期满恢复原状",
            "price_payment": "每亩每年 600 元，每年 1 月支付",
            "expropriation": "土地补偿费归承包方，地上附着物补偿归受让方",
            "liability": "逾期支付按日万分之五计违约金",
        }
        assert set(contract) == set(ART40_KEYS)
        contract.update(overrides)
        return contract
    return make


@pytest.fixture
def resolution():
    """resolution(members_total, votes_for) → a members' resolution with its vote counts."""
    def make(members_total: int, votes_for: int, **extra) -> dict:
        return {"members_total": members_total, "votes_for": votes_for,
                "votes_against": max(members_total - votes_for, 0), "abstentions": 0,
                "number": "金山村股经〔2026〕5号", "date": "2026-10-18", **extra}
    return make


@pytest.fixture
def split(art40_contract):
    """split(contracted_or_right, transferee, start, end, **overrides) → transfer_management_right with a
    valid proposal (出租, cropping, Art 40 contract, filed with the collective, applicant = holder) unless
    overridden. For a management-right source the re-transfer consents are given by default."""
    def make(source, transferee, start: date, end: date, **overrides) -> Right:
        if isinstance(source, Contracted):
            source = source.contract
        retransfer = source.right_type == RightType.management
        kwargs = {
            "mode": "出租", "permitted_use": "1", "contract": art40_contract(), "price": "600 元/亩/年",
            "consents": ({"contracting_household": True, "filed_with_collective": True} if retransfer
                         else {"filed_with_collective": True}),
            "applicant": source.holders[0].holder,
        }
        kwargs.update(overrides)
        return operations.transfer_management_right(source, transferee, start, end, **kwargs)
    return make


# --- the ledger and row counts ---------------------------------------------------------------------------


@pytest.fixture
def ledger_size():
    """ledger_size() → the number of entries in the ledger, read in the test's transaction."""
    def size() -> int:
        return service.store().size(db.session.connection())
    return size


@pytest.fixture
def ledger_entries():
    """ledger_entries(start, end) → [(index, decoded entry)] for the entries start … end-1."""
    def read(start: int, end: int) -> list[tuple[int, dict]]:
        stored = service.store().entries(db.session.connection(), start, end)
        return [(index, ledger_entry.decode(raw)) for index, raw in stored]
    return read


COUNTED = {"rights": Right, "right_holders": RightHolder, "encumbrances": Encumbrance, "freezes": Freeze,
           "registry_events": RegistryEvent}


@pytest.fixture
def snapshot(ledger_size):
    """snapshot() → the ledger size, row counts of the registry's tables and how many rights, pledges and
    freezes are in force — all that a refused operation must leave unchanged (flushes first, so a pending
    change would show)."""
    def take() -> dict[str, int]:
        db.session.flush()
        counts = {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in COUNTED.items()}
        counts["ledger"] = ledger_size()
        counts["active_rights"] = db.session.scalar(select(func.count()).select_from(Right)
                                                    .where(Right.ended_at.is_(None)))
        counts["active_pledges"] = db.session.scalar(select(func.count()).select_from(Encumbrance)
                                                     .where(Encumbrance.released_at.is_(None)))
        counts["active_freezes"] = db.session.scalar(select(func.count()).select_from(Freeze)
                                                     .where(Freeze.lifted_at.is_(None)))
        return counts
    return take

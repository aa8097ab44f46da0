"""Loading the demo dataset. Flushes; the CLI commits once, so a failed load leaves nothing behind."""
from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from exchange.accounts.models import Role
from exchange.accounts.operations import create_account
from exchange.db import db
from exchange.demo import data
from exchange.divisions.models import Division, DivisionLevel
from exchange.identifiers import mask_resident_id
from exchange.ledger_app.service import ledger_actor, ledger_batch, record_many
from exchange.registry import operations as registry
from ledger.storage import entries as ledger_entries_table
from exchange.registry.models import (
    AssetClass, Collective, CollectiveAsset, Homestead, Household, LandClass, Organisation, OrganisationKind, Parcel,
    Person,
)


def is_loaded() -> bool:
    return db.session.scalar(select(Division.id).where(Division.code == data.COUNTY[0])) is not None


def _divisions() -> list[Division]:
    county = Division(code=data.COUNTY[0], name=data.COUNTY[1], level=DivisionLevel.county)
    groups = []
    db.session.add(county)
    for t_code, t_name, villages in data.TOWNSHIPS:
        township = Division(code=t_code, name=t_name, level=DivisionLevel.township, parent=county)
        for v_index, v_name in enumerate(villages):
            village = Division(code=f"{t_code}{200 + v_index}", name=v_name, level=DivisionLevel.village,
                               parent=township)
            for g_index, g_name in enumerate(data.GROUPS, start=1):
                groups.append(Division(code=f"{village.code}{g_index:02d}", name=g_name,
                                       level=DivisionLevel.group, parent=village))
    db.session.add_all(groups)
    db.session.flush()
    return groups


def _land_class(rng: random.Random) -> tuple[LandClass, str]:
    roll = rng.random()
    if roll < 0.8:
        return LandClass.arable, "1"
    if roll < 0.9:
        return LandClass.garden, "1"
    if roll < 0.97:
        return LandClass.forest, "2"
    return LandClass.water, "4"


def load_demo() -> dict[str, int]:
    """Create the demo county, its people, land and accounts. Returns counts of what was made."""
    rng = random.Random(2026)
    pii = current_app.extensions["pii"]
    groups = _divisions()
    villages = {g.parent.code: g.parent for g in groups}
    collectives = {}
    for code, village in villages.items():
        collectives[code] = Collective(name=f"{village.name}股份经济合作联合社",
                                       credit_code=data.collective_credit_code(code), division=village)
    db.session.add_all(collectives.values())
    db.session.flush()

    households, persons, parcels, homesteads, assets = [], [], [], [], []
    holdings: list[tuple[Household, Parcel]] = []
    for g_index, group in enumerate(groups):
        collective = collectives[group.parent.code]
        origin_lon = data.KAIJIANG[0] + (g_index % 6) * 0.02
        origin_lat = data.KAIJIANG[1] + (g_index // 6) * 0.02
        parcel_seq = 0
        for h_index in range(1, data.HOUSEHOLDS_PER_GROUP + 1):
            members = data.household_members(rng)
            household = Household(code=f"{group.code}{h_index:04d}", head_name=members[0]["name"],
                                  division=group, collective=collective,
                                  address=f"{group.full_name}{h_index}号")
            households.append(household)
            for member in members:
                number = data.resident_id(rng, member["birth"], member["female"])
                persons.append(Person(
                    household=household, name=member["name"], sex="2" if member["female"] else "1",
                    birth_date=member["birth"], relation=member["relation"],
                    id_number_encrypted=pii.encrypt(number), id_number_hash=pii.lookup_hash(number),
                    id_number_masked=mask_resident_id(number),
                ))
            row = h_index - 1
            for p_index in range(data.PARCELS_PER_HOUSEHOLD):
                parcel_seq += 1
                width, height = rng.uniform(25, 60), rng.uniform(20, 45)
                geometry = data.rectangle(origin_lon + p_index * 0.0008, origin_lat + row * 0.0006, width, height)
                land_class, land_use = _land_class(rng)
                parcel = Parcel(
                    code=f"{group.code}{parcel_seq:05d}", name=rng.choice(data.PARCEL_NAMES),
                    division=group, collective=collective, area_m2=data.polygon_area_m2(geometry),
                    land_class=land_class, land_use=land_use, basic_farmland=land_class == LandClass.arable and rng.random() < 0.7,
                    boundaries={"east": "沟", "south": "路", "west": "邻户承包地", "north": "田坎"},
                    geometry=geometry,
                )
                parcels.append(parcel)
                holdings.append((household, parcel))
            # within the area standard for the household's size (HOMESTEAD-ONE)
            side = min(len(members), 5) * 28 if len(members) >= 3 else 84
            homestead_geometry = data.rectangle(origin_lon - 0.004, origin_lat + row * 0.0006, side ** 0.5, side ** 0.5)
            homesteads.append(Homestead(
                code=f"{group.code}J{h_index:04d}", division=group, collective=collective, household=household,
                area_m2=data.polygon_area_m2(homestead_geometry),
                house_floor_area_m2=Decimal(rng.randrange(90, 260)), house_structure=rng.choice(["砖混", "砖木", "框架"]),
                address=household.address, geometry=homestead_geometry,
            ))
    for code, village in villages.items():
        collective = collectives[code]
        for n, (name, asset_class, category, area, value, status) in enumerate([
            ("村委会办公楼", AssetClass.non_operating, "办公用房", 420, 380000, "in_use"),
            ("原村小学校舍", AssetClass.operating, "闲置校舍", 1600, 520000, "idle"),
            ("集体林地", AssetClass.resource, "林地", 86000, 0, "in_use"),
            ("堰塘养殖水面", AssetClass.resource, "养殖水面", 12000, 0, "idle"),
            ("村口经营性建设用地", AssetClass.resource, "经营性建设用地", 3300, 0, "idle"),
        ], start=1):
            details = {"planned_use": "商业服务业", "plot_ratio": 1.2} if category == "经营性建设用地" else None
            assets.append(CollectiveAsset(
                code=f"{code}-ZC{n:03d}", name=f"{village.name}{name}", collective=collective, division=village,
                asset_class=asset_class, category=category, area_m2=Decimal(area), book_value=Decimal(value),
                source="自建" if value else "集体所有", location=village.full_name, status=status, details=details,
            ))
    db.session.add_all(households + persons)
    db.session.flush()

    with ledger_actor(DEMO_ACTOR), ledger_batch():
        record_many(_holder_entries(collectives.values(), households), by=DEMO_ACTOR)
        for asset in [*parcels, *homesteads, *assets]:
            registry.register_asset(asset, data=_asset_data(asset))
        start, end = date(*data.CONTRACT_START), date(*data.CONTRACT_END)
        for household, parcel in holdings:
            registry.grant_contract_right(parcel, [(household, Decimal(1))], start, end,
                                          contract_number=f"{household.code}J")
        for homestead in homesteads:
            registry.allocate_homestead(homestead, homestead.household)
        organisations = _organisations()
        examples = _example_transactions(holdings, organisations)
    db.session.flush()
    ledger_entries = db.session.scalar(select(func.count()).select_from(ledger_entries_table))

    codes = {d.code: d for d in [*villages.values(), *{v.parent for v in villages.values()},
                                 *{v.parent.parent for v in villages.values()}]}
    for username, role, name, division_code, institution in data.DEMO_ACCOUNTS:
        create_account(username, data.DEMO_PASSWORD, Role(role), name, codes.get(division_code), institution)
    return {"divisions": len(codes) + len(groups), "collectives": len(collectives), "households": len(households),
            "persons": len(persons), "parcels": len(parcels), "homesteads": len(homesteads),
            "collective_assets": len(assets), "accounts": len(data.DEMO_ACCOUNTS),
            "organisations": len(organisations), "example_transactions": examples,
            "ledger_entries": ledger_entries}


def mask_name(name: str) -> str:
    """A person's name as the public ledger shows it: 张*明, 李*."""
    return name[0] + "*" * max(len(name) - 2, 1) + (name[-1] if len(name) > 2 else "")


DEMO_ACTOR = {"role": "county", "division": data.COUNTY[0], "account": "demo-import"}


def _holder_entries(collectives, households) -> list:
    """Registration entries for the collectives and households (people masked, IDs as keyed hashes)."""
    entries = []
    for c in collectives:
        entries.append(("registration", [{"type": "collective", "id": c.credit_code}],
                        {"object": "collective", "name": c.name, "division": c.division.code}))
    for h in households:
        entries.append(("registration", [{"type": "household", "id": h.code}], {
            "object": "household", "head": mask_name(h.head_name), "group": h.division.code,
            "collective": h.collective.credit_code,
            "members": [{"name": mask_name(p.name), "relation": p.relation, "id_masked": p.id_number_masked,
                         "id_hash": p.id_number_hash} for p in h.members],
        }))
    return entries


def _asset_data(asset) -> dict:
    if isinstance(asset, Parcel):
        return {"object": "parcel", "name": asset.name, "group": asset.division.code, "area_m2": str(asset.area_m2),
                "land_class": asset.land_class.value, "land_use": asset.land_use,
                "basic_farmland": asset.basic_farmland, "boundaries": asset.boundaries}
    if isinstance(asset, Homestead):
        return {"object": "homestead", "area_m2": str(asset.area_m2),
                "house_floor_area_m2": str(asset.house_floor_area_m2), "structure": asset.house_structure}
    return {"object": "collective_asset", "name": asset.name, "class": asset.asset_class.value,
            "category": asset.category, "area_m2": str(asset.area_m2) if asset.area_m2 is not None else None,
            "book_value": str(asset.book_value)}


def _organisations() -> dict[str, Organisation]:
    made = {}
    for name, kind, prefix, serial in data.ORGANISATIONS:
        org = Organisation(name=name, kind=OrganisationKind(kind), credit_code=data.organisation_credit_code(prefix, serial))
        db.session.add(org)
        made[kind] = org
    db.session.flush()
    return made


def _example_transactions(holdings, organisations) -> int:
    """A few changes so that timelines are not empty: a management right leased to the family farm and
    pledged to the bank (with the household's consent), and a freeze on another household's contract right."""
    from exchange.registry.operations import active_rights

    household, parcel = holdings[0]
    contract = next(r for r in active_rights(parcel) if r.right_type.value == "contract")
    farm, bank = organisations["family_farm"], organisations["bank"]
    art40 = {"parties": f"出让方 {mask_name(household.head_name)}（{household.code}）；受让方 {farm.name}",
             "parcel": f"{parcel.name}，{parcel.code}，{parcel.area_m2} 平方米，二等地", "term": "2025-01-01 至 2034-12-31",
             "use": "种植业（水稻、油菜）", "rights_duties": "受让方不得改变农业用途，不得撂荒；期满恢复原状",
             "price_payment": "每亩每年 600 元，每年 1 月支付", "expropriation": "土地补偿费归承包方，地上附着物补偿归受让方",
             "liability": "逾期支付按日万分之五计违约金"}
    management = registry.transfer_management_right(
        contract, farm, date(2025, 1, 1), date(2034, 12, 31), mode="出租", permitted_use="1", contract=art40,
        price="600 元/亩/年", consents={"filed_with_collective": True}, applicant=household)
    registry.pledge(management, bank, Decimal("200000"), date(2025, 3, 1), date(2028, 2, 28),
                    contract_number="KJNS-DY-2025-0001", applicant=farm,
                    consents={"contracting_household": True, "filed_with_collective": True})
    other_household, other_parcel = holdings[7]
    disputed = next(r for r in active_rights(other_parcel) if r.right_type.value == "contract")
    registry.freeze(disputed, "开江县人民法院", "(2026)川1723执保17号", "财产保全（民间借贷纠纷）")
    return 3

"""Loading the demo dataset. Flushes; the CLI commits once, so a failed load leaves nothing behind."""
from __future__ import annotations

import random
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from exchange.accounts.models import Role
from exchange.accounts.operations import create_account
from exchange.db import db
from exchange.demo import data
from exchange.divisions.models import Division, DivisionLevel
from exchange.identifiers import mask_resident_id
from exchange.ledger_app.service import record_many
from exchange.registry.models import (
    AssetClass, Collective, CollectiveAsset, Homestead, Household, LandClass, Parcel, Person,
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
                parcels.append(Parcel(
                    code=f"{group.code}{parcel_seq:05d}", name=rng.choice(data.PARCEL_NAMES),
                    division=group, collective=collective, area_m2=data.polygon_area_m2(geometry),
                    land_class=land_class, land_use=land_use, basic_farmland=land_class == LandClass.arable and rng.random() < 0.7,
                    boundaries={"east": "沟", "south": "路", "west": "邻户承包地", "north": "田坎"},
                    geometry=geometry,
                ))
            homestead_geometry = data.rectangle(origin_lon - 0.004, origin_lat + row * 0.0006, 12, 11)
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
    db.session.add_all(households + persons + parcels + homesteads + assets)
    db.session.flush()

    ledger_entries = _registration_entries(collectives.values(), households, parcels, homesteads, assets)
    record_many(ledger_entries, by={"role": "system", "division": data.COUNTY[0], "account": "demo-import"})

    codes = {d.code: d for d in [*villages.values(), *{v.parent for v in villages.values()},
                                 *{v.parent.parent for v in villages.values()}]}
    for username, role, name, division_code, institution in data.DEMO_ACCOUNTS:
        create_account(username, data.DEMO_PASSWORD, Role(role), name, codes.get(division_code), institution)
    return {"divisions": len(codes) + len(groups), "collectives": len(collectives), "households": len(households),
            "persons": len(persons), "parcels": len(parcels), "homesteads": len(homesteads),
            "collective_assets": len(assets), "accounts": len(data.DEMO_ACCOUNTS),
            "ledger_entries": len(ledger_entries)}


def mask_name(name: str) -> str:
    """A person's name as the public ledger shows it: 张*明, 李*."""
    return name[0] + "*" * max(len(name) - 2, 1) + (name[-1] if len(name) > 2 else "")


def _registration_entries(collectives, households, parcels, homesteads, assets) -> list:
    """One registration entry per collective, household, parcel, homestead and asset (确权登记 results)."""
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
    for p in parcels:
        entries.append(("registration", [{"type": "parcel", "id": p.code}], {
            "object": "parcel", "name": p.name, "group": p.division.code, "collective": p.collective.credit_code,
            "area_m2": str(p.area_m2), "land_class": p.land_class.value, "land_use": p.land_use,
            "basic_farmland": p.basic_farmland, "boundaries": p.boundaries,
        }))
    for h in homesteads:
        entries.append(("registration", [{"type": "homestead", "id": h.code}, {"type": "household", "id": h.household.code}], {
            "object": "homestead", "area_m2": str(h.area_m2), "house_floor_area_m2": str(h.house_floor_area_m2),
            "structure": h.house_structure, "collective": h.collective.credit_code,
        }))
    for a in assets:
        entries.append(("registration", [{"type": "collective_asset", "id": a.code}], {
            "object": "collective_asset", "name": a.name, "class": a.asset_class.value, "category": a.category,
            "area_m2": str(a.area_m2) if a.area_m2 is not None else None, "book_value": str(a.book_value),
            "collective": a.collective.credit_code,
        }))
    return entries

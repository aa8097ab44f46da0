"""Loading the demo dataset. Flushes; the CLI commits once, so a failed load leaves nothing behind.

The synthetic county is written as NY/T 2539 files into a temporary directory and loaded through the same
importer as real registration data (``exchange.registry.importer``); homestead allocation, organisations
and a few example transactions follow through the registry operations.
"""
from __future__ import annotations

import csv
import json
import random
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from exchange.accounts.models import Role
from exchange.accounts.operations import create_account
from exchange.db import db
from exchange.demo import data
from exchange.divisions.models import Division
from exchange.ledger_app.service import ledger_actor, ledger_batch
from exchange.registry import operations as registry
from exchange.registry.importer import import_directory, mask_name
from exchange.registry.models import Homestead, Household, Organisation, OrganisationKind, Parcel
from ledger.storage import entries as ledger_entries_table


def is_loaded() -> bool:
    return db.session.scalar(select(Division.id).where(Division.code == data.COUNTY[0])) is not None


def _land_class(rng: random.Random) -> tuple[str, str]:
    """A TDLYLX land-use code (GB/T 21010) and the TDYT land use."""
    roll = rng.random()
    if roll < 0.8:
        return "011", "1"  # 水田 → arable
    if roll < 0.9:
        return "021", "1"  # 果园 → garden
    if roll < 0.97:
        return "031", "2"  # 有林地 → forest
    return "114", "4"  # 坑塘水面 → water


RELATION_CODES = {"户主": "02", "配偶": "10", "子": "20", "女": "30"}  # GB/T 4761
ASSETS = [  # name, class, category, area m², book value, status
    ("村委会办公楼", "non_operating", "办公用房", 420, 380000, "in_use"),
    ("原村小学校舍", "operating", "闲置校舍", 1600, 520000, "idle"),
    ("集体林地", "resource", "林地", 86000, 0, "in_use"),
    ("堰塘养殖水面", "resource", "养殖水面", 12000, 0, "idle"),
    ("村口经营性建设用地", "resource", "经营性建设用地", 3300, 0, "idle"),
]


class _Files:
    """The NY/T 2539 CSV files and GeoJSON layers of the demo county, written row by row."""

    HEADERS = {
        "XZQH.csv": ["XZQDM", "XZQMC"],
        "FBF.csv": ["FBFBM", "FBFMC", "TYSHXYDM", "JTJJZZMC"],
        "CBF.csv": ["CBFBM", "CBFLX", "CBFMC", "CBFZJLX", "CBFZJHM", "CBFDZ", "CBFCYSL"],
        "CBF_JTCY.csv": ["CBFBM", "CYXM", "CYXB", "CYZJLX", "CYZJHM", "YHZGX", "CSRQ"],
        "DK.csv": ["DKBM", "DKMC", "DKLB", "TDLYLX", "TDYT", "SFJBNT", "SCMJ", "DKDZ", "DKNZ", "DKXZ", "DKBZ"],
        "CBHT.csv": ["CBHTBM", "FBFBM", "CBFBM", "CBFS", "CBQXQ", "CBQXZ", "CBDKZS"],
        "CBDKXX.csv": ["DKBM", "FBFBM", "CBFBM", "CBHTBM"],
        "ZJD.csv": ["ZDDM", "FBFBM", "CBFBM", "MJ", "FWJZMJ", "FWJG", "ZL"],
        "JTZC.csv": ["ZCBM", "ZCMC", "TYSHXYDM", "ZCLB", "ZCFL", "MJ", "ZMJZ", "LY", "ZL", "ZT", "GHYT", "RJL"],
    }

    def __init__(self) -> None:
        self.rows: dict[str, list[list]] = {name: [] for name in self.HEADERS}
        self.features: dict[str, list[dict]] = {"DK.geojson": [], "ZJD.geojson": []}

    def add(self, name: str, *values) -> None:
        self.rows[name].append(["" if v is None else str(v) for v in values])

    def feature(self, name: str, key: str, code: str, geometry: dict) -> None:
        self.features[name].append({"type": "Feature", "properties": {key: code}, "geometry": geometry})

    def write(self, directory: Path) -> None:
        for name, header in self.HEADERS.items():
            with (directory / name).open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(header)
                writer.writerows(self.rows[name])
        for name, features in self.features.items():
            (directory / name).write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                                     ensure_ascii=False), encoding="utf-8")


def write_demo_files(directory: Path, rng: random.Random) -> dict:
    """Write the demo county as NY/T 2539 files; return what the rest of the load refers to by code."""
    files = _Files()
    county_code, county_name = data.COUNTY
    files.add("XZQH.csv", county_code, county_name)
    groups = []  # (group code, group name, village code, village name, full name of the group)
    villages = {}  # village code → (name, full name)
    for t_code, t_name, names in data.TOWNSHIPS:
        files.add("XZQH.csv", t_code, t_name)
        for v_index, v_name in enumerate(names):
            v_code = f"{t_code}{200 + v_index}"
            files.add("XZQH.csv", v_code, v_name)
            villages[v_code] = (v_name, county_name + t_name + v_name)
            for g_index, g_name in enumerate(data.GROUPS, start=1):
                groups.append((f"{v_code}{g_index:02d}", g_name, v_code, v_name, villages[v_code][1] + g_name))
    for g_code, g_name, *_ in groups:
        files.add("XZQH.csv", g_code, g_name)

    start, end = date(*data.CONTRACT_START), date(*data.CONTRACT_END)
    holdings, homesteads = [], []
    for g_index, (g_code, g_name, v_code, v_name, full_name) in enumerate(groups):
        files.add("FBF.csv", g_code, v_name + g_name, data.collective_credit_code(v_code), f"{v_name}股份经济合作联合社")
        origin_lon = data.KAIJIANG[0] + (g_index % 6) * 0.02
        origin_lat = data.KAIJIANG[1] + (g_index // 6) * 0.02
        parcel_seq = 0
        for h_index in range(1, data.HOUSEHOLDS_PER_GROUP + 1):
            members = data.household_members(rng)
            code = f"{g_code}{h_index:04d}"
            address = f"{full_name}{h_index}号"
            numbers = [data.resident_id(rng, m["birth"], m["female"]) for m in members]
            files.add("CBF.csv", code, "1", members[0]["name"], "1", numbers[0], address, len(members))
            for member, number in zip(members, numbers):
                files.add("CBF_JTCY.csv", code, member["name"], "2" if member["female"] else "1", "1", number,
                          RELATION_CODES[member["relation"]], member["birth"].isoformat())
            contract = f"{code}J"
            row = h_index - 1
            for p_index in range(data.PARCELS_PER_HOUSEHOLD):
                parcel_seq += 1
                width, height = rng.uniform(25, 60), rng.uniform(20, 45)
                geometry = data.rectangle(origin_lon + p_index * 0.0008, origin_lat + row * 0.0006, width, height)
                land_type, land_use = _land_class(rng)
                parcel = f"{g_code}{parcel_seq:05d}"
                name = rng.choice(data.PARCEL_NAMES)
                basic = land_type == "011" and rng.random() < 0.7
                files.add("DK.csv", parcel, name, "10", land_type, land_use, "1" if basic else "2",
                          data.polygon_area_m2(geometry), "沟", "路", "邻户承包地", "田坎")
                files.feature("DK.geojson", "DKBM", parcel, geometry)
                files.add("CBDKXX.csv", parcel, g_code, code, contract)
                holdings.append((code, parcel))
            files.add("CBHT.csv", contract, g_code, code, "110", start.isoformat(), end.isoformat(),
                      data.PARCELS_PER_HOUSEHOLD)
            # within the area standard for the household's size (HOMESTEAD-ONE)
            side = min(len(members), 5) * 28 if len(members) >= 3 else 84
            homestead_geometry = data.rectangle(origin_lon - 0.004, origin_lat + row * 0.0006, side ** 0.5, side ** 0.5)
            homestead = f"{g_code}J{h_index:04d}"
            files.add("ZJD.csv", homestead, g_code, code, data.polygon_area_m2(homestead_geometry),
                      rng.randrange(90, 260), rng.choice(["砖混", "砖木", "框架"]), address)
            files.feature("ZJD.geojson", "ZDDM", homestead, homestead_geometry)
            homesteads.append(homestead)
    for v_code, (v_name, full_name) in villages.items():
        for n, (name, asset_class, category, area, value, status) in enumerate(ASSETS, start=1):
            construction = category == "经营性建设用地"
            files.add("JTZC.csv", f"{v_code}-ZC{n:03d}", f"{v_name}{name}", data.collective_credit_code(v_code),
                      asset_class, category, area, value, "自建" if value else "集体所有", full_name, status,
                      "商业服务业" if construction else None, "1.2" if construction else None)
    files.write(directory)
    return {"holdings": holdings, "homesteads": homesteads}


def load_demo() -> dict[str, int]:
    """Create the demo county, its people, land and accounts. Returns counts of what was made."""
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="demo-nyt2539-") as tmp:
        written = write_demo_files(Path(tmp), rng)
        report = import_directory(tmp, actor=DEMO_ACTOR)
    if not report.ok:
        raise RuntimeError("the demo dataset did not import:\n" + "\n".join(report.lines()))

    homesteads = {h.code: h for h in db.session.scalars(
        select(Homestead).where(Homestead.code.in_(written["homesteads"])))}
    examples_at = [written["holdings"][0], written["holdings"][7]]
    households = {h.code: h for h in db.session.scalars(
        select(Household).where(Household.code.in_([household for household, _ in examples_at])))}
    parcels = {p.code: p for p in db.session.scalars(
        select(Parcel).where(Parcel.code.in_([parcel for _, parcel in examples_at])))}
    with ledger_actor(DEMO_ACTOR), ledger_batch():
        for code in written["homesteads"]:
            homestead = homesteads[code]
            registry.allocate_homestead(homestead, homestead.household)
        organisations = _organisations()
        examples = _example_transactions([(households[h], parcels[p]) for h, p in examples_at], organisations)
    db.session.flush()
    ledger_entries = db.session.scalar(select(func.count()).select_from(ledger_entries_table))

    codes = {d.code: d for d in db.session.scalars(select(Division).where(Division.code.startswith(data.COUNTY[0]),
                                                                          func.length(Division.code) < 14))}
    for username, role, name, division_code, institution in data.DEMO_ACCOUNTS:
        create_account(username, data.DEMO_PASSWORD, Role(role), name, codes.get(division_code), institution)
    created = report.created
    return {"divisions": created["divisions"], "collectives": created["collectives"],
            "households": created["households"], "persons": created["persons"], "parcels": created["parcels"],
            "homesteads": created["homesteads"], "collective_assets": created["collective_assets"],
            "accounts": len(data.DEMO_ACCOUNTS), "organisations": len(organisations),
            "example_transactions": examples, "ledger_entries": ledger_entries}


DEMO_ACTOR = {"role": "county", "division": data.COUNTY[0], "account": "demo-import"}


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
    other_household, other_parcel = holdings[1]
    disputed = next(r for r in active_rights(other_parcel) if r.right_type.value == "contract")
    registry.freeze(disputed, "开江县人民法院", "(2026)川1723执保17号", "财产保全（民间借贷纠纷）")
    return 3

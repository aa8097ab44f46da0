"""The demo dataset: 开江县 (511723) with real township names and synthetic villages, households and land.

Everything personal here is synthetic (names drawn from common surnames, IDs with valid check digits).
Township and village codes below the county code are illustrative, not the official statistical codes.
"""
from __future__ import annotations

import math
import random
from datetime import date, timedelta
from decimal import Decimal

COUNTY = ("511723", "开江县")
TOWNSHIPS = [  # real townships of 开江县; codes illustrative
    ("511723100", "新宁镇", ["金山村", "白岩村", "清河村"]),
    ("511723101", "普安镇", ["石桥村", "柏林村"]),
    ("511723102", "回龙镇", ["桂花村", "双河村"]),
    ("511723103", "讲治镇", ["龙潭村", "青龙村"]),
]
GROUPS = ["一组", "二组", "三组"]
HOUSEHOLDS_PER_GROUP = 14
PARCELS_PER_HOUSEHOLD = 7

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林郑梁谢唐许冯宋韩邓彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢"
GIVEN = "德明华国建平志强文军秀英桂兰玉珍红梅春燕永福开全成林海云芳丽勇斌刚超宇航子涵欣怡浩然"
PARCEL_NAMES = ["大田", "秧田", "坡地", "河坝田", "堰塘湾", "屋后地", "沟边田", "长丘", "梯田", "竹林湾"]
KAIJIANG = (107.87, 31.08)  # lon, lat near the county seat

DEMO_PASSWORD = "Demo@2026"
DEMO_ACCOUNTS = [
    # username, role, display name, division code or None, institution
    ("admin", "admin", "平台管理员", None, None),
    ("county", "county", "开江县农村产权交易中心", "511723", None),
    ("township", "township", "新宁镇农经站", "511723100", None),
    ("township2", "township", "普安镇农经站", "511723101", None),
    ("village", "village", "金山村股份经济合作联合社", "511723100200", None),
    ("bank", "bank", "开江农商银行信贷员", None, "四川开江农村商业银行"),
    ("bidder", "bidder", "开江县绿源家庭农场", None, None),
    ("bidder2", "bidder", "四川巴山生态农业有限公司", None, None),
    ("member", "bidder", "金山村农户（本集体成员竞买人）", None, None),
]


def resident_id(rng: random.Random, birth: date, female: bool, area: str = "511723") -> str:
    from exchange.identifiers import resident_id_check_char

    seq = rng.randrange(0, 100)
    sex_digit = rng.choice("02468" if female else "13579")
    first17 = f"{area}{birth:%Y%m%d}{seq:02d}{sex_digit}"
    return first17 + resident_id_check_char(first17)


def person_name(rng: random.Random, surname: str | None = None) -> str:
    return (surname or rng.choice(SURNAMES)) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def household_members(rng: random.Random) -> list[dict]:
    surname = rng.choice(SURNAMES)
    head_birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 30))
    members = [{"name": person_name(rng, surname), "relation": "户主", "female": False, "birth": head_birth}]
    if rng.random() < 0.9:
        members.append({"name": person_name(rng), "relation": "配偶", "female": True,
                        "birth": head_birth + timedelta(days=rng.randrange(-1500, 1500))})
    for _ in range(rng.randrange(0, 4)):
        female = rng.random() < 0.5
        members.append({"name": person_name(rng, surname), "relation": "女" if female else "子", "female": female,
                        "birth": head_birth + timedelta(days=365 * rng.randrange(20, 32) + rng.randrange(0, 365))})
    return members


METRES_PER_DEGREE_LAT = 111_320.0


def rectangle(lon: float, lat: float, width_m: float, height_m: float) -> dict:
    """A GeoJSON polygon of a width × height rectangle whose south-west corner is (lon, lat)."""
    dlon = width_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
    dlat = height_m / METRES_PER_DEGREE_LAT
    ring = [[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat], [lon, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def polygon_area_m2(geometry: dict) -> Decimal:
    """Planar area of a small WGS 84 polygon (equirectangular projection at its latitude)."""
    ring = geometry["coordinates"][0]
    lat0 = math.radians(sum(p[1] for p in ring) / len(ring))
    xs = [p[0] * METRES_PER_DEGREE_LAT * math.cos(lat0) for p in ring]
    ys = [p[1] * METRES_PER_DEGREE_LAT for p in ring]
    twice = sum(xs[i] * ys[i + 1] - xs[i + 1] * ys[i] for i in range(len(ring) - 1))
    return Decimal(abs(twice) / 2).quantize(Decimal("0.01"))


def collective_credit_code(village_code: str) -> str:
    """A synthetic N2 (village-level collective) unified social credit code with a valid check character."""
    from exchange.identifiers import uscc_check_char

    first17 = "N2" + village_code[:6] + "MA" + village_code[-6:] + "1"
    return first17 + uscc_check_char(first17)


def organisation_credit_code(kind_digits: str, serial: str) -> str:
    """A synthetic unified social credit code (91… company, 93… co-operative, 92… individual business)."""
    from exchange.identifiers import uscc_check_char

    first17 = (kind_digits + "511723" + "MA" + serial).ljust(17, "0")[:17]
    return first17 + uscc_check_char(first17)


ORGANISATIONS = [
    # name, kind, credit-code prefix, serial
    ("四川开江农村商业银行", "bank", "91", "62000001"),
    ("开江县绿源家庭农场", "family_farm", "92", "6F000002"),
    ("四川巴山生态农业有限公司", "company", "91", "6A000003"),
    ("开江县金山粮油专业合作社", "cooperative", "93", "6C000004"),
]
CONTRACT_START = (1998, 1, 1)  # second-round contracts (二轮承包) …
CONTRACT_END = (2057, 12, 31)  # … extended by another 30 years (延包)

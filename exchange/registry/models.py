"""What is registered: collectives, households and their members, parcels, homesteads, collective assets.

Rights over these (三权分置) are records of their own and come with the rights registry.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, Enum, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.divisions.models import Division

SQUARE_METRES_PER_MU = Decimal(10000) / Decimal(15)  # 1 亩 = 10000/15 m²


def to_mu(area_m2: Decimal | float) -> Decimal:
    return (Decimal(area_m2) / SQUARE_METRES_PER_MU).quantize(Decimal("0.01"))


class Collective(Base):
    """A collective economic organization (农村集体经济组织) at group, village or township level."""

    __tablename__ = "collectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码, N1/N2/N3…
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    division: Mapped[Division] = relationship(lazy="joined")


class Household(Base):
    """A contracting household (农户 / 承包方), coded per NY/T 2539 (发包方 14 digits + 4)."""

    __tablename__ = "households"
    __table_args__ = (CheckConstraint("length(code) = 18", name="code_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)  # 承包方编码 CBFBM
    head_name: Mapped[str] = mapped_column(String(100))  # 承包方代表名称 CBFMC
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)  # the group
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    division: Mapped[Division] = relationship(lazy="joined")
    collective: Mapped[Collective] = relationship()
    members: Mapped[list[Person]] = relationship(back_populates="household", order_by="Person.id")


class Person(Base):
    """A natural person; the resident ID is stored encrypted, with a keyed hash and a masked form."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(1))  # 1 male, 2 female (GB/T 2261.1)
    birth_date: Mapped[date | None] = mapped_column(Date)
    relation: Mapped[str] = mapped_column(String(20))  # 与户主关系: 户主, 配偶, 子, 女 …
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    is_member: Mapped[bool] = mapped_column(default=True)  # 集体经济组织成员

    household: Mapped[Household | None] = relationship(back_populates="members")


class LandClass(enum.Enum):
    arable = "arable"  # 耕地
    garden = "garden"  # 园地
    forest = "forest"  # 林地
    grassland = "grassland"  # 草地
    water = "water"  # 养殖水面


class Parcel(Base):
    """A contract-land parcel (承包地地块) with its 19-digit code (DKBM) and polygon geometry."""

    __tablename__ = "parcels"
    __table_args__ = (
        CheckConstraint("length(code) = 19", name="code_length"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(19), unique=True)  # 地块编码 DKBM
    name: Mapped[str] = mapped_column(String(100))  # 地块名称 DKMC
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    area_m2: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 实测面积 SCMJ
    land_class: Mapped[LandClass] = mapped_column(Enum(LandClass, native_enum=False, length=16))
    land_use: Mapped[str] = mapped_column(String(2))  # 土地用途 TDYT: 1 种植业, 2 林业, 3 畜牧业, 4 渔业, 5 非农
    basic_farmland: Mapped[bool] = mapped_column(default=False)  # 是否基本农田
    boundaries: Mapped[dict] = mapped_column(JSON)  # 四至 {"east": …, "south": …, "west": …, "north": …}
    geometry: Mapped[dict] = mapped_column(JSON)  # GeoJSON Polygon, WGS 84
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    division: Mapped[Division] = relationship()
    collective: Mapped[Collective] = relationship()

    @property
    def area_mu(self) -> Decimal:
        return to_mu(self.area_m2)


class Homestead(Base):
    """A homestead (宅基地) allocated to a household, and the rural house (农房) on it."""

    __tablename__ = "homesteads"
    __table_args__ = (CheckConstraint("area_m2 > 0", name="area_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(19), unique=True)  # 宗地代码
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    area_m2: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    house_floor_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    house_structure: Mapped[str | None] = mapped_column(String(20))  # 砖混, 砖木, 框架 …
    address: Mapped[str | None] = mapped_column(String(300))
    geometry: Mapped[dict | None] = mapped_column(JSON)

    household: Mapped[Household | None] = relationship()
    collective: Mapped[Collective] = relationship()
    division: Mapped[Division] = relationship()


class AssetClass(enum.Enum):
    resource = "resource"  # 资源性资产: land, forest, four-wastelands, water surfaces
    operating = "operating"  # 经营性资产: buildings, equipment, equity — tradable
    non_operating = "non_operating"  # 非经营性资产: roads, public buildings — registered, not tradable


class CollectiveAsset(Base):
    """An asset of the collective (集体资产) other than contract land: buildings, forests, water, equity…"""

    __tablename__ = "collective_assets"
    __table_args__ = (CheckConstraint("book_value >= 0", name="book_value_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    asset_class: Mapped[AssetClass] = mapped_column(Enum(AssetClass, native_enum=False, length=16))
    category: Mapped[str] = mapped_column(String(50))  # 办公用房, 闲置校舍, 林地, 四荒地, 养殖水面, 经营性建设用地 …
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    book_value: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)  # 账面价值 (元)
    source: Mapped[str | None] = mapped_column(String(100))  # 来源: 自建, 购置, 捐赠 …
    location: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="idle")  # idle 闲置, in_use 在用, leased 出租
    details: Mapped[dict | None] = mapped_column(JSON)  # planned use, plot ratio for construction land …

    collective: Mapped[Collective] = relationship()
    division: Mapped[Division] = relationship()

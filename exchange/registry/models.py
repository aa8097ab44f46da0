"""What is registered: collectives, households and their members, parcels, homesteads, collective assets.

Rights over these (三权分置) are records of their own and come with the rights registry.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, DateTime, Enum, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.divisions.models import Division



def to_mu(area_m2: Decimal | float) -> Decimal:
    """Square metres in 亩 to two decimals, half up; exact (× 15 / 10000), whatever the decimal context."""
    return (Decimal(area_m2) * 15 / 10000).quantize(Decimal("0.01"), ROUND_HALF_UP)


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


class OrganisationKind(enum.Enum):
    company = "company"  # 公司 (工商资本)
    cooperative = "cooperative"  # 农民专业合作社
    family_farm = "family_farm"  # 家庭农场
    bank = "bank"  # 银行 / 金融机构
    other = "other"


class Organisation(Base):
    """A company, co-operative, family farm or bank, identified by its unified social credit code (GB 32100)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(Enum(OrganisationKind, native_enum=False, length=16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RightType(enum.Enum):
    ownership = "ownership"  # 集体土地/资产所有权, held by the collective
    contract = "contract"  # 土地承包权 (承包经营权), held by the contracting household
    management = "management"  # 土地经营权: split off the contract right, re-transferable, pledgeable
    qualification = "qualification"  # 宅基地资格权, held by the member household
    homestead_use = "homestead_use"  # 宅基地及农房使用权
    construction_use = "construction_use"  # 集体经营性建设用地使用权, by grant (出让) or lease (出租)
    lease = "lease"  # 租赁/经营权 over a collective asset or a homestead house
    shares = "shares"  # 集体资产股份 (the collective's books)


class HolderType(enum.Enum):
    collective = "collective"
    household = "household"
    person = "person"
    organisation = "organisation"


class Right(Base):
    """A right over one asset (三权分置). Its facts never change; it ends once (ended_at), and a correction
    is a new right that supersedes it. Its history is the registry events (and ledger entries) that name it."""

    __tablename__ = "rights"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN parcel_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN homestead_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN asset_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="exactly_one_asset",
        ),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date > start_date", name="term_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 权利编号
    right_type: Mapped[RightType] = mapped_column(Enum(RightType, native_enum=False, length=20), index=True)
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"), index=True)
    homestead_id: Mapped[int | None] = mapped_column(ForeignKey("homesteads.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("collective_assets.id"), index=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)  # where the asset lies
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    derived_from_id: Mapped[int | None] = mapped_column(ForeignKey("rights.id"), index=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("rights.id"))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    mode: Mapped[str | None] = mapped_column(String(20))  # 出租, 转包, 入股, 转让, 出让, 分配, 发包 …
    permitted_use: Mapped[str | None] = mapped_column(String(100))
    terms: Mapped[dict] = mapped_column(JSON, default=dict)  # price, payment, contract number, consents …
    disputed: Mapped[bool] = mapped_column(default=False)  # 权属争议 recorded at registration
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(20))  # transferred, expired, corrected, surrendered

    parcel: Mapped[Parcel | None] = relationship()
    homestead: Mapped[Homestead | None] = relationship()
    asset: Mapped[CollectiveAsset | None] = relationship()
    division: Mapped[Division] = relationship()
    collective: Mapped[Collective] = relationship()
    derived_from: Mapped[Right | None] = relationship(remote_side=[id], foreign_keys=[derived_from_id])
    holders: Mapped[list[RightHolder]] = relationship(back_populates="right", order_by="RightHolder.id",
                                                      cascade="all, delete-orphan")
    encumbrances: Mapped[list[Encumbrance]] = relationship(back_populates="right", order_by="Encumbrance.id")
    freezes: Mapped[list[Freeze]] = relationship(back_populates="right", order_by="Freeze.id")

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def subject(self) -> tuple[str, str]:
        """(type, code) of the asset, as ledger entries name it."""
        if self.parcel is not None:
            return "parcel", self.parcel.code
        if self.homestead is not None:
            return "homestead", self.homestead.code
        return "collective_asset", self.asset.code

    def active_pledges(self) -> list[Encumbrance]:
        return [e for e in self.encumbrances if e.released_at is None]

    def active_freezes(self) -> list[Freeze]:
        return [f for f in self.freezes if f.lifted_at is None]


class RightHolder(Base):
    """One (co-)holder of a right and its share; the shares of a right sum to exactly one (SHARES-SUM)."""

    __tablename__ = "right_holders"
    __table_args__ = (
        CheckConstraint("share > 0 AND share <= 1", name="share_range"),
        CheckConstraint(
            "(CASE WHEN household_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN person_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN organisation_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN collective_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="exactly_one_holder",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    right_id: Mapped[int] = mapped_column(ForeignKey("rights.id"), index=True)
    holder_type: Mapped[HolderType] = mapped_column(Enum(HolderType, native_enum=False, length=16))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    collective_id: Mapped[int | None] = mapped_column(ForeignKey("collectives.id"), index=True)
    share: Mapped[Decimal] = mapped_column(Numeric(9, 6), default=Decimal(1))

    right: Mapped[Right] = relationship(back_populates="holders")
    household: Mapped[Household | None] = relationship()
    person: Mapped[Person | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    collective: Mapped[Collective | None] = relationship()

    @property
    def holder(self):
        return self.household or self.person or self.organisation or self.collective

    @property
    def public_name(self) -> str:
        """The name the public may see: organisations and collectives in full, people masked."""
        if self.organisation:
            return self.organisation.name
        if self.collective:
            return self.collective.name
        name = self.household.head_name if self.household else self.person.name
        return name[0] + "*" * max(len(name) - 2, 1) + (name[-1] if len(name) > 2 else "")


class Encumbrance(Base):
    """A pledge (抵押, 他项权利) of a right to a bank. Released once (released_at)."""

    __tablename__ = "encumbrances"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    right_id: Mapped[int] = mapped_column(ForeignKey("rights.id"), index=True)
    pledgee_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # 担保债权金额 (元)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    contract_number: Mapped[str] = mapped_column(String(40))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    right: Mapped[Right] = relationship(back_populates="encumbrances")
    pledgee: Mapped[Organisation] = relationship()


class Freeze(Base):
    """A freeze (查封) of a right by a court or authority. Lifted once (lifted_at)."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(primary_key=True)
    right_id: Mapped[int] = mapped_column(ForeignKey("rights.id"), index=True)
    authority: Mapped[str] = mapped_column(String(200))  # 开江县人民法院 …
    document_number: Mapped[str] = mapped_column(String(100))  # (2026)川1723执保123号
    reason: Mapped[str] = mapped_column(String(300))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    right: Mapped[Right] = relationship(back_populates="freezes")


class RegistryEvent(Base):
    """One change in the registry, pointing at its ledger entry: the timeline of an asset and of a right."""

    __tablename__ = "registry_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # the ledger entry kind
    action: Mapped[str] = mapped_column(String(40))  # register_asset, grant_contract_right, pledge …
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"), index=True)
    homestead_id: Mapped[int | None] = mapped_column(ForeignKey("homesteads.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("collective_assets.id"), index=True)
    right_id: Mapped[int | None] = mapped_column(ForeignKey("rights.id"), index=True)
    ledger_index: Mapped[int] = mapped_column(BigInteger, index=True)
    account: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    right: Mapped[Right | None] = relationship()
    parcel: Mapped[Parcel | None] = relationship()
    homestead: Mapped[Homestead | None] = relationship()
    asset: Mapped[CollectiveAsset | None] = relationship()

"""Contract terms as data (合同条款): what the parties agree, independent of how the contract is printed.

Terms are made by ``TermsSchema().load(...)`` (which fills the standard clauses and defaults of the kind) and
are immutable; ``to_json()`` gives the form that is stored, hashed and reloaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from exchange.registry.models import to_mu


@dataclass(frozen=True)
class Party:
    """One side of the contract. ``id_masked`` is never a full resident ID: a masked one (510115********1234),
    a household's 承包方编码 or an organisation's credit code."""

    name: str
    kind: str  # household | organisation | person | collective
    id_masked: str = ""
    address: str = ""  # 住所 (农村土地承包法 Art 40 requires it for land)
    representative: str = ""  # 法定代表人 / 负责人 / 户主


@dataclass(frozen=True)
class Asset:
    """What the contract is about: a parcel, a homestead and its house, a collective asset, or shares."""

    code: str  # 地块编码, 宗地代码, asset code, or the share plan
    name: str
    location: str = ""  # 坐落
    area_m2: Decimal | None = None  # 面积 (m², two decimals); shown in 亩 too
    quality_grade: str = ""  # 质量等级 (耕地质量等别)
    land_use: str = ""  # present use or category: 水田, 闲置校舍, 经营性建设用地 …
    boundaries: dict = field(default_factory=dict)  # 四至: {"east", "south", "west", "north"}
    description: str = ""  # house floor area and structure, equipment …
    shares: Decimal | None = None  # 股份数, for a share transfer

    @property
    def area_mu(self) -> Decimal | None:
        """The area in 亩 to two decimals (1 亩 = 10000/15 m²), as the contract prints it and rents per 亩 use."""
        return to_mu(self.area_m2) if self.area_m2 is not None else None


@dataclass(frozen=True)
class InKind:
    """Rent paid in produce (实物计租), valued at a fixed conversion price."""

    crop: str  # 稻谷, 小麦 …
    kg_per_mu: Decimal  # kilograms per 亩 per year
    yuan_per_kg: Decimal  # conversion price (元/公斤)


@dataclass(frozen=True)
class PaymentPlan:
    period_months: int = 12  # 12 yearly, 6 half-yearly, 3 quarterly, 1 monthly
    first_due: date | None = None  # the schema fills the start date when none is given
    align: str = "contract"  # contract: periods run from the start date; calendar: from 1 Jan / 1 Jul / …
    escalation_percent: Decimal | None = None  # rent rises by this percentage …
    escalation_every_years: int | None = None  # … every this many years (compounded)
    in_kind: InKind | None = None


@dataclass(frozen=True)
class ContractTerms:
    kind: str  # a contracts.KINDS code
    mode: str  # 出租, 转包, 入股, 转让, 出让, 合作, 抵押 …
    transferor: Party  # 甲方: the holder of the right (出租方, 流出方, 出让方, 抵押人 …)
    transferee: Party  # 乙方: who takes it (承租方, 流入方, 受让方, 抵押权人 …)
    issuer: str  # 发包方: the collective that owns the land or asset
    asset: Asset
    start: date
    end: date  # inclusive: a ten-year term from 2026-01-01 ends on 2035-12-31
    permitted_use: str  # for land the TDYT code 1–4 (种植业, 林业, 畜牧业, 渔业); otherwise a description
    price_kind: str  # rent | lump_sum
    amount: Decimal  # yuan, two decimals: rent per 亩 per year, rent per year, or the lump sum
    payment: PaymentPlan
    rights_and_duties: str
    expropriation: str  # who receives compensation on expropriation (征收补偿归属)
    liability: str  # 违约责任
    dispute_resolution: str  # 争议解决
    rent_basis: str = "per_year"  # for rent: per_mu (per 亩 per year) or per_year (the whole asset)
    use_description: str = ""  # what exactly: 水稻、油菜种植; 民宿经营 …
    right_number: str = ""  # the registry right the contract is drawn on (权利编号)
    deposit_applied: Decimal = Decimal("0.00")  # 保证金 applied to the price (yuan)
    other_terms: str = ""  # 其他约定

    def to_json(self) -> dict:
        """JSON-safe: dates ISO 8601, Decimals as strings; ``TermsSchema().load`` reads it back unchanged."""
        from contracts.schemas import TermsSchema

        return TermsSchema().dump(self)

"""Factories for contract terms drawn on real demo rights.

The fixtures run inside the per-test rolled-back transaction and a request context (``app_ctx``). ``right(kind)``
finds a demo right a contract of that kind can be drawn on; ``terms_input(kind, right)`` gives the JSON a form or
the workflow would send for it, with the parties' real registered names; ``load`` turns it into terms.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from contracts import KINDS, TermsSchema
from exchange.db import db
from exchange.registry.models import (
    Collective, CollectiveAsset, Encumbrance, Freeze, Household, Organisation, OrganisationKind, Right, RightHolder,
    RightType,
)

DEMO_VILLAGE = "511723100200"  # 金山村 (新宁镇)


def _collective() -> Collective:
    return db.session.scalar(select(Collective).where(Collective.division.has(code=DEMO_VILLAGE)))


def organisation(kind: str) -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind(kind))
                              .order_by(Organisation.id)).first()


def free_contract_right() -> Right:
    """A 金山村 household's active contract right: nothing derived from it, not pledged, frozen or disputed."""
    derived = aliased(Right)
    return db.session.scalars(select(Right).where(
        Right.right_type == RightType.contract, Right.ended_at.is_(None), Right.parcel_id.is_not(None),
        Right.collective_id == _collective().id, Right.disputed.is_(False),
        ~exists().where(derived.derived_from_id == Right.id),
        ~exists().where(and_(Encumbrance.right_id == Right.id, Encumbrance.released_at.is_(None))),
        ~exists().where(and_(Freeze.right_id == Right.id, Freeze.lifted_at.is_(None))),
    ).order_by(Right.id.desc()).limit(1)).first()


def homestead_use_right() -> Right:
    return db.session.scalars(select(Right).join(RightHolder).join(Household).where(
        Right.right_type == RightType.homestead_use, Right.ended_at.is_(None),
        Household.collective_id == _collective().id).order_by(Right.id)).first()


def asset_ownership(category: str) -> Right:
    return db.session.scalars(select(Right).join(CollectiveAsset, Right.asset_id == CollectiveAsset.id).where(
        Right.right_type == RightType.ownership, Right.ended_at.is_(None), CollectiveAsset.category == category,
        CollectiveAsset.collective_id == _collective().id)).first()


def pledged_management_right() -> Right:
    """The demo's management right (a household's parcel leased to the family farm, 2025–2034)."""
    return db.session.scalars(select(Right).where(Right.right_type == RightType.management,
                                                  Right.ended_at.is_(None)).order_by(Right.id)).first()


@pytest.fixture
def right(app_ctx):
    """right(kind) → a demo right a contract of ``kind`` can be drawn on (None for a share transfer)."""
    def find(kind: str) -> Right | None:
        found = {
            "land_management_transfer": free_contract_right, "homestead_lease": homestead_use_right,
            "construction_grant": lambda: asset_ownership("经营性建设用地"),
            "construction_lease": lambda: asset_ownership("经营性建设用地"),
            "asset_lease": lambda: asset_ownership("闲置校舍"), "mortgage": pledged_management_right,
            "share_transfer": lambda: None,
        }[kind]()
        assert found is not None or kind == "share_transfer", kind
        return found
    return find


def _party(holder) -> dict:
    if isinstance(holder, Household):
        return {"name": holder.head_name, "kind": "household", "id_masked": holder.code,
                "address": holder.address or holder.division.full_name, "representative": holder.head_name}
    if isinstance(holder, Organisation):
        return {"name": holder.name, "kind": "organisation", "id_masked": holder.credit_code,
                "address": "四川省开江县新宁镇", "representative": "李经理"}
    return {"name": holder.name, "kind": "collective", "id_masked": holder.credit_code,
            "address": holder.division.full_name, "representative": "理事长"}


def _asset(right: Right) -> dict:
    if right.parcel is not None:
        parcel = right.parcel
        return {"code": parcel.code, "name": parcel.name, "location": parcel.division.full_name,
                "area_m2": str(parcel.area_m2), "quality_grade": "二等地", "land_use": "水田",
                "boundaries": parcel.boundaries}
    if right.homestead is not None:
        homestead = right.homestead
        return {"code": homestead.code, "name": "宅基地及农房", "location": homestead.address or "",
                "area_m2": str(homestead.area_m2),
                "description": f"农房建筑面积 {homestead.house_floor_area_m2} 平方米，{homestead.house_structure}结构"}
    asset = right.asset
    return {"code": asset.code, "name": asset.name, "location": asset.location or asset.division.full_name,
            "area_m2": str(asset.area_m2), "land_use": asset.category}


USES = {"land_management_transfer": ("1", "水稻、油菜种植"), "homestead_lease": ("民宿经营", ""),
        "construction_grant": ("商业服务业", "乡村旅游接待中心"), "construction_lease": ("仓储物流", "农产品冷链仓储"),
        "asset_lease": ("农产品加工", "粮油初加工车间"), "mortgage": ("种植业", ""),
        "share_transfer": ("集体资产股份", "")}


@pytest.fixture
def terms_input(right):
    """terms_input(kind, source=None, **overrides) → the JSON terms of a contract of ``kind`` on ``source``
    (default: ``right(kind)``), between its real holder and a demo organisation (the bank for a mortgage)."""
    def make(kind: str, source: Right | None = None, **overrides) -> dict:
        source = source if source is not None else right(kind)
        transferee = organisation("bank" if kind == "mortgage" else "family_farm")
        lease = KINDS[kind].is_lease
        if kind == "share_transfer":
            members = db.session.scalars(select(Household).where(Household.collective_id == _collective().id)
                                         .order_by(Household.id).limit(2)).all()
            data = {"transferor": _party(members[0]), "transferee": _party(members[1]),
                    "issuer": _collective().name,
                    "asset": {"code": "GF-511723100200-2026", "name": "金山村集体资产股份", "shares": "3.50"}}
        else:
            data = {"transferor": _party(source.holders[0].holder), "transferee": _party(transferee),
                    "issuer": source.collective.name, "asset": _asset(source), "right_number": source.number}
        use, description = USES[kind]
        end = {"construction_grant": date(2066, 12, 31), "mortgage": date(2029, 12, 31),
               "share_transfer": date(2027, 3, 31)}.get(kind, date(2036, 12, 31))
        data.update({
            "kind": kind, "start": "2027-01-01", "end": end.isoformat(), "permitted_use": use,
            "use_description": description,
            "price_kind": "rent" if lease else "lump_sum",
            "amount": {"land_management_transfer": "650.00", "homestead_lease": "12000.00",
                       "construction_lease": "45000.00", "asset_lease": "36000.00",
                       "construction_grant": "1980000.00", "mortgage": "200000.00",
                       "share_transfer": "8400.00"}[kind],
            "payment": {"period_months": 12, "first_due": "2027-01-31"} if lease else {"first_due": "2027-01-15"},
        })
        if kind == "land_management_transfer":
            data["rent_basis"] = "per_mu"
        data.update(overrides)
        return data
    return make


@pytest.fixture
def load():
    return lambda data: TermsSchema().load(data)


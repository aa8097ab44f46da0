"""Reads of the registry shared by the pages and the API (one query per list, no N+1)."""
from __future__ import annotations

from flask import abort
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry.models import (
    CollectiveAsset, Homestead, Household, Organisation, Parcel, RegistryEvent, Right, RightHolder,
)

RIGHT_LOADS = (
    selectinload(Right.holders).selectinload(RightHolder.household),
    selectinload(Right.holders).selectinload(RightHolder.organisation),
    selectinload(Right.holders).selectinload(RightHolder.collective),
    selectinload(Right.holders).selectinload(RightHolder.person),
    selectinload(Right.encumbrances), selectinload(Right.freezes),
)


def one_or_404(model, **where):
    item = db.session.scalar(select(model).filter_by(**where))
    if item is None:
        abort(404)
    return item


def right_or_404(number: str) -> Right:
    right = db.session.scalar(select(Right).where(Right.number == number).options(*RIGHT_LOADS))
    if right is None:
        abort(404)
    return right


def rights_on(asset) -> list[Right]:
    column = {Parcel: Right.parcel_id, Homestead: Right.homestead_id, CollectiveAsset: Right.asset_id}[type(asset)]
    return list(db.session.scalars(select(Right).where(column == asset.id).options(*RIGHT_LOADS).order_by(Right.id)))


def timeline(asset) -> list[RegistryEvent]:
    column = {Parcel: RegistryEvent.parcel_id, Homestead: RegistryEvent.homestead_id,
              CollectiveAsset: RegistryEvent.asset_id}[type(asset)]
    return list(db.session.scalars(select(RegistryEvent).where(column == asset.id)
                                   .options(selectinload(RegistryEvent.right)).order_by(RegistryEvent.ledger_index)))


def household_rights(household: Household) -> list[Right]:
    return list(db.session.scalars(
        select(Right).join(RightHolder).where(RightHolder.household_id == household.id)
        .options(*RIGHT_LOADS, selectinload(Right.parcel), selectinload(Right.homestead), selectinload(Right.asset))
        .order_by(Right.ended_at.is_not(None), Right.right_type, Right.id)))


def organisation_rights(organisation: Organisation) -> list[Right]:
    return list(db.session.scalars(
        select(Right).join(RightHolder).where(RightHolder.organisation_id == organisation.id)
        .options(*RIGHT_LOADS).order_by(Right.id)))


def parcels_in(division: Division, land_class: str | None = None) -> list[Parcel]:
    query = select(Parcel).join(Division, Parcel.division_id == Division.id).where(Division.code.startswith(division.code))
    if land_class:
        query = query.where(Parcel.land_class == land_class)
    return list(db.session.scalars(query.order_by(Parcel.code)))


def search(q: str, within: Division | None, limit: int = 50) -> dict[str, list]:
    """Parcels by code, households by code or head name, villages by name — inside ``within``."""
    q = q.strip()
    if not q:
        return {"parcels": [], "households": [], "villages": []}
    like = f"%{q}%"
    scope = (lambda column: column.startswith(within.code)) if within else (lambda column: True)
    parcels = db.session.scalars(
        select(Parcel).join(Division, Parcel.division_id == Division.id)
        .where(or_(Parcel.code.startswith(q), Parcel.name == q), scope(Division.code)).limit(limit)).all()
    households = db.session.scalars(
        select(Household).join(Division, Household.division_id == Division.id)
        .where(or_(Household.code.startswith(q), Household.head_name.like(like)), scope(Division.code))
        .limit(limit)).all()
    villages = db.session.scalars(
        select(Division).where(Division.name.like(like), Division.level == "village", scope(Division.code))
        .limit(limit)).all()
    return {"parcels": list(parcels), "households": list(households), "villages": list(villages)}

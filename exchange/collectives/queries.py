from __future__ import annotations

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exchange.collectives.models import Distribution, Meeting, Motion, Payout, ShareMovement, SharePlan
from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry.models import Collective, Household


def collective_or_404(village_code: str) -> Collective:
    collective = db.session.scalar(select(Collective).join(Division, Collective.division_id == Division.id)
                                   .where(Division.code == village_code))
    if collective is None:
        abort(404)
    return collective


def meetings(collective: Collective) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.collective_id == collective.id)
                                   .options(selectinload(Meeting.motions)).order_by(Meeting.held_on.desc(), Meeting.id.desc())))


def resolutions(collective: Collective) -> list[Motion]:
    return list(db.session.scalars(select(Motion).join(Meeting).where(Meeting.collective_id == collective.id,
                                                                      Motion.passed.is_(True))
                                   .order_by(Meeting.held_on, Motion.id)))


def share_plan(collective: Collective) -> SharePlan | None:
    return db.session.scalar(select(SharePlan).where(SharePlan.collective_id == collective.id))


def distributions(collective: Collective) -> list[Distribution]:
    return list(db.session.scalars(select(Distribution).where(Distribution.collective_id == collective.id)
                                   .order_by(Distribution.year.desc())))


def distribution_or_404(collective: Collective, year: int) -> Distribution:
    item = db.session.scalar(select(Distribution).where(Distribution.collective_id == collective.id,
                                                        Distribution.year == year)
                             .options(selectinload(Distribution.payouts).selectinload(Payout.household)))
    if item is None:
        abort(404)
    return item


def household_or_404(collective: Collective, code: str) -> Household:
    """A household of this collective; one of another collective is a 404 like one that does not exist."""
    household = db.session.scalar(select(Household).where(Household.code == code,
                                                          Household.collective_id == collective.id))
    if household is None:
        abort(404)
    return household


def plan_households(plan: SharePlan) -> list[Household]:
    """Households that have ever held shares of the plan, by code."""
    return list(db.session.scalars(select(Household).where(Household.id.in_(
        select(ShareMovement.household_id).where(ShareMovement.plan_id == plan.id))).order_by(Household.code)))


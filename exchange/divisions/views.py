"""Browsing the administrative tree within one's jurisdiction."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required
from sqlalchemy import func, select

from exchange.access import require
from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry.models import Household, Parcel

bp = Blueprint("divisions", __name__)


def division_or_404(code: str) -> Division:
    division = db.session.scalar(select(Division).where(Division.code == code))
    if division is None:
        abort(404)
    return division


def counts_by_child(division: Division, model) -> dict[int, int]:
    """One grouped query for all children (no N+1)."""
    rows = db.session.execute(
        select(Division.code, func.count(model.id)).select_from(model)
        .join(Division, model.division_id == Division.id)
        .where(Division.code.startswith(division.code)).group_by(Division.code)
    ).all()
    totals: dict[int, int] = {}
    for child in division.children:
        totals[child.id] = sum(n for code, n in rows if code.startswith(child.code))
    return totals


@bp.get("/divisions/<code>")
@login_required
def show(code: str):
    division = division_or_404(code)
    require("division.view", division, "division", division.code)
    return render_template(
        "divisions/show.html", division=division,
        households=counts_by_child(division, Household), parcels=counts_by_child(division, Parcel),
    )

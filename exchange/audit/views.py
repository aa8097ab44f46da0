"""The audit log page: staff actions and refusals, newest first, within the viewer's jurisdiction."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from exchange.access import require
from exchange.accounts.models import Account, Role
from exchange.audit.models import AuditEvent
from exchange.db import db
from exchange.divisions.models import Division

bp = Blueprint("web_audit", __name__)

PAGE_SIZE = 100


@bp.get("/audit")
@login_required
def index():
    require("audit.view")
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if current_user.role != Role.admin:
        # Staff see the actions of accounts inside their jurisdiction (and anonymous refusals).
        inside = select(Account.id).join(Division, Account.division_id == Division.id).where(
            Division.code.startswith(current_user.division.code))
        query = query.where(or_(AuditEvent.account_id.in_(inside), AuditEvent.account_id.is_(None)))
    before = request.args.get("before", type=int)
    if before:
        query = query.where(AuditEvent.id < before)
    events = db.session.scalars(query.limit(PAGE_SIZE)).all()
    return render_template("audit/index.html", events=events, page_size=PAGE_SIZE)

"""Writing audit events. A refusal discards the request's pending work, then records itself."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user
from exchange.audit.models import AuditEvent, Outcome
from exchange.db import db


def _event(action: str, outcome: Outcome, object_type=None, object_id=None, detail=None, account=None) -> AuditEvent:
    if account is None and has_request_context() and current_user and current_user.is_authenticated:
        account = current_user
    event = AuditEvent(
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
        account_id=getattr(account, "id", None),
        username=getattr(account, "username", None),
    )
    if has_request_context():
        event.remote_addr = request.remote_addr
        event.method = request.method
        event.path = request.path[:500]
    return event


def record(action: str, object_type=None, object_id=None, detail=None, account=None) -> AuditEvent:
    """Record a carried-out action in the caller's transaction (it commits with the change)."""
    event = _event(action, Outcome.done, object_type, object_id, detail, account)
    db.session.add(event)
    return event


def record_refusal(action: str, outcome: Outcome, object_type=None, object_id=None, detail=None, account=None) -> None:
    """Record a refusal and commit it alone: whatever the request had begun is rolled back first,
    so a refused request leaves nothing half-written (and on SQLite holds no write lock)."""
    event = _event(action, outcome, object_type, object_id, detail, account)
    db.session.rollback()
    db.session.add(event)
    db.session.commit()

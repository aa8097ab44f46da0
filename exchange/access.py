"""The single place that decides whether an account may act on an object, by role and jurisdiction.

Every refusal is answered with 403 and written to the audit log.
"""
from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from exchange.accounts.models import Account, Role
from exchange.audit.models import Outcome
from exchange.audit.operations import record_refusal
from exchange.divisions.models import Division

V, T, C, B, D, A = Role.village, Role.township, Role.county, Role.bank, Role.bidder, Role.admin

# action → roles that may perform it. Staff roles act only inside their own jurisdiction.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "registry.view": frozenset({V, T, C}),
    "registry.edit": frozenset({V, C}),
    "registry.import": frozenset({C}),
    "registry.freeze": frozenset({C}),  # courts' and authorities' freezes are recorded by the county
    "registry.correct": frozenset({C}),
    "collective.manage": frozenset({V}),
    "collective.view": frozenset({V, T, C}),
    "listing.submit": frozenset({V}),
    "listing.review": frozenset({T, C}),
    "exchange.run": frozenset({C}),
    "bidder.qualify": frozenset({C}),
    "division.view": frozenset({V, T, C}),
    "audit.view": frozenset({T, C, A}),
    "accounts.manage": frozenset({A}),
    "ledger.witness": frozenset({C, A}),
    "collateral.apply": frozenset({B}),
    "collateral.register": frozenset({T, C}),
    "bid": frozenset({D}),
}


def may(account: Account | None, action: str, division: Division | None = None) -> bool:
    """Whether ``account`` may perform ``action`` on an object located in ``division``."""
    if account is None or not getattr(account, "is_authenticated", False) or not account.active:
        return False
    if account.role not in PERMISSIONS.get(action, frozenset()):
        return False
    if account.role.is_staff and division is not None:
        return account.division is not None and account.division.contains(division)
    return True


def require(action: str, division: Division | None = None, object_type: str | None = None, object_id=None) -> None:
    """Abort with 403 (and an audit record) unless the current account may act."""
    if may(current_user, action, division):
        return
    if not current_user.is_authenticated:
        abort(401)
    record_refusal(
        action, Outcome.denied, object_type, object_id,
        detail={"division": division.code if division else None,
                "jurisdiction": current_user.division.code if current_user.division else None},
    )
    if current_user.role not in PERMISSIONS.get(action, frozenset()):
        abort(403, description=_("您的角色无权执行此操作（%(action)s）。", action=action))
    abort(403, description=_(
        "该对象位于“%(place)s”，不在您的管辖范围“%(own)s”内，操作被拒绝并已记录。",
        place=division.full_name if division else "-",
        own=current_user.division.full_name if current_user.division else "-",
    ))

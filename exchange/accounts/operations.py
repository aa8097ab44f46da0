"""Account operations. They flush; the caller commits."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from exchange.accounts.models import ROLE_NAMES, Account, ApiKey, Role, hash_api_key
from exchange.audit import operations as audit
from exchange.audit.models import Outcome
from exchange.db import db, utcnow
from exchange.divisions.models import LEVEL_NAMES, Division, DivisionLevel

password_hasher = PasswordHasher()
# Verifying against this keeps a wrong user name as slow as a wrong password (no user enumeration).
_DUMMY_HASH = password_hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def authenticate(username: str, password: str) -> Account | None:
    account = db.session.scalar(select(Account).where(Account.username == username.strip()))
    try:
        password_hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        account = None
    else:
        if account is not None and password_hasher.check_needs_rehash(account.password_hash):
            account.password_hash = password_hasher.hash(password)
    if account is None or not account.active:
        audit.record_refusal("login", Outcome.failed_login, "account", None, detail={"username": username[:64]})
        return None
    account.last_login_at = utcnow()
    return account


def create_account(username: str, password: str, role: Role, display_name: str,
                   division: Division | None = None, institution: str | None = None) -> Account:
    from flask_babel import gettext as _

    if db.session.scalar(select(Account.id).where(Account.username == username)):
        raise AccountError("ACCOUNT-EXISTS", "username", _("用户名“%(name)s”已被使用，请换一个。", name=username))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("PASSWORD-SHORT", "password",
                           _("密码至少需要%(n)d个字符。", n=MIN_PASSWORD_LENGTH))
    if role.is_staff:
        wanted = DivisionLevel(role.value)
        if division is None or division.level != wanted:
            raise AccountError("ROLE-JURISDICTION", "division",
                               _("%(role)s账户必须绑定一个%(level)s级行政区划。",
                                 role=ROLE_NAMES[role], level=LEVEL_NAMES[wanted]))
    if role == Role.bank and not institution:
        raise AccountError("BANK-INSTITUTION", "institution", _("银行账户必须填写所属金融机构。"))
    account = Account(
        username=username, display_name=display_name, role=role,
        password_hash=password_hasher.hash(password),
        division=division if role.is_staff else None,
        institution=institution if role == Role.bank else None,
    )
    db.session.add(account)
    db.session.flush()
    return account


def create_api_key(account: Account, name: str) -> tuple[ApiKey, str]:
    """Return the stored key and its secret; the secret is shown once and never stored in clear."""
    secret = ApiKey.new_secret()
    key = ApiKey(account=account, name=name, prefix=secret[:10], key_hash=hash_api_key(secret))
    db.session.add(key)
    db.session.flush()
    audit.record("api_key.create", "api_key", key.id, account=account)
    return key, secret


def revoke_api_key(key: ApiKey) -> None:
    key.revoked_at = utcnow()
    audit.record("api_key.revoke", "api_key", key.id)

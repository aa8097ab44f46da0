"""Accounts, their roles and jurisdictions, and API keys for programmatic clients (banks)."""
from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.divisions.models import Division


class Role(enum.Enum):
    village = "village"  # operator of a village collective economic organization (村集体经济组织)
    township = "township"  # township rural economy / exchange service station (乡镇农经站)
    county = "county"  # county rural property rights exchange centre (县农村产权交易中心)
    bank = "bank"  # loan officer at a financial institution
    bidder = "bidder"  # household, co-operative, family farm or company taking part in the exchange
    admin = "admin"  # platform operator: accounts, keys, configuration

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES


STAFF_ROLES = frozenset({Role.village, Role.township, Role.county})

ROLE_NAMES = {
    Role.village: _l("村集体"),
    Role.township: _l("乡镇"),
    Role.county: _l("县交易中心"),
    Role.bank: _l("银行"),
    Role.bidder: _l("竞买人"),
    Role.admin: _l("管理员"),
}



class Account(UserMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "role not in ('village', 'township', 'county') or division_id is not null",
            name="staff_has_jurisdiction",
        ),
        CheckConstraint("role != 'bank' or institution is not null", name="bank_has_institution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    institution: Mapped[str | None] = mapped_column(String(100))  # a bank's name, for bank accounts
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    division: Mapped[Division | None] = relationship(lazy="joined")
    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="account")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<Account {self.username} {self.role.value}>"


API_KEY_PREFIX = "rpx_"


def hash_api_key(key: str) -> str:
    """API keys are 256-bit random strings, so a plain SHA-256 is a sufficient one-way store."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown to the owner to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(back_populates="api_keys", lazy="joined")

    @staticmethod
    def new_secret() -> str:
        return API_KEY_PREFIX + secrets.token_urlsafe(32)

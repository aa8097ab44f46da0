from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, DateTime, Enum, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.registry.models import Encumbrance, Organisation, Right


class CollateralStep(enum.Enum):
    applied = "applied"  # the bank applied to register a mortgage
    registered = "registered"  # township/county registered it: the right is encumbered
    refused = "refused"  # registration refused, with reasons
    released = "released"  # the bank released it (loan repaid)
    disposal_requested = "disposal_requested"  # default: the bank asks for the collateral to be listed


class CollateralApplication(Base):
    """A bank's application for a mortgage on a right; its state is the newest of its events."""

    __tablename__ = "collateral_applications"
    __table_args__ = (CheckConstraint("loan_amount > 0 AND valuation > 0", name="amounts_positive"),
                      CheckConstraint("end_date > start_date", name="term_order"))

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    right_id: Mapped[int] = mapped_column(ForeignKey("rights.id"), index=True)
    loan_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    valuation: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    valuation_basis: Mapped[dict] = mapped_column(JSON)  # {"method": "rent"|"appraisal", …}
    guarantee: Mapped[str] = mapped_column(Text, default="")  # 担保 (e.g. 农业融资担保公司)
    insurance: Mapped[str] = mapped_column(Text, default="")  # 保险 (e.g. 农业保险保单号)
    contract_number: Mapped[str] = mapped_column(String(40))
    consents: Mapped[dict] = mapped_column(JSON, default=dict)
    applied_by: Mapped[str] = mapped_column(String(64))
    encumbrance_id: Mapped[int | None] = mapped_column(ForeignKey("encumbrances.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    bank: Mapped[Organisation] = relationship()
    right: Mapped[Right] = relationship()
    encumbrance: Mapped[Encumbrance | None] = relationship()
    events: Mapped[list[CollateralEvent]] = relationship(back_populates="application", order_by="CollateralEvent.id")

    @property
    def step(self) -> CollateralStep:
        return self.events[-1].step if self.events else CollateralStep.applied


class CollateralEvent(Base):
    __tablename__ = "collateral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("collateral_applications.id"), index=True)
    step: Mapped[CollateralStep] = mapped_column(Enum(CollateralStep, native_enum=False, length=24))
    account: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    application: Mapped[CollateralApplication] = relationship(back_populates="events")

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, BigInteger, CheckConstraint, Date, DateTime, Enum, ForeignKey, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.registry.models import Encumbrance, Organisation, Right
from exchange.transfers.models import Listing


class CollateralStep(enum.Enum):
    applied = "applied"  # the bank applied to register a mortgage
    registered = "registered"  # township/county registered it: the right is encumbered
    refused = "refused"  # registration refused, with reasons
    released = "released"  # the bank released it (loan repaid)
    disposal_requested = "disposal_requested"  # default: the bank asks for the collateral to be listed
    disposed = "disposed"  # 处置完毕: the disposal's transfer is registered, the pledge discharged (处置清偿)


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
    # On default (违约处置): what the bank declared still owed, the most its share of the proceeds can be, and its
    # consent to the listing ({"bank", "credit_code", "encumbrance", "account", "ledger_index"}), given by the
    # pledgee bank's own account when it asked for disposal.
    outstanding: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    disposal_consent: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    bank: Mapped[Organisation] = relationship()
    right: Mapped[Right] = relationship()
    encumbrance: Mapped[Encumbrance | None] = relationship()
    events: Mapped[list[CollateralEvent]] = relationship(back_populates="application", order_by="CollateralEvent.id")
    disposal_listings: Mapped[list[DisposalListing]] = relationship(back_populates="application",
                                                                    order_by="DisposalListing.id")
    proceeds: Mapped[list[DisposalProceeds]] = relationship(back_populates="application",
                                                            order_by="DisposalProceeds.id")

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


class DisposalListing(Base):
    """A listing on the exchange that disposes of a defaulted loan's collateral (抵押物处置). A failed listing
    (流拍) may be followed by another; at most one of them is open at a time (checked by the operation)."""

    __tablename__ = "collateral_disposal_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("collateral_applications.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), unique=True)
    submitted_by: Mapped[str] = mapped_column(String(64))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    application: Mapped[CollateralApplication] = relationship(back_populates="disposal_listings")
    listing: Mapped[Listing] = relationship()


class DisposalProceeds(Base):
    """Where one payment by the buyer of a disposed collateral went: to the pledgee bank first, up to the
    outstanding amount it declared, the remainder to the right holder. One or two rows per payment."""

    __tablename__ = "collateral_disposal_proceeds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      CheckConstraint("recipient IN ('bank', 'holder')", name="recipient_known"),
                      UniqueConstraint("payment_id", "recipient", name="one_share_per_payment"))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("collateral_applications.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("contract_payments.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(8))  # bank | holder
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    paid_on: Mapped[date] = mapped_column(Date)
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    application: Mapped[CollateralApplication] = relationship(back_populates="proceeds")

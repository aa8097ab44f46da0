"""The exchange workflow (挂牌交易, domain.md §4): listings and their steps, bidders' interest and deposits, bids,
result objections, contracts with their signatures and rent schedules, and the holiday table for working days.

A listing's ``state`` is where it stands; its ``events`` say who moved it there, when, and at which ledger
index. ``version`` grows with every change: a state-changing request carries the version it saw and a stale
one is refused (see ``operations.expect_version``).
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, BigInteger, Boolean, CheckConstraint, Date, DateTime, Enum, ForeignKey, Index, Integer, Numeric, String,
    Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.accounts.models import Account
from exchange.db import Base, utcnow
from exchange.divisions.models import Division
from exchange.registry.models import Collective, CollectiveAsset, Household, Organisation, Right


class ListingState(enum.Enum):
    submitted = "submitted"  # the village submitted it; awaits the township
    accepted = "accepted"  # the township accepted it for review
    listed = "listed"  # approved: public notice and interest registration run
    auction = "auction"  # several qualified bidders: the online auction runs
    awarded = "awarded"  # a winner at a price; result publicity and objection window
    contracting = "contracting"  # objection window closed: contract drafted, reviewed, signed
    signed = "signed"  # both parties signed; awaits settlement
    settled = "settled"  # price and deposits recorded
    registered = "registered"  # the registry's operations ran and the certificate is issued
    rejected = "rejected"
    withdrawn = "withdrawn"
    failed = "failed"  # 流拍: no qualified bidder
    annulled = "annulled"  # after the award: an objection upheld or another reason


OPEN_STATES = {ListingState.submitted, ListingState.accepted, ListingState.listed, ListingState.auction,
               ListingState.awarded, ListingState.contracting, ListingState.signed, ListingState.settled}
FINAL_STATES = {ListingState.registered, ListingState.rejected, ListingState.withdrawn, ListingState.failed,
                ListingState.annulled}
PUBLIC_STATES = {ListingState.listed, ListingState.auction, ListingState.awarded, ListingState.contracting,
                 ListingState.signed, ListingState.settled, ListingState.registered, ListingState.failed,
                 ListingState.annulled}


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("reserve_price > 0", name="reserve_positive"),
        CheckConstraint("end_date > start_date", name="term_order"),
        CheckConstraint("(right_id IS NOT NULL) OR (asset_id IS NOT NULL)", name="has_subject"),
        # The public board (board_queries): counts per state under the kind and township filters, read from the
        # index alone; and the same columns in id order, so that a page of a section, newest first, is found by
        # walking index entries rather than table rows, however deep the page.
        Index("ix_listings_board_filter", "state", "kind", "division_id"),
        Index("ix_listings_board_order", "id", "state", "kind", "division_id"),
        # The statistics: deals by the time of their award, failures by their auction's end or notice's end.
        Index("ix_listings_stats_awarded", "state", "awarded_at"),
        Index("ix_listings_stats_failed", "state", "auction_ends_at", "notice_ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 511723-GP-2026-000001
    kind: Mapped[str] = mapped_column(String(32))  # contracts.KINDS code
    mode: Mapped[str] = mapped_column(String(20))  # 出租, 转包, 入股, 转让, 出让
    right_id: Mapped[int | None] = mapped_column(ForeignKey("rights.id"), index=True)  # the right it comes from
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("collective_assets.id"), index=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)  # where the asset lies
    title: Mapped[str] = mapped_column(String(200))
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    reserve_price: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # 底价 (元; yearly rent or lump sum)
    price_unit: Mapped[str] = mapped_column(String(16))  # per_year | lump_sum
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    permitted_use: Mapped[str] = mapped_column(String(100))
    payment_terms: Mapped[str] = mapped_column(Text)
    bidder_conditions: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[dict] = mapped_column(JSON, default=dict)  # consents, resolution evidence, county review
    resolution_id: Mapped[int | None] = mapped_column(ForeignKey("collective_motions.id"))
    deposit: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))  # 保证金 per bidder
    increment: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # 加价幅度
    auction_minutes: Mapped[int] = mapped_column(Integer, default=60)
    extension_minutes: Mapped[int] = mapped_column(Integer, default=5)  # a bid in the last N minutes extends by N
    notice_working_days: Mapped[int] = mapped_column(Integer, default=10)
    objection_working_days: Mapped[int] = mapped_column(Integer, default=5)
    state: Mapped[ListingState] = mapped_column(Enum(ListingState, native_enum=False, length=16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    notice_starts_on: Mapped[date | None] = mapped_column(Date)
    notice_ends_on: Mapped[date | None] = mapped_column(Date)  # interest registration closes at its end
    calendar_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    auction_starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    auction_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    priority_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # LAND-PRIORITY window
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("listing_interests.id", use_alter=True))
    award_price: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    awarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    objection_ends_on: Mapped[date | None] = mapped_column(Date)
    new_right_id: Mapped[int | None] = mapped_column(ForeignKey("rights.id"))
    certificate_number: Mapped[str | None] = mapped_column(String(40))
    relisted_from_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    exit_reason: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    right: Mapped[Right | None] = relationship(foreign_keys=[right_id])
    new_right: Mapped[Right | None] = relationship(foreign_keys=[new_right_id])
    asset: Mapped[CollectiveAsset | None] = relationship()
    collective: Mapped[Collective] = relationship()
    division: Mapped[Division] = relationship()
    events: Mapped[list[ListingEvent]] = relationship(back_populates="listing", order_by="ListingEvent.id")
    interests: Mapped[list[Interest]] = relationship(back_populates="listing", order_by="Interest.id",
                                                     foreign_keys="Interest.listing_id")
    bids: Mapped[list[Bid]] = relationship(back_populates="listing", order_by="Bid.id")
    objections: Mapped[list[ResultObjection]] = relationship(back_populates="listing", order_by="ResultObjection.id")
    contract: Mapped[Contract | None] = relationship(back_populates="listing", uselist=False)
    winner: Mapped[Interest | None] = relationship(foreign_keys=[winner_id], post_update=True)
    relisted_from: Mapped[Listing | None] = relationship(remote_side=[id])


class ListingEvent(Base):
    __tablename__ = "listing_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="events")


class PartyKind(enum.Enum):
    household = "household"  # a farming household (a member of some collective, or not)
    organisation = "organisation"  # company, co-operative, family farm


class BidderProfile(Base):
    """Who a bidder account acts for, a household (member status comes from the registry) or an organisation,
    and the facts qualification looks at."""

    __tablename__ = "bidder_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    party_kind: Mapped[PartyKind] = mapped_column(Enum(PartyKind, native_enum=False, length=16))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    id_masked: Mapped[str] = mapped_column(String(20), default="")  # masked ID or the credit code
    town_resident: Mapped[bool] = mapped_column(Boolean, default=False)  # 城镇居民 (HOMESTEAD-NO-SALE)
    farming_capacity: Mapped[str] = mapped_column(Text, default="")  # 经营能力: machinery, experience, staff
    contact: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")  # 住所: the contract names it (Art 40)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    account: Mapped[Account] = relationship()
    household: Mapped[Household | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()


class Qualification(enum.Enum):
    pending = "pending"  # registered, awaits the township
    county_review = "county_review"  # LAND-CAPITAL-REVIEW: awaits the county
    qualified = "qualified"
    refused = "refused"


class DepositState(enum.Enum):
    due = "due"
    held = "held"  # paid to the exchange's account
    applied = "applied"  # the winner's deposit counts toward the price
    refunded = "refunded"


class Interest(Base):
    """A bidder's registration of interest (意向登记) in one listing, its qualification and deposit."""

    __tablename__ = "listing_interests"
    __table_args__ = (UniqueConstraint("listing_id", "account_id", name="one_per_bidder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("bidder_profiles.id"))
    is_member: Mapped[bool] = mapped_column(Boolean, default=False)  # of the listing's collective (LAND-PRIORITY)
    plan: Mapped[str] = mapped_column(Text, default="")  # intended use and business plan
    qualification: Mapped[Qualification] = mapped_column(Enum(Qualification, native_enum=False, length=16))
    qualification_note: Mapped[str] = mapped_column(Text, default="")
    county_review: Mapped[str | None] = mapped_column(String(60))  # review number (LAND-CAPITAL-REVIEW)
    deposit_state: Mapped[DepositState] = mapped_column(Enum(DepositState, native_enum=False, length=16))
    deposit_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))
    deposit_reference: Mapped[str | None] = mapped_column(String(60))  # bank transfer reference
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="interests", foreign_keys=[listing_id])
    account: Mapped[Account] = relationship()
    profile: Mapped[BidderProfile] = relationship()

    @property
    def may_bid(self) -> bool:
        return self.qualification == Qualification.qualified and self.deposit_state == DepositState.held


class Bid(Base):
    __tablename__ = "listing_bids"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    interest_id: Mapped[int] = mapped_column(ForeignKey("listing_interests.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    kind: Mapped[str] = mapped_column(String(16), default="bid")  # bid | offer (single bidder) | match (priority)
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="bids")
    interest: Mapped[Interest] = relationship()


class ResultObjection(Base):
    """An objection raised during the result publicity (成交公示) and how the township decided it."""

    __tablename__ = "listing_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="objections")


class ContractState(enum.Enum):
    draft = "draft"
    reviewed = "reviewed"  # the township checked the terms (and corrected unlawful ones)
    signed = "signed"


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    terms: Mapped[dict] = mapped_column(JSON)  # contracts.TermsSchema dump
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical terms: what the parties accept
    state: Mapped[ContractState] = mapped_column(Enum(ContractState, native_enum=False, length=16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date, index=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="contract")
    division: Mapped[Division] = relationship()
    signatures: Mapped[list[ContractSignature]] = relationship(back_populates="contract",
                                                                order_by="ContractSignature.id")
    schedule: Mapped[list[ScheduleItem]] = relationship(back_populates="contract", order_by="ScheduleItem.number")


class ContractSignature(Base):
    __tablename__ = "contract_signatures"
    __table_args__ = (UniqueConstraint("contract_id", "party", name="one_per_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    party: Mapped[str] = mapped_column(String(16))  # transferor | transferee
    account: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    contract: Mapped[Contract] = relationship(back_populates="signatures")


class ScheduleItem(Base):
    """One instalment of a contract's rent schedule, and what has been paid against it."""

    __tablename__ = "contract_schedule"
    __table_args__ = (UniqueConstraint("contract_id", "number", name="one_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    in_kind_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    paid: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))

    contract: Mapped[Contract] = relationship(back_populates="schedule")
    payments: Mapped[list[Payment]] = relationship(back_populates="item", order_by="Payment.id")

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid


class Payment(Base):
    __tablename__ = "contract_payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("contract_schedule.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(60), default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    item: Mapped[ScheduleItem] = relationship(back_populates="payments")


class Holiday(Base):
    """A day the county's staff recorded for a year the calendar library does not cover: a public holiday
    (is_workday false) or a make-up working day on a weekend (is_workday true)."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(60))
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

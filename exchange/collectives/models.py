"""Members, meetings and resolutions, inventories, share plans and holdings, income and distributions.

Everything here is history: membership is the newest event of a person, a household's shares are the sum of
its share movements, a distribution is a computed list fixed when it is made. Rows are added, not edited.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, DateTime, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.registry.models import Collective, CollectiveAsset, Household, Organisation, Person


class MemberEventKind(enum.Enum):
    initial_roll = "initial_roll"  # 初始名册: listed for confirmation
    application = "application"  # 申请加入
    confirmation = "confirmation"  # 经决议确认为成员
    birth = "birth"  # 出生 (child of members, confirmed by resolution like any other)
    marriage_in = "marriage_in"  # 婚入
    marriage_out = "marriage_out"  # 婚出 (loses membership when settled in the other collective)
    death = "death"  # 死亡
    moved_to_town = "moved_to_town"  # 进城落户: keeps membership and its rights
    voluntary_exit = "voluntary_exit"  # 自愿有偿退出
    loss_by_resolution = "loss_by_resolution"  # 经决议丧失成员身份


JOINING = {MemberEventKind.confirmation}
LEAVING = {MemberEventKind.marriage_out, MemberEventKind.death, MemberEventKind.voluntary_exit,
           MemberEventKind.loss_by_resolution}
CANDIDATE = {MemberEventKind.initial_roll, MemberEventKind.application, MemberEventKind.birth,
             MemberEventKind.marriage_in}


class MeetingKind(enum.Enum):
    assembly = "assembly"  # 成员大会
    representatives = "representatives"  # 成员代表会议


class MotionKind(enum.Enum):
    membership = "membership"  # 成员身份确认
    asset_lease = "asset_lease"  # 集体资产出租、发包
    asset_disposal = "asset_disposal"  # 集体资产处分
    construction_land = "construction_land"  # 集体经营性建设用地出让、出租
    outsider_contract = "outsider_contract"  # 发包给本集体以外的单位或个人
    share_plan = "share_plan"  # 股份量化方案
    share_exit = "share_exit"  # 股权有偿退出
    distribution = "distribution"  # 收益分配方案
    other = "other"


# Motions that need 2/3 of all members or representatives (COLLECTIVE-2-3, 农村土地承包法 Art 52,
# 土地管理法 Art 63, 民法典 Art 261); the rest need a majority of those present.
TWO_THIRDS_KINDS = {MotionKind.asset_lease, MotionKind.asset_disposal, MotionKind.construction_land,
                    MotionKind.outsider_contract, MotionKind.share_plan, MotionKind.share_exit,
                    MotionKind.distribution, MotionKind.membership}


class Notice(Base):
    """A public notice (公示) of a membership roll, open for objections for a configured number of days."""

    __tablename__ = "collective_notices"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    person_ids: Mapped[list] = mapped_column(JSON, default=list)
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    collective: Mapped[Collective] = relationship()
    objections: Mapped[list[Objection]] = relationship(back_populates="notice", order_by="Objection.id")


class Objection(Base):
    """An objection (异议) raised during a notice, and how it was handled."""

    __tablename__ = "collective_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("collective_notices.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))  # whom it concerns
    raised_by: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)  # what was decided, by whom
    upheld: Mapped[bool | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    notice: Mapped[Notice] = relationship(back_populates="objections")
    person: Mapped[Person | None] = relationship()


class Meeting(Base):
    """A members' assembly or representatives' meeting with its attendance."""

    __tablename__ = "collective_meetings"
    __table_args__ = (CheckConstraint("attendees >= 0 AND attendees <= eligible", name="attendance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(Enum(MeetingKind, native_enum=False, length=16))
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    eligible: Mapped[int] = mapped_column(Integer)  # members (or representatives) entitled to vote
    attendees: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    collective: Mapped[Collective] = relationship()
    motions: Mapped[list[Motion]] = relationship(back_populates="meeting", order_by="Motion.id")


class Motion(Base):
    """An agenda item and its vote. A passed motion is a resolution (决议) with its number."""

    __tablename__ = "collective_motions"
    __table_args__ = (CheckConstraint("votes_for + votes_against + abstentions >= 0", name="votes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("collective_meetings.id"), index=True)
    kind: Mapped[MotionKind] = mapped_column(Enum(MotionKind, native_enum=False, length=20))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. {"asset": code} or {"persons": [ids]}
    votes_for: Mapped[int] = mapped_column(Integer, default=0)
    votes_against: Mapped[int] = mapped_column(Integer, default=0)
    abstentions: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[bool] = mapped_column(default=False)
    resolution_number: Mapped[str | None] = mapped_column(String(60), unique=True)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="motions")

    @property
    def evidence(self) -> dict:
        """What a registry or listing operation records of this resolution."""
        return {"number": self.resolution_number, "meeting_date": self.meeting.held_on.isoformat(),
                "meeting_kind": self.meeting.kind.value, "members_total": self.meeting.eligible,
                "attendees": self.meeting.attendees, "votes_for": self.votes_for,
                "votes_against": self.votes_against, "abstentions": self.abstentions,
                "ledger_index": self.ledger_index}


class MemberEvent(Base):
    """One change in a person's membership of the collective, with its date and reason."""

    __tablename__ = "collective_member_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    kind: Mapped[MemberEventKind] = mapped_column(Enum(MemberEventKind, native_enum=False, length=24))
    effective_on: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    motion_id: Mapped[int | None] = mapped_column(ForeignKey("collective_motions.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("collective_notices.id"))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    person: Mapped[Person] = relationship()
    household: Mapped[Household | None] = relationship()
    motion: Mapped[Motion | None] = relationship()


class InventoryRun(Base):
    """清产核资: a dated count of the collective's assets with findings."""

    __tablename__ = "collective_inventories"

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    collective: Mapped[Collective] = relationship()
    items: Mapped[list[InventoryItem]] = relationship(back_populates="run", order_by="InventoryItem.id")


class InventoryItem(Base):
    __tablename__ = "collective_inventory_items"
    __table_args__ = (CheckConstraint("book_value >= 0 AND appraised_value >= 0", name="values"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("collective_inventories.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("collective_assets.id"), index=True)
    book_value: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    appraised_value: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    status: Mapped[str] = mapped_column(String(20))
    finding: Mapped[str] = mapped_column(String(300), default="")  # 盘盈, 盘亏, 损毁, 账实相符 …

    run: Mapped[InventoryRun] = relationship(back_populates="items")
    asset: Mapped[CollectiveAsset] = relationship()


class SharePlan(Base):
    """股份量化方案, adopted by resolution: total shares, share types and their rules, the cut-off date."""

    __tablename__ = "collective_share_plans"
    __table_args__ = (CheckConstraint("total_shares > 0", name="total_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("collective_motions.id"))
    cutoff_on: Mapped[date] = mapped_column(Date)
    quantified_value: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # 量化的经营性资产净值 (元)
    total_shares: Mapped[int] = mapped_column(Integer)
    types: Mapped[list] = mapped_column(JSON)  # [{"code", "name", "percent", "rule", …}]
    asset_codes: Mapped[list] = mapped_column(JSON, default=list)
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    collective: Mapped[Collective] = relationship()
    motion: Mapped[Motion] = relationship()


class ShareMovement(Base):
    """A change in shares: quantification, inheritance, transfer, exit, pledge. Balances are sums of these.
    ``household_id`` NULL means the collective's own shares (集体股 or shares bought back on exit).
    A share certificate (股权证) issued to a household is a row of reason "certificate" with delta 0 whose
    ``ledger_index`` is the certificate's entry: it marks the point in the household's history the certificate
    states, and any later movement of the household makes it out of date."""

    __tablename__ = "collective_share_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("collective_share_plans.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    share_type: Mapped[str] = mapped_column(String(20))
    delta: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    reason: Mapped[str] = mapped_column(String(20))  # quantification, inheritance, transfer, exit
    price: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    motion_id: Mapped[int | None] = mapped_column(ForeignKey("collective_motions.id"))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    plan: Mapped[SharePlan] = relationship()
    household: Mapped[Household | None] = relationship()
    person: Mapped[Person | None] = relationship()


class IncomeRecord(Base):
    """Income of the collective: rents from the exchange's contracts (automatic) or entered by staff."""

    __tablename__ = "collective_income"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    right_number: Mapped[str | None] = mapped_column(String(40))  # the lease or contract that produced it
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Distribution(Base):
    """收益分配: a year's distributable income split by a resolution's percentages; dividends per household."""

    __tablename__ = "collective_distributions"
    __table_args__ = (UniqueConstraint("collective_id", "year", name="one_per_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("collective_share_plans.id"))
    motion_id: Mapped[int] = mapped_column(ForeignKey("collective_motions.id"))
    year: Mapped[int] = mapped_column(Integer)
    distributable: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    percentages: Mapped[dict] = mapped_column(JSON)  # {"reserve": "10", "welfare": "5", "management": "5", "dividends": "80"}
    allocations: Mapped[dict] = mapped_column(JSON)  # the same keys, in yuan, summing to distributable
    per_share: Mapped[str] = mapped_column(String(40))  # dividend per share, for information
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    collective: Mapped[Collective] = relationship()
    motion: Mapped[Motion] = relationship()
    payouts: Mapped[list[Payout]] = relationship(back_populates="distribution", order_by="Payout.id")


class Payout(Base):
    __tablename__ = "collective_payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("collective_distributions.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)  # NULL: collective shares
    shares: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))

    distribution: Mapped[Distribution] = relationship(back_populates="payouts")
    household: Mapped[Household | None] = relationship()


class SharePledgeStep(enum.Enum):
    applied = "applied"  # the bank applied, with the household's written consent
    registered = "registered"  # the township or county registered it (股权质押登记): the shares are pledged
    refused = "refused"  # registration refused, with the reason
    released = "released"  # the bank released it (解除质押, loan repaid)


class SharePledge(Base):
    """股权质押: a household's shares of an adopted plan pledged to a bank for a loan. Its state is the newest of
    its events; while registered and not released, its shares are neither transferred nor exited."""

    __tablename__ = "collective_share_pledges"
    __table_args__ = (CheckConstraint("shares > 0", name="shares_positive"),
                      CheckConstraint("loan_amount > 0 AND valuation > 0", name="amounts_positive"),
                      CheckConstraint("loan_amount <= valuation", name="within_value"),
                      CheckConstraint("end_date > start_date", name="term_order"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("collective_share_plans.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    shares: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    loan_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    valuation: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    valuation_basis: Mapped[dict] = mapped_column(JSON)  # {"method": "shares", "per_share": …} or {"method": "appraisal", …}
    contract_number: Mapped[str] = mapped_column(String(40))  # 质押合同编号
    consent: Mapped[dict] = mapped_column(JSON)  # the household's written consent: {"document", "signed_on", "signed_by"}
    applied_by: Mapped[str] = mapped_column(String(64))
    certificate_number: Mapped[str | None] = mapped_column(String(40), unique=True)  # 股权质押登记证明编号
    certificate_index: Mapped[int | None] = mapped_column(BigInteger)  # the certificate's ledger entry
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    plan: Mapped[SharePlan] = relationship()
    household: Mapped[Household] = relationship()
    bank: Mapped[Organisation] = relationship()
    events: Mapped[list[SharePledgeEvent]] = relationship(back_populates="pledge", order_by="SharePledgeEvent.id")

    @property
    def step(self) -> SharePledgeStep:
        return self.events[-1].step if self.events else SharePledgeStep.applied


class SharePledgeEvent(Base):
    """One step of a share pledge, by a named account, with its ledger entry."""

    __tablename__ = "collective_share_pledge_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("collective_share_pledges.id"), index=True)
    step: Mapped[SharePledgeStep] = mapped_column(Enum(SharePledgeStep, native_enum=False, length=16))
    account: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pledge: Mapped[SharePledge] = relationship(back_populates="events")

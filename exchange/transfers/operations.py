"""The exchange workflow's operations (domain.md §4). Each one locks the listing, checks the version the caller
saw, applies the rules, changes state and writes the step to the ledger in the caller's transaction. Operations
flush and never commit; a refusal raises ``DomainError`` before anything is written.

Deadlines (end of notice, end of auction, end of the members' priority window, end of the objection window)
are applied by ``catch_up``: the scheduled ``flask exchange tick`` runs it for every listing, and every
state-changing operation runs it first for its own listing, so a late tick never lets a late bid through.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from exchange.accounts.models import Account, Role
from exchange.collectives.models import Motion, MotionKind
from exchange.db import db
from exchange.errors import DomainError
from exchange.ledger_app.service import record
from exchange.registry import operations as registry
from exchange.registry import rules
from exchange.registry.models import Collective, Household, Organisation, OrganisationKind, Right, RightType, to_mu
from exchange.transfers.models import (
    Bid, BidderProfile, Contract, ContractState, DepositState, Interest, Listing, ListingEvent, ListingState,
    OPEN_STATES, PartyKind, Payment, Qualification, ResultObjection, ScheduleItem,
)
from exchange.transfers.workdays import working_days_from

FEN = Decimal("0.01")
SYSTEM = {"role": "system", "division": None, "account": "exchange-tick"}

# What each kind of listing lists, and the registry operation that completes it.
KIND_SOURCES = {
    "land_management_transfer": ({RightType.contract, RightType.management}, {"出租", "转包", "入股", "转让"}),
    "homestead_lease": ({RightType.homestead_use}, {"出租", "合作"}),
    "construction_grant": ({RightType.ownership}, {"出让"}),
    "construction_lease": ({RightType.ownership}, {"出租"}),
    "asset_lease": ({RightType.ownership}, {"出租"}),
}
REGISTRY_ACTION = {"land_management_transfer": "transfer_management", "homestead_lease": "lease_use",
                   "construction_grant": "grant_construction_use", "construction_lease": "grant_construction_use",
                   "asset_lease": "lease_asset"}
RESOLUTION_KINDS = {"construction_grant": {MotionKind.construction_land},
                    "construction_lease": {MotionKind.construction_land},
                    "asset_lease": {MotionKind.asset_lease, MotionKind.asset_disposal}}
# Rules that judge the contract or the transferee: they run when the transfer is registered, not at listing.
LATER = {"LAND-WRITTEN", "LAND-FILING", "LAND-CAPITAL-REVIEW"}
BEFORE_AWARD = {ListingState.submitted, ListingState.accepted, ListingState.listed, ListingState.auction}


def now() -> datetime:
    return datetime.now(timezone.utc)


def local_today(at: datetime | None = None) -> date:
    return (at or now()).astimezone(ZoneInfo(current_app.config["EXCHANGE_TIMEZONE"])).date()


def end_of_day(day: date) -> datetime:
    """The instant a day ends in the exchange's time zone (notice periods run to the end of their last day)."""
    zone = ZoneInfo(current_app.config["EXCHANGE_TIMEZONE"])
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def money(value, field: str, *, positive: bool = True) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        amount = None
    if amount is None or not amount.is_finite() or (amount <= 0 if positive else amount < 0):
        raise DomainError("AMOUNT", f"{field}：应为{'大于 0' if positive else '不小于 0'}的金额（元，最多两位小数），收到“{value}”。",
                          f"{field}: an amount in yuan {'above 0' if positive else 'of 0 or more'} with at most two "
                          f"decimals; got '{value}'.", field=field)
    if amount != amount.quantize(FEN):
        raise DomainError("AMOUNT", f"{field}：金额最多两位小数（到分），收到“{value}”。",
                          f"{field}: at most two decimals (fen); got '{value}'.", field=field)
    return amount


# --- locking, versions and the record of each step -------------------------------------------------------


def lock(listing_id: int) -> Listing:
    """The listing, locked for this transaction (PostgreSQL row lock; SQLite writers are already serialised
    by BEGIN IMMEDIATE), freshly read so that the version compared is the committed one."""
    statement = select(Listing).where(Listing.id == listing_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    listing = db.session.scalar(statement)
    if listing is None:
        raise DomainError("LISTING-UNKNOWN", f"没有编号为 {listing_id} 的挂牌项目。", f"No listing {listing_id}.",
                          field="listing", status=404)
    return listing


def lock_seen(listing_id: int, seen: int | str | None) -> Listing:
    """``lock`` for a request that carries the version it saw: a request already stale is refused before it
    queues for the lock (in a busy auction most losing bids are), and the version is checked again under it."""
    current = db.session.scalar(select(Listing.version).where(Listing.id == listing_id))
    if current is not None and _seen(seen) != current:
        _refuse_stale(seen, current)
    listing = lock(listing_id)
    expect_version(listing, seen)
    return listing


def _seen(seen: int | str | None) -> int | None:
    try:
        return int(seen) if seen is not None else None
    except (TypeError, ValueError):
        return None


def _refuse_stale(seen, current: int) -> None:
    raise DomainError(
        "STALE", f"该项目已被他人更新（您看到的是第 {seen} 版，当前为第 {current} 版），操作未执行；请刷新后重试。",
        f"The listing changed since you saw it (you saw version {seen}, it is now {current}); nothing "
        "was done. Reload and try again.", field="version", status=409)


def expect_version(listing: Listing, seen: int | str | None) -> None:
    if _seen(seen) != listing.version:
        _refuse_stale(seen, listing.version)


def _subjects(listing: Listing) -> list[dict]:
    subject = [{"type": "listing", "id": listing.number}]
    if listing.right is not None:
        kind, code = listing.right.subject
        subject += [{"type": kind, "id": code}, {"type": "right", "id": listing.right.number}]
    return subject


def by(account: Account | None) -> dict | None:
    """The ledger's actor for a step: the named account with its role and jurisdiction (None: the system)."""
    if account is None:
        return None
    return {"role": account.role.value, "division": account.division.code if account.division else None,
            "account": account.username}


def _step(listing: Listing, account: Account | None, step: str, data: dict | None = None, note: str = "") -> int:
    """Write the step to the ledger and to the listing's history; bump the version."""
    index = record("listing", _subjects(listing),
                   {"step": step, "listing": listing.number, "state": listing.state.value, **(data or {}),
                    **({"note": note} if note else {})}, by=by(account) or SYSTEM)
    who = account.username if account is not None else "system"
    role = account.role.value if account is not None else "system"
    db.session.add(ListingEvent(listing=listing, step=step, account=who, role=role, note=note, ledger_index=index))
    listing.version += 1
    db.session.flush()
    return index


def _party_ref(profile: BidderProfile) -> dict:
    holder = profile.household or profile.organisation
    return registry.holder_ref(holder)


def _next_number(prefix: str, model, column) -> str:
    year = local_today().year
    stem = f"{current_app.config['CERTIFICATE_NUMBER_PREFIX']}-{prefix}-{year}-"
    last = db.session.scalar(select(func.max(column)).where(column.like(stem + "%")))
    serial = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{stem}{serial:06d}"


# --- submit, review, approve, reject, withdraw -------------------------------------------------------------


def _source_holder(right: Right):
    return right.holders[0].holder if right.holders else None


def _asset_of(right: Right):
    return right.parcel or right.homestead or right.asset


def _evidence(motion: Motion | None) -> dict | None:
    return motion.evidence if motion is not None and motion.passed else None


def _proposal(listing: Listing, *, transferee=None, contract: dict | None = None) -> rules.Proposal:
    right = listing.right
    documents = listing.documents or {}
    consents = {"contracting_household": bool(documents.get("contracting_household_consent")),
                "pledgee": _pledgee_consent(listing),
                "filed_with_collective": bool(documents.get("filed_with_collective", True))}
    asset = _asset_of(right)
    return rules.Proposal(
        REGISTRY_ACTION[listing.kind], source=right, asset=asset, applicant=_source_holder(right),
        transferee=transferee, start_date=listing.start_date, end_date=listing.end_date, mode=listing.mode,
        permitted_use=listing.permitted_use, contract=contract, consents=consents,
        resolution=_evidence(db.session.get(Motion, listing.resolution_id)) if listing.resolution_id else None,
        county_review=None, area_m2=listing.area_m2, today=local_today())


def _pledgee_consent(listing: Listing) -> dict | bool:
    """The pledgee's consent: as data naming the bank for a collateral disposal (the ENCUMBERED rule checks it is
    the pledge's pledgee), else the submitting village's attestation that a written consent is on file."""
    consent = (listing.documents or {}).get("pledgee_consent")
    return consent if isinstance(consent, dict) else bool(consent)


def _listing_checks(listing: Listing) -> list[rules.Violation]:
    """The registry's rules that can be judged before a transferee is known, plus the listing's own documents."""
    violations = [v for v in rules.evaluate(_proposal(listing)) if v.code not in LATER]
    documents = listing.documents or {}
    holder = _source_holder(listing.right)
    if isinstance(holder, Household) and not str(documents.get("household_consent") or "").strip():
        violations.append(rules.Violation(
            "LISTING-CONSENT", "农村土地承包法 第36条、交易规则",
            "村集体代农户挂牌，须附承包户（权利人）的书面委托或同意（填写委托书编号或签署日期）。",
            "A village listing a household's right attaches the household's written consent (its reference or date).",
            "documents.household_consent"))
    if listing.kind in RESOLUTION_KINDS:
        motion = db.session.get(Motion, listing.resolution_id) if listing.resolution_id else None
        expected = RESOLUTION_KINDS[listing.kind]
        if motion is None or not motion.passed or motion.kind not in expected \
                or motion.meeting.collective.credit_code != listing.collective.credit_code:
            violations = [v for v in violations if v.code != "COLLECTIVE-2-3"]
            violations.append(rules.Violation(
                "COLLECTIVE-2-3", "土地管理法 第63条；民法典 第261条",
                "出让、出租集体经营性建设用地或处分集体资产，须附本集体成员（代表）会议三分之二以上通过的决议"
                f"（决议类型：{'、'.join(sorted(k.value for k in expected))}）。",
                "Granting or leasing collective construction land or disposing of collective assets needs a resolution "
                f"of this collective passed by 2/3 of members or representatives (kind: "
                f"{', '.join(sorted(k.value for k in expected))}).", "resolution_id"))
    return violations


def _refuse_if(violations: list[rules.Violation]) -> None:
    if violations:
        raise rules.RuleViolations(violations)


def submit_listing(account: Account, *, right: Right, kind: str, mode: str, reserve_price, price_unit: str,
                   start_date: date, end_date: date, permitted_use: str, payment_terms: str,
                   bidder_conditions: str = "", documents: dict | None = None, resolution: Motion | None = None,
                   deposit=None, increment=None, relisted_from: Listing | None = None,
                   pledgee_consent: dict | None = None) -> Listing:
    """A village lists a right it administers: a household's (with its consent) or the collective's own.

    ``pledgee_consent`` is a pledgee bank's consent recorded as data (a collateral disposal, see
    ``exchange.collateral.disposal``); through ``documents`` a pledgee's consent is only ever a yes or no."""
    if kind not in KIND_SOURCES:
        raise DomainError("LISTING-KIND", f"交易品种“{kind}”不可挂牌；可选：{'、'.join(KIND_SOURCES)}。",
                          f"Kind '{kind}' cannot be listed; accepted: {', '.join(KIND_SOURCES)}.", field="kind")
    types, modes = KIND_SOURCES[kind]
    if right.right_type not in types:
        raise DomainError("RIGHT-TYPE", f"“{kind}”挂牌的权利应为 {'、'.join(t.value for t in types)}，该权利为 {right.right_type.value}。",
                          f"A '{kind}' listing lists a right of type {', '.join(t.value for t in types)}; this one is "
                          f"{right.right_type.value}.", field="right")
    if mode not in modes:
        code = "HOMESTEAD-NO-SALE" if kind == "homestead_lease" else "LISTING-MODE"
        raise DomainError(code, f"流转方式应为 {'、'.join(sorted(modes))}，收到“{mode}”。",
                          f"Mode must be one of {', '.join(sorted(modes))}; got '{mode}'.", field="mode")
    if kind in ("construction_grant", "construction_lease") and (right.asset is None or right.asset.category != "经营性建设用地"):
        raise DomainError("RIGHT-TYPE", "集体经营性建设用地的出让、出租只适用于登记为“经营性建设用地”的集体资产。",
                          "Construction-land grants and leases apply to assets registered as operating construction land.",
                          field="right")
    if price_unit not in ("per_year", "lump_sum"):
        raise DomainError("PRICE-UNIT", "价格单位应为 per_year（元/年）或 lump_sum（总价，元）。",
                          "Price unit is per_year (yuan a year) or lump_sum (yuan in total).", field="price_unit")
    reserve = money(reserve_price, "reserve_price")
    if start_date is None or end_date is None or end_date <= start_date:
        raise DomainError("TERM-ORDER", "流转期限的终止日期应晚于起始日期。", "The end date must be after the start date.",
                          field="end_date")
    if not str(permitted_use or "").strip() or not str(payment_terms or "").strip():
        field = "permitted_use" if not str(permitted_use or "").strip() else "payment_terms"
        raise DomainError("REQUIRED", f"请填写{'用途' if field == 'permitted_use' else '付款方式'}（{field}）。",
                          f"{field} is required.", field=field)
    open_listing = db.session.scalar(select(Listing.number).where(Listing.right_id == right.id,
                                                                  Listing.state.in_(OPEN_STATES)))
    if open_listing:
        raise DomainError("LISTING-OPEN", f"该权利已有进行中的挂牌项目 {open_listing}，不能重复挂牌。",
                          f"The right is already in listing {open_listing}.", field="right")
    asset = _asset_of(right)
    area = getattr(asset, "area_m2", None)
    config = current_app.config
    deposit_amount = money(deposit, "deposit", positive=False) if deposit not in (None, "") else \
        (reserve * Decimal(str(config["LISTING_DEPOSIT_RATE"]))).quantize(FEN, ROUND_HALF_UP)
    step = money(increment, "increment") if increment not in (None, "") else \
        max((reserve * Decimal("0.02")).quantize(Decimal(1), ROUND_HALF_UP), Decimal(1))
    listing = Listing(
        number=_next_number("GP", Listing, Listing.number), kind=kind, mode=mode, right=right,
        asset=right.asset, collective=right.collective, division=right.division,
        title=f"{getattr(asset, 'name', None) or asset.code}（{asset.code}）{mode}", area_m2=area,
        reserve_price=reserve, price_unit=price_unit, start_date=start_date, end_date=end_date,
        permitted_use=str(permitted_use).strip(), payment_terms=str(payment_terms).strip(),
        bidder_conditions=(bidder_conditions or "").strip(), documents=_documents(documents, pledgee_consent),
        resolution_id=resolution.id if resolution is not None else None, deposit=deposit_amount, increment=step,
        auction_minutes=config["AUCTION_MINUTES"], extension_minutes=config["AUCTION_EXTENSION_MINUTES"],
        notice_working_days=config["LISTING_NOTICE_WORKING_DAYS"],
        objection_working_days=config["LISTING_OBJECTION_WORKING_DAYS"], state=ListingState.submitted, version=0,
        relisted_from=relisted_from, submitted_by=account.username)
    with db.session.no_autoflush:  # a refused listing is never written
        _refuse_if(_listing_checks(listing))
    db.session.add(listing)
    db.session.flush()
    _step(listing, account, "submitted", {
        "kind": kind, "mode": mode, "reserve_price": str(reserve), "price_unit": price_unit,
        "term": [start_date.isoformat(), end_date.isoformat()], "permitted_use": listing.permitted_use,
        "deposit": str(deposit_amount), "increment": str(step),
        "documents": sorted(k for k, v in listing.documents.items() if v),
        **({"resolution": _evidence(resolution)} if resolution is not None else {}),
        **({"relisted_from": relisted_from.number} if relisted_from is not None else {})})
    return listing


def _documents(documents: dict | None, pledgee_consent: dict | None) -> dict:
    documents = dict(documents or {})
    if "pledgee_consent" in documents:
        documents["pledgee_consent"] = bool(documents["pledgee_consent"]) and not isinstance(
            documents["pledgee_consent"], dict)
    if pledgee_consent is not None:
        documents["pledgee_consent"] = dict(pledgee_consent)
    return documents


def accept(account: Account, listing: Listing, version: int) -> Listing:
    listing = lock(listing.id)
    expect_version(listing, version)
    _expect_state(listing, {ListingState.submitted}, "受理")
    listing.state = ListingState.accepted
    _step(listing, account, "accepted")
    return listing


def approve(account: Account, listing: Listing, version: int) -> Listing:
    """The township approves: the rules run again, and the public notice starts (N working days)."""
    listing = lock(listing.id)
    expect_version(listing, version)
    _expect_state(listing, {ListingState.accepted}, "审核通过")
    _refuse_if(_listing_checks(listing))
    notice = working_days_from(local_today(), listing.notice_working_days)
    listing.notice_starts_on, listing.notice_ends_on = notice.starts_on, notice.ends_on
    listing.calendar_provisional = notice.provisional
    listing.state = ListingState.listed
    _step(listing, account, "approved", {"notice": [notice.starts_on.isoformat(), notice.ends_on.isoformat()],
                                         "working_days": listing.notice_working_days,
                                         "calendar_provisional": notice.provisional})
    return listing


def reject(account: Account, listing: Listing, version: int, reason: str) -> Listing:
    listing = lock(listing.id)
    expect_version(listing, version)
    _expect_state(listing, {ListingState.submitted, ListingState.accepted}, "驳回")
    _reason(reason)
    listing.state, listing.exit_reason = ListingState.rejected, reason.strip()
    _step(listing, account, "rejected", note=reason.strip())
    return listing


def withdraw(account: Account, listing: Listing, version: int, reason: str) -> Listing:
    listing = lock(listing.id)
    expect_version(listing, version)
    catch_up(listing)
    _expect_state(listing, BEFORE_AWARD, "撤回（成交前）")
    _reason(reason)
    listing.state, listing.exit_reason = ListingState.withdrawn, reason.strip()
    refunded = _refund_deposits(listing)
    _step(listing, account, "withdrawn", {"deposits_refunded": refunded}, note=reason.strip())
    return listing


def _reason(reason: str | None) -> None:
    if not str(reason or "").strip():
        raise DomainError("REASON", "请写明理由（reason）。", "Give the reason.", field="reason")


STATE_NAMES = {
    ListingState.submitted: ("已提交", "submitted"), ListingState.accepted: ("已受理", "accepted"),
    ListingState.listed: ("公示中", "listed"), ListingState.auction: ("竞价中", "in auction"),
    ListingState.awarded: ("成交公示", "awarded"), ListingState.contracting: ("合同签订中", "contracting"),
    ListingState.signed: ("已签约", "signed"), ListingState.settled: ("已结算", "settled"),
    ListingState.registered: ("已登记", "registered"), ListingState.rejected: ("已驳回", "rejected"),
    ListingState.withdrawn: ("已撤回", "withdrawn"), ListingState.failed: ("流拍", "failed"),
    ListingState.annulled: ("已撤销", "annulled"),
}


def _expect_state(listing: Listing, states: set[ListingState], action: str) -> None:
    if listing.state not in states:
        zh, en = STATE_NAMES[listing.state]
        allowed = "、".join(STATE_NAMES[s][0] for s in sorted(states, key=lambda s: list(ListingState).index(s)))
        raise DomainError("LISTING-STATE", f"项目 {listing.number} 当前为“{zh}”，不能{action}（仅在：{allowed}）。",
                          f"Listing {listing.number} is {en}; this step is not possible now.", field="state",
                          status=409)


# --- bidders: interest, qualification, deposits ------------------------------------------------------------


def profile_of(account: Account) -> BidderProfile:
    profile = db.session.scalar(select(BidderProfile).where(BidderProfile.account_id == account.id))
    if profile is None:
        raise DomainError("BIDDER-PROFILE", "请先完善竞买人资料（代表的农户或单位、经营能力）再报名。",
                          "Complete your bidder profile (the household or organisation you act for, farming capacity) "
                          "before registering.", field="profile")
    return profile


def save_profile(account: Account, *, party_kind: str, household_code: str | None = None,
                 credit_code: str | None = None, farming_capacity: str = "", contact: str = "",
                 town_resident: bool = False, address: str = "") -> BidderProfile:
    """The bidder's identity (a registered household or organisation) and what qualification looks at; the
    address (住所) defaults to the household's registered one and is required, since the contract names it."""
    if account.role != Role.bidder:
        raise DomainError("BIDDER-ROLE", "只有竞买人账户可以登记竞买人资料。", "Only bidder accounts have a bidder profile.",
                          field="account", status=403)
    try:
        kind = PartyKind(party_kind)
    except ValueError:
        raise DomainError("PARTY-KIND", "竞买人类型应为 household（农户）或 organisation（单位）。",
                          "Party kind is household or organisation.", field="party_kind") from None
    household = organisation = None
    if kind == PartyKind.household:
        household = db.session.scalar(select(Household).where(Household.code == (household_code or "").strip()))
        if household is None:
            raise DomainError("PARTY-UNKNOWN", f"未找到承包方编码为“{household_code}”的农户（应为登记簿中的 18 位编码）。",
                              f"No household with code '{household_code}' (the registry's 18-digit code).",
                              field="household_code")
        name, masked = household.head_name[0] + "*" * max(len(household.head_name) - 1, 1) + "户", household.code[-6:]
    else:
        organisation = db.session.scalar(select(Organisation).where(Organisation.credit_code == (credit_code or "").strip()))
        if organisation is None:
            raise DomainError("PARTY-UNKNOWN", f"未找到统一社会信用代码为“{credit_code}”的单位。",
                              f"No organisation with credit code '{credit_code}'.", field="credit_code")
        name, masked = organisation.name, organisation.credit_code
    address = (address or "").strip() or (household.address or "" if household else "")
    if not address:
        raise DomainError("PROFILE-ADDRESS", "请填写住所（合同须载明双方的住所）。",
                          "Give the address (the contract names each party's address).", field="address")
    if len(address) > 300:
        raise DomainError("PROFILE-ADDRESS", "住所不能超过 300 字。", "The address is at most 300 characters.",
                          field="address")
    profile = db.session.scalar(select(BidderProfile).where(BidderProfile.account_id == account.id))
    if profile is None:
        profile = BidderProfile(account=account)
        db.session.add(profile)
    profile.party_kind, profile.household, profile.organisation = kind, household, organisation
    profile.name, profile.id_masked, profile.address = name, masked, address
    profile.farming_capacity, profile.contact, profile.town_resident = farming_capacity.strip(), contact.strip(), town_resident
    db.session.flush()
    return profile


def registration_closes_at(listing: Listing) -> datetime | None:
    return end_of_day(listing.notice_ends_on) if listing.notice_ends_on else None


def register_interest(account: Account, listing: Listing, version: int, plan: str = "") -> Interest:
    listing = lock(listing.id)
    expect_version(listing, version)
    catch_up(listing)
    _expect_state(listing, {ListingState.listed}, "报名（公示期内）")
    profile = profile_of(account)
    if any(i.account_id == account.id for i in listing.interests):
        raise DomainError("INTEREST-TWICE", "您已报名该项目。", "You have already registered for this listing.",
                          field="listing", status=409)
    right = listing.right
    if listing.kind == "homestead_lease" and listing.mode not in rules.HOMESTEAD_ALLOWED_MODES and profile.town_resident:
        raise DomainError("HOMESTEAD-NO-SALE", "宅基地使用权和农房不得出售给城镇居民。",
                          "Homestead use rights and houses are not sold to town residents.", field="profile")
    if listing.kind == "land_management_transfer" and not profile.farming_capacity:
        raise DomainError("BIDDER-CAPACITY", "流转土地经营权的竞买人须说明农业经营能力（farming_capacity）：从业经历、农机、劳力等。",
                          "Bidders for a management right state their farming capacity (experience, machinery, labour).",
                          field="farming_capacity")
    member = profile.household is not None and profile.household.collective_id == right.collective_id
    interest = Interest(listing=listing, account=account, profile=profile, is_member=member, plan=(plan or "").strip(),
                        qualification=Qualification.pending,
                        deposit_state=DepositState.due if listing.deposit > 0 else DepositState.held,
                        deposit_amount=listing.deposit)
    db.session.add(interest)
    db.session.flush()
    _step(listing, account, "interest", {"bidder": _party_ref(profile), "member": member,
                                         "deposit_due": str(listing.deposit)})
    return interest


def _needs_county_review(listing: Listing, profile: BidderProfile) -> bool:
    return (listing.kind == "land_management_transfer" and profile.organisation is not None
            and profile.organisation.kind == OrganisationKind.company
            and (listing.area_m2 or 0) > Decimal(str(current_app.config["LAND_CAPITAL_REVIEW_AREA_M2"])))


def qualify(account: Account, interest: Interest, version: int, *, qualified: bool, note: str = "",
            county_review: str | None = None) -> Interest:
    """Township (or county) staff qualify a bidder; companies over the area threshold need the county's review."""
    listing = lock(interest.listing_id)
    expect_version(listing, version)
    catch_up(listing)
    _expect_state(listing, {ListingState.listed}, "资格审查")
    if interest.qualification in (Qualification.qualified, Qualification.refused):
        raise DomainError("QUALIFY-DONE", "该竞买人的资格已审查。", "This bidder was already qualified or refused.",
                          field="interest", status=409)
    if not qualified:
        _reason(note)
        interest.qualification = Qualification.refused
    elif _needs_county_review(listing, interest.profile):
        limit = Decimal(str(current_app.config["LAND_CAPITAL_REVIEW_AREA_M2"]))
        if account.role != Role.county or not (county_review or "").strip():
            if interest.qualification == Qualification.pending and account.role != Role.county:
                interest.qualification = Qualification.county_review
                interest.qualification_note = note.strip()
                _step(listing, account, "qualification", {"bidder": _party_ref(interest.profile),
                                                          "result": "county_review"}, note=note.strip())
                return interest
            raise DomainError("LAND-CAPITAL-REVIEW",
                              f"工商企业等社会资本流转土地经营权 {to_mu(listing.area_m2)} 亩，超过 {to_mu(limit)} 亩，"
                              "须由县级审查并填写资格审查和项目审核文号（county_review）。",
                              f"A company taking {to_mu(listing.area_m2)} mu (over {to_mu(limit)} mu) is qualified by the "
                              "county with its review number (county_review).", field="county_review")
        interest.qualification, interest.county_review = Qualification.qualified, county_review.strip()
    else:
        interest.qualification = Qualification.qualified
    interest.qualification_note = note.strip()
    interest.version += 1
    _step(listing, account, "qualification", {"bidder": _party_ref(interest.profile),
                                              "result": interest.qualification.value,
                                              **({"county_review": interest.county_review} if interest.county_review else {})},
          note=note.strip())
    return interest


def record_deposit(account: Account, interest: Interest, version: int, reference: str) -> Interest:
    listing = lock(interest.listing_id)
    expect_version(listing, version)
    catch_up(listing)
    _expect_state(listing, {ListingState.listed}, "登记保证金")
    if interest.deposit_state != DepositState.due:
        raise DomainError("DEPOSIT-STATE", "该竞买人的保证金已登记。", "This bidder's deposit is already recorded.",
                          field="interest", status=409)
    if not (reference or "").strip():
        raise DomainError("DEPOSIT-REFERENCE", "请填写保证金到账凭证号（reference）。", "Give the deposit's payment reference.",
                          field="reference")
    interest.deposit_state, interest.deposit_reference = DepositState.held, reference.strip()
    _step(listing, account, "deposit", {"bidder": _party_ref(interest.profile), "amount": str(interest.deposit_amount)})
    return interest


def _refund_deposits(listing: Listing, keep: Interest | None = None) -> int:
    refunded = 0
    for interest in listing.interests:
        if interest is keep:
            continue
        if interest.deposit_state == DepositState.held and interest.deposit_amount > 0:
            interest.deposit_state = DepositState.refunded
            refunded += 1
    return refunded


# --- award: single offer, auction, members' priority -------------------------------------------------------


def eligible(listing: Listing) -> list[Interest]:
    return [i for i in listing.interests if i.may_bid]


def best_bid(listing: Listing) -> Bid | None:
    """The highest bid, the earliest on a tie: one indexed row, not the whole history of an auction."""
    return db.session.scalar(select(Bid).where(Bid.listing_id == listing.id)
                             .order_by(Bid.amount.desc(), Bid.id).limit(1))


def minimum_bid(listing: Listing) -> Decimal:
    best = best_bid(listing)
    return listing.reserve_price if best is None else best.amount + listing.increment


def _close_registration(listing: Listing, at: datetime) -> None:
    bidders = eligible(listing)
    if not bidders:
        listing.state, listing.exit_reason = ListingState.failed, "无合格竞买人（流拍）"
        _refund_deposits(listing)
        _step(listing, None, "failed", {"reason": "no qualified bidder", "registered": len(listing.interests)})
        return
    listing.state = ListingState.auction
    listing.auction_starts_at = at
    listing.auction_ends_at = at + timedelta(minutes=listing.auction_minutes)
    _step(listing, None, "auction_opened", {"bidders": len(bidders), "single_offer": len(bidders) == 1,
                                            "ends_at": listing.auction_ends_at.isoformat(),
                                            "reserve_price": str(listing.reserve_price)})


def place_bid(account: Account, listing: Listing, version: int, amount) -> Bid:
    """An ascending bid (or, with one qualified bidder, the offer at no less than the reserve)."""
    listing = lock_seen(listing.id, version)
    at = now()
    catch_up(listing, at)
    _expect_state(listing, {ListingState.auction}, "出价（竞价期内）")
    if listing.priority_ends_at is not None:
        raise DomainError("BID-CLOSED", "竞价已结束，正在等待本集体成员行使优先权。", "Bidding is over; members may now match.",
                          field="amount", status=409)
    interest = next((i for i in listing.interests if i.account_id == account.id), None)
    if interest is None or not interest.may_bid:
        raise DomainError("BID-NOT-QUALIFIED", "您未报名、未通过资格审查或保证金未到账，不能出价。",
                          "You may bid only once registered, qualified and with the deposit paid.", field="listing",
                          status=403)
    value = money(amount, "amount")
    least = minimum_bid(listing)
    if value < least:
        best = best_bid(listing)
        raise DomainError("BID-TOO-LOW", f"出价应不低于 {least} 元（{'底价' if best is None else f'当前最高价 {best.amount} 元 + 加价幅度 {listing.increment} 元'}），"
                          f"收到 {value} 元。",
                          f"The bid must be at least {least} yuan ({'the reserve' if best is None else 'best bid plus the increment'}); "
                          f"got {value}.", field="amount", status=409)
    best = best_bid(listing)
    if best is not None and best.interest_id == interest.id:
        raise DomainError("BID-ALREADY-BEST", "您已是当前最高出价人。", "You already hold the best bid.", field="amount",
                          status=409)
    single = len(eligible(listing)) == 1
    extended = False
    ends = _aware(listing.auction_ends_at)
    if not single and ends - at < timedelta(minutes=listing.extension_minutes):
        listing.auction_ends_at, extended = at + timedelta(minutes=listing.extension_minutes), True
    index = _step(listing, account, "offer" if single else "bid",
                  {"bidder": _party_ref(interest.profile), "amount": str(value),
                   **({"extended_to": listing.auction_ends_at.isoformat()} if extended else {})})
    bid = Bid(listing=listing, interest=interest, amount=value, kind="offer" if single else "bid", ledger_index=index)
    db.session.add(bid)
    db.session.flush()
    if single:  # one qualified bidder: agreement at its offer (≥ reserve), subject to the members' priority
        _close_auction(listing, at)
    return bid


def _close_auction(listing: Listing, at: datetime) -> None:
    best = best_bid(listing)
    if best is None:
        listing.state, listing.exit_reason = ListingState.failed, "竞价期内无有效出价（流拍）"
        _refund_deposits(listing)
        _step(listing, None, "failed", {"reason": "no bid"})
        return
    members = [i for i in eligible(listing) if i.is_member and i.id != best.interest_id]
    if listing.kind == "land_management_transfer" and not best.interest.is_member and members \
            and listing.priority_ends_at is None:
        listing.priority_ends_at = at + timedelta(hours=current_app.config["PRIORITY_MATCH_HOURS"])
        _step(listing, None, "priority_window", {"best": str(best.amount), "members": len(members),
                                                 "ends_at": listing.priority_ends_at.isoformat()})
        return
    _award(listing, best.interest, best.amount, at)


def match(account: Account, listing: Listing, version: int) -> Bid:
    """LAND-PRIORITY: a qualified member of the collective takes the best outside bid at the same price."""
    listing = lock(listing.id)
    expect_version(listing, version)
    at = now()
    catch_up(listing, at)
    _expect_state(listing, {ListingState.auction}, "行使优先权")
    if listing.priority_ends_at is None:
        raise DomainError("LAND-PRIORITY", "优先权只能在竞价结束、最高出价人不是本集体成员时行使。",
                          "Members match only after the auction, when the best bid is an outsider's.", field="listing",
                          status=409)
    interest = next((i for i in listing.interests if i.account_id == account.id), None)
    if interest is None or not interest.may_bid or not interest.is_member:
        raise DomainError("LAND-PRIORITY", "只有通过资格审查、已交保证金的本集体经济组织成员可以行使同等条件优先权。",
                          "Only a qualified member of the collective with the deposit paid may match.", field="listing",
                          status=403)
    best = best_bid(listing)
    index = _step(listing, account, "priority_match", {"bidder": _party_ref(interest.profile), "amount": str(best.amount),
                                                       "matched": _party_ref(best.interest.profile)})
    bid = Bid(listing=listing, interest=interest, amount=best.amount, kind="match", ledger_index=index)
    db.session.add(bid)
    db.session.flush()
    _award(listing, interest, best.amount, at)
    return bid


def _award(listing: Listing, interest: Interest, price: Decimal, at: datetime) -> None:
    window = working_days_from(local_today(at) + timedelta(days=1), listing.objection_working_days)
    listing.state, listing.winner, listing.award_price, listing.awarded_at = ListingState.awarded, interest, price, at
    listing.objection_ends_on = window.ends_on
    listing.calendar_provisional = listing.calendar_provisional or window.provisional
    _step(listing, None, "awarded", {"winner": _party_ref(interest.profile), "price": str(price),
                                     "member": interest.is_member, "objections_until": window.ends_on.isoformat()})


# --- result publicity and objections ------------------------------------------------------------------------


def raise_objection(account: Account | None, listing: Listing, raised_by: str, text: str) -> ResultObjection:
    listing = lock(listing.id)
    catch_up(listing)
    _expect_state(listing, {ListingState.awarded}, "提出异议（成交公示期内）")
    if not (raised_by or "").strip() or not (text or "").strip():
        raise DomainError("OBJECTION-TEXT", "请写明异议人和异议内容。", "Say who objects and why.",
                          field="text" if (raised_by or "").strip() else "raised_by")
    index = _step(listing, account, "objection", {"text": text.strip()[:500]})
    objection = ResultObjection(listing=listing, raised_by=raised_by.strip(), text=text.strip(), ledger_index=index)
    db.session.add(objection)
    db.session.flush()
    return objection


def decide_objection(account: Account, objection: ResultObjection, version: int, *, upheld: bool,
                     outcome: str) -> ResultObjection:
    listing = lock(objection.listing_id)
    expect_version(listing, version)
    if objection.upheld is not None:
        raise DomainError("OBJECTION-DECIDED", "该异议已处理。", "This objection was already decided.", field="objection",
                          status=409)
    _reason(outcome)
    objection.upheld, objection.outcome, objection.decided_by = upheld, outcome.strip(), account.username
    _step(listing, account, "objection_decided", {"objection": objection.id, "upheld": upheld}, note=outcome.strip())
    if upheld:
        _annul(listing, account, f"异议成立：{outcome.strip()}")
    return objection


def annul(account: Account, listing: Listing, version: int, reason: str) -> Listing:
    listing = lock(listing.id)
    expect_version(listing, version)
    _expect_state(listing, {ListingState.awarded, ListingState.contracting, ListingState.signed}, "撤销成交")
    _reason(reason)
    _annul(listing, account, reason.strip())
    return listing


def _annul(listing: Listing, account: Account | None, reason: str) -> None:
    listing.state, listing.exit_reason = ListingState.annulled, reason
    refunded = _refund_deposits(listing)
    _step(listing, account, "annulled", {"deposits_refunded": refunded}, note=reason)


def pending_objections(listing: Listing) -> list[ResultObjection]:
    return [o for o in listing.objections if o.upheld is None]


# --- deadlines ------------------------------------------------------------------------------------------------


def catch_up(listing: Listing, at: datetime | None = None) -> list[str]:
    """Apply every deadline that has passed for this listing (idempotent); return the steps taken."""
    at = at or now()
    taken = []
    while True:
        if listing.state == ListingState.listed and at >= registration_closes_at(listing):
            _close_registration(listing, at)
            taken.append("registration_closed")
        elif listing.state == ListingState.auction and listing.priority_ends_at is not None \
                and at >= _aware(listing.priority_ends_at):
            best = best_bid(listing)
            _award(listing, best.interest, best.amount, at)
            taken.append("awarded")
        elif listing.state == ListingState.auction and listing.priority_ends_at is None \
                and at >= _aware(listing.auction_ends_at):
            _close_auction(listing, at)
            taken.append("auction_closed")
        elif listing.state == ListingState.awarded and at >= end_of_day(listing.objection_ends_on) \
                and not pending_objections(listing):
            from exchange.transfers.contracting import draft_contract

            listing.state = ListingState.contracting
            _step(listing, None, "publicity_closed")
            draft_contract(listing)
            taken.append("contracting")
        else:
            return taken


def tick(at: datetime | None = None) -> dict[str, int]:
    """Move every listing whose deadline passed. Safe to run as often as wanted."""
    at = at or now()
    moved: dict[str, int] = {}
    ids = db.session.scalars(select(Listing.id).where(Listing.state.in_(
        [ListingState.listed, ListingState.auction, ListingState.awarded])).order_by(Listing.id)).all()
    for listing_id in ids:
        try:
            with db.session.begin_nested():  # one listing that cannot move does not stop the others
                steps = catch_up(lock(listing_id), at)
        except DomainError as error:
            current_app.logger.warning("tick: listing %s held back: %s", listing_id, error)
            moved["held_back"] = moved.get("held_back", 0) + 1
            continue
        for step in steps:
            moved[step] = moved.get(step, 0) + 1
    return moved


def contract_held_back_by(listing: Listing) -> list[rules.Violation]:
    """Why the tick cannot draft the contract of an award whose publicity has ended: the rules the listing no longer
    meets (a freeze or a pledge since the notice, a withdrawn consent). Empty when nothing holds it back."""
    return _listing_checks(listing) if listing.state == ListingState.awarded else []


def effective_state(listing: Listing, at: datetime | None = None) -> tuple[ListingState, str | None]:
    """What a page shows when the tick has not run yet: the state and, if a deadline passed, a note saying so."""
    at = at or now()
    if listing.state == ListingState.listed and listing.notice_ends_on and at >= registration_closes_at(listing):
        return listing.state, "registration_closed"
    if listing.state == ListingState.auction and at >= _aware(listing.priority_ends_at or listing.auction_ends_at):
        return listing.state, "auction_closed"
    if listing.state == ListingState.awarded and at >= end_of_day(listing.objection_ends_on):
        return listing.state, "publicity_closed"
    return listing.state, None


# --- settlement, registration, relisting ----------------------------------------------------------------------


def settle(account: Account, listing: Listing, version: int, *, reference: str) -> Listing:
    """The price is paid: the winner's deposit counts toward it, the other deposits are refunded."""
    listing = lock(listing.id)
    expect_version(listing, version)
    _expect_state(listing, {ListingState.signed}, "结算")
    if not (reference or "").strip():
        raise DomainError("SETTLEMENT-REFERENCE", "请填写价款到账凭证号（reference）。", "Give the payment reference.",
                          field="reference")
    winner = listing.winner
    if winner.deposit_state == DepositState.held and winner.deposit_amount > 0:
        winner.deposit_state = DepositState.applied
    refunded = _refund_deposits(listing, keep=winner)
    listing.state = ListingState.settled
    _step(listing, account, "settled", {"price": str(listing.award_price), "reference": reference.strip(),
                                        "deposit_applied": str(winner.deposit_amount
                                                               if winner.deposit_state == DepositState.applied else 0),
                                        "deposits_refunded": refunded})
    first = listing.contract.schedule[0] if listing.contract.schedule else None
    if first is not None and first.paid == 0:  # settlement pays the first instalment (the lump sum, or year one)
        _pay(account, first, first.amount, local_today(), reference.strip())
    return listing


def register_transfer(account: Account, listing: Listing, version: int):
    """The registry's operation runs (new right; a sale ends the old one), filed with the collective, and the
    transaction certificate is issued."""
    from contracts import art40
    from exchange.certificates.models import CertificateKind
    from exchange.certificates.operations import issue_certificate
    from exchange.transfers.contracting import terms_of

    listing = lock(listing.id)
    expect_version(listing, version)
    _expect_state(listing, {ListingState.settled}, "登记")
    winner = listing.winner.profile
    transferee = winner.household or winner.organisation
    right, contract = listing.right, listing.contract
    terms = terms_of(contract)
    price = f"{listing.award_price} 元{'/年' if listing.price_unit == 'per_year' else ''}"
    documents = listing.documents or {}
    consents = {"filed_with_collective": True, "contracting_household": bool(documents.get("contracting_household_consent")),
                "pledgee": _pledgee_consent(listing)}
    resolution = _evidence(db.session.get(Motion, listing.resolution_id)) if listing.resolution_id else None
    if listing.kind == "land_management_transfer":
        new = registry.transfer_management_right(
            right, transferee, listing.start_date, listing.end_date, mode=listing.mode,
            permitted_use=listing.permitted_use, contract=art40(terms), price=price, consents=consents,
            applicant=_source_holder(right), county_review=listing.winner.county_review)
    elif listing.kind == "homestead_lease":
        new = registry.lease_use_right(right, transferee, listing.start_date, listing.end_date, mode=listing.mode,
                                       rent=price, applicant=_source_holder(right), consents=consents,
                                       use=listing.permitted_use)
    elif listing.kind in ("construction_grant", "construction_lease"):
        new = registry.grant_construction_use(right.asset, transferee, listing.start_date, listing.end_date,
                                              mode=listing.mode, price=price, resolution=resolution,
                                              use=listing.permitted_use)
    else:
        new = registry.lease_collective_asset(right.asset, transferee, listing.start_date, listing.end_date,
                                              rent=price, resolution=resolution, use=listing.permitted_use)
    from exchange.collateral.disposal import discharge

    discharge(account, listing)  # a collateral disposal: the pledge is released (处置清偿), the application disposed
    certificate = issue_certificate(CertificateKind.transaction, new)
    listing.new_right, listing.certificate_number = new, certificate.number
    listing.state = ListingState.registered
    _step(listing, account, "registered", {"right": new.number, "right_entry": new.ledger_index,
                                           "certificate": certificate.number, "contract": contract.number,
                                           "filed_with_collective": True})
    return new, certificate


def relist(account: Account, listing: Listing, version: int, *, reserve_price=None) -> Listing:
    """A failed listing goes back on the exchange, possibly at a lower reserve (a new listing, a new notice)."""
    listing = lock(listing.id)
    expect_version(listing, version)
    _expect_state(listing, {ListingState.failed}, "重新挂牌（流拍后）")
    reserve = money(reserve_price, "reserve_price") if reserve_price not in (None, "") else listing.reserve_price
    fresh = submit_listing(
        account, right=listing.right, kind=listing.kind, mode=listing.mode, reserve_price=reserve,
        price_unit=listing.price_unit, start_date=listing.start_date, end_date=listing.end_date,
        permitted_use=listing.permitted_use, payment_terms=listing.payment_terms,
        bidder_conditions=listing.bidder_conditions, documents=listing.documents,
        resolution=db.session.get(Motion, listing.resolution_id) if listing.resolution_id else None,
        relisted_from=listing, pledgee_consent=listing.documents.get("pledgee_consent")
        if isinstance(listing.documents.get("pledgee_consent"), dict) else None)
    from exchange.collateral.disposal import relisted

    relisted(account, listing, fresh)  # a failed disposal relisted stays a disposal of the same loan
    _step(listing, account, "relisted", {"new_listing": fresh.number, "reserve_price": str(reserve)})
    return fresh


# --- payments against the rent schedule ----------------------------------------------------------------------


def _pay(account: Account | None, item: ScheduleItem, amount: Decimal, paid_on: date, reference: str) -> Payment:
    contract = item.contract
    index = record("contract", [{"type": "contract", "id": contract.number},
                                {"type": "listing", "id": contract.listing.number}],
                   {"step": "payment", "instalment": item.number, "amount": str(amount), "paid_on": paid_on.isoformat(),
                    "due": item.due.isoformat()}, by=by(account) or SYSTEM)
    payment = Payment(item=item, amount=amount, paid_on=paid_on, reference=reference,
                      recorded_by=account.username if account else "system", ledger_index=index)
    item.paid += amount
    db.session.add(payment)
    db.session.flush()
    from exchange.collateral.disposal import split_payment

    holders_share = split_payment(account, payment)  # a collateral disposal pays the pledgee bank first
    if holders_share > 0:
        _collective_income(contract, item, holders_share, paid_on)
    return payment


def _collective_income(contract: Contract, item: ScheduleItem, amount: Decimal, paid_on: date) -> None:
    """Rent on a collective's asset or construction land is the collective's income (its books, §6); rent on a
    household's land is the household's and stays out of the books."""
    from exchange.collectives.operations import record_income

    holder = _source_holder(contract.listing.right)
    if isinstance(holder, Collective):
        record_income(holder, paid_on, f"合同 {contract.number} 第 {item.number} 期价款（{contract.listing.number}）",
                      amount, right_number=contract.number)


def record_payment(account: Account, item: ScheduleItem, amount, paid_on: date, reference: str = "") -> Payment:
    value = money(amount, "amount")
    if value > item.outstanding:
        raise DomainError("PAYMENT-OVER", f"第 {item.number} 期应付 {item.amount} 元，已付 {item.paid} 元，本次最多 {item.outstanding} 元。",
                          f"Instalment {item.number}: {item.amount} due, {item.paid} paid; at most {item.outstanding} now.",
                          field="amount")
    if item.contract.state != ContractState.signed:
        raise DomainError("CONTRACT-STATE", "合同签订后才能登记付款。", "Payments are recorded once the contract is signed.",
                          field="contract", status=409)
    return _pay(account, item, value, paid_on, (reference or "").strip())


def payments_due(division_ids: list[int] | None, within_days: int, today: date | None = None) -> list[ScheduleItem]:
    today = today or local_today()
    statement = (select(ScheduleItem).join(Contract).where(ScheduleItem.due <= today + timedelta(days=within_days),
                                                           ScheduleItem.paid < ScheduleItem.amount,
                                                           Contract.state == ContractState.signed)
                 .order_by(ScheduleItem.due))
    if division_ids is not None:
        statement = statement.where(Contract.division_id.in_(division_ids))
    return list(db.session.scalars(statement))


def contracts_expiring(division_ids: list[int] | None, within_days: int, today: date | None = None) -> list[Contract]:
    today = today or local_today()
    statement = (select(Contract).where(Contract.state == ContractState.signed,
                                        Contract.end_date.between(today, today + timedelta(days=within_days)))
                 .order_by(Contract.end_date))
    if division_ids is not None:
        statement = statement.where(Contract.division_id.in_(division_ids))
    return list(db.session.scalars(statement))


"""The exchange workflow through its operations: every step, every exit, and the rules it applies, each refusal
leaving the database and the ledger as they were."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange.accounts.models import Account
from exchange.collectives.models import Motion, MotionKind
from exchange.db import db
from exchange.demo.exchange import demo_rights
from exchange.errors import DomainError
from exchange.registry import operations as registry
from exchange.registry.models import CollectiveAsset, Right, RightType
from exchange.transfers import operations as ops
from exchange.transfers.models import DepositState, Listing, ListingState, Qualification
from ledger.storage import entries as ledger_entries


def account(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def ledger_size() -> int:
    return db.session.scalar(select(func.count()).select_from(ledger_entries))


def submit(right: Right | None = None, **overrides) -> Listing:
    right = right or demo_rights()[1]
    year = date.today().year
    arguments = dict(right=right, kind="land_management_transfer", mode="出租", reserve_price="800", price_unit="per_year",
                     start_date=date(year + 1, 1, 1), end_date=date(year + 8, 12, 31), permitted_use="1",
                     payment_terms="每年 1 月付清当年租金", documents={"household_consent": "委托书 2026-07"})
    arguments.update(overrides)
    return ops.submit_listing(account("village"), **arguments)


def listed(**overrides) -> Listing:
    listing = submit(**overrides)
    ops.accept(account("township"), listing, listing.version)
    return ops.approve(account("township"), listing, listing.version)


def refused(code: str, call, *args, **kwargs) -> DomainError:
    """The call is refused with ``code`` and leaves the ledger and the listings as they were."""
    size, listings = ledger_size(), db.session.scalar(select(func.count()).select_from(Listing))
    with db.session.begin_nested():
        with pytest.raises(DomainError) as caught:
            call(*args, **kwargs)
    codes = getattr(caught.value, "codes", [caught.value.code])
    assert code in codes, (code, codes, caught.value.message_zh)
    assert ledger_size() == size
    assert db.session.scalar(select(func.count()).select_from(Listing)) == listings
    return caught.value


def bidders_in(listing: Listing, *usernames: str, deposit: bool = True):
    township = account("township")
    interests = []
    for username in usernames:
        interest = ops.register_interest(account(username), listing, listing.version, plan="种植水稻")
        ops.qualify(township, interest, listing.version, qualified=True, note="经营能力符合")
        if deposit:
            ops.record_deposit(township, interest, listing.version, reference=f"BANK-{username}")
        interests.append(interest)
    return interests


def after_notice(listing: Listing) -> datetime:
    return ops.registration_closes_at(listing) + timedelta(minutes=1)


# --- submit, review, notice ---------------------------------------------------------------------------------


def test_a_listing_goes_through_review_to_a_public_notice_of_ten_working_days(app_ctx):
    size = ledger_size()
    listing = listed()
    assert listing.state == ListingState.listed
    assert [e.step for e in listing.events] == ["submitted", "accepted", "approved"]
    assert [e.account for e in listing.events] == ["village", "township", "township"]
    assert ledger_size() == size + 3
    # ten working days: weekends and official holidays skipped
    import chinese_calendar

    day, counted = listing.notice_starts_on, 1
    assert chinese_calendar.is_workday(day) if day.year <= 2026 else day.weekday() < 5
    while counted < 10:
        day += timedelta(days=1)
        try:
            counted += chinese_calendar.is_workday(day)
        except NotImplementedError:
            counted += day.weekday() < 5
    assert listing.notice_ends_on == day
    assert listing.number.startswith("511723-GP-")


def test_notice_days_in_a_year_the_calendar_does_not_cover_use_the_county_table(app_ctx):
    from exchange.transfers.models import Holiday
    import chinese_calendar

    from exchange.transfers.workdays import working_days_from

    db.session.add(Holiday(day=date(2027, 1, 4), is_workday=False, name="测试假日", recorded_by="county"))
    db.session.flush()
    deadline = working_days_from(date(2027, 1, 1), 3)  # Fri 1 Jan; Mon 4 Jan recorded as a holiday
    assert deadline.provisional
    assert (deadline.starts_on, deadline.ends_on) == (date(2027, 1, 1), date(2027, 1, 6))
    official = working_days_from(date(2026, 9, 30), 2)  # the National Day holiday starts on 1 Oct 2026
    assert not official.provisional and official.ends_on >= date(2026, 10, 8)
    assert all(not chinese_calendar.is_workday(date(2026, 10, 1) + timedelta(days=d))
               for d in range((official.ends_on - date(2026, 10, 1)).days))


def test_a_household_right_needs_the_households_consent(app_ctx):
    error = refused("LISTING-CONSENT", submit, documents={})
    assert error.field == "documents.household_consent" or "LISTING-CONSENT" in error.message_zh


def test_a_lease_over_twenty_years_is_refused(app_ctx):
    year = date.today().year
    refused("LEASE-20Y", submit, start_date=date(year + 1, 1, 1), end_date=date(year + 22, 12, 31))


def test_a_transfer_may_not_change_agricultural_use(app_ctx):
    error = refused("LAND-AGRI-USE", submit, permitted_use="5")
    assert "permitted_use" in str(error.details) or error.field == "permitted_use"


def test_a_term_beyond_the_contract_right_is_refused(app_ctx):
    right = demo_rights()[1]
    refused("LAND-TERM", submit, right=right, end_date=right.end_date + timedelta(days=1),
            start_date=right.end_date - timedelta(days=365 * 5))


def test_a_frozen_right_cannot_be_listed(app_ctx):
    right = demo_rights()[1]
    registry.freeze(right, "开江县人民法院", "(2026)川1723执保99号", "财产保全")
    error = refused("ENCUMBERED", submit, right=right)
    assert "冻结" in error.message_zh or "查封" in error.message_zh


def test_collective_assets_need_a_two_thirds_resolution(app_ctx):
    asset = db.session.scalar(select(CollectiveAsset).where(CollectiveAsset.category != "经营性建设用地")
                              .order_by(CollectiveAsset.id))
    ownership = next(r for r in db.session.scalars(select(Right).where(Right.asset_id == asset.id))
                     if r.right_type == RightType.ownership and r.active)
    village = account("village")
    if not village.division.contains(asset.division):
        pytest.skip("the demo village has no operating asset")
    error = refused("COLLECTIVE-2-3", ops.submit_listing, village, right=ownership, kind="asset_lease", mode="出租",
                    reserve_price="12000", price_unit="per_year", start_date=date(2027, 1, 1),
                    end_date=date(2031, 12, 31), permitted_use="仓储", payment_terms="按年支付")
    assert "三分之二" in error.message_zh
    motion = db.session.scalar(select(Motion).where(Motion.kind == MotionKind.asset_lease, Motion.passed.is_(True)))
    if motion is not None and motion.meeting.collective.credit_code == ownership.collective.credit_code:
        listing = ops.submit_listing(village, right=ownership, kind="asset_lease", mode="出租", reserve_price="12000",
                                     price_unit="per_year", start_date=date(2027, 1, 1), end_date=date(2031, 12, 31),
                                     permitted_use="仓储", payment_terms="按年支付", resolution=motion)
        assert listing.state == ListingState.submitted


def test_the_wrong_kind_of_right_and_a_second_open_listing_are_refused(app_ctx):
    household, right = demo_rights()
    refused("RIGHT-TYPE", submit, right=right, kind="homestead_lease", mode="出租")
    refused("HOMESTEAD-NO-SALE", ops.submit_listing, account("village"), right=next(
        r for r in db.session.scalars(select(Right).where(Right.right_type == RightType.homestead_use,
                                                          Right.ended_at.is_(None)))),
        kind="homestead_lease", mode="转让", reserve_price="3000", price_unit="per_year", start_date=date(2027, 1, 1),
        end_date=date(2030, 12, 31), permitted_use="民宿", payment_terms="按年支付",
        documents={"household_consent": "委托书"})
    submit(right=right)
    refused("LISTING-OPEN", submit, right=right)


def test_bad_figures_name_their_field(app_ctx):
    assert refused("AMOUNT", submit, reserve_price="-5").field == "reserve_price"
    assert refused("AMOUNT", submit, reserve_price="12.345").field == "reserve_price"
    assert refused("TERM-ORDER", submit, start_date=date(2030, 1, 1), end_date=date(2029, 1, 1)).field == "end_date"
    assert refused("PRICE-UNIT", submit, price_unit="per_mu").field == "price_unit"


def test_a_stale_version_is_refused_and_nothing_changes(app_ctx):
    listing = submit()
    seen = listing.version
    ops.accept(account("township"), listing, seen)
    error = refused("STALE", ops.approve, account("township"), listing, seen)
    assert error.status == 409 and listing.state == ListingState.accepted


def test_a_bid_from_a_stale_or_garbled_page_is_refused_before_it_waits_for_the_lock(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder", "bidder2")
    ops.tick(after_notice(listing))
    seen = listing.version
    ops.place_bid(account("bidder"), listing, seen, "800")
    error = refused("STALE", ops.place_bid, account("bidder2"), listing, seen, "820")
    assert f"第 {seen} 版" in error.message_zh and error.status == 409
    refused("STALE", ops.place_bid, account("bidder2"), listing, "abc", "820")
    refused("STALE", ops.place_bid, account("bidder2"), listing, None, "820")
    assert ops.best_bid(listing).amount == Decimal("800")


def test_rejection_needs_a_reason_and_ends_the_listing(app_ctx):
    listing = submit()
    refused("REASON", ops.reject, account("township"), listing, listing.version, "  ")
    ops.reject(account("township"), listing, listing.version, "委托书签名与承包方不一致")
    assert listing.state == ListingState.rejected and listing.events[-1].note == "委托书签名与承包方不一致"
    refused("LISTING-STATE", ops.approve, account("township"), listing, listing.version)


# --- bidders ----------------------------------------------------------------------------------------------


def test_bidders_register_are_qualified_and_pay_deposits(app_ctx):
    listing = listed()
    farm, member = bidders_in(listing, "bidder", "member")
    assert farm.may_bid and member.may_bid
    assert member.is_member and not farm.is_member
    assert farm.deposit_amount == listing.deposit == Decimal("80.00")  # 10 % of the reserve by default
    refused("INTEREST-TWICE", ops.register_interest, account("bidder"), listing, listing.version)


def test_a_large_area_for_a_company_goes_to_county_review(app, app_ctx):
    listing = listed()
    listing.area_m2 = Decimal(str(app.config["LAND_CAPITAL_REVIEW_AREA_M2"])) + 1
    interest = ops.register_interest(account("bidder2"), listing, listing.version)
    ops.qualify(account("township"), interest, listing.version, qualified=True)
    assert interest.qualification == Qualification.county_review and not interest.may_bid
    refused("LAND-CAPITAL-REVIEW", ops.qualify, account("county"), interest, listing.version, qualified=True)
    ops.qualify(account("county"), interest, listing.version, qualified=True, county_review="开农审〔2026〕8号")
    assert interest.qualification == Qualification.qualified


def test_registration_closes_with_the_notice(app_ctx):
    listing = listed()
    ops.catch_up(listing, after_notice(listing))
    assert listing.state == ListingState.failed  # nobody registered: 流拍
    refused("LISTING-STATE", ops.register_interest, account("bidder"), listing, listing.version)


# --- award ------------------------------------------------------------------------------------------------


def test_one_qualified_bidder_agrees_at_no_less_than_the_reserve(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder")
    ops.tick(after_notice(listing))
    assert listing.state == ListingState.auction
    refused("BID-TOO-LOW", ops.place_bid, account("bidder"), listing, listing.version, "799.99")
    ops.place_bid(account("bidder"), listing, listing.version, "820")
    assert listing.state == ListingState.awarded and listing.award_price == Decimal("820")
    assert listing.winner.account.username == "bidder"


def test_several_bidders_bid_up_and_the_best_wins(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder", "bidder2")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "800")
    refused("BID-TOO-LOW", ops.place_bid, account("bidder2"), listing, listing.version, "810")  # increment is 16
    refused("BID-ALREADY-BEST", ops.place_bid, account("bidder"), listing, listing.version, "900")
    ops.place_bid(account("bidder2"), listing, listing.version, "816")
    ops.place_bid(account("bidder"), listing, listing.version, "900")
    refused("BID-NOT-QUALIFIED", ops.place_bid, account("member"), listing, listing.version, "1000")
    ops.tick(ops._aware(listing.auction_ends_at) + timedelta(seconds=1))
    assert listing.state == ListingState.awarded and listing.award_price == Decimal("900")
    assert listing.winner.account.username == "bidder"
    steps = [e.step for e in listing.events]
    assert steps.count("bid") == 3 and "auction_opened" in steps and steps[-1] == "awarded"


def test_a_bid_in_the_last_minutes_extends_the_auction(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder", "bidder2")
    ops.tick(after_notice(listing))
    listing.auction_ends_at = ops.now() + timedelta(minutes=2)
    ops.place_bid(account("bidder"), listing, listing.version, "800")
    assert ops._aware(listing.auction_ends_at) >= ops.now() + timedelta(minutes=4)


def test_a_bid_after_the_end_is_refused_even_before_the_tick(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder", "bidder2")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "800")
    listing.auction_ends_at = ops.now() - timedelta(seconds=1)
    with pytest.raises(DomainError) as caught:
        ops.place_bid(account("bidder2"), listing, listing.version, "2000")
    assert caught.value.code == "LISTING-STATE"
    assert [b.amount for b in listing.bids] == [Decimal("800")]


def test_a_member_may_match_the_best_outside_bid(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder", "bidder2", "member")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder2"), listing, listing.version, "800")
    ops.place_bid(account("bidder"), listing, listing.version, "850")
    ends = ops._aware(listing.auction_ends_at)
    ops.tick(ends + timedelta(seconds=1))
    assert listing.state == ListingState.auction and listing.priority_ends_at is not None
    refused("LAND-PRIORITY", ops.match, account("bidder2"), listing, listing.version)
    refused("BID-CLOSED", ops.place_bid, account("bidder2"), listing, listing.version, "2000")
    ops.match(account("member"), listing, listing.version)
    assert listing.state == ListingState.awarded
    assert listing.winner.account.username == "member" and listing.award_price == Decimal("850")


def test_without_a_match_the_outside_bidder_wins_when_the_window_ends(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder", "member")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "800")
    ops.tick(ops._aware(listing.auction_ends_at) + timedelta(seconds=1))
    ops.tick(ops._aware(listing.priority_ends_at) + timedelta(seconds=1))
    assert listing.state == ListingState.awarded and listing.winner.account.username == "bidder"


def test_no_qualified_bidder_fails_and_can_be_relisted_lower(app_ctx):
    listing = listed()
    interest = ops.register_interest(account("bidder"), listing, listing.version)
    ops.qualify(account("township"), interest, listing.version, qualified=True)  # but never pays the deposit
    assert interest.deposit_state == DepositState.due
    ops.tick(after_notice(listing))
    assert listing.state == ListingState.failed
    fresh = ops.relist(account("village"), listing, listing.version, reserve_price="700")
    assert fresh.state == ListingState.submitted and fresh.reserve_price == Decimal("700")
    assert fresh.relisted_from is listing and listing.events[-1].step == "relisted"


def test_withdrawal_before_the_award_refunds_deposits(app_ctx):
    listing = listed()
    farm, = bidders_in(listing, "bidder")
    ops.withdraw(account("village"), listing, listing.version, "承包户收回委托")
    assert listing.state == ListingState.withdrawn and farm.deposit_state == DepositState.refunded
    other = listed()
    bidders_in(other, "bidder")
    ops.tick(after_notice(other))
    ops.place_bid(account("bidder"), other, other.version, "800")
    refused("LISTING-STATE", ops.withdraw, account("village"), other, other.version, "改变主意")


def test_an_upheld_objection_annuls_the_award(app_ctx):
    listing = listed()
    farm, other = bidders_in(listing, "bidder", "bidder2")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "800")
    ops.tick(ops._aware(listing.auction_ends_at) + timedelta(seconds=1))
    objection = ops.raise_objection(None, listing, "金山村村民张某", "受让方曾撂荒他人承包地")
    ops.tick(ops.end_of_day(listing.objection_ends_on) + timedelta(days=1))
    assert listing.state == ListingState.awarded  # an undecided objection holds the result
    refused("REASON", ops.decide_objection, account("township"), objection, listing.version, upheld=True, outcome="")
    ops.decide_objection(account("township"), objection, listing.version, upheld=True, outcome="经核实属实")
    assert listing.state == ListingState.annulled
    assert farm.deposit_state == other.deposit_state == DepositState.refunded


def test_tick_is_idempotent(app_ctx):
    listing = listed()
    at = after_notice(listing)
    first = ops.tick(at)
    size = ledger_size()
    assert first.get("registration_closed", 0) >= 1
    assert ops.tick(at) == {} and ledger_size() == size


def test_every_step_is_in_the_ledger_without_personal_identifiers(app_ctx):
    import json
    import re

    from exchange.registry.models import Person

    listing = listed()
    bidders_in(listing, "member")
    rows = db.session.execute(select(ledger_entries.c.entry).where(
        ledger_entries.c.idx.in_([e.ledger_index for e in listing.events]))).scalars().all()
    assert len(rows) == len(listing.events)
    text = "\n".join(bytes(r).decode() for r in rows)
    steps = [json.loads(bytes(r))["data"]["step"] for r in rows]
    assert steps == [e.step for e in listing.events]
    names = {p.name for p in db.session.scalars(select(Person))}
    assert not any(name in text for name in names if len(name) >= 2)
    from stdnum.cn import ric

    assert not [n for n in re.findall(r"\d{17}[\dX]", text) if ric.is_valid(n)]  # no resident ID numbers



def test_the_tick_command_moves_deadlines_and_is_idempotent(app, runner):
    with app.test_request_context():
        listing = db.session.scalar(select(Listing).where(Listing.state == ListingState.listed))
        at = after_notice(listing).isoformat()
    first = runner.invoke(args=["exchange", "tick", "--at", at])
    assert first.exit_code == 0 and "registration_closed" in first.output, first.output
    again = runner.invoke(args=["exchange", "tick", "--at", at])
    assert again.exit_code == 0 and "moved: nothing" in again.output
    bad = runner.invoke(args=["exchange", "tick", "--at", "2026-12-08 16:00"])
    assert bad.exit_code != 0 and "--at" in bad.output

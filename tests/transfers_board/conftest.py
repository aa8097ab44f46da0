"""Fixtures for the public board: listings in every public state, made by the workflow's own operations as the
demo accounts (the village submits, the township accepts and approves, bidders register and bid, deadlines pass
through ``catch_up``), so the board is checked against what the workflow really writes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from exchange.accounts.models import Account, Role
from exchange.accounts.operations import create_account
from exchange.db import db
from exchange.demo.data import DEMO_PASSWORD
from exchange.demo.exchange import DEMO_VILLAGE
from exchange.divisions.models import Division
from exchange.registry.models import Collective, Household, Right, RightHolder, RightType
from exchange.transfers import operations as ops
from exchange.transfers.models import Listing, ListingState


def account(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def submit(reserve: str = "800", **overrides) -> Listing:
    """The demo village lists the next free contract right of a 金山村 household, with the household's consent."""
    year = date.today().year
    arguments = dict(right=free_right(), kind="land_management_transfer", mode="出租", reserve_price=reserve,
                     price_unit="per_year", start_date=date(year + 1, 1, 1), end_date=date(year + 10, 12, 31),
                     permitted_use="1", payment_terms="每年 1 月 31 日前付清当年租金",
                     bidder_conditions="具有农业经营能力", documents={"household_consent": "金山村委托书（测试）"})
    arguments.update(overrides)
    return ops.submit_listing(account("village"), **arguments)


def listed(**overrides) -> Listing:
    listing = submit(**overrides)
    ops.accept(account("township"), listing, listing.version)
    return ops.approve(account("township"), listing, listing.version)


def qualified(listing: Listing, *usernames: str) -> None:
    township = account("township")
    for username in usernames:
        interest = ops.register_interest(account(username), listing, listing.version, plan="种植水稻")
        ops.qualify(township, interest, listing.version, qualified=True, note="经营能力符合")
        ops.record_deposit(township, interest, listing.version, reference=f"BANK-{username}-{listing.id}")


def auction(listing: Listing, *usernames: str) -> Listing:
    qualified(listing, *usernames)
    ops.catch_up(listing, ops.registration_closes_at(listing) + timedelta(minutes=1))
    assert listing.state == ListingState.auction
    return listing


def close_auction(listing: Listing) -> None:
    ops.catch_up(listing, ops._aware(listing.auction_ends_at) + timedelta(seconds=1))


OTHER_VILLAGE = "511723101200"  # 普安镇石桥村: in another township than the demo's 金山村


def free_right(village_code: str = DEMO_VILLAGE) -> Right:
    """A contract right free to list (not listed, not frozen or pledged, nothing derived from it) of a household
    of that village other than its first two (the demo's member bidder is the second of 金山村). Like the demo's
    ``demo_rights``, but reading only the ids it needs."""
    collective = db.session.scalar(select(Collective).join(Collective.division).where(
        Collective.division.has(code=village_code)))
    households = db.session.scalars(select(Household.id).where(Household.collective_id == collective.id)
                                    .order_by(Household.code)).all()[2:]
    derived = aliased(Right)
    for right in db.session.scalars(select(Right).join(RightHolder).where(
            RightHolder.household_id.in_(households), Right.right_type == RightType.contract,
            Right.ended_at.is_(None),
            Right.id.not_in(select(Listing.right_id).where(Listing.right_id.is_not(None))),
            ~select(derived.id).where(derived.derived_from_id == Right.id).exists()).order_by(Right.number)):
        if not right.active_freezes() and not right.active_pledges():
            return right
    raise LookupError(f"no free contract right in {village_code}")


def other_township_deal(reserve: str = "1000") -> Listing:
    """A listing in 普安镇, submitted by a village account of that village (made here: the demo has one for
    金山村 only) and approved by 普安镇's station (demo account township2), won by a single offer."""
    village = db.session.scalar(select(Account).where(Account.username == "village-shiqiao")) or create_account(
        "village-shiqiao", DEMO_PASSWORD, Role.village, "石桥村股份经济合作社",
        division=db.session.scalar(select(Division).where(Division.code == OTHER_VILLAGE)))
    year = date.today().year
    listing = ops.submit_listing(village, right=free_right(OTHER_VILLAGE), kind="land_management_transfer",
                                 mode="出租", reserve_price=reserve, price_unit="per_year", start_date=date(year + 1, 1, 1),
                                 end_date=date(year + 5, 12, 31), permitted_use="1", payment_terms="按年支付",
                                 documents={"household_consent": "石桥村委托书（测试）"})
    ops.accept(account("township2"), listing, listing.version)
    ops.approve(account("township2"), listing, listing.version)
    auction(listing, "bidder2")
    ops.place_bid(account("bidder2"), listing, listing.version, reserve)
    assert listing.state == ListingState.awarded
    return listing


@dataclass
class Scenario:
    notices: list[str] = field(default_factory=list)
    auction: str = ""
    auction_bids: list[str] = field(default_factory=list)
    deal_organisation: str = ""
    deal_member: str = ""
    failed: str = ""
    annulled: str = ""
    other_township: str = ""
    all: list[str] = field(default_factory=list)


def build_scenario() -> Scenario:
    """Two more notices besides the demo's, a live auction with two bids, a deal won by a family farm, one won by
    a member household matching the best outside bid, a failure (流拍) and an annulled award."""
    s = Scenario()
    s.notices = [listed(reserve="700").number, listed(reserve="650.50", permitted_use="4").number]

    live = auction(listed(reserve="900"), "bidder", "bidder2")
    ops.place_bid(account("bidder"), live, live.version, "900")
    ops.place_bid(account("bidder2"), live, live.version, "950")
    s.auction, s.auction_bids = live.number, ["900.00", "950.00"]

    farm = auction(listed(reserve="800"), "bidder", "bidder2")
    ops.place_bid(account("bidder2"), farm, farm.version, "800")
    ops.place_bid(account("bidder"), farm, farm.version, "880")
    close_auction(farm)
    assert farm.state == ListingState.awarded and farm.winner.account.username == "bidder"
    s.deal_organisation = farm.number

    matched = auction(listed(reserve="600"), "bidder", "member")
    ops.place_bid(account("bidder"), matched, matched.version, "660")
    close_auction(matched)
    ops.match(account("member"), matched, matched.version)
    assert matched.state == ListingState.awarded and matched.winner.is_member
    s.deal_member = matched.number

    nobody = listed(reserve="500")
    ops.catch_up(nobody, ops.registration_closes_at(nobody) + timedelta(minutes=1))
    assert nobody.state == ListingState.failed
    s.failed = nobody.number

    disputed = auction(listed(reserve="750"), "bidder", "bidder2")
    ops.place_bid(account("bidder2"), disputed, disputed.version, "750")
    close_auction(disputed)
    objection = ops.raise_objection(None, disputed, "金山村村民", "受让方曾撂荒他人承包地")
    ops.decide_objection(account("township"), objection, disputed.version, upheld=True, outcome="经核实属实")
    assert disputed.state == ListingState.annulled
    s.annulled = disputed.number

    s.other_township = other_township_deal().number
    s.all = db.session.scalars(select(Listing.number).order_by(Listing.id)).all()
    return s


@pytest.fixture
def scenario(app, connection) -> Scenario:
    with app.test_request_context():
        built = build_scenario()
        db.session.commit()  # releases this session's savepoint into the test's outer transaction
    return built


NUMBER_RE = re.compile(r"511723-GP-\d{4}-\d{6}")


def numbers_on(page: str) -> list[str]:
    """Listing numbers in the board's rows, in order."""
    return re.findall(r'data-testid="row" data-number="([^"]+)"', page)

"""What the public sees of the exchange (公开信息): notices, live auctions and results, as plain data without personal
identifiers. The board page, its API and the live price that the page polls all read these functions.

Everything here is read-only and paged with indexed queries: a page costs a handful of statements whatever the
number of listings and however deep the page (the counts per state, the ids of the page, its rows, and one query
each for the page's places, prices, winners and result dates; see "the board" below). Counts and statistics,
which read every listing, are kept for a short while unless a listing changes (see ``kept``). Nothing names a
person: a household that wins is "a household" (or "a household of this collective"), free text that staff write
(reasons, notes, objections) is not shown, and the history shows steps and roles, not accounts.
"""
from __future__ import annotations

import calendar
import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from exchange.db import db
from exchange.divisions.models import Division, DivisionLevel
from exchange.registry.models import Organisation, to_mu
from exchange.transfers import operations as ops
from exchange.transfers.models import (
    PUBLIC_STATES, Bid, BidderProfile, Interest, Listing, ListingEvent, ListingState, PartyKind, ResultObjection,
)

PER_PAGE = 20
MAX_PER_PAGE = 100

DEAL_STATES = (ListingState.awarded, ListingState.contracting, ListingState.signed, ListingState.settled,
               ListingState.registered)  # 成交 (the award stands, whatever the later steps)
SECTION_STATES = {
    "notices": (ListingState.listed,),  # 挂牌公告: notice period and interest registration
    "auctions": (ListingState.auction,),  # 网络竞价
    "results": DEAL_STATES + (ListingState.failed, ListingState.annulled),  # 交易结果
}
OUTCOME_STATES = {"deal": DEAL_STATES, "failed": (ListingState.failed,), "annulled": (ListingState.annulled,)}
# Kinds whose price per 亩 per year is shown: farmland management rights, priced by 亩 in practice.
LAND_KINDS = frozenset({"land_management_transfer"})
LAND_USES = {"1": _l("种植业"), "2": _l("林业"), "3": _l("畜牧业"), "4": _l("渔业")}  # TDYT codes
WINNER_LABELS = {"member_household": _l("本集体成员农户"), "household": _l("农户")}
ROLE_LABELS = {"village": _l("村集体"), "township": _l("乡镇农经站"), "county": _l("县交易中心"),
               "bidder": _l("竞买人"), "system": _l("系统"), "admin": _l("平台管理员")}
FAILED_REASONS = {"no_bidder": _l("报名截止时无合格竞买人"), "no_bid": _l("竞价期内无有效出价")}
ANNULLED_REASONS = {"objection": _l("成交公示期内异议成立"), "other": _l("成交后经审查撤销")}
# The steps the public history shows, in words. Bidders' registrations, qualifications and deposits stay out
# (the exchange does not disclose who or how many registered before the auction); bids are listed by amount.
STEP_LABELS = {
    "submitted": _l("村集体提交挂牌申请"),
    "accepted": _l("乡镇受理"),
    "approved": _l("审核通过，发布挂牌公告"),
    "auction_opened": _l("报名截止，开始竞价"),
    "priority_window": _l("竞价结束，本集体成员优先权行使期开始"),
    "priority_match": _l("本集体成员按同等条件行使优先权"),
    "awarded": _l("成交，进入成交公示"),
    "objection": _l("收到异议"),
    "objection_decided": _l("异议已处理"),
    "publicity_closed": _l("成交公示期满"),
    "contract_drafted": _l("生成合同"),
    "contract_reviewed": _l("合同审查"),
    "contract_accepted": _l("一方确认合同"),
    "contract_signed": _l("双方签订合同"),
    "settled": _l("价款结算"),
    "registered": _l("权属登记，出具交易鉴证书"),
    "failed": _l("流拍"),
    "annulled": _l("撤销成交"),
    "relisted": _l("重新挂牌"),
    "withdrawn": _l("撤回挂牌"),
}
BID_STEPS = ("bid", "offer")


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@functools.lru_cache(maxsize=4096)  # terms repeat: the board's rows and the statistics' groups share a few
def term_years(start: date, end: date) -> Decimal:
    """The length of a term from ``start`` to ``end`` (both days included) in years: whole months over twelve,
    plus the days left over / 365 (a term of 2027-01-01 to 2036-12-31 is exactly 10)."""
    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    while months > 0 and add_months(start, months) > after:
        months -= 1
    rest = (after - add_months(start, months)).days
    return (Decimal(months) / 12 + Decimal(rest) / 365).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def yearly(price: Decimal, price_unit: str, start: date, end: date) -> Decimal:
    """A price per year: the rent itself, or a lump sum spread over the term."""
    if price_unit == "per_year":
        return price
    years = term_years(start, end)
    return price / years if years > 0 else price


def contract_value(price: Decimal, price_unit: str, start: date, end: date) -> Decimal:
    """A transaction's value (成交金额): the lump sum, or the yearly rent times the term in years."""
    if price_unit == "per_year":
        return (price * term_years(start, end)).quantize(ops.FEN, ROUND_HALF_UP)
    return price


def price_per_mu_year(kind: str, price: Decimal | None, price_unit: str, start: date, end: date,
                      area_m2: Decimal | None) -> Decimal | None:
    if kind not in LAND_KINDS or price is None or not area_m2:
        return None
    return (yearly(price, price_unit, start, end) / to_mu(area_m2)).quantize(ops.FEN, ROUND_HALF_UP) \
        if to_mu(area_m2) > 0 else None


@dataclass
class PublicListing:
    """A listing as anyone may see it. No field holds a person's name, ID number, account or contact."""

    number: str
    title: str
    kind: str
    mode: str
    state: str
    deadline_passed: str | None  # a deadline passed and the tick has not run yet (registration_closed, …)
    location: str  # the division's full name
    township: str | None  # the township's code
    area_m2: Decimal | None
    area_mu: Decimal | None
    reserve_price: Decimal
    price_unit: str
    start_date: date
    end_date: date
    term_years: Decimal
    permitted_use: str
    payment_terms: str
    bidder_conditions: str
    deposit: Decimal
    increment: Decimal
    lister: str  # the collective that lists (a collective economic organisation: its name is public)
    notice_starts_on: date | None
    notice_ends_on: date | None
    notice_working_days: int
    registration_closes_at: datetime | None
    calendar_provisional: bool
    phase: str  # notice | bidding | priority | closed | result
    auction_ends_at: datetime | None
    priority_ends_at: datetime | None
    ends_at: datetime | None  # what the countdown counts to: the auction's or the priority window's end
    best_price: Decimal | None = None
    minimum_bid: Decimal | None = None
    bids: int = 0
    award_price: Decimal | None = None
    awarded_at: datetime | None = None
    price_per_mu_year: Decimal | None = None
    value: Decimal | None = None
    winner: str | None = None  # member_household | household | organisation
    winner_name: str | None = None  # organisations only
    objection_ends_on: date | None = None
    result_at: datetime | None = None  # when the award, failure or annulment happened
    result_on: date | None = None  # its day in the exchange's time zone (for want of bidders: the notice's end)
    result_reason: str | None = None  # FAILED_REASONS / ANNULLED_REASONS key
    certificate_number: str | None = None
    relisted_from: str | None = None
    relisted_as: str | None = None
    transferor: str | None = None  # detail only: an organisation's or collective's name, or "household"

    @property
    def outcome(self) -> str | None:
        state = ListingState(self.state)
        if state in DEAL_STATES:
            return "deal"
        return {ListingState.failed: "failed", ListingState.annulled: "annulled"}.get(state)

    @property
    def winner_label(self) -> str | None:
        if self.winner == "organisation":
            return self.winner_name
        return str(WINNER_LABELS[self.winner]) if self.winner else None


@dataclass
class BoardPage:
    section: str
    items: list[PublicListing]
    total: int
    page: int
    per_page: int
    filters: dict = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # section → listings, under the same township and kind
    first_id: int | None = None  # where the previous page ends (keyset: ``before``)
    last_id: int | None = None  # where the next page starts (keyset: ``after``)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# --- figures that cost a scan, kept while the listings stay as they were ---------------------------------------
#
# Counting 10^5 listings, or aggregating them for the statistics, reads every row (on PostgreSQL, the table too
# until vacuum has marked its pages all-visible). Such figures are kept per app and key, and used again only while
# both of these are unchanged since they were computed:
#
# - the listings' change marker: the newest step of any listing and how many of the last steps exist. Every change
#   of a listing is a step (``operations._step``), whichever process made it; a step that commits after a newer one
#   (concurrent transactions on PostgreSQL) shows in the count.
# - this process's own change counter, raised by every flush that adds a step or changes a listing and by the
#   rollback of a transaction that did, so a change made outside the workflow (fixtures, tools) counts too.
#
# Whatever happens, nothing is kept longer than KEEP_SECONDS.

KEEP_SECONDS = 60
KEEP_ENTRIES = 256
MARKER_WINDOW = 64
_changes = {"local": 0}
_keep_lock = threading.Lock()
T = TypeVar("T")


def _changed() -> None:
    with _keep_lock:
        _changes["local"] += 1


CHANGED = "exchange_listings_changed"  # per connection: did each open (sub)transaction change listings?


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context) -> None:
    if any(isinstance(item, (Listing, ListingEvent)) for item in (*session.new, *session.dirty, *session.deleted)):
        _changed()
        session.connection().info.setdefault(CHANGED, [False])[-1] = True


@event.listens_for(Engine, "savepoint")
def _savepoint(connection: Connection, _name) -> None:
    connection.info.setdefault(CHANGED, [False]).append(False)


@event.listens_for(Engine, "release_savepoint")
def _released(connection: Connection, _name, _context) -> None:
    levels = connection.info.get(CHANGED)
    if levels and len(levels) > 1:
        changed = levels.pop()
        levels[-1] = levels[-1] or changed


@event.listens_for(Engine, "rollback_savepoint")
def _rolled_back_to_savepoint(connection: Connection, _name, _context) -> None:
    levels = connection.info.get(CHANGED)
    if levels and len(levels) > 1 and levels.pop():
        _changed()


@event.listens_for(Engine, "rollback")
def _rolled_back(connection: Connection) -> None:
    if any(connection.info.pop(CHANGED, ())):
        _changed()


@event.listens_for(Engine, "commit")
def _committed(connection: Connection) -> None:
    connection.info.pop(CHANGED, None)


def change_marker() -> tuple[int, int]:
    """(newest step id, how many of the MARKER_WINDOW ids up to it are taken): two index lookups."""
    newest = select(func.max(ListingEvent.id)).scalar_subquery()
    row = db.session.execute(select(func.max(ListingEvent.id), func.count())
                             .where(ListingEvent.id > newest - MARKER_WINDOW)).one()
    return row[0] or 0, row[1]


def kept(key: tuple, compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned for the same key if the listings have not changed since (see above)."""
    store: OrderedDict = current_app.extensions.setdefault("exchange_kept_figures", OrderedDict())
    stamp = (_changes["local"], change_marker())
    now = time.monotonic()
    with _keep_lock:
        hit = store.get(key)
        if hit is not None and hit[0] == stamp and now - hit[1] < KEEP_SECONDS:
            store.move_to_end(key)
            return hit[2]
    value = compute()
    with _keep_lock:
        store[key] = (stamp, now, value)
        store.move_to_end(key)
        while len(store) > KEEP_ENTRIES:
            store.popitem(last=False)
    return value


# --- lookups shared by the page rows ------------------------------------------------------------------------


def townships() -> list[tuple[str, str]]:
    """(code, name) of every township, for the filter."""
    return list(db.session.execute(select(Division.code, Division.name)
                                   .where(Division.level == DivisionLevel.township).order_by(Division.code)))


def _places(division_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """division id → (full name, township code), in two queries: the divisions, then all their ancestors by code
    prefix (codes are hierarchical: 6-digit county, 9 township, 12 village, 14 group)."""
    if not division_ids:
        return {}
    codes = dict(db.session.execute(select(Division.id, Division.code).where(Division.id.in_(division_ids))).all())
    prefixes = {code[:n] for code in codes.values() for n in (6, 9, 12, 14) if n <= len(code)}
    names = dict(db.session.execute(select(Division.code, Division.name).where(Division.code.in_(prefixes))).all())
    return {i: ("".join(names.get(code[:n], "") for n in (6, 9, 12, 14) if n <= len(code)),
                code[:9] if len(code) >= 9 else None) for i, code in codes.items()}


def _bid_figures(listing_ids: list[int]) -> dict[int, tuple[Decimal, int]]:
    """listing id → (best bid, number of bids), by one aggregate instead of loading the bids."""
    if not listing_ids:
        return {}
    rows = db.session.execute(select(Bid.listing_id, func.max(Bid.amount), func.count())
                              .where(Bid.listing_id.in_(listing_ids)).group_by(Bid.listing_id))
    return {listing_id: (Decimal(best), count) for listing_id, best, count in rows}


def _winners(interest_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """interest id → (member_household | household | organisation, organisation's name or None)."""
    if not interest_ids:
        return {}
    rows = db.session.execute(
        select(Interest.id, Interest.is_member, BidderProfile.party_kind, Organisation.name)
        .join(BidderProfile, Interest.profile_id == BidderProfile.id)
        .outerjoin(Organisation, BidderProfile.organisation_id == Organisation.id)
        .where(Interest.id.in_(interest_ids)))
    winners = {}
    for interest_id, member, party_kind, organisation in rows:
        if party_kind == PartyKind.organisation and organisation:
            winners[interest_id] = ("organisation", organisation)
        else:
            winners[interest_id] = ("member_household" if member else "household", None)
    return winners


def _result_times(listing_ids: list[int]) -> dict[int, datetime]:
    """listing id → when its award was annulled (the step's time)."""
    if not listing_ids:
        return {}
    rows = db.session.execute(select(ListingEvent.listing_id, func.max(ListingEvent.created_at))
                              .where(ListingEvent.listing_id.in_(listing_ids),
                                     ListingEvent.step == "annulled")
                              .group_by(ListingEvent.listing_id))
    return {listing_id: utc(at) for listing_id, at in rows}


def _collective_names(listings: list[Listing]) -> dict[int, str]:
    """collective id → its name (collectives are organisations: their names are public)."""
    from exchange.registry.models import Collective

    ids = {listing.collective_id for listing in listings}
    if not ids:
        return {}
    return dict(db.session.execute(select(Collective.id, Collective.name).where(Collective.id.in_(ids))).all())


def _permitted_use(listing: Listing) -> str:
    use = (listing.permitted_use or "").strip()
    return str(LAND_USES[use]) if listing.kind in LAND_KINDS and use in LAND_USES else use


def _phase(listing: Listing, deadline: str | None) -> str:
    if listing.state == ListingState.listed:
        return "notice"
    if listing.state == ListingState.auction:
        if deadline == "auction_closed":
            return "closed"
        return "priority" if listing.priority_ends_at is not None else "bidding"
    return "result"


def _public(listing: Listing, places, figures, winners, results, collectives, at: datetime) -> PublicListing:
    _state, deadline = ops.effective_state(listing, at)
    location, township = places.get(listing.division_id, ("", None))
    best, count = figures.get(listing.id, (None, 0))
    phase = _phase(listing, deadline)
    item = PublicListing(
        number=listing.number, title=listing.title, kind=listing.kind, mode=listing.mode, state=listing.state.value,
        deadline_passed=deadline, location=location, township=township, area_m2=listing.area_m2,
        area_mu=to_mu(listing.area_m2) if listing.area_m2 else None, reserve_price=listing.reserve_price,
        price_unit=listing.price_unit, start_date=listing.start_date, end_date=listing.end_date,
        term_years=term_years(listing.start_date, listing.end_date), permitted_use=_permitted_use(listing),
        payment_terms=listing.payment_terms, bidder_conditions=listing.bidder_conditions or "",
        deposit=listing.deposit, increment=listing.increment, lister=collectives.get(listing.collective_id, ""),
        notice_starts_on=listing.notice_starts_on, notice_ends_on=listing.notice_ends_on,
        notice_working_days=listing.notice_working_days, registration_closes_at=ops.registration_closes_at(listing),
        calendar_provisional=listing.calendar_provisional, phase=phase,
        auction_ends_at=utc(listing.auction_ends_at), priority_ends_at=utc(listing.priority_ends_at),
        ends_at=utc(listing.priority_ends_at or listing.auction_ends_at), best_price=best, bids=count,
        objection_ends_on=listing.objection_ends_on, certificate_number=listing.certificate_number)
    if listing.state in (ListingState.listed, ListingState.auction):
        item.minimum_bid = listing.reserve_price if best is None else best + listing.increment
    if listing.state in DEAL_STATES and listing.award_price is not None:
        item.award_price, item.awarded_at = listing.award_price, utc(listing.awarded_at)
        item.result_at = item.awarded_at
        item.result_on = ops.local_today(item.awarded_at) if item.awarded_at else None
        item.price_per_mu_year = price_per_mu_year(listing.kind, listing.award_price, listing.price_unit,
                                                   listing.start_date, listing.end_date, listing.area_m2)
        item.value = contract_value(listing.award_price, listing.price_unit, listing.start_date, listing.end_date)
        if listing.winner_id in winners:
            item.winner, item.winner_name = winners[listing.winner_id]
    elif listing.state == ListingState.failed:  # it failed at a deadline, whenever the tick noticed
        if listing.auction_starts_at is None:
            item.result_reason, item.result_at = "no_bidder", ops.registration_closes_at(listing)
            item.result_on = listing.notice_ends_on
        else:
            item.result_reason, item.result_at = "no_bid", utc(listing.auction_ends_at)
            item.result_on = ops.local_today(item.result_at)
    elif listing.state == ListingState.annulled:
        item.result_at = results.get(listing.id)
        item.result_on = ops.local_today(item.result_at) if item.result_at else None
        item.result_reason = "other"
        item.award_price = listing.award_price  # the award that was annulled, for the record
    return item


def _publish(listings: list[Listing], at: datetime) -> list[PublicListing]:
    places = _places({listing.division_id for listing in listings})
    figures = _bid_figures([listing.id for listing in listings if listing.state == ListingState.auction])
    winners = _winners([listing.winner_id for listing in listings if listing.winner_id is not None])
    results = _result_times([listing.id for listing in listings if listing.state == ListingState.annulled])
    collectives = _collective_names(listings)
    return [_public(listing, places, figures, winners, results, collectives, at) for listing in listings]


# --- the board ----------------------------------------------------------------------------------------------
#
# A page costs the same few statements at any depth:
#
# - the tabs' counts: one count grouped by state over the public states, from ix_listings_board_filter, and kept
#   (see ``kept``) while no listing changes;
# - the ids of the page, walking ix_listings_board_order, which holds id, state, kind and division in id order, so
#   that the rows a deep page skips are index entries, not table rows. A page past the middle of its section is
#   counted from the oldest end, so no page skips more than half of it; the previous and next links carry the id
#   the page continues from (keyset), so paging through a section costs as little at its end as at its start;
# - the page's rows, by id.
#
# A township is the ids of its divisions, and the listings are filtered on their own division_id.


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    divisions: tuple[int, ...] | None = None  # a township's divisions; None: every township


def township_divisions(township: str) -> tuple[int, ...]:
    """The ids of a township's divisions: the township, its villages and their groups. Codes are hierarchical, so
    these are the codes from the township's own up to (not including) the next township's, a range of the unique
    index on the code, and the listings are then filtered on their own indexed division_id."""
    following = township[:-1] + chr(ord(township[-1]) + 1)
    return tuple(db.session.scalars(select(Division.id).where(Division.code >= township, Division.code < following)
                                    .order_by(Division.id)))


def board_filters(township: str | None = None, kind: str | None = None) -> Filters:
    return Filters(kind or None, township_divisions(township) if township else None)


def _conditions(states, chosen: Filters) -> list:
    conditions = [Listing.state == states[0] if len(states) == 1 else Listing.state.in_(states)]
    if chosen.kind:
        conditions.append(Listing.kind == chosen.kind)
    if chosen.divisions is not None:
        conditions.append(Listing.division_id.in_(chosen.divisions))
    return conditions


BOARD_STATES = tuple(dict.fromkeys(state for states in SECTION_STATES.values() for state in states))


def state_counts(chosen: Filters) -> dict[ListingState, int]:
    """How many listings of each public state match the filters: one grouped count, kept while nothing changes."""
    def counted() -> dict[ListingState, int]:
        rows = db.session.execute(select(Listing.state, func.count()).where(*_conditions(BOARD_STATES, chosen))
                                  .group_by(Listing.state))
        return {ListingState(state): n for state, n in rows}

    return kept(("board-counts", chosen), counted)


def _states(section: str, outcome: str | None):
    return OUTCOME_STATES[outcome] if section == "results" and outcome else SECTION_STATES[section]


def _page_ids(conditions: list, total: int, page: int, per_page: int, after: int | None,
              before: int | None) -> list[int]:
    """The ids of a page, newest first: after (older than) or before (newer than) the id a neighbouring page ended
    with, or else by position, skipping from whichever end of the section is nearer."""
    ids = select(Listing.id).where(*conditions)
    if page > 1 and after is not None:
        return list(db.session.scalars(ids.where(Listing.id < after).order_by(Listing.id.desc()).limit(per_page)))
    if page > 1 and before is not None:
        newer = list(db.session.scalars(ids.where(Listing.id > before).order_by(Listing.id).limit(per_page)))
        if len(newer) == per_page:
            return newer[::-1]
        # fewer than a page is newer (listings left the section since): find the page by its position instead
    start = (page - 1) * per_page
    if start >= total:
        return []
    end = min(total, start + per_page)
    if start > total - end:
        return list(db.session.scalars(ids.order_by(Listing.id).offset(total - end).limit(end - start)))[::-1]
    return list(db.session.scalars(ids.order_by(Listing.id.desc()).offset(start).limit(per_page)))


def board_page(section: str, *, township: str | None = None, kind: str | None = None, outcome: str | None = None,
               page: int = 1, per_page: int = PER_PAGE, after: int | None = None, before: int | None = None,
               at: datetime | None = None) -> BoardPage:
    """One page of a section of the board, newest listing first (the primary key's order), with its total for the
    page links and the count of every section under the same township and kind for the tabs. ``after`` and
    ``before`` are the last and first id of the page the visitor comes from (see ``BoardPage.first_id``)."""
    chosen = board_filters(township, kind)
    by_state = state_counts(chosen)
    counts = {name: sum(by_state.get(state, 0) for state in states) for name, states in SECTION_STATES.items()}
    states = _states(section, outcome)
    total = sum(by_state.get(state, 0) for state in states)
    page = max(1, page)
    ids = _page_ids(_conditions(states, chosen), total, page, per_page, after, before)
    rows = {listing.id: listing for listing in db.session.scalars(select(Listing).where(Listing.id.in_(ids)))} \
        if ids else {}
    listings = [rows[i] for i in ids if i in rows]
    return BoardPage(section, _publish(listings, at or ops.now()), total, page, per_page,
                     {"township": township, "kind": kind, "outcome": outcome}, counts,
                     listings[0].id if listings else None, listings[-1].id if listings else None)


def public_listing_row(number: str) -> Listing | None:
    """The listing if the public may see it (from its notice on), else None."""
    listing = db.session.scalar(select(Listing).where(Listing.number == number))
    if listing is None or listing.state not in PUBLIC_STATES:
        return None
    return listing


def _transferor(listing: Listing) -> str | None:
    """Who transfers: a collective or an organisation by name; a household or a person only as "household". One
    query for the holders' kinds and the public names, instead of loading the right, its holders and each holder."""
    from exchange.registry.models import Collective, RightHolder

    if listing.right_id is None:
        return None
    holders = db.session.execute(
        select(Organisation.name, Collective.name)
        .select_from(RightHolder)
        .outerjoin(Organisation, RightHolder.organisation_id == Organisation.id)
        .outerjoin(Collective, RightHolder.collective_id == Collective.id)
        .where(RightHolder.right_id == listing.right_id).order_by(RightHolder.id)).all()
    if not holders:
        return None
    names = [organisation or collective for organisation, collective in holders]
    if all(names):
        return "、".join(names)
    return "household"


def public_listing(listing: Listing, at: datetime | None = None) -> PublicListing:
    """One listing for its public page: the board's data plus the transferor, relisting links and the reason
    for a failure or an annulment (as a category, never staff's own words)."""
    item = _publish([listing], at or ops.now())[0]
    item.transferor = _transferor(listing)
    if listing.relisted_from_id is not None:
        previous = db.session.get(Listing, listing.relisted_from_id)
        item.relisted_from = previous.number if previous is not None and previous.state in PUBLIC_STATES else None
    if listing.state == ListingState.failed:
        item.relisted_as = db.session.scalar(select(Listing.number).where(
            Listing.relisted_from_id == listing.id, Listing.state.in_(PUBLIC_STATES)).order_by(Listing.id.desc())
            .limit(1))
    if listing.state == ListingState.annulled and db.session.scalar(
            select(func.count()).select_from(ResultObjection).where(ResultObjection.listing_id == listing.id,
                                                                   ResultObjection.upheld.is_(True))):
        item.result_reason = "objection"
    return item


@dataclass
class Step:
    step: str
    label: str
    role: str
    role_label: str
    at: datetime
    ledger_index: int


def history(listing: Listing) -> list[Step]:
    """The listing's public steps in order: what happened, when, done by which kind of office (never by whom)."""
    rows = db.session.execute(select(ListingEvent.step, ListingEvent.role, ListingEvent.created_at,
                                     ListingEvent.ledger_index)
                              .where(ListingEvent.listing_id == listing.id, ListingEvent.step.in_(STEP_LABELS))
                              .order_by(ListingEvent.id))
    return [Step(step, str(STEP_LABELS[step]), role, str(ROLE_LABELS.get(role, role)), utc(at), index)
            for step, role, at, index in rows]


@dataclass
class PublicBid:
    bidder: int  # the bidder's number in this auction (竞买号: order of registration), not who they are
    amount: Decimal
    kind: str
    at: datetime


def bids(listing: Listing, limit: int = 50) -> list[PublicBid]:
    """The newest bids, each with the bidder's number in this auction."""
    numbers = {interest_id: n for n, interest_id in enumerate(db.session.scalars(
        select(Interest.id).where(Interest.listing_id == listing.id).order_by(Interest.id)), start=1)}
    rows = db.session.execute(select(Bid.interest_id, Bid.amount, Bid.kind, Bid.created_at)
                              .where(Bid.listing_id == listing.id).order_by(Bid.id.desc()).limit(limit))
    return [PublicBid(numbers.get(interest_id, 0), amount, kind, utc(at)) for interest_id, amount, kind, at in rows]


@dataclass
class Live:
    number: str
    state: str
    phase: str
    best_price: Decimal | None
    minimum_bid: Decimal | None
    bids: int
    reserve_price: Decimal
    increment: Decimal
    price_unit: str
    ends_at: datetime | None
    award_price: Decimal | None
    server_time: datetime


def live(number: str, at: datetime | None = None) -> Live | None:
    """What the page polls during an auction: two indexed queries (the listing by number, its bids' aggregate)."""
    at = at or ops.now()
    listing = public_listing_row(number)
    if listing is None:
        return None
    _state, deadline = ops.effective_state(listing, at)
    best, count = _bid_figures([listing.id]).get(listing.id, (None, 0))
    open_ = listing.state in (ListingState.listed, ListingState.auction)
    return Live(number=listing.number, state=listing.state.value, phase=_phase(listing, deadline), best_price=best,
                minimum_bid=(listing.reserve_price if best is None else best + listing.increment) if open_ else None,
                bids=count, reserve_price=listing.reserve_price, increment=listing.increment,
                price_unit=listing.price_unit, ends_at=utc(listing.priority_ends_at or listing.auction_ends_at),
                award_price=listing.award_price if listing.state in DEAL_STATES else None, server_time=at)

"""The public board as a member of the public reads it, without logging in: current notices with what a bidder
needs to take part, live auctions with the price to beat and the end time, results with prices and anonymous
winners, a page per listing with its notice and its steps; filters, paging, and bounded queries."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import event, func, select

from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry.models import to_mu
from exchange.transfers import operations as ops
from exchange.transfers.models import Listing, ListingEvent, ListingState
from tests.transfers_board.conftest import account, numbers_on, submit


def row_of(page: str, number: str) -> str:
    match = re.search(rf'<tr data-testid="row" data-number="{re.escape(number)}".*?</tr>', page, re.S)
    assert match, f"{number} is not on the page"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))))


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def money(value) -> str:
    return f"{Decimal(value):,.2f}"


def listing(number: str) -> Listing:
    return db.session.scalar(select(Listing).where(Listing.number == number))


def test_notices_show_what_a_bidder_needs_without_logging_in(client, app, scenario):
    response = client.get("/exchange/board")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    with app.app_context():
        notices = db.session.scalars(select(Listing).where(Listing.state == ListingState.listed)
                                     .order_by(Listing.id.desc())).all()
        assert numbers_on(page) == [n.number for n in notices]  # every notice, newest first, nothing else
        for item in notices:
            row = row_of(page, item.number)
            assert item.division.full_name in row and item.division.full_name.startswith("开江县新宁镇")
            assert f"{money(item.area_m2)} m²" in row and f"{to_mu(item.area_m2)} 亩" in row
            assert f"{money(item.reserve_price)} 元/年" in row
            assert f"{item.start_date} ~ {item.end_date}" in row and "10 年" in row
            assert f"{item.notice_ends_on} 24:00" in row  # registration closes at the end of the notice's last day
            assert f"{money(item.deposit)} 元" in row
    assert "种植业" in row_of(page, scenario.notices[0]) and "渔业" in row_of(page, scenario.notices[1])
    assert 'data-testid="tab-notices">挂牌公告 <span class="count">3</span>' in page


def test_a_live_auction_shows_the_price_to_beat_and_when_it_ends(client, app, scenario):
    page = client.get("/exchange/board?section=auctions").get_data(as_text=True)
    assert numbers_on(page) == [scenario.auction]
    row = row_of(page, scenario.auction)
    with app.app_context():
        live = listing(scenario.auction)
        ends = ops._aware(live.auction_ends_at)
        increment = live.increment
    assert "950.00 元/年" in row  # the best bid
    assert f"{money(Decimal('950') + increment)} 元/年" in row  # the minimum next bid
    assert f'data-ends-at="{ends.isoformat()}"' in page
    assert f"/api/v1/exchange/board/{scenario.auction}/live" in page
    # without JavaScript the end time is still on the page, in the exchange's time zone (UTC+8)
    local = ends.astimezone(ops.ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M:%S") in row
    script = re.search(r'<script src="(/static/js/board-live\.js)"', page).group(1)
    with client.get(script) as js:
        body = js.get_data(as_text=True)
        assert js.status_code == 200 and "javascript" in js.mimetype
    assert "fetch(" in body and "dataset.liveUrl" in body  # it polls the URL the page gives it …
    assert "http" not in body and "//" not in body.replace("// ", "")  # … and nothing outside


def test_results_show_price_per_mu_and_winners_without_names(client, app, scenario):
    page = client.get("/exchange/board?section=results").get_data(as_text=True)
    with app.app_context():
        results = db.session.scalars(select(Listing).where(Listing.state.in_(
            [ListingState.awarded, ListingState.failed, ListingState.annulled])).order_by(Listing.id.desc())).all()
        assert numbers_on(page) == [r.number for r in results]
        farm, member = listing(scenario.deal_organisation), listing(scenario.deal_member)
        for deal in (farm, member):
            row = row_of(page, deal.number)
            per_mu = (deal.award_price / to_mu(deal.area_m2)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert f"{money(deal.award_price)} 元/年" in row and f"{money(per_mu)} 元/亩·年" in row
            assert str(ops.local_today(ops._aware(deal.awarded_at))) in row
        assert farm.winner.profile.organisation.name in row_of(page, farm.number)  # organisations by name
        assert "本集体成员农户" in row_of(page, member.number)  # a household never by name
        assert member.winner.profile.household.head_name not in page
        failed = listing(scenario.failed)
        assert "流拍" in row_of(page, failed.number) and str(failed.notice_ends_on) in row_of(page, failed.number)
    assert "已撤销" in row_of(page, scenario.annulled)
    only_failed = client.get("/exchange/board?section=results&outcome=failed").get_data(as_text=True)
    assert numbers_on(only_failed) == [scenario.failed]


def test_a_listing_page_has_the_notice_text_and_its_steps(client, app, scenario):
    page = client.get(f"/exchange/board/{scenario.deal_member}").get_data(as_text=True)
    text = text_of(page)
    with app.app_context():
        item = listing(scenario.deal_member)
        for fact in (item.number, item.title, item.division.full_name, f"{money(item.area_m2)} m²",
                     f"{to_mu(item.area_m2)} 亩", "600.00 元/年", f"{item.start_date} ~ {item.end_date}", "种植业",
                     item.payment_terms, item.bidder_conditions, f"{money(item.deposit)} 元",
                     f"{item.notice_starts_on} ~ {item.notice_ends_on}", item.collective.name):
            assert fact in text, fact
        public_steps = [e for e in item.events if e.step not in ("interest", "qualification", "deposit", "bid", "offer")]
        indexes = [e.ledger_index for e in public_steps]
    assert "受承包农户委托" in text and "本集体成员农户" in text
    steps = re.findall(r'<tr data-step="([a-z_]+)">', page)
    assert steps == ["submitted", "accepted", "approved", "auction_opened", "priority_window", "priority_match",
                     "awarded"]
    assert [int(i) for i in re.findall(r'/transparency\?index=(\d+)', page)] == indexes
    assert "村集体提交挂牌申请" in text and "乡镇农经站" in text
    assert "township" not in text and "village" not in text  # offices, not accounts
    bids = re.search(r'data-testid="bids".*?</section>', page, re.S).group(0)
    assert "660.00 元/年" in bids and "成员行使优先权" in bids


def test_results_say_why_a_listing_failed_or_was_annulled(client, scenario):
    failed = text_of(client.get(f"/exchange/board/{scenario.failed}").get_data(as_text=True))
    assert "交易结果：流拍" in failed and "报名截止时无合格竞买人" in failed
    annulled = client.get(f"/exchange/board/{scenario.annulled}").get_data(as_text=True)
    assert "成交公示期内异议成立" in text_of(annulled)
    assert "撂荒" not in annulled and "经核实属实" not in annulled  # the objection's words are not published


def test_listings_before_their_notice_and_unknown_numbers_are_not_public(client, app, scenario):
    with app.app_context():
        fresh = submit()
        rejected = submit()
        ops.reject(account("township"), rejected, rejected.version, "委托书不全")
        db.session.commit()
        numbers = [fresh.number, rejected.number]
    for number in numbers + ["511723-GP-2026-999999"]:
        assert client.get(f"/exchange/board/{number}").status_code == 404
        assert client.get(f"/api/v1/exchange/board/{number}").status_code == 404
        assert client.get(f"/api/v1/exchange/board/{number}/live").status_code == 404
    for section in ("notices", "auctions", "results"):
        page = client.get(f"/exchange/board?section={section}&per_page=100").get_data(as_text=True)
        assert not set(numbers) & set(numbers_on(page))


def test_deadline_passed_before_the_tick_is_said_on_the_board(client, app, scenario):
    with app.app_context():
        item = listing(scenario.notices[0])
        item.notice_ends_on = ops.local_today() - timedelta(days=1)  # as if the tick had not run since
        db.session.commit()
    page = client.get("/exchange/board").get_data(as_text=True)
    assert "报名已截止" in row_of(page, scenario.notices[0])
    assert "报名已截止" not in row_of(page, scenario.notices[1])
    detail = client.get(f"/exchange/board/{scenario.notices[0]}").get_data(as_text=True)
    assert 'data-testid="deadline-note"' in detail and 'data-testid="take-part"' not in detail


def test_filters_by_township_and_kind(client, app, scenario):
    with app.app_context():
        puan = db.session.scalar(select(Division.code).where(Division.name == "普安镇"))
        xinning = db.session.scalar(select(Division.code).where(Division.name == "新宁镇"))
    results = client.get(f"/exchange/board?section=results&township={puan}").get_data(as_text=True)
    assert numbers_on(results) == [scenario.other_township]
    assert "普安镇" in row_of(results, scenario.other_township)
    ours = numbers_on(client.get(f"/exchange/board?section=results&township={xinning}").get_data(as_text=True))
    assert scenario.other_township not in ours and scenario.deal_member in ours
    land = client.get("/exchange/board?kind=land_management_transfer").get_data(as_text=True)
    assert len(numbers_on(land)) == 3
    homes = client.get("/exchange/board?kind=homestead_lease").get_data(as_text=True)
    assert numbers_on(homes) == [] and "目前没有符合条件的挂牌公告" in homes
    assert client.get("/exchange/board?township=511723999").status_code == 400
    assert client.get("/exchange/board?kind=castle").status_code == 400
    assert client.get("/exchange/board?section=secrets").status_code == 404


def test_pages_of_the_board_cover_every_listing_once(client, app, scenario):
    seen, page_number, pages = [], 1, None
    while True:
        page = client.get(f"/exchange/board?section=results&per_page=2&page={page_number}").get_data(as_text=True)
        rows = numbers_on(page)
        pages = int(re.search(r"第 \d+ / (\d+) 页", page).group(1))
        assert len(rows) <= 2
        seen += rows
        if 'rel="next"' not in page:
            break
        assert f"page={page_number + 1}" in re.search(r'href="([^"]+)" rel="next"', page).group(1)
        page_number += 1
    with app.app_context():
        expected = db.session.scalars(select(Listing.number).where(Listing.state.in_(
            [ListingState.awarded, ListingState.failed, ListingState.annulled])).order_by(Listing.id.desc())).all()
    assert seen == expected and pages == page_number == (len(expected) + 1) // 2
    beyond = client.get(f"/exchange/board?section=results&per_page=2&page={pages + 5}").get_data(as_text=True)
    assert numbers_on(beyond) == []


def test_the_board_costs_the_same_few_queries_whatever_the_page_size(client, app, scenario):
    """Rows are never loaded one by one: a page of one row and a page of every row cost about the same."""
    engine = app.extensions["database"].engine
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        costs = {}
        for section in ("notices", "auctions", "results"):
            for size in (1, 20):
                statements.clear()
                assert client.get(f"/exchange/board?section={section}&per_page={size}").status_code == 200
                costs[section, size] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    for section in ("notices", "auctions", "results"):
        # at most the page's optional lookups (winners, annulment dates) come on top, never one per row
        assert costs[section, 20] - costs[section, 1] <= 2 and costs[section, 20] <= 14, costs


def test_the_navigation_links_to_the_board_for_everyone(client):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/exchange/board" data-testid="nav-board"' in page
    assert "交易公告" in page


def test_a_new_bid_shows_on_the_page_at_once(client, app, scenario):
    with app.app_context():
        live = listing(scenario.auction)
        ops.place_bid(account("bidder"), live, live.version, "1000")
        db.session.commit()
        minimum = Decimal("1000") + live.increment
        bids = db.session.scalar(select(func.count()).select_from(ListingEvent).where(
            ListingEvent.listing_id == live.id, ListingEvent.step == "bid"))
    page = client.get(f"/exchange/board/{scenario.auction}").get_data(as_text=True)
    best = re.search(r'data-testid="best">([^<]+)<', page).group(1)
    assert best == "1,000.00 元/年"
    assert re.search(r'data-testid="minimum">([^<]+)<', page).group(1) == f"{money(minimum)} 元/年"
    assert re.search(r'data-live="bids">(\d+)<', page).group(1) == str(bids) == "3"

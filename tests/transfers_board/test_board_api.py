"""The board's API: the same listings as the pages, what the live page polls, errors as problem+json, and every
path in the OpenAPI document — all without an account."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from exchange.db import db
from exchange.transfers import operations as ops
from exchange.transfers.models import Listing, ListingState
from tests.transfers_board.conftest import account, auction, numbers_on


def test_the_api_lists_what_the_page_shows(client, scenario):
    for section in ("notices", "auctions", "results"):
        page = numbers_on(client.get(f"/exchange/board?section={section}").get_data(as_text=True))
        body = client.get(f"/api/v1/exchange/board?section={section}").get_json()
        assert [item["number"] for item in body["items"]] == page
        assert body["total"] == len(page) and body["page"] == 1 and body["pages"] == 1


def test_api_paging_and_filters(client, app, scenario):
    first = client.get("/api/v1/exchange/board?section=results&per_page=2").get_json()
    second = client.get("/api/v1/exchange/board?section=results&per_page=2&page=2").get_json()
    assert first["total"] == second["total"] == 5 and first["pages"] == 3
    assert len(first["items"]) == len(second["items"]) == 2
    assert not {i["number"] for i in first["items"]} & {i["number"] for i in second["items"]}
    deals = client.get("/api/v1/exchange/board?section=results&outcome=deal").get_json()
    assert {i["number"] for i in deals["items"]} == {scenario.deal_organisation, scenario.deal_member,
                                                    scenario.other_township}
    assert all(i["outcome"] == "deal" and Decimal(i["award_price"]) > 0 for i in deals["items"])
    puan = client.get("/api/v1/exchange/board?section=results&township=511723101").get_json()
    assert [i["number"] for i in puan["items"]] == [scenario.other_township]
    assert puan["items"][0]["location"].startswith("开江县普安镇")


def test_a_result_through_the_api(client, app, scenario):
    body = client.get(f"/api/v1/exchange/board/{scenario.deal_organisation}").get_json()
    with app.app_context():
        deal = db.session.scalar(select(Listing).where(Listing.number == scenario.deal_organisation))
        assert Decimal(body["award_price"]) == deal.award_price == Decimal("880")
        assert Decimal(body["area_m2"]) == deal.area_m2
        assert body["winner"] == "organisation" and body["winner_label"] == deal.winner.profile.organisation.name
        assert Decimal(body["value"]) == deal.award_price * 10  # ten years' rent
        assert [s["step"] for s in body["history"]] == [
            e.step for e in deal.events if e.step not in ("interest", "qualification", "deposit", "bid", "offer")]
        assert [Decimal(b["amount"]) for b in body["recent_bids"]] == [Decimal("880"), Decimal("800")]
        assert sorted({b["bidder"] for b in body["recent_bids"]}) == [1, 2]
    assert body["url"].endswith(f"/exchange/board/{scenario.deal_organisation}")


def test_live_figures_follow_the_bids(client, app, scenario):
    url = f"/api/v1/exchange/board/{scenario.auction}/live"
    live = client.get(url).get_json()
    with app.app_context():
        auction = db.session.scalar(select(Listing).where(Listing.number == scenario.auction))
        ends, increment = ops._aware(auction.auction_ends_at), auction.increment
    assert live["state"] == "auction" and live["phase"] == "bidding"
    assert Decimal(live["best_price"]) == Decimal("950") and live["bids"] == 2
    assert Decimal(live["minimum_bid"]) == Decimal("950") + increment
    assert datetime.fromisoformat(live["ends_at"]) == ends
    assert abs((datetime.fromisoformat(live["server_time"]) - ops.now()).total_seconds()) < 60
    with app.app_context():
        auction = db.session.scalar(select(Listing).where(Listing.number == scenario.auction))
        ops.place_bid(account("bidder"), auction, auction.version, str(Decimal("950") + increment))
        db.session.commit()
    after = client.get(url).get_json()
    assert Decimal(after["best_price"]) == Decimal("950") + increment and after["bids"] == 3
    assert Decimal(after["minimum_bid"]) == Decimal("950") + 2 * increment
    with app.app_context():  # the auction's end passes; the tick has not run: the live figures say so
        auction = db.session.scalar(select(Listing).where(Listing.number == scenario.auction))
        auction.auction_ends_at = ops.now().replace(microsecond=0) - timedelta(seconds=5)
        db.session.commit()
    closed = client.get(url).get_json()
    assert closed["phase"] == "closed" and closed["state"] == "auction"


def test_errors_are_problem_json(client, scenario):
    response = client.get("/api/v1/exchange/board?section=everything")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "section" in response.get_json()["errors"]["query"]
    response = client.get("/api/v1/exchange/board?per_page=1000")
    assert response.status_code == 422 and "per_page" in response.get_json()["errors"]["query"]
    response = client.get("/api/v1/exchange/board/511723-GP-1999-000001")
    assert response.status_code == 404 and response.get_json()["code"] == "not-found"
    response = client.get("/api/v1/exchange/board?township=511723999")
    assert response.status_code == 404 and "511723999" in response.get_json()["detail"]
    response = client.get("/api/v1/exchange/stats?from=2026-13")
    assert response.status_code == 422 and "from" in response.get_json()["errors"]["query"]


def test_the_board_api_is_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/exchange/board", "/api/v1/exchange/board/{number}", "/api/v1/exchange/board/{number}/live",
                 "/api/v1/exchange/stats"):
        assert "get" in spec["paths"][path], path
        assert "security" not in spec["paths"][path]["get"]  # public: no API key
    public = spec["components"]["schemas"]["ListingPublic"]["properties"]
    assert {"number", "location", "area_mu", "reserve_price", "best_price", "minimum_bid", "price_per_mu_year",
            "winner"} <= set(public)


def test_an_auction_listing_without_bids_offers_the_reserve(client, app, scenario):
    with app.app_context():
        fresh = db.session.scalar(select(Listing).where(Listing.number == scenario.notices[0]))
        auction(fresh, "bidder", "bidder2")
        db.session.commit()
        reserve = fresh.reserve_price
        assert fresh.state == ListingState.auction
    live = client.get(f"/api/v1/exchange/board/{scenario.notices[0]}/live").get_json()
    assert live["best_price"] is None and Decimal(live["minimum_bid"]) == reserve and live["bids"] == 0

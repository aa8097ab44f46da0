"""The workflow's pages: each role sees and does its step, refusals come back in Chinese, stale forms change nothing."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from exchange.db import db
from exchange.demo.exchange import demo_rights
from exchange.transfers.models import Listing, ListingState
from tests.conftest import csrf_token, login


def _submit_form(client, right_number: str, **overrides) -> dict:
    year = date.today().year
    data = {"csrf_token": csrf_token(client, "/exchange/listings/new"), "right": right_number,
            "kind": "land_management_transfer", "mode": "出租", "reserve_price": "900", "price_unit": "per_year",
            "start_date": f"{year + 1}-01-01", "end_date": f"{year + 6}-12-31", "permitted_use": "1",
            "payment_terms": "每年 1 月付清", "household_consent": "委托书 2026-09"}
    data.update(overrides)
    return data


def _version(client, number: str) -> str:
    return re.search(r'name="version" value="(\d+)"', client.get(f"/exchange/listings/{number}").get_data(as_text=True)).group(1)


def _post(client, number: str, action: str, **fields):
    data = {"csrf_token": csrf_token(client, f"/exchange/listings/{number}"), "version": _version(client, number), **fields}
    return client.post(f"/exchange/listings/{number}/{action}", data=data, follow_redirects=True)


def test_village_submits_township_approves_bidder_registers(client, app):
    with app.app_context():
        right_number = demo_rights()[1].number
    login(client, "village")
    response = client.post("/exchange/listings/new", data=_submit_form(client, right_number), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "已提交，等待乡镇受理" in page
    number = re.search(r"511723-GP-\d{4}-\d{6}", page).group(0)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login(client, "township")
    assert "已受理" in _post(client, number, "accept").get_data(as_text=True)
    page = _post(client, number, "approve").get_data(as_text=True)
    assert "审核通过，已发布挂牌公示" in page and 'data-testid="notice"' in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login(client, "bidder")
    page = _post(client, number, "interest", plan="种植水稻").get_data(as_text=True)
    assert "报名成功" in page and 'data-testid="my-interest"' in page
    with app.app_context():
        listing = db.session.scalar(select(Listing).where(Listing.number == number))
        assert listing.state == ListingState.listed and len(listing.interests) == 1
        assert [e.step for e in listing.events] == ["submitted", "accepted", "approved", "interest"]


def test_a_refused_submission_names_the_rule_in_chinese_and_saves_nothing(client, app):
    with app.app_context():
        right_number = demo_rights()[1].number
        before = db.session.query(Listing).count()
    login(client, "village")
    response = client.post("/exchange/listings/new", data=_submit_form(client, right_number, household_consent="",
                                                                       permitted_use="5"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "LISTING-CONSENT" in page and "LAND-AGRI-USE" in page and "承包户" in page
    with app.app_context():
        assert db.session.query(Listing).count() == before


def test_a_stale_form_is_refused(client, app):
    with app.app_context():
        listing = db.session.scalar(select(Listing).where(Listing.state == ListingState.listed))
        number, old = listing.number, listing.version - 1
    login(client, "township")
    data = {"csrf_token": csrf_token(client, f"/exchange/listings/{number}"), "version": str(old)}
    page = client.post(f"/exchange/listings/{number}/reject", data={**data, "reason": "x"},
                       follow_redirects=True).get_data(as_text=True)
    assert "STALE" in page or "LISTING-STATE" in page


def test_staff_of_another_township_cannot_act(client, app):
    with app.app_context():
        number = db.session.scalar(select(Listing.number).where(Listing.state == ListingState.listed))
    login(client, "township2")
    response = client.post(f"/exchange/listings/{number}/withdraw",
                           data={"csrf_token": csrf_token(client, "/"), "version": "1", "reason": "x"})
    assert response.status_code == 403


def test_todo_lists_what_awaits_each_role(client, app):
    login(client, "township")
    page = client.get("/exchange/todo").get_data(as_text=True)
    assert "511723-GP-" in page and "公示中" in page

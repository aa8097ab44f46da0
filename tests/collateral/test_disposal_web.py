"""The disposal through the pages and the API: the bank asks on its dashboard, the village lists from the
application's page, the API reports the listing's state and the proceeds, and refusals change nothing."""
from __future__ import annotations

import re

from tests.conftest import csrf_token, login
from tests.test_collateral import application, state
from tests.test_registry_web import api_key


def registered(client) -> int:
    bank, county = api_key(client, "bank"), api_key(client, "county")
    app_id = client.post("/api/v1/collateral/applications", headers=bank, json=application()).get_json()["id"]
    assert client.post(f"/api/v1/collateral/applications/{app_id}/registration", headers=county).status_code == 201
    return app_id


LISTING = {"reserve_price": "40000", "start_date": "2027-01-01", "end_date": "2036-12-31"}


def test_the_api_disposal_listing_status_and_proceeds(client):
    app_id = registered(client)
    bank, village, township = api_key(client, "bank"), api_key(client, "village"), api_key(client, "township")
    before = state(client)
    early = client.post(f"/api/v1/collateral/applications/{app_id}/disposal/listing", headers=village, json=LISTING)
    assert early.status_code == 409 and early.get_json()["code"] == "DISPOSAL-STEP"
    assert client.post(f"/api/v1/collateral/applications/{app_id}/disposal/listing", headers=bank,
                       json=LISTING).status_code == 403
    assert state(client) == before
    asked = client.post(f"/api/v1/collateral/applications/{app_id}/disposal", headers=bank,
                        json={"reason": "逾期 180 天", "outstanding": "28500.00"})
    assert asked.status_code == 201
    no_reserve = client.post(f"/api/v1/collateral/applications/{app_id}/disposal/listing", headers=village,
                             json={**LISTING, "reserve_price": "0"})
    assert no_reserve.status_code == 422 and no_reserve.get_json()["code"] == "DISPOSAL-RESERVE"
    assert no_reserve.get_json()["field"] == "reserve_price"
    listed = client.post(f"/api/v1/collateral/applications/{app_id}/disposal/listing", headers=village, json=LISTING)
    assert listed.status_code == 201, listed.get_json()
    body = listed.get_json()
    assert body["listing"]["state"] == "submitted" and body["listing"]["title"].startswith("【抵押物处置】")
    assert body["outstanding"] == "28500.00" and body["consent"]["bank"] == "四川开江农村商业银行"
    status = client.get(f"/api/v1/collateral/applications/{app_id}/disposal", headers=bank).get_json()
    assert status["listing"]["number"] == body["listing"]["number"] and status["bank_received"] == "0"
    assert client.get(f"/api/v1/collateral/applications/{app_id}/disposal", headers=township).status_code == 200
    assert client.get(f"/api/v1/collateral/applications/{app_id}/disposal",
                      headers=api_key(client, "bidder")).status_code == 403
    proceeds = client.get(f"/api/v1/collateral/applications/{app_id}/disposal/proceeds", headers=bank).get_json()
    assert proceeds["rows"] == [] and proceeds["still_owed"] == "28500.00"
    spec = client.get("/api/openapi.json").get_data(as_text=True)
    for path in ("/disposal/listing", "/disposal/proceeds"):
        assert f"/api/v1/collateral/applications/{{application_id}}{path}" in spec


def test_the_bank_asks_on_its_dashboard_and_the_village_lists_from_the_application_page(client):
    app_id = registered(client)
    login(client, "bank")
    page = client.get("/collateral").get_data(as_text=True)
    assert f'data-testid="ask-disposal-{app_id}"' in page
    done = client.post(f"/collateral/{app_id}/disposal", data={"csrf_token": csrf_token(client, "/collateral"),
                                                                "reason": "逾期 200 天", "outstanding": "28500"})
    assert done.status_code == 302
    page = client.get("/collateral").get_data(as_text=True)
    assert "待村集体挂牌" in page and "违约处置中" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/collateral")})
    login(client, "village")
    page = client.get(f"/collateral/{app_id}").get_data(as_text=True)
    assert 'data-testid="disposal-listing-submit"' in page
    token = csrf_token(client, f"/collateral/{app_id}")
    empty = client.post(f"/collateral/{app_id}", data={"csrf_token": token, "reserve_price": "",
                                                       "start_date": "2027-01-01", "end_date": "2036-12-31"})
    assert empty.status_code == 422 and "DISPOSAL-RESERVE" in empty.get_data(as_text=True)
    listed = client.post(f"/collateral/{app_id}", data={"csrf_token": token, "reserve_price": "40000",
                                                        "start_date": "2027-01-01", "end_date": "2036-12-31"})
    assert listed.status_code == 302
    page = client.get(f"/collateral/{app_id}").get_data(as_text=True)
    number = re.search(r"(511723-GP-\d{4}-\d{6})", page).group(1)
    listing_page = client.get(f"/exchange/listings/{number}").get_data(as_text=True)
    assert "【抵押物处置】" in listing_page and f"/collateral/{app_id}" in listing_page

"""The workflow over /api/v1/exchange: the same steps and refusals as the pages, problem+json with codes."""
from __future__ import annotations

from datetime import date

from exchange.demo.exchange import demo_rights
from tests.test_registry_web import api_key


def test_submit_review_and_register_interest_over_the_api(client, app):
    with app.app_context():
        right = demo_rights()[1].number
    village, township, bidder = api_key(client, "village"), api_key(client, "township"), api_key(client, "bidder")
    year = date.today().year
    body = {"right": right, "kind": "land_management_transfer", "mode": "出租", "reserve_price": "900",
            "price_unit": "per_year", "start_date": f"{year + 1}-01-01", "end_date": f"{year + 6}-12-31",
            "permitted_use": "1", "payment_terms": "每年 1 月付清", "documents": {"household_consent": "委托书 9"}}
    refused = client.post("/api/v1/exchange/listings", json={**body, "documents": {}}, headers=village)
    assert refused.status_code == 422 and refused.json["code"] == "LISTING-CONSENT"
    assert refused.content_type == "application/problem+json"
    created = client.post("/api/v1/exchange/listings", json=body, headers=village)
    assert created.status_code == 201, created.json
    number, version = created.json["number"], created.json["version"]
    assert client.post(f"/api/v1/exchange/listings/{number}/accept", json={"version": version},
                       headers=village).status_code == 403
    accepted = client.post(f"/api/v1/exchange/listings/{number}/accept", json={"version": version}, headers=township)
    assert accepted.json["state"] == "accepted"
    stale = client.post(f"/api/v1/exchange/listings/{number}/approve", json={"version": version}, headers=township)
    assert stale.status_code == 409 and stale.json["code"] == "STALE"
    approved = client.post(f"/api/v1/exchange/listings/{number}/approve", json={"version": accepted.json["version"]},
                           headers=township)
    assert approved.json["state"] == "listed" and approved.json["notice_ends_on"]
    joined = client.post(f"/api/v1/exchange/listings/{number}/interest", json={"version": approved.json["version"]},
                         headers=bidder)
    assert joined.status_code == 200 and len(joined.json["interests"]) == 1
    todo = client.get("/api/v1/exchange/todo", headers=bidder).json
    assert [item["number"] for item in todo] == [number]


def test_the_workflow_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/v1/exchange/listings", "/api/v1/exchange/listings/{number}/{action}",
                 "/api/v1/contracts/{number}", "/api/v1/contracts/{number}/pdf", "/api/v1/contracts/due"):
        assert path in paths, path

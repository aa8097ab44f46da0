"""Registry pages and /api/v1/registry: what staff see within their jurisdiction, and operations over the API."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from exchange.accounts.models import Account
from exchange.accounts.operations import create_api_key
from exchange.audit.models import AuditEvent
from exchange.db import db
from exchange.demo.data import organisation_credit_code
from exchange.ledger_app import service
from exchange.registry.models import Encumbrance, Freeze, Right

OWN_PARCEL = "5117231002000100005"  # 金山村 (village account's village), 新宁镇
OTHER_VILLAGE_PARCEL = "5117231002010100005"  # 白岩村, same township
OTHER_TOWNSHIP_PARCEL = "5117231012000100005"  # 普安镇
FAMILY_FARM = organisation_credit_code("92", "6F000002")
BANK = organisation_credit_code("91", "62000001")
ART40 = {k: "约定" for k in ("parties", "parcel", "term", "use", "rights_duties", "price_payment",
                             "expropriation", "liability")}


def api_key(client, username: str) -> dict:
    with client.application.test_request_context():
        account = db.session.scalar(select(Account).where(Account.username == username))
        _key, secret = create_api_key(account, "tests")
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def counts(client) -> tuple:
    with client.application.app_context():
        return (service.store().size(db.session.connection()),
                db.session.scalar(select(func.count()).select_from(Right)),
                db.session.scalar(select(func.count()).select_from(Encumbrance)),
                db.session.scalar(select(func.count()).select_from(Freeze)))


def contract_number(code: str) -> str:
    return f"CB{code}-001"


@pytest.mark.parametrize("username, parcel, status", [
    ("village", OWN_PARCEL, 200), ("village", OTHER_VILLAGE_PARCEL, 403), ("township", OTHER_VILLAGE_PARCEL, 200),
    ("township", OTHER_TOWNSHIP_PARCEL, 403), ("county", OTHER_TOWNSHIP_PARCEL, 200), ("bidder", OWN_PARCEL, 403),
])
def test_parcel_page_is_shown_only_inside_the_jurisdiction(login_as, username, parcel, status):
    client = login_as(username)
    response = client.get(f"/registry/parcels/{parcel}")
    assert response.status_code == status
    if status == 200:
        html = response.get_data(as_text=True)
        assert parcel in html and "<svg" in html and "土地承包权" in html and "变更时间线" in html
    if status == 403:
        with client.application.app_context():
            refusal = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
            assert refusal.object_id == parcel and refusal.outcome.value == "denied"


def test_household_page_lists_all_its_rights_on_every_asset(login_as):
    client = login_as("village")
    html = client.get("/registry/households/511723100200010001").get_data(as_text=True)
    assert html.count("土地承包权") >= 7  # seven parcels
    assert "宅基地资格权" in html and "宅基地使用权" in html
    assert "********" in html  # members' ID numbers only masked


def test_village_page_filters_and_search_finds_parcels_households_and_villages(login_as):
    client = login_as("village")
    page = client.get("/registry/villages/511723100200?land_class=forest").get_data(as_text=True)
    assert "<polygon" in page and "林地" in page
    results = client.get("/registry/search?q=金山").get_data(as_text=True)
    assert "开江县新宁镇金山村" in results
    results = client.get(f"/registry/search?q={OWN_PARCEL}").get_data(as_text=True)
    assert f"/registry/parcels/{OWN_PARCEL}" in results
    # outside the jurisdiction nothing is found
    outside = client.get(f"/registry/search?q={OTHER_TOWNSHIP_PARCEL}").get_data(as_text=True)
    assert f"/registry/parcels/{OTHER_TOWNSHIP_PARCEL}" not in outside


def test_parcel_page_in_english(login_as):
    client = login_as("village")
    html = client.get(f"/registry/parcels/{OWN_PARCEL}?lang=en").get_data(as_text=True)
    assert "Current rights" in html and "Contract right" in html and "Timeline of changes" in html


def test_api_parcel_detail_timeline_and_household_rights(client):
    headers = api_key(client, "village")
    parcel = client.get(f"/api/v1/registry/parcels/{OWN_PARCEL}", headers=headers).get_json()
    assert parcel["code"] == OWN_PARCEL and parcel["geometry"]["type"] == "Polygon"
    types = {r["right_type"] for r in parcel["rights"]}
    assert types == {"ownership", "contract"}
    timeline = client.get(f"/api/v1/registry/parcels/{OWN_PARCEL}/timeline", headers=headers).get_json()
    assert [e["action"] for e in timeline] == ["register_asset", "grant_contract_right"]
    rights = client.get("/api/v1/registry/households/511723100200010001/rights", headers=headers).get_json()
    assert {r["right_type"] for r in rights} >= {"contract", "qualification", "homestead_use"}
    for right in rights:
        for holder in right["holders"]:
            assert "*" in holder["name"]  # people are masked in the API
    bad = client.get("/api/v1/registry/parcels?village=5117", headers=headers)
    assert bad.status_code == 422 and "village" in bad.get_json()["errors"]["query"]


def test_api_transfer_refusal_names_every_rule_and_changes_nothing_then_succeeds(client):
    headers = api_key(client, "village")
    before = counts(client)
    body = {"transferee": FAMILY_FARM, "mode": "出租", "permitted_use": "5", "start_date": "2026-12-01",
            "end_date": "2070-01-01", "price": "600", "contract": {}, "consents": {}}
    refused = client.post(f"/api/v1/registry/rights/{contract_number(OWN_PARCEL)}/transfers", json=body, headers=headers)
    assert refused.status_code == 422
    problem = refused.get_json()
    assert {d["code"] for d in problem["details"]} == {"LAND-AGRI-USE", "LAND-TERM", "LAND-FILING", "LAND-WRITTEN",
                                                       "LEASE-20Y"}
    assert all(d["citation"] and d["message_zh"] and d["message_en"] for d in problem["details"])
    assert counts(client) == before
    body.update(permitted_use="1", end_date="2036-11-30", contract=ART40, consents={"filed_with_collective": True})
    done = client.post(f"/api/v1/registry/rights/{contract_number(OWN_PARCEL)}/transfers", json=body, headers=headers)
    assert done.status_code == 201, done.get_json()
    right = done.get_json()
    assert right["right_type"] == "management" and right["derived_from"] == contract_number(OWN_PARCEL)
    assert right["holders"][0]["code"] == FAMILY_FARM
    assert counts(client)[:2] == (before[0] + 2, before[1] + 1)  # the transfer and its transaction certificate


def test_api_pledge_release_and_freeze_respect_roles(client):
    village, township, county = api_key(client, "village"), api_key(client, "township"), api_key(client, "county")
    number = contract_number(OWN_PARCEL)
    pledge = {"pledgee": BANK, "amount": "50000", "start_date": "2026-12-01", "end_date": "2029-11-30",
              "contract_number": "KJNS-2026-9"}
    assert client.post(f"/api/v1/registry/rights/{number}/pledges", json=pledge, headers=village).status_code == 403
    not_a_bank = client.post(f"/api/v1/registry/rights/{number}/pledges", json={**pledge, "pledgee": FAMILY_FARM},
                             headers=township)
    assert not_a_bank.status_code == 422 and not_a_bank.get_json()["field"] == "pledgee"
    made = client.post(f"/api/v1/registry/rights/{number}/pledges", json=pledge, headers=township)
    assert made.status_code == 201
    encumbrance = made.get_json()["id"]
    release = {"reason": "贷款已还清"}
    assert client.post(f"/api/v1/registry/encumbrances/{encumbrance}/release", json=release,
                       headers=township).status_code == 200
    again = client.post(f"/api/v1/registry/encumbrances/{encumbrance}/release", json=release, headers=township)
    assert again.status_code == 409 and again.get_json()["code"] == "ALREADY-RELEASED"
    freeze = {"authority": "开江县人民法院", "document_number": "(2026)川1723执保99号", "reason": "财产保全"}
    assert client.post(f"/api/v1/registry/rights/{number}/freezes", json=freeze, headers=township).status_code == 403
    frozen = client.post(f"/api/v1/registry/rights/{number}/freezes", json=freeze, headers=county)
    assert frozen.status_code == 201
    blocked = client.post(f"/api/v1/registry/rights/{number}/pledges", json=pledge, headers=township)
    assert blocked.status_code == 422 and "NO-PLEDGE" in {d["code"] for d in blocked.get_json()["details"]}
    lifted = client.post(f"/api/v1/registry/freezes/{frozen.get_json()['id']}/lift",
                         json={"document_number": "(2026)川1723执保99号之一"}, headers=county)
    assert lifted.status_code == 200


def test_api_correction_supersedes_the_right(client):
    county = api_key(client, "county")
    number = contract_number(OWN_PARCEL)
    refused = client.post(f"/api/v1/registry/rights/{number}/corrections", json={"end_date": "2057-12-30"},
                          headers=county)
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]["json"]
    corrected = client.post(f"/api/v1/registry/rights/{number}/corrections",
                            json={"end_date": "2057-12-30", "reason": "合同终止日期录入错误"}, headers=county)
    assert corrected.status_code == 201
    new = corrected.get_json()
    assert new["number"] != number and new["end_date"] == "2057-12-30"
    old = client.get(f"/api/v1/registry/rights/{number}", headers=county).get_json()
    assert old["active"] is False and old["end_reason"] == "corrected"


def test_openapi_lists_the_registry_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/registry/parcels/{code}", "/api/v1/registry/rights/{number}/transfers",
                 "/api/v1/registry/rights/{number}/pledges", "/api/v1/registry/rights/{number}/freezes",
                 "/api/v1/registry/households/{code}/rights", "/api/v1/registry/parcels/{code}/timeline"):
        assert path in paths, path

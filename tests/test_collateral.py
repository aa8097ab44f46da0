"""Bank collateral: apply, double-pledge detection, value ceiling, registration with certificate, release, default."""
from __future__ import annotations

from sqlalchemy import func, select

from exchange.collateral.models import CollateralApplication
from exchange.db import db
from exchange.ledger_app import service
from exchange.registry.models import Encumbrance
from tests.test_registry_web import api_key

DEMO_RIGHT = "JY5117231002000100001-001"  # the demo family farm's management right, already pledged to the bank
CONTRACT = "CB5117231002000100006-001"  # a household's contract right in 金山村, not pledged


def state(client):
    with client.application.app_context():
        return (service.store().size(db.session.connection()),
                db.session.scalar(select(func.count()).select_from(CollateralApplication)),
                db.session.scalar(select(func.count()).select_from(Encumbrance)))


def application(**overrides):
    body = {"right": CONTRACT, "loan_amount": "30000", "start_date": "2026-12-01", "end_date": "2029-11-30",
            "valuation_basis": {"method": "rent", "annual_rent": "2000"}, "contract_number": "KJNS-2026-0101",
            "guarantee": "开江县农业融资担保有限公司", "insurance": "农险保单 PICC-2026-88"}
    body.update(overrides)
    return body


def test_a_second_bank_sees_the_existing_pledge_and_its_rank(client):
    bank = api_key(client, "bank")
    view = client.get(f"/api/v1/collateral/rights/{DEMO_RIGHT}", headers=bank).get_json()
    assert view["pledges"] == [{"rank": 1, "pledgee": "四川开江农村商业银行", "amount": "200000.00", "end_date": "2028-02-28"}]
    assert client.get(f"/api/v1/collateral/rights/{DEMO_RIGHT}", headers=api_key(client, "bidder")).status_code == 403


def test_refusals_name_the_rule_and_change_nothing(client):
    bank = api_key(client, "bank")
    before = state(client)
    over_value = client.post("/api/v1/collateral/applications", headers=bank,
                             json=application(right=DEMO_RIGHT, loan_amount="900000",
                                              valuation_basis={"method": "appraisal", "amount": "500000",
                                                               "appraiser": "开江评估所"}))
    assert over_value.status_code == 422
    codes = {d["code"] for d in over_value.get_json()["details"]}
    assert {"COLLATERAL-OVER-VALUE", "LAND-RETRANSFER"} <= codes
    homestead = client.post("/api/v1/collateral/applications", headers=bank,
                            json=application(right="ZJ51172310020001J0001-001"))
    assert homestead.status_code == 422 and "NO-PLEDGE" in {d["code"] for d in homestead.get_json()["details"]}
    past_term = client.post("/api/v1/collateral/applications", headers=bank, json=application(end_date="2060-01-01"))
    assert "LAND-TERM" in {d["code"] for d in past_term.get_json()["details"]}
    bad_method = client.post("/api/v1/collateral/applications", headers=bank,
                             json=application(valuation_basis={"method": "appraisal", "amount": "1"}))
    assert bad_method.status_code == 422 and bad_method.get_json()["code"] == "VALUATION-APPRAISER"
    assert state(client) == before


def test_apply_register_release_and_the_mortgage_certificate(client):
    bank, township, village = api_key(client, "bank"), api_key(client, "township"), api_key(client, "village")
    made = client.post("/api/v1/collateral/applications", headers=bank, json=application())
    assert made.status_code == 201, made.get_json()
    app_id = made.get_json()["id"]
    assert made.get_json()["step"] == "applied"
    # rent 2000 a year over the years left until 2057-12-31
    assert 60000 < float(made.get_json()["valuation"]) < 63000
    assert client.post(f"/api/v1/collateral/applications/{app_id}/registration", headers=village).status_code == 403
    registered = client.post(f"/api/v1/collateral/applications/{app_id}/registration", headers=township)
    assert registered.status_code == 201
    number = registered.get_json()["certificate"]
    assert number.startswith("511723-DY-")
    status = client.get(f"/api/v1/verify/{number}").get_json()
    assert status["in_log"] and status["consistent"] and [s["code"] for s in status["statuses"]] == ["valid"]
    again = client.post(f"/api/v1/collateral/applications/{app_id}/registration", headers=township)
    assert again.status_code == 409 and again.get_json()["code"] == "COLLATERAL-STEP"
    released = client.post(f"/api/v1/collateral/applications/{app_id}/release", headers=bank,
                           json={"reason": "贷款已结清"})
    assert released.status_code == 200 and released.get_json()["step"] == "released"
    assert "released" in [s["code"] for s in client.get(f"/api/v1/verify/{number}").get_json()["statuses"]]


def test_default_asks_for_disposal(client):
    bank, county = api_key(client, "bank"), api_key(client, "county")
    app_id = client.post("/api/v1/collateral/applications", headers=bank, json=application()).get_json()["id"]
    client.post(f"/api/v1/collateral/applications/{app_id}/registration", headers=county)
    refused = client.post(f"/api/v1/collateral/applications/{app_id}/disposal", headers=bank,
                          json={"reason": "逾期 180 天", "outstanding": "0"})
    assert refused.status_code == 422 and refused.get_json()["field"] == "outstanding"
    asked = client.post(f"/api/v1/collateral/applications/{app_id}/disposal", headers=bank,
                        json={"reason": "逾期 180 天", "outstanding": "28500.00"})
    assert asked.status_code == 201 and asked.get_json()["step"] == "disposal_requested"
    listed = client.get("/api/v1/collateral/applications", headers=bank).get_json()
    assert listed[0]["id"] == app_id and listed[0]["events"][-1]["step"] == "disposal_requested"


def test_bank_page_and_staff_queue(login_as):
    client = login_as("bank")
    page = client.get("/collateral").get_data(as_text=True)
    assert "四川开江农村商业银行" in page and "申请抵押登记" in page
    assert "/api/v1/collateral/applications" in client.get("/api/openapi.json").get_data(as_text=True)

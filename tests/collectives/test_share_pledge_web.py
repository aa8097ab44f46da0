"""Share pledges through the pages and /api/v1/collateral/share-pledges: who may do what, and what a refusal shows."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from exchange.collectives import operations as books
from exchange.collectives import queries
from exchange.collectives.models import SharePledge
from exchange.db import db

from tests.collectives.conftest import JINSHAN, collective
from tests.collectives.test_documents import pdf_text
from tests.conftest import csrf_token, login
from tests.test_registry_web import api_key

API = "/api/v1/collateral/share-pledges"
PAGE = "/collectives/share-pledges"
TODAY = date.today()


def holder(app) -> tuple[str, str]:
    """A 金山村 household holding shares, and its balance."""
    with app.app_context():
        plan = queries.share_plan(collective(JINSHAN))
        balances = books.share_balances(plan)
        household = next(h for h in queries.plan_households(plan) if balances.get(h.id, 0) > 0)
        return household.code, str(balances[household.id])


def pledges(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SharePledge))


def body(household: str, **overrides) -> dict:
    return {"household": household, "shares": "5", "loan_amount": "500.00", "start_date": TODAY.isoformat(),
            "end_date": date(TODAY.year + 1, 12, 31).isoformat(), "valuation_basis": {"method": "shares"},
            "contract_number": "API-ZY-1", "consent": {"document": "同意书 A-1", "signed_on": TODAY.isoformat()},
            **overrides}


def test_the_api_journey(app, client, tmp_path):
    household, held = holder(app)
    before = pledges(app)  # the demo's own
    bank, township = api_key(client, "bank"), api_key(client, "township")
    seen = client.get(f"{API}/households/{household}", headers=bank)
    assert seen.status_code == 200 and seen.json["shares"] == held and seen.json["pledges"] == []
    # 1,250,000 元 / 10,000 shares = 125 元 a share
    assert seen.json["value_per_share"] == "125.0000"
    over = client.post(API, json=body(household, loan_amount="625.01"), headers=bank)
    assert over.status_code == 422 and "SHARE-PLEDGE-OVER-VALUE" in str(over.json) and pledges(app) == before
    applied = client.post(API, json=body(household), headers=bank)
    assert applied.status_code == 201, applied.json
    pledge = applied.json["id"]
    assert applied.json["valuation"] == "625.00" and applied.json["step"] == "applied"
    assert client.post(f"{API}/{pledge}/registration", headers=bank).status_code == 403
    assert client.post(f"{API}/{pledge}/registration", headers=api_key(client, "township2")).status_code == 403
    queue = [p["id"] for p in client.get(API, headers=township).json]
    assert pledge in queue and len(queue) == pledges(app)  # 新宁镇's: the demo's and this one
    assert client.get(API, headers=api_key(client, "township2")).json == []
    registered = client.post(f"{API}/{pledge}/registration", headers=township)
    assert registered.status_code == 201 and registered.json["certificate"].startswith("511723-GZ-")
    again = client.get(f"{API}/households/{household}", headers=bank).json
    assert again["pledges"][0]["rank"] == 1 and again["pledges"][0]["certificate"] == registered.json["certificate"]
    pdf = client.get(f"{API}/{pledge}/pdf", headers=bank)
    assert pdf.status_code == 200 and registered.json["certificate"] in pdf_text(pdf.data, tmp_path)
    released = client.post(f"{API}/{pledge}/release", json={"reason": "贷款已结清"}, headers=bank)
    assert released.status_code == 200 and released.json["step"] == "released"
    spec = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/v1/collateral/share-pledges", "/api/v1/collateral/share-pledges/{pledge_id}/registration"} <= set(spec)


def test_the_village_and_the_public_cannot_apply(app, client):
    household, _held = holder(app)
    before = pledges(app)
    assert client.post(API, json=body(household)).status_code == 401
    assert client.post(API, json=body(household), headers=api_key(client, "village")).status_code == 403
    assert pledges(app) == before


def test_the_pages_bank_applies_township_registers(app, client):
    household, _held = holder(app)
    before = pledges(app)
    login(client, "bank")
    assert client.get(PAGE).status_code == 200
    form = {"household": household, "shares": "3", "loan_amount": "400.00", "start_date": TODAY.isoformat(),
            "end_date": date(TODAY.year + 1, 6, 30).isoformat(), "method": "shares", "contract_number": "WEB-1",
            "consent_document": "同意书 W-1", "consent_signed_on": TODAY.isoformat(), "csrf_token": csrf_token(client, PAGE)}
    refused = client.post(PAGE, data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "SHARE-PLEDGE-OVER-VALUE" in page and "375.00" in page and pledges(app) == before
    done = client.post(PAGE, data={**form, "loan_amount": "375.00"})
    assert done.status_code == 302 and pledges(app) == before + 1
    assert household in client.get(PAGE).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "township")
    queue = client.get(PAGE).get_data(as_text=True)
    assert household in queue and "data-testid=\"share-register-" in queue
    with app.app_context():
        pledge = db.session.scalar(select(SharePledge.id))
    registered = client.post(f"{PAGE}/{pledge}/register", data={"csrf_token": csrf_token(client, PAGE)})
    assert registered.status_code == 302
    assert "511723-GZ-" in client.get(PAGE).get_data(as_text=True)
    assert client.get(f"{PAGE}/{pledge}.pdf").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "township2")
    assert client.get(f"{PAGE}/{pledge}.pdf").status_code == 403

"""The REST API skeleton: OpenAPI document, offline docs, API keys, problem+json errors."""
from __future__ import annotations

import re

from sqlalchemy import select

from exchange.accounts.models import Account
from exchange.accounts.operations import create_api_key, revoke_api_key
from exchange.db import db
from tests.conftest import csrf_token


def bank_key(client):
    with client.application.test_request_context():
        account = db.session.scalar(select(Account).where(Account.username == "bank"))
        _key, secret = create_api_key(account, "loan system")
        db.session.commit()
    return secret


def test_openapi_document_lists_the_v1_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/health", "/api/v1/me", "/api/v1/divisions", "/api/v1/divisions/{code}",
                 "/api/v1/identifiers/check"):
        assert path in spec["paths"], path
    assert "apiKey" in spec["components"]["securitySchemes"]


def test_interactive_docs_are_served_by_the_platform_itself(client):
    page = client.get("/api/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        with client.get(source) as response:
            assert response.status_code == 200, source


def test_api_key_authenticates_a_bank(client):
    secret = bank_key(client)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.get_json()["role"] == "bank"


def test_api_keys_are_stored_hashed(client):
    secret = bank_key(client)
    from exchange.accounts.models import ApiKey

    with client.application.app_context():
        stored = [k.key_hash for k in db.session.scalars(select(ApiKey))]
    assert secret not in stored and all(len(h) == 64 for h in stored)


def test_revoked_or_wrong_key_is_unauthenticated_problem_json(client):
    secret = bank_key(client)
    from exchange.accounts.models import ApiKey

    with client.application.test_request_context():
        key = db.session.scalars(select(ApiKey)).first()
        revoke_api_key(key)
        db.session.commit()
    for header in (secret, "rpx_not-a-key"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {header}"})
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "unauthenticated"


def test_api_writes_with_only_a_session_cookie_are_refused(login_as):
    client = login_as("bank")
    response = client.post("/api/v1/identifiers/check", json={"kind": "credit_code", "value": "914403001922038216"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "api-key-required"


def test_identifier_check_refuses_with_code_and_field(client):
    response = client.post("/api/v1/identifiers/check", json={"kind": "resident_id", "value": "110105194912310021"})
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert problem["code"] == "ID-CHECK-DIGIT" and problem["field"] == "value"
    assert "校验码" in problem["detail"]
    english = client.post("/api/v1/identifiers/check?lang=en",
                          json={"kind": "resident_id", "value": "110105194912310021"}).get_json()
    assert "check character should be 'X'" in english["detail"]


def test_identifier_check_accepts_and_masks(client):
    response = client.post("/api/v1/identifiers/check", json={"kind": "resident_id", "value": "11010519491231002x"})
    assert response.get_json() == {"kind": "resident_id", "valid": True, "normalized": "110105********002X"}


def test_schema_validation_errors_name_the_field(client):
    response = client.post("/api/v1/identifiers/check", json={"kind": "passport"})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "validation-failed"
    assert "kind" in problem["errors"]["json"] and "value" in problem["errors"]["json"]


def test_unknown_division_is_a_404_problem(client):
    response = client.get("/api/v1/divisions/511799")
    assert response.status_code == 404
    assert response.get_json()["code"] == "not-found"


def test_division_tree(client):
    body = client.get("/api/v1/divisions/511723").get_json()
    assert body["name"] == "开江县"
    assert {c["name"] for c in body["children"]} >= {"新宁镇", "普安镇", "回龙镇"}


def test_html_pages_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_api_key_page_shows_the_secret_once(login_as):
    client = login_as("bank")
    token = csrf_token(client, "/account/api-keys")
    page = client.post("/account/api-keys", data={"name": "信贷系统", "csrf_token": token}).get_data(as_text=True)
    secret = re.search(r'data-testid="new-secret">([^<]+)<', page).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in client.get("/account/api-keys").get_data(as_text=True)

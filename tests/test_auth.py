"""Logging in and out, CSRF, rate limiting, cookies and security headers."""
from __future__ import annotations

from sqlalchemy import func, select

from exchange.audit.models import AuditEvent, Outcome
from exchange.db import db
from tests.conftest import csrf_token, login


def audit_count(client, outcome):
    with client.application.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome == outcome))


def test_login_shows_the_role_dashboard_in_chinese(client):
    response = login(client, "township")
    assert response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    assert "乡镇农经站工作台" in page
    assert "开江县新宁镇" in page


def test_wrong_password_is_refused_with_a_clear_message_and_audited(client):
    before = audit_count(client, Outcome.failed_login)
    response = client.post("/login", data={"username": "county", "password": "wrong-password",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert audit_count(client, Outcome.failed_login) == before + 1
    assert client.get("/dashboard").status_code == 302  # still not logged in


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    response = client.post("/login", data={"username": "nobody", "password": "whatever1",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_wrong_login_in_english(client):
    client.get("/?lang=en")
    response = client.post("/login?lang=en", data={"username": "county", "password": "nope-nope",
                                                   "csrf_token": csrf_token(client)})
    assert "Wrong user name or password" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "county", "password": "Demo@2026"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_logout_needs_csrf_and_ends_the_session(client):
    login(client, "village")
    assert client.post("/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_login_is_rate_limited(client):
    token = csrf_token(client)
    statuses = [client.post("/login", data={"username": "county", "password": "bad-guess",
                                            "csrf_token": token}).status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    again = client.post("/login", data={"username": "county", "password": "Demo@2026", "csrf_token": token})
    assert again.status_code == 429 and "操作过于频繁" in again.get_data(as_text=True)
    # a colleague in the same office (same address) still logs in
    colleague = client.post("/login", data={"username": "township", "password": "Demo@2026", "csrf_token": token})
    assert colleague.status_code == 302


def test_guessing_across_many_accounts_from_one_address_is_limited(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_RATE_LIMIT", "3 per minute")
    token = csrf_token(client)
    statuses = [client.post("/login", data={"username": f"user{i}", "password": "bad-guess",
                                            "csrf_token": token}).status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_open_redirect_after_login_is_ignored(client):
    response = client.post("/login", data={"username": "county", "password": "Demo@2026",
                                           "next": "https://evil.example/", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/dashboard"


def test_session_cookie_is_httponly_and_samesite(client):
    response = login(client, "county")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_security_headers_allow_only_the_platforms_own_origin(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "http" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_passwords_are_stored_as_argon2_hashes(app_ctx):
    from exchange.accounts.models import Account

    account = db.session.scalar(select(Account).where(Account.username == "county"))
    assert account.password_hash.startswith("$argon2id$")
    assert "Demo@2026" not in account.password_hash

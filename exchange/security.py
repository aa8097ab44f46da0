"""Sessions, API keys, and the HTTP security headers every response carries."""
from __future__ import annotations

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from exchange.accounts.models import Account, ApiKey, hash_api_key
from exchange.db import db
from exchange.extensions import login_manager

# Only the platform's own origin: it must work on a village intranet with no outside network.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def api_key_from_request() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("X-API-Key")


def init_app(app: Flask) -> None:
    login_manager.login_view = "web.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_account(account_id: str) -> Account | None:
        return db.session.get(Account, int(account_id))

    @login_manager.request_loader
    def load_account_from_api_key(req) -> Account | None:
        secret = api_key_from_request()
        if not secret:
            return None
        key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(secret)))
        if key is None or key.revoked_at is not None or not key.account.active:
            return None
        return key.account

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

"""The REST API under /api/v1 (flask-smorest), its OpenAPI document and offline interactive docs.

Errors are RFC 9457 problem+json with a machine-readable ``code``.
"""
from __future__ import annotations

import swagger_ui_bundle
from flask import Blueprint, Flask, current_app, json, render_template, request, send_from_directory
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from exchange.errors import DomainError
from exchange.extensions import csrf
from exchange.identifiers import IdentifierError

PROBLEM_CODES = {
    400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "too-large", 422: "validation-failed",
    429: "rate-limited", 500: "internal-error",
}


def problem(status: int, code: str, title: str, detail: str | None = None, **extra):
    body = {"type": f"about:blank#{code}" if code else "about:blank", "title": title, "status": status,
            "code": code, "instance": request.path}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status,
                                          mimetype="application/problem+json")
    return response


def wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/ledger/")


class ExchangeApi(Api):
    def handle_http_exception(self, error: HTTPException):
        if not wants_problem_json():
            return current_app.extensions["render_html_error"](error)
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        code = data.get("code") or getattr(error, "problem_code", None) or PROBLEM_CODES.get(status, "error")
        errors = data.get("errors") or data.get("messages")
        if status == 422 and errors:
            detail = _("请求参数校验失败，请查看 errors 中各字段的说明。")
        elif status == 500:
            detail = _("系统出现了意外错误，数据没有被修改。")
        else:
            detail = data.get("message") or error.description
        response = problem(status, code, error.name, detail, errors=errors)
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response


api = ExchangeApi()


def init_app(app: Flask) -> None:
    from exchange.api.v1 import blp as core_blp

    api.init_app(app, spec_kwargs={
        "info": {"description": _api_description()},
        "components": {"securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "API key (rpx_…) from /account/api-keys"},
        }},
    })
    from exchange.ledger_app.api import blp as ledger_blp
    from exchange.ledger_app.views import bp as ledger_pages

    api.register_blueprint(core_blp, url_prefix="/api/v1")
    api.register_blueprint(ledger_blp, url_prefix="/api/v1/ledger")
    from exchange.registry.api import blp as registry_blp

    api.register_blueprint(registry_blp, url_prefix="/api/v1/registry")
    from exchange.collectives.api import blp as collectives_blp

    api.register_blueprint(collectives_blp, url_prefix="/api/v1/collectives")
    from exchange.certificates.api import blp as certificates_blp
    from exchange.certificates.views import bp as certificates_pages

    api.register_blueprint(certificates_blp, url_prefix="/api/v1")
    from exchange.collateral.api import blp as collateral_blp

    api.register_blueprint(collateral_blp, url_prefix="/api/v1/collateral")
    from exchange.collectives.api_share_pledges import blp as share_pledges_blp

    api.register_blueprint(share_pledges_blp, url_prefix="/api/v1/collateral/share-pledges")
    from exchange.transfers.api import blp as exchange_blp
    from exchange.transfers.api import contracts_blp

    api.register_blueprint(exchange_blp, url_prefix="/api/v1/exchange")
    api.register_blueprint(contracts_blp, url_prefix="/api/v1/contracts")
    from exchange.transfers.board_api import blp as board_api_blp

    api.register_blueprint(board_api_blp, url_prefix="/api/v1/exchange")
    app.register_blueprint(certificates_pages)
    app.register_blueprint(ledger_pages)
    for blueprint in app.blueprints.values():
        if blueprint.name in API_BLUEPRINTS:
            csrf.exempt(blueprint)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        locale = str(get_locale() or "zh_CN")
        if wants_problem_json():
            return problem(error.status, error.code, error.code, error.message(locale), field=error.field,
                           details=error.details or None)
        return current_app.extensions["render_html_error"](_as_http(error, locale))

    @app.errorhandler(IdentifierError)
    def identifier_error(error: IdentifierError):
        return domain_error(DomainError(error.code, error.message_zh, error.message_en, error.field))

    docs = Blueprint("api_docs", __name__)

    @docs.get("/api/docs")
    def swagger_ui():
        return render_template("api_docs.html")

    @docs.get("/api/swagger-ui/<path:filename>")
    def swagger_ui_static(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)

    app.register_blueprint(docs)

    @app.before_request
    def api_writes_need_api_key():
        """Unsafe API calls authenticate by API key only, so a browser session cannot be ridden (CSRF)."""
        from exchange.security import api_key_from_request

        if (request.path.startswith("/api/v1/") and request.method not in ("GET", "HEAD", "OPTIONS")
                and current_user.is_authenticated and not api_key_from_request()):
            return problem(401, "api-key-required", "Unauthorized",
                           _("通过 API 修改数据需要在 Authorization 头中提供 API 密钥（Bearer rpx_…）。"))
        return None


API_BLUEPRINTS = {"core", "ledger_api", "registry_api", "collectives_api", "certificates_api", "collateral_api",
                  "share_pledges_api",
                  "exchange_api", "contracts_api", "exchange_board_api"}


def _as_http(error: DomainError, locale: str) -> HTTPException:
    exc = HTTPException(description=error.message(locale))
    exc.code = error.status
    return exc


def _api_description() -> str:
    return (
        "REST API of the rural property rights exchange. Authenticate with `Authorization: Bearer <API key>` "
        "(create keys at /account/api-keys). Errors are RFC 9457 `application/problem+json` with a stable `code`."
    )

"""The web UI: blueprints, friendly error pages, template helpers."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from exchange.web.forms import LanguageForm

ERROR_TITLES = {
    400: _l("请求有误"),
    401: _l("需要登录"),
    403: _l("无权操作"),
    404: _l("页面不存在"),
    405: _l("不支持的请求方式"),
    409: _l("数据已被他人修改"),
    413: _l("上传文件过大"),
    422: _l("提交的数据有误"),
    429: _l("操作过于频繁"),
    500: _l("系统内部错误"),
}

ERROR_HINTS = {
    401: _l("请先登录后再访问此页面。"),
    404: _l("您要找的页面不存在，可能已被移动或删除。"),
    429: _l("尝试次数过多，请稍后再试。"),
    500: _l("系统出现了意外错误，您的数据没有被修改。请稍后再试，或联系平台管理员。"),
}


def render_error(error: HTTPException):
    code = error.code or 500
    description = error.description if code in (400, 403, 409, 422) or isinstance(error, CSRFError) else None
    if isinstance(error, CSRFError):
        description = _l("表单已过期或缺少安全令牌（CSRF），请刷新页面后重新提交。")
    return render_template(
        "error.html", code=code, title=ERROR_TITLES.get(code, error.name),
        description=description or ERROR_HINTS.get(code, error.description),
    ), code


def init_app(app: Flask) -> None:
    from exchange.accounts.views import bp as accounts_bp
    from exchange.audit.views import bp as audit_bp
    from exchange.divisions.views import bp as divisions_bp
    from exchange.collateral.views import bp as collateral_bp
    from exchange.collectives.views import bp as collectives_bp
    from exchange.registry.views import bp as registry_bp
    from exchange.registry.import_views import bp as registry_import_bp
    from exchange.transfers.board import bp as board_bp
    from exchange.transfers.views import bp as transfers_bp
    from exchange.web.views import bp as web_bp

    for bp in (web_bp, accounts_bp, divisions_bp, audit_bp, registry_bp, collectives_bp, collateral_bp, registry_import_bp,
               transfers_bp, board_bp):
        app.register_blueprint(bp)

    @app.context_processor
    def template_helpers():
        locale = str(get_locale() or "zh_CN")
        return {
            "html_lang": "en" if locale.startswith("en") else "zh-CN",
            "current_locale": locale,
            "language_form": LanguageForm(formdata=None),
            "request_path": request.full_path.rstrip("?") if request else "/",
        }

    app.extensions["render_html_error"] = render_error

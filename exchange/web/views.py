"""Pages every visitor or account sees: home, login, logout, language, the dashboard per role."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from exchange.accounts.operations import authenticate
from exchange.audit import operations as audit
from exchange.db import db
from exchange.extensions import limiter
from exchange.registry.models import CollectiveAsset, Household, Parcel
from exchange.web.dashboards import dashboard_for
from exchange.web.forms import LanguageForm, LoginForm

bp = Blueprint("web", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never redirect a login to another origin."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_address_rate_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def _address_and_account() -> str:
    """Guesses are counted per account and address: a village office behind one address still lets each of its
    staff log in, while guessing one account's password is slowed down."""
    return f"{get_remote_address()}|{(request.form.get('username') or '').strip().lower()}"


@bp.get("/")
def index():
    counts = {
        "parcels": db.session.scalar(select(func.count()).select_from(Parcel)),
        "households": db.session.scalar(select(func.count()).select_from(Household)),
        "assets": db.session.scalar(select(func.count()).select_from(CollectiveAsset)),
    }
    return render_template("index.html", counts=counts)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], key_func=_address_and_account)
@limiter.limit(_login_address_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        account = authenticate(form.username.data, form.password.data)
        if account is None:
            flash(_("用户名或密码错误，请重新输入。"), "error")
            return render_template("login.html", form=form), 401
        login_user(account)
        session.permanent = True
        audit.record("login", "account", account.id, account=account)
        db.session.commit()
        return redirect(_safe_next(form.next.data) or url_for("web.dashboard"))
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    audit.record("logout", "account", current_user.id)
    db.session.commit()
    logout_user()
    flash(_("您已安全退出。"), "info")
    return redirect(url_for("web.index"))


@bp.post("/language")
def language():
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in current_app.config["LANGUAGES"]:
        session["lang"] = form.lang.data
    return redirect(_safe_next(form.next.data) or url_for("web.index"))


@bp.get("/dashboard")
@login_required
def dashboard():
    return render_template("dashboard.html", board=dashboard_for(current_user))

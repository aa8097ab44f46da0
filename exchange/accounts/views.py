"""Account administration (admin) and each account's own API keys."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from exchange.access import require
from exchange.accounts.models import ROLE_NAMES, Account, ApiKey, Role
from exchange.accounts.operations import AccountError, create_account, create_api_key, revoke_api_key
from exchange.audit import operations as audit
from exchange.db import db
from exchange.divisions.models import Division

bp = Blueprint("accounts", __name__)


FORM_FIELDS = {"division": "division_code"}  # operation field → form field


class AccountForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("姓名或名称"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("角色"), choices=[])
    division_code = StringField(_l("管辖区划代码（工作人员必填）"), validators=[Length(max=14)])
    institution = StringField(_l("金融机构（银行账户必填）"), validators=[Length(max=100)])


class ApiKeyForm(FlaskForm):
    name = StringField(_l("用途说明"), validators=[DataRequired(_l("请说明这个密钥的用途。")), Length(max=100)])


@bp.route("/admin/accounts", methods=["GET", "POST"])
@login_required
def index():
    require("accounts.manage")
    form = AccountForm()
    form.role.choices = [(r.value, str(ROLE_NAMES[r])) for r in Role]
    status = 200
    if form.validate_on_submit():
        division = None
        if form.division_code.data:
            division = db.session.scalar(select(Division).where(Division.code == form.division_code.data.strip()))
            if division is None:
                form.division_code.errors.append(_("行政区划代码“%(code)s”不存在。", code=form.division_code.data))
        if not form.division_code.errors:
            try:
                account = create_account(form.username.data.strip(), form.password.data, Role(form.role.data),
                                         form.display_name.data.strip(), division, (form.institution.data or "").strip() or None)
            except AccountError as error:
                getattr(form, FORM_FIELDS.get(error.field, error.field)).errors.append(error.message)
            else:
                audit.record("account.create", "account", account.id, detail={"role": account.role.value})
                db.session.commit()
                flash(_("账户“%(name)s”已创建。", name=account.username), "success")
                return redirect(url_for("accounts.index"))
        status = 400
    elif request.method == "POST":
        status = 400
    accounts = db.session.scalars(select(Account).order_by(Account.role, Account.username)).all()
    return render_template("accounts/index.html", form=form, accounts=accounts, role_names=ROLE_NAMES), status


@bp.route("/account/api-keys", methods=["GET", "POST"])
@login_required
def api_keys():
    form = ApiKeyForm()
    secret = None
    status = 200
    if form.validate_on_submit():
        _key, secret = create_api_key(current_user, form.name.data.strip())
        db.session.commit()
    elif request.method == "POST":
        status = 400
    keys = db.session.scalars(select(ApiKey).where(ApiKey.account_id == current_user.id).order_by(ApiKey.id)).all()
    return render_template("accounts/api_keys.html", form=form, keys=keys, secret=secret), status


@bp.post("/account/api-keys/<int:key_id>/revoke")
@login_required
def revoke(key_id: int):
    key = db.session.get(ApiKey, key_id)
    if key is None or key.account_id != current_user.id:
        abort(404)
    revoke_api_key(key)
    db.session.commit()
    flash(_("密钥 %(prefix)s… 已吊销。", prefix=key.prefix), "success")
    return redirect(url_for("accounts.api_keys"))

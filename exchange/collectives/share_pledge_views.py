"""Pages of share pledges (股权质押) on the books' blueprint: the bank's list and application form, the township's
and county's queue to register or refuse, the bank's release, and the registration certificate's PDF."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from exchange.access import require
from exchange.audit import operations as audit
from exchange.collectives import documents, queries, share_pledges
from exchange.collectives.models import SharePledge, SharePledgeStep
from exchange.collectives.views import _pdf, bp
from exchange.db import db
from exchange.errors import DomainError
from exchange.registry.models import Household
from exchange.web.forms import choices

STEP_LABELS = {SharePledgeStep.applied: _l("待登记"), SharePledgeStep.registered: _l("已登记"),
               SharePledgeStep.refused: _l("不予登记"), SharePledgeStep.released: _l("已解除质押")}


class SharePledgeForm(FlaskForm):
    household = StringField(_l("出质农户（承包方编码）"), validators=[DataRequired(_l("请填写承包方编码。")), Length(min=18, max=18)])
    shares = DecimalField(_l("出质股数"), places=2, validators=[DataRequired(_l("请填写出质股数。")), NumberRange(min=0.01)])
    loan_amount = DecimalField(_l("贷款金额（元）"), places=2, validators=[DataRequired(_l("请填写贷款金额。")), NumberRange(min=0.01)])
    start_date = DateField(_l("起始日期"), validators=[DataRequired(_l("请填写起始日期。"))])
    end_date = DateField(_l("终止日期"), validators=[DataRequired(_l("请填写终止日期。"))])
    method = SelectField(_l("估值方式"), choices=choices([("shares", _l("股数 × 量化方案每股净值")), ("appraisal", _l("评估价值"))]))
    appraisal = DecimalField(_l("评估价值（元）"), places=2, validators=[Optional()])
    appraiser = StringField(_l("评估机构"), validators=[Optional(), Length(max=200)])
    contract_number = StringField(_l("质押合同编号"), validators=[DataRequired(_l("请填写质押合同编号。")), Length(max=40)])
    consent_document = StringField(_l("出质农户书面同意书编号"), validators=[Optional(), Length(max=100)])
    consent_signed_on = DateField(_l("同意书签署日期"), validators=[Optional()])


class ShareStepForm(FlaskForm):
    reason = StringField(_l("理由"), validators=[Optional(), Length(max=500)])


def _household(code: str) -> Household:
    household = db.session.scalar(select(Household).where(Household.code == (code or "").strip()))
    if household is None:
        raise DomainError("HOUSEHOLD-UNKNOWN", f"没有承包方编码为 {code} 的农户。", f"No household coded {code}.",
                          field="household")
    return household


def plan_of(household: Household):
    plan = queries.share_plan(household.collective)
    if plan is None:
        raise DomainError("SHARE-PLAN-NONE", f"{household.collective.name}尚无股份量化方案，没有可质押的股份。",
                          f"{household.collective.name} has no share plan: there are no shares to pledge.",
                          field="household")
    return plan


def _errors(error: DomainError) -> list[dict]:
    return error.details or [{"code": error.code, "message_zh": error.message_zh, "message_en": error.message_en}]


@bp.route("/share-pledges", methods=["GET", "POST"])
@login_required
def share_pledges_page():
    """Banks: their share pledges and a new application. Township/county staff: the queue in their jurisdiction."""
    locale = str(get_locale() or "zh_CN")
    if current_user.role.value == "bank":
        require("collateral.apply", None, "share_pledge", None)
        form = SharePledgeForm()
        errors, existing = [], None
        if form.validate_on_submit():
            try:
                household = _household(form.household.data)
                plan = plan_of(household)
                existing = share_pledges.existing_pledges(plan, household)
                basis = ({"method": "shares"} if form.method.data == "shares" else
                         {"method": "appraisal", "amount": str(form.appraisal.data or ""), "appraiser": form.appraiser.data})
                pledge = share_pledges.apply(
                    current_user, plan, household, shares=form.shares.data, loan_amount=form.loan_amount.data,
                    start=form.start_date.data, end=form.end_date.data, valuation_basis=basis,
                    contract_number=form.contract_number.data,
                    consent={"document": form.consent_document.data or "", "signed_on": form.consent_signed_on.data})
            except DomainError as error:
                db.session.rollback()
                errors = _errors(error)
            else:
                audit.record("collective.share_pledge.apply", "share_pledge", pledge.id,
                             detail={"household": household.code})
                db.session.commit()
                flash(_("股权质押申请已提交：%(shares)s 股，估值 %(value)s 元，等待乡镇或县登记。", shares=pledge.shares,
                        value=pledge.valuation), "success")
                return redirect(url_for("collectives.share_pledges_page"))
        pledges = share_pledges.of_bank(current_user)
        status = 422 if request.method == "POST" else 200
        return render_template("collectives/share_pledges_bank.html", form=form, pledges=pledges, errors=errors,
                               existing=existing, step_labels=STEP_LABELS, locale=locale), status
    require("collateral.register", None, "share_pledge", None)
    return render_template("collectives/share_pledges_staff.html", pledges=share_pledges.in_jurisdiction(current_user),
                           form=ShareStepForm(), step_labels=STEP_LABELS, locale=locale)


def _pledge(pledge_id: int) -> SharePledge:
    pledge = db.session.get(SharePledge, pledge_id)
    if pledge is None:
        abort(404)
    return pledge


def may_see(pledge: SharePledge) -> None:
    """The pledgee bank, or staff with jurisdiction over the collective; anyone else is refused (and audited)."""
    if current_user.is_authenticated and current_user.role.value == "bank":
        require("collateral.apply", None, "share_pledge", pledge.id)
        if share_pledges.bank_of(current_user).id != pledge.bank_id:
            abort(403)
        return
    require("collateral.register", pledge.plan.collective.division, "share_pledge", pledge.id)


@bp.post("/share-pledges/<int:pledge_id>/<action>")
@login_required
def share_pledge_step(pledge_id: int, action: str):
    pledge = _pledge(pledge_id)
    form = ShareStepForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if action in ("register", "refuse"):
            require("collateral.register", pledge.plan.collective.division, "share_pledge", pledge_id)
            if action == "register":
                number = share_pledges.register(pledge, current_user)
                message = _("已办理股权质押登记，股权质押登记证明 %(number)s。", number=number)
            else:
                share_pledges.refuse(pledge, current_user, form.reason.data or "")
                message = _("已决定不予登记。")
        elif action == "release":
            require("collateral.apply", None, "share_pledge", pledge_id)
            share_pledges.release(pledge, current_user, form.reason.data or "")
            message = _("已解除股权质押。")
        else:
            abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(f"{error.code}：{error.message(str(get_locale() or 'zh_CN'))}", "error")
        return redirect(url_for("collectives.share_pledges_page"))
    audit.record(f"collective.share_pledge.{action}", "share_pledge", pledge_id)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("collectives.share_pledges_page"))


@bp.get("/share-pledges/<int:pledge_id>.pdf")
@login_required
def share_pledge_pdf(pledge_id: int):
    pledge = _pledge(pledge_id)
    may_see(pledge)
    return _pdf(documents.share_pledge_pdf(pledge), f"{pledge.certificate_number or pledge_id}.pdf")
